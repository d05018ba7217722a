"""The allowed-flow engine: which flows the cluster's NetworkPolicies allow.

A flow A -> B is allowed on a port when A's egress allows B on it and B's
ingress allows A on it (a side that no policy isolates allows everything).
The engine never enumerates pod pairs port by port:

* selectors are evaluated once each against label indexes (set algebra);
* pod variants that no policy can tell apart (same selecting policies, same
  rule memberships, same referenced named ports, same host networking) form
  one class, and flows are computed between classes, visiting only the class
  pairs where both sides could allow something;
* ports are ranges and external addresses are intervals; class flows are
  expanded to workload pairs at the end.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from compliance import addresses
from compliance.addresses import AddrSet
from compliance.admintiers import (
    Decision,
    Tier,
    compile_admin,
    decide,
    extend_tier,
    named_egress,
    side_of,
)
from compliance.admintiers import egress_external as admin_egress_external
from compliance.gcpause import gc_paused
from compliance.intervals import normalise
from compliance.model import Cluster, ContainerPort, Peer, PodVariant, Policy, Rule, WorkloadRef
from compliance.ports import PortSet, union_all
from compliance.selectors import LabelSelector, select_indexed
from compliance.tiers import AdminPolicy

# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True, order=True)
class RuleRef:
    """One rule of one policy: what the auditor asks for first ("which rule allows this?")."""

    namespace: str
    policy: str
    direction: str  # "ingress" | "egress"
    index: int
    kind: str = ""
    """"" for NetworkPolicy; `anp`, `banp` or `cnp` for the cluster-wide dialects."""
    label: str = ""
    """An admin rule's name, or its index when unnamed."""

    def __str__(self) -> str:
        if self.kind:
            return f"{self.kind}/{self.policy} {self.direction}[{self.label}]"
        return f"{self.namespace}/{self.policy} {self.direction}[{self.index}]"

    @property
    def policy_id(self) -> str:
        return f"{self.kind}/{self.policy}" if self.kind else f"{self.namespace}/{self.policy}"


@dataclass(frozen=True, slots=True)
class Side:
    """Why one side (the source's egress, or the destination's ingress) lets a flow pass.

    Either rules of policies that isolate that side, or one of three reasons why no
    rule is needed: no policy isolates it, the pod uses the host network (policies
    are not reliably enforced there), or the endpoint is outside the cluster.
    """

    rules: tuple[RuleRef, ...] = ()
    not_isolated: bool = False
    host_network: bool = False
    external: bool = False
    via_pass: tuple[RuleRef, ...] = ()
    """NetworkPolicy rules among `rules` that decide because an admin rule passed."""

    def describe(self) -> str:
        parts = [f"pass -> {r}" if r in self.via_pass else str(r) for r in self.rules]
        if self.not_isolated:
            parts.append("not isolated")
        if self.host_network:
            parts.append("hostNetwork (not enforced)")
        if self.external:
            parts.append("outside the cluster")
        return ", ".join(parts)

    def merge(self, other: Side) -> Side:
        if other == self:
            return self
        return Side(
            tuple(sorted(set(self.rules) | set(other.rules))),
            self.not_isolated or other.not_isolated,
            self.host_network or other.host_network,
            self.external or other.external,
            tuple(sorted(set(self.via_pass) | set(other.via_pass))),
        )


NOT_ISOLATED = Side(not_isolated=True)
HOST_NETWORK = Side(host_network=True)
EXTERNAL = Side(external=True)


@dataclass(frozen=True, slots=True)
class External:
    """Addresses outside the cluster's pods (what `ipBlock` speaks of)."""

    addresses: AddrSet

    @property
    def cidrs(self) -> tuple[str, ...]:
        return self.addresses.to_cidrs()

    def __str__(self) -> str:
        return self.addresses.describe()


Endpoint = WorkloadRef | External


@dataclass(frozen=True, slots=True, order=True)
class ExternalName:
    """Destinations named by an admin `domainNames` peer. The names are never resolved:
    the addresses behind them are unknown to the analysis, so these flows are kept apart
    from `FlowGraph.flows` (whose external endpoints are addresses)."""

    names: tuple[str, ...]

    def __str__(self) -> str:
        return "name:" + ", ".join(self.names)


class Flow(NamedTuple):
    """One allowed flow. A tuple, because clusters with open namespaces have
    hundreds of thousands of them and tuples are the cheapest to build."""

    src: Endpoint
    dst: Endpoint
    connections: PortSet
    egress: Side
    ingress: Side

    @property
    def self_flow(self) -> bool:
        """Between replicas of one workload (clustering, replication)."""
        return self.src == self.dst


Pair = tuple[PortSet, "Side", "Side"]
"""What a class pair allows, and why on each side."""


class SourceRow(NamedTuple):
    """One source class's flows to other classes: the entries of `shared` (a list other
    sources may share) whose destination is not in `skip`, and those of `own`."""

    src: int
    shared: list[tuple[int, Pair]]
    skip: set[int]
    own: list[tuple[int, Pair]]


class NamedFlow(NamedTuple):
    """Egress an admin rule allows to domain names (the ingress side is outside)."""

    src: WorkloadRef
    dst: ExternalName
    connections: PortSet
    egress: Side
    ingress: Side

    @property
    def self_flow(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Isolation:
    ingress: bool
    egress: bool
    host_network: bool
    ingress_policies: tuple[str, ...]
    egress_policies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What one rule selects, for checks that judge rules rather than flows
    (allow-all rules, wildcard peers, rules that never take effect)."""

    ref: RuleRef
    selects: tuple[WorkloadRef, ...]
    """Workloads the policy's podSelector selects (the rule protects these)."""
    peers: tuple[WorkloadRef, ...] | None
    """Workloads its peers match; None when it matches every pod of the cluster."""
    addresses: AddrSet
    """External addresses its peers match (ipBlock, or everything when `from`/`to` is omitted)."""
    all_ports: bool
    ports: PortSet
    """Numeric ports (named ports resolve per destination and are not included)."""
    named: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class FlowGraph:
    flows: tuple[Flow, ...]
    isolation: dict[WorkloadRef, Isolation] = field(default_factory=dict)
    rules: tuple[RuleInfo, ...] = ()
    """Every rule of every policy, in policy order."""
    policy_selects: dict[str, tuple[WorkloadRef, ...]] = field(default_factory=dict)
    """Policy ID -> the workloads its podSelector selects."""
    admin_selects: dict[str, tuple[WorkloadRef, ...]] = field(default_factory=dict)
    """Admin policy ID (`anp/name`) -> the workloads its subject selects."""
    warnings: tuple[str, ...] = ()
    named_flows: tuple[NamedFlow, ...] = ()
    """Egress to `domainNames` destinations, by source then names (see `NamedFlow`)."""
    classes: int = 0
    """How many indistinguishable pod classes the engine worked on (for benchmarks)."""


# --------------------------------------------------------------------------- engine


@dataclass(slots=True)
class CompiledRule:
    ref: RuleRef
    pods: frozenset[int] | None
    """Pod variants the peers select; None when the rule matches every peer."""
    addresses: AddrSet
    numeric: PortSet
    named: tuple[tuple[str, str], ...]
    """(protocol, name) entries to resolve against the destination's container ports."""
    all_ports: bool
    classes: set[int] = field(default_factory=set)
    action: str = "allow"
    tier: str = ""
    """"" for NetworkPolicy; `admin` or `baseline` for the cluster-wide dialects."""
    maybe: frozenset[int] = frozenset()
    """Pods an admin `networks` peer may match (addresses unknown)."""
    domains: tuple[str, ...] = ()
    maybe_classes: set[int] = field(default_factory=set)
    uid: int = -1
    """Its position among the engine's rules (NetworkPolicy first), for cache keys."""

    def ports_for(self, dst_ports: Sequence[ContainerPort] | None) -> PortSet:
        """The rule's ports towards a destination with these container ports (None: external)."""
        if self.all_ports:
            return PortSet.all()
        if not self.named or not dst_ports:
            return self.numeric
        extra = [
            PortSet.of(cp.protocol, cp.port)
            for cp in dst_ports
            if cp.name is not None and (cp.protocol, cp.name) in self.named
        ]
        return self.numeric.union(union_all(extra)) if extra else self.numeric


@dataclass(slots=True)
class PodClass:
    index: int
    members: list[int]
    ports: tuple[ContainerPort, ...]
    host_network: bool
    ingress_rules: list[CompiledRule]
    egress_rules: list[CompiledRule]
    ingress_policies: tuple[int, ...]
    egress_policies: tuple[int, ...]
    ingress_ports: list[PortSet] = field(default_factory=list)
    """`ingress_rules[i]` resolved against this class's own container ports."""
    admin_ingress: list[CompiledRule] = field(default_factory=list)
    admin_egress: list[CompiledRule] = field(default_factory=list)
    baseline_ingress: list[CompiledRule] = field(default_factory=list)
    baseline_egress: list[CompiledRule] = field(default_factory=list)
    """Admin rules whose subject holds this class, in evaluation order (`admintiers`)."""

    @property
    def ingress_open(self) -> bool:
        """Every peer may come in: no NetworkPolicy and no admin rule governs it."""
        return self.host_network or not (
            self.ingress_policies or self.admin_ingress or self.baseline_ingress
        )

    @property
    def egress_open(self) -> bool:
        """Every pod may be reached: no NetworkPolicy isolates it, and its admin rules
        can match no pod (only `networks` Deny rules whose pods are all in doubt, which
        are read as not matching them: see `Engine.readings`)."""
        if self.host_network:
            return True
        if self.egress_policies:
            return False
        return all(
            not r.classes and (r.action == "deny" or not r.maybe_classes)
            for r in (*self.admin_egress, *self.baseline_egress)
        )

    @property
    def np_ingress_open(self) -> bool:
        """No NetworkPolicy isolates it (what `Isolation` and external ingress speak of)."""
        return self.host_network or not self.ingress_policies

    @property
    def np_egress_open(self) -> bool:
        return self.host_network or not self.egress_policies


class Engine:
    """Selections, rule compilation and pod classes for one cluster."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.warnings: list[str] = []
        self.pods: list[PodVariant] = [v for w in cluster.workloads for v in w.variants]
        self.refs = [w.ref for w in cluster.workloads]  # sorted by namespace, name, kind
        self.pod_rank = [r for r, w in enumerate(cluster.workloads) for _ in w.variants]
        self._index_labels()
        self.rules: list[CompiledRule] = []
        self.policy_pods: list[frozenset[int]] = []
        self._compile_policies()
        self.admin: list[tuple[AdminPolicy, str, frozenset[int], CompiledRule]] = []
        self.admin_subjects: dict[str, frozenset[int]] = {}
        self.plain_pods = sum(1 for p in self.pods if not p.host_network)
        self._tiers: dict[tuple[object, ...], Tier] = {}
        self._external: dict[tuple[object, ...], list[tuple[AddrSet, PortSet, Side]]] = {}
        self._decided: dict[tuple[object, ...], list[Decision]] = {}
        self._side_cache: dict[tuple[int, PortSet, bool], tuple[list[Decision], Side]] = {}
        self.open_decisions = [Decision(PortSet.all(), True, None)]
        """A side no rule governs: everything allowed (one list, shared)."""
        if cluster.admin_policies:
            self.admin = compile_admin(self)
            for uid, rule in enumerate([*self.rules, *(a[3] for a in self.admin)]):
                rule.uid = uid
        self._build_classes()

    def workloads_of(self, pods: Iterable[int]) -> tuple[WorkloadRef, ...]:
        """The workloads of these pod variants, sorted (by rank: comparing refs is slow)."""
        rank, refs = self.pod_rank, self.refs
        return tuple(refs[r] for r in sorted({rank[i] for i in pods}))

    # ---- selection

    def _index_labels(self) -> None:
        self.by_ns: dict[str, set[int]] = defaultdict(set)
        self.pod_by_label: dict[tuple[str, str], set[int]] = defaultdict(set)
        self.pod_by_key: dict[str, set[int]] = defaultdict(set)
        for i, pod in enumerate(self.pods):
            self.by_ns[pod.workload.namespace].add(i)
            for k, v in pod.labels:
                self.pod_by_label[(k, v)].add(i)
                self.pod_by_key[k].add(i)
        self.all_pods = frozenset(range(len(self.pods)))
        self.ns_names = {ns.name for ns in self.cluster.namespaces}
        self.ns_by_label: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.ns_by_key: dict[str, set[str]] = defaultdict(set)
        for ns in self.cluster.namespaces:
            for k, v in ns.labels:
                self.ns_by_label[(k, v)].add(ns.name)
                self.ns_by_key[k].add(ns.name)
        self._cache: dict[object, frozenset[int]] = {}

    def select_pods(
        self, namespace: str | None, peer_ns: LabelSelector | None, pod_sel: LabelSelector | None
    ) -> frozenset[int]:
        """Pods matched by a peer (or a policy's podSelector when `peer_ns` is None)."""
        key = (namespace, peer_ns, pod_sel)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if peer_ns is None:
            universe: frozenset[int] | set[int] = frozenset(self.by_ns.get(namespace or "", ()))
        else:
            names = select_indexed(peer_ns, self.ns_names, self.ns_by_label, self.ns_by_key)
            if len(names) == len(self.ns_names):
                universe = self.all_pods
            else:
                universe = set().union(*(self.by_ns.get(n, ()) for n in names))
        if pod_sel is None or pod_sel.selects_all:
            result = frozenset(universe)
        else:
            result = frozenset(
                select_indexed(pod_sel, universe, self.pod_by_label, self.pod_by_key)
            )
        self._cache[key] = result
        return result

    # ---- rules

    def _compile_policies(self) -> None:
        for pol in self.cluster.policies:
            selected = self.select_pods(pol.namespace, None, pol.pod_selector)
            self.policy_pods.append(selected)
            if not selected:
                self.warnings.append(
                    f"{pol.source}: NetworkPolicy {pol.id}: spec.podSelector: "
                    f"{pol.pod_selector.describe()} selects no pods in namespace {pol.namespace}"
                )
            for direction, rules in (("ingress", pol.ingress), ("egress", pol.egress)):
                for i, rule in enumerate(rules):
                    self.rules.append(self._compile_rule(pol, direction, i, rule, selected))

    def _compile_rule(
        self, pol: Policy, direction: str, index: int, rule: Rule, selected: frozenset[int]
    ) -> CompiledRule:
        ref = RuleRef(pol.namespace, pol.name, direction, index)
        peers_key = "from" if direction == "ingress" else "to"
        pods: frozenset[int] | None
        if rule.peers is None:
            pods, addrs = None, AddrSet.all()
        else:
            matched: set[int] = set()
            blocks: list[AddrSet] = []
            for j, peer in enumerate(rule.peers):
                if peer.ip_block is not None:
                    blocks.append(peer.ip_block.addresses)
                    continue
                found = self._peer_pods(pol, peer)
                if not found:
                    self.warnings.append(
                        f"{pol.source}: NetworkPolicy {pol.id}: spec.{direction}[{index}]."
                        f"{peers_key}[{j}]: {peer.describe()} selects no pods"
                    )
                matched |= found
            # A rule that matches every pod is kept as None: no class needs to be listed.
            pods = None if len(matched) == len(self.pods) and self.pods else frozenset(matched)
            addrs = addresses.union_all(blocks)
        numeric: list[PortSet] = []
        named: list[tuple[str, str]] = []
        all_ports = rule.ports is None
        for spec in rule.ports or ():
            if spec.port is None:
                numeric.append(PortSet.protocol(spec.protocol))
            elif isinstance(spec.port, str):
                named.append((spec.protocol, spec.port))
            else:
                numeric.append(PortSet.of(spec.protocol, spec.port, spec.end_port))
        compiled = CompiledRule(
            ref, pods, addrs, union_all(numeric), tuple(sorted(set(named))), all_ports
        )
        for proto, name in compiled.named:
            holders = selected if direction == "ingress" else (pods if pods is not None else None)
            candidates = self.all_pods if holders is None else holders
            if not any(
                cp.name == name and cp.protocol == proto
                for i in candidates
                for cp in self.pods[i].ports
            ):
                whose = "selected pod" if direction == "ingress" else "destination pod"
                self.warnings.append(
                    f"{pol.source}: NetworkPolicy {pol.id}: spec.{direction}[{index}].ports: "
                    f"named port {name!r} ({proto}) is declared by no {whose}; it allows nothing"
                )
        return compiled

    def _peer_pods(self, pol: Policy, peer: Peer) -> frozenset[int]:
        if peer.namespace_selector is None:
            return self.select_pods(pol.namespace, None, peer.pod_selector)
        return self.select_pods(None, peer.namespace_selector, peer.pod_selector)

    # ---- classes

    def _build_classes(self) -> None:
        n = len(self.pods)
        ingress_pols: list[list[int]] = [[] for _ in range(n)]
        egress_pols: list[list[int]] = [[] for _ in range(n)]
        for p, (pol, pods) in enumerate(zip(self.cluster.policies, self.policy_pods, strict=True)):
            for i in pods:
                if pol.isolates_ingress:
                    ingress_pols[i].append(p)
                if pol.isolates_egress:
                    egress_pols[i].append(p)
        member_of: list[list[int]] = [[] for _ in range(n)]
        address_rules = []
        for r, rule in enumerate(self.rules):
            if rule.pods is not None:
                for i in rule.pods:
                    member_of[i].append(r)
            if rule.pods is not None and rule.addresses:
                address_rules.append(r)
        referenced_names = {name for rule in self.rules for _, name in rule.named}
        referenced_names |= {name for *_, rule in self.admin for _, name in rule.named}
        admin_key: list[list[int]] = [[] for _ in range(n)]
        for a, (_, _, subject, rule) in enumerate(self.admin):
            # Codes: 4a subject, 4a+1 peer, 4a+2 maybe a peer (unknown addresses).
            for i in subject:
                admin_key[i].append(4 * a)
            for i in rule.pods or ():
                admin_key[i].append(4 * a + 1)
            for i in rule.maybe:
                admin_key[i].append(4 * a + 2)
        for i, pod in enumerate(self.pods):
            if pod.host_network and address_rules:
                # Host-network traffic carries the node's address, which any ipBlock may hold.
                member_of[i] = sorted(set(member_of[i]) | set(address_rules))
        by_key: dict[tuple[object, ...], int] = {}
        self.classes: list[PodClass] = []
        self.admin_codes: list[tuple[int, ...]] = []
        """Per class (with admin policies), its codes in `admin_key`'s form."""
        self.class_of: list[int] = [0] * n
        rules_by_policy: dict[int, tuple[list[CompiledRule], list[CompiledRule]]] = {}
        cursor = 0
        for p, pol in enumerate(self.cluster.policies):
            k_in, k_eg = len(pol.ingress), len(pol.egress)
            rules_by_policy[p] = (
                self.rules[cursor : cursor + k_in],
                self.rules[cursor + k_in : cursor + k_in + k_eg],
            )
            cursor += k_in + k_eg
        for i, pod in enumerate(self.pods):
            ports = tuple(cp for cp in pod.ports if cp.name in referenced_names)
            key: tuple[object, ...] = (
                tuple(ingress_pols[i]),
                tuple(egress_pols[i]),
                tuple(member_of[i]),
                ports,
                pod.host_network,
            )
            if self.admin:
                key = (*key, tuple(sorted(admin_key[i])))
            c = by_key.get(key)
            if c is None:
                c = len(self.classes)
                by_key[key] = c
                self.classes.append(
                    PodClass(
                        index=c,
                        members=[],
                        ports=ports,
                        host_network=pod.host_network,
                        ingress_rules=[r for p in ingress_pols[i] for r in rules_by_policy[p][0]],
                        egress_rules=[r for p in egress_pols[i] for r in rules_by_policy[p][1]],
                        ingress_policies=tuple(ingress_pols[i]),
                        egress_policies=tuple(egress_pols[i]),
                    )
                )
                for r in member_of[i]:
                    self.rules[r].classes.add(c)
                if self.admin:
                    self._admin_class(self.classes[c], admin_key[i])
                    self.admin_codes.append(tuple(sorted(admin_key[i])))
            self.classes[c].members.append(i)
            self.class_of[i] = c
        for cls in self.classes:
            cls.ingress_ports = [r.ports_for(cls.ports) for r in cls.ingress_rules]
        self._profiles()

    def _profiles(self) -> None:
        """What `admintiers.decide` reads of a class, per direction, as an interned id:
        classes alike there share decisions (the caches key on these, not on classes)."""
        eg: dict[object, int] = {}
        ing: dict[object, int] = {}
        self.eg_profile: list[int] = []
        self.in_profile: list[int] = []
        for c in self.classes:
            key: object = (
                tuple(r.uid for r in c.admin_egress),
                tuple(r.uid for r in c.baseline_egress),
                bool(c.egress_policies),
                c.host_network,
            )
            self.eg_profile.append(eg.setdefault(key, len(eg)))
            key = (
                tuple(r.uid for r in c.admin_ingress),
                tuple(r.uid for r in c.baseline_ingress),
                bool(c.ingress_policies),
                c.host_network,
                c.ports,
            )
            self.in_profile.append(ing.setdefault(key, len(ing)))

    def _admin_class(self, cls: PodClass, codes: list[int]) -> None:
        for code in codes:
            _, direction, _, rule = self.admin[code // 4]
            kind = code % 4
            if kind == 1:
                rule.classes.add(cls.index)
            elif kind == 2:
                rule.maybe_classes.add(cls.index)
            elif rule.tier == "admin":
                (cls.admin_ingress if direction == "ingress" else cls.admin_egress).append(rule)
            else:
                (cls.baseline_ingress if direction == "ingress" else cls.baseline_egress).append(
                    rule
                )

    # ---- one side at a time (also used by `explain`)

    def egress_towards(self, src: PodClass, dst: PodClass) -> list[tuple[CompiledRule, PortSet]]:
        """The source's egress rules that match `dst`, with the ports they allow it."""
        out = []
        for rule in src.egress_rules:
            if rule.pods is None or dst.index in rule.classes:
                ports = rule.ports_for(dst.ports)
                if ports:
                    out.append((rule, ports))
        return out

    def ingress_from(self, dst: PodClass, src: PodClass) -> list[tuple[CompiledRule, PortSet]]:
        out = []
        for rule, ports in zip(dst.ingress_rules, dst.ingress_ports, strict=True):
            if (rule.pods is None or src.index in rule.classes) and ports:
                out.append((rule, ports))
        return out

    def egress_external(self, src: PodClass) -> list[tuple[CompiledRule, AddrSet, PortSet]]:
        out = []
        for rule in src.egress_rules:
            if rule.addresses:
                ports = rule.ports_for(None)
                if ports:
                    out.append((rule, rule.addresses, ports))
        return out

    def ingress_external(self, dst: PodClass) -> list[tuple[CompiledRule, AddrSet, PortSet]]:
        out = []
        for rule, ports in zip(dst.ingress_rules, dst.ingress_ports, strict=True):
            if rule.addresses and ports:
                out.append((rule, rule.addresses, ports))
        return out

    # ---- all flows

    def class_flows(self) -> list[SourceRow]:
        """Flows between classes, except where both sides are open.

        Open egress to open ingress allows everything; that block is the bulk of
        the output in clusters with unprotected namespaces, so `compute_flows`
        expands it directly instead of going through per-pair evaluation.
        """
        if self.admin:
            from compliance.adminpairs import AdminPairs

            return AdminPairs(self).run()
        classes = self.classes
        open_ingress = {c.index for c in classes if c.ingress_open}
        universal_ingress: set[int] = set()
        admitted_by: dict[int, set[int]] = defaultdict(set)
        for c in classes:
            if c.ingress_open:
                continue
            for rule in c.ingress_rules:
                if rule.pods is None:
                    universal_ingress.add(c.index)
                else:
                    for s in rule.classes:
                        admitted_by[s].add(c.index)
        base_ingress = open_ingress | universal_ingress
        result: list[SourceRow] = []
        for src in classes:
            own: list[tuple[int, Pair]] = []
            result.append(SourceRow(src.index, [], set(), own))
            admitting = admitted_by.get(src.index, set())
            if src.egress_open:
                # open x open is expanded by the caller; only isolated destinations here
                cands = (universal_ingress | admitting) - open_ingress
            elif any(r.pods is None for r in src.egress_rules):
                cands = base_ingress | admitting
            else:
                reach: set[int] = set()
                for rule in src.egress_rules:
                    reach |= rule.classes
                cands = reach & (base_ingress | admitting)
            for d in cands:
                dst = classes[d]
                if src.egress_open:
                    eg_ports = PortSet.all()
                    eg_rules: list[tuple[CompiledRule, PortSet]] = []
                else:
                    eg_rules = self.egress_towards(src, dst)
                    if not eg_rules:
                        continue
                    eg_ports = union_all(p for _, p in eg_rules)
                if dst.ingress_open:
                    in_ports = PortSet.all()
                    in_rules: list[tuple[CompiledRule, PortSet]] = []
                else:
                    in_rules = self.ingress_from(dst, src)
                    if not in_rules:
                        continue
                    in_ports = union_all(p for _, p in in_rules)
                allowed = eg_ports & in_ports
                if not allowed:
                    continue
                own.append(
                    (
                        d,
                        (
                            allowed,
                            _side(src, eg_rules, allowed, egress=True),
                            _side(dst, in_rules, allowed, egress=False),
                        ),
                    )
                )
        return result

    # ---- with admin policies: first match over the tiers

    def decide_pair(
        self, src: PodClass, dst: PodClass, reading: bool = True
    ) -> tuple[list[Decision], list[Decision]]:
        """Both sides of src -> dst, port range by port range (`reading`: whether pods of
        unknown address count as inside `networks` peers)."""
        return self._egress_decisions(src, dst, reading), self._ingress_decisions(src, dst)

    def _egress_decisions(self, src: PodClass, dst: PodClass, reading: bool) -> list[Decision]:
        if src.egress_open:
            return self.open_decisions
        d = dst.index
        matched = tuple(
            r.uid
            for r in (*src.admin_egress, *src.baseline_egress)
            if d in r.classes or (reading and d in r.maybe_classes)
        )
        np_rules = self.egress_towards(src, dst)
        # Decisions depend on the peer only through the rules it matches (and the named
        # ports it declares): pairs that match the same rules share them.
        key = (
            self.eg_profile[src.index],
            True,
            matched,
            tuple(r.uid for r, _ in np_rules),
            dst.ports,
        )
        hit = self._decided.get(key)
        if hit is None:
            hit = self._decided[key] = self.decide_side(src, True, matched, dst.ports, np_rules)
        return hit

    def _ingress_decisions(self, src: PodClass, dst: PodClass) -> list[Decision]:
        if dst.ingress_open:
            return self.open_decisions
        s = src.index
        matched = tuple(
            r.uid for r in (*dst.admin_ingress, *dst.baseline_ingress) if s in r.classes
        )
        np_rules = self.ingress_from(dst, src)
        key = (self.in_profile[dst.index], False, matched, tuple(r.uid for r, _ in np_rules), ())
        hit = self._decided.get(key)
        if hit is None:
            hit = self._decided[key] = self.decide_side(dst, False, matched, dst.ports, np_rules)
        return hit

    def decide_side(
        self,
        cls: PodClass,
        egress: bool,
        matched: tuple[int, ...] | set[int],
        dst_ports: tuple[ContainerPort, ...],
        np_rules: list[tuple[CompiledRule, PortSet]],
    ) -> list[Decision]:
        """`decide` for the admin rules (by uid) in `matched`, the admin tier's first match
        shared by every peer that matches the same rules whatever NetworkPolicy says."""
        ids = set(matched)
        # The tier's first match reads only the admin rules that match, in order, and
        # each prefix of them once: most peers share their first matching rules.
        tier: Tier = ([], PortSet.all(), PortSet.empty())
        uids: tuple[int, ...] = ()
        named = False
        for rule in cls.admin_egress if egress else cls.admin_ingress:
            if not tier[1]:
                break  # every port decided: no later rule is reached
            if rule.uid not in ids:
                continue
            uids += (rule.uid,)
            named = named or bool(rule.named)
            key = (uids, dst_ports if named else ())
            hit = self._tiers.get(key)
            if hit is None:
                hit = self._tiers[key] = extend_tier(tier, rule, dst_ports)
            tier = hit
        return decide(self, cls, egress, lambda r: r.uid in ids, dst_ports, np_rules, tier)

    def decided_side(self, cls: PodClass, decisions: list[Decision], allowed: PortSet) -> Side:
        # Host networking is part of the key: an open side's decisions are one shared list.
        key = (id(decisions), allowed, cls.host_network)
        hit = self._side_cache.get(key)
        if hit is None or hit[0] is not decisions:
            hit = self._side_cache[key] = (decisions, _decided_side(cls, decisions, allowed))
        return hit[1]


def _decided_side(cls: PodClass, decisions: list[Decision], allowed: PortSet) -> Side:
    if cls.host_network:
        return HOST_NETWORK
    side = side_of(cls, decisions, allowed)
    assert isinstance(side, Side)
    return NOT_ISOLATED if side == NOT_ISOLATED else side


def _side(
    cls: PodClass, rules: list[tuple[CompiledRule, PortSet]], allowed: PortSet, egress: bool
) -> Side:
    if cls.host_network:
        return HOST_NETWORK
    if cls.egress_open if egress else cls.ingress_open:
        return NOT_ISOLATED
    return Side(tuple(sorted({r.ref for r, p in rules if p & allowed})))


# --------------------------------------------------------------------------- external


Contribution = tuple[AddrSet, PortSet, Side]


def partition(contributions: Sequence[Contribution]) -> list[Contribution]:
    """Split the address space by what is allowed there; one entry per distinct port set.

    Each contribution allows its ports towards its addresses; where several
    overlap their ports add up. The result groups addresses that end up with the
    same ports, with the sides (rules) that contribute to them.

    One sweep per family over the contributions' boundaries, keeping the set of
    contributions that cover the current segment: the work grows with the number
    of boundaries times the contributions covering each segment, not with every
    segment times every contribution (an allowlist of 10,000 partner /32s is
    20,000 segments, each covered by one rule).
    """
    if not contributions:
        return []
    if len(contributions) == 1:
        return list(contributions)
    groups: dict[PortSet, _Group] = {}
    # Keyed by the covering contributions, whatever the family; the values stay alive for
    # the whole call, so `_Group` can recognise a side list it has seen by its id.
    seen: dict[frozenset[int], tuple[PortSet, list[Side]]] = {}
    for family in ("v4", "v6"):
        events: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for idx, (addrs, _, _) in enumerate(contributions):
            for lo, hi in getattr(addrs, family):
                events[lo].append((idx, 1))
                events[hi + 1].append((idx, -1))
        active: dict[int, int] = {}
        for lo, nxt in itertools.pairwise(sorted(events)):
            for idx, delta in events[lo]:
                count = active.get(idx, 0) + delta
                if count:
                    active[idx] = count
                else:
                    del active[idx]
            if not active:
                continue
            covering = frozenset(active)
            hit = seen.get(covering)
            if hit is None:
                chosen = sorted(covering)
                ports = union_all(contributions[i][1] for i in chosen)
                hit = (ports, [contributions[i][2] for i in chosen])
                seen[covering] = hit
            ports, sides = hit
            if not ports:
                continue
            seg = (lo, nxt - 1)
            group = groups.get(ports)
            if group is None:
                group = groups[ports] = _Group()
            group.add(family, seg, sides)
    return [(group.addresses(), ports, group.side()) for ports, group in groups.items()]


class _Group:
    """Addresses that end up with one port set, and every side that contributes there."""

    __slots__ = ("passed", "rules", "seen", "sides", "v4", "v6")

    def __init__(self) -> None:
        self.v4: list[tuple[int, int]] = []
        self.v6: list[tuple[int, int]] = []
        self.rules: set[RuleRef] = set()
        self.passed: set[RuleRef] = set()
        self.sides: set[Side] = set()
        self.seen: set[int] = set()

    def add(self, family: str, seg: tuple[int, int], sides: list[Side]) -> None:
        (self.v4 if family == "v4" else self.v6).append(seg)
        if id(sides) in self.seen:
            return
        self.seen.add(id(sides))
        for side in sides:
            if side not in self.sides:
                self.sides.add(side)
                self.rules.update(side.rules)
                self.passed.update(side.via_pass)

    def addresses(self) -> AddrSet:
        return AddrSet(normalise(self.v4), normalise(self.v6))

    def side(self) -> Side:
        if len(self.sides) == 1:
            return next(iter(self.sides))
        return Side(
            tuple(sorted(self.rules)),
            any(s.not_isolated for s in self.sides),
            any(s.host_network for s in self.sides),
            any(s.external for s in self.sides),
            tuple(sorted(self.passed)),
        )


def _egress_external(engine: Engine, cls: PodClass) -> list[Contribution]:
    if (cls.admin_egress or cls.baseline_egress) and not cls.host_network:
        # Decided by the class's tiers and its NetworkPolicy rules that name addresses.
        key = (
            engine.eg_profile[cls.index],
            tuple(r.uid for r in cls.egress_rules if r.addresses),
        )
        hit = engine._external.get(key)
        if hit is None:
            hit = engine._external[key] = [
                (a, p, s)  # type: ignore[misc]
                for a, p, s in admin_egress_external(engine, cls)
            ]
        return hit
    if cls.egress_open:
        return [(AddrSet.all(), PortSet.all(), HOST_NETWORK if cls.host_network else NOT_ISOLATED)]
    return [(a, p, Side((r.ref,))) for r, a, p in engine.egress_external(cls)]


def _ingress_external(engine: Engine, cls: PodClass) -> list[Contribution]:
    # Admin ingress peers are namespaces and pods only: outside addresses never match.
    if cls.np_ingress_open:
        return [(AddrSet.all(), PortSet.all(), HOST_NETWORK if cls.host_network else NOT_ISOLATED)]
    return [(a, p, Side((r.ref,))) for r, a, p in engine.ingress_external(cls)]


# --------------------------------------------------------------------------- entry point


def compute_flows(cluster: Cluster) -> FlowGraph:
    """Every allowed flow between workloads and to or from outside the cluster."""
    with gc_paused():
        return _compute_flows(cluster)


def _compute_flows(cluster: Cluster) -> FlowGraph:
    engine = Engine(cluster)
    refs = engine.refs
    class_ranks: list[list[int]] = [[] for _ in engine.classes]
    rank_classes: list[list[int]] = [[] for _ in refs]
    for cls in engine.classes:
        ranks = sorted({engine.pod_rank[i] for i in cls.members})
        class_ranks[cls.index] = ranks
        for r in ranks:
            rank_classes[r].append(cls.index)

    # Workload pairs from class pairs, one row per source; a pair reached through several
    # classes merges. Rows keyed by destination rank, not (src, dst) tuples: millions of
    # pairs on a large cluster, and the tuples were a fifth of the memory.
    merged: list[dict[int, Pair] | None] = [None] * len(refs)
    expanded: dict[int, _RankRow] = {}
    for s, shared, skip, own in engine.class_flows():
        base: dict[int, Pair] | None = None
        if shared:
            # A row shared by many sources goes to ranks once; each source copies it and
            # redoes only the ranks its skipped classes reach.
            hit = expanded.get(id(shared))
            if hit is None or hit.entries is not shared:
                hit = expanded[id(shared)] = _RankRow.of(shared, class_ranks)
            base = dict(hit.row)
            for rd in {rd for d in skip for rd in class_ranks[d] if rd in base}:
                res = None
                for d, pair in hit.by_rank[rd]:
                    if d not in skip:
                        res = pair if res is None else merge_pair(res, pair)
                if res is None:
                    del base[rd]
                else:
                    base[rd] = res
        for i, rs in enumerate(class_ranks[s]):
            row = merged[rs]
            if row is None:
                row = merged[rs] = (base if i == 0 else dict(base)) if base is not None else {}
            elif base:
                for rd, res in base.items():
                    prev = row.get(rd)
                    row[rd] = res if prev is None else merge_pair(prev, res)
            for d, res in own:
                for rd in class_ranks[d]:
                    prev = row.get(rd)
                    row[rd] = res if prev is None else merge_pair(prev, res)

    # The open block: every open-egress workload to every open-ingress workload.
    open_egress: dict[int, Side] = {}
    open_ingress: list[tuple[int, Side]] = []
    for r, cids in enumerate(rank_classes):
        eg = [engine.classes[c] for c in cids if engine.classes[c].egress_open]
        if eg:
            open_egress[r] = _open_side(eg)
        ing = [engine.classes[c] for c in cids if engine.classes[c].ingress_open]
        if ing:
            open_ingress.append((r, _open_side(ing)))
    open_ranks = {r for r, _ in open_ingress}
    everything = PortSet.all()

    ext_cache: dict[tuple[str, tuple[int, ...]], list[Contribution]] = {}

    def external(direction: str, r: int) -> list[Contribution]:
        """The address partition of workload `r`'s classes, in address order."""
        key = (direction, tuple(rank_classes[r]))
        parts = ext_cache.get(key)
        if parts is None:
            fn = _egress_external if direction == "egress" else _ingress_external
            cids = rank_classes[r]
            parts = partition([c for cid in cids for c in fn(engine, engine.classes[cid])])
            parts.sort(key=lambda part: (part[0].v4, part[0].v6))
            ext_cache[key] = parts
        return parts

    # Emitted in the contract's order, so no sort over millions of flows: by source rank,
    # then destination rank, each source's external destinations (by address) after its
    # workloads, and flows from outside the cluster last, by destination.
    flows: list[Flow] = []
    add = flows.append
    # What `Flow(...)` does, without its Python-level `__new__`: millions of calls.
    new = tuple.__new__
    for rs, src_ref in enumerate(refs):
        row = merged[rs] or {}
        merged[rs] = None
        eg_side = open_egress.get(rs)
        if eg_side is None:
            for rd in sorted(row):
                add(new(Flow, (src_ref, refs[rd], *row[rd])))
        else:
            dsts: Sequence[tuple[int, Side | None]] = open_ingress
            extra = [(rd, None) for rd in row if rd not in open_ranks]
            if extra:
                dsts = sorted([*open_ingress, *extra], key=_first)  # timsort finds the run
            for rd, in_side in dsts:
                if in_side is None:
                    add(new(Flow, (src_ref, refs[rd], *row[rd])))
                    continue
                res = (everything, eg_side, in_side)
                prev = row.get(rd)
                if prev is not None:
                    res = merge_pair(prev, res)
                add(new(Flow, (src_ref, refs[rd], *res)))
        for addrs, ports, side in external("egress", rs):
            add(Flow(src_ref, External(addrs), ports, side, EXTERNAL))
    for r, dst_ref in enumerate(refs):
        for addrs, ports, side in external("ingress", r):
            add(Flow(External(addrs), dst_ref, ports, EXTERNAL, side))

    rules, policy_selects = _rule_infos(cluster, engine)
    return FlowGraph(
        flows=tuple(flows),
        isolation=_isolation(cluster, engine, rank_classes),
        rules=rules,
        policy_selects=policy_selects,
        admin_selects={
            pid: engine.workloads_of(pods) for pid, pods in engine.admin_subjects.items()
        },
        warnings=tuple(engine.warnings),
        named_flows=_named_flows(engine, refs, rank_classes),
        classes=len(engine.classes),
    )


def _named_flows(
    engine: Engine, refs: list[WorkloadRef], rank_classes: list[list[int]]
) -> tuple[NamedFlow, ...]:
    """One flow per source, deciding rule and port set, naming every name it reaches
    there; a workload whose classes differ merges their ports per name and rule."""
    if not any(rule.domains for *_, rule in engine.admin):
        return ()
    per_class: dict[int, list[tuple[str, PortSet, RuleRef]]] = {}
    out = []
    for r, ref in enumerate(refs):
        ports: dict[tuple[str, RuleRef], PortSet] = {}
        for c in rank_classes[r]:
            if c not in per_class:
                per_class[c] = named_egress(engine, engine.classes[c])
            for name, p, rule in per_class[c]:
                prev = ports.get((name, rule))
                ports[(name, rule)] = p if prev is None else prev | p
        groups: dict[tuple[RuleRef, PortSet], list[str]] = defaultdict(list)
        for (name, rule), p in ports.items():
            groups[(rule, p)].append(name)
        flows = [
            NamedFlow(ref, ExternalName(tuple(sorted(names))), p, Side((rule,)), EXTERNAL)
            for (rule, p), names in groups.items()
        ]
        flows.sort(key=lambda f: (f.dst, f.egress.rules))
        out.extend(flows)
    return tuple(out)


def _rule_infos(
    cluster: Cluster, engine: Engine
) -> tuple[tuple[RuleInfo, ...], dict[str, tuple[WorkloadRef, ...]]]:
    workloads = engine.workloads_of

    selects = {
        pol.id: workloads(pods)
        for pol, pods in zip(cluster.policies, engine.policy_pods, strict=True)
    }
    by_policy = {(p.namespace, p.name): p for p in cluster.policies}
    infos = []
    for rule in engine.rules:
        pol = by_policy[(rule.ref.namespace, rule.ref.policy)]
        infos.append(
            RuleInfo(
                ref=rule.ref,
                selects=selects[pol.id],
                peers=None if rule.pods is None else workloads(rule.pods),
                addresses=rule.addresses,
                all_ports=rule.all_ports,
                ports=rule.numeric,
                named=rule.named,
            )
        )
    return tuple(infos), selects


@dataclass(slots=True)
class _RankRow:
    """A shared row of (destination class, pair) entries by destination rank: the merged
    pair per rank, and the entries behind each rank (to redo one without some classes)."""

    entries: list[tuple[int, Pair]]
    row: dict[int, Pair]
    by_rank: dict[int, list[tuple[int, Pair]]]

    @classmethod
    def of(cls, entries: list[tuple[int, Pair]], class_ranks: list[list[int]]) -> _RankRow:
        row: dict[int, Pair] = {}
        by_rank: dict[int, list[tuple[int, Pair]]] = defaultdict(list)
        for d, res in entries:
            for rd in class_ranks[d]:
                by_rank[rd].append((d, res))
                prev = row.get(rd)
                row[rd] = res if prev is None else merge_pair(prev, res)
        return cls(entries, row, by_rank)


def _first(item: tuple[int, Side | None]) -> int:
    return item[0]


def merge_pair(
    a: tuple[PortSet, Side, Side], b: tuple[PortSet, Side, Side]
) -> tuple[PortSet, Side, Side]:
    return (a[0] | b[0], a[1].merge(b[1]), a[2].merge(b[2]))


def _open_side(classes: list[PodClass]) -> Side:
    hostnet = any(c.host_network for c in classes)
    plain = any(not c.host_network for c in classes)
    if hostnet and plain:
        return NOT_ISOLATED.merge(HOST_NETWORK)
    return HOST_NETWORK if hostnet else NOT_ISOLATED


def _isolation(
    cluster: Cluster, engine: Engine, rank_classes: list[list[int]]
) -> dict[WorkloadRef, Isolation]:
    out = {}
    policies = cluster.policies
    for w, cids in zip(cluster.workloads, rank_classes, strict=True):
        classes = [engine.classes[c] for c in cids]
        out[w.ref] = Isolation(
            ingress=bool(classes) and all(not c.np_ingress_open for c in classes),
            egress=bool(classes) and all(not c.np_egress_open for c in classes),
            host_network=w.host_network,
            ingress_policies=tuple(
                sorted({policies[p].id for c in classes for p in c.ingress_policies})
            ),
            egress_policies=tuple(
                sorted({policies[p].id for c in classes for p in c.egress_policies})
            ),
        )
    return out
