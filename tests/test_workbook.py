"""The evidence workbook: its sheets, their rows, status colours, text that must stay
data (never a formula), and bytes that depend on the evaluation alone."""

from __future__ import annotations

import datetime as dt
import functools
import io
import zipfile
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import evaluation_from_yaml, namespace, pod, sample_evaluation
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from compliance import __version__
from compliance.evaluate import Evaluation
from compliance.model import WorkloadRef
from compliance.render import workbook
from compliance.render.results import results_json
from compliance.render.workbook import Sheet, Styled, write_workbook

HEADERS = {
    "Summary": [
        "framework",
        "title",
        "version",
        "in_scope_workloads",
        "fail",
        "unknown",
        "warn",
        "waived",
        "supported",
        "pass",
        "manual",
        "not_applicable",
    ],
    "Requirements": [
        "framework",
        "requirement",
        "title",
        "automation",
        "designation",
        "applicability",
        "status",
        "status_reason",
        "checks",
        "evidence",
        "intent",
        "assessor_result",
        "assessor_notes",
    ],
    "Checks": [
        "framework",
        "check",
        "title",
        "status",
        "summary",
        "enforcement",
        "fail_findings",
        "warn_findings",
        "waived_findings",
    ],
    "Findings": [
        "finding_id",
        "framework",
        "requirements",
        "check",
        "status",
        "workload",
        "kind",
        "namespace",
        "direction",
        "peers",
        "ports",
        "policies",
        "message",
        "remediation",
        "waived_by",
    ],
    "Register": [
        "id",
        "from",
        "to",
        "ports",
        "justification",
        "owner",
        "ticket",
        "approved_by",
        "expires",
        "status",
        "security_feature",
        "flows_covered",
    ],
    "Waivers": [
        "id",
        "check",
        "applies_to",
        "reason",
        "compensating_control",
        "owner",
        "approved_by",
        "ticket",
        "expires",
        "state",
        "findings_waived",
    ],
    "Zone matrix": ["from", "to", "ports", "flows", "register", "intended", "beyond_intended"],
    "Flows": [
        "source",
        "source_kind",
        "source_zones",
        "destination",
        "destination_kind",
        "destination_zones",
        "protocol",
        "port_from",
        "port_to",
        "egress_allowed_by",
        "ingress_allowed_by",
        "register",
    ],
    "Workloads": [
        "workload",
        "kind",
        "in_scope",
        "scope_reason",
        "zones",
        "frameworks",
        "ingress_isolated",
        "egress_isolated",
        "host_network",
        "ingress_policies",
        "egress_policies",
    ],
    "Policies": [
        "namespace",
        "name",
        "policy_types",
        "ingress_rules",
        "egress_rules",
        "workloads_selected",
        "source",
        "sha256",
    ],
    "Inputs": ["role", "path", "sha256", "size"],
}
FILL = {"fail": "FFC7CE", "pass": "C6EFCE", "warn": "FFEB9C", "waived": "DDEBF7"}
HOSTILE = [
    '=HYPERLINK("http://x")',
    "+1",
    "-1",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "=1+1",
    "#N/A",
    "a\r\nb",
    "=cmd|' /C calc'!A0",
]


@functools.cache
def _evaluation(name: str) -> Evaluation:
    ev: Evaluation = sample_evaluation(name)
    return ev


@functools.cache
def _bytes(name: str, digest: str | None = "sha256:" + "ab" * 32) -> bytes:
    buf = io.BytesIO()
    write_workbook(_evaluation(name), buf, digest)
    return buf.getvalue()


def _open(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


def _body(ws: Worksheet) -> list[tuple[Any, ...]]:
    return list(ws.iter_rows(min_row=2, values_only=True))


def _records(ws: Worksheet) -> list[dict[str, Any]]:
    header = [c.value for c in ws[1]]
    return [dict(zip(header, row, strict=True)) for row in _body(ws)]


def _cells(wb: Workbook) -> Iterator[Cell]:
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell, Cell):
                    yield cell


def _port_ranges(ev: Evaluation) -> int:
    """Rows the Flows sheet should have: every range of every protocol of every flow that
    touches a zone; "all" is each protocol's full range."""
    zoned = ev.placement.zones_of
    return sum(
        sum(len(r) for r in f.connections.ranges)
        for f in ev.graph.flows
        if f.src in zoned or f.dst in zoned
    )


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize("name", ["pci-dss", "hipaa", "fedramp"])
def test_sheets_headers_panes_filters_and_widths(name: str) -> None:
    wb = _open(_bytes(name))
    assert wb.sheetnames == list(HEADERS)
    for ws in wb.worksheets:
        assert [c.value for c in ws[1]] == HEADERS[ws.title], ws.title
        assert all(c.font.b for c in ws[1]), ws.title
        assert ws.freeze_panes == "A2", ws.title
        last = chr(ord("A") + len(HEADERS[ws.title]) - 1)
        assert ws.auto_filter.ref is not None
        assert ws.auto_filter.ref.startswith(f"A1:{last}"), ws.title
        for i in range(len(HEADERS[ws.title])):
            width = ws.column_dimensions[chr(ord("A") + i)].width
            assert 8 <= width <= 60, (ws.title, i, width)
    # The filter covers each table's rows exactly (Summary: its framework table).
    ev = _evaluation(name)
    assert wb["Summary"].auto_filter.ref == f"A1:L{1 + len(ev.frameworks)}"
    assert wb["Flows"].auto_filter.ref == f"A1:L{1 + _port_ranges(ev)}"
    assert wb["Findings"].auto_filter.ref == f"A1:O{wb['Findings'].max_row}"


def test_widths_follow_the_content_but_are_capped() -> None:
    wb = _open(_bytes("pci-dss"))
    requirements = wb["Requirements"]
    assert requirements.column_dimensions["C"].width == 60  # long titles: capped
    assert requirements.column_dimensions["A"].width == len("pci-dss-4.0.1") + 2
    assert wb["Inputs"].column_dimensions["C"].width == 60  # sha256: 64 characters


@pytest.mark.parametrize("name", ["pci-dss", "hipaa", "fedramp"])
def test_row_counts(name: str) -> None:
    ev = _evaluation(name)
    wb = _open(_bytes(name))
    assert len(_body(wb["Requirements"])) == sum(len(f.requirements) for f in ev.frameworks)
    assert len(_body(wb["Checks"])) == sum(len(f.checks) for f in ev.frameworks)
    assert len(_body(wb["Findings"])) == sum(
        len(c.findings) for f in ev.frameworks for c in f.checks
    )
    assert len(_body(wb["Flows"])) == _port_ranges(ev) > 0
    assert len(_body(wb["Workloads"])) == len(ev.cluster.workloads)
    assert len(_body(wb["Policies"])) == len(ev.cluster.policies)
    assert len(_body(wb["Inputs"])) == len(ev.inputs) + 1 + len(ev.frameworks)


def test_summary_has_the_framework_table_the_facts_and_the_legend() -> None:
    ev = _evaluation("fedramp")
    wb = _open(_bytes("fedramp"))
    rows = _body(wb["Summary"])
    table = rows[: len(ev.frameworks)]
    for fw, row in zip(ev.frameworks, table, strict=True):
        counts = fw.status_counts
        assert row == (
            fw.framework.id,
            fw.framework.title,
            fw.framework.version,
            len(fw.in_scope),
            *(counts.get(s, 0) for s in HEADERS["Summary"][4:]),
        )
    assert sum(row[4:].count(None) for row in table) == 0
    assert all(v is None for v in rows[len(ev.frameworks)])  # a blank row ends the table
    facts = {row[0]: row[1] for row in rows[len(ev.frameworks) + 1 :] if row[0]}
    assert facts["fact"] == "value"
    assert facts["cluster"] == ev.scope.cluster
    assert facts["as_of"] == "2026-11-26T00:00:00Z"
    assert facts["tool"] == "compliance"
    assert facts["tool_version"] == __version__
    assert facts["enforcement_status"] == ev.enforcement.status
    assert facts["enforcement_qualifier"] == ev.enforcement.qualifier
    assert facts["enforcement_statement"] == ev.enforcement.statement
    assert facts["pack_digest"] == "sha256:" + "ab" * 32
    assert facts["fail"] == "Fail"
    assert facts["not_applicable"] == "Not applicable"


def test_summary_without_a_digest_has_no_digest_row() -> None:
    rows = _body(_open(_bytes("pci-dss", None))["Summary"])
    assert "pack_digest" not in [row[0] for row in rows]
    assert "cluster" in [row[0] for row in rows]


def test_requirements_and_checks_mirror_the_results() -> None:
    ev = _evaluation("pci-dss")
    wb = _open(_bytes("pci-dss"))
    (fw,) = ev.frameworks
    requirements = {r["requirement"]: r for r in _records(wb["Requirements"])}
    assert set(requirements) == {r.requirement.id for r in fw.requirements}
    statuses = {c.id: c.status for c in fw.checks}
    for r in fw.requirements:
        row = requirements[r.requirement.id]
        assert row["framework"] == "pci-dss-4.0.1"
        assert row["status"] == r.status
        assert row["automation"] == r.requirement.automation
        expected = ", ".join(f"{c} {statuses[c]}" for c in r.requirement.checks)
        assert row["checks"] == (expected or None)
        assert row["evidence"] == ("; ".join(r.requirement.evidence) or None)
    checks = {c["check"]: c for c in _records(wb["Checks"])}
    assert checks["SEG-02"]["status"] == "fail"
    assert checks["SEG-02"]["summary"] == "10 in-scope workloads, 2 not isolated for ingress"
    assert checks["SEG-02"]["enforcement"] == "CNI present (Calico); enforcement not proven"
    assert (checks["SEG-02"]["fail_findings"], checks["SEG-02"]["warn_findings"]) == (2, 0)
    seg26 = next(c for c in fw.checks if c.id == "SEG-26")
    waived = sum(1 for f in seg26.findings if f.waived_by == "WV-001")
    assert checks["SEG-26"]["waived_findings"] == waived > 0


def test_findings_rows() -> None:
    wb = _open(_bytes("pci-dss"))
    findings = _records(wb["Findings"])
    messages = {f["message"] for f in findings}
    assert (
        "no NetworkPolicy with Ingress in its policyTypes selects it: every ingress flow is allowed"
        in messages
    )
    waived = {(f["check"], f["waived_by"]) for f in findings if f["status"] == "waived"}
    assert waived == {("SEG-26", "WV-001")}
    assert Counter(f["status"] for f in findings) == Counter(
        fr.status for c in _evaluation("pci-dss").frameworks[0].checks for fr in c.findings
    )
    grouped = next(f for f in findings if f["message"].startswith("egress to 3 peers"))
    assert grouped["peers"].count("\n") == 2  # every peer, one per line, not the summary
    assert grouped["direction"] == "egress"


def test_findings_ids_requirements_and_filled_columns() -> None:
    """Every finding has a stable ID (the same in results.json), its requirement IDs, and
    a namespace and direction whatever the check; SEG-17 rows carry their ports; long
    text wraps."""
    ev = _evaluation("pci-dss")
    wb = _open(_bytes("pci-dss"))
    findings = _records(wb["Findings"])
    doc = results_json(ev, with_flows=False)
    by_id = {f["id"]: f for c in doc["checks"] for f in c["findings"]}
    assert [f["finding_id"] for f in findings] == [
        f["id"] for c in doc["checks"] for f in c["findings"]
    ]
    assert len(by_id) == len(findings)  # one framework here: IDs are unique
    assert all(f["finding_id"].startswith(f["check"] + "-") for f in findings)
    seg27 = [f for f in findings if f["check"] == "SEG-27"]
    assert seg27 and all(f["requirements"] == "1.2.5" for f in seg27)
    missing = [f for f in findings if not (f["namespace"] and f["direction"])]
    assert missing == []
    seg20 = [f for f in findings if f["check"] == "SEG-20" and "ingress[2]" in f["message"]]
    assert {f["workload"] for f in seg20} >= {"production/kafka", "production/redis"}
    seg17 = [f for f in findings if f["check"] == "SEG-17"]
    assert seg17 and all(f["ports"] for f in seg17)
    prom = next(f for f in seg17 if f["workload"] == "monitoring/prometheus")
    assert prom["peers"].split("\n") == [
        "kube-system/coredns[Deployment]",
        "shared-services/logging[Deployment]",
    ]
    cells = {c.value: c for c in wb["Findings"]["M"]}
    assert cells[findings[0]["message"]].alignment.wrap_text


def test_register_waivers_and_zone_matrix_sheets() -> None:
    ev = _evaluation("pci-dss")
    wb = _open(_bytes("pci-dss"))
    register = {r["id"]: r for r in _records(wb["Register"])}
    assert list(register) == [e.ref for e in ev.scope.approved_flows]
    assert register["AF-004"]["to"] == "shared-services/logging"
    assert register["AF-004"]["ports"] == "TCP 24224"
    assert register["AF-004"]["approved_by"] == "CISO"
    assert register["AF-004"]["flows_covered"] == 1
    assert register["AF-006"]["status"] == "expired"
    assert register["AF-006"]["flows_covered"] == 0
    assert register["AF-001"]["status"] == "active"
    (waiver,) = _records(wb["Waivers"])
    assert (waiver["id"], waiver["check"], waiver["state"], waiver["findings_waived"]) == (
        "WV-001",
        "SEG-26",
        "active",
        sum(fr.waived_by == "WV-001" for c in ev.frameworks[0].checks for fr in c.findings),
    )
    assert waiver["findings_waived"] > 0
    matrix = {(r["from"], r["to"]): r for r in _records(wb["Zone matrix"])}
    inside = matrix[("cde", "cardholder-data")]
    assert (inside["ports"], inside["intended"], inside["beyond_intended"]) == (
        "TCP 5432",
        "TCP 5432",
        "none",
    )
    assert inside["register"] == "not in register"
    to_shared = matrix[("cde", "shared-services")]
    assert "TCP 443" in to_shared["beyond_intended"]
    assert to_shared["register"] == "partly covered"
    assert matrix[("outside-cluster", "ingress-tier")]["intended"] == "TCP 80, 443"
    assert ("out-of-scope", "cde") in matrix


def test_flows_rows_match_the_results_flows() -> None:
    ev = _evaluation("pci-dss")
    wb = _open(_bytes("pci-dss"))
    rows = _records(wb["Flows"])
    expected = Counter()
    registers: dict[tuple[str, str], list[str]] = {}
    for flow in results_json(ev)["flows"]:
        if "workload" not in flow["src"] or "workload" not in flow["dst"]:
            continue
        if flow["connections"] == "all":
            ranges = [(p, 1, 65535) for p in ("TCP", "UDP", "SCTP")]
        else:
            ranges = [(c["protocol"], lo, hi) for c in flow["connections"] for lo, hi in c["ports"]]
        for proto, lo, hi in ranges:
            expected[(flow["src"]["workload"], flow["dst"]["workload"], proto, lo, hi)] += 1
            registers[(flow["src"]["workload"], flow["dst"]["workload"])] = flow["register"]
    got = Counter(
        (r["source"], r["destination"], r["protocol"], r["port_from"], r["port_to"])
        for r in rows
        if r["source_kind"] and r["destination_kind"]
    )
    assert got == expected
    for r in rows:  # a row names only entries that cover some part of its flow
        named = r["register"].split(" covers part")[0]
        if r["source_kind"] and r["destination_kind"] and named != "not in register":
            assert set(named.split(", ")) <= set(registers[(r["source"], r["destination"])])
    assert any(r["register"].startswith("AF-") for r in rows)
    external = [r for r in rows if r["source_kind"] is None]
    assert external and all(r["source_zones"] is None for r in external)
    assert all(isinstance(r["port_from"], int) and isinstance(r["port_to"], int) for r in rows)
    zones = {
        r["destination"]: r["destination_zones"]
        for r in rows
        if r["destination_kind"] and r["destination_zones"]
    }
    for ref, names in ev.placement.zones_of.items():
        if ref.id in zones:
            assert zones[ref.id] == ", ".join(sorted(names))


def test_each_flow_row_names_only_the_entries_covering_its_ports() -> None:
    """AF-003 approves DNS (UDP 53) from the CDE to cluster DNS; the app may also reach
    coredns on TCP 443, which no entry approves: that row must not cite AF-003."""
    rows = _records(_open(_bytes("pci-dss"))["Flows"])
    register = {
        (r["source"], r["destination"], r["protocol"], r["port_from"]): r["register"] for r in rows
    }
    assert register[("production/app", "kube-system/coredns", "UDP", 53)] == "AF-003"
    assert register[("production/app", "kube-system/coredns", "TCP", 443)] == "not in register"
    app = ("ingress-nginx/ingress-nginx-controller", "production/app", "TCP", 8080)
    assert register[app] == "AF-002"


def test_workloads_policies_and_inputs() -> None:
    ev = _evaluation("pci-dss")
    wb = _open(_bytes("pci-dss"))
    workloads = {w["workload"]: w for w in _records(wb["Workloads"])}
    for w in results_json(ev)["workloads"]:
        row = workloads[w["workload"]]
        assert row["kind"] == w["kind"]
        assert row["zones"] == ", ".join(w["zones"])
        assert row["frameworks"] == (", ".join(w["frameworks"]) or None)
        assert row["ingress_isolated"] is w["ingress_isolated"]
        assert row["egress_isolated"] is w["egress_isolated"]
        assert row["host_network"] is w["host_network"]
        assert row["ingress_policies"] == ("; ".join(w["ingress_policies"]) or None)
    policies = _records(wb["Policies"])
    assert [(p["namespace"], p["name"]) for p in policies] == sorted(
        (p.namespace, p.name) for p in ev.cluster.policies
    )
    assert all(len(p["sha256"]) == 64 for p in policies)
    inputs = _records(wb["Inputs"])
    assert Counter(i["role"] for i in inputs) == {
        "export": len(ev.inputs),
        "scope": 1,
        "controls": 1,
    }
    assert {"role": "controls", "path": "compliance:controls/pci-dss-4.0.1.yaml"}.items() <= next(
        i for i in inputs if i["role"] == "controls"
    ).items()


# --------------------------------------------------------------------------- statuses


def test_status_cells_are_coloured_by_status() -> None:
    wb = _open(_bytes("pci-dss"))
    seen = set()
    for sheet, column in (("Requirements", 5), ("Checks", 3), ("Findings", 4)):
        for row in wb[sheet].iter_rows(min_row=2):
            cell = row[column]
            if cell.value in FILL:
                assert cell.fill.fill_type == "solid", (sheet, cell.coordinate)
                assert cell.fill.fgColor.rgb == "00" + FILL[cell.value], (sheet, cell.coordinate)
                seen.add(cell.value)
    assert seen == {"fail", "pass", "warn", "waived"}
    fail = next(r[4] for r in wb["Findings"].iter_rows(min_row=2) if r[4].value == "fail")
    assert fail.fill.fgColor.rgb == "00FFC7CE"
    plain = wb["Findings"]["N2"]
    assert plain.fill.fill_type is None


# --------------------------------------------------------------------------- text safety


@pytest.mark.parametrize("name", ["pci-dss", "hipaa", "fedramp"])
def test_no_formulas_anywhere(name: str) -> None:
    assert not [c.coordinate for c in _cells(_open(_bytes(name))) if c.data_type == "f"]


def _custom_sheets(rows: list[tuple[Any, ...]]) -> tuple[Sheet, ...]:
    def produce(_ev: Evaluation, _digest: str | None) -> list[tuple[Any, ...]]:
        return rows

    return (Sheet("Plain", "a b c", produce), Sheet("Bulk", "a b c", produce, bulk=True))


def test_hostile_text_stays_text_in_both_writers(monkeypatch: pytest.MonkeyPatch) -> None:
    """openpyxl turns `=...` into formulas and `#N/A` into errors; both the openpyxl path
    and the bulk writer must store every such text as the string it is."""
    rows = [(text, Styled(text, "fail"), 1) for text in HOSTILE]
    monkeypatch.setattr(workbook, "SHEETS", _custom_sheets(rows))
    buf = io.BytesIO()
    write_workbook(_evaluation("pci-dss"), buf)
    wb = _open(buf.getvalue())
    for ws in wb.worksheets:
        for text, row in zip(HOSTILE, ws.iter_rows(min_row=2), strict=True):
            for cell in row[:2]:
                assert cell.data_type == "s", (ws.title, text)
                assert cell.value == text, (ws.title, text)
            assert row[1].fill.fgColor.rgb == "00FFC7CE"
            assert row[2].value == 1


def test_characters_xml_cannot_hold_are_escaped_visibly(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["bell\x07", "\x00nul", "esc\x1b[0m", "half \ud800 pair", "fine\ttab\nline"]
    rows = [(text, Styled(text, "warn"), None) for text in texts]
    monkeypatch.setattr(workbook, "SHEETS", _custom_sheets(rows))
    buf = io.BytesIO()
    write_workbook(_evaluation("pci-dss"), buf)
    expected = ["bell\\x07", "\\x00nul", "esc\\x1b[0m", "half \\ud800 pair", "fine\ttab\nline"]
    for ws in _open(buf.getvalue()).worksheets:
        assert [r[:2] for r in _body(ws)] == [(e, e) for e in expected], ws.title


def test_overlong_text_is_cut_visibly(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [("x" * 40000, 1, True)]
    monkeypatch.setattr(workbook, "SHEETS", _custom_sheets(rows))
    buf = io.BytesIO()
    write_workbook(_evaluation("pci-dss"), buf)
    for ws in _open(buf.getvalue()).worksheets:
        (row,) = _body(ws)
        assert len(row[0]) == 32767
        assert row[0].endswith(" [truncated]")
        assert row[1:] == (1, True)


HOSTILE_SCOPE = """
cluster: "=cmd|' /C calc'!A0 \\x07"
zones:
  - name: cde
    role: cde
    frameworks: [pci-dss-4.0.1]
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}
approved_flows:
  - id: '=HYPERLINK("http://x")'
    from: {workload: other/client}
    to: {zone: cde}
    ports: [{protocol: TCP, port: 8080}]
    justification: "-1"
    owner: "@me"
    ticket: "+1"
    expires: 2027-06-30
  - id: "\\tAF\\r2"
    from: {workload: other/client}
    to: {zone: cde}
    ports: [{protocol: TCP, port: 9090}]
    justification: x
    owner: y
    ticket: z
    expires: 2027-06-30
waivers:
  - id: "@SUM(A1)"
    check: SEG-02
    workload: pay/api
    reason: "=2+2"
    owner: "+team"
    approved_by: "-ciso"
    expires: 2027-01-31
"""


def test_hostile_scope_values_land_as_text() -> None:
    cluster = (
        namespace("pay")
        + namespace("other")
        + pod("api", "pay", {"app": "api"}, "8080/TCP")
        + pod("client", "other", {"app": "client"})
    )
    ev = evaluation_from_yaml(cluster, HOSTILE_SCOPE)
    buf = io.BytesIO()
    write_workbook(ev, buf)
    wb = _open(buf.getvalue())
    assert not [c.coordinate for c in _cells(wb) if c.data_type == "f"]

    summary = {row[0].value: row[1] for row in wb["Summary"].iter_rows(min_row=2) if row[0].value}
    assert summary["cluster"].data_type == "s"
    assert summary["cluster"].value == "=cmd|' /C calc'!A0 \\x07"

    findings = _records(wb["Findings"])
    (waived,) = [f for f in findings if f["status"] == "waived"]
    assert waived["waived_by"] == "@SUM(A1)"
    assert (waived["check"], waived["workload"]) == ("SEG-02", "pay/api")

    flows = wb["Flows"]
    col = HEADERS["Flows"].index("register")
    registers = {
        row[col].value: row[col].data_type
        for row in flows.iter_rows(min_row=2)
        if row[0].value == "other/client" and row[3].value == "pay/api"
    }
    # pay/api is not isolated: every port is allowed, and the entries cover two TCP ports
    assert registers == {
        '=HYPERLINK("http://x"), \tAF\r2 covers part; the rest is not in register': "s",
        "not in register": "s",
    }
    core = zipfile.ZipFile(io.BytesIO(buf.getvalue())).read("docProps/core.xml").decode()
    assert "\x07" not in core and "=cmd|' /C calc'!A0" in core


# --------------------------------------------------------------------------- determinism


def test_same_evaluation_same_bytes() -> None:
    ev = sample_evaluation("fedramp", as_of="2025-03-04T05:06:08+00:00")
    first, second = io.BytesIO(), io.BytesIO()
    write_workbook(ev, first, "sha256:00")
    write_workbook(ev, second, "sha256:00")
    assert first.getvalue() == second.getvalue()
    again = io.BytesIO()
    write_workbook(
        sample_evaluation("fedramp", as_of="2025-03-04T05:06:08+00:00"), again, "sha256:00"
    )
    assert again.getvalue() == first.getvalue()

    archive = zipfile.ZipFile(io.BytesIO(first.getvalue()))
    assert archive.testzip() is None
    assert {i.date_time for i in archive.infolist()} == {(2025, 3, 4, 5, 6, 8)}
    assert {i.external_attr for i in archive.infolist()} == {0o644 << 16}
    core = archive.read("docProps/core.xml").decode()
    assert core.count("2025-03-04T05:06:08Z") == 2  # created and modified
    assert dt.date.today().isoformat() not in core
    assert "<dc:creator>compliance " + __version__ in core
    assert "openpyxl" not in core
    wb = _open(first.getvalue())
    assert wb.properties.created == dt.datetime(2025, 3, 4, 5, 6, 8)
    assert wb.properties.lastModifiedBy == f"compliance {__version__}"


def test_the_digest_and_the_moment_change_the_bytes() -> None:
    assert _bytes("pci-dss") != _bytes("pci-dss", None)
    later = io.BytesIO()
    write_workbook(sample_evaluation("pci-dss", as_of="2026-11-27T00:00:00+00:00"), later)
    assert later.getvalue() != _bytes("pci-dss", None)


def test_zip_timestamps_before_1980_are_clamped() -> None:
    buf = io.BytesIO()
    write_workbook(sample_evaluation("hipaa", as_of="1975-06-01T12:00:00+00:00"), buf)
    archive = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert "1975-06-01T12:00:00Z" in archive.read("docProps/core.xml").decode()


def test_bulk_rows_are_the_xml_openpyxl_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast writer is an optimisation only: with every sheet written by openpyxl
    the workbook is byte for byte the same."""
    original = workbook.SHEETS
    assert {s.name for s in original if s.bulk} == {"Findings", "Flows", "Workloads", "Policies"}
    monkeypatch.setattr(
        workbook,
        "SHEETS",
        tuple(Sheet(s.name, s.columns, s.rows, validations=s.validations) for s in original),
    )
    slow = io.BytesIO()
    write_workbook(_evaluation("fedramp"), slow, "sha256:" + "ab" * 32)
    assert slow.getvalue() == _bytes("fedramp")


def test_external_ends_read_as_addresses() -> None:
    ev = _evaluation("pci-dss")
    rows = _records(_open(_bytes("pci-dss"))["Flows"])
    externals = {str(f.src) for f in ev.graph.flows if not isinstance(f.src, WorkloadRef)}
    shown = {r["source"] for r in rows if r["source_kind"] is None}
    assert shown and shown <= externals


def test_requirements_sheet_has_assessor_columns_with_a_pick_list() -> None:
    """The assessor's own verdict sits next to the tool's, empty, limited to the four
    results an assessor records; intent and applicability are there to read beside it."""
    ev = _evaluation("pci-dss")
    wb = _open(_bytes("pci-dss"))
    ws = wb["Requirements"]
    rows = _records(ws)
    assert rows and all(r["assessor_result"] is None for r in rows)
    assert all(r["assessor_notes"] is None for r in rows)
    by_id = {r["requirement"]: r for r in rows}
    (fw,) = ev.frameworks
    for r in fw.requirements:
        assert by_id[r.requirement.id]["intent"] == r.requirement.intent
    assert by_id["11.4.6"]["applicability"] == "service providers only"
    assert by_id["11.4.6"]["status"] == "not_applicable"
    assert by_id["11.4.5"]["status"] == "supported"
    assert by_id["11.4.5"]["status_reason"].startswith("automated checks found nothing")
    assert by_id["1.3.1"]["designation"] == "in force"
    headers = [c.value for c in ws[1]]
    letter = chr(ord("A") + headers.index("assessor_result"))
    (rule,) = ws.data_validations.dataValidation
    assert rule.type == "list"
    assert rule.formula1 == '"In Place,Not in Place,Not Applicable,Not Tested"'
    assert str(rule.sqref) == f"{letter}2:{letter}{len(rows) + 1}"


def test_workloads_sheet_lists_every_workload_with_in_scope() -> None:
    """Out-of-scope workloads are rows too, with the reason: the bare debug pod in the CDE
    namespace is the one an assessor must find."""
    wb = _open(_bytes("pci-dss"))
    rows = {r["workload"]: r for r in _records(wb["Workloads"])}
    assert rows["production/app"]["in_scope"] is True
    assert rows["production/app"]["scope_reason"] is None
    debug = rows["production/debug-shell"]
    assert debug["in_scope"] is False
    assert debug["scope_reason"] == (
        "matched no zone; shares namespace production with in-scope workloads"
    )
    assert rows["monitoring/prometheus"]["scope_reason"] == "matched no zone"
