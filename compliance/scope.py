"""The scope file: zones, the approved-flow register, waivers and check parameters.

Frameworks apply to scoped workloads only, so the scope decides what every check
looks at. Zones use the NetworkPolicy selector language (a namespaceSelector
and/or a podSelector per entry, entries OR-ed) or the label
`compliance.io/zone: NAME` on a namespace or a pod template. The file is
validated by `schemas/scope.schema.json` first, then for what a schema cannot
say (unknown zones, frameworks, checks; bad CIDRs; port ranges backwards).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance import addresses
from compliance.addresses import AddrSet
from compliance.datafile import read_document_and_bytes, validate
from compliance.errors import InputError
from compliance.load import DEFAULT_MAX_FILE_BYTES
from compliance.model import Cluster, Peer, WorkloadRef
from compliance.ports import PortSet, union_all
from compliance.selectors import LabelSelector, parse_selector

ZONE_LABEL = "compliance.io/zone"
DEFAULT_WAIVER_SOURCE = "the default; the scope file sets no parameters.max_waiver_days"
ROLES = ("cde", "datastore", "public", "connected", "mgmt", "security-tools", "tenant", "other")

# Insecure services for SEG-14 (PCI DSS 1.2.6): cleartext or unauthenticated by design.
DEFAULT_INSECURE_PORTS: tuple[tuple[str, str, int, int], ...] = (
    ("FTP", "TCP", 20, 21),
    ("Telnet", "TCP", 23, 23),
    ("TFTP", "UDP", 69, 69),
    ("HTTP", "TCP", 80, 80),
    ("POP3", "TCP", 110, 110),
    ("NetBIOS", "UDP", 137, 138),
    ("NetBIOS", "TCP", 139, 139),
    ("IMAP", "TCP", 143, 143),
    ("SNMP v1/v2c", "UDP", 161, 162),
    ("LDAP", "TCP", 389, 389),
    ("LDAP", "UDP", 389, 389),
    ("SMB", "TCP", 445, 445),
    ("rexec/rlogin/rsh", "TCP", 512, 514),
    ("HTTP (alternate)", "TCP", 8080, 8080),
)


@dataclass(frozen=True, slots=True)
class Zone:
    name: str
    role: str
    frameworks: tuple[str, ...]
    selectors: tuple[Peer, ...]
    """NetworkPolicy-style peers without an ipBlock, OR-ed."""
    description: str = ""


@dataclass(frozen=True, slots=True)
class FlowEnd:
    """One side of a register entry: exactly one of zone, workload, namespace, addresses,
    names (a destination only)."""

    text: str
    zone: str | None = None
    workload: str | None = None
    kind: str | None = None
    namespace: str | None = None
    addresses: AddrSet | None = None
    names: tuple[str, ...] | None = None
    """Domain names as an admin rule's `domainNames` spells them. Never resolved: such an
    end covers only egress listed to the identical names (`NamedFlow`), never an address."""

    def matches(self, ref: WorkloadRef, zones: frozenset[str]) -> bool:
        """Whether this end names the workload (never true for an address end)."""
        if self.zone is not None:
            return self.zone in zones
        if self.workload is not None:
            return ref.id == self.workload and (self.kind is None or ref.kind == self.kind)
        if self.namespace is not None:
            return ref.namespace == self.namespace
        return False


@dataclass(frozen=True, slots=True)
class ApprovedFlow:
    ref: str
    """`id` when given, else `approved_flows[i]`; what findings and the report cite."""
    src: FlowEnd
    dst: FlowEnd
    ports: PortSet
    justification: str
    owner: str
    ticket: str
    expires: dt.date
    approved_by: str | None = None
    security_feature: str | None = None
    approved: dt.date | None = None
    """When the change was approved (its ticket's date): SEG-19 accepts an entry for a flow
    added since the baseline only when this lies between the two as-of dates."""

    def active(self, as_of: dt.datetime) -> bool:
        """Valid through the whole of its expiry date."""
        return as_of.date() <= self.expires

    def label(self) -> str:
        return f"{self.ref} ({self.ticket})" if self.ticket not in self.ref else self.ref


OUTSIDE = "outside-cluster"
"""The zone matrix's row and column for addresses outside the cluster."""
NO_ZONE = "out-of-scope"
"""The zone matrix's row and column for workloads in no zone."""


@dataclass(frozen=True, slots=True)
class ZonePolicy:
    """One intended cell of the zone matrix: what may flow from one zone to another."""

    src: str
    dst: str
    allow: PortSet
    """Every port the cell may allow: empty for `none`, all for `all`."""
    text: str
    """As the scope file says it: `none`, `all`, or the ports."""


@dataclass(frozen=True, slots=True)
class Waiver:
    ref: str
    check: str
    workload: str | None
    kind: str | None
    namespace: str | None
    reason: str
    owner: str
    approved_by: str
    expires: dt.date
    compensating_control: str | None = None
    ticket: str | None = None

    def target(self) -> str:
        if self.workload is not None:
            return self.workload + (f"[{self.kind}]" if self.kind else "")
        if self.namespace is not None:
            return f"namespace {self.namespace}"
        return "every finding"


@dataclass(frozen=True, slots=True)
class InsecurePort:
    service: str
    ports: PortSet


@dataclass(frozen=True, slots=True)
class Parameters:
    max_source_prefix_v4: int = 16
    max_source_prefix_v6: int = 48
    max_port_range: int = 10
    insecure_ports: tuple[InsecurePort, ...] = ()
    cluster_dns: tuple[str, ...] | None = None
    max_waiver_days: int = 180
    max_waiver_source: str = DEFAULT_WAIVER_SOURCE
    """What set max_waiver_days: the scope file, or a framework's review period."""
    min_observation_days: int = 7
    """SEG-21: flow logs covering fewer days say too little about what is unused."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """Who the evidence is for and who signs it: the cover's sign-off block, and the
    entity type that decides which PCI DSS requirements apply (service providers only)."""

    entity: str = ""
    entity_type: str | None = None  # merchant | service_provider
    prepared_by: str = ""
    assessor: str = ""
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Scope:
    source: str
    cluster: str
    zones: tuple[Zone, ...]
    approved_flows: tuple[ApprovedFlow, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    parameters: Parameters = field(default_factory=Parameters)
    description: str = ""
    zone_policy: tuple[ZonePolicy, ...] = ()
    sha256: str = ""
    size: int = 0
    assessment: Assessment = field(default_factory=Assessment)
    document: Any = field(default=None, compare=False, repr=False)
    """The file as parsed from YAML, before validation: a pack's snapshot keeps it so
    the scope can be read again from the pack alone."""

    @property
    def frameworks(self) -> tuple[str, ...]:
        return tuple(sorted({f for z in self.zones for f in z.frameworks}))


# --------------------------------------------------------------------------- reading


def read_scope(
    path: str,
    known_frameworks: Iterable[str] | None = None,
    known_checks: Iterable[str] = (),
    *,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Scope:
    """Read and validate a scope file; every error names the file and the path in it."""
    doc, data = read_document_and_bytes(Path(path), path, max_bytes)
    scope = parse_scope(doc, path, known_frameworks, known_checks)
    return dataclasses.replace(
        scope, sha256=hashlib.sha256(data).hexdigest(), size=len(data), document=doc
    )


def parse_scope(
    doc: Any,
    source: str,
    known_frameworks: Iterable[str] | None = None,
    known_checks: Iterable[str] = (),
) -> Scope:
    validate(doc, "scope.schema.json", source)
    frameworks = set(known_frameworks) if known_frameworks is not None else None
    checks = set(known_checks)

    def fail(message: str, path: str) -> InputError:
        return InputError(message, source=source, field=path)

    where = {"source": source, "obj": None}
    zones: list[Zone] = []
    for i, raw in enumerate(doc["zones"]):
        path = f"zones[{i}]"
        if any(z.name == raw["name"] for z in zones):
            raise fail(f"zone {raw['name']!r} is defined twice", f"{path}.name")
        for j, fw in enumerate(raw.get("frameworks", [])):
            if frameworks is not None and fw not in frameworks:
                known = ", ".join(sorted(frameworks))
                raise fail(f"unknown framework {fw!r} (known: {known})", f"{path}.frameworks[{j}]")
        selectors = []
        for j, sel in enumerate(raw.get("selectors", [])):
            spath = f"{path}.selectors[{j}]"
            selectors.append(
                Peer(
                    pod_selector=_selector(sel, "podSelector", where, spath),
                    namespace_selector=_selector(sel, "namespaceSelector", where, spath),
                )
            )
        zones.append(
            Zone(
                raw["name"],
                raw["role"],
                tuple(raw.get("frameworks", [])),
                tuple(selectors),
                raw.get("description", ""),
            )
        )
    zone_names = {z.name for z in zones}

    flows: list[ApprovedFlow] = []
    seen_refs: set[str] = set()
    for i, raw in enumerate(doc.get("approved_flows", [])):
        path = f"approved_flows[{i}]"
        ref = raw.get("id", path)
        if ref in seen_refs:
            raise fail(f"id {ref!r} is used twice", f"{path}.id")
        seen_refs.add(ref)
        src = _end(raw["from"], zone_names, fail, f"{path}.from")
        dst = _end(raw["to"], zone_names, fail, f"{path}.to")
        if src.names is not None:
            raise fail(
                "domain names are destinations: give them in `to`, the source in `from`",
                f"{path}.from.names",
            )
        if src.addresses is not None and (dst.addresses is not None or dst.names is not None):
            raise fail("at least one side must be inside the cluster", f"{path}.to")
        flows.append(
            ApprovedFlow(
                ref=ref,
                src=src,
                dst=dst,
                ports=_ports(raw.get("ports"), fail, f"{path}.ports"),
                justification=raw["justification"],
                owner=raw["owner"],
                ticket=raw["ticket"],
                expires=_date(raw["expires"], fail, f"{path}.expires"),
                approved_by=raw.get("approved_by"),
                security_feature=raw.get("security_feature"),
                approved=(
                    _date(raw["approved"], fail, f"{path}.approved") if "approved" in raw else None
                ),
            )
        )

    waivers: list[Waiver] = []
    for i, raw in enumerate(doc.get("waivers", [])):
        path = f"waivers[{i}]"
        if checks and raw["check"] not in checks:
            raise fail(
                f"unknown check {raw['check']!r} (known: {', '.join(sorted(checks))})",
                f"{path}.check",
            )
        if raw["check"] == "SEG-25":
            raise fail("SEG-25 judges the waivers themselves and cannot be waived", f"{path}.check")
        workload, kind = _workload(raw.get("workload"))
        ref = raw.get("id", path)
        if ref in seen_refs:
            raise fail(f"id {ref!r} is used twice", f"{path}.id")
        seen_refs.add(ref)
        waivers.append(
            Waiver(
                ref=ref,
                check=raw["check"],
                workload=workload,
                kind=kind,
                namespace=raw.get("namespace"),
                reason=raw["reason"],
                owner=raw["owner"],
                approved_by=raw["approved_by"],
                expires=_date(raw["expires"], fail, f"{path}.expires"),
                compensating_control=raw.get("compensating_control"),
                ticket=raw.get("ticket"),
            )
        )

    matrix_names = zone_names | {OUTSIDE, NO_ZONE}
    for name in sorted(zone_names & {OUTSIDE, NO_ZONE}):
        index = next(i for i, z in enumerate(zones) if z.name == name)
        raise fail(f"zone name {name!r} is reserved for the zone matrix", f"zones[{index}].name")
    policy: list[ZonePolicy] = []
    cells: set[tuple[str, str]] = set()
    for i, raw in enumerate(doc.get("zone_policy", [])):
        path = f"zone_policy[{i}]"
        for key in ("from", "to"):
            if raw[key] not in matrix_names:
                known = ", ".join(sorted(matrix_names))
                raise fail(f"unknown zone {raw[key]!r} (known: {known})", f"{path}.{key}")
        if raw["from"] == OUTSIDE and raw["to"] == OUTSIDE:
            raise fail("no flow goes from outside the cluster to outside it", f"{path}.to")
        cell = (raw["from"], raw["to"])
        if cell in cells:
            raise fail(f"the cell {cell[0]} -> {cell[1]} is stated twice", path)
        cells.add(cell)
        allow = raw["allow"]
        if allow == "none":
            ports, text = PortSet.empty(), "none"
        elif allow == "all":
            ports, text = PortSet.all(), "all"
        else:
            ports = _ports(allow, fail, f"{path}.allow")
            text = ports.describe()
        policy.append(ZonePolicy(raw["from"], raw["to"], ports, text))

    return Scope(
        source=source,
        cluster=doc["cluster"],
        zones=tuple(zones),
        approved_flows=tuple(flows),
        waivers=tuple(waivers),
        parameters=_parameters(doc.get("parameters", {}), fail),
        description=doc.get("description", ""),
        zone_policy=tuple(policy),
        assessment=_assessment(doc.get("assessment", {}), fail),
    )


def _assessment(raw: dict[str, Any], fail: Any) -> Assessment:
    period = raw.get("period", {})
    start = _date(period["start"], fail, "assessment.period.start") if "start" in period else None
    end = _date(period["end"], fail, "assessment.period.end") if "end" in period else None
    if start is not None and end is not None and end < start:
        raise fail(f"the period ends ({end}) before it starts ({start})", "assessment.period.end")
    return Assessment(
        entity=raw.get("entity", ""),
        entity_type=raw.get("entity_type"),
        prepared_by=raw.get("prepared_by", ""),
        assessor=raw.get("assessor", ""),
        period_start=start,
        period_end=end,
        description=raw.get("description", ""),
    )


def _selector(
    raw: dict[str, Any], key: str, where: Mapping[str, str | None], path: str
) -> LabelSelector | None:
    if key not in raw:
        return None
    return parse_selector(raw[key], where, f"{path}.{key}")


def _workload(text: str | None) -> tuple[str | None, str | None]:
    if text is None:
        return None, None
    if text.endswith("]"):
        name, kind = text[:-1].split("[", 1)
        return name, kind
    return text, None


def _end(raw: dict[str, Any], zones: set[str], fail: Any, path: str) -> FlowEnd:
    if "zone" in raw:
        if raw["zone"] not in zones:
            known = ", ".join(sorted(zones))
            raise fail(f"unknown zone {raw['zone']!r} (zones: {known})", f"{path}.zone")
        return FlowEnd(f"zone {raw['zone']}", zone=raw["zone"])
    if "workload" in raw:
        name, kind = _workload(raw["workload"])
        return FlowEnd(raw["workload"], workload=name, kind=kind)
    if "namespace" in raw:
        return FlowEnd(f"namespace {raw['namespace']}", namespace=raw["namespace"])
    if "names" in raw:
        return FlowEnd("name:" + ", ".join(raw["names"]), names=tuple(raw["names"]))
    blocks = []
    for j, cidr in enumerate(raw["cidrs"]):
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            raise fail(f"expected a CIDR such as 10.0.0.0/8; {exc}", f"{path}.cidrs[{j}]") from None
        blocks.append(AddrSet.from_network(net))
    return FlowEnd(", ".join(raw["cidrs"]), addresses=addresses.union_all(blocks))


def _ports(raw: list[dict[str, Any]] | None, fail: Any, path: str) -> PortSet:
    if raw is None:
        return PortSet.all()
    sets = []
    for j, p in enumerate(raw):
        if "port" not in p:
            sets.append(PortSet.protocol(p["protocol"]))
            continue
        end = p.get("endPort", p["port"])
        if end < p["port"]:
            raise fail(f"endPort {end} is below port {p['port']}", f"{path}[{j}].endPort")
        sets.append(PortSet.of(p["protocol"], p["port"], end))
    return union_all(sets)


def _date(text: str, fail: Any, path: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise fail(f"expected a date as YYYY-MM-DD; got {text!r}", path) from None


def _parameters(raw: dict[str, Any], fail: Any) -> Parameters:
    prefix = raw.get("max_source_prefix", {})
    insecure = tuple(
        InsecurePort(p["service"], _ports([p], fail, f"parameters.insecure_ports[{i}]"))
        for i, p in enumerate(raw.get("insecure_ports", []))
    )
    if "insecure_ports" not in raw:
        insecure = tuple(
            InsecurePort(service, PortSet.of(proto, lo, hi))
            for service, proto, lo, hi in DEFAULT_INSECURE_PORTS
        )
    dns = raw.get("cluster_dns")
    return Parameters(
        max_source_prefix_v4=prefix.get("ipv4", 16),
        max_source_prefix_v6=prefix.get("ipv6", 48),
        max_port_range=raw.get("max_port_range", 10),
        insecure_ports=insecure,
        cluster_dns=tuple(dns) if dns is not None else None,
        max_waiver_days=raw.get("max_waiver_days", 180),
        min_observation_days=raw.get("min_observation_days", 7),
        max_waiver_source=(
            "parameters.max_waiver_days" if "max_waiver_days" in raw else DEFAULT_WAIVER_SOURCE
        ),
    )


# --------------------------------------------------------------------------- placement


@dataclass(frozen=True, slots=True)
class Placement:
    """Which zones each workload is in; the scope resolved against one cluster."""

    zones_of: Mapping[WorkloadRef, frozenset[str]]
    warnings: tuple[str, ...] = ()

    def zones(self, ref: WorkloadRef) -> frozenset[str]:
        return self.zones_of.get(ref, frozenset())

    def members(self, zone: str) -> tuple[WorkloadRef, ...]:
        return tuple(sorted(w for w, zs in self.zones_of.items() if zone in zs))


def place(scope: Scope, cluster: Cluster) -> Placement:
    """Put every workload in the zones its selectors or `compliance.io/zone` labels name.

    A zone selector entry works like a NetworkPolicy peer without a policy
    namespace: namespaceSelector alone takes every pod of matching namespaces,
    podSelector alone matches pods in every namespace, both together AND. A
    workload with several pod shapes is in a zone when any shape matches: scope
    errs towards inclusion.
    """
    ns_labels = {ns.name: dict(ns.labels) for ns in cluster.namespaces}
    known = {z.name for z in scope.zones}
    placed: dict[WorkloadRef, set[str]] = defaultdict(set)
    warnings: list[str] = []
    unknown_labels: dict[str, list[str]] = defaultdict(list)
    selected_any: set[str] = set()
    for w in cluster.workloads:
        labels_ns = ns_labels.get(w.ref.namespace, {})
        for zone in scope.zones:
            for sel in zone.selectors:
                if sel.namespace_selector is not None and not sel.namespace_selector.matches(
                    labels_ns
                ):
                    continue
                if sel.pod_selector is None or any(
                    sel.pod_selector.matches(dict(v.labels)) for v in w.variants
                ):
                    placed[w.ref].add(zone.name)
                    selected_any.add(zone.name)
                    break
        labelled = {labels_ns.get(ZONE_LABEL)} | {
            dict(v.labels).get(ZONE_LABEL) for v in w.variants
        }
        for name in sorted(n for n in labelled if n):
            if name in known:
                placed[w.ref].add(name)
                selected_any.add(name)
            else:
                unknown_labels[name].append(str(w.ref))
    for name, refs in sorted(unknown_labels.items()):
        warnings.append(
            f"{scope.source}: label {ZONE_LABEL}={name} on {', '.join(refs[:3])}"
            f"{' and more' if len(refs) > 3 else ''} names no zone of the scope file; ignored"
        )
    for zone in scope.zones:
        if zone.name not in selected_any:
            warnings.append(f"{scope.source}: zone {zone.name!r} holds no workload of the export")
    return Placement({w: frozenset(zs) for w, zs in sorted(placed.items())}, tuple(warnings))
