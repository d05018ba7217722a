"""What changed between two evaluations of one cluster: `compliance diff OLD NEW`.

An assessor's second question is not "what is allowed" but "what changed since last
time, who approved it, and was segmentation re-tested after the change?" (PCI DSS
1.2.2, 1.2.7, 11.4.5). This module answers it from two evaluations, each made from a
pack's snapshot or an export, as plain JSON data: the renderers in `render/diff.py`
format it and `cli.py` picks the exit code. Pure: no I/O, no clock.

Flows are compared by their two ends and the ports between them, so a flow's ports
growing (widened) or shrinking (narrowed) is a change of that flow, per port range. A
finding is identified by `finding_id` (check, workload, direction, peers, ports), never
by its wording, so rewording a message does not resolve and reopen it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compliance.checks.base import finding_id
from compliance.evaluate import Evaluation
from compliance.flowchanges import Edge, FlowKey, crossed_zones, edges, flow_changes, zones_of
from compliance.flows import compute_flows
from compliance.model import Cluster, Policy
from compliance.ports import PortSet
from compliance.tiers import AdminPolicy, ordered

AnyPolicy = Policy | AdminPolicy
"""What `diff` compares: a NetworkPolicy or a cluster-wide (admin) policy."""

RETEST_LINE = (
    "a change to segmentation controls: re-test segmentation (PCI DSS 11.4.5 / 11.4.6) "
    "and review the approved-flow register (PCI DSS 1.2.2, 1.2.5)"
)


@dataclass(frozen=True, slots=True)
class DiffSide:
    """One side of a diff: where it came from and its evaluation."""

    source: str
    digest: str | None
    ev: Evaluation


def _iso(side: DiffSide) -> str:
    return side.ev.as_of.isoformat().replace("+00:00", "Z")


def _describe(ports: PortSet) -> str | None:
    return ports.describe() if ports else None


def _flow_entry(
    key: FlowKey,
    change: str,
    before: Edge | None,
    now: Edge | None,
    wider: PortSet,
    narrower: PortSet,
) -> dict[str, Any]:
    return {
        "src": key[0],
        "dst": key[1],
        "change": change,
        "ports_before": _describe(before.ports) if before else None,
        "ports_now": _describe(now.ports) if now else None,
        "widened": _describe(wider) if change == "changed" else None,
        "narrowed": _describe(narrower) if change == "changed" else None,
        "rules_before": list(before.rules) if before else [],
        "rules_now": list(now.rules) if now else [],
    }


def _flows_between(old: Cluster, now: Mapping[FlowKey, Edge]) -> tuple[list[str], list[str]]:
    """Flows (as `src -> dst: ports`) that `now` adds and removes against `old`."""
    before = edges(compute_flows(old))
    added, removed = [], []
    for key, change, b, n, wider, narrower in flow_changes(before, now):
        if change == "added" or (change == "changed" and wider):
            ports = n.ports if change == "added" and n else wider
            added.append(f"{key[0]} -> {key[1]}: {ports.describe()}")
        if change == "removed" or (change == "changed" and narrower):
            ports = b.ports if change == "removed" and b else narrower
            removed.append(f"{key[0]} -> {key[1]}: {ports.describe()}")
    return added, removed


def _with_policy(cluster: Cluster, key: tuple[int, str], policy: AnyPolicy | None) -> Cluster:
    """`cluster` with policy `key` (as `_policies` keys them) replaced by `policy`, or
    left out when it is None."""
    admin, pid = key
    if admin:
        kept_admin = [p for p in cluster.admin_policies if p.id != pid]
        if isinstance(policy, AdminPolicy):
            kept_admin.append(policy)
        return dataclasses.replace(cluster, admin_policies=tuple(ordered(kept_admin)))
    kept = [p for p in cluster.policies if p.id != pid]
    if isinstance(policy, Policy):
        kept.append(policy)
    return dataclasses.replace(
        cluster, policies=tuple(sorted(kept, key=lambda p: (p.namespace, p.name)))
    )


def _keyed(cluster: Cluster) -> dict[tuple[int, str], AnyPolicy]:
    """NetworkPolicies (`namespace/name`) and then cluster-wide policies (`anp/name`, ...)
    by ID; kept apart, since a namespace may be called `anp`."""
    out: dict[tuple[int, str], AnyPolicy] = {(0, p.id): p for p in cluster.policies}
    out.update({(1, p.id): p for p in cluster.admin_policies})
    return out


def _policies(
    old: Evaluation, new: Evaluation, current: Mapping[FlowKey, Edge]
) -> list[dict[str, Any]]:
    """Each added, removed or modified policy with the flows it adds or removes on its
    own: the new cluster (`current` is its edges) against the new cluster with only this
    policy put back."""
    before, now = _keyed(old.cluster), _keyed(new.cluster)
    out = []
    for key in sorted(before.keys() | now.keys()):
        pid = key[1]
        b, n = before.get(key), now.get(key)
        if b is not None and n is not None and b.digest == n.digest:
            continue
        change = "added" if b is None else "removed" if n is None else "modified"
        without = _with_policy(new.cluster, key, b)
        added, removed = _flows_between(without, current)
        out.append(
            {
                "policy": pid,
                "change": change,
                "sha256_before": b.digest if b else None,
                "sha256_now": n.digest if n else None,
                "flows_added": added,
                "flows_removed": removed,
                "effect": "no effect on flows" if not added and not removed else "changes flows",
            }
        )
    return out


def _workloads(old: Evaluation, new: Evaluation) -> list[dict[str, Any]]:
    before = {w.ref: w for w in old.cluster.workloads}
    now = {w.ref: w for w in new.cluster.workloads}
    out = []
    for ref in sorted(before.keys() | now.keys()):
        zb = old.placement.zones(ref) if ref in before else frozenset()
        zn = new.placement.zones(ref) if ref in now else frozenset()
        change = "added" if ref not in before else "removed" if ref not in now else None
        if change is None and zb == zn:
            continue
        out.append(
            {
                "workload": str(ref),
                "change": change or "zones",
                "entered": sorted(zn - zb),
                "left": sorted(zb - zn),
            }
        )
    return out


def _requirements(old: Evaluation, new: Evaluation) -> list[dict[str, Any]]:
    def statuses(ev: Evaluation) -> dict[tuple[str, str], str]:
        return {
            (fw.framework.id, r.requirement.id): r.status
            for fw in ev.frameworks
            for r in fw.requirements
        }

    before, now = statuses(old), statuses(new)
    return [
        {"framework": k[0], "requirement": k[1], "before": before.get(k), "now": now.get(k)}
        for k in sorted(before.keys() | now.keys())
        if before.get(k) != now.get(k)
    ]


def _findings(ev: Evaluation) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for fw in ev.frameworks:
        for check in fw.checks:
            for fr in check.findings:
                fid = finding_id(check.id, fr.finding)
                workload = fr.finding.workload
                found.setdefault(
                    fid,
                    {
                        "id": fid,
                        "check": check.id,
                        "workload": str(workload) if workload is not None else None,
                        "status": fr.status,
                        "message": fr.finding.message,
                    },
                )
    return found


def _finding_changes(old: Evaluation, new: Evaluation) -> dict[str, Any]:
    before, now = _findings(old), _findings(new)
    return {
        "new": [now[k] for k in sorted(now.keys() - before.keys())],
        "resolved": [before[k] for k in sorted(before.keys() - now.keys())],
        "still_open": sorted(now.keys() & before.keys()),
    }


def _dated(
    old: Mapping[str, Any], new: Mapping[str, Any], old_ev: Evaluation, new_ev: Evaluation
) -> dict[str, list[str]]:
    """Entries by reference: added, removed, and expired between the two as-of times."""

    def active(entry: Any, ev: Evaluation) -> bool:
        return bool(ev.as_of.date() <= entry.expires)

    return {
        "added": sorted(new.keys() - old.keys()),
        "removed": sorted(old.keys() - new.keys()),
        "expired": sorted(
            k
            for k in old.keys() & new.keys()
            if active(old[k], old_ev) and not active(new[k], new_ev)
        ),
    }


def diff(old: DiffSide, new: DiffSide) -> dict[str, Any]:
    """The diff document (`compliance/schemas/diff.schema.json`)."""
    o, n = old.ev, new.ev
    before, now = edges(o.graph), edges(n.graph)
    placements = (o.placement, n.placement)
    zone_names = sorted({z.name for z in o.scope.zones} | {z.name for z in n.scope.zones})
    touching, rest = [], 0
    crossing: dict[str, list[str]] = {z: [] for z in zone_names}
    for key, change, b, nw, wider, narrower in flow_changes(before, now):
        edge = nw or b
        assert edge is not None
        src_z = zones_of(placements, edge.src)
        dst_z = zones_of(placements, edge.dst)
        if not src_z and not dst_z:
            rest += 1
            continue
        entry = _flow_entry(key, change, b, nw, wider, narrower)
        touching.append(entry)
        if change == "changed" and not wider:
            continue  # only narrowed: segmentation got tighter, not a boundary change
        for zone in sorted(crossed_zones(placements, edge.src, edge.dst)):
            crossing.setdefault(zone, []).append(f"{key[0]} -> {key[1]}")
    zones = [
        {
            "zone": z,
            "verdict": "changed" if crossing[z] else "unchanged",
            "note": RETEST_LINE if crossing[z] else None,
            "flows": crossing[z],
        }
        for z in sorted(crossing)
    ]
    notes = []
    if o.as_of > n.as_of:
        notes.append(f"OLD ({_iso(old)}) is newer than NEW ({_iso(new)})")
    if o.scope.cluster != n.scope.cluster:
        notes.append(f"different clusters: {o.scope.cluster} and {n.scope.cluster}")
    return {
        "old": _side(old),
        "new": _side(new),
        "notes": notes,
        "zones": zones,
        "flows": {"touching_zones": touching, "other_changes": rest},
        "policies": _policies(o, n, now),
        "workloads": _workloads(o, n),
        "requirements": _requirements(o, n),
        "findings": _finding_changes(o, n),
        "register": _dated(
            {e.ref: e for e in o.scope.approved_flows},
            {e.ref: e for e in n.scope.approved_flows},
            o,
            n,
        ),
        "waivers": _dated(
            {w.ref: w for w in o.scope.waivers}, {w.ref: w for w in n.scope.waivers}, o, n
        ),
    }


def _side(side: DiffSide) -> dict[str, Any]:
    return {
        "as_of": _iso(side),
        "cluster": side.ev.scope.cluster,
        "digest": side.digest,
        "source": side.source,
    }


def zone_flows_changed(doc: Mapping[str, Any]) -> bool:
    """Exit 1 territory: any flow touching a zone was added, removed or changed."""
    return bool(doc["flows"]["touching_zones"])
