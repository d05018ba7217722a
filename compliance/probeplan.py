"""Which connections to try in a live cluster to show that segmentation is enforced.

The flow graph says what the policies allow; only a probe from inside the cluster
shows that the CNI enforces it. A plan chooses probes that cover every zone
boundary (PCI DSS 11.4.5 asks for a segmentation test of every segmentation control):

- every allowed flow crossing a zone boundary, one port per port range (expect open);
- the denied flows that matter most (expect blocked): from each out-of-scope
  namespace into each `cde` and `datastore` workload on its declared ports; from
  the CDE to an internet address; between tenant zones; and from an out-of-scope
  workload to the CDE on a port the CDE allows to someone else, the case a wrong
  selector breaks first.

The plan is bounded (`max_probes`): one probe per boundary first, then the rest in
turn across the kinds above, so a cut plan still touches every boundary it can and
says how many it covers. Each probe carries the rules that decide it on each side,
worked out independently by `explain` and checked against the graph's verdict.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from compliance.errors import InternalError
from compliance.explain import ClassIndex, engine_classes, explain_targets
from compliance.flows import Engine, External, Flow, FlowGraph
from compliance.model import Cluster, WorkloadRef
from compliance.ports import PROTOCOLS, PortSet
from compliance.scope import Placement, Scope

INTERNET_PROBE = "203.0.113.10"
"""TEST-NET-3 (RFC 5737): an internet address no one answers on, so only a policy or
the network can decide the probe, never a remote server."""
INTERNET_PORT = 443
DEFAULT_MAX_PROBES = 200

_NO_ZONES: frozenset[str] = frozenset()
KIND_ORDER = ("selector", "allowed", "into-scope", "internet", "tenant")
"""Probe kinds in the order a cut plan favours them after covering each boundary."""


@dataclass(frozen=True, slots=True, order=True)
class Boundary:
    """One side of one zone's edge: traffic into the zone, or out of it."""

    zone: str
    direction: str  # "into" | "out of"

    def __str__(self) -> str:
        return f"{self.direction} {self.zone}"


@dataclass(frozen=True, slots=True)
class SideRules:
    allowed: bool
    by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Probe:
    id: str
    kind: str
    src: WorkloadRef
    dst: WorkloadRef | str
    protocol: str
    port: int
    expect: str  # "open" | "blocked"
    reason: str
    boundaries: tuple[Boundary, ...]
    egress: SideRules
    ingress: SideRules


@dataclass(frozen=True, slots=True)
class Coverage:
    boundaries_total: int
    boundaries_covered: int
    candidates: int
    chosen: int
    uncovered: tuple[Boundary, ...]
    from_outside: tuple[Boundary, ...] = ()
    """Boundaries that only sources outside the cluster cross: a probe from inside
    cannot test them; test them from outside (an external scan)."""
    from_host_network: tuple[Boundary, ...] = ()
    """Boundaries crossed by allowed flows from hostNetwork pods alone: such a probe
    would leave with the node's address, which policies do not govern."""

    @property
    def cut(self) -> bool:
        return self.chosen < self.candidates


@dataclass(frozen=True, slots=True)
class ProbePlan:
    cluster: str
    as_of: dt.datetime
    zones: tuple[str, ...]
    max_probes: int
    probes: tuple[Probe, ...]
    coverage: Coverage


class _Candidate(NamedTuple):
    """A probe before it is chosen (a tuple: hundreds of thousands are made)."""

    kind: str
    src: WorkloadRef
    dst: WorkloadRef | str
    protocol: str
    port: int
    expect: str
    reason: str
    boundaries: tuple[Boundary, ...]

    def key(self, rank: dict[WorkloadRef, int]) -> tuple[int, int, int, int, str, str, int]:
        """Kind, then source, destination (workloads before addresses), protocol, port."""
        dst = self.dst
        return (
            KIND_ORDER.index(self.kind),
            rank[self.src],
            *((0, rank[dst], "") if isinstance(dst, WorkloadRef) else (1, 0, dst)),
            self.protocol,
            self.port,
        )


def plan_probes(
    cluster: Cluster,
    graph: FlowGraph,
    scope: Scope,
    placement: Placement,
    zones: Sequence[str],
    as_of: dt.datetime,
    max_probes: int = DEFAULT_MAX_PROBES,
) -> ProbePlan:
    """Choose and explain the probes for the chosen zones."""
    planner = _Planner(cluster, graph, scope, placement, frozenset(zones))
    candidates = planner.candidates()
    chosen = _choose(candidates, max_probes, planner.rank)
    engine = Engine(cluster)
    classes = engine_classes(engine)
    probes = tuple(
        _explained(engine, classes, f"P-{i:04d}", c) for i, c in enumerate(chosen, start=1)
    )
    total = sorted({b for c in candidates for b in c.boundaries})
    covered = {b for c in chosen for b in c.boundaries}
    coverage = Coverage(
        boundaries_total=len(total),
        boundaries_covered=len(covered),
        candidates=len(candidates),
        chosen=len(chosen),
        uncovered=tuple(b for b in total if b not in covered),
        from_outside=tuple(planner.outside),
        from_host_network=tuple(b for b in planner.host_network_only if b not in set(total)),
    )
    return ProbePlan(scope.cluster, as_of, tuple(sorted(zones)), max_probes, probes, coverage)


def _choose(
    candidates: Sequence[_Candidate], limit: int, rank: dict[WorkloadRef, int]
) -> list[_Candidate]:
    """One probe per boundary first, then every kind in turn, in a stable order."""
    ordered = sorted(candidates, key=lambda c: c.key(rank))
    chosen: list[_Candidate] = []
    taken: set[int] = set()
    covered: set[Boundary] = set()
    for i, c in enumerate(ordered):
        if len(chosen) >= limit:
            break
        if any(b not in covered for b in c.boundaries):
            chosen.append(c)
            taken.add(i)
            covered.update(c.boundaries)
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(ordered):
        if i not in taken:
            by_kind[c.kind].append(i)
    queues = [by_kind[k] for k in KIND_ORDER if by_kind[k]]
    turn = 0
    while len(chosen) < limit and any(queues):
        queue = queues[turn % len(queues)]
        if queue:
            chosen.append(ordered[queue.pop(0)])
        turn += 1
        queues = [q for q in queues if q]
    order = {id(c): i for i, c in enumerate(ordered)}
    return sorted(chosen, key=lambda c: order[id(c)])


def _explained(engine: Engine, classes: ClassIndex, probe_id: str, c: _Candidate) -> Probe:
    """Attach each side's deciding rules, and check them against the graph's verdict."""
    ex = explain_targets(engine, c.src, c.dst, classes)
    segment = next(s for s in ex.segments if s.protocol == c.protocol and s.lo <= c.port <= s.hi)
    if segment.allowed != (c.expect == "open"):
        raise InternalError(
            f"probe {probe_id} {c.src} -> {c.dst} {c.protocol} {c.port}: the flow graph "
            f"expects {c.expect}, the rule-by-rule explanation disagrees"
        )
    return Probe(
        probe_id,
        c.kind,
        c.src,
        c.dst,
        c.protocol,
        c.port,
        c.expect,
        c.reason,
        c.boundaries,
        SideRules(segment.egress.allowed, segment.egress.reasons),
        SideRules(segment.ingress.allowed, segment.ingress.reasons),
    )


class _Planner:
    def __init__(
        self,
        cluster: Cluster,
        graph: FlowGraph,
        scope: Scope,
        placement: Placement,
        zones: frozenset[str],
    ) -> None:
        self.cluster = cluster
        self.graph = graph
        self.zones = zones
        self.role = {z.name: z.role for z in scope.zones}
        self.workloads = {w.ref: w for w in cluster.workloads}
        self.zones_of = {ref: placement.zones(ref) & zones for ref in sorted(self.workloads)}
        self._crossed: dict[tuple[frozenset[str], frozenset[str]], tuple[Boundary, ...]] = {}
        self._ports: dict[WorkloadRef, list[tuple[str, int]]] = {}
        self.rank = {ref: i for i, ref in enumerate(self.zones_of)}
        self.sources = frozenset(
            ref for ref, w in self.workloads.items() if w.variants and not w.host_network
        )
        self._crossing_texts: dict[tuple[Boundary, ...], str] = {}
        # Verdicts are looked up only for the sources the denied kinds probe from, and
        # the flows into a workload only for CDE workloads: the rest need no index.
        probing = set(self.out_of_scope_sources().values()) | {
            r
            for r, zs in self.zones_of.items()
            if any(self.role[z] in ("cde", "tenant") for z in zs)
        }
        cde = set(self.with_role("cde"))
        self._zones_any: dict[object, frozenset[str]] = {r: zs for r, zs in self.zones_of.items()}
        self.pairs: dict[tuple[WorkloadRef, WorkloadRef], PortSet] = {}
        self.to_external: dict[WorkloadRef, list[Flow]] = defaultdict(list)
        self.into: dict[WorkloadRef, list[Flow]] = defaultdict(list)
        self.crossing: list[tuple[Flow, tuple[Boundary, ...]]] = []
        """Allowed flows from a probeable source that cross a zone's edge."""
        outside: set[Boundary] = set()
        host: set[Boundary] = set()
        zones_at = self._zones_any.get
        # One pass over what may be millions of flows: each end is hashed as few times
        # as possible.
        for flow in graph.flows:
            src, dst = flow.src, flow.dst
            zs, zd = zones_at(src, _NO_ZONES), zones_at(dst, _NO_ZONES)
            if src in probing:
                if isinstance(dst, WorkloadRef):
                    self.pairs[(src, dst)] = flow.connections
                elif isinstance(dst, External):
                    self.to_external[src].append(flow)
            if zd and dst in cde:
                self.into[dst].append(flow)
            if zs == zd:
                continue
            if isinstance(src, External):
                outside.update(Boundary(z, "into") for z in zd)
            elif src in self.sources:
                if not flow.self_flow:
                    self.crossing.append((flow, self.crossed_sets(zs, zd)))
            else:
                host.update(self.crossed_sets(zs, zd))
        self.outside = sorted(outside)
        self.host_network_only = sorted(host)

    # ---------------------------------------------------------------- helpers

    def zones_at(self, end: object) -> frozenset[str]:
        return self._zones_any.get(end, _NO_ZONES)

    def crossed(self, src: object, dst: object) -> tuple[Boundary, ...]:
        return self.crossed_sets(self.zones_at(src), self.zones_at(dst))

    def crossed_sets(self, a: frozenset[str], b: frozenset[str]) -> tuple[Boundary, ...]:
        if a == b:
            return ()
        found = self._crossed.get((a, b))
        if found is None:
            found = tuple(
                sorted(
                    [Boundary(z, "out of") for z in a - b] + [Boundary(z, "into") for z in b - a]
                )
            )
            self._crossed[(a, b)] = found
        return found

    def with_role(self, *roles: str) -> list[WorkloadRef]:
        return [r for r, zs in self.zones_of.items() if any(self.role[z] in roles for z in zs)]

    def probeable(self, ref: WorkloadRef) -> bool:
        """A source a probe can run from: it has pods, and policies apply to them."""
        return ref in self.sources

    def out_of_scope_sources(self) -> dict[str, WorkloadRef]:
        """One workload per namespace that no chosen zone holds (the first by name)."""
        found: dict[str, WorkloadRef] = {}
        for ref, zs in self.zones_of.items():
            w = self.workloads[ref]
            if not zs and w.variants and not w.host_network and ref.namespace not in found:
                found[ref.namespace] = ref
        return found

    def allows(self, src: WorkloadRef, dst: WorkloadRef | str, protocol: str, port: int) -> bool:
        if isinstance(dst, WorkloadRef):
            conns = self.pairs.get((src, dst))
            return conns is not None and conns.contains(protocol, port)
        return any(
            f.connections.contains(protocol, port)
            and isinstance(f.dst, External)
            and f.dst.addresses.contains(dst)
            for f in self.to_external.get(src, ())
        )

    def ports_of(self, ref: WorkloadRef) -> list[tuple[str, int]]:
        found = self._ports.get(ref)
        if found is None:
            w = self.workloads[ref]
            found = sorted({(p.protocol, p.port) for v in w.variants for p in v.ports})
            self._ports[ref] = found
        return found

    def probe_ports(self, conns: PortSet, dst: WorkloadRef | None) -> list[tuple[str, int]]:
        """One port per range: a port the destination declares there, else the first.

        A UDP or SCTP range where the destination declares nothing is left out: with
        no listener such a probe cannot tell a drop from silence.
        """
        declared = self.ports_of(dst) if dst is not None else []
        out = []
        for p, protocol in enumerate(PROTOCOLS):
            for lo, hi in conns.ranges[p]:
                inside = [
                    port for proto, port in declared if proto == protocol and lo <= port <= hi
                ]
                if inside:
                    out.append((protocol, inside[0]))
                elif protocol == "TCP" or dst is None:
                    out.append((protocol, lo))
        return out

    # ---------------------------------------------------------------- candidates

    def candidates(self) -> list[_Candidate]:
        # An allowed pair is never a denied one; among the denied kinds the more
        # specific reason wins when two pick the same probe.
        found: dict[tuple[WorkloadRef, WorkloadRef | str, str, int], _Candidate] = {}
        for c in (
            *self.selector_breaks(),
            *self.into_scope(),
            *self.to_internet(),
            *self.between_tenants(),
        ):
            found.setdefault((c.src, c.dst, c.protocol, c.port), c)
        return [*self.allowed_crossings(), *found.values()]

    def crossing_text(self, crossed: tuple[Boundary, ...]) -> str:
        text = self._crossing_texts.get(crossed)
        if text is None:
            text = self._crossing_texts[crossed] = _crossing_text(crossed)
        return text

    def allowed_crossings(self) -> Iterable[_Candidate]:
        # A source outside the cluster, or on the host network, cannot be probed.
        for flow, crossed in self.crossing:
            src = flow.src
            assert isinstance(src, WorkloadRef)
            if isinstance(flow.dst, WorkloadRef):
                for protocol, port in self.probe_ports(flow.connections, flow.dst):
                    yield _Candidate(
                        "allowed",
                        src,
                        flow.dst,
                        protocol,
                        port,
                        "open",
                        f"allowed flow {self.crossing_text(crossed)}",
                        crossed,
                    )
            elif isinstance(flow.dst, External):
                for address in _single_host(flow.dst.cidrs):
                    for protocol, port in self.probe_ports(flow.connections, None):
                        yield _Candidate(
                            "allowed",
                            src,
                            address,
                            protocol,
                            port,
                            "open",
                            f"allowed flow to an approved address {self.crossing_text(crossed)}",
                            crossed,
                        )

    def into_scope(self) -> Iterable[_Candidate]:
        sources = self.out_of_scope_sources()
        for dst in self.with_role("cde", "datastore"):
            for namespace, src in sorted(sources.items()):
                for protocol, port in self.ports_of(dst):
                    if self.allows(src, dst, protocol, port):
                        continue  # an allowed crossing: probed as expected open
                    crossed = self.crossed(src, dst)
                    yield _Candidate(
                        "into-scope",
                        src,
                        dst,
                        protocol,
                        port,
                        "blocked",
                        f"denied: out-of-scope namespace {namespace} must not reach "
                        f"{_roles_text(self, dst)} {dst} on its declared port",
                        crossed,
                    )

    def to_internet(self) -> Iterable[_Candidate]:
        seen: set[tuple[str, str]] = set()
        for src in self.with_role("cde"):
            for zone in sorted(self.zones_at(src)):
                if self.role[zone] != "cde" or (zone, src.namespace) in seen:
                    continue
                if not self.probeable(src) or self.allows(
                    src, INTERNET_PROBE, "TCP", INTERNET_PORT
                ):
                    continue  # allowed internet egress is SEG-07's finding, not a probe
                seen.add((zone, src.namespace))
                yield _Candidate(
                    "internet",
                    src,
                    INTERNET_PROBE,
                    "TCP",
                    INTERNET_PORT,
                    "blocked",
                    f"denied: the CDE ({zone}) must not reach the internet",
                    (Boundary(zone, "out of"),),
                )

    def between_tenants(self) -> Iterable[_Candidate]:
        tenants = sorted(z for z in self.zones if self.role[z] == "tenant")
        members = {z: [r for r, zs in self.zones_of.items() if z in zs] for z in tenants}
        for a in tenants:
            for b in tenants:
                if a == b:
                    continue
                src = next(
                    (r for r in members[a] if b not in self.zones_at(r) and self.probeable(r)),
                    None,
                )
                dst = next(
                    (r for r in members[b] if a not in self.zones_at(r) and self.ports_of(r)),
                    None,
                )
                if src is None or dst is None:
                    continue
                protocol, port = self.ports_of(dst)[0]
                if self.allows(src, dst, protocol, port):
                    continue
                yield _Candidate(
                    "tenant",
                    src,
                    dst,
                    protocol,
                    port,
                    "blocked",
                    f"denied: tenant {a} must not reach tenant {b}",
                    self.crossed(src, dst),
                )

    def selector_breaks(self) -> Iterable[_Candidate]:
        sources = self.out_of_scope_sources()
        if not sources:
            return
        for dst in self.with_role("cde"):
            allowed = PortSet.empty()
            for flow in self.into.get(dst, ()):
                if flow.src != dst:
                    allowed = allowed | flow.connections
            for protocol, port in self.probe_ports(allowed, dst):
                src = next(
                    (
                        s
                        for ns, s in sorted(
                            sources.items(), key=lambda i: (i[0] == dst.namespace, i[0])
                        )
                        if not self.allows(s, dst, protocol, port)
                    ),
                    None,
                )
                if src is None:
                    continue
                yield _Candidate(
                    "selector",
                    src,
                    dst,
                    protocol,
                    port,
                    "blocked",
                    f"denied: {dst} admits {protocol} {port} from other peers; an out-of-scope "
                    "workload must not get it (a wrong selector breaks this first)",
                    self.crossed(src, dst),
                )


def _single_host(cidrs: Sequence[str]) -> list[str]:
    """The address a probe can aim at when a flow allows exactly one host (an approved
    partner address); a range has no one host that is sure to answer."""
    if len(cidrs) != 1:
        return []
    net = ipaddress.ip_network(cidrs[0], strict=False)
    return [str(net.network_address)] if net.num_addresses == 1 else []


def _crossing_text(crossed: Sequence[Boundary]) -> str:
    return "crossing " + ", ".join(str(b) for b in crossed)


def _roles_text(planner: _Planner, ref: WorkloadRef) -> str:
    roles = sorted({planner.role[z] for z in planner.zones_at(ref)} & {"cde", "datastore"})
    return "/".join(roles)
