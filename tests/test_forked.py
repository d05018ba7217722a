"""Work in a forked copy: the same results as in this process, failures reported, and no
copy left running when this side fails."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from helpers import scope_from_yaml

from compliance.checks import CHECKS
from compliance.controls import load_catalog
from compliance.errors import InternalError, RenderError
from compliance.evaluate import evaluate
from compliance.flows import compute_flows
from compliance.forked import Background
from compliance.load import load_paths
from compliance.model import build_cluster
from compliance.render.results import render_json

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("parallel", [True, False])
def test_background_gives_the_same_result_either_way(parallel: bool) -> None:
    with Background(lambda: (bytes(range(256)) * 1000, {"a": 1}), RenderError, parallel) as job:
        assert job.result() == (bytes(range(256)) * 1000, {"a": 1})


def test_a_failure_in_the_copy_comes_back_as_the_given_error() -> None:
    def broken() -> bytes:
        raise ValueError("boom")

    with (
        Background(broken, InternalError, parallel=True) as job,
        pytest.raises(InternalError, match=r"^ValueError: boom$"),
    ):
        job.result()


def test_a_failure_on_this_side_stops_the_copy() -> None:
    with (
        pytest.raises(RuntimeError),
        Background(lambda: time.sleep(60) or b"", RenderError, parallel=True) as job,
    ):
        pid = job._pid
        assert pid is not None
        raise RuntimeError("the JSON failed")
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left behind


SCOPES = """
cluster: shop-prod
zones:
  - name: cde
    role: cde
    frameworks: [pci-dss-4.0.1]
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: production}}
  - name: ephi
    role: cde
    frameworks: [hipaa-security-rule]
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: production}}
        podSelector: {matchExpressions: [{key: app, operator: In, values: [app, postgres]}]}
  - name: boundary
    role: other
    frameworks: [fedramp-rev5-moderate, fedramp-rev5-high]
    selectors:
      - namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [analytics]}]}
approved_flows:
  - from: {zone: cde}
    to: {namespace: kube-system}
    ports: [{protocol: UDP, port: 53}]
    justification: DNS
    owner: platform
    ticket: T-1
    expires: 2027-06-30
"""


def test_scopes_checked_in_a_forked_copy_give_the_same_results() -> None:
    """Three framework scopes (FedRAMP's two frameworks share one): the split evaluation
    writes the same JSON as the one in this process, byte for byte."""
    catalog = load_catalog((), CHECKS)
    scope = scope_from_yaml(SCOPES)
    cluster = build_cluster(load_paths([str(ROOT / "samples/shop-cluster")]).objects)
    graph = compute_flows(cluster)
    frameworks = [catalog[i] for i in scope.frameworks]
    moment = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    outputs = []
    for parallel in (True, False):
        ev = evaluate(cluster, graph, scope, frameworks, moment, parallel=parallel)
        outputs.append(render_json(ev))
        high, moderate = (f for f in ev.frameworks if f.framework.id.startswith("fedramp"))
        shared = {c.id: c for c in moderate.checks}
        assert all(c is shared[c.id] for c in high.checks if c.id in shared)
    assert outputs[0] == outputs[1]
    assert '"pci-dss-4.0.1"' in outputs[0] and '"hipaa-security-rule"' in outputs[0]
