"""Statuses that mean what they say: `pass` only for full automation, `supported` for a
partial requirement whose checks found nothing, applicability from the assessment block,
proposed rule-making apart, the per-framework waiver limit, the out-of-scope inventory,
and SEG-01's reading of a CNI agent's status."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from compliance.checks import CHECKS
from compliance.controls import Applicability, Requirement, load_catalog
from compliance.errors import InputError
from compliance.evaluate import CheckResult, _rollup, evaluate
from compliance.render.results import results_json
from tests.helpers import (
    cluster_from_yaml,
    compute_flows,
    html_text,
    run_check,
    sample_evaluation,
    scope_from_yaml,
)
from tests.test_checks import BASE, DENY_ALL, SCOPE, SECURE, daemonset

ROOT = Path(__file__).resolve().parent.parent
CONTROLS = ROOT / "controls"


def _check(cid: str, status: str, summary: str = "s") -> CheckResult:
    return CheckResult(cid, cid, "", status, summary, "configured, not proven enforced", ())


def _req(automation: str, checks: tuple[str, ...], applies: Applicability | None = None):  # type: ignore[no-untyped-def]
    evidence = ("a record",) if automation != "full" else ()
    return Requirement("R", "t", "i", automation, checks, evidence, applies_to=applies)


CHECKS_RUN = {
    "SEG-02": _check("SEG-02", "pass"),
    "SEG-15": _check("SEG-15", "not_applicable", "the scope has no tenant zones"),
    "SEG-25": _check("SEG-25", "not_applicable", "the scope file has no waivers"),
}
PROVIDERS = Applicability(("service_provider",), (), "service providers only")


# --------------------------------------------------------------------------- rollup


@pytest.mark.parametrize(
    ("automation", "expected"),
    [("full", "pass"), ("partial", "supported")],
)
def test_only_full_automation_passes(automation: str, expected: str) -> None:
    result = _rollup(_req(automation, ("SEG-02",)), CHECKS_RUN, True, None, {"cde"})
    assert result.status == expected
    if expected == "supported":
        assert (
            result.reason == "automated checks found nothing; the evidence listed is still needed"
        )


def test_partial_requirement_whose_checks_examined_nothing_is_manual_not_na() -> None:
    """HIPAA 164.308(a)(1)(ii)(B) still applies when the scope file has no waivers."""
    result = _rollup(_req("partial", ("SEG-25",)), CHECKS_RUN, True, None, {"cde"})
    assert result.status == "manual"
    assert "SEG-25: the scope file has no waivers" in result.reason


def test_service_provider_requirement_is_not_applicable_to_a_merchant() -> None:
    req = _req("partial", ("SEG-02",), PROVIDERS)
    assert _rollup(req, CHECKS_RUN, True, "merchant", {"cde"}).status == "not_applicable"
    assert _rollup(req, CHECKS_RUN, True, "merchant", {"cde"}).reason == "service providers only"
    provider = _rollup(req, CHECKS_RUN, True, "service_provider", {"cde"})
    assert provider.status == "supported"
    unstated = _rollup(req, CHECKS_RUN, True, None, {"cde"})
    assert unstated.status == "supported"
    assert "the scope file does not state the entity type" in unstated.reason


def test_multi_tenant_requirement_needs_a_tenant_zone() -> None:
    req = _req("partial", ("SEG-02",), Applicability(("service_provider",), ("tenant",)))
    none = _rollup(req, CHECKS_RUN, True, "service_provider", {"cde"})
    assert none.status == "not_applicable"
    assert "no tenant zone" in none.reason
    assert _rollup(req, CHECKS_RUN, True, "service_provider", {"tenant"}).status == "supported"


# --------------------------------------------------------------------------- samples


def test_pci_sample_passes_nothing_that_was_not_fully_tested() -> None:
    ev = sample_evaluation("pci-dss")
    (fw,) = ev.frameworks
    status = {r.requirement.id: r for r in fw.requirements}
    for r in fw.requirements:
        if r.status == "pass":
            assert r.requirement.automation == "full", r.requirement.id
    for rid in ("11.4.5", "1.4.5", "2.2.3", "1.4.4"):
        assert status[rid].status == "supported", rid
    for rid in ("11.4.6", "12.5.2.1"):
        assert status[rid].status == "not_applicable"
        assert status[rid].reason == "service providers only"
    for rid in ("A1.1.1", "A1.1.2", "A1.1.3", "A1.1.4"):
        assert status[rid].status == "not_applicable", rid
        assert status[rid].reason.startswith("multi-tenant service providers only")
    assert fw.status_counts["supported"] == 5
    assert "pass" not in fw.status_counts


def test_hipaa_proposed_requirement_is_apart_and_never_counted() -> None:
    ev = sample_evaluation("hipaa")
    (fw,) = ev.frameworks
    (proposed,) = fw.proposed
    assert proposed.requirement.id == "164.312(a)(2)(vi)"
    assert sum(fw.status_counts.values()) == len(fw.requirements) - 1
    assert fw.proposed_status_counts == {proposed.status: 1}
    risk = next(r for r in fw.requirements if r.requirement.id == "164.308(a)(1)(ii)(B)")
    assert risk.status == "manual"
    doc = results_json(ev)
    (fj,) = doc["frameworks"]
    assert fj["proposed_status_counts"] == {proposed.status: 1}
    assert next(r for r in fj["requirements"] if r["proposed"])["id"] == "164.312(a)(2)(vi)"


def test_out_of_scope_inventory_flags_the_debug_pod_in_the_cde_namespace() -> None:
    doc = results_json(sample_evaluation("pci-dss"))
    out = {o["workload"]: o for o in doc["scope"]["out_of_scope"]}
    debug = out["production/debug-shell"]
    assert debug == {
        "workload": "production/debug-shell",
        "kind": "Pod",
        "reason": "matched no zone",
        "shares_namespace_with_in_scope": True,
    }
    assert out["monitoring/prometheus"]["shares_namespace_with_in_scope"] is False
    scoped = {w for z in doc["scope"]["zones"] for w in z["workloads"]}
    assert not scoped & set(out)
    assert len(out) + len(scoped) == 15
    assert doc["scope"]["description"].startswith("Card payments are taken by the storefront")
    zones = {z["name"]: z for z in doc["scope"]["zones"]}
    assert zones["cde"]["description"] == "The storefront and every service in its request path"
    assert doc["assessment"]["entity_type"] == "merchant"
    assert doc["assessment"]["period"] == {"start": "2026-01-01", "end": "2026-12-31"}


# --------------------------------------------------------------------------- control data


def _doc(name: str) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((CONTROLS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _reqs(name: str) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["id"]: r for r in _doc(name)["requirements"]}


def test_fedramp_high_reviews_exceptions_every_90_days_moderate_180() -> None:
    high, moderate = _doc("fedramp-rev5-high.yaml"), _doc("fedramp-rev5-moderate.yaml")
    assert high["max_exception_days"] == 90
    assert moderate["max_exception_days"] == 180
    sc74 = _reqs("fedramp-rev5-high.yaml")["SC-7(4)"]
    assert "every 90 days" in " ".join(sc74["intent"].split())
    assert "180" not in sc74["intent"] + sc74["note"] + " ".join(sc74["evidence"])
    assert "ninety (90) days" in high["notes"]


def test_fedramp_baseline_cites_the_current_profile_and_keeps_the_old_one() -> None:
    for name in ("fedramp-rev5-high.yaml", "fedramp-rev5-moderate.yaml"):
        doc = _doc(name)
        assert "fedramp2.1.0-oscal1.0.4" in doc["version"]
        assert "fedramp2.1.0-oscal1.0.4" in doc["source"]
        assert "v5.1.1+fedramp-20240111" in doc["notes"]


@pytest.mark.parametrize(
    ("name", "rid"),
    [
        ("pci-dss-4.0.1.yaml", "1.3.1"),
        ("pci-dss-4.0.1.yaml", "1.3.2"),
        ("pci-dss-4.0.1.yaml", "1.4.1"),
        ("pci-dss-4.0.1.yaml", "1.4.2"),
        ("pci-dss-4.0.1.yaml", "1.4.4"),
        ("fedramp-rev5-moderate.yaml", "SC-7(5)"),
        ("fedramp-rev5-high.yaml", "SC-7(5)"),
        ("fedramp-rev5-high.yaml", "SC-8"),
        ("fedramp-rev5-high.yaml", "SC-8(1)"),
    ],
)
def test_static_export_cannot_fully_decide_these(name: str, rid: str) -> None:
    req = _reqs(name)[rid]
    assert req["automation"] == "partial"
    assert len(req["evidence"]) >= 2


def test_pci_boundary_requirements_ask_for_what_the_export_cannot_show() -> None:
    evidence = " ".join(_reqs("pci-dss-4.0.1.yaml")["1.3.1"]["evidence"])
    for wanted in ("security groups", "CNI name, version", "from a node", "AdminNetworkPolicy"):
        assert wanted in evidence
    assert "register with its approvals" in evidence


def test_sc8_asks_for_strict_mtls_and_fips_140() -> None:
    for rid in ("SC-8", "SC-8(1)"):
        evidence = " ".join(_reqs("fedramp-rev5-moderate.yaml")[rid]["evidence"])
        assert "STRICT" in evidence and "FIPS 140" in evidence


def test_sc7_10_uses_the_rev5_wording() -> None:
    req = _reqs("fedramp-rev5-high.yaml")["SC-7(10)"]
    assert (
        req["title"]
        == "Exfiltration of information is prevented and exfiltration tests are conducted"
    )
    assert "across managed interfaces" not in req["intent"]


def test_hipaa_proposed_segmentation_wording_is_not_overstated() -> None:
    req = _reqs("hipaa-security-rule.yaml")["164.312(a)(2)(vi)"]
    assert "reasonable and appropriate" in req["title"]
    assert '"in a reasonable and appropriate manner"' in " ".join(req["intent"].split())
    assert "confirm it against the final rule" in " ".join(req["note"].split())


NEW_FEDRAMP = ("AC-3", "CA-3", "CM-2", "CM-3", "CM-5", "CA-7", "CA-8", "CA-8(1)", "SI-4", "SI-4(4)")


@pytest.mark.parametrize("name", ["fedramp-rev5-moderate.yaml", "fedramp-rev5-high.yaml"])
def test_fedramp_requirements_the_flow_graph_evidences_in_part_are_listed(name: str) -> None:
    reqs = _reqs(name)
    for rid in NEW_FEDRAMP:
        assert rid in reqs, rid
        assert reqs[rid]["automation"] in ("partial", "manual")
        assert reqs[rid]["evidence"]


def test_pci_methodology_and_change_requirements_are_listed() -> None:
    reqs = _reqs("pci-dss-4.0.1.yaml")
    assert reqs["11.4.1"]["checks"] == ["SEG-16"]
    assert reqs["6.5.1"]["checks"] == ["SEG-11", "SEG-19"]
    assert reqs["6.5.2"]["automation"] == "partial"
    for rid in ("11.4.6", "12.5.2.1"):
        assert reqs[rid]["applies_to"]["entity_types"] == ["service_provider"]
    for rid in ("A1.1.1", "A1.1.2", "A1.1.3", "A1.1.4"):
        assert reqs[rid]["applies_to"]["zone_roles"] == ["tenant"]


# --------------------------------------------------------------------------- waiver limit


WAIVED_SCOPE = (
    SCOPE.replace("frameworks: [fw]", "frameworks: [{fw}]")
    + """
waivers:
  - id: WV-1
    check: SEG-02
    workload: pay/api
    reason: migration
    owner: platform
    approved_by: ciso
    compensating_control: host firewall
    expires: 2027-03-26
"""
)


@pytest.mark.parametrize(
    ("framework", "status", "limit"),
    [
        ("fedramp-rev5-moderate", "pass", "180 days"),
        ("fedramp-rev5-high", "fail", "90 days (FedRAMP Rev. 5 High SC-7(4))"),
    ],
)
def test_waiver_limit_is_the_strictest_evaluated_framework(
    framework: str, status: str, limit: str
) -> None:
    catalog = load_catalog((), CHECKS)
    scope = scope_from_yaml(WAIVED_SCOPE.replace("{fw}", framework))
    cluster = cluster_from_yaml(SECURE)
    moment = dt.datetime.fromisoformat("2026-11-26T00:00:00+00:00")
    ev = evaluate(cluster, compute_flows(cluster), scope, [catalog[framework]], moment)
    (fw,) = ev.frameworks
    seg25 = next(c for c in fw.checks if c.id == "SEG-25")
    assert seg25.status == status
    assert f"limit {limit}" in seg25.summary
    if status == "fail":
        (finding,) = [f for f in seg25.findings if f.status == "fail"]
        assert "at most 90 are allowed (FedRAMP Rev. 5 High SC-7(4))" in finding.finding.message
    assert results_json(ev)["scope"]["waiver_limit"]["days"] == (90 if status == "fail" else 180)


# --------------------------------------------------------------------------- SEG-01, SEG-05


def _calico_with_status(ready: int, desired: int) -> str:
    agent = daemonset("calico-node", "kube-system", {"k8s-app": "calico-node"})
    return agent + f"status: {{numberReady: {ready}, desiredNumberScheduled: {desired}}}\n"


def test_seg01_agent_with_no_ready_pod_is_unknown_not_pass() -> None:
    cluster = SECURE.replace(
        daemonset("calico-node", "kube-system", {"k8s-app": "calico-node"}),
        _calico_with_status(0, 3),
    )
    assert cluster != SECURE
    result = run_check(cluster, SCOPE, "SEG-01")
    assert result.status == "unknown"
    assert result.enforcement == "configured, not proven enforced"
    assert "status.numberReady 0 of 3" in result.summary


def test_seg01_running_agent_is_present_not_proven() -> None:
    cluster = SECURE.replace(
        daemonset("calico-node", "kube-system", {"k8s-app": "calico-node"}),
        _calico_with_status(3, 3),
    )
    result = run_check(cluster, SCOPE, "SEG-01")
    assert result.status == "pass"
    assert result.enforcement == "CNI present (Calico); enforcement not proven"
    assert "3 of 3 pods ready" in result.summary


def test_daemonset_status_that_is_not_a_count_is_bad_input() -> None:
    agent = daemonset("calico-node", "kube-system", {"k8s-app": "calico-node"})
    with pytest.raises(InputError) as err:
        cluster_from_yaml(agent + "status: {numberReady: many}\n")
    assert err.value.field == "status.numberReady"


def test_seg05_says_a_host_network_pod_shares_its_nodes_identity() -> None:
    host = daemonset("agent", "pay", {"app": "agent"}, host_network=True)
    result = run_check(BASE + DENY_ALL + host, SCOPE, "SEG-05")
    (finding,) = [f for f in result.findings if f.finding.workload is not None]
    assert "shares its node's identity" in finding.finding.message
    assert "can reach every pod on the same node" in finding.finding.message


# --------------------------------------------------------------------------- scope file


@pytest.mark.parametrize(
    ("block", "field"),
    [
        ("{entity_type: reseller}", "assessment.entity_type"),
        ("{period: {start: 2026-06-01, end: 2026-01-01}}", "assessment.period.end"),
    ],
)
def test_bad_assessment_block_names_the_field(block: str, field: str) -> None:
    with pytest.raises(InputError) as err:
        scope_from_yaml(SCOPE + f"assessment: {block}\n")
    assert err.value.field == field


def test_results_schema_knows_supported() -> None:
    schema = json.loads((ROOT / "compliance/schemas/results.schema.json").read_text())
    assert "supported" in schema["$defs"]["requirement_status"]["enum"]


# --------------------------------------------------------------------------- the PDF


@pytest.fixture(scope="module")
def pdf_pages(sample_pack: Path, read_pdf_pages: Callable[[Path], list[str]]) -> list[str]:
    """The demo's pack: the shop with its probe results and flow logs."""
    return read_pdf_pages(sample_pack / "report.pdf")


@pytest.fixture(scope="module")
def no_evidence_text() -> str:
    """What the report of the shop alone says (no probe results, no flow log): the PDF
    lays out this HTML, as the demo's PDF shows for its own."""
    from compliance.render.pdf import render_html
    from compliance.render.report import report_view

    return html_text(render_html(report_view(sample_evaluation("pci-dss"), digest="0" * 64)))


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_pdf_cover_says_present_not_enforced_and_has_the_sign_off(
    pdf_pages: list[str], no_evidence_text: str
) -> None:
    cover = _flat(pdf_pages[0])
    assert "shop-prod" in pdf_pages[0].splitlines()[2]  # the title never breaks inside it
    assert "CNI present (Calico); enforcement not proven" in no_evidence_text
    assert "enforced by" not in no_evidence_text
    # with a segmentation test that found a probe open, the cover says so first
    assert (
        "enforcement not proven: segmentation test on 2026-11-20: 34 of 36 blocked probes "
        "blocked; observed open: P-0075, no clear result for 1 a CNI that enforces "
        "NetworkPolicy is present: Calico"
    ) in cover
    assert "enforced by" not in _flat(" ".join(pdf_pages))
    assert "Entity Example Shop Ltd (merchant)" in cover
    assert "Assessment period 2026-01-01 to 2026-12-31" in cover
    assert "Role Name Date Signature" in cover
    assert "Prepared by Platform Security" in cover
    assert "Reviewed by" in cover
    assert "Assessor Example QSA Company" in cover


def test_pdf_summary_counts_supported_apart(pdf_pages: list[str], no_evidence_text: str) -> None:
    summary = _flat(next(p for p in pdf_pages if "Requirement results per framework" in p))
    assert "Fail Unknown Warning Waived Supported Pass Manual Not applicable" in summary
    # the open probe (SEG-28) and the observed flows (SEG-22) fail 11.4.5, which the shop
    # alone leaves supported
    assert "PCI DSS v4.0.1 pci-dss-4.0.1 10 19 0 0 0 4 0 2 6" in summary
    assert "PCI DSS v4.0.1 pci-dss-4.0.1 10 18 0 0 0 5 0 2 6" in no_evidence_text
    assert "is supported when they found nothing: the evidence it lists is still needed" in summary


def test_pdf_scope_statement_has_rationale_and_the_out_of_scope_inventory(
    pdf_pages: list[str],
) -> None:
    text = _flat(" ".join(pdf_pages))
    assert "Scope rationale. Card payments are taken by the storefront" in text
    assert "The storefront and every service in its request path" in text
    assert (
        "production/debug-shell Pod matched no zone "
        "Shares namespace production with in-scope workloads" in text
    )
    assert "monitoring/prometheus StatefulSet matched no zone" in text


def test_pdf_methodology_says_node_to_pod_traffic_is_always_allowed(pdf_pages: list[str]) -> None:
    text = _flat(" ".join(pdf_pages))
    assert (
        "Kubernetes always allows traffic between a node and the pods running on it, "
        "whatever the policies" in text
    )


def test_pdf_requirement_reasons_and_applicability(pdf_pages: list[str]) -> None:
    text = _flat(" ".join(pdf_pages))
    assert "Not applicable: service providers only." in text
    assert "Supported: automated checks found nothing; the evidence listed is still needed." in text
    assert "applies to service providers only" in text


def test_pdf_wording_plurals_full_stops_and_every_port(pdf_pages: list[str]) -> None:
    import re

    text = _flat(" ".join(pdf_pages[2:]))  # after the contents' dot leaders
    for wrong in ("1 waivers", "1 workloads", "1 data stores", "other 1 peers", " on all"):
        assert wrong not in text, wrong
    assert not re.search(r"[a-z]\.\. ", text)
    assert "1 data store, 0 untrusted flows" in text
    assert "(ingress-tier, public, 1 workload)" in text or "public, 1 workload)" in text
    assert "on every port" in text


@pytest.fixture(scope="module")
def fedramp_pages(fedramp_pack: Path, read_pdf_pages: Callable[[Path], list[str]]) -> list[str]:
    """The FedRAMP sample's report: two frameworks, and a page break that once fell
    between a workload's heading and its flows."""
    return read_pdf_pages(fedramp_pack / "report.pdf")


def test_pdf_never_ends_a_page_with_a_workload_heading(fedramp_pages: list[str]) -> None:
    for page in fedramp_pages:
        body = [
            line
            for line in page.splitlines()
            if line.strip() and not line.startswith(("Cluster shop-prod ·", "Content digest"))
        ]
        assert not body[-1].startswith("Zones: "), body[-1]


def test_pdf_summary_headers_for_two_frameworks(fedramp_pages: list[str]) -> None:
    summary = _flat(next(p for p in fedramp_pages if "Requirement results per framework" in p))
    assert "Fail Unknown Warning Waived Supported Pass Manual Not applicable" in summary
    assert "a waiver may run at most 90 days (FedRAMP Rev. 5 High SC-7(4))" in summary


def test_pdf_keeps_each_check_heading_with_its_findings(pdf_pages: list[str]) -> None:
    """A check's heading never ends a page while its findings start the next."""
    import re

    heading = re.compile(r"^SEG-\d\d .+ (Fail|Warning|Waived|Unknown)$")
    for page in pdf_pages:
        lines = [
            line
            for line in page.splitlines()
            if not line.startswith(("Cluster shop-prod ·", "Content digest"))
        ]
        body = [line for line in lines if line.strip()]
        assert not (body and heading.match(body[-1])), body[-1]
        assert not (len(body) > 1 and heading.match(body[-2]) and "Evidences:" in body[-1])


def test_status_chart_draws_supported_in_its_own_colour() -> None:
    from compliance.render.diagram import STATUS_COLOURS, status_chart_svg

    svg = status_chart_svg([("PCI DSS", {"supported": 5, "pass": 1, "fail": 2})])
    assert STATUS_COLOURS["supported"] not in (STATUS_COLOURS["pass"], STATUS_COLOURS["manual"])
    assert f'fill="{STATUS_COLOURS["supported"]}"' in svg
    assert ">Supported<" in svg


def test_summary_sheet_counts_supported_apart() -> None:
    import io

    from openpyxl import load_workbook

    from compliance.render.workbook import write_workbook

    ev = sample_evaluation("hipaa")
    out = io.BytesIO()
    write_workbook(ev, out)
    ws = load_workbook(io.BytesIO(out.getvalue()))["Summary"]
    header = [c.value for c in ws[1]]
    row = dict(zip(header, [c.value for c in ws[2]], strict=False))
    assert row["framework"] == "hipaa-security-rule"
    assert row["supported"] == 1
    assert row["pass"] == 0
    assert sum(row[s] for s in header[4:]) == 21  # 22 requirements, the proposed one apart


def test_a_failing_proposed_requirement_does_not_fail_the_framework() -> None:
    from compliance.evaluate import FrameworkResult, RequirementResult

    ev = sample_evaluation("hipaa")
    (fw,) = ev.frameworks
    only_proposed_fails = tuple(
        RequirementResult(r.requirement, "fail" if r.requirement.proposed else "manual")
        for r in fw.requirements
    )
    result = FrameworkResult(fw.framework, fw.in_scope, only_proposed_fails, fw.checks)
    assert not result.failed
    assert result.proposed_status_counts == {"fail": 1}
    assert "fail" not in result.status_counts


def test_pdf_out_of_scope_list_is_capped_with_flagged_workloads_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from compliance.render import report

    monkeypatch.setattr(report, "OUT_OF_SCOPE_ROWS", 2)
    view = report.report_view(sample_evaluation("pci-dss"))
    shown = view["out_of_scope"]
    assert [o.ref.id for o in shown] == ["kube-system/calico-node", "production/debug-shell"]
    assert all(o.shares_namespace for o in shown)
    assert view["out_of_scope_count"] == 5
    assert view["more_out_of_scope"] == 3


@pytest.mark.parametrize(
    ("parameters", "days", "source"),
    [
        ("", 90, "FedRAMP Rev. 5 High SC-7(4)"),
        ("parameters: {max_waiver_days: 60}\n", 60, "scope.yaml: parameters.max_waiver_days"),
    ],
)
def test_the_limit_that_applied_is_named(parameters: str, days: int, source: str) -> None:
    catalog = load_catalog((), CHECKS)
    scope = scope_from_yaml(WAIVED_SCOPE.replace("{fw}", "fedramp-rev5-high") + parameters)
    cluster = cluster_from_yaml(SECURE)
    moment = dt.datetime.fromisoformat("2026-11-26T00:00:00+00:00")
    ev = evaluate(cluster, compute_flows(cluster), scope, [catalog["fedramp-rev5-high"]], moment)
    assert results_json(ev)["scope"]["waiver_limit"] == {"days": days, "source": source}


def test_the_default_limit_says_it_is_the_default() -> None:
    doc = results_json(sample_evaluation("pci-dss"))
    assert doc["scope"]["waiver_limit"] == {
        "days": 180,
        "source": "the default; the scope file sets no parameters.max_waiver_days",
    }
