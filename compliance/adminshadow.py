"""Admin and baseline rules that no connection reaches: an earlier rule decides first.

Admin policies are first-match: a rule is dead when an earlier rule, for the same
direction, applies to every pod it applies to and matches every peer and port it
matches. SEG-20 reports such rules, naming both. A rule is only called shadowed when
its shape proves it, whatever pods, namespaces and addresses exist: label selectors are
compared by their requirements (one selects everything the other does when its
requirements are among the other's), addresses by containment, ports by number or name.
Anything less certain (overlapping selectors, two admin policies at one priority, whose
order the API leaves to the implementation) says nothing.

What decides first (`tiers.py` has the order):
- within one tier, any earlier rule: Allow and Deny decide, an admin Pass skips the
  remaining admin rules, a baseline Pass the rest of the baseline;
- an admin-tier Allow or Deny comes before every baseline rule, unless an admin Pass rule
  may come before it (NetworkPolicy, then the baseline, decide what a Pass passes).
"""

from __future__ import annotations

from dataclasses import dataclass

from compliance.addresses import AddrSet
from compliance.ports import PortSet, union_all
from compliance.selectors import LabelSelector
from compliance.tiers import ADMIN, BANP, PASS, AdminPeer, AdminPolicy, AdminRule, ordered


@dataclass(frozen=True, slots=True)
class Shadowed:
    """`rule` of `policy` is never reached: `by`, of `by_policy`, decides first."""

    policy: AdminPolicy
    direction: str
    rule: AdminRule
    by_policy: AdminPolicy
    by: AdminRule

    @property
    def rule_id(self) -> str:
        return f"{self.policy.id} {self.direction}[{self.rule.label}]"

    @property
    def by_id(self) -> str:
        return f"{self.by_policy.id} {self.direction}[{self.by.label}]"


def shadowed(policies: tuple[AdminPolicy, ...] | list[AdminPolicy]) -> list[Shadowed]:
    """Every provably unreachable admin or baseline rule, with the first rule that
    decides all of its connections, in evaluation order."""
    order = ordered(policies)
    out = []
    for j, pol in enumerate(order):
        for direction in ("ingress", "egress"):
            rules = pol.ingress if direction == "ingress" else pol.egress
            for k, rule in enumerate(rules):
                found = _first_cover(order[: j + 1], pol, direction, rule, k)
                if found is not None:
                    out.append(Shadowed(pol, direction, rule, *found))
    return out


def _first_cover(
    earlier: list[AdminPolicy], pol: AdminPolicy, direction: str, rule: AdminRule, k: int
) -> tuple[AdminPolicy, AdminRule] | None:
    for other in earlier:
        same = other is pol
        if not same and not _before(other, pol):
            continue
        if not _subject_covers(other, pol):
            continue
        rules = other.ingress if direction == "ingress" else other.egress
        for i, first in enumerate(rules):
            if same and i >= k:
                break
            if other.tier != pol.tier and (
                first.action == PASS or _pass_before(earlier, other, direction, i)
            ):
                continue  # an admin Pass hands over to NetworkPolicy, then the baseline
            if _peers_cover(first.peers, rule.peers) and _ports_cover(first, rule):
                return other, first
    return None


def _pass_before(policies: list[AdminPolicy], pol: AdminPolicy, direction: str, k: int) -> bool:
    """Some admin Pass rule may come before rule `k` of `pol`: what it passes reaches the
    baseline whatever `pol` says (any subject and peers, to stay on the safe side)."""
    for other in policies:
        if other.tier != ADMIN or (other is not pol and _before(pol, other)):
            continue
        rules = other.ingress if direction == "ingress" else other.egress
        limit = k if other is pol else len(rules)
        if any(r.action == PASS for r in rules[:limit]):
            return True
    return False


def _before(first: AdminPolicy, then: AdminPolicy) -> bool:
    """`first` certainly comes before `then` (two at one priority in one tier: unknown)."""
    if first.tier != then.tier:
        return first.tier == ADMIN
    if first.kind == BANP or then.kind == BANP:
        return then.kind == BANP and first.kind != BANP  # Baseline CNPs before the BANP
    return first.priority < then.priority


def _covers(a: LabelSelector, b: LabelSelector) -> bool:
    """`a` selects everything `b` selects: each of `a`'s requirements is one of `b`'s."""
    return set(a.requirements) <= set(b.requirements)


def _subject_covers(a: AdminPolicy, b: AdminPolicy) -> bool:
    if not _covers(a.subject_namespaces, b.subject_namespaces):
        return False
    if a.subject_pods is None or a.subject_pods.selects_all:
        return True
    return b.subject_pods is not None and _covers(a.subject_pods, b.subject_pods)


def _peer_covers(p: AdminPeer, q: AdminPeer) -> bool:
    """Every connection peer `q` matches, `p` matches."""
    if p.kind == "networks":
        assert p.networks is not None
        if p.networks == AddrSet.all():
            return True  # every address, and every pod whatever its address
        return (
            q.kind == "networks" and q.networks is not None and (q.networks - p.networks).is_empty()
        )
    if p.kind in ("namespaces", "pods") and q.kind in ("namespaces", "pods"):
        assert p.namespace_selector is not None and q.namespace_selector is not None
        if not _covers(p.namespace_selector, q.namespace_selector):
            return False
        if p.kind == "namespaces" or p.pod_selector is None or p.pod_selector.selects_all:
            return True
        return (
            q.kind == "pods"
            and q.pod_selector is not None
            and _covers(p.pod_selector, q.pod_selector)
        )
    if p.kind == "nodes" and q.kind == "nodes":
        assert p.node_selector is not None and q.node_selector is not None
        return _covers(p.node_selector, q.node_selector)
    if p.kind == "domainNames" and q.kind == "domainNames":
        return set(q.domains) <= set(p.domains)
    return False


def _peers_cover(ps: tuple[AdminPeer, ...], qs: tuple[AdminPeer, ...]) -> bool:
    return bool(qs) and all(any(_peer_covers(p, q) for p in ps) for q in qs)


def _ports_cover(a: AdminRule, b: AdminRule) -> bool:
    if a.ports is None:
        return True
    if b.ports is None:
        return False
    numeric = union_all(
        PortSet.of(p.protocol, p.start, p.end)
        for p in a.ports
        if p.name is None and p.protocol is not None and p.start is not None
    )
    names = {p.name for p in a.ports if p.name is not None}
    for p in b.ports:
        if p.name is not None:
            if p.name not in names:
                return False
            continue
        if p.protocol is None or p.start is None:
            return False
        if not (PortSet.of(p.protocol, p.start, p.end) - numeric).is_empty():
            return False
    return True
