"""Admin `domainNames` peers: egress to names, listed apart from the address flows.

The names are never resolved, so a rule decides a name's traffic only when it lists the
name or covers every address of both families; anything narrower leaves the name listed
(never a false "denied")."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema

from compliance.render.flows import render
from tests.helpers import flows_from_yaml, namespace, pod, policy, run_check
from tests.test_checks import SCOPE, SECURE
from tests.test_semantics import anp, cnp

SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "compliance/schemas/flows.schema.json").read_text()
)
PAYMENTS = (
    namespace("payments")
    + pod("api", "payments", {"app": "api"})
    + pod("batch", "other", {"app": "batch"})
)
SUBJECT = "{namespaces: {matchLabels: {kubernetes.io/metadata.name: payments}}}"
STRIPE = anp(
    "x",
    f"""
    priority: 20
    subject: {SUBJECT}
    egress:
    - name: allow-stripe
      action: Allow
      to: [{{domainNames: [api.stripe.com, '*.stripe.com']}}]
      ports: [{{portNumber: {{protocol: TCP, port: 443}}}}, {{portNumber: {{protocol: TCP, port: 80}}}}]
    """,
)


def earlier(action: str, networks: str, port: int = 80) -> str:
    return anp(
        "first",
        f"""
        priority: 10
        subject: {SUBJECT}
        egress:
        - name: catch
          action: {action}
          to: [{{networks: {networks}}}]
          ports: [{{portNumber: {{protocol: TCP, port: {port}}}}}]
        """,
    )


def named(text: str) -> list[tuple[str, tuple[str, ...], str, str]]:
    return [
        (str(f.src), f.dst.names, f.connections.describe(), f.egress.describe())
        for f in flows_from_yaml(text).named_flows
    ]


def test_the_allowed_names_are_listed_with_the_rules_ports_and_the_rule() -> None:
    assert named(PAYMENTS + STRIPE) == [
        (
            "payments/api[Pod]",
            ("*.stripe.com", "api.stripe.com"),
            "TCP 80, 443",
            "anp/x egress[allow-stripe]",
        )
    ]


def test_an_earlier_rule_for_every_address_of_both_families_takes_its_ports() -> None:
    everywhere = "['0.0.0.0/0', '::/0']"
    for action in ("Deny", "Allow", "Pass"):
        got = named(PAYMENTS + STRIPE + earlier(action, everywhere))
        assert [(n[2], n[3]) for n in got] == [("TCP 443", "anp/x egress[allow-stripe]")], action
    assert named(PAYMENTS + STRIPE + earlier("Deny", everywhere, 443))[0][2] == "TCP 80"
    gone = earlier("Deny", everywhere, 80).replace(
        "ports: [{portNumber: {protocol: TCP, port: 80}}]", ""
    )
    assert named(PAYMENTS + STRIPE + gone) == []


def test_an_earlier_rule_for_some_addresses_leaves_the_name_listed() -> None:
    # A name may resolve to IPv6 or outside 10.0.0.0/8: either reading allows, so listed.
    for networks in ("['0.0.0.0/0']", "['10.0.0.0/8', '::/0']"):
        got = named(PAYMENTS + STRIPE + earlier("Deny", networks))
        assert [n[2] for n in got] == ["TCP 80, 443"], networks


def test_an_admin_allow_to_names_is_final_over_networkpolicy() -> None:
    closed = policy("closed", "payments", "podSelector: {}\npolicyTypes: [Egress]")
    assert [n[2] for n in named(PAYMENTS + STRIPE + closed)] == ["TCP 80, 443"]


def test_the_first_rule_naming_a_name_decides_its_ports() -> None:
    second = anp(
        "y",
        f"""
        priority: 30
        subject: {SUBJECT}
        egress:
        - name: all-stripe
          action: Allow
          to: [{{domainNames: [api.stripe.com]}}]
        """,
    )
    got = named(PAYMENTS + STRIPE + second)
    assert ("payments/api[Pod]", ("api.stripe.com",), "TCP 1-79, 81-442, 444-65535; UDP all; "
            "SCTP all", "anp/y egress[all-stripe]") in got  # fmt: skip
    assert len(got) == 2


BASELINE = cnp(
    "base",
    f"""
    tier: Baseline
    priority: 5
    subject: {SUBJECT}
    egress:
    - name: names
      action: Accept
      to: [{{domainNames: [example.org]}}]
      protocols: [{{tcp: {{destinationPort: {{number: 443}}}}}}]
    """,
)


def test_a_baseline_rule_decides_names_only_where_no_networkpolicy_isolates_egress() -> None:
    assert named(PAYMENTS + BASELINE) == [
        ("payments/api[Pod]", ("example.org",), "TCP 443", "cnp/base egress[names]")
    ]
    closed = policy("closed", "payments", "podSelector: {}\npolicyTypes: [Egress]")
    assert named(PAYMENTS + BASELINE + closed) == []
    # An admin Pass for every address hands the name to NetworkPolicy, then to the baseline.
    passed = earlier("Pass", "['0.0.0.0/0', '::/0']", 443)
    assert [n[3] for n in named(PAYMENTS + BASELINE + passed)] == ["cnp/base egress[names]"]
    denied = earlier("Deny", "['0.0.0.0/0', '::/0']", 443)
    assert named(PAYMENTS + BASELINE + denied) == []


def test_every_format_lists_the_named_destination() -> None:
    graph = flows_from_yaml(PAYMENTS + STRIPE)
    line = (
        "payments/api[Pod] => name:*.stripe.com, api.stripe.com : TCP 80, 443  "
        "[egress: anp/x egress[allow-stripe]; ingress: outside the cluster]"
    )
    assert render(graph, "txt", True).splitlines()[-1] == line
    doc = json.loads(render(graph, "json"))
    jsonschema.validate(doc, SCHEMA)
    assert doc["named_flows"] == [
        {
            "src": {"workload": "payments/api", "kind": "Pod"},
            "dst": {"names": ["*.stripe.com", "api.stripe.com"]},
            "connections": [{"protocol": "TCP", "ports": [[80, 80], [443, 443]]}],
        }
    ]
    assert all("names" not in f["dst"] for f in doc["flows"])
    rows = list(csv.reader(io.StringIO(render(graph, "csv"))))
    assert rows[-1][:3] == ["payments/api[Pod]", "name:*.stripe.com, api.stripe.com", "TCP 80, 443"]
    assert (
        render(graph, "md")
        .splitlines()[-1]
        .startswith("| payments/api[Pod] | name:*.stripe.com, api.stripe.com | TCP 80, 443 |")
    )


def test_named_flows_alone_still_give_the_contract() -> None:
    from compliance.flows import FlowGraph

    graph = flows_from_yaml(PAYMENTS + STRIPE)
    alone = FlowGraph(flows=(), named_flows=graph.named_flows)
    doc = json.loads(render(alone, "json"))
    jsonschema.validate(doc, SCHEMA)
    assert doc["flows"] == [] and len(doc["named_flows"]) == 1


def test_a_cluster_without_domain_names_has_no_named_flows_and_the_same_json() -> None:
    without = STRIPE.replace(
        "domainNames: [api.stripe.com, '*.stripe.com']", "networks: [10.9.0.0/16]"
    )
    graph = flows_from_yaml(PAYMENTS + without)
    assert graph.named_flows == ()
    text = render(graph, "json")
    assert '"named_flows"' not in text and list(json.loads(text)) == ["flows"]


def test_the_warning_says_the_names_are_listed_but_not_resolved() -> None:
    (warning,) = [w for w in flows_from_yaml(PAYMENTS + STRIPE).warnings if "domainNames" in w]
    assert "api.stripe.com, *.stripe.com are not resolved" in warning
    assert "listed as named destinations" in warning
    assert "addresses the analysis does not know" in warning


def test_seg08_reports_named_destinations_reachable_from_scope_for_review() -> None:
    pay = "{namespaces: {matchLabels: {kubernetes.io/metadata.name: pay}}}"
    names = anp(
        "pay-out",
        f"""
        priority: 20
        subject: {pay}
        egress:
        - name: processor
          action: Allow
          to: [{{domainNames: [api.processor.example]}}]
          ports: [{{portNumber: {{protocol: TCP, port: 443}}}}]
        """,
    )
    before = run_check(SECURE, SCOPE, "SEG-08")
    result = run_check(SECURE + names, SCOPE, "SEG-08")
    new = [f for f in result.findings if "name:api.processor.example" in f.finding.message]
    assert new and all(f.finding.severity == "warn" for f in new)
    assert {f.finding.workload.namespace for f in new if f.finding.workload} == {"pay"}
    assert all("anp/pay-out egress[processor]" in " ".join(f.finding.policies) for f in new)
    assert "TCP 443" in new[0].finding.message and "does not resolve" in new[0].finding.message
    assert before.status == "pass" and result.status == "warn"


def test_the_flows_command_prints_the_named_destination(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from compliance.cli import cli

    path = tmp_path / "cluster.yaml"
    path.write_text(PAYMENTS + STRIPE)
    result = CliRunner().invoke(cli, ["flows", str(path), "--show-rules"])
    assert result.exit_code == 0, result.output
    assert (
        "payments/api[Pod] => name:*.stripe.com, api.stripe.com : TCP 80, 443  "
        "[egress: anp/x egress[allow-stripe]; ingress: outside the cluster]"
    ) in result.stdout.splitlines()
