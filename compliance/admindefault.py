"""Which cluster-wide rule decides a workload's traffic by default, per direction.

SEG-02/03 ask whether a workload has a default-deny posture, SEG-04 whether something
allows everything. With admin policies, the answer can come from a tier other than
NetworkPolicy: an admin-tier rule matching every peer on every port decides, before any
NetworkPolicy, whatever earlier admin rules (exceptions naming some peers) leave; a
baseline-tier one decides what neither the admin tier nor a NetworkPolicy decided.

A rule is a catch-all here only when its shape proves it, whatever pods exist:

- every port: `ports` omitted;
- ingress: a `namespaces: {}` peer, or `pods` with both selectors empty. Admin ingress
  peers cannot be addresses, so such a rule still matches no source outside the cluster,
  no node and no host-network pod (`covers_outside` is False);
- egress: a `networks` peer holding every address of both families (0.0.0.0/0 and ::/0),
  which the API matches against pods too: every pod, node and outside address.
  `namespaces: {}` alone leaves outside addresses to the next tier, so it is no catch-all;
  it does decide every pod when it comes first, so `namespaces: {}` Allow followed by a
  `networks` catch-all Deny is no default deny, and two Deny rules together are one.

Allow and Deny rules before the catch-all are exceptions to it; Pass rules before it hand
what they match on (`posture` says when that keeps the default a deny).
"""

from __future__ import annotations

from dataclasses import dataclass

from compliance.addresses import AddrSet
from compliance.model import Cluster, PodVariant, Workload
from compliance.tiers import ADMIN, ALLOW, BASELINE, DENY, PASS, AdminPolicy, AdminRule, ordered


@dataclass(frozen=True, slots=True, order=True)
class DefaultRule:
    """The rule that decides, for one pod shape and direction, what no earlier rule names."""

    tier: str  # admin | baseline
    rule: str
    """`anp/default-deny egress[deny-all]`."""
    action: str  # allow | deny | pass
    scope: str = "pods"
    """What it decides: `pods` (every pod), `outside` (every address outside the cluster,
    nodes and host-network pods; the pods were decided before), `all` (both)."""

    def describe(self) -> str:
        return f"{self.tier} tier: {self.rule}"


@dataclass(frozen=True, slots=True)
class Posture:
    """A workload's default in one direction, from the admin and baseline tiers."""

    rules: tuple[DefaultRule, ...]
    """The deciding catch-all rules, over the workload's pod shapes (sorted, distinct)."""
    denied: bool
    """Every pod shape has a Deny catch-all as its default."""
    covers_outside: bool
    """The default also holds for sources or destinations outside the cluster (egress
    only: admin ingress rules cannot match them)."""
    leaks: tuple[str, ...] = ()
    """Pass rules before a Deny catch-all whose traffic no later tier denies by default."""
    deny_first: bool = False
    """Every pod shape's first catch-all denies (what `leaks` pass aside)."""

    @property
    def admin_allow(self) -> tuple[DefaultRule, ...]:
        """Admin-tier catch-alls that allow: every peer, before any NetworkPolicy."""
        return tuple(r for r in self.rules if r.tier == ADMIN and r.action != DENY)

    def deny_text(self) -> str:
        return ", ".join(r.rule for r in self.rules if r.action == DENY)


def catch_all(rule: AdminRule, direction: str) -> bool:
    """Whether the rule provably matches every peer on every port (see the module doc)."""
    if rule.ports is not None:
        return False
    for peer in rule.peers:
        if direction == "egress":
            if peer.kind == "networks" and peer.networks == AddrSet.all():
                return True
        elif peer.kind == "namespaces":
            assert peer.namespace_selector is not None
            if peer.namespace_selector.selects_all:
                return True
        elif peer.kind == "pods":
            assert peer.namespace_selector is not None and peer.pod_selector is not None
            if peer.namespace_selector.selects_all and peer.pod_selector.selects_all:
                return True
    return False


def applies(pol: AdminPolicy, variant: PodVariant, ns_labels: dict[str, str] | None) -> bool:
    """The policy's subject holds this pod shape (host-network pods are never subjects)."""
    if variant.host_network:
        return False
    if not pol.subject_namespaces.selects_all and (
        ns_labels is None or not pol.subject_namespaces.matches(ns_labels)
    ):
        return False
    return pol.subject_pods is None or pol.subject_pods.matches(dict(variant.labels))


def every_pod(rule: AdminRule) -> bool:
    """The rule matches every pod (not host-network ones) on every port."""
    return catch_all(rule, "ingress")


def _tier_default(
    policies: list[AdminPolicy],
    variant: PodVariant,
    ns_labels: dict[str, str] | None,
    direction: str,
    tier: str,
) -> tuple[DefaultRule | None, tuple[str, ...]]:
    """The first rules of one tier that decide every pod and (egress) every address, and
    the Pass rules before them (what they match is decided elsewhere).

    For egress, a rule matching every pod (`namespaces: {}`) may come before the one
    that matches every address: the pods are decided by the first, and the default is a
    deny only if both deny (an Allow opens what it matches, a Pass hands it over)."""
    pods: tuple[str, str] | None = None
    passes: list[str] = []
    for pol in policies:
        if pol.tier != tier or not applies(pol, variant, ns_labels):
            continue
        for rule in pol.ingress if direction == "ingress" else pol.egress:
            rid = f"{pol.id} {direction}[{rule.label}]"
            full = catch_all(rule, direction)
            if not full and not every_pod(rule):
                if rule.action == PASS:
                    passes.append(rid)
                continue
            if pods is None:
                pods = (rid, rule.action)
            if full:
                return _combine(tier, pods, (rid, rule.action), direction == "egress"), tuple(
                    passes
                )
    if pods is not None and pods[1] != DENY:
        return DefaultRule(tier, pods[0], pods[1]), tuple(passes)
    return None, tuple(passes)


def _combine(tier: str, pods: tuple[str, str], rest: tuple[str, str], egress: bool) -> DefaultRule:
    """One default from the rule deciding every pod and the one deciding the rest."""
    whole = "all" if egress else "pods"
    if pods == rest:
        return DefaultRule(tier, pods[0], pods[1], whole)
    for action in (ALLOW, PASS):
        if pods[1] == action and rest[1] == action:
            return DefaultRule(tier, f"{pods[0]}, {rest[0]}", action, "all")
        if pods[1] == action:
            return DefaultRule(tier, pods[0], action, "pods")
        if rest[1] == action:
            return DefaultRule(tier, rest[0], action, "outside")
    return DefaultRule(tier, f"{pods[0]}, {rest[0]}", DENY, whole)


_LAST: list[tuple[Cluster, list[AdminPolicy], dict[str, dict[str, str]]]] = []


def _prepared(cluster: Cluster) -> tuple[list[AdminPolicy], dict[str, dict[str, str]]]:
    """The policies in evaluation order and the namespaces' labels, kept for the last
    cluster asked about: checks ask once per workload, direction and framework."""
    if not _LAST or _LAST[0][0] is not cluster:
        labels = {ns.name: dict(ns.labels) for ns in cluster.namespaces}
        _LAST[:] = [(cluster, ordered(cluster.admin_policies), labels)]
    return _LAST[0][1], _LAST[0][2]


def posture(cluster: Cluster, workload: Workload, direction: str, np_isolated: bool) -> Posture:
    """The default of each of the workload's pod shapes: the first admin-tier catch-all
    when it allows or denies (a Pass hands everything to the next tiers); otherwise,
    when no NetworkPolicy isolates the workload in this direction, the first
    baseline-tier catch-all that allows or denies (a baseline Pass leaves the Kubernetes
    default, allowed).

    Rules before the catch-all that allow or deny some peers are exceptions to it, as
    allow rules are to a NetworkPolicy default deny. Pass rules before it are not: what
    an admin Pass matches goes to NetworkPolicy, then the baseline, and what a baseline
    Pass matches is allowed. So a Deny catch-all after Pass rules is a default deny only
    when a NetworkPolicy isolates the workload (admin tier) or the baseline denies by
    default without Pass rules of its own; otherwise those Pass rules are `leaks`."""
    policies, labels = _prepared(cluster)
    ns_labels = labels.get(workload.ref.namespace)
    found: list[DefaultRule | None] = []
    firsts: list[DefaultRule | None] = []  # per pod shape: what decides first by default
    leaks: list[str] = []
    for variant in workload.variants:
        rule, passes = _tier_default(policies, variant, ns_labels, direction, ADMIN)
        if rule is not None and rule.action != PASS and not (rule.action == DENY and passes):
            found.append(rule)
            firsts.append(rule)
            continue
        if np_isolated:
            kept = rule if rule is not None and rule.action == DENY else None
            found.append(kept)
            firsts.append(kept)
            continue
        base, base_passes = _tier_default(policies, variant, ns_labels, direction, BASELINE)
        if base is not None and base.action == PASS:
            base = None
        if rule is not None and rule.action == DENY:
            # Admin default deny after Pass rules: the baseline decides what they pass.
            found.append(rule)
            firsts.append(rule)
            if base is not None:
                found.append(base)
            if base is None or base.action != DENY or base_passes:
                leaks.extend(passes)
                leaks.extend(base_passes if base is not None and base.action == DENY else ())
            continue
        found.append(base)
        firsts.append(base)
        if base is not None and base.action == DENY:
            leaks.extend(base_passes)
    deny_first = bool(firsts) and all(r is not None and r.action == DENY for r in firsts)
    denied = deny_first and not leaks
    return Posture(
        tuple(sorted({r for r in found if r is not None})),
        denied,
        denied and direction == "egress",
        tuple(sorted(set(leaks))),
        deny_first,
    )
