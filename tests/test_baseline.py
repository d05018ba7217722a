"""`report --baseline`: SEG-19 on inline clusters, and the chained packs it writes.

The inline cluster: namespace `shop` is the CDE (zone `cde`), `web` and `tools` are in
no zone. The baseline lets `web/app` reach `shop/db` on TCP 5432; each test changes
that and gives the register entry it needs, or not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from compliance.checks import CHECKS
from compliance.controls import load_catalog
from compliance.datafile import schema_problem
from compliance.evaluate import CheckResult, Evaluation, evaluate
from compliance.flowchanges import Baseline
from compliance.flows import compute_flows
from tests.helpers import (
    SHOP_SCOPE,
    Result,
    cluster_from_yaml,
    namespace,
    pod,
    policy,
    scope_from_yaml,
)

ROOT = Path(__file__).resolve().parent.parent
DIFF_SCHEMA = json.loads((ROOT / "compliance/schemas/diff.schema.json").read_text())

AS_OF = "2026-11-26T00:00:00+00:00"
LATER = "2027-02-26T00:00:00+00:00"

SCOPE = SHOP_SCOPE


def entry(approved: str | None, ports: str = "[{protocol: TCP, port: 5432}]") -> str:
    """A register entry for tools/a -> shop/db, approved on `approved` (None: undated)."""
    dated = f"    approved: {approved}\n" if approved else ""
    return f"""\
  - id: AF-002
    from: {{workload: tools/a}}
    to: {{workload: shop/db}}
    ports: {ports}
    justification: backups
    owner: team
    ticket: CHG-2
    approved_by: CISO
    expires: 2027-06-30
{dated}"""


def allow_db(
    sources: tuple[str, ...] = ("web",), ports: str = "[{protocol: TCP, port: 5432}]"
) -> str:
    peers = ", ".join(
        f"{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {ns}}}}}}}"
        for ns in sources
    )
    return f"""\
podSelector: {{matchLabels: {{app: db}}}}
policyTypes: [Ingress]
ingress:
  - from: [{peers}]
    ports: {ports}
"""


def cluster(db_policy: str) -> str:
    return "".join(
        [
            namespace("shop"),
            namespace("web"),
            namespace("tools"),
            pod("db", "shop", {"app": "db"}, "5432,5433"),
            pod("app", "web", {"app": "app"}, "8080"),
            pod("a", "tools", {"app": "a"}, "9000"),
            policy("deny", "shop", "podSelector: {}\npolicyTypes: [Ingress]\n"),
            policy("allow-db", "shop", db_policy),
        ]
    )


def _evaluate(text: str, scope: str, as_of: str, baseline: Baseline | None) -> Evaluation:
    catalog = load_catalog((), CHECKS)
    built = cluster_from_yaml(text)
    parsed = scope_from_yaml(scope)
    chosen = [catalog[i] for i in parsed.frameworks]
    moment = dt.datetime.fromisoformat(as_of)
    return evaluate(built, compute_flows(built), parsed, chosen, moment, baseline=baseline)


def seg19(
    old: str, new: str, scope: str = SCOPE, as_of: str = LATER, base: bool = True
) -> tuple[CheckResult, Evaluation]:
    before = _evaluate(old, SCOPE, AS_OF, None)
    baseline = Baseline(before.as_of, before.graph, before.placement) if base else None
    ev = _evaluate(new, scope, as_of, baseline)
    (check,) = [c for c in ev.frameworks[0].checks if c.id == "SEG-19"]
    return check, ev


BASE = cluster(allow_db())
ADDED = cluster(allow_db(("web", "tools")))


def test_an_added_crossing_flow_approved_between_the_two_as_of_dates_passes() -> None:
    check, _ = seg19(BASE, ADDED, SCOPE + entry("2027-01-10"))
    assert check.status == "pass", check.findings
    assert check.findings == ()
    assert check.summary.startswith("1 zone-crossing flow added or widened since the baseline")
    assert check.summary.endswith("0 not approved between 2026-11-26 and 2027-02-26")


@pytest.mark.parametrize("approved", ["2026-11-26", "2027-02-26"])
def test_the_window_includes_both_as_of_dates(approved: str) -> None:
    check, _ = seg19(BASE, ADDED, SCOPE + entry(approved))
    assert check.status == "pass", [f.finding.message for f in check.findings]


def test_an_entry_approved_before_the_baseline_does_not_cover_the_change() -> None:
    check, _ = seg19(BASE, ADDED, SCOPE + entry("2026-10-01"))
    assert check.status == "fail"
    (found,) = check.findings
    f = found.finding
    assert str(f.workload) == "shop/db[Pod]" and f.direction == "ingress"
    assert f.peer == "tools/a[Pod]" and f.ports == "TCP 5432"
    assert f.message == (
        "flow tools/a[Pod] -> shop/db[Pod] on TCP 5432 added since the baseline (across the "
        "boundary of cde): no register entry approved between 2026-11-26 and 2027-02-26 "
        "covers it; AF-002 (CHG-2) was approved on 2026-10-01, outside it"
    )
    assert "approved: <YYYY-MM-DD, between 2026-11-26 and 2027-02-26>" in f.remediation


def test_an_added_flow_without_an_entry_fails_naming_it() -> None:
    check, _ = seg19(BASE, ADDED)
    assert check.status == "fail"
    (found,) = check.findings
    assert found.finding.message.startswith("flow tools/a[Pod] -> shop/db[Pod] on TCP 5432 added")
    assert found.finding.message.endswith("covers it")  # no entry at all to mention


def test_an_undated_entry_does_not_cover_a_change() -> None:
    check, _ = seg19(BASE, ADDED, SCOPE + entry(None))
    (found,) = check.findings
    assert found.finding.message.endswith("AF-002 (CHG-2) has no approved date")


def test_a_widened_flow_needs_approval_for_its_new_ports_only() -> None:
    wider = cluster(allow_db(ports="[{protocol: TCP, port: 5432, endPort: 5433}]"))
    check, _ = seg19(BASE, wider)
    (found,) = check.findings
    assert found.finding.ports == "TCP 5433"  # 5432 was allowed at the baseline
    assert "web/app[Pod] -> shop/db[Pod] on TCP 5433 widened since the baseline" in (
        found.finding.message
    )


def test_a_narrowed_flow_or_a_removed_one_needs_nothing() -> None:
    wide = cluster(allow_db(ports="[{protocol: TCP, port: 5432, endPort: 5433}]"))
    before = _evaluate(wide, SCOPE, AS_OF, None)
    baseline = Baseline(before.as_of, before.graph, before.placement)
    for new in (BASE, cluster(allow_db(("shop",)))):  # narrowed; web -> db removed
        ev = _evaluate(new, SCOPE, LATER, baseline)
        (check,) = [c for c in ev.frameworks[0].checks if c.id == "SEG-19"]
        assert check.status == "pass" and check.findings == ()
        assert check.summary.startswith("0 zone-crossing flows added or widened")


def test_a_flow_between_workloads_of_no_zone_is_not_judged() -> None:
    other = BASE + policy("allow-all", "tools", "podSelector: {}\ningress: [{}]\n")
    check, _ = seg19(BASE, other)
    assert check.status == "pass", [f.finding.message for f in check.findings]


def test_without_a_baseline_it_is_not_applicable_and_claims_nothing() -> None:
    check, ev = seg19(BASE, ADDED, base=False)
    assert check.status == "not_applicable"
    assert check.summary == "no baseline pack was given (report --baseline)"
    reqs = {r.requirement.id: r for r in ev.frameworks[0].requirements}
    catalog = load_catalog((), CHECKS)
    seg11 = next(c for c in ev.frameworks[0].checks if c.id == "SEG-11")
    for rid in ("1.2.2", "6.5.1"):
        r = reqs[rid]
        assert "SEG-19" in r.requirement.checks
        # The status is what SEG-11 alone gives (a partial requirement never passes).
        assert r.status == {"fail": "fail", "pass": "supported"}[seg11.status]
        shipped = {q.id: q for q in catalog["pci-dss-4.0.1"].requirements}[rid]
        assert r.requirement.evidence == shipped.evidence and r.requirement.evidence


def test_every_framework_maps_seg_19_to_its_change_control_requirements() -> None:
    catalog = load_catalog((), CHECKS)
    mapped = {
        fid: sorted(r.id for r in fw.requirements if "SEG-19" in r.checks)
        for fid, fw in catalog.items()
    }
    assert mapped == {
        "fedramp-rev5-high": ["CM-3"],
        "fedramp-rev5-moderate": ["CM-3"],
        "hipaa-security-rule": ["164.308(a)(8)"],
        "pci-dss-4.0.1": ["1.2.2", "6.5.1"],
    }


def test_the_scope_files_approved_date_is_validated() -> None:
    from compliance.errors import InputError

    with pytest.raises(InputError, match=r"approved_flows\[1\]\.approved"):
        scope_from_yaml(SCOPE + entry("2027-13-45"))
    parsed = scope_from_yaml(SCOPE + entry("2027-01-10"))
    assert parsed.approved_flows[1].approved == dt.date(2027, 1, 10)
    assert parsed.approved_flows[0].approved is None


# --------------------------------------------------------------------------- packs


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_manifest_records_the_baseline_and_verify_still_holds(
    pack_chain: dict[str, Path], compliance: Callable[..., Result]
) -> None:
    q1, q2 = pack_chain["q1"], pack_chain["q2"]
    first = _json(q1 / "manifest.json")
    assert "baseline" not in first
    assert _json(q2 / "manifest.json")["baseline"] == {
        "as_of": "2026-11-26T00:00:00Z",
        "digest": first["digest"]["value"],
        "seal": hashlib.sha256((q1 / "manifest.json").read_bytes()).hexdigest(),
    }
    for pack in (q2, q2.with_name("q2.zip")):
        res = compliance("verify", pack)
        assert res.code == 0 and "intact" in res.out, res.out


def test_results_carry_the_changes_block(pack_chain: dict[str, Path]) -> None:
    q1, q2 = pack_chain["q1"], pack_chain["q2"]
    first, second = _json(q1 / "results.json"), _json(q2 / "results.json")
    for doc in (first, second):
        assert schema_problem(doc, "results.schema.json") is None
    assert first["changes"] is None
    changes = second["changes"]
    jsonschema.validate(changes, DIFF_SCHEMA)
    assert changes["old"] == {
        "as_of": "2026-11-26T00:00:00Z",
        "cluster": "shop-prod",
        "digest": _json(q1 / "manifest.json")["digest"]["value"],
        "source": "q1",
    }
    assert changes["new"]["source"] == "this pack" and changes["new"]["digest"] is None
    assert {z["zone"]: z["verdict"] for z in changes["zones"]}["cde"] == "changed"
    # A broken changes block is refused by the schema.
    broken = dict(second, changes={"old": {}})
    assert schema_problem(broken, "results.schema.json") is not None
    registered = {e["id"]: e["approved"] for e in second["scope"]["approved_flows"]}
    assert registered["AF-007"] == "2027-01-14" and registered["AF-001"] is None


def test_seg_19_in_the_q2_sample_is_what_the_samples_readme_says(
    pack_chain: dict[str, Path],
) -> None:
    def seg19_of(pack: Path) -> dict[str, Any]:
        (found,) = [c for c in _json(pack / "results.json")["checks"] if c["id"] == "SEG-19"]
        return found

    assert seg19_of(pack_chain["q1"])["status"] == "not_applicable"
    check = seg19_of(pack_chain["q2"])
    assert check["status"] == "fail"
    flows = sorted((f["peer"], f["workload"], f["ports"]) for f in check["findings"])
    assert flows == [
        ("analytics/data-pipeline[Deployment]", "production/kafka-connect", "TCP 9092"),
        ("kube-system/coredns[Deployment]", "production/kafka-connect", "UDP 53"),
    ]
    assert any(m["message"].endswith("AF-003 (CHG-1003) has no approved date")
               for m in check["findings"])  # fmt: skip
    readme = (ROOT / "samples/README.md").read_text(encoding="utf-8")
    assert "SEG-19 fails there (PCI DSS 1.2.2 and 6.5.1 list it) with\nexactly two" in readme
    reqs = {
        r["id"]: r
        for r in _json(pack_chain["q2"] / "results.json")["frameworks"][0]["requirements"]
    }
    assert reqs["1.2.2"]["status"] == reqs["6.5.1"]["status"] == "fail"


def test_verify_recompute_needs_the_baseline_again(
    pack_chain: dict[str, Path], compliance: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(pack_chain["q1"].parent)
    res = compliance("verify", "--recompute", "q2")
    assert res.code == 2 and len(res.err_lines) == 1
    assert "give that pack with --baseline to recompute" in res.err
    res = compliance("verify", "--recompute", "q2", "--baseline", "q1")
    assert res.code == 0, res.out + res.err
    assert "results.json reproduced byte for byte" in res.out
    res = compliance("verify", "--recompute", "q2", "--baseline", "q3")
    assert res.code == 2 and "names baseline" in res.err and len(res.err_lines) == 1


@pytest.fixture
def stub_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    import compliance.pack
    from compliance.render.pdf import PdfResult

    monkeypatch.setattr(
        compliance.pack, "html_to_pdf", lambda html, folder=None: PdfResult(b"%PDF-", 1, ())
    )


def _report(compliance: Callable[..., Result], out: Path, *extra: object) -> Result:
    return compliance(
        "report", ROOT / "samples/shop-cluster-q2", "--scope", ROOT / "samples/pci-dss-q2.scope.yaml",
        "--as-of", "2027-03-01T00:00:00Z", "--out", out, "--exit-zero", *extra,
    )  # fmt: skip


def test_a_baseline_that_is_not_a_pack_or_not_intact_is_refused(
    pack_chain: dict[str, Path],
    tmp_path: Path,
    compliance: Callable[..., Result],
    stub_pdf: None,
) -> None:
    out = tmp_path / "out"
    res = _report(compliance, out, "--baseline", ROOT / "samples/shop-cluster")
    assert res.code == 2 and len(res.err_lines) == 1 and "not an evidence pack" in res.err
    assert not out.exists()
    res = _report(compliance, out, "--baseline", tmp_path / "missing")
    assert res.code == 2 and len(res.err_lines) == 1 and "Traceback" not in res.err
    copy = tmp_path / "tampered"
    shutil.copytree(pack_chain["q1"], copy)
    results = copy / "results.json"
    results.write_bytes(results.read_bytes().replace(b"shop-prod", b"shop-prud", 1))
    res = _report(compliance, out, "--baseline", copy)
    assert res.code == 2 and len(res.err_lines) == 1
    assert "the pack is not intact: results.json: changed" in res.err
    assert not out.exists()


def test_a_baseline_newer_than_the_run_is_allowed_and_said(
    pack_chain: dict[str, Path], tmp_path: Path, compliance: Callable[..., Result], stub_pdf: None
) -> None:
    out = tmp_path / "back"
    res = compliance(
        "report", ROOT / "samples/shop-cluster", "--scope", ROOT / "samples/pci-dss.scope.yaml",
        "--as-of", "2026-11-26T00:00:00Z", "--out", out, "--exit-zero",
        "--baseline", pack_chain["q2"],
    )  # fmt: skip
    assert res.code == 0, res.err
    assert "is newer than this run's as-of" in res.err
    notes = _json(out / "results.json")["changes"]["notes"]
    assert notes == ["OLD (2027-03-01T00:00:00Z) is newer than NEW (2026-11-26T00:00:00Z)"]


def _with_cluster_id(source: Path, target: Path, uid: str) -> Path:
    """A copy of the pack whose snapshot names a capture from cluster `uid`, resealed."""
    from compliance.snapshot import canonical
    from tests.test_snapshot import _reseal

    shutil.copytree(source, target)
    snap = _json(target / "snapshot.json")
    snap["export_time"]["captures"] = [
        {"source": "export.json", "context": "prod", "cluster_id": uid,
         "server_version": "v1.30.0", "start": "2026-11-25T00:00:00Z",
         "end": "2026-11-25T00:00:05Z"}
    ]  # fmt: skip
    (target / "snapshot.json").write_bytes(canonical(snap))
    _reseal(target)
    return target


def test_a_baseline_from_another_cluster_is_refused_unless_allowed(
    pack_chain: dict[str, Path], tmp_path: Path, compliance: Callable[..., Result], stub_pdf: None
) -> None:
    old = _with_cluster_id(pack_chain["q1"], tmp_path / "old", "uid-a")
    new = _with_cluster_id(pack_chain["q1"], tmp_path / "new", "uid-b")
    args = ["report", new, "--scope", ROOT / "samples/pci-dss.scope.yaml", "--exit-zero"]
    res = compliance(*args, "--out", tmp_path / "p", "--baseline", old)
    assert res.code == 2 and len(res.err_lines) == 1
    assert "the baseline was captured from cluster uid-a and this export from uid-b" in res.err
    assert not (tmp_path / "p").exists()
    res = compliance(
        *args, "--out", tmp_path / "p", "--baseline", old, "--allow-different-clusters"
    )
    assert res.code == 0, res.err
    same = _with_cluster_id(pack_chain["q1"], tmp_path / "same", "uid-a")
    res = compliance(
        "report", same, "--scope", ROOT / "samples/pci-dss.scope.yaml", "--exit-zero",
        "--out", tmp_path / "s", "--baseline", old,
    )  # fmt: skip
    assert res.code == 0, res.err


def named_egress(names: str = "[api.stripe.example]", namespace_name: str = "shop") -> str:
    """An AdminNetworkPolicy letting namespace `shop` reach domain names on TCP 443."""
    return f"""---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {{name: processor}}
spec:
  priority: 10
  subject: {{namespaces: {{matchLabels: {{kubernetes.io/metadata.name: {namespace_name}}}}}}}
  egress:
  - name: to-processor
    action: Allow
    to: [{{domainNames: {names}}}]
    ports: [{{portNumber: {{protocol: TCP, port: 443}}}}]
"""


def names_entry(approved: str, names: str = "[api.stripe.example]") -> str:
    return f"""\
  - id: AF-009
    from: {{workload: shop/db}}
    to: {{names: {names}}}
    ports: [{{protocol: TCP, port: 443}}]
    justification: card processor
    owner: team
    ticket: CHG-9
    approved_by: CISO
    expires: 2027-06-30
    approved: {approved}
"""


def test_a_named_destination_gained_since_the_baseline_needs_an_entry_naming_it() -> None:
    check, _ = seg19(BASE, BASE + named_egress())
    assert check.status == "fail"
    (found,) = check.findings
    f = found.finding
    assert str(f.workload) == "shop/db[Pod]" and f.direction == "egress"
    assert f.peer == "name:api.stripe.example" and f.ports == "TCP 443"
    assert "gained since the baseline (across the boundary of cde)" in f.message
    assert "to: {names: [api.stripe.example]}" in f.remediation
    assert "approved: <YYYY-MM-DD, between 2026-11-26 and 2027-02-26>" in f.remediation
    assert check.summary.startswith("1 zone-crossing flow added or widened")


def test_a_named_destination_approved_by_name_in_the_window_passes() -> None:
    check, _ = seg19(BASE, BASE + named_egress(), SCOPE + names_entry("2027-01-10"))
    assert check.status == "pass", [f.finding.message for f in check.findings]
    late, _ = seg19(BASE, BASE + named_egress(), SCOPE + names_entry("2026-10-01"))
    assert late.status == "fail"
    assert (
        "AF-009 (CHG-9) was approved on 2026-10-01, outside it" in late.findings[0].finding.message
    )


def test_named_destinations_already_in_the_baseline_or_regrouped_are_no_change() -> None:
    same, _ = seg19(BASE + named_egress(), BASE + named_egress())
    assert same.status == "pass" and same.summary.startswith("0 zone-crossing flows")
    # One more name: only that one is new.
    wider, _ = seg19(
        BASE + named_egress(), BASE + named_egress("[api.stripe.example, hooks.example]")
    )
    (found,) = wider.findings
    assert found.finding.peer == "name:hooks.example"
    # Out of every zone: no boundary crossed.
    outside, _ = seg19(BASE, BASE + named_egress(namespace_name="tools"))
    assert outside.status == "pass" and outside.findings == ()
