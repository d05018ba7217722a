"""Evidence of enforcement beside the export: segmentation-test results and flow logs.

The export shows what the policies allow; these show what the cluster did. Probe
results are joined to their plan (`proberesults`); flow logs are streamed once and
aggregated into bounded counts per (source, destination, protocol, port, verdict) with
the first and last time seen, so a log of millions of lines costs memory in distinct
flows, not in lines. Both are read at the edge and handed to the checks (SEG-28,
SEG-22, SEG-21) through the evaluation context.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from compliance.flows import External, FlowGraph
from compliance.load import InputFile
from compliance.model import Cluster, WorkloadRef
from compliance.observed import LogReport, Resolver, read_flow_log
from compliance.paths import recorded_path
from compliance.ports import PortSet
from compliance.proberesults import ProbeOutcome, ProbeResults

End = WorkloadRef | str
"""A workload of the export, or an address outside it."""


@dataclass(frozen=True, slots=True)
class ProbeEvidence:
    results: ProbeResults
    other_snapshot: str = ""
    """Why the plan is for another export (both digests), or empty."""

    @property
    def outcomes(self) -> tuple[ProbeOutcome, ...]:
        return self.results.outcomes

    def blocked_counts(self) -> tuple[int, int]:
        """(blocked probes observed blocked, blocked probes)."""
        blocked = [o for o in self.outcomes if o.expected == "blocked"]
        return sum(o.observed == "blocked" for o in blocked), len(blocked)

    def proof(self) -> tuple[bool, str]:
        """Whether the test proves enforcement for what it probed, and the sentence."""
        when = f"on {self.results.tested}" if self.results.tested else "(date not recorded)"
        held, total = self.blocked_counts()
        if self.other_snapshot:
            return False, f"the segmentation test results are for another snapshot {when}"
        if total == 0:
            return False, f"the segmentation test {when} has no probe expected blocked"
        if held == total:
            return (
                True,
                f"proven by segmentation test {when}: {held} of {total} blocked probes blocked",
            )
        open_ = [o.id for o in self.outcomes if o.mismatch == "not-enforced"]
        other = total - held - len(open_)
        parts = []
        if open_:
            parts.append(f"observed open: {', '.join(open_[:5])}")
        if other:
            parts.append(f"no clear result for {other}")
        return False, (
            f"segmentation test {when}: {held} of {total} blocked probes blocked; "
            + ", ".join(parts)
        )


@dataclass(slots=True)
class Aggregate:
    """Every log record of one (source, destination, protocol, port, verdict)."""

    src: End
    dst: End
    protocol: str
    port: int
    verdict: str
    count: int
    first: dt.datetime
    last: dt.datetime
    where: str
    """The file and line of the first record, for the auditor to find it."""


@dataclass(frozen=True, slots=True)
class ObservedEvidence:
    aggregates: tuple[Aggregate, ...]
    reports: tuple[LogReport, ...]
    unmapped: int
    """Records with an end the export does not know (a pod of a workload not exported)."""

    @property
    def first(self) -> dt.datetime | None:
        times = [r.first for r in self.reports if r.first is not None]
        return min(times) if times else None

    @property
    def last(self) -> dt.datetime | None:
        times = [r.last for r in self.reports if r.last is not None]
        return max(times) if times else None

    @property
    def days(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        return (self.last - self.first).total_seconds() / 86400

    def period(self) -> str:
        if self.first is None or self.last is None:
            return "no timestamped flow"
        return f"{_stamp(self.first)} to {_stamp(self.last)} ({self.days:.1f} days)"

    @property
    def records(self) -> int:
        return sum(r.flows for r in self.reports)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the checks of enforcement read; empty when none was given."""

    probes: ProbeEvidence | None = None
    observed: ObservedEvidence | None = None
    files: tuple[tuple[str, InputFile], ...] = ()
    """(role, file) of every file read for this evidence: the pack lists and hashes them."""


NO_EVIDENCE = Evidence()
"""The evidence of an evaluation given only the export."""


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp(moment: dt.datetime) -> str:
    return _stamp(moment)


def evidence_files(
    probe_plan: str | None, probe_results: Sequence[str], observed: ObservedEvidence | None
) -> tuple[tuple[str, InputFile], ...]:
    """The plan, results and logs as recorded inputs (logs hashed while they were read)."""
    import hashlib
    from pathlib import Path

    files = []
    for role, path in [
        *((("probe-plan", probe_plan),) if probe_plan else ()),
        *(("probe-results", p) for p in probe_results),
    ]:
        data = Path(path).read_bytes()
        files.append(
            (role, InputFile(recorded_path(path), hashlib.sha256(data).hexdigest(), len(data)))
        )
    for r in observed.reports if observed is not None else ():
        files.append(("flow-log", InputFile(recorded_path(r.source), r.sha256, r.size)))
    return tuple(files)


def probe_evidence(results: ProbeResults, inputs: Sequence[InputFile]) -> ProbeEvidence:
    """The results, and whether their plan was computed from these very export files
    (compared by content hash: paths differ between machines)."""
    planned = sorted(i["sha256"] for i in results.plan["inputs"])
    evaluated = sorted(i.sha256 for i in inputs)
    other = ""
    if planned != evaluated:
        other = (
            f"the plan {recorded_path(results.plan_source)} was computed from inputs "
            f"{_digest(planned)}, the evaluated export is {_digest(evaluated)}"
        )
    return ProbeEvidence(results, other)


def _digest(hashes: Sequence[str]) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:16]


def read_observed(paths: Sequence[str], cluster: Cluster, lenient: bool) -> ObservedEvidence:
    """Stream every log once into aggregates; ends resolve to the export's workloads."""
    resolver = Resolver(cluster)
    found: dict[tuple[End, End, str, int, str], Aggregate] = {}
    reports = []
    unmapped = 0
    for path in paths:
        report = LogReport(path)
        for flow in read_flow_log(path, report, lenient):
            src = _known(resolver.resolve(flow.src))
            dst = _known(resolver.resolve(flow.dst))
            if src is None or dst is None:
                unmapped += 1
                continue
            key = (src, dst, flow.protocol, flow.port, flow.verdict)
            agg = found.get(key)
            if agg is None:
                found[key] = Aggregate(
                    src,
                    dst,
                    flow.protocol,
                    flow.port,
                    flow.verdict,
                    1,
                    flow.time,
                    flow.time,
                    f"{recorded_path(path)}:{flow.line}",
                )
            else:
                agg.count += 1
                if flow.time < agg.first:
                    agg.first = flow.time
                if flow.time > agg.last:
                    agg.last = flow.time
        reports.append(report)
    ordered = sorted(
        found.values(), key=lambda a: (str(a.src), str(a.dst), a.protocol, a.port, a.verdict)
    )
    return ObservedEvidence(tuple(ordered), tuple(reports), unmapped)


def _known(end: End | None) -> End | None:
    """A workload, or an address that is one: Calico logs external ends aggregated
    away (`-`), and such an end cannot be judged against any rule."""
    if isinstance(end, str):
        try:
            ipaddress.ip_address(end)
        except ValueError:
            return None
    return end


@dataclass
class Allowed:
    """The flow graph as a lookup: does it allow this (source, destination, port)?"""

    graph: FlowGraph
    pairs: dict[tuple[WorkloadRef, WorkloadRef], PortSet] = field(default_factory=dict)
    out: dict[WorkloadRef, list[tuple[External, PortSet]]] = field(default_factory=dict)
    into: dict[WorkloadRef, list[tuple[External, PortSet]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in self.graph.flows:
            if isinstance(f.src, WorkloadRef) and isinstance(f.dst, WorkloadRef):
                known = self.pairs.get((f.src, f.dst))
                self.pairs[(f.src, f.dst)] = (
                    f.connections if known is None else known.union(f.connections)
                )
            elif isinstance(f.src, WorkloadRef) and isinstance(f.dst, External):
                self.out.setdefault(f.src, []).append((f.dst, f.connections))
            elif isinstance(f.dst, WorkloadRef) and isinstance(f.src, External):
                self.into.setdefault(f.dst, []).append((f.src, f.connections))

    def allows(self, src: End, dst: End, protocol: str, port: int) -> bool | None:
        """True or False; None when neither end is in the cluster (nothing to judge)."""
        if protocol not in ("TCP", "UDP", "SCTP"):
            return None
        if isinstance(src, WorkloadRef) and isinstance(dst, WorkloadRef):
            conns = self.pairs.get((src, dst))
            return conns is not None and conns.contains(protocol, port)
        if isinstance(src, WorkloadRef) and isinstance(dst, str):
            return any(
                c.contains(protocol, port) and has_address(e, dst) for e, c in self.out.get(src, ())
            )
        if isinstance(dst, WorkloadRef) and isinstance(src, str):
            return any(
                c.contains(protocol, port) and has_address(e, src)
                for e, c in self.into.get(dst, ())
            )
        return None


def has_address(end: External, address: str) -> bool:
    """Whether an external end holds a logged address (an unparsable one: no)."""
    try:
        return end.addresses.contains(address)
    except ValueError:
        return False
