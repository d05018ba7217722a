"""The enforcement evidence a pack judged, kept in its snapshot and read back.

SEG-28, SEG-22 and SEG-21 (and the enforcement statement, which a segmentation test
can prove) read probe results and flow logs given beside the export. A pack that kept
only the export's facts could not be evaluated again as it was: `verify --recompute`
would find other results, and a diff against it would judge an old quarter without
the evidence it had. So the snapshot's `evidence` key keeps what those checks read and
nothing more: for probes, each planned probe's ends, port, expectation, deciding rules
and observation, the date tested and the hashes of the export the plan was computed
from; for flow logs, the aggregated counts per (source, destination, protocol, port,
verdict) — as many entries as the aggregation holds, never a raw log line — and each
log's line counts and period. The files themselves are listed with their hashes.

The key is absent when a pack had no such evidence, so older packs and packs without
evidence read (and hash) as before.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from compliance.evidence_inputs import (
    NO_EVIDENCE,
    Aggregate,
    End,
    Evidence,
    ObservedEvidence,
    ProbeEvidence,
    probe_evidence,
)
from compliance.load import InputFile
from compliance.model import WorkloadRef
from compliance.observed import LogReport
from compliance.paths import recorded_path
from compliance.proberesults import ProbeOutcome, ProbeResults

KEY = "evidence"
PROBE_KEYS = ("id", "src", "dst", "protocol", "port", "expect")
"""The planned probe's fields the checks and rows read, besides its deciding rules."""


# --------------------------------------------------------------------------- writing


def evidence_part(evidence: Evidence) -> dict[str, Any]:
    """`{"evidence": ...}` for a snapshot, or nothing when the run had no evidence."""
    if evidence.probes is None and evidence.observed is None:
        return {}
    doc: dict[str, Any] = {
        "files": [
            {"role": role, "path": f.path, "sha256": f.sha256, "size": f.size}
            for role, f in evidence.files
        ]
    }
    if evidence.probes is not None:
        doc["probes"] = _probes(evidence.probes)
    if evidence.observed is not None:
        doc["observed"] = _observed(evidence.observed)
    return {KEY: doc}


def _probes(probes: ProbeEvidence) -> dict[str, Any]:
    results = probes.results
    plan = results.plan
    return {
        "plan": {
            "path": recorded_path(results.plan_source),
            "inputs": sorted(i["sha256"] for i in plan["inputs"]),
            "max_probes": plan["max_probes"],
            "coverage": plan["coverage"],
        },
        "tested": results.tested,
        "outcomes": [
            {
                "probe": {
                    **{k: o.probe[k] for k in PROBE_KEYS},
                    "rules": {
                        side: {
                            "allowed": o.probe["rules"][side]["allowed"],
                            "by": list(o.probe["rules"][side]["by"]),
                        }
                        for side in ("egress", "ingress")
                    },
                },
                "observed": o.observed,
                "detail": o.detail,
                "source": recorded_path(o.source) if o.source else "",
            }
            for o in probes.outcomes
        ],
    }


def _observed(observed: ObservedEvidence) -> dict[str, Any]:
    return {
        "unmapped": observed.unmapped,
        "logs": [
            {
                **r.counts(),
                "first": _moment(r.first),
                "last": _moment(r.last),
                "sha256": r.sha256,
                "size": r.size,
            }
            for r in observed.reports
        ],
        "flows": [
            {
                "src": _end(a.src),
                "dst": _end(a.dst),
                "protocol": a.protocol,
                "port": a.port,
                "verdict": a.verdict,
                "count": a.count,
                "first": _moment(a.first),
                "last": _moment(a.last),
                "where": a.where,
            }
            for a in observed.aggregates
        ],
    }


def _end(end: End) -> dict[str, str]:
    if isinstance(end, WorkloadRef):
        return {"namespace": end.namespace, "name": end.name, "kind": end.kind}
    return {"address": end}


def _moment(moment: dt.datetime | None) -> str | None:
    """Microseconds kept: SEG-21 weighs the logs' period in days against a threshold,
    and a rounded time could move it across."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- reading


def evidence_of(document: dict[str, Any], inputs: tuple[InputFile, ...]) -> Evidence:
    """The `Evidence` a snapshot recorded (none for a pack without the key), with the
    plan compared against the snapshot's own export inputs, as when the pack was made."""
    recorded = document.get(KEY)
    if recorded is None:
        return NO_EVIDENCE
    files = tuple(
        (f["role"], InputFile(f["path"], f["sha256"], f["size"])) for f in recorded["files"]
    )
    probes = _probes_of(recorded["probes"], inputs) if "probes" in recorded else None
    observed = _observed_of(recorded["observed"]) if "observed" in recorded else None
    return Evidence(probes, observed, files)


def _probes_of(doc: dict[str, Any], inputs: tuple[InputFile, ...]) -> ProbeEvidence:
    plan = doc["plan"]
    outcomes = tuple(
        ProbeOutcome(o["probe"], o["observed"], o["detail"], o["source"]) for o in doc["outcomes"]
    )
    results = ProbeResults(
        {
            "inputs": [{"sha256": h} for h in plan["inputs"]],
            "max_probes": plan["max_probes"],
            "coverage": plan["coverage"],
            "probes": [o.probe for o in outcomes],
        },
        plan["path"],
        outcomes,
        doc["tested"],
    )
    return probe_evidence(results, inputs)


def _observed_of(doc: dict[str, Any]) -> ObservedEvidence:
    reports = tuple(
        LogReport(
            r["path"],
            lines=r["lines"],
            flows=r["flows"],
            passed_over=r["passed_over"],
            skipped=[0] * r["skipped"],  # the count is kept; the line numbers are not
            first=_parse(r["first"]),
            last=_parse(r["last"]),
            sha256=r["sha256"],
            size=r["size"],
        )
        for r in doc["logs"]
    )
    aggregates = []
    for a in doc["flows"]:
        first, last = _parse(a["first"]), _parse(a["last"])
        assert first is not None and last is not None  # the schema requires both
        aggregates.append(
            Aggregate(
                _end_of(a["src"]),
                _end_of(a["dst"]),
                a["protocol"],
                a["port"],
                a["verdict"],
                a["count"],
                first,
                last,
                a["where"],
            )
        )
    return ObservedEvidence(tuple(aggregates), reports, doc["unmapped"])


def _end_of(end: dict[str, str]) -> End:
    if "address" in end:
        return end["address"]
    return WorkloadRef(end["namespace"], end["name"], end["kind"])


def _parse(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
