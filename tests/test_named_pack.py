"""Egress to admin `domainNames` in the evidence pack: results.json, evidence.xlsx and the
PDF list it wherever they list flows, with the names as the rule spells them and marked
as never resolved."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from compliance.datafile import schema_problem
from compliance.render.pdf import PdfResult, render_html
from compliance.render.report import report_view
from compliance.render.results import render_json
from compliance.render.workbook import NAMED_KIND, write_workbook
from tests.helpers import (
    Result,
    cde_scope,
    evaluation_from_yaml,
    html_text,
    namespace,
    pod,
    policy,
    run_check,
)
from tests.test_semantics import anp

CLUSTER = (
    namespace("pay")
    + pod("api", "pay", {"app": "api"}, "https:8443/TCP")
    + namespace("web")
    + pod("front", "web", {"app": "front"})
    + policy("closed", "pay", "podSelector: {}\npolicyTypes: [Ingress, Egress]")
)
PROCESSOR = anp(
    "pay-out",
    """
    priority: 20
    subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: pay}}}
    egress:
    - name: processor
      action: Allow
      to: [{domainNames: [api.processor.example, '*.cdn.example']}]
      ports: [{portNumber: {protocol: TCP, port: 443}}, {portNumber: {protocol: TCP, port: 80}}]
    """,
)
SCOPE = cde_scope("pay")
NAMES = ["*.cdn.example", "api.processor.example"]
RULE = "anp/pay-out egress[processor]"


def results(cluster: str = CLUSTER + PROCESSOR, scope: str = SCOPE) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render_json(evaluation_from_yaml(cluster, scope)))
    assert schema_problem(doc, "results.schema.json") is None
    return doc


def test_results_list_the_named_destination_apart_with_its_rule_and_register() -> None:
    doc = results()
    assert doc["named_flows"] == [
        {
            "src": {"workload": "pay/api", "kind": "Pod"},
            "dst": {"names": NAMES},
            "connections": [{"protocol": "TCP", "ports": [[80, 80], [443, 443]]}],
            "allowed_by": {
                "egress": {
                    "rules": [
                        {"policy": "anp/pay-out", "direction": "egress", "rule": "processor"}
                    ],
                    "not_isolated": False,
                    "host_network": False,
                    "external": False,
                },
                "ingress": {
                    "rules": [],
                    "not_isolated": False,
                    "host_network": False,
                    "external": True,
                },
            },
            "register": [],
        }
    ]
    assert all("names" not in f["dst"] for f in doc["flows"])
    assert list(doc).index("named_flows") == list(doc).index("flows") + 1


def test_results_without_named_destinations_have_no_named_flows_key() -> None:
    assert "named_flows" not in results(CLUSTER)
    # A workload in no zone: its named destinations are not the results' business.
    elsewhere = PROCESSOR.replace(
        "kubernetes.io/metadata.name: pay", "kubernetes.io/metadata.name: web"
    )
    assert "named_flows" not in results(CLUSTER + elsewhere)


def test_the_flows_sheet_lists_the_names_marked_as_never_resolved() -> None:
    buf = io.BytesIO()
    write_workbook(evaluation_from_yaml(CLUSTER + PROCESSOR, SCOPE), buf)
    ws = load_workbook(io.BytesIO(buf.getvalue()))["Flows"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]
    named = [r for r in rows if r["destination_kind"] == NAMED_KIND]
    assert NAMED_KIND == "domain names, never resolved"
    assert [
        (r["source"], r["destination"], r["protocol"], r["port_from"], r["port_to"]) for r in named
    ] == [
        ("pay/api", "*.cdn.example, api.processor.example", "TCP", 80, 80),
        ("pay/api", "*.cdn.example, api.processor.example", "TCP", 443, 443),
    ]
    for r in named:
        assert r["source_kind"] == "Pod" and r["source_zones"] == "cde"
        assert r["destination_zones"] is None
        assert r["egress_allowed_by"] == RULE
        assert r["ingress_allowed_by"] == "outside the cluster"
        assert r["register"] == "not in register"
    # The filter covers the named rows too.
    assert ws.auto_filter.ref == f"A1:L{ws.max_row}"


def report_html(cluster: str, scope: str = SCOPE) -> str:
    return render_html(report_view(evaluation_from_yaml(cluster, scope), digest="0" * 64))


@pytest.fixture(scope="module")
def entry_report(
    lay_out: Callable[[str], PdfResult], read_pdf_pages: Callable[[bytes], Sequence[str]]
) -> str:
    """The text of the report with a register entry for TCP 443: three tests read it, and
    it is laid out once per run."""
    pages = read_pdf_pages(lay_out(report_html(CLUSTER + PROCESSOR, ENTRY_SCOPE)).data)
    return " ".join(" ".join(pages).split())


def test_the_pdf_lists_the_names_under_the_workloads_egress(entry_report: str) -> None:
    line = (
        "Egress TCP 80, 443 to *.cdn.example, api.processor.example (domain names, never "
        f"resolved) allowed by {RULE} · peer side: outside the cluster · "
    )
    text = entry_report
    assert line + "register: AF-9 (by name) covers part; the rest is not in register" in text
    assert "domainNames peer is never resolved" in text  # the methodology says so
    # Without the entry (the report's words, not layout):
    assert line + "not in register" in html_text(report_html(CLUSTER + PROCESSOR))
    # Without named destinations the report says nothing of them (its words, not layout).
    without = html_text(report_html(CLUSTER))
    assert "never resolved" not in without and "domainNames" not in without


# --------------------------------------------------------------------------- the register

FW_SCOPE = SCOPE.replace("pci-dss-4.0.1", "fw")


def entry(names: str, ports: str = "[{protocol: TCP, port: 80}, {protocol: TCP, port: 443}]",
          src: str = "{zone: cde}", expires: str = "2027-06-30", ident: str = "AF-9") -> str:  # fmt: skip
    return f"""
  - id: {ident}
    from: {src}
    to: {{names: {names}}}
    ports: {ports}
    justification: card processor and its CDN
    owner: payments
    ticket: T-9
    approved_by: CISO
    expires: {expires}
"""


ENTRY_SCOPE = (
    SCOPE
    + "approved_flows:"
    + entry("[api.processor.example, '*.cdn.example']", "[{protocol: TCP, port: 443}]")
)


def seg08(*entries: str, cluster: str = CLUSTER + PROCESSOR):  # type: ignore[no-untyped-def]
    scope = FW_SCOPE + ("approved_flows:" + "".join(entries) if entries else "")
    return run_check(cluster, scope, "SEG-08")


def warned(result) -> list[tuple[str | None, str | None]]:  # type: ignore[no-untyped-def]
    return [(f.finding.peer, f.finding.ports) for f in result.findings]


def test_an_entry_naming_the_names_on_their_ports_approves_them_by_name() -> None:
    before = seg08()
    assert before.status == "warn"
    assert warned(before) == [("name:*.cdn.example, api.processor.example", "TCP 80, 443")]
    after = seg08(entry("[api.processor.example, '*.cdn.example']"))
    assert after.status == "pass" and after.findings == ()
    assert after.summary == (
        "0 unapproved internet egress findings, 1 named destination approved by name in the "
        "register: by the names as the admin rule spells them, not by resolved address (what "
        "the names reach is not known to the analysis)"
    )
    # Two entries, one name each, cover it too.
    split = seg08(entry("[api.processor.example]"), entry("['*.cdn.example']", ident="AF-10"))
    assert split.findings == () and "1 named destination approved by name" in split.summary


def test_an_entry_covers_only_its_own_names_and_ports() -> None:
    result = seg08(entry("[api.processor.example]", "[{protocol: TCP, port: 443}]"))
    assert result.status == "warn"
    assert warned(result) == [
        ("name:*.cdn.example", "TCP 80, 443"),
        ("name:api.processor.example", "TCP 80"),
    ]
    assert "no current approved-flow entry names them" in result.findings[0].finding.message
    assert "0 named destinations approved by name in the register (1 more in part)" in (
        result.summary
    )


def test_names_match_only_as_spelled_and_only_from_the_entrys_source() -> None:
    # A wildcard matches only the identical text: neither a name under it nor the reverse.
    for names in ("[api.cdn.example]", "['*.processor.example']", "[cdn.example]"):
        got = seg08(entry(names))
        assert len(got.findings) == 1 and got.findings[0].finding.ports == "TCP 80, 443", names
    other = seg08(entry("[api.processor.example, '*.cdn.example']", src="{namespace: web}"))
    assert warned(other) == [("name:*.cdn.example, api.processor.example", "TCP 80, 443")]


def test_an_expired_entry_no_longer_approves_and_the_finding_names_it() -> None:
    got = seg08(entry("[api.processor.example, '*.cdn.example']", expires="2026-01-31"))
    (finding,) = got.findings
    assert finding.finding.message.endswith("names them; AF-9 (T-9) expired on 2026-01-31")


def test_the_remediation_is_an_entry_that_approves_the_flow_once_filled_in() -> None:
    (finding,) = seg08().findings
    text = finding.finding.remediation
    assert "approves the name as the rule spells it, not the addresses it resolves to" in text
    snippet = text[text.index("approved_flows:") :]
    assert "    to: {names: ['*.cdn.example', api.processor.example]}\n" in snippet
    filled = (
        snippet.replace("<business need>", "processor")
        .replace("<team>", "payments")
        .replace("<change ticket>", "T-1")
        .replace("<approver>", "CISO")
        .replace("<YYYY-MM-DD>", "2027-06-30")
    )
    result = run_check(CLUSTER + PROCESSOR, FW_SCOPE + filled, "SEG-08")
    assert result.status == "pass" and result.findings == ()


OPEN_EGRESS = policy(
    "out",
    "pay",
    """
    podSelector: {}
    policyTypes: [Egress]
    egress:
    - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
      ports: [{port: 443}]
    """,
)


def test_a_names_entry_never_covers_an_address_flow() -> None:
    cluster = CLUSTER + PROCESSOR + OPEN_EGRESS
    names = entry("[api.processor.example, '*.cdn.example']", "[{protocol: TCP, port: 443}]")
    for check_id in ("SEG-08", "SEG-11", "SEG-13", "SEG-14", "SEG-23", "SEG-27"):
        without = run_check(cluster, FW_SCOPE, check_id)
        with_names = run_check(cluster, FW_SCOPE + "approved_flows:" + names, check_id)
        address = [f for f in with_names.findings if not (f.finding.peer or "").startswith("name:")]
        assert address == [
            f for f in without.findings if not (f.finding.peer or "").startswith("name:")
        ], check_id
    seg08_address = [
        f for f in run_check(cluster, FW_SCOPE + "approved_flows:" + names, "SEG-08").findings
        if f.finding.severity == "fail"
    ]  # fmt: skip
    assert seg08_address and all("0.0.0.0" in (f.finding.peer or "") or "public" in (
        f.finding.peer or "") for f in seg08_address)  # fmt: skip
    # The register itself: the entry matches no address flow (SEG-19 asks `matching`).
    ev = evaluation_from_yaml(cluster, SCOPE + "approved_flows:" + names)
    (e,) = ev.scope.approved_flows
    assert e.dst.names == ("api.processor.example", "*.cdn.example")
    assert all(ev.register.matching([e], f) == [] for f in ev.graph.flows)
    assert [ev.register.covering_named(n) for n in ev.graph.named_flows] == [[e]]


def test_the_pack_cites_the_entry_as_an_approval_by_name(entry_report: str) -> None:
    scope = ENTRY_SCOPE
    doc = results(CLUSTER + PROCESSOR, scope)
    assert [f["register"] for f in doc["named_flows"]] == [["AF-9"]]
    assert doc["scope"]["approved_flows"][0]["to"] == "name:api.processor.example, *.cdn.example"
    buf = io.BytesIO()
    ev = evaluation_from_yaml(CLUSTER + PROCESSOR, scope)
    write_workbook(ev, buf)
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    header = [c.value for c in wb["Flows"][1]]
    rows = [
        dict(zip(header, r, strict=True))
        for r in wb["Flows"].iter_rows(min_row=2, values_only=True)
    ]
    named = {r["port_from"]: r["register"] for r in rows if r["destination_kind"] == NAMED_KIND}
    assert named == {80: "not in register", 443: "AF-9 (by name)"}
    register = [r for r in wb["Register"].iter_rows(min_row=2, values_only=True)]
    assert [(r[0], r[2], r[-1]) for r in register] == [
        ("AF-9", "name:api.processor.example, *.cdn.example", 1)
    ]
    assert "register: AF-9 (by name) covers part; the rest is not in register" in entry_report


def test_the_scope_accepts_exactly_the_names_an_admin_rule_accepts() -> None:
    """`to: {names: [...]}` is validated as the API validates `domainNames`, so every
    name a rule can carry can be approved, and nothing else can."""
    from compliance.errors import InputError
    from tests.helpers import cluster_from_yaml, scope_from_yaml

    candidates = [
        "api.stripe.com", "*.stripe.com", "a.b", "x_y.example.org", "trailing.dot.",
        "UPPER.Example.COM", "localhost", "*.com", "api.*.com", "-bad.example", "a..b",
        "*example.com", "**.example.com", "a.b-", "münchen.example", "a b.example",
    ]  # fmt: skip
    accepted: dict[str, bool] = {}
    for name in candidates:
        rule = PROCESSOR.replace("[api.processor.example, '*.cdn.example']", f"['{name}']")
        try:
            cluster_from_yaml(CLUSTER + rule)
            api = True
        except InputError:
            api = False
        try:
            scope_from_yaml(FW_SCOPE + "approved_flows:" + entry(f"['{name}']"))
            ours = True
        except InputError:
            ours = False
        assert api == ours, (name, api, ours)
        accepted[name] = api
    assert accepted["api.stripe.com"] and accepted["*.stripe.com"] and accepted["trailing.dot."]
    assert not accepted["localhost"] and not accepted["api.*.com"] and not accepted["a..b"]


def test_a_pack_with_named_destinations_and_a_names_entry_verifies_and_recomputes(
    tmp_path: Path,
    compliance: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    no_pdf_layout: list[str],
) -> None:
    """The snapshot keeps what the named flows and the names entry need: `verify
    --recompute` gives results.json byte for byte, and a pack made from the pack is the
    same pack (the PDF's layout is not what this is about: a stub stands in)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "export.yaml").write_text(CLUSTER + PROCESSOR)
    scope = (
        SCOPE
        + "approved_flows:"
        + entry("[api.processor.example, '*.cdn.example']", "[{protocol: TCP, port: 443}]")
    )
    (tmp_path / "scope.yaml").write_text(scope)
    args = ("--scope", "scope.yaml", "--as-of", "2026-11-26T00:00:00Z", "--exit-zero")
    made = compliance("report", "export.yaml", *args, "--out", "pack")
    assert made.code == 0, made.err
    doc = json.loads((tmp_path / "pack/results.json").read_text())
    assert [f["register"] for f in doc["named_flows"]] == [["AF-9"]]
    res = compliance("verify", "--recompute", "pack")
    assert res.code == 0, res.out + res.err
    assert "results.json reproduced byte for byte" in res.out
    again = compliance("report", "pack", *args, "--out", "again")
    assert again.code == 0, again.err
    for name in ("results.json", "snapshot.json"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "pack" / name).read_bytes()


def test_seg27_warns_about_a_names_entry_without_an_approver() -> None:
    names = entry("[api.processor.example, '*.cdn.example']").replace("    approved_by: CISO\n", "")
    result = run_check(CLUSTER + PROCESSOR, FW_SCOPE + "approved_flows:" + names, "SEG-27")
    (warning,) = [f for f in result.findings if f.status == "warn"]
    assert warning.finding.message.startswith(
        "approved-flow entry AF-9 (T-9) (zone cde -> name:api.processor.example, *.cdn.example"
    )
    assert "names no approved_by" in warning.finding.message
    approved = run_check(CLUSTER + PROCESSOR, FW_SCOPE + "approved_flows:" + entry(
        "[api.processor.example, '*.cdn.example']"), "SEG-27")  # fmt: skip
    assert [f for f in approved.findings if f.status == "warn"] == []


def test_seg08_counts_named_destinations_in_words_that_agree() -> None:
    assert seg08().summary == "0 unapproved internet egress findings, 1 named destination to review"
    two = PROCESSOR.replace("[api.processor.example, '*.cdn.example']", "[api.processor.example]")
    two += anp(
        "pay-cdn",
        """
        priority: 30
        subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: pay}}}
        egress:
        - {name: cdn, action: Allow, to: [{domainNames: ['*.cdn.example']}]}
        """,
    )
    assert seg08(cluster=CLUSTER + two).summary.endswith(", 2 named destinations to review")


def test_the_zone_boundary_lists_the_named_destination_leaving_the_zone(
    entry_report: str,
) -> None:
    from compliance.render.diagram import zone_boundary_summary

    scope = ENTRY_SCOPE
    ev = evaluation_from_yaml(CLUSTER + PROCESSOR, scope)
    b = zone_boundary_summary(ev, "cde")
    label = "*.cdn.example, api.processor.example (domain names, never resolved)"
    (group,) = [g for g in b.outbound if g.label == label]
    assert (group.ports, group.flows, group.covered) == ("TCP 80, 443", 1, False)
    assert group.register == "AF-9 (by name): TCP 443; not in register: TCP 80"
    assert label in b.external and b.inbound == ()
    text = entry_report
    assert "egress a cluster-wide rule allows to domainNames is grouped by the names" in text
    assert f"{label} TCP 80, 443 1 AF-9 (by name): TCP 443; not in register: TCP 80" in text
    # Without the register entry nothing is covered.
    bare = zone_boundary_summary(evaluation_from_yaml(CLUSTER + PROCESSOR, SCOPE), "cde")
    (group,) = [g for g in bare.outbound if g.label == label]
    assert group.register == "not in register: TCP 80, 443"
