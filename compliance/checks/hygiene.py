"""Is the configuration what it seems: dead rules, waivers, and namespace labels
that anyone with edit rights could set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from compliance.checks.base import (
    PEERS_SHOWN,
    Context,
    Finding,
    Verdict,
    check,
    describe_ports,
    not_applicable,
    nothing_in_scope,
    peer_summary,
)
from compliance.flows import RuleInfo
from compliance.model import Policy, WorkloadRef

NAME_LABEL = "kubernetes.io/metadata.name"


def _severity(ctx: Context, pol: Policy) -> str:
    """Dead rules in a namespace holding scope fail; elsewhere they are worth a look."""
    return "fail" if any(r.namespace == pol.namespace for r in ctx.in_scope) else "warn"


@check("SEG-20", "Ineffective or dangling policy")
def ineffective(ctx: Context) -> Verdict:
    """Every policy and rule does something.

    Reports policies whose podSelector selects no pods; rules switched off
    because `policyTypes` leaves their direction out; rules whose peers select
    no pods; rules that never allow a flow; and rules whose peers name pods
    (a podSelector) that admit a workload which can never use them because
    the other side denies it (an ingress rule admitting a workload whose own
    egress is denied). Findings in namespaces
    holding in-scope workloads fail; elsewhere they warn.

    For AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy
    objects: subjects that select no pods (a warning), and rules no connection
    reaches because an earlier rule of certain precedence, in the same direction,
    applies to every pod they apply to and matches every peer and port they match.
    Only what the rules' shape proves is reported (selector requirements, address and
    port containment), never between two admin policies at one priority, whose order
    the API leaves open; the finding names both rules, and fails when the unreachable
    rule's subject holds in-scope workloads.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    findings: list[Finding] = []
    reach = ctx.facts.rule_reach
    by_policy: dict[str, list[RuleInfo]] = {}
    for info in ctx.graph.rules:
        by_policy.setdefault(f"{info.ref.namespace}/{info.ref.policy}", []).append(info)
    for pol in ctx.cluster.policies:

        def add(
            message: str,
            policies: tuple[str, ...],
            remediation: str,
            peers: Sequence[str] = (),
            pol: Policy = pol,
            workload: WorkloadRef | None = None,
            direction: str = "both",
            ports: str | None = None,
        ) -> None:
            findings.append(
                Finding(
                    message,
                    severity=_severity(ctx, pol),
                    workload=workload,
                    namespace=pol.namespace,
                    policies=policies,
                    remediation=remediation,
                    peer=peer_summary(peers) if peers else None,
                    peers=tuple(peers) if len(peers) > 1 else (),
                    direction=direction,
                    ports=ports,
                )
            )

        if not ctx.graph.policy_selects.get(pol.id):
            add(
                f"{pol.id}: spec.podSelector {pol.pod_selector.describe()} selects no pods",
                (pol.id,),
                "Fix the podSelector to match the pods it should protect, or delete the policy.",
            )
            continue
        for (direction, count), ref in (
            (d, r) for d in pol.ignored for r in ctx.graph.policy_selects.get(pol.id, ())
        ):
            kind = direction.capitalize()
            add(  # one per selected workload: whose traffic the rules seem to control
                f"{pol.id}: its {count} {direction} rule(s) are ignored: policyTypes "
                f"[{', '.join(pol.policy_types)}] leaves out {kind}, so rules that look "
                f"like they control {direction} do nothing",
                (f"{pol.id} {direction}[0..{count - 1}]",),
                f"Add {kind} to spec.policyTypes (which also isolates the selected pods "
                f"for {direction}), or delete the rules.",
                workload=ref,
                direction=direction,
            )
        for info in by_policy.get(pol.id, ()):
            rule_ref = str(info.ref)
            used = reach.get(info.ref, set())
            direction = info.ref.direction
            ports = _rule_ports(info)
            if info.peers == () and not info.addresses:
                for ref in info.selects:
                    add(
                        f"{rule_ref}: its peers select no pods, so it allows nothing",
                        (rule_ref,),
                        "Fix the selectors (labels, namespace labels) or delete the rule.",
                        workload=ref,
                        direction=direction,
                        ports=ports,
                    )
                continue
            if not used:
                if info.ports.is_empty() and not info.all_ports and not _named_resolve(ctx, info):
                    for ref in info.selects:
                        add(
                            f"{rule_ref} never allows a flow: its named ports are declared by "
                            "no matching container",
                            (rule_ref,),
                            "Delete the rule, or allow the flow on the other side as well.",
                            workload=ref,
                            direction=direction,
                            ports=ports,
                        )
                    continue
                peers = info.peers if info.peers is not None else ()
                _denied(ctx, add, info, peers, ports, never=True)
                continue
            if info.peers is None or not _pod_specific(pol, info):
                continue
            idle = [peer for peer in info.peers if peer not in used]
            if idle:
                _denied(ctx, add, info, idle, ports, never=False)
    for admin in ctx.cluster.admin_policies:
        if not ctx.graph.admin_selects.get(admin.id):
            findings.append(
                Finding(
                    f"{admin.id}: spec.subject selects no pods, so its rules decide nothing",
                    severity="warn",
                    policies=(admin.id,),
                    remediation="Fix the subject's selectors to match the pods the guardrail "
                    "should cover, or delete the policy.",
                    direction="both",
                )
            )
    findings.extend(_shadowed(ctx))
    return Verdict(
        tuple(findings),
        summary=f"{len(ctx.cluster.policies)} policies, {len(findings)} ineffective parts",
    )


_DECIDES = {
    ("admin", "allow"): "allows them for good",
    ("admin", "deny"): "denies them for good",
    ("admin", "pass"): "passes them to NetworkPolicy",
    ("baseline", "allow"): "allows them",
    ("baseline", "deny"): "denies them",
    ("baseline", "pass"): "skips the rest of the baseline for them",
}


def _shadowed(ctx: Context) -> list[Finding]:
    """Admin and baseline rules an earlier rule always decides first (`adminshadow`)."""
    if not ctx.cluster.admin_policies:
        return []
    from compliance.adminshadow import shadowed

    out = []
    for dead in shadowed(ctx.cluster.admin_policies):
        selects = ctx.graph.admin_selects.get(dead.policy.id, ())
        if not selects:
            continue  # reported above: its subject selects no pods
        decides = _DECIDES[(dead.by_policy.tier, dead.by.action)]
        out.append(
            Finding(
                f"{dead.rule_id} is never reached: {dead.by_id} comes first, applies to "
                "every pod it applies to and matches every peer and port it matches, and "
                f"{decides}",
                severity="fail" if any(r in ctx.in_scope for r in selects) else "warn",
                policies=(dead.rule_id, dead.by_id),
                remediation=f"Delete {dead.rule_id}, or, if it should decide those "
                f"connections, narrow {dead.by_id} or give {dead.policy.id} precedence "
                "(a lower priority number, or the rule earlier in its list).",
                direction=dead.direction,
            )
        )
    return out


def _rule_ports(info: RuleInfo) -> str:
    if info.all_ports:
        return "every port"
    parts = [describe_ports(info.ports)] if not info.ports.is_empty() else []
    parts += [f"{proto} {name}" for proto, name in info.named]
    return ", ".join(parts) or "no port"


def _short(ref: WorkloadRef) -> str:
    return ref.name


def _denied(
    ctx: Context,
    add: Callable[..., None],
    info: RuleInfo,
    peers: Sequence[WorkloadRef],
    ports: str,
    never: bool,
) -> None:
    """Findings that name whom a rule was meant for and which policy on the other side
    stops it: intent versus effect, the finding the app team can act on.

    For an ingress rule, each admitted peer's egress; for an egress rule, each
    destination's ingress. One finding per workload the rule protects."""
    rule_ref = str(info.ref)
    ingress = info.ref.direction == "ingress"
    other = "egress" if ingress else "ingress"
    verb = "admits" if ingress else "allows traffic to"
    blocked: list[tuple[WorkloadRef, tuple[str, ...]]] = []
    for peer in peers:
        iso = ctx.graph.isolation.get(peer)
        if iso is None:
            continue
        isolated = iso.egress if ingress else iso.ingress
        blockers = iso.egress_policies if ingress else iso.ingress_policies
        blocked.append((peer, tuple(blockers) if isolated else ()))
    names = [str(p) for p, _ in blocked]
    for ref in info.selects:
        if blocked:
            who = peer_summary(names)
            because = "; ".join(
                f"{_short(p)}'s {other} denies it ({', '.join(b)})"
                if b
                else f"{_short(p)}'s {other} allows it, but not on these ports"
                for p, b in blocked[:PEERS_SHOWN]
            )
            if len(blocked) == 1 and blocked[0][0] == ref:
                effect = f"{ref}'s pods cannot reach each other"
            elif ingress:
                effect = (
                    f"{_short(blocked[0][0])} cannot reach {ref}"
                    if len(blocked) == 1
                    else f"these peers cannot reach {ref}"
                )
            else:
                effect = f"{ref} cannot reach " + (
                    _short(blocked[0][0]) if len(blocked) == 1 else "these peers"
                )
            message = f"{rule_ref} {verb} {who} on {ports}, but {because}: {effect}"
            if never:
                message += "; the rule never allows a flow"
            policies = (rule_ref, *sorted({x for _, b in blocked for x in b}))
        else:
            message = (
                f"{rule_ref} never allows a flow: the other side denies every flow it would allow"
            )
            policies = (rule_ref,)
        add(
            message,
            policies,
            f"Either allow the flow in the peers' {other} policies too (if it is needed), or "
            "narrow or delete the rule so it names only the workloads that use it.",
            names,
            workload=ref,
            direction=info.ref.direction,
            ports=ports,
        )


def _pod_specific(pol: Policy, info: RuleInfo) -> bool:
    """Whether every peer names pods (a non-empty podSelector).

    A peer that takes whole namespaces admits many workloads by design, most of
    which never use it; reporting each of them would bury the findings that
    matter, so only pod-specific rules are judged peer by peer.
    """
    rules = pol.ingress if info.ref.direction == "ingress" else pol.egress
    peers = rules[info.ref.index].peers or ()
    return bool(peers) and all(
        p.ip_block is not None or (p.pod_selector is not None and not p.pod_selector.selects_all)
        for p in peers
    )


def _named_resolve(ctx: Context, info: RuleInfo) -> bool:
    """Whether some container the rule could reach declares one of its named ports."""
    if info.ref.direction == "ingress":
        holders: tuple[WorkloadRef, ...] | None = info.selects
    else:
        holders = info.peers
    workloads = ctx.facts.workloads
    candidates = workloads.values() if holders is None else [workloads[r] for r in holders]
    return any(
        (cp.protocol, cp.name) in info.named
        for w in candidates
        for v in w.variants
        for cp in v.ports
    )


@check("SEG-25", "Waiver hygiene")
def waiver_hygiene(ctx: Context) -> Verdict:
    """Every waiver is current, bounded and accountable.

    Each waiver needs an owner, a reason and an approver (the scope file's
    schema enforces them) and an expiry no later than
    `parameters.max_waiver_days` (180 by default, and never longer than the review
    period of an evaluated framework: 90 days with FedRAMP High) after `--as-of`. An expired
    waiver, or one running longer, fails and does not apply. A waiver without a
    compensating control, or naming a workload or namespace the export does not
    hold, is a warning.
    """
    waivers = ctx.scope.waivers
    if not waivers:
        return not_applicable("the scope file has no waivers")
    limit = ctx.parameters.max_waiver_days
    today = ctx.as_of.date()
    known_ns = {ns.name for ns in ctx.cluster.namespaces}
    findings = []
    for w in waivers:
        base = f"waiver {w.ref} ({w.check}, {w.target()})"
        ns = w.namespace or (w.workload.split("/")[0] if w.workload else None)
        if w.expires < today:
            findings.append(
                Finding(
                    f"{base} expired on {w.expires.isoformat()}: it no longer applies",
                    namespace=ns,
                    direction="both",
                    aspect="expired",
                    remediation="Renew it with a new approval, or fix the finding it covered.",
                )
            )
        elif (w.expires - today).days > limit:
            findings.append(
                Finding(
                    f"{base} runs until {w.expires.isoformat()}, {(w.expires - today).days} days "
                    f"after the as-of date; at most {limit} are allowed "
                    f"({ctx.parameters.max_waiver_source}), so it does not apply",
                    namespace=ns,
                    direction="both",
                    aspect="too-long",
                    remediation=f"Set expires to {(today + dt.timedelta(days=limit)).isoformat()} "
                    "or earlier and review it then.",
                )
            )
        if not w.compensating_control:
            findings.append(
                Finding(
                    f"{base} names no compensating control",
                    severity="warn",
                    namespace=ns,
                    direction="both",
                    aspect="no-compensating-control",
                    remediation="Add compensating_control: what limits the risk meanwhile.",
                )
            )
        if w.workload is not None and not any(
            r.id == w.workload and (w.kind is None or r.kind == w.kind) for r in ctx.facts.workloads
        ):
            findings.append(
                Finding(
                    f"{base} names a workload the export does not hold",
                    severity="warn",
                    namespace=ns,
                    direction="both",
                    aspect="unknown-workload",
                    remediation="Remove the waiver or correct its workload.",
                )
            )
        elif w.namespace is not None and w.namespace not in known_ns:
            findings.append(
                Finding(
                    f"{base} names a namespace the export does not hold",
                    severity="warn",
                    namespace=ns,
                    direction="both",
                    aspect="unknown-namespace",
                    remediation="Remove the waiver or correct its namespace.",
                )
            )
    return Verdict(
        tuple(findings),
        summary=f"{len(waivers)} waiver{'s' if len(waivers) != 1 else ''}, "
        f"{len(findings)} problem{'s' if len(findings) != 1 else ''}; "
        f"limit {limit} days ({ctx.parameters.max_waiver_source})",
    )


@check("SEG-26", "Namespace selectors on mutable labels")
def mutable_namespace_labels(ctx: Context) -> Verdict:
    """Namespace selectors guarding scope use `kubernetes.io/metadata.name`.

    Any label other than `kubernetes.io/metadata.name` (which the API server
    sets to the namespace's name) can be set by whoever may edit namespaces, so
    a namespaceSelector relying on it lets them join the peer set. Fails for
    each such peer in a rule of a policy that selects an in-scope workload;
    the remediation pins the namespaces it matches today by name.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    findings = []
    for ref in ctx.scoped():
        for info in (*ctx.facts.ingress_rules_of(ref), *ctx.facts.egress_rules_of(ref)):
            pol = ctx.facts.policies[f"{info.ref.namespace}/{info.ref.policy}"]
            rules = pol.ingress if info.ref.direction == "ingress" else pol.egress
            peers = rules[info.ref.index].peers or ()
            key = "from" if info.ref.direction == "ingress" else "to"
            for j, peer in enumerate(peers):
                sel = peer.namespace_selector
                if sel is None:
                    continue
                mutable = sorted({r.key for r in sel.requirements if r.key != NAME_LABEL})
                if not mutable:
                    continue
                names = ctx.facts.namespaces_matching(sel)
                findings.append(_mutable_finding(ref, info, key, j, sel.describe(), mutable, names))
    return Verdict(
        tuple(findings), summary=f"{len(findings)} namespace selectors on mutable labels"
    )


def _mutable_finding(
    ref: WorkloadRef,
    info: RuleInfo,
    key: str,
    index: int,
    described: str,
    mutable: list[str],
    names: list[str],
) -> Finding:
    values = ", ".join(names) if names else "<namespace>"
    snippet = (
        "namespaceSelector:\n"
        "  matchExpressions:\n"
        f"    - {{key: {NAME_LABEL}, operator: In, values: [{values}]}}\n"
    )
    return Finding(
        f"{info.ref} {key}[{index}] selects namespaces by {', '.join(mutable)} "
        f"({described}): anyone who can label a namespace can join; today it matches "
        f"{', '.join(names) or 'no namespace'}",
        workload=ref,
        peer=f"namespaceSelector {described}",
        direction=info.ref.direction,
        policies=(str(info.ref),),
        remediation=snippet,
    )
