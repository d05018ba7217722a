"""How zones relate: tenants, the management plane, the scope's edge, and paths
that reach data stores in several hops."""

from __future__ import annotations

import functools
from collections import deque

from compliance.checks.base import (
    PUBLIC,
    Context,
    Finding,
    PeerGroups,
    Verdict,
    check,
    describe_ports,
    not_applicable,
    nothing_in_scope,
    peer_summary,
)
from compliance.checks.register import register_remediation
from compliance.matrix import labels
from compliance.model import WorkloadRef
from compliance.ports import PortSet, union_all


def _zones_with_role(ctx: Context, ref: WorkloadRef, role: str) -> frozenset[str]:
    return frozenset(z for z in ctx.zones(ref) if ctx.role_of[z] == role)


@check("SEG-15", "Tenant isolation")
def tenant_isolation(ctx: Context) -> Verdict:
    """Tenants reach neither each other nor the management plane, except as approved.

    Applies when the scope has zones with role `tenant`. For every flow touching
    scope between workloads of different tenant zones, or between a `mgmt` zone
    and a tenant zone, the part the approved-flow register does not cover fails.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    if not any(z.role == "tenant" for z in ctx.scope.zones):
        return not_applicable("the scope has no tenant zones")
    groups = PeerGroups()
    for flow in ctx.touching():
        if flow.self_flow or not (
            isinstance(flow.src, WorkloadRef) and isinstance(flow.dst, WorkloadRef)
        ):
            continue
        src_t = _zones_with_role(ctx, flow.src, "tenant")
        dst_t = _zones_with_role(ctx, flow.dst, "tenant")
        if src_t and dst_t and not src_t & dst_t:
            why = f"crosses tenants {', '.join(sorted(src_t))} -> {', '.join(sorted(dst_t))}"
        elif (src_t and ctx.has_role(flow.dst, "mgmt")) or (
            dst_t and ctx.has_role(flow.src, "mgmt")
        ):
            why = "connects a tenant and the management plane"
        else:
            continue
        inside = flow.src if ctx.is_in(flow.src) else flow.dst
        assert isinstance(inside, WorkloadRef)
        for _, ports in ctx.register.uncovered(flow):
            groups.add_flow(
                ctx,
                flow,
                inside,
                f"on {describe_ports(ports)} {why}",
                ports,
                functools.partial(register_remediation, ctx, flow, None, ports),
            )
    found = groups.findings()
    return Verdict(found, summary=f"{len(found)} cross-tenant findings")


@check("SEG-10", "Zone-matrix conformance")
def zone_matrix_conformance(ctx: Context) -> Verdict:
    """The zone-to-zone matrix allows no more than the scope file's `zone_policy`.

    Collapses the allowed flows onto (from zone, to zone) cells, with
    `outside-cluster` and `out-of-scope` (workloads in no zone) as extra rows
    and columns; a workload in several zones counts in each. For every flow
    touching scope, each cell it falls in that has a stated policy (`allow:
    none`, `all`, or a list of ports) fails for the ports beyond it, naming the
    flows. Cells the policy does not state are not judged; the summary counts
    them. Not applicable when the scope file has no `zone_policy`.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    if not ctx.scope.zone_policy:
        return not_applicable("the scope file states no zone_policy (the intended zone matrix)")
    intended = {(p.src, p.dst): p for p in ctx.scope.zone_policy}
    groups = PeerGroups()
    exceeding: set[tuple[str, str]] = set()
    unstated: set[tuple[str, str]] = set()
    for flow in ctx.touching():
        inside = flow.src if ctx.is_in(flow.src) else flow.dst
        assert isinstance(inside, WorkloadRef)
        for src in sorted(labels(flow.src, ctx.placement)):
            for dst in sorted(labels(flow.dst, ctx.placement)):
                stated = intended.get((src, dst))
                if stated is None:
                    unstated.add((src, dst))
                    continue
                excess = flow.connections - stated.allow
                if not excess:
                    continue
                exceeding.add((src, dst))
                groups.add_flow(
                    ctx,
                    flow,
                    inside,
                    f"on {describe_ports(excess)} exceeds the zone policy {src} -> {dst} "
                    f"(intended: {stated.text})",
                    excess,
                    "Narrow the allowing rules to the intended ports, or change zone_policy "
                    "(with the approval behind it) if the matrix is wrong.",
                )
    return Verdict(
        groups.findings(),
        summary=f"{len(intended)} stated cells, {len(exceeding)} allow more than intended; "
        f"{len(unstated)} cells with flows touching scope have no stated policy",
    )


def _order(ref: WorkloadRef) -> tuple[str, str, str]:
    """WorkloadRef's own order as a plain tuple: sorting compares in C, not through the
    dataclass's `__lt__` (scope leak sorts the peers of every connected-to workload)."""
    return (ref.namespace, ref.name, ref.kind)


@check("SEG-17", "Scope derivation and scope leak")
def scope_leak(ctx: Context) -> Verdict:
    """Workloads connected to scope are in scope.

    Derives the connected-to inventory: out-of-scope workloads with any allowed
    flow to or from an in-scope workload. One that can open connections into
    scope fails (it is connected-to and belongs in scope, or the flows must be
    denied); one that scope only connects out to is a warning to confirm.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    inbound: dict[WorkloadRef, set[WorkloadRef]] = {}
    outbound: dict[WorkloadRef, set[WorkloadRef]] = {}
    policies: dict[WorkloadRef, set[str]] = {}
    ports: dict[tuple[WorkloadRef, bool], set[PortSet]] = {}
    for flow in ctx.touching():
        src, dst = flow.src, flow.dst
        if isinstance(src, WorkloadRef) and src not in ctx.in_scope and ctx.is_in(dst):
            assert isinstance(dst, WorkloadRef)
            inbound.setdefault(src, set()).add(dst)
            policies.setdefault(src, set()).update(ctx.facts.flow_policies(flow))
            ports.setdefault((src, True), set()).add(flow.connections)
        elif isinstance(dst, WorkloadRef) and dst not in ctx.in_scope and ctx.is_in(src):
            assert isinstance(src, WorkloadRef)
            outbound.setdefault(dst, set()).add(src)
            policies.setdefault(dst, set()).update(ctx.facts.flow_policies(flow))
            ports.setdefault((dst, False), set()).add(flow.connections)
    findings = []
    for ref in sorted(set(inbound) | set(outbound), key=_order):
        targets = sorted(inbound.get(ref, ()), key=_order)
        sources = sorted(outbound.get(ref, ()), key=_order)
        shown = ", ".join(str(t) for t in (targets or sources)[:4])
        more = len(targets or sources) - 4
        shown += f" and {more} more" if more > 0 else ""
        if targets:
            message = (
                f"out of scope, but can open connections to in-scope {shown}: it is "
                "connected-to and belongs in scope"
            )
        else:
            message = (
                f"out of scope, and in-scope {shown} can connect to it: confirm it is connected-to"
            )
        findings.append(
            Finding(
                message,
                severity="fail" if targets else "warn",
                workload=ref,
                peer=peer_summary([str(t) for t in (targets or sources)]),
                peers=tuple(str(t) for t in (targets or sources))
                if len(targets or sources) > 1
                else (),
                ports=describe_ports(union_all(ports[(ref, bool(targets))])),
                direction="egress" if targets else "ingress",
                policies=tuple(sorted(policies.get(ref, ()))),
                remediation=f"Add {ref.id} to a zone (role connected) that lists this "
                "framework, or deny these flows.",
            )
        )
    connected = len(findings)
    return Verdict(
        tuple(findings),
        summary=f"{len(ctx.in_scope)} in-scope workloads, "
        f"{connected} connected-to out-of-scope workloads",
    )


@check("SEG-24", "Management and security-tool plane isolation")
def management_plane(ctx: Context) -> Verdict:
    """Scope and the management or security-tool planes meet only as approved.

    Applies when the scope has zones with role `mgmt` or `security-tools`.
    Every flow between such a zone's workloads and other in-scope workloads, in
    either direction, must be covered by the approved-flow register.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    roles = ("mgmt", "security-tools")
    if not any(z.role in roles for z in ctx.scope.zones):
        return not_applicable("the scope has no mgmt or security-tools zones")

    def plane(ref: object) -> bool:
        return isinstance(ref, WorkloadRef) and any(ctx.has_role(ref, r) for r in roles)

    groups = PeerGroups()
    for flow in ctx.touching():
        if flow.self_flow or plane(flow.src) == plane(flow.dst):
            continue
        if not (isinstance(flow.src, WorkloadRef) and isinstance(flow.dst, WorkloadRef)):
            continue
        other = flow.dst if plane(flow.src) else flow.src
        if not ctx.is_in(other):
            continue
        assert isinstance(other, WorkloadRef)
        for _, ports in ctx.register.uncovered(flow):
            groups.add_flow(
                ctx,
                flow,
                other,
                f"(management plane) on {describe_ports(ports)} without an approved-flow entry",
                ports,
                functools.partial(register_remediation, ctx, flow, None, ports),
            )
    found = groups.findings()
    return Verdict(found, summary=f"{len(found)} management-plane findings")


@check("SEG-16", "Transitive reachability to data stores")
def transitive(ctx: Context) -> Verdict:
    """No multi-hop path reaches a data store around the application tier.

    Searches the allowed-flow graph from the internet (public addresses) and
    from every out-of-scope workload towards in-scope `datastore` workloads.
    Paths end at data stores and do not continue through `cde`-zone
    application workloads (the choke points). Each data store reached in two or
    more hops is reported with the shortest path: the pre-penetration-test
    reachability matrix. One-hop paths are SEG-07's.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    stores = {r for r in ctx.in_scope if ctx.has_role(r, "datastore")}
    if not stores:
        return not_applicable("no in-scope zone has role datastore")

    def choke(ref: WorkloadRef) -> bool:
        return ref in ctx.in_scope and ctx.has_role(ref, "cde") and ref not in stores

    internet = "the internet"
    from_internet: list[WorkloadRef] = []
    for w in ctx.cluster.workloads:
        for flow in ctx.facts.incoming.get(w.ref, ()):
            if not isinstance(flow.src, WorkloadRef) and flow.src.addresses & PUBLIC:
                from_internet.append(w.ref)
                break
    starts: list[tuple[str | WorkloadRef, list[WorkloadRef]]] = [(internet, from_internet)]
    for w in ctx.cluster.workloads:
        if w.ref not in ctx.in_scope:
            out = ctx.facts.outgoing.get(w.ref, ())
            starts.append((w.ref, [f.dst for f in out if isinstance(f.dst, WorkloadRef)]))
    # Multi-source search: out-of-scope workloads are sources themselves, never reached.
    roots = {ref for ref, _ in starts if isinstance(ref, WorkloadRef)}
    parent: dict[WorkloadRef, str | WorkloadRef] = {}
    queue: deque[WorkloadRef] = deque()
    for start, nexts in starts:
        for n in nexts:
            if n not in parent and n not in roots:
                parent[n] = start
                queue.append(n)
    findings = []
    while queue:
        node = queue.popleft()
        if node in stores or choke(node):
            continue
        for f in ctx.facts.outgoing.get(node, ()):
            nxt = f.dst
            if isinstance(nxt, WorkloadRef) and nxt not in parent and nxt not in roots:
                parent[nxt] = node
                queue.append(nxt)
    for store in sorted(stores):
        if store not in parent:
            continue
        path: list[str | WorkloadRef] = [store]
        cursor: str | WorkloadRef = store
        while isinstance(cursor, WorkloadRef) and cursor in parent:
            cursor = parent[cursor]
            path.append(cursor)
        path.reverse()
        if len(path) <= 2:
            continue
        findings.append(
            Finding(
                "reachable in several hops without passing the application tier: "
                + " -> ".join(str(p) for p in path),
                workload=store,
                peer=str(path[0]),
                direction="ingress",
                remediation="Break the chain at its first in-cluster hop: that workload should "
                "not reach the next one, or belongs in the application tier.",
            )
        )
    return Verdict(
        tuple(findings),
        summary=f"{len(stores)} data store{'s' if len(stores) != 1 else ''}, "
        f"{len(findings)} multi-hop path{'s' if len(findings) != 1 else ''}",
    )
