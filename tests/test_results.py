"""The results renderers, finding grouping, and the README's promises about checks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from compliance.checks import CHECKS
from compliance.checks.base import PeerGroups, peer_summary
from compliance.controls import load_catalog
from compliance.evaluate import evaluate
from compliance.flows import compute_flows
from compliance.load import load_paths
from compliance.model import WorkloadRef, build_cluster
from compliance.render.results import render_json, render_table, results_json
from compliance.scope import read_scope
from tests.helpers import namespace, pod, policy, run_check

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


def sample_evaluation(scope: str = "samples/pci-dss.scope.yaml"):  # type: ignore[no-untyped-def]
    catalog = load_catalog((), CHECKS)
    cluster = build_cluster(load_paths([str(ROOT / "samples/shop-cluster")]).objects)
    graph = compute_flows(cluster)
    chosen = read_scope(str(ROOT / scope), catalog, CHECKS)
    frameworks = [catalog[f] for f in chosen.frameworks]
    return evaluate(cluster, graph, chosen, frameworks, AS_OF)


def test_render_json_writes_the_same_flows_as_the_plain_data() -> None:
    ev = sample_evaluation()
    rendered = json.loads(render_json(ev))
    plain = results_json(ev)
    assert rendered == json.loads(json.dumps(plain))
    assert rendered["flows"], "the sample has flows touching zones"


def test_results_flows_touch_a_zone_and_name_their_register_entries() -> None:
    ev = sample_evaluation()
    doc = results_json(ev)
    zoned = {r.id for r in ev.placement.zones_of}
    for flow in doc["flows"]:
        ends = {flow["src"].get("workload"), flow["dst"].get("workload")}
        assert ends & zoned
    by_pair = {(f["src"].get("workload"), f["dst"].get("workload")): f for f in doc["flows"]}
    assert by_pair[("ingress-nginx/ingress-nginx-controller", "production/app")]["register"] == [
        "AF-002"
    ]
    # AF-006 has expired at the as-of date: it covers nothing
    assert by_pair[("analytics/data-pipeline", "production/kafka")]["register"] == []


def test_every_failing_requirement_has_a_failing_check_with_findings() -> None:
    ev = sample_evaluation()
    for fw in ev.frameworks:
        checks = {c.id: c for c in fw.checks}
        for req in fw.requirements:
            if req.status == "fail":
                failing = [checks[c] for c in req.requirement.checks if checks[c].status == "fail"]
                assert failing, req.requirement.id
                assert all(any(f.status == "fail" for f in c.findings) for c in failing)


def test_table_lists_requirements_and_truncates_long_finding_lists() -> None:
    ev = sample_evaluation()
    text = render_table(ev)
    for fw in ev.frameworks:
        for req in fw.requirements:
            assert f"  {req.requirement.id} " in text
    assert "(see --format json)" in text
    assert "enforcement: CNI present (Calico); enforcement not proven (" in text
    assert "enforcement: enforced" not in text


def test_peer_groups_merge_findings_that_differ_only_in_their_peer() -> None:
    groups = PeerGroups()
    ref = WorkloadRef("pay", "api", "Deployment")
    for peer in ("a/x[Pod]", "b/y[Pod]", "c/z[Pod]"):
        groups.add(
            "egress to {peer} on all",
            peer,
            workload=ref,
            ports="all",
            direction="egress",
            own=("egress: not isolated (no policy selects it)",),
            policies=("egress: not isolated (no policy selects it)", f"{peer} ingress[0]"),
        )
    groups.add(
        "egress to {peer} on all", "d/w[Pod]", workload=ref, ports="TCP 1", direction="egress"
    )
    merged, other = groups.findings()
    assert merged.message == "egress to 3 peers: a/x[Pod], b/y[Pod], c/z[Pod] on all"
    assert merged.peers == ("a/x[Pod]", "b/y[Pod]", "c/z[Pod]")
    assert merged.policies == (
        "egress: not isolated (no policy selects it)",
        "a/x[Pod] ingress[0]",
        "b/y[Pod] ingress[0]",
        "c/z[Pod] ingress[0]",
    )
    assert other.peer == "d/w[Pod]" and other.peers == ()


def test_peer_summary_shows_five_and_counts_the_rest() -> None:
    peers = [f"ns/w{i}" for i in range(8)]
    assert peer_summary(peers) == "8 peers: ns/w0, ns/w1, ns/w2, ns/w3, ns/w4 and 3 more"
    assert peer_summary(["one"]) == "one"


def test_open_egress_is_one_finding_listing_every_peer() -> None:
    cluster = (
        namespace("pay")
        + namespace("other")
        + pod("api", "pay", {"app": "api"})
        + "".join(pod(f"t{i}", "other", {"app": f"t{i}"}) for i in range(7))
        + policy("deny-in", "pay", "podSelector: {}\npolicyTypes: [Ingress]")
    )
    scope = (
        "cluster: t\nzones:\n  - {name: cde, role: cde, frameworks: [fw], "
        "selectors: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}}]}\n"
    )
    result = run_check(cluster, scope, "SEG-13")
    egress = [f.finding for f in result.findings if f.finding.direction == "egress"]
    (finding,) = [f for f in egress if f.peers]
    # the seven open workloads and the outside world, all on every port
    assert finding.peers == (
        *(f"other/t{i}[Pod]" for i in range(7)),
        "any address (0.0.0.0/0, ::/0)",
    )
    assert finding.message.startswith("egress to 8 peers: other/t0[Pod], other/t1[Pod]")


def test_readme_documents_every_check_and_framework() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for spec in CHECKS.values():
        assert f"| {spec.id} {spec.title} |" in readme, spec.id
    for framework_id in load_catalog((), CHECKS):
        assert f"`{framework_id}`" in readme
