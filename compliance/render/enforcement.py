"""Segmentation-test results and observed flows as rows: shared by results.json, the
spreadsheet and the PDF, so the three say the same. Mismatches come first: they are
what an assessor reads."""

from __future__ import annotations

from typing import Any

from compliance.evaluate import Evaluation
from compliance.evidence_inputs import Allowed, stamp
from compliance.paths import recorded_path
from compliance.proberesults import ProbeOutcome

MISMATCH_ORDER = {"not-enforced": 0, "broken-path": 1, None: 2}


def _end(end: dict[str, str]) -> str:
    return end.get("workload") or end.get("address") or "?"


def probe_rows(ev: Evaluation) -> list[dict[str, Any]]:
    """Every probe with what it expected and what was observed, mismatches first, then
    probes without a clear result, then the rest, each in plan order."""
    probes = ev.evidence.probes
    if probes is None:
        return []

    def order(o: ProbeOutcome) -> tuple[int, int]:
        unclear = 0 if o.observed not in ("open", "blocked") else 1
        return (MISMATCH_ORDER[o.mismatch], unclear)

    rows = []
    for o in sorted(probes.outcomes, key=order):
        rules = o.probe["rules"]
        rows.append(
            {
                "id": o.id,
                "src": _end(o.probe["src"]),
                "dst": _end(o.probe["dst"]),
                "protocol": o.probe["protocol"],
                "port": o.probe["port"],
                "expected": o.expected,
                "observed": o.observed,
                "mismatch": o.mismatch,
                "detail": o.detail,
                "rules": [f"{s}: {r}" for s in ("egress", "ingress") for r in rules[s]["by"]],
            }
        )
    return rows


def probes_json(ev: Evaluation) -> dict[str, Any] | None:
    probes = ev.evidence.probes
    if probes is None:
        return None
    held, total = probes.blocked_counts()
    return {
        "plan": recorded_path(probes.results.plan_source),
        "tested": probes.results.tested,
        "other_snapshot": probes.other_snapshot,
        "blocked_held": held,
        "blocked_total": total,
        "results": probe_rows(ev),
    }


def observed_rows(ev: Evaluation) -> list[dict[str, Any]]:
    """Each aggregated observed flow and whether the policies allow it; a flow the log
    shows passing that the policies deny first, then one dropped that they allow."""
    observed = ev.evidence.observed
    if observed is None:
        return []
    allowed = Allowed(ev.graph)
    rows = []
    for a in observed.aggregates:
        verdict = allowed.allows(a.src, a.dst, a.protocol, a.port)
        rows.append(
            {
                "src": str(a.src),
                "dst": str(a.dst),
                "protocol": a.protocol,
                "port": a.port,
                "verdict": a.verdict,
                "count": a.count,
                "first": stamp(a.first),
                "last": stamp(a.last),
                "allowed_by_policy": verdict,
                "where": a.where,
            }
        )

    def order(row: dict[str, Any]) -> int:
        passed = row["verdict"] in ("allowed", "audit")
        if passed and row["allowed_by_policy"] is False:
            return 0
        if not passed and row["allowed_by_policy"] is True:
            return 1
        return 2

    return sorted(rows, key=order)


def observed_json(ev: Evaluation) -> dict[str, Any] | None:
    observed = ev.evidence.observed
    if observed is None:
        return None
    return {
        "first": stamp(observed.first) if observed.first else None,
        "last": stamp(observed.last) if observed.last else None,
        "records": observed.records,
        "unmapped": observed.unmapped,
        "logs": [r.counts() for r in observed.reports],
        "flows": observed_rows(ev),
    }
