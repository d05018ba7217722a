"""Checks of enforcement: what the cluster did, against what its policies allow.

SEG-28 reads segmentation-test results (probes chosen by `probe-plan`), SEG-22 and
SEG-21 flow logs (Hubble, Calico). Without such evidence they are not applicable and
the requirements mapped to them keep their manual evidence lists: the export alone
never shows enforcement.
"""

from __future__ import annotations

from compliance.checks.base import Context, Finding, Verdict, check, not_applicable
from compliance.evidence_inputs import Aggregate, Allowed, End, has_address, stamp
from compliance.flows import External
from compliance.model import WorkloadRef
from compliance.ports import PortSet
from compliance.proberesults import ProbeOutcome


def _probe_end(end: dict[str, str]) -> str:
    return end.get("workload") or end.get("address") or "?"


def _probe_rules(o: ProbeOutcome) -> tuple[str, ...]:
    rules = o.probe["rules"]
    return tuple(f"{side}: {r}" for side in ("egress", "ingress") for r in rules[side]["by"])


def _probe_finding(o: ProbeOutcome, severity: str, message: str, remediation: str) -> Finding:
    src = o.probe["src"]
    workload = None
    if "workload" in src:
        ns, name = src["workload"].split("/", 1)
        workload = WorkloadRef(ns, name, src["kind"])
    return Finding(
        message,
        severity=severity,
        workload=workload,
        peer=_probe_end(o.probe["dst"]),
        ports=f"{o.probe['protocol']} {o.probe['port']}",
        direction="egress",
        policies=_probe_rules(o),
        remediation=remediation,
        aspect=o.id,
    )


@check("SEG-28", "Segmentation test results")
def segmentation_test(ctx: Context) -> Verdict:
    """Probe results (`run-probes.sh`'s CSV or netassert's TAP) against the probe plan.

    A probe the policies say is blocked but was observed open fails: the cluster does
    not enforce what its policies say (a CNI not enforcing, a CRD policy or node path the
    export does not show, or a stale export). A probe expected open but observed blocked
    warns (a broken application path or a policy the export lacks). Probes in error or
    inconclusive make the result unknown; a plan computed from another export warns,
    naming both. Passing proves enforcement for what was probed, nothing more. Without
    results the check is not applicable and the requirement's evidence stays manual.
    """
    probes = ctx.evidence.probes
    if probes is None:
        return not_applicable("no segmentation test results were given (--probe-results)")
    findings = []
    if probes.other_snapshot:
        findings.append(
            Finding(
                f"the results are for another snapshot: {probes.other_snapshot}",
                severity="warn",
                remediation="Compute the plan from the export being evaluated "
                "(compliance probe-plan) and run the probes again.",
                aspect="other-snapshot",
            )
        )
    unclear = []
    for o in probes.outcomes:
        dst, port = _probe_end(o.probe["dst"]), f"{o.probe['protocol']} {o.probe['port']}"
        src = _probe_end(o.probe["src"])
        if o.mismatch == "not-enforced":
            findings.append(
                _probe_finding(
                    o,
                    "fail",
                    f"{o.id}: {src} reached {dst} on {port}, which the policies deny: "
                    f"the cluster does not enforce them ({o.detail or 'observed open'})",
                    "Check that the CNI enforces NetworkPolicy on every node, look for "
                    "policies or host paths the export does not show, and re-export.",
                )
            )
        elif o.mismatch == "broken-path":
            findings.append(
                _probe_finding(
                    o,
                    "warn",
                    f"{o.id}: {src} could not reach {dst} on {port}, which the policies "
                    f"allow ({o.detail or 'observed blocked'})",
                    "Look for a policy the export lacks (a CNI-specific policy) or a "
                    "service not listening on the port.",
                )
            )
        elif o.observed not in ("open", "blocked"):
            unclear.append(f"{o.id} ({o.observed or 'no result'})")
    held, total = probes.blocked_counts()
    summary = f"{len(probes.outcomes)} probes; {held} of {total} blocked probes blocked" + (
        f"; no clear result for {len(unclear)}: {', '.join(unclear[:10])}" if unclear else ""
    )
    if unclear and not any(f.severity == "fail" for f in findings):
        return Verdict(tuple(findings), status="unknown", summary=summary)
    return Verdict(tuple(findings), summary=summary)


def _touches(ctx: Context, a: Aggregate) -> bool:
    return ctx.is_in(a.src) or ctx.is_in(a.dst)


def _seen(a: Aggregate) -> str:
    when = stamp(a.first) if a.first == a.last else f"{stamp(a.first)} to {stamp(a.last)}"
    return f"{a.count} record(s), {when}, first at {a.where}"


@check("SEG-22", "Observed within allowed")
def observed_within_allowed(ctx: Context) -> Verdict:
    """Flows seen in the flow logs, touching scope, against the flows the policies allow.

    A flow the log shows forwarded (or passed in audit mode) that the flow graph denies
    fails, with the log's timestamps: an enforcement gap or a path the export does not
    model. A flow the graph allows that the log shows dropped by policy warns (a stale
    export, or a CNI-specific policy). Records whose ends the export does not know are
    counted, not judged. Not applicable without flow logs (--flow-log).
    """
    observed = ctx.evidence.observed
    if observed is None:
        return not_applicable("no flow logs were given (--flow-log)")
    allowed = Allowed(ctx.graph)
    findings = []
    judged = 0
    for a in observed.aggregates:
        if not _touches(ctx, a):
            continue
        verdict = allowed.allows(a.src, a.dst, a.protocol, a.port)
        if verdict is None:
            continue
        judged += 1
        workload = a.src if isinstance(a.src, WorkloadRef) else None
        peer = str(a.dst) if workload is not None else str(a.src)
        base = dict(
            workload=workload or (a.dst if isinstance(a.dst, WorkloadRef) else None),
            peer=peer,
            ports=f"{a.protocol} {a.port}",
            direction="egress" if workload is not None else "ingress",
        )
        if a.verdict in ("allowed", "audit") and not verdict:
            word = "forwarded" if a.verdict == "allowed" else "passed (audit mode)"
            findings.append(
                Finding(
                    f"{a.src} -> {a.dst} {a.protocol} {a.port} was {word} but the policies "
                    f"deny it: {_seen(a)}",
                    severity="fail",
                    remediation="Find the path the export does not show (CNI policy, host "
                    "network, node port) or the node not enforcing; re-export and re-check.",
                    aspect="observed-denied",
                    **base,  # type: ignore[arg-type]
                )
            )
        elif a.verdict == "denied" and verdict:
            findings.append(
                Finding(
                    f"{a.src} -> {a.dst} {a.protocol} {a.port} is allowed by the policies "
                    f"but the log shows it dropped: {_seen(a)}",
                    severity="warn",
                    remediation="Re-export the policies (including CNI-specific ones) and compare.",
                    aspect="allowed-dropped",
                    **base,  # type: ignore[arg-type]
                )
            )
    unmapped = (
        f"; {observed.unmapped} record(s) with an end not in the export"
        if observed.unmapped
        else ""
    )
    summary = (
        f"{judged} observed flow(s) touching scope judged over {observed.period()}"
        f" ({observed.records} records){unmapped}"
    )
    return Verdict(tuple(findings), summary=summary)


@check("SEG-21", "Unused allowances")
def unused_allowances(ctx: Context) -> Verdict:
    """Allowed flows touching scope that the flow logs never show over their period.

    Each is a tightening candidate (warn): a rule to narrow or remove unless a rare but
    needed use explains it. The logs must cover `parameters.min_observation_days`
    (default 7) from first to last record, or the check is unknown: a short log says
    little about what is unused. Not applicable without flow logs (--flow-log).
    """
    observed = ctx.evidence.observed
    if observed is None:
        return not_applicable("no flow logs were given (--flow-log)")
    need = ctx.parameters.min_observation_days
    period = observed.period()
    if observed.days < need:
        return Verdict(
            status="unknown",
            summary=f"the flow logs cover {period}, fewer than the {need} days "
            "parameters.min_observation_days asks",
        )
    seen: dict[tuple[End, End], list[tuple[str, int]]] = {}
    for a in observed.aggregates:
        if a.verdict in ("allowed", "audit"):
            seen.setdefault((a.src, a.dst), []).append((a.protocol, a.port))
    external_seen: dict[WorkloadRef, list[tuple[str, str, int]]] = {}
    for (src, dst), ports in seen.items():
        for proto, port in ports:
            if isinstance(src, WorkloadRef) and isinstance(dst, str):
                external_seen.setdefault(src, []).append((dst, proto, port))
            elif isinstance(dst, WorkloadRef) and isinstance(src, str):
                external_seen.setdefault(dst, []).append((src, proto, port))
    findings = []
    for f in ctx.touching():
        if f.self_flow:
            continue
        if isinstance(f.src, WorkloadRef) and isinstance(f.dst, WorkloadRef):
            used = any(f.connections.contains(p, n) for p, n in seen.get((f.src, f.dst), ()))
        else:
            inside = f.src if isinstance(f.src, WorkloadRef) else f.dst
            outside = f.dst if isinstance(f.src, WorkloadRef) else f.src
            used = isinstance(inside, WorkloadRef) and any(
                f.connections.contains(p, n)
                and isinstance(outside, External)
                and has_address(outside, addr)
                for addr, p, n in external_seen.get(inside, ())
            )
        if used:
            continue
        scoped = f.src if ctx.is_in(f.src) else f.dst
        direction = "egress" if scoped == f.src else "ingress"
        peer = f.dst if direction == "egress" else f.src
        findings.append(
            Finding(
                f"{f.src} -> {f.dst} {_ports(f.connections)} is allowed but not seen in the "
                f"flow logs over {period}: a candidate for tightening",
                severity="warn",
                workload=scoped if isinstance(scoped, WorkloadRef) else None,
                peer=str(peer),
                ports=_ports(f.connections),
                direction=direction,
                remediation="Remove or narrow the rule if the flow has no business need, or "
                "record why it is rarely used.",
                aspect="unused",
            )
        )
    summary = f"{len(findings)} allowed flow(s) touching scope unused over {period}"
    return Verdict(tuple(findings), summary=summary)


def _ports(ports: PortSet) -> str:
    return ports.describe()
