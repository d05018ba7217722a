"""The block computation of admin class pairs (compliance/adminpairs.py) against the
engine's own one-pair-at-a-time decisions (`Engine.decide_pair`, what `--explain`
uses), pair by pair, on generated clusters with generated guardrails: every class pair,
allowed or not, with its ports and the rules named on both sides."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path
from typing import Any

import pytest

from compliance.admintiers import allowed_of
from compliance.flows import Engine, PodClass, _decided_side, merge_pair
from compliance.load import load_texts
from compliance.model import build_cluster
from tests.helpers import cluster_from_yaml, pod, policy
from tests.test_semantics import ZONES, anp

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate", module)
    spec.loader.exec_module(module)
    return module


def _engine(workloads: int, policies: int, seed: int) -> Engine:
    generate = _generator()
    docs = generate.generate(workloads, seed)
    docs += generate.admin_policies(docs, policies, seed)
    text = io.StringIO()
    generate.dump(docs, text)
    loaded = load_texts([("generated.yaml", text.getvalue().encode())])
    return Engine(build_cluster(loaded.objects))


def _one_pair(engine: Engine, src: PodClass, dst: PodClass) -> Any:
    """Both sides decided for this pair alone; unknown addresses read as `--explain`
    reads them: with only Allow rules in doubt as matching, only Deny as not, else both
    readings and the union."""
    _, ingress = engine.decide_pair(src, dst)
    in_allowed = allowed_of(ingress)
    if not in_allowed:
        return None
    actions = {
        r.action for r in (*src.admin_egress, *src.baseline_egress) if dst.index in r.maybe_classes
    }
    readings = [True, False]
    if not actions or actions == {"allow"}:
        readings = [True]
    elif actions == {"deny"}:
        readings = [False]
    result = None
    for reading in readings:
        egress, _ = engine.decide_pair(src, dst, reading)
        allowed = allowed_of(egress) & in_allowed
        if allowed:
            res = (
                allowed,
                _decided_side(src, egress, allowed),
                _decided_side(dst, ingress, allowed),
            )
            result = res if result is None else merge_pair(result, res)
    return result


# Shapes the generated guardrails rarely produce: a Pass over pods of unknown address
# (both readings), and a named port that resolves differently per destination.
HAND = (
    ZONES
    + pod("pay-v2", "cde", {"app": "pay"}, "pg:6432/TCP,http:8080/TCP")
    + pod("batch", "dev", {"app": "batch"}, "pg:5432/TCP")
    + policy(
        "from-app",
        "cde",
        "podSelector: {}\npolicyTypes: [Ingress]\n"
        "ingress: [{from: [{namespaceSelector: {matchLabels: {zone: app}}}]}]",
    )
    + anp(
        "delegate-internal",
        """
        priority: 1
        subject: {namespaces: {matchLabels: {zone: app}}}
        egress:
        - {action: Pass, to: [{networks: [10.0.0.0/8]}], ports: [{portNumber: {port: 8080}}]}
        - {action: Deny, to: [{namespaces: {}}]}
        """,
    )
    + anp(
        "no-dev-db",
        """
        priority: 2
        subject: {namespaces: {}}
        ingress:
        - {action: Deny, from: [{namespaces: {matchLabels: {zone: dev}}}], ports: [{namedPort: pg}]}
        - {action: Allow, from: [{namespaces: {matchLabels: {zone: dev}}}]}
        """,
    )
)


def _compare(engine: Engine) -> tuple[int, int]:
    blocks: dict[tuple[int, int], Any] = {}
    for s, shared, skip, own in engine.class_flows():
        for d, res in shared:
            if d not in skip:
                assert (s, d) not in blocks
                blocks[(s, d)] = res
        for d, res in own:
            assert (s, d) not in blocks
            blocks[(s, d)] = res
    checked = allowed = 0
    for src in engine.classes:
        for dst in engine.classes:
            if src.egress_open and dst.ingress_open:
                assert (src.index, dst.index) not in blocks  # the caller's open block
                continue
            want = _one_pair(engine, src, dst)
            assert blocks.get((src.index, dst.index)) == want, (src.index, dst.index)
            checked += 1
            allowed += want is not None
    return checked, allowed


def test_blocks_read_doubtful_pass_rules_both_ways_and_named_ports_per_destination() -> None:
    engine = Engine(cluster_from_yaml(HAND))
    checked, allowed = _compare(engine)
    assert checked >= 30 and 0 < allowed < checked


@pytest.mark.parametrize(("workloads", "policies", "seed"), [(60, 12, 1), (90, 20, 5)])
def test_blocks_decide_every_class_pair_as_the_pair_alone(
    workloads: int, policies: int, seed: int
) -> None:
    engine = _engine(workloads, policies, seed)
    assert engine.admin, "the generated guardrails are read"
    checked, allowed = _compare(engine)
    assert checked > 1000 and 0 < allowed < checked
