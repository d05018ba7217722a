"""`--show-rules` and `--explain` name the tier and rule that decides, with admin policies:
`anp/<name> <direction>[<rule name or index>]`, `banp/default ...`, and
`pass -> <NetworkPolicy rule>` where an admin Pass handed the decision to NetworkPolicy;
a denial names the rule that denies."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import cli_run, namespace, pod, policy
from tests.test_semantics import anp, banp

CLUSTER = (
    namespace("cde", {"zone": "cde"})
    + namespace("dev", {"zone": "dev"})
    + namespace("app", {"zone": "app"})
    + pod("pay", "cde", {"app": "pay"}, "pg:5432/TCP")
    + pod("tool", "dev", {"app": "tool"})
    + pod("web", "app", {"app": "web"}, "http:80/TCP")
    + anp(
        "cde-guardrail",
        """
        priority: 10
        subject: {namespaces: {matchLabels: {zone: cde}}}
        ingress:
        - {name: deny-dev, action: Deny, from: [{namespaces: {matchLabels: {zone: dev}}}]}
        - {action: Pass, from: [{namespaces: {matchLabels: {zone: app}}}]}
        """,
    )
    + banp(
        """
        subject: {namespaces: {matchLabels: {zone: dev}}}
        egress:
        - {action: Allow, to: [{namespaces: {matchLabels: {zone: app}}}],
           ports: [{portNumber: {port: 80}}]}
        - {action: Deny, to: [{namespaces: {}}]}
        """
    )
    + policy(
        "app-access",
        "cde",
        "podSelector: {}\npolicyTypes: [Ingress]\n"
        "ingress: [{from: [{namespaceSelector: {matchLabels: {zone: app}}}]}]",
    )
)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER)
    return path


def test_show_rules_names_the_deciding_tier_and_rule(export: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    res = cli_run(["flows", str(export), "--show-rules"], capsys)
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    web_pay = next(line for line in lines if line.startswith("app/web[Pod] => cde/pay[Pod]"))
    assert "ingress: pass -> cde/app-access ingress[0]" in web_pay
    tool_web = next(line for line in lines if line.startswith("dev/tool[Pod] => app/web[Pod]"))
    assert ": TCP 80 " in tool_web and "egress: banp/default egress[0]" in tool_web
    # The ANP's Deny: dev never reaches the CDE, although app-access would not stop it
    # (it admits app only; here the Deny decides before NetworkPolicy is consulted).
    assert not any(line.startswith("dev/tool[Pod] => cde/pay[Pod]") for line in lines)
    doc = cli_run(["flows", str(export), "--show-rules", "--format", "json"], capsys).json()
    flow = next(
        f
        for f in doc["flows"]
        if f["src"].get("workload") == "app/web" and f["dst"].get("workload") == "cde/pay"
    )
    assert flow["allowed_by"]["ingress"]["rules"] == [
        {"policy": "cde/app-access", "direction": "ingress", "rule": 0, "via_pass": True}
    ]


def test_explain_names_the_rule_that_denies(export: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    res = cli_run(["flows", str(export), "--explain", "dev/tool", "cde/pay"], capsys)
    assert res.code == 0, res.err
    assert "ingress: denied by anp/cde-guardrail ingress[deny-dev]" in res.out
    assert "egress: denied by banp/default egress[1]" in res.out
    assert "verdict: denied on every port" in res.out
    res = cli_run(["flows", str(export), "--explain", "dev/tool", "app/web"], capsys)
    assert "TCP 80" in res.out and "egress: banp/default egress[0]" in res.out
    assert "verdict: allowed on TCP 80" in res.out
