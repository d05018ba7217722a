"""Run each framework's checks over its scope, apply waivers, roll results up.

Per framework: the in-scope workloads are those in a zone listing it; every
check its requirements name runs once over them; waivers turn matching
findings into `waived`; a requirement fails when any of its checks fails, is
`manual` without checks and `not_applicable` when nothing is in scope or it
does not apply to the entity (`applies_to`). A requirement `pass`es only when
its automation is `full`: a `partial` one whose checks all pass is `supported`,
because the evidence it lists is still needed, and one whose checks had nothing
to examine is `manual`. `as_of` is the only clock: it decides which waivers and
approved flows are current.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from compliance.checks import CHECKS, Context, Facts, Finding
from compliance.checks.base import Register
from compliance.checks.isolation import Enforcement, detect_enforcement, proven
from compliance.controls import Framework, Requirement
from compliance.errors import InternalError
from compliance.evidence_inputs import NO_EVIDENCE, Evidence
from compliance.flowchanges import Baseline
from compliance.flows import FlowGraph
from compliance.forked import Background
from compliance.load import InputFile
from compliance.matrix import Matrix, zone_matrix
from compliance.model import Cluster, WorkloadRef
from compliance.provenance import ExportTime
from compliance.scope import Placement, Scope, Waiver, place

# Most severe first: a requirement takes the first status any of its checks has.
ROLLUP_ORDER = ("fail", "unknown", "warn", "waived", "pass", "not_applicable")
REQUIREMENT_STATUSES = (
    "fail",
    "unknown",
    "warn",
    "waived",
    "supported",
    "pass",
    "manual",
    "not_applicable",
)
"""Every status a requirement can have, most severe first: the order of every summary."""


@dataclass(frozen=True, slots=True)
class FindingResult:
    finding: Finding
    waived_by: str | None = None

    @property
    def status(self) -> str:
        return "waived" if self.waived_by else self.finding.severity


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    title: str
    description: str
    status: str
    summary: str
    enforcement: str
    findings: tuple[FindingResult, ...]


@dataclass(frozen=True, slots=True)
class RequirementResult:
    requirement: Requirement
    status: str
    reason: str = ""
    """Why the status is not what the checks alone say (not applicable to whom, supported)."""


@dataclass(frozen=True, slots=True)
class FrameworkResult:
    framework: Framework
    in_scope: tuple[WorkloadRef, ...]
    requirements: tuple[RequirementResult, ...]
    checks: tuple[CheckResult, ...]

    @property
    def current(self) -> tuple[RequirementResult, ...]:
        """The requirements in force: proposed rule-making is never counted with them."""
        return tuple(r for r in self.requirements if not r.requirement.proposed)

    @property
    def proposed(self) -> tuple[RequirementResult, ...]:
        return tuple(r for r in self.requirements if r.requirement.proposed)

    @property
    def status_counts(self) -> dict[str, int]:
        counts = Counter(r.status for r in self.current)
        return dict(sorted(counts.items()))

    @property
    def proposed_status_counts(self) -> dict[str, int]:
        counts = Counter(r.status for r in self.proposed)
        return dict(sorted(counts.items()))

    @property
    def failed(self) -> bool:
        return any(r.status == "fail" for r in self.current)


@dataclass(frozen=True, slots=True)
class Evaluation:
    as_of: dt.datetime
    scope: Scope
    placement: Placement
    cluster: Cluster
    graph: FlowGraph
    inputs: tuple[InputFile, ...]
    enforcement: Enforcement
    frameworks: tuple[FrameworkResult, ...]
    register: Register
    warnings: tuple[str, ...] = ()
    export_time: ExportTime | None = None
    """When the export was taken and whether the as-of was stated; None when unknown
    (an evaluation built without the loaded files says nothing about either)."""
    evidence: Evidence = NO_EVIDENCE
    """Segmentation-test results and flow logs given beside the export."""
    changes: dict[str, Any] | None = None
    """The diff document (schemas/diff.schema.json) against the baseline pack given with
    --baseline; None without one."""
    admin_policies: tuple[str, ...] = ()
    """The cluster-wide policy kinds the export holds, as SEG-01 weighed them; kept in
    the snapshot so a pack's results can be computed again."""
    _memo: dict[str, Matrix] = field(default_factory=dict, compare=False, repr=False)

    @property
    def failed(self) -> bool:
        return any(f.failed for f in self.frameworks)

    def zone_matrix(self) -> Matrix:
        """The zone-to-zone matrix, computed once: the JSON, the spreadsheet and the PDF
        each show it, and on a large cluster it is a pass over every flow."""
        found = self._memo.get("zone_matrix")
        if found is None:
            zones = [z.name for z in self.scope.zones]
            found = zone_matrix(self.graph.flows, zones, self.placement, self.register)
            self._memo["zone_matrix"] = found
        return found


def with_exception_limit(scope: Scope, frameworks: Sequence[Framework]) -> Scope:
    """The scope with the waiver limit of the strictest evaluated framework, when it is
    shorter than the scope file's: FedRAMP High reviews exceptions every 90 days, so an
    evaluation including it cannot accept the 180 days Moderate allows."""
    params = scope.parameters
    days, source = params.max_waiver_days, params.max_waiver_source
    if source == "parameters.max_waiver_days":
        source = f"{scope.source}: parameters.max_waiver_days"
    for fw in sorted(frameworks, key=lambda f: f.id):
        if fw.max_exception_days is not None and fw.max_exception_days < days:
            days = fw.max_exception_days
            source = f"{fw.title} {fw.max_exception_source}".strip()
    return dataclasses.replace(
        scope,
        parameters=dataclasses.replace(params, max_waiver_days=days, max_waiver_source=source),
    )


def waiver_active(waiver: Waiver, as_of: dt.datetime, max_days: int) -> bool:
    today = as_of.date()
    return today <= waiver.expires and (waiver.expires - today).days <= max_days


def _waiver_matches(waiver: Waiver, finding: Finding) -> bool:
    if waiver.workload is not None:
        ref = finding.workload
        return (
            ref is not None
            and ref.id == waiver.workload
            and (waiver.kind is None or ref.kind == waiver.kind)
        )
    if waiver.namespace is not None:
        return finding.scope_namespace == waiver.namespace
    return True


def evaluate(
    cluster: Cluster,
    graph: FlowGraph,
    scope: Scope,
    frameworks: Sequence[Framework],
    as_of: dt.datetime,
    inputs: Sequence[InputFile] = (),
    progress: Callable[[str], None] | None = None,
    parallel: bool | None = None,
    evidence: Evidence = NO_EVIDENCE,
    admin_policies: Sequence[str] = (),
    baseline: Baseline | None = None,
) -> Evaluation:
    """Evaluate each framework; `progress`, when given, hears one line per framework.
    `baseline`, the evaluation of an earlier pack, lets SEG-19 judge what changed since.

    `parallel` (default: when the machine can) runs the checks of different framework
    scopes in a forked copy too; the results are the same either way. `admin_policies`:
    the cluster-wide policy kinds the export holds, which SEG-01 weighs against the CNI."""
    placement = place(scope, cluster)
    facts = Facts(cluster, graph)
    enforcement = proven(detect_enforcement(cluster), evidence)
    register = Register(scope.approved_flows, placement, as_of)
    scope = with_exception_limit(scope, frameworks)
    limit = scope.parameters.max_waiver_days
    active = [w for w in scope.waivers if waiver_active(w, as_of, limit)]
    warnings = [
        f"{scope.source}: no zone lists framework {fw.id}: nothing is in scope for it"
        for fw in frameworks
        if not any(fw.id in z.frameworks for z in scope.zones)
    ]
    # Checks never mention frameworks: frameworks with the same scope share their runs.
    # Each (check, scope) runs once, with the context of the first framework that wants it.
    plans = []
    jobs: dict[tuple[str, frozenset[WorkloadRef]], Context] = {}
    for fw in frameworks:
        zones = {z.name for z in scope.zones if fw.id in z.frameworks}
        in_scope = frozenset(w for w, zs in placement.zones_of.items() if zs & zones)
        ctx = Context(
            framework=fw.id,
            scope=scope,
            placement=placement,
            facts=facts,
            as_of=as_of,
            in_scope=in_scope,
            register=register,
            evidence=evidence,
            admin_policies=tuple(admin_policies),
            baseline=baseline,
        )
        wanted = sorted({c for r in fw.requirements for c in r.checks})
        if progress is not None:
            progress(f"{fw.id}: {len(in_scope)} in-scope workloads, {len(wanted)} checks")
        for cid in wanted:
            jobs.setdefault((cid, in_scope), ctx)
        plans.append((fw, in_scope, wanted))
    runs = _run_all(jobs, active, enforcement, parallel)
    results = []
    for fw, in_scope, wanted in plans:
        checks = {cid: runs[(cid, in_scope)] for cid in wanted}
        roles = {z.role for z in scope.zones if fw.id in z.frameworks and placement.members(z.name)}
        entity_type = scope.assessment.entity_type
        requirements = tuple(
            _rollup(r, checks, bool(in_scope), entity_type, roles) for r in fw.requirements
        )
        results.append(
            FrameworkResult(fw, tuple(sorted(in_scope)), requirements, tuple(checks.values()))
        )
    return Evaluation(
        as_of=as_of,
        scope=scope,
        placement=placement,
        cluster=cluster,
        graph=graph,
        inputs=tuple(inputs),
        enforcement=enforcement,
        frameworks=tuple(results),
        register=register,
        evidence=evidence,
        admin_policies=tuple(admin_policies),
        warnings=(*cluster.warnings, *graph.warnings, *placement.warnings, *warnings),
    )


Job = tuple[str, frozenset[WorkloadRef]]


# Relative cost of one run per in-scope workload, measured at 5,000 workloads: the checks
# that walk every flow touching scope cost ten times and more the others. Only the split
# between the two processes uses it; the results are the same whatever it says.
_COST = {
    "SEG-11": 30,
    "SEG-14": 30,
    "SEG-27": 25,
    "SEG-13": 15,
    "SEG-18": 15,
    "SEG-17": 12,
    "SEG-23": 10,
}
_COST_DEFAULT = 2


def _run_all(
    jobs: dict[Job, Context],
    waivers: Sequence[Waiver],
    enforcement: Enforcement,
    parallel: bool | None,
) -> dict[Job, CheckResult]:
    """Every (check, scope) once. With several scopes, the jobs are split in two halves
    of about equal work (in-scope workloads times the check's cost) and a forked copy
    takes one."""
    halves: tuple[list[Job], list[Job]] = ([], [])
    if len({job[1] for job in jobs}) > 1:
        weights = [0, 0]
        for job in sorted(jobs, key=lambda j: -len(j[1]) * _COST.get(j[0], _COST_DEFAULT)):
            lighter = 0 if weights[0] <= weights[1] else 1
            halves[lighter].append(job)
            weights[lighter] += len(job[1]) * _COST.get(job[0], _COST_DEFAULT)
    else:
        halves[0].extend(jobs)

    def run(part: list[Job]) -> dict[Job, CheckResult]:
        return {job: _run(job[0], jobs[job], waivers, enforcement) for job in part}

    if not halves[1]:
        return run(halves[0])
    # The copy returns its results keyed by position: its scopes are large to pickle.
    other = halves[1]
    with Background(lambda: [run([job])[job] for job in other], InternalError, parallel) as copy:
        mine = run(halves[0])
        theirs = dict(zip(other, copy.result(), strict=True))
    return {job: mine[job] if job in mine else theirs[job] for job in jobs}


def _run(
    check_id: str, ctx: Context, waivers: Sequence[Waiver], enforcement: Enforcement
) -> CheckResult:
    spec = CHECKS[check_id]
    verdict = spec.run(ctx)
    relevant = [w for w in waivers if w.check == check_id and check_id != "SEG-25"]
    findings = []
    for f in verdict.findings:
        waiver = next((w for w in relevant if _waiver_matches(w, f)), None)
        findings.append(FindingResult(f, waiver.ref if waiver else None))
    if verdict.status is not None:
        status = verdict.status
    else:
        statuses = {fr.status for fr in findings}
        status = next((s for s in ("fail", "warn", "waived") if s in statuses), "pass")
    return CheckResult(
        id=spec.id,
        title=spec.title,
        description=spec.description,
        status=status,
        summary=verdict.summary,
        enforcement=enforcement.qualifier,
        findings=tuple(findings),
    )


SUPPORTED_REASON = "automated checks found nothing; the evidence listed is still needed"


def _rollup(
    req: Requirement,
    checks: dict[str, CheckResult],
    anything_in_scope: bool,
    entity_type: str | None,
    roles: set[str],
) -> RequirementResult:
    """One requirement's status. Never stronger than what the checks can evidence: `pass`
    is for `full` automation only, and a partial requirement whose checks examined nothing
    (SEG-25 without waivers) is `manual`, not `not_applicable`: it still applies."""
    if not anything_in_scope:
        return RequirementResult(req, "not_applicable", "nothing is in scope")
    applies = req.applies_to
    unstated = ""
    if applies is not None and applies.entity_types and not entity_type:
        unstated = f"{applies.describe()}; the scope file does not state the entity type"
    if applies is not None:
        if applies.entity_types and entity_type and entity_type not in applies.entity_types:
            return RequirementResult(req, "not_applicable", applies.describe())
        if applies.zone_roles and not roles & set(applies.zone_roles):
            return RequirementResult(
                req,
                "not_applicable",
                f"{applies.describe()}: the scope has no {' or '.join(applies.zone_roles)} zone",
            )
    if not req.checks:
        return RequirementResult(req, "manual", unstated)
    statuses = {checks[c].status for c in req.checks}
    status = next(s for s in ROLLUP_ORDER if s in statuses)
    if status == "not_applicable" and req.automation != "full":
        why = "; ".join(f"{c}: {checks[c].summary}" for c in req.checks)
        return RequirementResult(
            req,
            "manual",
            f"the checks had nothing to examine ({why}); the evidence listed is needed",
        )
    if status == "pass" and req.automation != "full":
        return RequirementResult(
            req, "supported", "; ".join(filter(None, (SUPPORTED_REASON, unstated)))
        )
    return RequirementResult(req, status, unstated)
