"""What the PDF says, as plain values: the templates only lay it out.

Written for the assessor who did not run the tool. The PDF must stay readable for a
thousand in-scope workloads, so it groups: each workload's flows by the rules that
allow them (peers listed per group, up to a cap), each check's findings up to a cap.
The spreadsheet and results.json carry every row; the PDF says so wherever it stops.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from compliance import __version__
from compliance.checks.base import finding_id
from compliance.cni_support import implementations
from compliance.evaluate import CheckResult, Evaluation, FindingResult
from compliance.flows import Endpoint, ExternalName, Side
from compliance.matrix import COVERED, PARTLY, UNCOVERED, UNJUDGED
from compliance.model import WorkloadRef
from compliance.ports import PortSet
from compliance.render.changes import changes_view
from compliance.render.diagram import (
    STATUS_COLOURS,
    STATUS_ORDER,
    status_chart_svg,
    zone_boundaries,
    zone_diagram_svg,
)
from compliance.render.enforcement import observed_json, probes_json
from compliance.render.evidence import (
    STATUS_LABELS,
    input_rows,
    named_register_text,
    policy_rows,
    register_text,
)
from compliance.render.results import (
    TOOL_NAME,
    as_of_text,
    export_json,
    out_of_scope,
    plural,
    zoned_named_flows,
)
from compliance.scope import NO_ZONE, OUTSIDE

PEERS_PER_GROUP = 8
"""Peer entries per flow group in the PDF: workloads, or a namespace's workloads counted
when a group has more peers than this; the rest are counted (the spreadsheet has all)."""
PEER_RULES_PER_GROUP = 3
"""The peers' own allowing rules named per flow group."""
FINDINGS_PER_CHECK = 40
"""Findings printed per check in the PDF; the rest are counted."""
OUT_OF_SCOPE_ROWS = 100
"""Out-of-scope workloads listed in the PDF, those sharing a namespace with scope first;
the rest are counted (the Workloads sheet and results.json list every one)."""


@dataclass(frozen=True, slots=True)
class FlowGroup:
    """Flows of one workload in one direction that the same rules allow on the same ports."""

    own_rules: str
    peer_rules: str
    ports: str
    register: str
    missing: bool
    """Some part of these flows is in no approved-flow entry."""
    peers: tuple[str, ...]
    more_peers: int


@dataclass(frozen=True, slots=True)
class WorkloadFlows:
    workload: str
    kind: str
    zones: str
    frameworks: str
    isolation: str
    ingress: tuple[FlowGroup, ...]
    egress: tuple[FlowGroup, ...]


@dataclass(frozen=True, slots=True)
class CheckRun:
    """One run of a check: frameworks with the same scope share it."""

    frameworks: str
    status: str
    summary: str


@dataclass(frozen=True, slots=True)
class ShownFinding:
    result: FindingResult
    frameworks: str
    """The frameworks whose run found it, when not every run did."""


@dataclass(frozen=True, slots=True)
class CheckSection:
    id: str
    title: str
    status: str
    runs: tuple[CheckRun, ...]
    requirements: str
    findings: tuple[ShownFinding, ...]
    more_findings: int


Peer = Endpoint | ExternalName


def _peer_text(own: WorkloadRef, peer: Peer) -> str:
    if isinstance(peer, ExternalName):
        return f"{', '.join(peer.names)} ({NAMED_PEER})"
    return "itself (between its pods)" if peer == own else str(peer)


NAMED_PEER = "domain names, never resolved"
"""How the PDF marks an admin `domainNames` destination: the names as the rule spells
them; the addresses behind them are unknown to the analysis."""


def _peer_entries(own: WorkloadRef, peers: set[Peer]) -> tuple[tuple[str, ...], int]:
    """Up to PEERS_PER_GROUP entries and how many peers they leave out. A long list of
    workloads reads as namespaces with counts: an assessor sampling one looks it up in
    the spreadsheet."""
    if len(peers) <= PEERS_PER_GROUP:
        return tuple(sorted(_peer_text(own, p) for p in peers)), 0
    by_namespace: dict[str, list[Peer]] = defaultdict(list)
    others = []
    for p in peers:
        if isinstance(p, WorkloadRef) and p != own:
            by_namespace[p.namespace].append(p)
        else:
            others.append(p)
    entries = [(_peer_text(own, p), 1) for p in others]
    for ns, members in by_namespace.items():
        if len(members) == 1:
            entries.append((str(members[0]), 1))
        else:
            entries.append((f"{ns} ({len(members)} workloads)", len(members)))
    entries.sort()
    shown = entries[:PEERS_PER_GROUP]
    return tuple(text for text, _ in shown), len(peers) - sum(n for _, n in shown)


def workload_flows(ev: Evaluation, scoped: Sequence[WorkloadRef]) -> tuple[WorkloadFlows, ...]:
    """One pass over the flows: each in-scope workload's ingress and egress, grouped by
    its own allowing rules, the ports and the register entries. The peers' own rules are
    listed per group (the spreadsheet pairs each peer with its rule)."""
    wanted = set(scoped)
    Key = tuple[Side, PortSet, tuple[str, bool]]
    groups: dict[tuple[WorkloadRef, str], dict[Key, tuple[set[Peer], set[Side]]]] = defaultdict(
        dict
    )
    for flow in ev.graph.flows:
        for own, direction, own_side, peer_side, peer in (
            (flow.dst, "ingress", flow.ingress, flow.egress, flow.src),
            (flow.src, "egress", flow.egress, flow.ingress, flow.dst),
        ):
            if own not in wanted:
                continue
            assert isinstance(own, WorkloadRef)
            key = (own_side, flow.connections, register_text(ev.register, flow))
            entry = groups[(own, direction)].get(key)
            if entry is None:
                entry = groups[(own, direction)][key] = (set(), set())
            entry[0].add(peer)
            entry[1].add(peer_side)
    for named in zoned_named_flows(ev):
        if named.src not in wanted:
            continue
        key = (named.egress, named.connections, named_register_text(ev, named))
        entry = groups[(named.src, "egress")].get(key)
        if entry is None:
            entry = groups[(named.src, "egress")][key] = (set(), set())
        entry[0].add(named.dst)
        entry[1].add(named.ingress)
    texts: dict[Any, str] = {}

    def text(value: Side | PortSet) -> str:
        found = texts.get(value)
        if found is None:
            found = texts[value] = value.describe()
        return found

    def grouped(own: WorkloadRef, direction: str) -> tuple[FlowGroup, ...]:
        out = []
        for (own_side, ports, (register, missing)), (peers, peer_sides) in groups[
            (own, direction)
        ].items():
            names, more = _peer_entries(own, peers)
            rules = sorted({text(s) for s in peer_sides})
            shown = rules[:PEER_RULES_PER_GROUP]
            if len(rules) > len(shown):
                shown.append(f"and {len(rules) - len(shown)} more")
            out.append(
                FlowGroup(
                    own_rules=text(own_side),
                    peer_rules="; ".join(shown),
                    ports=text(ports),
                    register=register,
                    missing=missing,
                    peers=names,
                    more_peers=more,
                )
            )
        return tuple(sorted(out, key=lambda g: (g.own_rules, g.ports, g.register, g.peers)))

    frameworks_of: dict[WorkloadRef, list[str]] = defaultdict(list)
    for fw in ev.frameworks:
        for ref in fw.in_scope:
            frameworks_of[ref].append(fw.framework.id)
    isolation = ev.graph.isolation
    result = []
    for ref in scoped:
        iso = isolation[ref]
        state = [
            "ingress isolated" if iso.ingress else "ingress NOT isolated",
            "egress isolated" if iso.egress else "egress NOT isolated",
        ]
        if iso.host_network:
            state.append("hostNetwork")
        result.append(
            WorkloadFlows(
                workload=ref.id,
                kind=ref.kind,
                zones=", ".join(sorted(ev.placement.zones(ref))),
                frameworks=", ".join(frameworks_of[ref]),
                isolation="; ".join(state),
                ingress=grouped(ref, "ingress"),
                egress=grouped(ref, "egress"),
            )
        )
    return tuple(result)


def check_sections(ev: Evaluation) -> tuple[CheckSection, ...]:
    """One section per check across frameworks, each finding printed once.

    Frameworks with different scopes run a check separately, and a workload in both
    scopes is found by both runs: the section names the frameworks of each finding
    when they are not all of them."""
    runs: dict[str, list[tuple[CheckResult, list[str]]]] = defaultdict(list)
    reqs: dict[str, list[str]] = defaultdict(list)
    for fw in ev.frameworks:
        for check in fw.checks:
            reqs[check.id] += [
                f"{fw.framework.id} {r.id}"
                for r in fw.framework.requirements
                if check.id in r.checks
            ]
            same = next((entry for entry in runs[check.id] if entry[0] is check), None)
            if same is None:
                runs[check.id].append((check, [fw.framework.id]))
            else:
                same[1].append(fw.framework.id)
    sections = []
    for cid in sorted(runs, key=_check_order):
        found: dict[FindingResult, list[str]] = {}
        for check, frameworks in runs[cid]:
            for fr in check.findings:
                if fr.status in ("fail", "warn", "waived", "unknown"):
                    found.setdefault(fr, []).extend(frameworks)
        everyone = sum(len(fws) for _, fws in runs[cid])
        shown = [
            ShownFinding(fr, "" if len(fws) == everyone else ", ".join(fws))
            for fr, fws in found.items()
        ]
        statuses = {check.status for check, _ in runs[cid]}
        first = runs[cid][0][0]
        sections.append(
            CheckSection(
                id=cid,
                title=first.title,
                status=next(s for s in STATUS_ORDER if s in statuses),
                runs=tuple(
                    CheckRun(", ".join(fws), check.status, check.summary)
                    for check, fws in runs[cid]
                ),
                requirements=", ".join(reqs[cid]),
                findings=tuple(shown[:FINDINGS_PER_CHECK]),
                more_findings=max(0, len(shown) - FINDINGS_PER_CHECK),
            )
        )
    return tuple(sections)


@dataclass(frozen=True, slots=True)
class MatrixCell:
    """One cell of the PDF's zone matrix: the ports summarised, coloured by register
    coverage, and what goes beyond the scope file's intended matrix."""

    ports: str
    flows: int
    register: str
    css: str
    beyond: str
    intended: str


MATRIX_CSS = {
    COVERED: "mx-covered",
    PARTLY: "mx-partly",
    UNCOVERED: "mx-missing",
    UNJUDGED: "mx-unjudged",
}
MATRIX_LABELS = {OUTSIDE: "outside the cluster", NO_ZONE: "out of scope (no zone)"}


def matrix_view(ev: Evaluation) -> dict[str, Any]:
    """Rows of the zone matrix, from-zone by to-zone, with labels for the two extras."""
    m = ev.zone_matrix()
    intended = {(p.src, p.dst): p for p in ev.scope.zone_policy}
    rows = []
    for src in m.names:
        cells: list[MatrixCell | None] = []
        for dst in m.names:
            cell = m.cell(src, dst)
            stated = intended.get((src, dst))
            if cell is None:
                cells.append(MatrixCell("", 0, "", "mx-empty", "", stated.text if stated else ""))
                continue
            excess = cell.ports - stated.allow if stated is not None else None
            cells.append(
                MatrixCell(
                    ports=cell.ports_text,
                    flows=cell.flows,
                    register=cell.register,
                    css=MATRIX_CSS[cell.register],
                    beyond=excess.describe() if excess else "",
                    intended=stated.text if stated else "",
                )
            )
        rows.append((MATRIX_LABELS.get(src, src), cells))
    return {
        "columns": [MATRIX_LABELS.get(n, n) for n in m.names],
        "rows": rows,
        "stated": len(intended),
    }


OBSERVED_ROWS = 300
"""Observed flows the PDF lists; the spreadsheet has them all."""


def _check_order(check_id: str) -> tuple[str, int]:
    prefix, _, number = check_id.rpartition("-")
    return (prefix, int(number)) if number.isdigit() else (check_id, 0)


def report_view(
    ev: Evaluation, *, title: str | None = None, digest: str | None = None
) -> dict[str, Any]:
    """Everything `report.html.j2` reads; the pack sets `digest` once the files it
    covers are written."""
    scoped = sorted({ref for fw in ev.frameworks for ref in fw.in_scope})
    boundaries = zone_boundaries(ev)
    counts = [(fw.framework.title, fw.status_counts) for fw in ev.frameworks]
    crossing = sum(len(b.inbound) + len(b.outbound) for b in boundaries.values())
    host_network = sum(1 for w in ev.cluster.workloads if w.host_network)
    shown_out = sorted(out_of_scope(ev), key=lambda o: (not o.shares_namespace, o.ref))
    return {
        "title": title or f"Network segmentation evidence: {ev.scope.cluster}",
        "cluster": ev.scope.cluster,
        "as_of": as_of_text(ev),
        "as_of_moment": ev.as_of,
        "export": export_json(ev),
        "tool": {"name": TOOL_NAME, "version": __version__},
        "digest": digest,
        "frameworks": ev.frameworks,
        "status_labels": STATUS_LABELS,
        "status_colours": STATUS_COLOURS,
        "status_order": STATUS_ORDER,
        "chart_svg": status_chart_svg(counts),
        "enforcement": ev.enforcement,
        "assessment": ev.scope.assessment,
        "out_of_scope": shown_out[:OUT_OF_SCOPE_ROWS],
        "out_of_scope_count": len(shown_out),
        "more_out_of_scope": max(0, len(shown_out) - OUT_OF_SCOPE_ROWS),
        "waiver_limit": (
            ev.scope.parameters.max_waiver_days,
            ev.scope.parameters.max_waiver_source,
        ),
        "plural": plural,
        "enforcement_sentence": ev.enforcement.statement.rstrip(".") + ".",
        "admin_policy_implementations": implementations(),
        "scope": ev.scope,
        "zone_members": {z.name: ev.placement.members(z.name) for z in ev.scope.zones},
        "boundaries": boundaries,
        "diagrams": {
            z.name: zone_diagram_svg(ev, z.name, boundaries[z.name]) for z in ev.scope.zones
        },
        "crossing_groups": crossing,
        "scoped": workload_flows(ev, scoped),
        "checks": check_sections(ev),
        "matrix": matrix_view(ev),
        "finding_ids": {
            fr.finding: finding_id(c.id, fr.finding)
            for fw in ev.frameworks
            for c in fw.checks
            for fr in c.findings
        },
        "check_titles": {c.id: c.title for fw in ev.frameworks for c in fw.checks},
        "check_status": {
            (fw.framework.id, c.id): c.status for fw in ev.frameworks for c in fw.checks
        },
        "policies": policy_rows(ev),
        "inputs": input_rows(ev),
        "approved_flows": ev.scope.approved_flows,
        "waivers": ev.scope.waivers,
        "workload_count": len(ev.cluster.workloads),
        "policy_count": len(ev.cluster.policies),
        "admin_policy_count": len(ev.cluster.admin_policies),
        "flow_count": len(ev.graph.flows),
        "named_flow_count": sum(1 for _ in zoned_named_flows(ev)),
        "host_network_count": host_network,
        "warnings": ev.warnings,
        "peers_per_group": PEERS_PER_GROUP,
        "findings_per_check": FINDINGS_PER_CHECK,
        "probes": probes_json(ev),
        "probe_coverage": ev.evidence.probes.results.plan["coverage"] if ev.evidence.probes else {},
        "probe_max": ev.evidence.probes.results.plan["max_probes"] if ev.evidence.probes else 0,
        "observed": observed_json(ev),
        "observed_rows": OBSERVED_ROWS,
        "changes": changes_view(ev),
    }
