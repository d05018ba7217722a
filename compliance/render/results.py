"""Evaluation results: the JSON machines read (`results.schema.json`) and the
table people read in a terminal. Both are pure functions of the evaluation,
sorted, so the same inputs and `--as-of` give the same bytes."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from compliance import __version__
from compliance.checks.base import Finding, finding_id
from compliance.evaluate import REQUIREMENT_STATUSES, CheckResult, Evaluation, FrameworkResult
from compliance.flows import Flow, NamedFlow
from compliance.model import WorkloadRef
from compliance.render.enforcement import observed_json, probes_json
from compliance.render.flows import FlowTexts, flow_json
from compliance.text import visible

TOOL_NAME = "compliance"


def as_of_text(ev: Evaluation) -> str:
    return ev.as_of.isoformat().replace("+00:00", "Z")


def export_json(ev: Evaluation) -> dict[str, Any]:
    """When the export was taken (its capture records, or the newest object time that
    bounds it) and whether the as-of is the preparer's statement: an as-of typed by a
    person must never read as a time the tool observed."""
    et = ev.export_time
    if et is None:
        return {
            "as_of_stated": None,
            "as_of_statement": "Not recorded whether the as-of was stated or is the run's time.",
            "captures": [],
            "newest_object_time": None,
            "capture_statement": "not recorded",
        }
    newest = et.newest
    return {
        "as_of_stated": et.stated,
        "as_of_statement": et.as_of_statement,
        "captures": [
            {
                "source": c.source,
                "context": c.context,
                "cluster_id": c.cluster_id,
                "server_version": c.server_version,
                "start": c.start,
                "end": c.end,
            }
            for c in et.captures
        ],
        "newest_object_time": None
        if newest is None
        else {
            "time": newest.moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "object": newest.obj,
            "field": newest.field,
        },
        "capture_statement": et.capture_statement,
    }


def finding_json(fr: Any, check_id: str, requirements: list[str]) -> dict[str, Any]:
    f: Finding = fr.finding
    return {
        "id": finding_id(check_id, f),
        "requirements": requirements,
        "status": fr.status,
        "workload": f.workload.id if f.workload else None,
        "kind": f.workload.kind if f.workload else None,
        "namespace": f.scope_namespace,
        "peer": f.peer,
        "peers": list(f.peers),
        "ports": f.ports,
        "direction": f.direction,
        "policies": list(f.policies),
        "message": f.message,
        "remediation": f.remediation,
        "waived_by": fr.waived_by,
    }


def check_json(fw: FrameworkResult, c: CheckResult) -> dict[str, Any]:
    reqs = requirement_ids(fw, c.id)
    return {
        "id": c.id,
        "framework": fw.framework.id,
        "title": c.title,
        "description": c.description,
        "status": c.status,
        "summary": c.summary,
        "enforcement": c.enforcement,
        "findings": [finding_json(f, c.id, reqs) for f in c.findings],
    }


def requirement_ids(fw: FrameworkResult, check_id: str) -> list[str]:
    """The framework's requirements that a check evidences, in the control file's order."""
    return [r.id for r in fw.framework.requirements if check_id in r.checks]


def matrix_json(ev: Evaluation) -> list[dict[str, Any]]:
    """The zone matrix's cells that hold flows, in row then column order."""
    m = ev.zone_matrix()
    out = []
    for src in m.names:
        for dst in m.names:
            cell = m.cell(src, dst)
            if cell is None:
                continue
            out.append(
                {
                    "from": src,
                    "to": dst,
                    "ports": cell.ports_text,
                    "flows": cell.flows,
                    "register": cell.register,
                }
            )
    return out


@dataclass(frozen=True, slots=True)
class OutOfScope:
    """A workload no evaluated framework covers, and why: the inventory an assessor tests
    the scope's completeness against."""

    ref: WorkloadRef
    reason: str
    """`matched no zone`, or the zones it is in when none lists an evaluated framework."""
    shares_namespace: bool
    """Some workload of its namespace is in scope: a bare pod in the CDE namespace is the
    first thing a segmentation test tries."""

    @property
    def text(self) -> str:
        if self.shares_namespace:
            return f"{self.reason}; shares namespace {self.ref.namespace} with in-scope workloads"
        return self.reason


def out_of_scope(ev: Evaluation) -> tuple[OutOfScope, ...]:
    """Every workload of the export that no evaluated framework's scope holds."""
    scoped = {ref for fw in ev.frameworks for ref in fw.in_scope}
    scoped_namespaces = {ref.namespace for ref in scoped}
    out = []
    for w in ev.cluster.workloads:
        if w.ref in scoped:
            continue
        zones = sorted(ev.placement.zones(w.ref))
        reason = (
            f"in {plural(len(zones), 'zone')} {', '.join(zones)} listing no evaluated framework"
            if zones
            else "matched no zone"
        )
        out.append(OutOfScope(w.ref, reason, w.ref.namespace in scoped_namespaces))
    return tuple(out)


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 waiver`, `2 waivers`: a pack that says "1 waivers" reads as careless."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def zoned_flows(ev: Evaluation) -> Iterator[Flow]:
    """The flows the results carry: those with a workload of some zone at either end."""
    zoned = ev.placement.zones_of
    for flow in ev.graph.flows:
        if flow.src in zoned or flow.dst in zoned:
            yield flow


def zoned_named_flows(ev: Evaluation) -> Iterator[NamedFlow]:
    """Egress to admin `domainNames` from a workload of some zone: listed apart from the
    address flows, because the names are never resolved."""
    zoned = ev.placement.zones_of
    for flow in ev.graph.named_flows:
        if flow.src in zoned:
            yield flow


def named_register(ev: Evaluation, flow: NamedFlow) -> list[str]:
    """IDs of the active approved-flow entries that name some of the flow's names."""
    return [e.ref for e in ev.register.covering_named(flow)]


def named_flow_json(ev: Evaluation, flow: NamedFlow) -> dict[str, Any]:
    entry = flow_json(flow, show_rules=True)
    entry["register"] = named_register(ev, flow)
    return entry


def results_json(ev: Evaluation, with_flows: bool = True) -> dict[str, Any]:
    """The results as plain data; `render_json` writes the flows itself, faster."""
    scope = ev.scope
    zoned = set(ev.placement.zones_of)
    frameworks_of: dict[WorkloadRef, list[str]] = {}
    for fw in ev.frameworks:
        for ref in fw.in_scope:
            frameworks_of.setdefault(ref, []).append(fw.framework.id)
    flows = []
    for flow in zoned_flows(ev) if with_flows else ():
        entry = flow_json(flow, show_rules=True)
        entry["register"] = [e.ref for e in ev.register.covering(flow)]
        flows.append(entry)
    doc: dict[str, Any] = {
        "as_of": as_of_text(ev),
        "tool": {"name": TOOL_NAME, "version": __version__},
        "cluster": scope.cluster,
        "inputs": [{"path": i.path, "sha256": i.sha256, "size": i.size} for i in ev.inputs],
        "assessment": _assessment_json(ev),
        "export": export_json(ev),
        "scope": {
            "path": scope.source,
            "sha256": scope.sha256,
            "description": scope.description,
            "waiver_limit": {
                "days": scope.parameters.max_waiver_days,
                "source": scope.parameters.max_waiver_source,
            },
            "zones": [
                {
                    "name": z.name,
                    "description": z.description,
                    "role": z.role,
                    "frameworks": list(z.frameworks),
                    "selectors": [s.describe() for s in z.selectors],
                    "workloads": [r.id for r in ev.placement.members(z.name)],
                }
                for z in scope.zones
            ],
            "out_of_scope": [
                {
                    "workload": o.ref.id,
                    "kind": o.ref.kind,
                    "reason": o.reason,
                    "shares_namespace_with_in_scope": o.shares_namespace,
                }
                for o in out_of_scope(ev)
            ],
            "approved_flows": [
                {
                    "id": e.ref,
                    "from": e.src.text,
                    "to": e.dst.text,
                    "ports": e.ports.describe(),
                    "justification": e.justification,
                    "owner": e.owner,
                    "ticket": e.ticket,
                    "approved_by": e.approved_by,
                    "approved": e.approved.isoformat() if e.approved else None,
                    "expires": e.expires.isoformat(),
                    "security_feature": e.security_feature,
                    "active": e.active(ev.as_of),
                }
                for e in scope.approved_flows
            ],
            "waivers": [
                {
                    "id": w.ref,
                    "check": w.check,
                    "target": w.target(),
                    "reason": w.reason,
                    "owner": w.owner,
                    "approved_by": w.approved_by,
                    "compensating_control": w.compensating_control,
                    "expires": w.expires.isoformat(),
                }
                for w in scope.waivers
            ],
            "zone_policy": [
                {"from": p.src, "to": p.dst, "allow": p.text} for p in scope.zone_policy
            ],
        },
        "zone_matrix": matrix_json(ev),
        "enforcement": {
            "status": ev.enforcement.status,
            "qualifier": ev.enforcement.qualifier,
            "statement": ev.enforcement.statement,
        },
        "changes": ev.changes,
        "frameworks": [
            {
                "id": fw.framework.id,
                "title": fw.framework.title,
                "version": fw.framework.version,
                "scope": fw.framework.scope,
                "in_scope_workloads": len(fw.in_scope),
                "status_counts": fw.status_counts,
                "proposed_status_counts": fw.proposed_status_counts,
                "requirements": [
                    {
                        "id": r.requirement.id,
                        "title": r.requirement.title,
                        "intent": r.requirement.intent,
                        "automation": r.requirement.automation,
                        "designation": r.requirement.designation,
                        "proposed": r.requirement.proposed,
                        "applicability": r.requirement.applicability,
                        "status": r.status,
                        "status_reason": r.reason,
                        "checks": list(r.requirement.checks),
                        "evidence": list(r.requirement.evidence),
                    }
                    for r in fw.requirements
                ],
            }
            for fw in ev.frameworks
        ],
        "checks": [check_json(fw, c) for fw in ev.frameworks for c in fw.checks],
        "workloads": [
            {
                "workload": w.ref.id,
                "kind": w.ref.kind,
                "zones": sorted(ev.placement.zones(w.ref)),
                "frameworks": frameworks_of.get(w.ref, []),
                "ingress_isolated": ev.graph.isolation[w.ref].ingress,
                "egress_isolated": ev.graph.isolation[w.ref].egress,
                "host_network": w.host_network,
                "ingress_policies": list(ev.graph.isolation[w.ref].ingress_policies),
                "egress_policies": list(ev.graph.isolation[w.ref].egress_policies),
            }
            for w in ev.cluster.workloads
            if w.ref in zoned
        ],
        "flows": flows,
    }
    named = [named_flow_json(ev, f) for f in zoned_named_flows(ev)] if with_flows else []
    if named:  # only when there are some: the results of other clusters keep their bytes
        doc["named_flows"] = named
    doc["warnings"] = list(ev.warnings)
    if not with_flows:
        del doc["flows"]
    probes, observed = probes_json(ev), observed_json(ev)
    if probes is not None:
        doc["probes"] = probes
    if observed is not None:
        doc["observed"] = observed
    return doc


def _assessment_json(ev: Evaluation) -> dict[str, Any]:
    a = ev.scope.assessment
    return {
        "entity": a.entity,
        "entity_type": a.entity_type,
        "prepared_by": a.prepared_by,
        "assessor": a.assessor,
        "period": {
            "start": a.period_start.isoformat() if a.period_start else None,
            "end": a.period_end.isoformat() if a.period_end else None,
        },
        "description": a.description,
    }


ONE_LINE_ITEMS = frozenset(
    {"findings", "flows", "approved_flows", "waivers", "workloads", "out_of_scope"}
)
"""Lists whose items print one per line: large clusters have hundreds of thousands."""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _pretty(value: Any, depth: int, one_line_items: bool) -> str:
    pad = "  " * (depth + 1)
    end = "  " * depth
    if isinstance(value, dict) and value:
        parts = [
            f"{pad}{_dumps(k)}: {_pretty(v, depth + 1, k in ONE_LINE_ITEMS)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(parts) + f"\n{end}}}"
    if isinstance(value, list) and value:
        if one_line_items:
            items = [f"{pad}{_dumps(v)}" for v in value]
        elif all(not isinstance(v, dict | list) for v in value):
            return _dumps(value)
        else:
            items = [f"{pad}{_pretty(v, depth + 1, False)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{end}]"
    return _dumps(value)


def _flow_lines(ev: Evaluation) -> Iterator[str]:
    """What `flow_json(..., show_rules=True)` plus `register` would dump, from cached parts."""
    t = FlowTexts()
    refs = functools.cache(lambda entries: _dumps([e.ref for e in entries]))
    for f in zoned_flows(ev):
        yield (
            f'{{"src": {t.json_endpoint(f.src)}, "dst": {t.json_endpoint(f.dst)}, '
            f'"connections": {t.json_ports(f.connections)}, '
            f'"allowed_by": {{"egress": {t.json_side(f.egress)}, '
            f'"ingress": {t.json_side(f.ingress)}}}, '
            f'"register": {refs(tuple(ev.register.covering(f)))}}}'
        )


def render_json(ev: Evaluation) -> str:
    """Indented for reading and diffing; findings, flows and other long lists print one
    item per line, which keeps large clusters' results a fraction of the size."""
    doc = results_json(ev, with_flows=False)
    warnings = doc.pop("warnings")
    head = _pretty(doc, 0, False)[: -len("\n}")]
    lines = [f"    {line}" for line in _flow_lines(ev)]
    flows = "[\n" + ",\n".join(lines) + "\n  ]" if lines else "[]"
    named = [f"    {_dumps(named_flow_json(ev, f))}" for f in zoned_named_flows(ev)]
    if named:
        flows += ',\n  "named_flows": [\n' + ",\n".join(named) + "\n  ]"
    tail = _pretty(warnings, 1, True)
    return f'{head},\n  "flows": {flows},\n  "warnings": {tail}\n}}\n'


STATUS_WORDS = {
    "pass": "PASS",
    "fail": "FAIL",
    "warn": "WARN",
    "waived": "WAIVED",
    "supported": "SUPPORTED",
    "not_applicable": "N/A",
    "unknown": "UNKNOWN",
    "manual": "MANUAL",
}
MAX_FINDINGS_SHOWN = 5


def framework_line(fw: FrameworkResult) -> str:
    """`Title [id]: N in-scope workloads; 17 fail, 2 manual, ...`, as both the table and
    `report` print it."""
    counts = ", ".join(
        f"{fw.status_counts[s]} {STATUS_WORDS[s].lower()}"
        for s in REQUIREMENT_STATUSES
        if s in fw.status_counts
    )
    line = (
        f"{fw.framework.title} [{fw.framework.id}]: "
        f"{plural(len(fw.in_scope), 'in-scope workload')}; {counts}"
    )
    if fw.proposed:
        line += f" (not counted: {plural(len(fw.proposed), 'proposed requirement')})"
    return line


def render_table(ev: Evaluation) -> str:
    """A readable summary: per framework, each requirement, then failing checks' findings."""
    out = [
        f"cluster {ev.scope.cluster} as of {as_of_text(ev)}",
        f"enforcement: {ev.enforcement.qualifier} ({ev.enforcement.statement})",
        "",
    ]
    for fw in ev.frameworks:
        out.append(framework_line(fw))
        checks = {c.id: c for c in fw.checks}
        width = max(len(r.requirement.id) for r in fw.requirements)
        for r in fw.requirements:
            req = r.requirement
            auto = "" if req.automation == "full" else f" ({req.automation})"
            if req.proposed:
                auto += " [proposed: not counted]"
            word = STATUS_WORDS[r.status]
            out.append(f"  {req.id:<{width}}  {word:<9}  {req.title}{auto}")
            if r.reason:
                out.append(f"  {'':<{width}}  {'':<9}  {r.reason}")
            if req.checks:
                detail = ", ".join(f"{c} {STATUS_WORDS[checks[c].status]}" for c in req.checks)
                out.append(f"  {'':<{width}}  {'':<9}  checks: {detail}")
        out.append("")
        for c in fw.checks:
            shown = [f for f in c.findings if f.status in ("fail", "warn")]
            if c.status not in ("fail", "warn", "unknown") or not shown:
                continue
            out.append(f"  {c.id} {c.title}: {STATUS_WORDS[c.status]} ({c.summary})")
            for fr in shown[:MAX_FINDINGS_SHOWN]:
                f = fr.finding
                who = str(f.workload) if f.workload else (f.namespace or "cluster")
                out.append(f"    - [{fr.status}] {who}: {f.message}")
            if len(shown) > MAX_FINDINGS_SHOWN:
                out.append(
                    f"    ... and {len(shown) - MAX_FINDINGS_SHOWN} more (see --format json)"
                )
        out.append("")
    # Each entry is one line: a value from the inputs cannot break it or drive the terminal.
    return "\n".join(visible(line) for line in out).rstrip("\n") + "\n"


FORMATS: dict[str, Callable[[Evaluation], str]] = {"table": render_table, "json": render_json}
