"""What every check shares: its result values, the registry, and the facts it reads.

A check is one function over a `Context` (the flow graph, the scope placed on
the cluster, one framework's in-scope workloads, the moment `--as-of`)
returning a `Verdict`: findings, or a status when there is nothing to find
(not applicable, unknown). Checks never mention frameworks: the control files
map requirements to checks, and the evaluator runs each check once per
framework over that framework's scope. Waivers are applied by the evaluator.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from compliance import addresses
from compliance.addresses import AddrSet
from compliance.evidence_inputs import NO_EVIDENCE, Evidence
from compliance.flowchanges import Baseline
from compliance.flows import (
    EXTERNAL,
    Endpoint,
    Flow,
    FlowGraph,
    NamedFlow,
    RuleInfo,
    RuleRef,
    Side,
    partition,
)
from compliance.model import Cluster, Workload, WorkloadRef
from compliance.ports import PortSet
from compliance.scope import ApprovedFlow, FlowEnd, Parameters, Placement, Scope
from compliance.selectors import LabelSelector

# --------------------------------------------------------------------------- results

STATUSES = ("pass", "fail", "warn", "waived", "not_applicable", "unknown")


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing an assessor should look at, with the rule that causes it."""

    message: str
    severity: str = "fail"  # fail | warn
    workload: WorkloadRef | None = None
    namespace: str | None = None
    peer: str | None = None
    ports: str | None = None
    direction: str | None = None  # ingress | egress
    policies: tuple[str, ...] = ()
    remediation: str = ""
    peers: tuple[str, ...] = ()
    """Every peer when the finding stands for several (`peer` then summarises them)."""
    aspect: str = ""
    """What about its subject the finding is, when the fields above do not tell two
    findings apart (a waiver both expired and without a compensating control); part
    of the finding's ID, never shown."""

    @property
    def scope_namespace(self) -> str | None:
        return self.workload.namespace if self.workload is not None else self.namespace

    @property
    def peer_list(self) -> tuple[str, ...]:
        """Every peer, one per item (`peer` alone when the finding has one)."""
        if self.peers:
            return self.peers
        return (self.peer,) if self.peer else ()


def finding_id(check_id: str, finding: Finding) -> str:
    """A finding's stable ID: the same finding gets the same ID in every run and pack.

    Derived from what the finding is about (check, workload, namespace, direction,
    peers, ports, rules), never from its wording, so rewording a message does not
    break an auditor's sample list or a ticket that cites it."""
    w = finding.workload
    key = "\x1f".join(
        (
            check_id,
            f"{w}" if w is not None else "",
            finding.scope_namespace or "",
            finding.direction or "",
            "\x1e".join(finding.peer_list),
            finding.ports or "",
            "\x1e".join(finding.policies),
            finding.aspect,
        )
    )
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10].upper()
    return f"{check_id}-{digest}"


PEERS_SHOWN = 5


def peer_summary(peers: Sequence[str]) -> str:
    if len(peers) == 1:
        return peers[0]
    shown = ", ".join(peers[:PEERS_SHOWN])
    more = len(peers) - PEERS_SHOWN
    return f"{len(peers)} peers: {shown}" + (f" and {more} more" if more > 0 else "")


class PeerGroups:
    """Findings that differ only in their peer, merged into one.

    A workload whose egress is open reaches thousands of peers the same way;
    one finding per workload, direction, ports and allowing rules, listing the
    peers, says the same as thousands of findings and can still be read.
    `template` holds `{peer}` where the peer (or the summary of peers) goes.
    """

    def __init__(self) -> None:
        self._groups: dict[
            tuple[object, ...], tuple[Finding, str, list[str], dict[tuple[str, ...], None]]
        ] = {}

    def add(
        self,
        template: str,
        peer: str,
        remediation: str | Callable[[], str] = "",
        own: tuple[str, ...] | None = None,
        policies: tuple[str, ...] = (),
        **fields: object,
    ) -> None:
        """Add one peer's finding.

        `own` (the in-scope side's allowing rules) groups peers whose own side is the
        same; their `policies` (both sides) are merged. Without it, `policies` groups.
        `remediation` may be a function: it is called once per group, not per peer.
        """
        # Call sites pass their fields in one order, so the items need no sorting.
        key = (template, own if own is not None else policies, *fields.items())
        group = self._groups.get(key)
        if group is None:
            text = remediation() if callable(remediation) else remediation
            proto = Finding(message=template, remediation=text, **fields)  # type: ignore[arg-type]
            self._groups[key] = (proto, template, [peer], {policies: None})
        else:
            group[2].append(peer)
            group[3][policies] = None

    def add_flow(
        self,
        ctx: Context,
        flow: Flow,
        inside: WorkloadRef,
        rest: str,
        ports: PortSet,
        remediation: str | Callable[[], str] = "",
        addrs: AddrSet | None = None,
    ) -> None:
        """A finding about `flow` seen from its in-scope end `inside`:
        `"<direction> to|from <peer> <rest>"`, with both sides' rules.

        Called once per flow part by most checks, so it does what `add` does without its
        keyword arguments, with the flow's rule texts and peer name remembered by
        `ctx.facts`."""
        facts = ctx.facts
        policies, own_egress, own_ingress = facts.flow_texts(flow)
        src = flow.src
        if src is inside or src == inside:
            direction, word, other, own = "egress", "to", flow.dst, own_egress
        else:
            direction, word, other, own = "ingress", "from", src, own_ingress
        if isinstance(other, WorkloadRef):
            peer = facts.name(other)
        else:
            peer = address_text(addrs if addrs is not None else other.addresses)
        template = f"{direction} {word} {{peer}} {rest}"
        text = describe_ports(ports)
        # Equal exactly when `add`'s key would be (a check uses `add` or this, never both).
        key = (template, own, inside, text, direction)
        group = self._groups.get(key)
        if group is None:
            proto = Finding(
                message=template,
                remediation=remediation() if callable(remediation) else remediation,
                workload=inside,
                ports=text,
                direction=direction,
            )
            self._groups[key] = (proto, template, [peer], {policies: None})
        else:
            group[2].append(peer)
            group[3][policies] = None

    def findings(self) -> tuple[Finding, ...]:
        out = []
        for proto, template, peers, seen in self._groups.values():
            policies = dict.fromkeys(p for group in seen for p in group)
            summary = peer_summary(peers)
            remediation = proto.remediation
            if len(peers) > 1 and remediation.endswith("\n"):
                others = len(peers) - 1
                remediation += (
                    f"# the same for the other {others} peer{'s' if others > 1 else ''}\n"
                )
            out.append(
                replace(
                    proto,
                    message=template.replace("{peer}", summary),
                    peer=summary,
                    peers=tuple(peers) if len(peers) > 1 else (),
                    policies=tuple(policies),
                    remediation=remediation,
                )
            )
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Verdict:
    findings: tuple[Finding, ...] = ()
    status: str | None = None
    """Set when findings cannot say it: not_applicable, unknown, or SEG-01's verdict."""
    summary: str = ""
    """One line on what was examined, e.g. `7 in-scope workloads, 2 not isolated`."""


@dataclass(frozen=True, slots=True)
class CheckSpec:
    id: str
    title: str
    run: Callable[[Context], Verdict]

    @property
    def description(self) -> str:
        """The function's docstring: the check's documentation."""
        return inspect.cleandoc(self.run.__doc__ or "")


REGISTRY: dict[str, CheckSpec] = {}


def check(
    check_id: str, title: str
) -> Callable[[Callable[[Context], Verdict]], Callable[[Context], Verdict]]:
    """Register a check under its catalog ID."""

    def register(fn: Callable[[Context], Verdict]) -> Callable[[Context], Verdict]:
        if check_id in REGISTRY:
            raise ValueError(f"check {check_id} registered twice")
        if not (fn.__doc__ or "").strip():
            raise ValueError(f"check {check_id} needs a docstring: it is its documentation")
        REGISTRY[check_id] = CheckSpec(check_id, title, fn)
        return fn

    return register


# --------------------------------------------------------------------------- addresses

# Addresses that are not the public internet: private, shared, loopback, link-local,
# documentation, multicast and reserved ranges (RFC 6890 and friends).
_NOT_PUBLIC = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/3",
    "::/127",
    "::ffff:0:0/96",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
)
PUBLIC = AddrSet.all() - addresses.union_all(AddrSet.from_cidr(c) for c in _NOT_PUBLIC)
"""The public internet: everything outside the ranges above."""
PUBLIC_V4 = AddrSet(v4=PUBLIC.v4)
PUBLIC_V6 = AddrSet(v6=PUBLIC.v6)


def _port_words(ports: PortSet) -> str:
    """`every port` rather than `all`, which reads wrongly in "reachable on all"."""
    return "every port" if ports.is_all() else ports.describe()


describe_ports = functools.cache(_port_words)
"""`PortSet.describe` in words, remembered: checks describe the same few port sets many
times."""


@functools.cache
def address_text(addrs: AddrSet) -> str:
    """Addresses for people: `any IPv4 address (0.0.0.0/0)`, `every public IPv4 address
    except 52.1.2.0/24`, or plain CIDRs; never the 19 holes of the public internet."""
    parts = []
    families = (
        (AddrSet(v4=addrs.v4), PUBLIC_V4, AddrSet(v4=AddrSet.all().v4), "IPv4", "0.0.0.0/0"),
        (AddrSet(v6=addrs.v6), PUBLIC_V6, AddrSet(v6=AddrSet.all().v6), "IPv6", "::/0"),
    )
    if addrs == AddrSet.all():
        return "any address (0.0.0.0/0, ::/0)"
    for family, public, whole, name, cidr in families:
        if not family:
            continue
        if family == whole:
            parts.append(f"any {name} address ({cidr})")
            continue
        missing = public - family
        extra = family - public
        if len(missing.to_cidrs()) <= 4 and len(extra.to_cidrs()) <= 4:
            text = f"every public {name} address"
            if missing:
                text += f" except {missing.describe()}"
            if extra:
                text += f", and {extra.describe()}"
            parts.append(text)
        else:
            parts.append(family.describe())
    return " and ".join(parts) or "none"


CLOUD_METADATA = addresses.union_all(
    AddrSet.from_cidr(c) for c in ("169.254.169.254/32", "fd00:ec2::254/128")
)


# --------------------------------------------------------------------------- the register


class Register:
    """The approved-flow register at `--as-of`: which parts of a flow it covers."""

    def __init__(
        self, entries: Sequence[ApprovedFlow], placement: Placement, as_of: dt.datetime
    ) -> None:
        self.placement = placement
        self.active = tuple(e for e in entries if e.active(as_of))
        self.expired = tuple(e for e in entries if not e.active(as_of))
        self._covering: dict[int, list[ApprovedFlow]] = {}
        self._expired: dict[int, list[ApprovedFlow]] = {}
        self._uncovered: dict[int, list[tuple[AddrSet | None, PortSet]]] = {}

    def matching(self, entries: Iterable[ApprovedFlow], flow: Flow) -> list[ApprovedFlow]:
        """The entries whose two ends match the flow's and that share a port with it."""
        return [e for e in self._matching(entries, flow) if _share(e, flow)]

    def _matching(self, entries: Iterable[ApprovedFlow], flow: Flow) -> list[ApprovedFlow]:
        out = []
        for e in entries:
            if _end_matches(e.src, flow.src, self.placement) and _end_matches(
                e.dst, flow.dst, self.placement
            ):
                out.append(e)
        return out

    def covering(self, flow: Flow) -> list[ApprovedFlow]:
        """Active entries that cover some part of the flow."""
        key = id(flow)  # flows live as long as the graph; several checks ask about each
        hit = self._covering.get(key)
        if hit is None:
            hit = [e for e in self._matching(self.active, flow) if _share(e, flow)]
            self._covering[key] = hit
        return hit

    def expired_covering(self, flow: Flow) -> list[ApprovedFlow]:
        """Expired entries that would cover some part of the flow (remembered per flow)."""
        key = id(flow)
        hit = self._expired.get(key)
        if hit is None:
            hit = [e for e in self._matching(self.expired, flow) if _share(e, flow)]
            self._expired[key] = hit
        return hit

    def uncovered(
        self, flow: Flow, entries: Sequence[ApprovedFlow] | None = None
    ) -> list[tuple[AddrSet | None, PortSet]]:
        """The parts of the flow no active entry covers: (external addresses or None, ports)."""
        if entries is None:
            cached = self._uncovered.get(id(flow))
            if cached is None:
                cached = self._uncovered[id(flow)] = self._uncovered_by(flow, self.covering(flow))
            return cached
        return self._uncovered_by(flow, entries)

    def _uncovered_by(
        self, flow: Flow, found: Sequence[ApprovedFlow]
    ) -> list[tuple[AddrSet | None, PortSet]]:
        ext = _external_side(flow)
        if not found:  # most flows: nothing covers them, so all of the flow is left
            return [(ext, flow.connections)]
        if ext is None:
            covered = PortSet.empty()
            for e in found:
                covered = covered | e.ports
            rest = flow.connections - covered
            return [(None, rest)] if rest else []
        contributions = []
        for e in found:
            end = e.dst if isinstance(flow.src, WorkloadRef) else e.src
            if end.addresses is not None:
                contributions.append((end.addresses & ext, e.ports & flow.connections, EXTERNAL))
        pieces: list[tuple[AddrSet | None, PortSet]] = []
        covered_addrs = AddrSet.empty()
        for addrs, ports, _ in partition(contributions):
            covered_addrs = covered_addrs | addrs
            rest = flow.connections - ports
            if rest:
                pieces.append((addrs, rest))
        untouched = ext - covered_addrs
        if untouched:
            pieces.append((untouched, flow.connections))
        return sorted(pieces, key=lambda p: (p[0].v4, p[0].v6) if p[0] is not None else ((), ()))

    # Egress to admin `domainNames`: the names are never resolved, so only an entry that
    # names the identical names covers them (approval by name, not by address), and such
    # an entry never covers an address flow (its `to` matches no endpoint above).

    def covering_named(self, flow: NamedFlow) -> list[ApprovedFlow]:
        """Active entries from the flow's source naming some of its names on some port."""
        return self._naming(self.active, flow)

    def expired_named(self, flow: NamedFlow) -> list[ApprovedFlow]:
        """Expired entries that would name some of the flow's names on some port."""
        return self._naming(self.expired, flow)

    def _naming(self, entries: Iterable[ApprovedFlow], flow: NamedFlow) -> list[ApprovedFlow]:
        return [
            e
            for e in entries
            if e.dst.names is not None
            and set(e.dst.names) & set(flow.dst.names)
            and _share(e, flow)
            and _end_matches(e.src, flow.src, self.placement)
        ]

    def uncovered_named(
        self, flow: NamedFlow, entries: Sequence[ApprovedFlow] | None = None
    ) -> list[tuple[tuple[str, ...], PortSet]]:
        """The names and ports no active entry (or none of `entries`) covers, names left
        on the same ports together, in the flow's name order: an entry covers a name only
        on its own ports."""
        found = self.covering_named(flow) if entries is None else entries
        left: dict[PortSet, list[str]] = {}
        for name in flow.dst.names:
            covered = PortSet.empty()
            for e in found:
                if e.dst.names is not None and name in e.dst.names:
                    covered = covered | e.ports
            rest = flow.connections - covered
            if rest:
                left.setdefault(rest, []).append(name)
        return [(tuple(names), ports) for ports, names in left.items()]


def _external_side(flow: Flow) -> AddrSet | None:
    if not isinstance(flow.src, WorkloadRef):
        return flow.src.addresses
    if not isinstance(flow.dst, WorkloadRef):
        return flow.dst.addresses
    return None


def _end_matches(end: FlowEnd, endpoint: Endpoint, placement: Placement) -> bool:
    if isinstance(endpoint, WorkloadRef):
        return end.matches(endpoint, placement.zones(endpoint))
    return end.addresses is not None and bool(end.addresses & endpoint.addresses)


def _share(entry: ApprovedFlow, flow: Flow | NamedFlow) -> bool:
    return bool(entry.ports & flow.connections)


# --------------------------------------------------------------------------- facts


class Facts:
    """Indexes over the flow graph that every framework's run shares."""

    def __init__(self, cluster: Cluster, graph: FlowGraph) -> None:
        self.cluster = cluster
        self.graph = graph
        self.workloads: dict[WorkloadRef, Workload] = {w.ref: w for w in cluster.workloads}
        outgoing: dict[WorkloadRef, list[Flow]] = defaultdict(list)
        incoming: dict[WorkloadRef, list[Flow]] = defaultdict(list)
        for f in graph.flows:
            if isinstance(f.src, WorkloadRef):
                outgoing[f.src].append(f)
            if isinstance(f.dst, WorkloadRef):
                incoming[f.dst].append(f)
        self.outgoing: Mapping[WorkloadRef, list[Flow]] = outgoing
        self.incoming: Mapping[WorkloadRef, list[Flow]] = incoming
        self._flow_policies: dict[int, tuple[str, ...]] = {}
        self._flow_texts: dict[
            int, tuple[Flow, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
        ] = {}
        self._names: dict[int, tuple[WorkloadRef, str]] = {}
        self.policies = {p.id: p for p in cluster.policies}

    def namespaces_matching(self, selector: LabelSelector) -> list[str]:
        """Names of the namespaces a namespaceSelector matches today, sorted."""
        return sorted(
            ns.name for ns in self.cluster.namespaces if selector.matches(dict(ns.labels))
        )

    def flow_policies(self, flow: Flow) -> tuple[str, ...]:
        """`flow_policies`, remembered per flow of this graph: every check asks."""
        key = id(flow)  # the graph keeps its flows alive, so ids stay unique
        hit = self._flow_policies.get(key)
        if hit is None:
            hit = self._flow_policies[key] = flow_policies(flow)
        return hit

    def flow_texts(self, flow: Flow) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """Both sides' rules, the egress side's and the ingress side's, remembered per flow
        (the flow is kept with them, so an id reused by another object is no hit)."""
        hit = self._flow_texts.get(id(flow))
        if hit is None or hit[0] is not flow:
            hit = (
                flow,
                self.flow_policies(flow),
                own_policies(flow, "egress"),
                own_policies(flow, "ingress"),
            )
            self._flow_texts[id(flow)] = hit
        return hit[1], hit[2], hit[3]

    def name(self, ref: WorkloadRef) -> str:
        """`str(ref)`, remembered per object (kept with its text, as in `flow_texts`)."""
        hit = self._names.get(id(ref))
        if hit is None or hit[0] is not ref:
            hit = self._names[id(ref)] = (ref, str(ref))
        return hit[1]

    @functools.cached_property
    def rule_reach(self) -> dict[RuleRef, set[object]]:
        """Per rule, the peers (workloads or 'external') of flows it actually allows."""
        used: dict[RuleRef, set[object]] = defaultdict(set)
        for f in self.graph.flows:
            for r in f.egress.rules:
                used[r].add(f.dst if isinstance(f.dst, WorkloadRef) else "external")
            for r in f.ingress.rules:
                used[r].add(f.src if isinstance(f.src, WorkloadRef) else "external")
        return used

    @functools.cached_property
    def rule_info(self) -> dict[RuleRef, RuleInfo]:
        """RuleRef -> what the rule selects and admits."""
        return {r.ref: r for r in self.graph.rules}

    def ingress_rules_of(self, ref: WorkloadRef) -> list[RuleInfo]:
        """Ingress rules of the policies that select the workload (switched-off rules are
        dropped by the model)."""
        return self._rules_of(ref, "ingress")

    def egress_rules_of(self, ref: WorkloadRef) -> list[RuleInfo]:
        return self._rules_of(ref, "egress")

    def _rules_of(self, ref: WorkloadRef, direction: str) -> list[RuleInfo]:
        index = self._rules_by_workload
        return index.get((ref, direction), [])

    @functools.cached_property
    def _rules_by_workload(self) -> dict[tuple[WorkloadRef, str], list[RuleInfo]]:
        out: dict[tuple[WorkloadRef, str], list[RuleInfo]] = defaultdict(list)
        for r in self.graph.rules:
            for w in r.selects:
                out[(w, r.ref.direction)].append(r)
        return out


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class Context:
    """Everything one check run sees: one framework's scope over the shared facts."""

    framework: str
    scope: Scope
    placement: Placement
    facts: Facts
    as_of: dt.datetime
    in_scope: frozenset[WorkloadRef]
    register: Register
    evidence: Evidence = NO_EVIDENCE
    """Probe results and flow logs given beside the export (SEG-28, SEG-22, SEG-21)."""
    admin_policies: tuple[str, ...] = ()
    """The cluster-wide policy kinds the export holds (`cni_support.admin_policy_kinds`),
    for SEG-01 to say whether the CNI is known to implement them."""
    baseline: Baseline | None = None
    """The earlier pack's evaluation given with `--baseline` (SEG-19); None without one."""

    @property
    def cluster(self) -> Cluster:
        return self.facts.cluster

    @property
    def graph(self) -> FlowGraph:
        return self.facts.graph

    @property
    def parameters(self) -> Parameters:
        return self.scope.parameters

    def zones(self, ref: WorkloadRef) -> frozenset[str]:
        return self.placement.zones(ref)

    @functools.cached_property
    def role_of(self) -> dict[str, str]:
        """Zone name -> role."""
        return {z.name: z.role for z in self.scope.zones}

    def roles(self, ref: WorkloadRef) -> frozenset[str]:
        """Roles of the zones the workload is in (any framework's zones)."""
        return frozenset(self.role_of[z] for z in self.zones(ref))

    def has_role(self, ref: WorkloadRef, role: str) -> bool:
        return role in self.roles(ref)

    def scoped(self) -> list[WorkloadRef]:
        return sorted(self.in_scope)

    def is_in(self, endpoint: object) -> bool:
        return isinstance(endpoint, WorkloadRef) and endpoint in self.in_scope

    @functools.cached_property
    def _touching(self) -> tuple[Flow, ...]:
        seen: set[int] = set()
        out = []
        for ref in self.scoped():
            for f in (*self.facts.outgoing.get(ref, ()), *self.facts.incoming.get(ref, ())):
                if id(f) not in seen:
                    seen.add(id(f))
                    out.append(f)
        return tuple(out)

    def touching(self) -> tuple[Flow, ...]:
        """Every flow with an in-scope workload at either end, each once, in order."""
        return self._touching


# --------------------------------------------------------------------------- helpers


@functools.cache
def side_text(direction: str, side: Side) -> tuple[str, ...]:
    """The allowing rules of one side, or why it needs none."""
    out = [str(r) for r in side.rules]
    if side.not_isolated:
        out.append(f"{direction}: not isolated (no policy selects it)")
    if side.host_network:
        out.append(f"{direction}: hostNetwork (policy not enforced)")
    return tuple(out)


def flow_policies(flow: Flow) -> tuple[str, ...]:
    """Both sides' allowing rules, egress first (`Facts.flow_policies` remembers them)."""
    return (*side_text("egress", flow.egress), *side_text("ingress", flow.ingress))


def own_policies(flow: Flow, direction: str) -> tuple[str, ...]:
    """The in-scope side's rules: its egress when it sends, its ingress when it receives."""
    return side_text(direction, flow.egress if direction == "egress" else flow.ingress)


def wide_reasons(facts: Facts, flow: Flow) -> tuple[str, ...]:
    """Why a flow may exist by accident rather than by design: a side that no policy
    isolates (it allows every peer) or that uses the host network, or a rule whose
    peers are every pod of the cluster (`from`/`to` omitted, `namespaceSelector: {}`
    alone). Such a flow is first a rule to narrow; recording it in the register would
    approve an accident."""
    out = []
    for direction, side, owner in (
        ("egress", flow.egress, flow.src),
        ("ingress", flow.ingress, flow.dst),
    ):
        if not isinstance(owner, WorkloadRef):
            continue
        word = "destination" if direction == "egress" else "source"
        if side.not_isolated:
            out.append(f"{owner} is not isolated for {direction}: it allows every {word}")
        if side.host_network:
            out.append(f"{owner} uses the host network: no policy reliably limits its {direction}")
        for r in side.rules:
            info = facts.rule_info.get(r)
            if info is not None and info.peers is None:
                out.append(f"{r} matches every pod of the cluster")
    return tuple(out)


def narrow_first(reasons: Sequence[str], snippet: str) -> str:
    """A remediation that narrows the rule first and registers the flow only if it is
    needed; every line of it is YAML (the advice as comments), so it pastes as is."""
    if not reasons:
        return snippet
    lines = [f"# Narrow first: {r}." for r in reasons]
    lines.append(
        "# Name the peers (podSelector plus a namespaceSelector on kubernetes.io/metadata.name)"
    )
    lines.append("# and ports, or isolate that side with a default deny. Only if the flow has a")
    lines.append("# business need, record it:")
    return "\n".join(lines) + "\n" + snippet


def default_deny(namespace: str, directions: Sequence[str]) -> str:
    """A default-deny policy for a namespace: the usual first remediation."""
    name = "default-deny-" + ("all" if len(directions) == 2 else directions[0].lower())
    types = ", ".join(directions)
    return (
        "apiVersion: networking.k8s.io/v1\n"
        "kind: NetworkPolicy\n"
        "metadata:\n"
        f"  name: {name}\n"
        f"  namespace: {namespace}\n"
        "spec:\n"
        "  podSelector: {}\n"
        f"  policyTypes: [{types}]\n"
    )


def not_applicable(why: str) -> Verdict:
    return Verdict(status="not_applicable", summary=why)


def nothing_in_scope(ctx: Context) -> Verdict | None:
    if not ctx.in_scope:
        return not_applicable(f"no workload is in scope for {ctx.framework}")
    return None
