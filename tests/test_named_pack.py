"""Egress to admin `domainNames` in the evidence pack: results.json, evidence.xlsx and the
PDF list it wherever they list flows, with the names as the rule spells them and marked
as never resolved."""

from __future__ import annotations

import io
import json
from typing import Any

import pypdf
from openpyxl import load_workbook

from compliance.datafile import schema_problem
from compliance.render.pdf import html_to_pdf, render_html
from compliance.render.report import report_view
from compliance.render.results import render_json
from compliance.render.workbook import NAMED_KIND, write_workbook
from tests.helpers import evaluation_from_yaml, namespace, pod, policy
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
SCOPE = """
cluster: test
zones:
  - name: cde
    role: cde
    frameworks: [pci-dss-4.0.1]
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}
"""
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


def pdf_text(cluster: str, scope: str = SCOPE) -> str:
    view = report_view(evaluation_from_yaml(cluster, scope), digest="0" * 64)
    data = html_to_pdf(render_html(view)).data
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def test_the_pdf_lists_the_names_under_the_workloads_egress() -> None:
    text = pdf_text(CLUSTER + PROCESSOR)
    assert (
        "Egress TCP 80, 443 to *.cdn.example, api.processor.example (domain names, never "
        f"resolved) allowed by {RULE} · peer side: outside the cluster · not in register"
    ) in text
    assert "domainNames peer is never resolved" in text  # the methodology says so
    without = pdf_text(CLUSTER)
    assert "never resolved" not in without
