"""Was each change since the baseline approved in time: SEG-19.

Runs only when `report --baseline` names the earlier pack. What counts as a change is
what `compliance diff` calls one in its per-zone verdict (`flowchanges.py`): a flow
added, or one whose ports widened, with one end inside a zone and the other outside it;
egress an admin rule allows to `domainNames` counts name by name.
"""

from __future__ import annotations

from compliance.addresses import AddrSet
from compliance.checks.base import (
    Context,
    Finding,
    Verdict,
    address_text,
    check,
    describe_ports,
    not_applicable,
    nothing_in_scope,
)
from compliance.checks.register import named_register_snippet, register_snippet
from compliance.flowchanges import Baseline, crossed_zones, end_text
from compliance.flows import ExternalName, Flow
from compliance.model import WorkloadRef
from compliance.ports import PortSet
from compliance.scope import ApprovedFlow


def _snippet(flow: Flow, addrs: AddrSet | None, ports: PortSet, window: str) -> str:
    return register_snippet(flow, addrs, ports) + f"    approved: <YYYY-MM-DD, {window}>\n"


def _named_changes(
    ctx: Context, base: Baseline, zones: set[str], changed: set[tuple[str, str]]
) -> list[Finding]:
    """Egress to admin `domainNames` gained since the baseline, name by name, from a
    workload in scope and in a zone (the names are outside every zone): each needs an
    entry naming it, approved between the two as-of dates."""
    low, high = base.as_of.date(), ctx.as_of.date()
    window = f"between {low.isoformat()} and {high.isoformat()}"
    placements = (base.placement, ctx.placement)
    before = base.edges
    findings = []
    for named in ctx.graph.named_flows:
        crossed = crossed_zones(placements, named.src, None) & zones
        if not crossed or not ctx.is_in(named.src):
            continue
        gained: dict[PortSet, list[str]] = {}
        for name in named.dst.names:
            old = before.get((str(named.src), str(ExternalName((name,)))))
            added = named.connections if old is None else named.connections - old.ports
            if added:
                gained.setdefault(added, []).append(name)
                changed.add((str(named.src), name))
        for added, names in gained.items():
            part = named._replace(dst=ExternalName(tuple(names)), connections=added)
            matching = ctx.register.covering_named(part)
            dated = [e for e in matching if e.approved is not None and low <= e.approved <= high]
            others = [e for e in matching if e not in dated]
            for left, ports in ctx.register.uncovered_named(part, dated):
                peer = str(ExternalName(left))
                findings.append(
                    Finding(
                        message=(
                            f"egress {named.src} -> {peer} (domain names, never resolved) on "
                            f"{describe_ports(ports)} gained since the baseline (across the "
                            f"boundary of {', '.join(sorted(crossed))}): no register entry "
                            f"approved {window} names it{_why_not(others)}"
                        ),
                        workload=named.src,
                        peer=peer,
                        ports=describe_ports(ports),
                        direction="egress",
                        policies=ctx.facts.flow_policies(named),  # type: ignore[arg-type]
                        remediation=named_register_snippet(named.src, left, ports)
                        + f"    approved: <YYYY-MM-DD, {window}>\n",
                    )
                )
    return findings


def _why_not(entries: list[ApprovedFlow]) -> str:
    """Why entries that match the flow's ends and ports do not count."""
    notes = []
    for e in entries:
        if e.approved is None:
            notes.append(f"{e.label()} has no approved date")
        else:
            notes.append(f"{e.label()} was approved on {e.approved.isoformat()}, outside it")
    return ("; " + "; ".join(notes)) if notes else ""


@check("SEG-19", "Changes approved since the baseline")
def approved_changes(ctx: Context) -> Verdict:
    """Every scope-crossing flow added or widened since the baseline pack was approved
    between the two as-of dates.

    Given the earlier pack with `report --baseline`, each flow that is new, or whose
    ports grew, and that crosses the boundary of one of the framework's zones (one end
    inside the zone, the other outside it, under either pack's placement) must be
    covered, for its new ports, by an active `approved_flows` entry whose `approved`
    date lies between the baseline's as-of date and this run's (both included). A flow
    that only narrowed, or that was removed, needs nothing. Egress an admin rule allows
    to `domainNames` counts name by name, and needs an entry naming it (`to: {names}`).
    Without a baseline the check is not applicable: one export cannot show what changed.
    """
    base = ctx.baseline
    if base is None:
        return not_applicable("no baseline pack was given (report --baseline)")
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    low, high = base.as_of.date(), ctx.as_of.date()
    window = f"between {low.isoformat()} and {high.isoformat()}"
    zones = {z.name for z in ctx.scope.zones if ctx.framework in z.frameworks}
    placements = (base.placement, ctx.placement)
    before = base.edges
    findings = []
    changed: set[tuple[str, str]] = set()
    for flow in ctx.touching():
        key = (end_text(flow.src), end_text(flow.dst))
        old = before.get(key)
        added = flow.connections if old is None else flow.connections - old.ports
        if not added:
            continue
        src = flow.src if isinstance(flow.src, WorkloadRef) else None
        dst = flow.dst if isinstance(flow.dst, WorkloadRef) else None
        crossed = crossed_zones(placements, src, dst) & zones
        if not crossed:
            continue
        changed.add(key)
        part = flow._replace(connections=added)
        matching = ctx.register.matching(ctx.register.active, part)
        dated = [e for e in matching if e.approved is not None and low <= e.approved <= high]
        others = [e for e in matching if e not in dated]
        inside = src if src is not None and ctx.is_in(src) else dst
        assert inside is not None
        direction = "egress" if inside == src else "ingress"
        peer_end = flow.dst if direction == "egress" else flow.src
        word = "added" if old is None else "widened"
        for addrs, ports in ctx.register.uncovered(part, dated):
            if isinstance(peer_end, WorkloadRef):
                peer = str(peer_end)
            else:
                peer = address_text(addrs if addrs is not None else peer_end.addresses)
            arrow = f"{inside} -> {peer}" if direction == "egress" else f"{peer} -> {inside}"
            findings.append(
                Finding(
                    message=(
                        f"flow {arrow} on {describe_ports(ports)} {word} since the baseline "
                        f"(across the boundary of {', '.join(sorted(crossed))}): no register "
                        f"entry approved {window} covers it{_why_not(others)}"
                    ),
                    workload=inside,
                    peer=peer,
                    ports=describe_ports(ports),
                    direction=direction,
                    policies=ctx.facts.flow_policies(flow),
                    remediation=_snippet(flow, addrs, ports, window),
                )
            )
    findings += _named_changes(ctx, base, zones, changed)
    unapproved = len({(f.workload, f.direction, f.peer) for f in findings})
    summary = (
        f"{len(changed)} zone-crossing flow{'s' if len(changed) != 1 else ''} added or widened "
        f"since the baseline of {low.isoformat()}, {unapproved} not approved {window}"
    )
    return Verdict(findings=tuple(findings), summary=summary)
