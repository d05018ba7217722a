"""Checks on clusters whose guardrails are cluster-wide admin policies: SEG-02/03 count
an admin or baseline Deny catch-all as a default deny (saying what it leaves open),
SEG-04 flags an admin-tier Allow catch-all, SEG-20 flags shadowed admin rules.

Clusters are inline, on `tests/test_checks.py`'s payments service (`pay` in scope)."""

from __future__ import annotations

import random

from compliance.admindefault import catch_all, posture
from tests.helpers import cluster_from_yaml, policy, run_check
from tests.test_checks import BASE, DNS_POLICY, SCOPE, SECURE, messages, workloads
from tests.test_semantics import anp, banp, cnp

PAY = "{namespaces: {matchLabels: {kubernetes.io/metadata.name: pay}}}"
EVERYWHERE = "{networks: [0.0.0.0/0, '::/0']}"


def admin_deny_all(direction: str, peer: str, name: str = "pay-closed") -> str:
    word = "from" if direction == "ingress" else "to"
    return anp(
        name,
        f"""
        priority: 5
        subject: {PAY}
        {direction}:
        - {{name: deny-all, action: Deny, {word}: [{peer}]}}
        """,
    )


# --------------------------------------------------------------------------- SEG-03


def test_seg03_anp_deny_catch_all_isolates_egress_and_says_which_rule() -> None:
    cluster = BASE + admin_deny_all("egress", EVERYWHERE) + DNS_POLICY
    result = run_check(cluster, SCOPE, "SEG-03")
    # pay/* are isolated by the ANP, coredns by its NetworkPolicy; edge/gw by nothing.
    assert workloads(result) == {"edge/gw"}
    assert "isolated by a cluster-wide default deny: 2 by anp/pay-closed egress[deny-all]" in (
        result.summary
    )


def test_seg03_namespaces_catch_all_is_no_egress_default_deny() -> None:
    """`namespaces: {}` leaves every outside address to the next tier (allowed here)."""
    cluster = BASE + admin_deny_all("egress", "{namespaces: {}}")
    result = run_check(cluster, SCOPE, "SEG-03")
    assert {"pay/api", "pay/db"} <= workloads(result)
    assert "cluster-wide default deny" not in result.summary


def test_seg03_rule_with_ports_is_no_catch_all() -> None:
    ported = anp(
        "ports",
        f"""
        priority: 5
        subject: {PAY}
        egress:
        - {{name: deny, action: Deny, to: [{EVERYWHERE}], ports: [{{portRange: {{start: 1, end: 65535}}}}]}}
        """,
    )
    assert {"pay/api", "pay/db"} <= workloads(run_check(BASE + ported, SCOPE, "SEG-03"))


def test_seg03_banp_deny_isolates_only_where_no_networkpolicy_selects() -> None:
    closed = banp(
        f"""
        subject: {{namespaces: {{}}}}
        egress:
        - {{name: dns, action: Allow, to: [{{namespaces: {{}}}}], ports: [{{portNumber: {{protocol: UDP, port: 53}}}}]}}
        - {{name: deny-all, action: Deny, to: [{EVERYWHERE}]}}
        """
    )
    result = run_check(BASE + closed, SCOPE, "SEG-03")
    assert result.status == "pass"
    assert "4 by banp/default egress[deny-all]" in result.summary


def test_seg03_earlier_admin_pass_catch_all_hands_over_to_baseline() -> None:
    passing = anp(
        "delegate",
        f"""
        priority: 1
        subject: {PAY}
        egress:
        - {{name: to-np, action: Pass, to: [{EVERYWHERE}]}}
        - {{name: never, action: Deny, to: [{EVERYWHERE}]}}
        """,
    )
    # Without a baseline, Pass leaves it to NetworkPolicy (none here): not isolated.
    assert {"pay/api", "pay/db"} <= workloads(run_check(BASE + passing, SCOPE, "SEG-03"))


def test_seg03_admin_allow_catch_all_undoes_networkpolicy_isolation() -> None:
    opened = anp(
        "open",
        f"""
        priority: 5
        subject: {PAY}
        egress:
        - {{name: allow-all, action: Allow, to: [{EVERYWHERE}]}}
        """,
    )
    result = run_check(SECURE + opened, SCOPE, "SEG-03")
    assert result.status == "fail"
    assert workloads(result) == {"pay/api", "pay/db"}
    text = messages(result)
    assert "anp/open egress[allow-all] (admin tier) allows egress" in text
    assert "pay/default-deny" in text  # the NetworkPolicy it overrides


def two_step(pods_action: str, rest_action: str) -> str:
    """Egress decided in two rules: every pod first, then every address."""
    return anp(
        "two-step",
        f"""
        priority: 5
        subject: {PAY}
        egress:
        - {{name: pods, action: {pods_action}, to: [{{namespaces: {{}}}}]}}
        - {{name: rest, action: {rest_action}, to: [{EVERYWHERE}]}}
        """,
    )


def test_seg03_an_every_pod_allow_before_the_address_deny_is_no_default_deny() -> None:
    result = run_check(BASE + two_step("Allow", "Deny"), SCOPE, "SEG-03")
    assert {"pay/api", "pay/db"} <= workloads(result)
    assert "anp/two-step egress[pods] (admin tier) allows egress to every pod of the cluster" in (
        messages(result)
    )
    assert "cluster-wide default deny" not in result.summary
    both = run_check(BASE + two_step("Deny", "Deny"), SCOPE, "SEG-03")
    assert "2 by anp/two-step egress[pods], anp/two-step egress[rest]" in both.summary
    seg04 = run_check(BASE + two_step("Deny", "Allow"), SCOPE, "SEG-04")
    assert "egress[rest] (admin tier) allows egress to every address outside the cluster" in (
        messages(seg04)
    )


# --------------------------------------------------------------------------- SEG-02


def test_seg02_admin_ingress_deny_covers_pods_only_and_says_so() -> None:
    cluster = BASE + DNS_POLICY + admin_deny_all("ingress", "{namespaces: {}}")
    result = run_check(cluster, SCOPE, "SEG-02")
    by_ref = {f.finding.workload.id: f.finding for f in result.findings if f.finding.workload}
    assert set(by_ref) == {"pay/api", "pay/db", "edge/gw"}
    # The ANP denies every pod, but admin ingress rules cannot match outside sources:
    # a warning that says so, never a plain "isolated".
    for ref in ("pay/api", "pay/db"):
        finding = by_ref[ref]
        assert finding.severity == "warn"
        assert "denied by default by anp/pay-closed ingress[deny-all] (admin tier)" in (
            finding.message
        )
        assert "cannot match sources outside the cluster" in finding.message
    assert by_ref["edge/gw"].severity == "fail"
    # With a NetworkPolicy default deny too, nothing is left open.
    closed = run_check(SECURE + admin_deny_all("ingress", "{namespaces: {}}"), SCOPE, "SEG-02")
    assert closed.status == "pass"


def test_seg02_pass_rules_before_the_deny_leave_what_they_pass_to_the_next_tiers() -> None:
    delegating = anp(
        "delegate",
        f"""
        priority: 5
        subject: {PAY}
        ingress:
        - {{name: edge-to-np, action: Pass, from: [{{namespaces: {{matchLabels: {{tier: public}}}}}}]}}
        - {{name: deny-all, action: Deny, from: [{{namespaces: {{}}}}]}}
        """,
    )
    result = run_check(BASE + DNS_POLICY + delegating, SCOPE, "SEG-02")
    by_ref = {f.finding.workload.id: f.finding for f in result.findings if f.finding.workload}
    finding = by_ref["pay/api"]
    assert finding.severity == "fail"
    assert "anp/delegate ingress[deny-all] denies by default, but anp/delegate " in (
        finding.message
    )
    assert "ingress[edge-to-np] passes some ingress on" in finding.message
    # With a baseline default deny, what the Pass hands on is denied too: only the
    # outside sources stay (a warning).
    closed = banp(
        """
        subject: {namespaces: {}}
        ingress:
        - {name: deny-all, action: Deny, from: [{namespaces: {}}]}
        """
    )
    result = run_check(BASE + DNS_POLICY + delegating + closed, SCOPE, "SEG-02")
    by_ref = {f.finding.workload.id: f.finding for f in result.findings if f.finding.workload}
    assert by_ref["pay/api"].severity == "warn"
    assert "anp/delegate ingress[deny-all], banp/default ingress[deny-all]" in (
        by_ref["pay/api"].message
    )
    # With a NetworkPolicy default deny, NetworkPolicy decides what the Pass hands on.
    assert run_check(SECURE + delegating, SCOPE, "SEG-02").status == "pass"


def test_seg02_pods_selector_with_empty_selectors_is_a_catch_all() -> None:
    text = admin_deny_all("ingress", "{pods: {namespaceSelector: {}, podSelector: {}}}")
    cluster = cluster_from_yaml(BASE + text)
    (pol,) = cluster.admin_policies
    assert catch_all(pol.ingress[0], "ingress")
    narrow = admin_deny_all(
        "ingress", "{pods: {namespaceSelector: {}, podSelector: {matchLabels: {a: b}}}}"
    )
    (pol,) = cluster_from_yaml(BASE + narrow).admin_policies
    assert not catch_all(pol.ingress[0], "ingress")


def test_posture_ignores_policies_whose_subject_misses_the_workload() -> None:
    cluster = cluster_from_yaml(BASE + admin_deny_all("egress", EVERYWHERE))
    by_ref = {w.ref.id: w for w in cluster.workloads}
    assert posture(cluster, by_ref["pay/api"], "egress", False).denied
    assert not posture(cluster, by_ref["edge/gw"], "egress", False).rules


def test_cnp_baseline_tier_catch_all_before_banp() -> None:
    baseline = cnp(
        "base-open",
        f"""
        tier: Baseline
        priority: 3
        subject: {PAY}
        egress:
        - {{name: all, action: Accept, to: [{EVERYWHERE}]}}
        """,
    ) + banp(
        f"""
        subject: {{namespaces: {{}}}}
        egress:
        - {{name: deny-all, action: Deny, to: [{EVERYWHERE}]}}
        """
    )
    cluster = cluster_from_yaml(BASE + baseline)
    api = next(w for w in cluster.workloads if w.ref.id == "pay/api")
    found = posture(cluster, api, "egress", False)
    assert not found.denied
    assert [r.rule for r in found.rules] == ["cnp/base-open egress[all]"]
    # A baseline Accept is the default allow, not an admin override: SEG-03 says not isolated.
    result = run_check(BASE + baseline, SCOPE, "SEG-03")
    assert {"pay/api", "pay/db"} <= workloads(result)
    assert "admin tier" not in messages(result)


# --------------------------------------------------------------------------- SEG-04


def test_seg04_flags_an_admin_allow_catch_all() -> None:
    opened = cnp(
        "open",
        f"""
        tier: Admin
        priority: 5
        subject: {PAY}
        ingress:
        - {{name: everyone, action: Accept, from: [{{namespaces: {{}}}}]}}
        """,
    )
    result = run_check(SECURE + opened, SCOPE, "SEG-04")
    assert result.status == "fail"
    assert workloads(result) == {"pay/api", "pay/db"}
    text = messages(result)
    assert "cnp/open ingress[everyone] (admin tier) allows ingress from every pod" in text
    assert all(f.finding.policies == ("cnp/open ingress[everyone]",) for f in result.findings)


def test_seg04_an_admin_allow_of_every_pod_alone_is_flagged_for_egress() -> None:
    pods_only = anp(
        "pods-open",
        f"""
        priority: 5
        subject: {PAY}
        egress:
        - {{name: any-pod, action: Allow, to: [{{namespaces: {{}}}}]}}
        """,
    )
    result = run_check(SECURE + pods_only, SCOPE, "SEG-04")
    assert workloads(result) == {"pay/api", "pay/db"}
    assert "anp/pods-open egress[any-pod] (admin tier) allows egress to every pod of the " in (
        messages(result)
    )


def test_seg04_admin_allow_after_a_deny_catch_all_is_not_reached() -> None:
    guarded = anp(
        "guard",
        f"""
        priority: 5
        subject: {PAY}
        ingress:
        - {{name: deny-all, action: Deny, from: [{{namespaces: {{}}}}]}}
        - {{name: allow-all, action: Allow, from: [{{namespaces: {{}}}}]}}
        """,
    )
    assert run_check(SECURE + guarded, SCOPE, "SEG-04").status == "pass"


def test_seg04_admin_default_deny_is_not_an_open_workload() -> None:
    closed = admin_deny_all("egress", EVERYWHERE)
    no_egress = policy("in-only", "pay", "podSelector: {}\npolicyTypes: [Ingress]")
    result = run_check(BASE + no_egress + closed, SCOPE, "SEG-04")
    assert not any(
        f.finding.workload is not None
        and f.finding.workload.namespace == "pay"
        and f.finding.direction == "egress"
        for f in result.findings
    )


# --------------------------------------------------------------------------- SEG-20


def dead_rules(text: str) -> list[tuple[str, str]]:
    from compliance.adminshadow import shadowed

    return [(d.rule_id, d.by_id) for d in shadowed(cluster_from_yaml(BASE + text).admin_policies)]


GUARD = anp(
    "guard",
    f"""
    priority: 5
    subject: {PAY}
    ingress:
    - {{name: deny-all, action: Deny, from: [{{namespaces: {{}}}}]}}
    """,
)


def test_seg20_flags_a_rule_an_earlier_policy_always_decides() -> None:
    late = anp(
        "late",
        """
        priority: 10
        subject: {pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}, podSelector: {matchLabels: {app: db}}}}
        ingress:
        - {name: from-edge, action: Allow, from: [{namespaces: {matchLabels: {tier: public}}}], ports: [{portNumber: {protocol: TCP, port: 5432}}]}
        """,
    )
    result = run_check(SECURE + GUARD + late, SCOPE, "SEG-20")
    (finding,) = [f.finding for f in result.findings if "never reached" in f.finding.message]
    assert finding.policies == ("anp/late ingress[from-edge]", "anp/guard ingress[deny-all]")
    assert finding.severity == "fail"  # its subject is in scope
    assert "anp/guard ingress[deny-all] comes first" in finding.message
    assert "denies them for good" in finding.message


def test_seg20_same_priority_wider_ports_or_wider_subject_are_not_shadowed() -> None:
    same_priority = GUARD.replace("name: guard", "name: twin").replace("deny-all", "also")
    assert dead_rules(GUARD + same_priority) == []
    wider_subject = anp(
        "wide",
        """
        priority: 10
        subject: {namespaces: {}}
        ingress:
        - {name: deny-all, action: Deny, from: [{namespaces: {}}]}
        """,
    )
    assert dead_rules(GUARD + wider_subject) == []
    ported = anp(
        "ported",
        f"""
        priority: 1
        subject: {PAY}
        ingress:
        - {{name: web, action: Allow, from: [{{namespaces: {{}}}}], ports: [{{portRange: {{protocol: TCP, start: 80, end: 90}}}}]}}
        - {{name: wider, action: Deny, from: [{{namespaces: {{}}}}], ports: [{{portRange: {{protocol: TCP, start: 80, end: 100}}}}]}}
        - {{name: inside, action: Deny, from: [{{namespaces: {{matchLabels: {{a: b}}}}}}], ports: [{{portNumber: {{protocol: TCP, port: 85}}}}]}}
        - {{name: named, action: Deny, from: [{{namespaces: {{}}}}], ports: [{{namedPort: pg}}]}}
        """,
    )
    assert dead_rules(ported) == [("anp/ported ingress[inside]", "anp/ported ingress[web]")]


def test_seg20_pass_shadows_within_its_tier_only() -> None:
    passing = anp(
        "delegate",
        f"""
        priority: 1
        subject: {PAY}
        egress:
        - {{name: to-np, action: Pass, to: [{{networks: [10.0.0.0/8]}}]}}
        """,
    )
    later_admin = anp(
        "later",
        f"""
        priority: 2
        subject: {PAY}
        egress:
        - {{name: subnet, action: Deny, to: [{{networks: [10.1.0.0/16]}}]}}
        - {{name: other, action: Deny, to: [{{networks: [11.0.0.0/8]}}]}}
        """,
    )
    baseline = banp(
        """
        subject: {namespaces: {}}
        egress:
        - {name: subnet, action: Deny, to: [{networks: [10.1.0.0/16]}]}
        """
    )
    assert dead_rules(passing + later_admin + baseline) == [
        ("anp/later egress[subnet]", "anp/delegate egress[to-np]")
    ]
    # An admin Deny decides before the baseline; a baseline subject wider than the admin
    # one is not covered.
    deny = passing.replace("action: Pass", "action: Deny")
    narrow_baseline = baseline.replace("subject: {namespaces: {}}", f"subject: {PAY}")
    assert dead_rules(deny + narrow_baseline) == [
        ("banp/default egress[subnet]", "anp/delegate egress[to-np]")
    ]
    assert dead_rules(deny + baseline) == []


def test_seg20_baseline_cnp_comes_before_the_banp() -> None:
    first = cnp(
        "base",
        f"""
        tier: Baseline
        priority: 7
        subject: {PAY}
        ingress:
        - {{name: all, action: Accept, from: [{{namespaces: {{}}}}]}}
        """,
    )
    closed = banp(
        f"""
        subject: {PAY}
        ingress:
        - {{name: deny-dev, action: Deny, from: [{{namespaces: {{matchLabels: {{zone: dev}}}}}}]}}
        """
    )
    assert dead_rules(first + closed) == [
        ("banp/default ingress[deny-dev]", "cnp/base ingress[all]")
    ]
    result = run_check(SECURE + first + closed, SCOPE, "SEG-20")
    assert "skips" not in messages(result)
    assert "banp/default ingress[deny-dev] is never reached: cnp/base ingress[all]" in (
        messages(result)
    )


# --------------------------------------------------------------------------- against the engine

PEERS = {
    "ingress": [
        "{namespaces: {}}",
        "{namespaces: {matchLabels: {tier: public}}}",
        "{pods: {namespaceSelector: {}, podSelector: {}}}",
        "{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: api}}}}",
    ],
    "egress": [
        "{namespaces: {}}",
        "{namespaces: {matchLabels: {team: payments}}}",
        EVERYWHERE,
        "{networks: [10.0.0.0/8]}",
        "{networks: [0.0.0.0/0]}",
    ],
}
PORTS = ["", ", ports: [{portNumber: {protocol: TCP, port: 8443}}]"]
SUBJECTS = [
    "{namespaces: {}}",
    PAY,
    "{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: api}}}}",
]


def random_admin(rng: random.Random) -> str:
    out = []
    banp_done = False
    for n in range(rng.randint(1, 4)):
        kind = rng.choice(["anp", "banp", "cnp-admin", "cnp-baseline"])
        if kind == "banp" and banp_done:
            kind = "anp"
        actions = ["Allow", "Deny"] + ([] if kind == "banp" else ["Pass"])
        lines = []
        for direction in ("ingress", "egress"):
            rules = []
            for i in range(rng.randint(0, 3)):
                action = rng.choice(actions)
                if kind.startswith("cnp") and action == "Allow":
                    action = "Accept"
                peer = rng.choice(PEERS[direction])
                word = "from" if direction == "ingress" else "to"
                port = rng.choice(PORTS)
                if kind.startswith("cnp") and port:
                    port = ", protocols: [{tcp: {destinationPort: {number: 8443}}}]"
                rules.append(f"  - {{name: r{i}, action: {action}, {word}: [{peer}]{port}}}")
            if rules:
                lines.append(f"{direction}:\n" + "\n".join(rules))
        body = f"subject: {rng.choice(SUBJECTS)}\n" + "\n".join(lines)
        if kind == "banp":
            banp_done = True
            out.append(banp(body))
        elif kind == "anp":
            out.append(anp(f"p{n}", f"priority: {rng.randint(1, 4)}\n{body}"))
        else:
            tier = "Admin" if kind == "cnp-admin" else "Baseline"
            out.append(cnp(f"c{n}", f"tier: {tier}\npriority: {rng.randint(1, 4)}\n{body}"))
    return "".join(out)


def test_defaults_and_shadowing_agree_with_the_flows() -> None:
    """On random admin policy sets: a workload called default-denied has no flow its side
    leaves to "not isolated" (ingress: from cluster pods), and no flow names a rule
    called shadowed."""
    from compliance.adminshadow import shadowed
    from compliance.flows import compute_flows
    from compliance.model import WorkloadRef

    rng = random.Random(14)
    checked = 0
    for _ in range(120):
        text = BASE + random_admin(rng) + rng.choice(["", policy("dd", "pay", "podSelector: {}")])
        cluster = cluster_from_yaml(text)
        graph = compute_flows(cluster)
        dead = {d.rule_id for d in shadowed(cluster.admin_policies)}
        host = {w.ref for w in cluster.workloads if w.host_network}
        for f in graph.flows:
            named = {str(r) for r in (*f.egress.rules, *f.ingress.rules)}
            assert not named & dead, (text, named & dead)
        for w in cluster.workloads:
            iso = graph.isolation[w.ref]
            for direction in ("ingress", "egress"):
                isolated = iso.ingress if direction == "ingress" else iso.egress
                found = posture(cluster, w, direction, isolated)
                if not found.denied or w.host_network:
                    continue
                checked += 1
                for f in graph.flows:
                    if direction == "egress" and f.src == w.ref:
                        assert not f.egress.not_isolated, (text, f)
                    if (
                        direction == "ingress"
                        and f.dst == w.ref
                        and isinstance(f.src, WorkloadRef)
                        and f.src not in host
                    ):
                        assert not f.ingress.not_isolated, (text, f)
    assert checked > 20  # the generator does produce default-deny postures
