"""Cluster-wide admin policies in the flow engine: compiled rules and first-match tiers.

`flows.Engine` keeps NetworkPolicy's OR-ed tier as it was. When the cluster holds
AdminNetworkPolicies, a BaselineAdminNetworkPolicy or ClusterNetworkPolicies, this
module compiles their rules against the same label indexes, gives the engine the
memberships that split pod classes (subject and peer of which rules), and decides
one side of a connection port range by port range:

    admin tier, first match (allow / deny final, pass -> NetworkPolicy)
    -> NetworkPolicy when a policy selects the pod in that direction (allow or deny)
    -> baseline tier, first match (pass skips the rest of the baseline)
    -> allowed

Host-network pods are never subjects of admin rules, and `namespaces` and `pods`
peers never match them. A `networks` peer also matches cluster pods whose addresses
fall inside it, host-network pods included (their traffic carries the node's address,
and the API checks all traffic, pod-to-pod and to nodes, against `networks`); where a
workload's addresses are unknown, both readings are evaluated and the flow counts as
allowed when either allows it (never a false "denied"), unless the peer covers every
address of both families, which holds any pod whatever its address. A `nodes` peer
matches the selected Nodes' addresses and, the same way, the host-network pods scheduled
on those Nodes (`spec.nodeName`); a host-network pod whose Node is unknown is read both
ways, like a pod of unknown address.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from compliance.addresses import V4_MAX, V6_MAX, AddrSet
from compliance.addresses import union_all as union_addrs
from compliance.ports import PROTOCOLS, PortSet, union_all
from compliance.selectors import LabelSelector
from compliance.tiers import ADMIN, ALLOW, PASS, AdminPeer, AdminPolicy, AdminRule

if TYPE_CHECKING:
    from compliance.flows import CompiledRule, Engine, PodClass, RuleRef


class Decision(NamedTuple):
    """One side's verdict over some ports: allowed or not, and what decided it."""

    ports: PortSet
    allowed: bool
    ref: RuleRef | None
    """The deciding rule; None when nothing matched (allowed) or NetworkPolicy isolation
    denies (not allowed)."""
    via_pass: bool = False


class AdminCompiled(NamedTuple):
    rule: CompiledRule
    maybe: frozenset[int]
    """Pods a `networks` peer may hold (their addresses are unknown)."""


def compile_admin(engine: Engine) -> list[tuple[AdminPolicy, str, frozenset[int], CompiledRule]]:
    """Every admin rule, in evaluation order: (policy, direction, subject pods, rule)."""
    from compliance.flows import CompiledRule, RuleRef

    cluster = engine.cluster
    plain = frozenset(i for i, p in enumerate(engine.pods) if not p.host_network)
    out = []
    ip_of = _pod_addresses(engine)
    unknown_warned: set[str] = set()
    if cluster.nodes is None and any(
        peer.kind == "nodes"
        for pol in cluster.admin_policies
        for rule in pol.egress
        for peer in rule.peers
    ):
        engine.warnings.append(
            "the export holds no Node objects: admin `nodes` peers are treated as unknown "
            "external addresses (an Allow rule as every external address, a Deny or Pass "
            "rule as none), so no flow is reported denied because of them"
        )
    for pol in cluster.admin_policies:
        subject = _subject(engine, pol) & plain
        engine.admin_subjects[pol.id] = subject
        if not subject:
            engine.warnings.append(
                f"{pol.source}: {pol.kind} {pol.name}: spec.subject selects no pods"
            )
        for direction, rules in (("ingress", pol.ingress), ("egress", pol.egress)):
            for i, rule in enumerate(rules):
                ref = RuleRef("", pol.name, direction, i, pol.prefix, rule.label)
                pods: set[int] = set()
                maybe: set[int] = set()
                addrs: list[AddrSet] = []
                domains: list[str] = []
                for peer in rule.peers:
                    if peer.kind in ("namespaces", "pods"):
                        pods |= _peer_pods(engine, peer) & plain
                    elif peer.kind in ("networks", "nodes"):
                        if peer.kind == "networks":
                            assert peer.networks is not None
                            addrs.append(peer.networks)
                            inside, unknown = _pods_in(engine, peer.networks, ip_of)
                            doubt = (
                                f"networks {', '.join(peer.cidrs)} may hold pods whose "
                                "addresses the export does not give"
                            )
                        else:
                            addrs.append(_node_addresses(engine, peer, rule.action))
                            inside, unknown = _host_pods_on(engine, peer)
                            doubt = (
                                f"{peer.describe()} may hold host-network pods whose Node the "
                                "export does not give (spec.nodeName, or the Node object)"
                            )
                        pods |= inside
                        maybe |= unknown
                        if unknown and str(ref) not in unknown_warned:
                            unknown_warned.add(str(ref))
                            engine.warnings.append(
                                f"{pol.source}: {pol.kind} {pol.name}: {direction} rule "
                                f"{rule.label}: {doubt}; flows to them are counted allowed "
                                "when either reading allows them"
                            )
                    else:
                        domains.extend(peer.domains)
                        engine.warnings.append(
                            f"{pol.source}: {pol.kind} {pol.name}: {direction} rule "
                            f"{rule.label}: domainNames {', '.join(peer.domains)} are not "
                            "resolved: the traffic this rule allows is listed as named "
                            "destinations, whose addresses the analysis does not know (outside "
                            "addresses a later rule denies may still be reachable through "
                            "these names)"
                        )
                numeric, named, all_ports = _ports(rule)
                compiled = CompiledRule(
                    ref,
                    frozenset(pods),
                    union_addrs(addrs),
                    numeric,
                    named,
                    all_ports,
                    action=rule.action,
                    tier=pol.tier,
                    maybe=frozenset(maybe - pods),
                    domains=tuple(domains),
                )
                out.append((pol, direction, subject, compiled))
    _warn_same_priority(engine, out)
    return out


def _subject(engine: Engine, pol: AdminPolicy) -> frozenset[int]:
    return engine.select_pods(None, pol.subject_namespaces, pol.subject_pods)


def _peer_pods(engine: Engine, peer: AdminPeer) -> frozenset[int]:
    assert peer.namespace_selector is not None
    return engine.select_pods(None, peer.namespace_selector, peer.pod_selector)


def _pod_addresses(engine: Engine) -> dict[int, AddrSet | None]:
    by_workload = {w.ref: w.pod_ips for w in engine.cluster.workloads}
    out: dict[int, AddrSet | None] = {}
    cache: dict[object, AddrSet | None] = {}
    for i, pod in enumerate(engine.pods):
        ips = by_workload.get(pod.workload)
        if ips not in cache:
            cache[ips] = (
                None
                if ips is None
                else union_addrs(
                    AddrSet.from_cidr(ip + ("/32" if ":" not in ip else "/128")) for ip in ips
                )
            )
        out[i] = cache[ips]
    return out


def _pods_in(
    engine: Engine, nets: AddrSet, ip_of: dict[int, AddrSet | None]
) -> tuple[set[int], set[int]]:
    """Pods whose every address is inside `nets`; pods that may be (unknown or partly).
    Every pod, host-network ones too: `networks` matches traffic by address, and a
    host-network pod's address is its node's."""
    inside: set[int] = set()
    unknown: set[int] = set()
    if nets == AddrSet.all():
        return set(range(len(engine.pods))), unknown
    for i in range(len(engine.pods)):
        addrs = ip_of[i]
        if addrs is None:
            unknown.add(i)
            continue
        hit = addrs & nets
        if hit == addrs:
            inside.add(i)
        elif hit:
            unknown.add(i)
    return inside, unknown


def _node_addresses(engine: Engine, peer: AdminPeer, action: str) -> AddrSet:
    nodes = engine.cluster.nodes
    if nodes is None:
        return AddrSet.all() if action == ALLOW else AddrSet.empty()
    sel = peer.node_selector
    assert isinstance(sel, LabelSelector)
    found = [
        AddrSet.from_cidr(a + ("/32" if ":" not in a else "/128"))
        for n in nodes
        if sel.matches(dict(n.labels))
        for a in n.addresses
    ]
    return union_addrs(found)


def _host_pods_on(engine: Engine, peer: AdminPeer) -> tuple[set[int], set[int]]:
    """Host-network pods on the Nodes a `nodes` peer selects, and those that may be (their
    Node unknown, or only some of a workload's Nodes selected). A host-network pod's
    traffic carries its node's address, which is what `nodes` matches, as `networks`
    matches it by address. A Node the export lacks may or may not be selected: its pods
    are read both ways, and so is every host-network pod when the export has no Node
    objects (an Allow then matches it, a Deny does not, and a Pass is evaluated both
    ways: never a false "denied")."""
    on: set[int] = set()
    unknown: set[int] = set()
    nodes = engine.cluster.nodes
    host = [i for i, p in enumerate(engine.pods) if p.host_network]
    if nodes is None:
        return on, set(host)
    sel = peer.node_selector
    assert isinstance(sel, LabelSelector)
    known = {n.name for n in nodes}
    selected = {n.name for n in nodes if sel.matches(dict(n.labels))}
    node_names = {w.ref: w.node_names for w in engine.cluster.workloads}
    for i in host:
        names = node_names.get(engine.pods[i].workload)
        if names is None or not known.issuperset(names):
            unknown.add(i)  # not scheduled, or on a Node the export lacks (labels unknown)
        elif selected.issuperset(names):
            on.add(i)
        elif selected.intersection(names):
            unknown.add(i)
    return on, unknown


def _ports(rule: AdminRule) -> tuple[PortSet, tuple[tuple[str, str], ...], bool]:
    if rule.ports is None:
        return PortSet.all(), (), True
    numeric = []
    named: set[tuple[str, str]] = set()
    for p in rule.ports:
        if p.name is not None:
            # A named port matches the destination's container port of that name, whatever
            # its protocol.
            named.update((proto, p.name) for proto in PROTOCOLS)
        else:
            assert p.protocol is not None and p.start is not None
            numeric.append(PortSet.of(p.protocol, p.start, p.end))
    return union_all(numeric), tuple(sorted(named)), False


def _warn_same_priority(
    engine: Engine, compiled: list[tuple[AdminPolicy, str, frozenset[int], CompiledRule]]
) -> None:
    """Two admin-tier policies at one priority whose rules can match one connection: the
    API leaves the winner to the implementation; the engine takes name order."""
    by_key: dict[tuple[int, str], list[tuple[AdminPolicy, frozenset[int], CompiledRule]]] = (
        defaultdict(list)
    )
    for pol, direction, subject, rule in compiled:
        if pol.tier == ADMIN:
            by_key[(pol.priority, direction)].append((pol, subject, rule))
    seen: set[tuple[str, str]] = set()
    for (priority, _direction), items in sorted(by_key.items()):
        for a_idx, (pa, sa, ra) in enumerate(items):
            for pb, sb, rb in items[a_idx + 1 :]:
                if pa.id == pb.id or (pa.id, pb.id) in seen or not (sa & sb):
                    continue
                peers = ((ra.pods or frozenset()) | ra.maybe) & (
                    (rb.pods or frozenset()) | rb.maybe
                ) or (ra.addresses & rb.addresses)
                ports = (
                    ra.all_ports
                    or rb.all_ports
                    or ra.named
                    or rb.named
                    or (ra.numeric & rb.numeric)
                )
                if peers and ports:
                    seen.add((pa.id, pb.id))
                    engine.warnings.append(
                        f"{pa.id} and {pb.id} share priority {priority} and their rules can "
                        "match the same connection: the API lets an implementation apply "
                        "either; evaluated here in name order"
                    )


# --------------------------------------------------------------------------- deciding


Tier = tuple[list[Decision], PortSet, PortSet]
"""The admin tier's decisions, the ports it left undecided, and those it passed."""


def admin_tier(
    cls: PodClass,
    egress: bool,
    matches: Callable[[CompiledRule], bool],
    dst_ports: Sequence[object] | None,
) -> Tier:
    """The admin tier alone (it never depends on NetworkPolicy, so callers may share it
    between peers that match the same admin rules)."""
    out: list[Decision] = []
    admin_rules = cls.admin_egress if egress else cls.admin_ingress
    remaining, passed = _first_match(admin_rules, matches, dst_ports, PortSet.all(), out)
    return out, remaining, passed


def decide(
    engine: Engine,
    cls: PodClass,
    egress: bool,
    matches: Callable[[CompiledRule], bool],
    dst_ports: Sequence[object] | None,
    np_rules: list[tuple[CompiledRule, PortSet]],
    tier: Tier | None = None,
) -> list[Decision]:
    """One side of one connection, first match over the tiers; `np_rules` are the
    NetworkPolicy rules that match the peer, with their ports; `tier` is `admin_tier`'s
    answer for the same arguments when the caller has it."""
    everything = PortSet.all()
    if cls.host_network:
        return [Decision(everything, True, None)]
    if tier is None:
        tier = admin_tier(cls, egress, matches, dst_ports)
    first, remaining, passed = tier
    out = list(first)
    baseline = cls.baseline_egress if egress else cls.baseline_ingress
    to_np = remaining | passed
    if not to_np:
        return out
    isolated = cls.egress_policies if egress else cls.ingress_policies
    if isolated:
        got = PortSet.empty()
        for rule, ports in np_rules:
            hit = ports & to_np
            if not hit:
                continue
            direct, via = hit - passed, hit & passed
            if direct:
                out.append(Decision(direct, True, rule.ref))
            if via:
                out.append(Decision(via, True, rule.ref, True))
            got = got | hit
        rest = to_np - got
        if rest:
            out.append(Decision(rest, False, None))
        return out
    remaining, fallthrough = _first_match(baseline, matches, dst_ports, to_np, out)
    rest = remaining | fallthrough
    if rest:
        out.append(Decision(rest, True, None))
    return out


def extend_tier(tier: Tier, rule: CompiledRule, dst_ports: Sequence[object] | None) -> Tier:
    """`tier` with one more matching admin rule read after it (`_first_match`'s step):
    the rule decides the ports still undecided that it names."""
    out, remaining, passed = tier
    ports = rule.ports_for(dst_ports) & remaining  # type: ignore[arg-type]
    if not ports:
        return tier
    if rule.action == PASS:
        return out, remaining - ports, passed | ports
    return [*out, Decision(ports, rule.action == ALLOW, rule.ref)], remaining - ports, passed


def _first_match(
    rules: Sequence[CompiledRule],
    matches: Callable[[CompiledRule], bool],
    dst_ports: Sequence[object] | None,
    remaining: PortSet,
    out: list[Decision],
) -> tuple[PortSet, PortSet]:
    """One tier, first match per port range over the ports still `remaining`: Allow and
    Deny decisions go to `out`; returns the ports no rule matched and those a Pass rule
    matched (the admin tier hands them to NetworkPolicy, the baseline to the default)."""
    passed = PortSet.empty()
    for rule in rules:
        if not remaining:
            break
        if not matches(rule):
            continue
        ports = rule.ports_for(dst_ports) & remaining  # type: ignore[arg-type]
        if not ports:
            continue
        remaining = remaining - ports
        if rule.action == PASS:
            passed = passed | ports
        else:
            out.append(Decision(ports, rule.action == ALLOW, rule.ref))
    return remaining, passed


def allowed_of(decisions: list[Decision]) -> PortSet:
    return union_all(d.ports for d in decisions if d.allowed)


def side_of(cls: PodClass | None, decisions: list[Decision], allowed: PortSet) -> object:
    """The flow's Side from the decisions that allow some of `allowed`."""
    from compliance.flows import EXTERNAL, HOST_NETWORK, Side

    if cls is None:
        return EXTERNAL
    if cls.host_network:
        return HOST_NETWORK
    rules = set()
    via = set()
    open_ = False
    for d in decisions:
        if not d.allowed or not (d.ports & allowed):
            continue
        if d.ref is None:
            open_ = True
        else:
            rules.add(d.ref)
            if d.via_pass:
                via.add(d.ref)
    return Side(tuple(sorted(rules)), open_, False, False, tuple(sorted(via)))


# --------------------------------------------------------------------------- addresses


def covers(addrs: AddrSet, family: str, lo: int) -> bool:
    ranges = addrs.v4 if family == "v4" else addrs.v6
    k = bisect.bisect_right(ranges, (lo, float("inf"))) - 1
    return k >= 0 and ranges[k][0] <= lo <= ranges[k][1]


def egress_external(engine: Engine, cls: PodClass) -> list[tuple[AddrSet, PortSet, object]]:
    """External destinations of a class with admin egress rules, first match per address
    segment; one entry per distinct (ports, side)."""
    np_all = engine.egress_external(cls) if cls.egress_policies else []
    sets = [r.addresses for r in (*cls.admin_egress, *cls.baseline_egress)]
    sets += [a for _, a, _ in np_all]
    groups: dict[tuple[PortSet, object], tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
    for family, top in (("v4", V4_MAX), ("v6", V6_MAX)):
        points = {0, top + 1}
        for s in sets:
            for lo, hi in getattr(s, family):
                points.add(lo)
                points.add(hi + 1)
        bounds = sorted(points)
        for lo, nxt in itertools.pairwise(bounds):

            def hit(rule: CompiledRule, lo: int = lo, family: str = family) -> bool:
                return covers(rule.addresses, family, lo)

            np_rules = [(r, p) for r, a, p in np_all if covers(a, family, lo)]
            decisions = decide(engine, cls, True, hit, None, np_rules)
            ports = allowed_of(decisions)
            if not ports:
                continue
            side = side_of(cls, decisions, ports)
            v4, v6 = groups.setdefault((ports, side), ([], []))
            (v4 if family == "v4" else v6).append((lo, nxt - 1))
    from compliance.intervals import normalise

    return [
        (AddrSet(normalise(v4), normalise(v6)), ports, side)
        for (ports, side), (v4, v6) in groups.items()
    ]


# --------------------------------------------------------------------------- domain names


def named_egress(engine: Engine, cls: PodClass) -> list[tuple[str, PortSet, RuleRef]]:
    """(name, ports, deciding rule) for each `domainNames` name a class's egress rules
    allow, first match over the tiers as for any other destination.

    A name's addresses are unknown, so only rules that match it whatever its addresses
    take part: a rule listing the same name, an admin `networks`/`nodes` peer covering
    every address of both families, and NetworkPolicy egress rules whose ipBlocks do.
    A rule covering only some addresses is read as not matching the name; in the other
    reading it decides, and the allow listed here is the reading that allows (an earlier
    Deny to some addresses may pre-empt it: never a false "denied"). Only ports decided
    by a rule that lists the name are reported; ports an address catch-all allows are
    already in the flows to those addresses.
    """
    if cls.host_network:
        return []
    rules = [*cls.admin_egress, *cls.baseline_egress]
    names = sorted({n for r in rules for n in r.domains})
    if not names:
        return []
    everything = AddrSet.all()
    np_rules = (
        [(r, p) for r, a, p in engine.egress_external(cls) if a == everything]
        if cls.egress_policies
        else []
    )
    out = []
    for name in names:

        def hit(rule: CompiledRule, name: str = name) -> bool:
            return rule.addresses == everything or name in rule.domains

        naming = {r.ref for r in rules if name in r.domains}
        for d in decide(engine, cls, True, hit, None, np_rules):
            if d.allowed and d.ref in naming:
                out.append((name, d.ports, d.ref))
    return out
