"""Is every allowed flow that matters justified: the approved-flow register,
explicit ports, insecure services, and flows leaving the zone."""

from __future__ import annotations

import functools

from compliance.addresses import AddrSet
from compliance.checks.base import (
    Context,
    Finding,
    PeerGroups,
    Verdict,
    check,
    describe_ports,
    narrow_first,
    nothing_in_scope,
    wide_reasons,
)
from compliance.flows import Flow
from compliance.model import WorkloadRef
from compliance.ports import PortSet, union_all


def _quoted(cidr: str) -> str:
    """IPv6 CIDRs hold colons, which a YAML flow sequence needs quoted."""
    return f'"{cidr}"' if ":" in cidr else cidr


def register_snippet(flow: Flow, addrs: AddrSet | None, ports: PortSet) -> str:
    """An approved_flows entry to fill in, for a flow that has a business need."""

    def end(e: object, part: AddrSet | None) -> str:
        if isinstance(e, WorkloadRef):
            return f"{{workload: {e.id}}}"
        cidrs = (part or e.addresses).to_cidrs()  # type: ignore[attr-defined]
        return f"{{cidrs: [{', '.join(_quoted(c) for c in cidrs)}]}}"

    return _snippet(end(flow.src, addrs), end(flow.dst, addrs), ports)


def named_register_snippet(src: WorkloadRef, names: tuple[str, ...], ports: PortSet) -> str:
    """An approved_flows entry to fill in for egress to admin `domainNames`: it names the
    destinations exactly as the rule spells them, which approves the names, not whatever
    addresses they resolve to."""
    quoted = ", ".join(f"'{n}'" if n.startswith("*") else n for n in names)
    return _snippet(f"{{workload: {src.id}}}", f"{{names: [{quoted}]}}", ports)


def _snippet(src: str, dst: str, ports: PortSet) -> str:
    lines = [
        "approved_flows:",
        f"  - from: {src}",
        f"    to: {dst}",
    ]
    if ports.is_all():
        lines.append("    # every port is allowed: narrow the rule, then list its ports here")
    else:
        entries = []
        for proto, ranges in ports.items():
            for lo, hi in ranges:
                entries.append(
                    f"{{protocol: {proto}, port: {lo}}}"
                    if lo == hi
                    else f"{{protocol: {proto}, port: {lo}, endPort: {hi}}}"
                )
        lines.append(f"    ports: [{', '.join(entries)}]")
    lines += [
        "    justification: <business need>",
        "    owner: <team>",
        "    ticket: <change ticket>",
        "    approved_by: <approver>",
        "    expires: <YYYY-MM-DD>",
    ]
    return "\n".join(lines) + "\n"


def register_remediation(ctx: Context, flow: Flow, addrs: AddrSet | None, ports: PortSet) -> str:
    """A register entry to fill in, after the advice to narrow the rule when the flow
    comes from a wildcard peer or an unisolated side."""
    return narrow_first(wide_reasons(ctx.facts, flow), register_snippet(flow, addrs, ports))


def _inside(ctx: Context, flow: Flow) -> WorkloadRef:
    """The in-scope end of a flow touching scope (the source when both are)."""
    end = flow.src if ctx.is_in(flow.src) else flow.dst
    assert isinstance(end, WorkloadRef)
    return end


def _in_scope_end(ctx: Context, flow: Flow) -> tuple[WorkloadRef, str] | None:
    """The in-scope end of a flow that crosses the scope boundary, and its direction."""
    src_in, dst_in = ctx.is_in(flow.src), ctx.is_in(flow.dst)
    if src_in == dst_in:
        return None
    if src_in:
        assert isinstance(flow.src, WorkloadRef)
        return flow.src, "egress"
    assert isinstance(flow.dst, WorkloadRef)
    return flow.dst, "ingress"


@check("SEG-11", "Justified scope-crossing flows")
def scope_crossing(ctx: Context) -> Verdict:
    """Every flow crossing the scope boundary is in the approved-flow register.

    A flow crosses the boundary when one end is in scope and the other is an
    out-of-scope workload or an address outside the cluster. Each part of it
    (ports, and addresses for external peers) must be covered by an active
    `approved_flows` entry; an entry past its `expires` date at `--as-of` no
    longer covers, and the finding names it.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    groups = PeerGroups()
    crossing = parts = 0
    for flow in ctx.touching():
        end = _in_scope_end(ctx, flow)
        if end is None:
            continue
        crossing += 1
        ref, _ = end
        for addrs, ports in ctx.register.uncovered(flow):
            parts += 1
            expired = [e for e in ctx.register.expired_covering(flow) if e.ports & ports]
            note = ""
            if expired:
                note = "; " + ", ".join(
                    f"{e.label()} expired on {e.expires.isoformat()}" for e in expired
                )
            groups.add_flow(
                ctx,
                flow,
                ref,
                f"on {describe_ports(ports)} crosses the scope boundary and is not in the "
                f"approved-flow register{note}",
                ports,
                functools.partial(register_remediation, ctx, flow, addrs, ports),
                addrs,
            )
    return Verdict(
        groups.findings(),
        summary=f"{crossing} scope-crossing flows, {parts} parts not in the register",
    )


@check("SEG-27", "Register coverage inside scope")
def register_coverage(ctx: Context) -> Verdict:
    """Every allowed flow touching scope is covered by a current register entry.

    PCI DSS 1.2.5 asks that every allowed service, protocol and port is
    identified, approved and has a business need, not only those crossing the
    scope boundary: app -> database inside the CDE counts too. For each allowed
    flow with an in-scope end (flows between a workload's own replicas
    included), each part (ports, and addresses for external peers) that no
    active `approved_flows` entry covers fails. An active entry covering such a
    flow that names no `approved_by` is a warning: the approval cannot be shown (an
    entry approving egress to admin `domainNames` by name included; SEG-08 judges
    whether such egress is approved).
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    groups = PeerGroups()
    flows = parts = 0
    unapproved: dict[str, list[str]] = {}
    for flow in ctx.touching():
        flows += 1
        for e in ctx.register.covering(flow):
            if not e.approved_by:
                inside = _inside(ctx, flow)
                unapproved.setdefault(e.ref, []).append(str(inside))
        for addrs, ports in ctx.register.uncovered(flow):
            parts += 1
            expired = [e for e in ctx.register.expired_covering(flow) if e.ports & ports]
            note = "".join(f"; {e.label()} expired on {e.expires.isoformat()}" for e in expired)
            groups.add_flow(
                ctx,
                flow,
                _inside(ctx, flow),
                f"on {describe_ports(ports)} is not in the approved-flow register{note}",
                ports,
                functools.partial(register_remediation, ctx, flow, addrs, ports),
                addrs,
            )
    for named in ctx.graph.named_flows:  # entries approving domain names by name
        if ctx.is_in(named.src):
            for e in ctx.register.covering_named(named):
                if not e.approved_by:
                    unapproved.setdefault(e.ref, []).append(str(named.src))
    found = list(groups.findings())
    entries = {e.ref: e for e in ctx.register.active}
    for ref, users in sorted(unapproved.items()):
        e = entries[ref]
        names = sorted(set(users))
        found.append(
            Finding(
                f"approved-flow entry {e.label()} ({e.src.text} -> {e.dst.text}, "
                f"{describe_ports(e.ports)}) names no approved_by: its approval cannot be shown",
                severity="warn",
                namespace=names[0].split("/")[0],
                peer=e.ref,
                ports=describe_ports(e.ports),
                direction="both",
                remediation="Add approved_by: who approved the business need (a role or name), "
                "as recorded on the ticket.",
            )
        )
    return Verdict(
        tuple(found),
        summary=f"{flows} flows touching scope, {parts} parts not in the register, "
        f"{len(unapproved)} entries without an approver",
    )


def _wide(ports: PortSet, limit: int) -> str | None:
    if ports.is_all():
        return "every port of every protocol"
    wide = []
    for proto, ranges in ports.items():
        for lo, hi in ranges:
            if hi - lo + 1 > limit:
                wide.append(
                    f"{proto} {lo}-{hi}" if (lo, hi) != (1, 65535) else f"every {proto} port"
                )
    return ", ".join(wide) if wide else None


@check("SEG-13", "Explicit ports only")
def explicit_ports(ctx: Context) -> Verdict:
    """Flows touching scope name their protocol and ports.

    Fails for each allowed flow with an in-scope end whose ports are all ports,
    a whole protocol, or a range spanning more than `parameters.max_port_range`
    ports (10 by default). Such flows come from rules without `ports`, or from a
    side no policy isolates.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    limit = ctx.parameters.max_port_range
    groups = PeerGroups()
    flows = 0
    for flow in ctx.touching():
        wide = _wide(flow.connections, limit)
        if wide is None:
            continue
        flows += 1
        groups.add_flow(
            ctx,
            flow,
            _inside(ctx, flow),
            f"allows {wide}",
            flow.connections,
            "Add `ports` to the allowing rule (protocol and port), and isolate the other side "
            "if it is open.",
        )
    return Verdict(groups.findings(), summary=f"{flows} flows without explicit ports")


@check("SEG-14", "Insecure-protocol flows")
def insecure_services(ctx: Context) -> Verdict:
    """Flows touching scope on insecure-service ports have a documented security feature.

    Insecure services are cleartext or unauthenticated ones: FTP, Telnet, TFTP,
    plain HTTP (80, 8080), POP3, IMAP, NetBIOS, SNMP v1/v2c, LDAP, SMB and the
    r-services (or `parameters.insecure_ports`). A flow allowing any of them
    passes only where an active approved-flow entry with a `security_feature`
    (e.g. mesh mTLS) covers it.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    services = ctx.parameters.insecure_ports
    insecure = union_all(s.ports for s in services)

    @functools.cache
    def names(hit: PortSet) -> str:
        return ", ".join(sorted({s.service for s in services if s.ports & hit}))

    exposed = functools.cache(insecure.intersection)
    groups = PeerGroups()
    flows = 0
    for flow in ctx.touching():
        if not exposed(flow.connections):
            continue
        protected = [e for e in ctx.register.covering(flow) if e.security_feature]
        for addrs, ports in ctx.register.uncovered(flow, protected):
            hit = exposed(ports)
            if not hit:
                continue
            flows += 1
            groups.add_flow(
                ctx,
                flow,
                _inside(ctx, flow),
                f"allows insecure services {names(hit)} ({describe_ports(hit)}) with no "
                "documented security feature",
                hit,
                "Use the secure protocol, or record the protection (e.g. mTLS) as "
                "`security_feature` on the flow's approved_flows entry.",
                addrs,
            )
    return Verdict(groups.findings(), summary=f"{flows} insecure-service flows")


@check("SEG-18", "Cross-namespace exposure")
def cross_namespace(ctx: Context) -> Verdict:
    """In-scope workloads talk to other namespaces only inside their zone or as approved.

    For each flow between an in-scope workload and a workload in another
    namespace that shares none of its zones, the part the approved-flow
    register does not cover fails (Calico's ingressFromOtherNamespace /
    egressToOtherNamespace, narrowed by zones and the register).
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    groups = PeerGroups()
    flows = 0
    for ref in ctx.scoped():
        mine = ctx.zones(ref)
        for direction, candidates in (
            ("egress", ctx.facts.outgoing.get(ref, ())),
            ("ingress", ctx.facts.incoming.get(ref, ())),
        ):
            for flow in candidates:
                peer = flow.dst if direction == "egress" else flow.src
                if not isinstance(peer, WorkloadRef) or peer.namespace == ref.namespace:
                    continue
                if mine & ctx.zones(peer):
                    continue
                for _, ports in ctx.register.uncovered(flow):
                    flows += 1
                    groups.add_flow(
                        ctx,
                        flow,
                        ref,
                        f"(other namespaces, outside its zones) on {describe_ports(ports)}",
                        ports,
                        functools.partial(register_remediation, ctx, flow, None, ports),
                    )
    return Verdict(groups.findings(), summary=f"{flows} cross-namespace flows outside the zone")
