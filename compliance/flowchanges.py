"""Flows compared between two graphs of one cluster: added, removed, widened, narrowed.

A flow is identified by its two ends, and the ports between them are merged when one
pair has several flows, so a flow's ports growing (widened) or shrinking (narrowed) is
a change of that flow, per port range. `compliance diff` reports these changes and the
SEG-19 check judges the ones crossing a zone boundary; both read them from here, so the
check and the diff's per-zone verdict can never disagree about what changed. Pure.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from compliance.flows import ExternalName, Flow, FlowGraph
from compliance.model import WorkloadRef
from compliance.ports import PortSet
from compliance.scope import Placement

FlowKey = tuple[str, str]
Change = tuple[FlowKey, str, "Edge | None", "Edge | None", PortSet, PortSet]


@dataclass(frozen=True, slots=True)
class Edge:
    """Everything one graph allows between two ends."""

    ports: PortSet
    rules: tuple[str, ...]
    src: WorkloadRef | None
    dst: WorkloadRef | None


def end_text(end: object) -> str:
    return str(end)


def rules_of(flow: Flow) -> tuple[str, ...]:
    """The flow's allowing rules on both sides, egress first."""
    return tuple(
        f"{name}: {side.describe()}"
        for name, side in (("egress", flow.egress), ("ingress", flow.ingress))
    )


def edges(graph: FlowGraph) -> dict[FlowKey, Edge]:
    """Every flow by its two ends, the ports merged when one pair has several (named
    destinations by source and name).

    A graph has hundreds of thousands of flows but far fewer distinct endpoint and side
    objects (flows of one pod class share them), so their texts are made once per object;
    the graph keeps the objects alive, so their ids stay unique while this runs."""
    out: dict[FlowKey, Edge] = {}
    names: dict[int, str] = {}
    sides: dict[tuple[int, int], tuple[str, ...]] = {}
    for flow in graph.flows:
        s, d = flow.src, flow.dst
        src_name = names.get(id(s))
        if src_name is None:
            src_name = names[id(s)] = end_text(s)
        dst_name = names.get(id(d))
        if dst_name is None:
            dst_name = names[id(d)] = end_text(d)
        key = (src_name, dst_name)
        pair = (id(flow.egress), id(flow.ingress))
        rules = sides.get(pair)
        if rules is None:
            rules = sides[pair] = rules_of(flow)
        found = out.get(key)
        if found is None:
            src = s if isinstance(s, WorkloadRef) else None
            dst = d if isinstance(d, WorkloadRef) else None
            out[key] = Edge(flow.connections, rules, src, dst)
        else:
            merged = tuple(dict.fromkeys((*found.rules, *rules)))
            out[key] = Edge(found.ports.union(flow.connections), merged, found.src, found.dst)
    # Egress to admin `domainNames`: one edge per name, so regrouping names between two
    # graphs is no change, and a name gained or lost is.
    for named in graph.named_flows:
        rules = rules_of(named)  # type: ignore[arg-type]
        for name in named.dst.names:
            key = (str(named.src), str(ExternalName((name,))))
            found = out.get(key)
            if found is None:
                out[key] = Edge(named.connections, rules, named.src, None)
            else:
                merged = tuple(dict.fromkeys((*found.rules, *rules)))
                out[key] = Edge(found.ports.union(named.connections), merged, named.src, None)
    return out


def zones_of(placements: Iterable[Placement], ref: WorkloadRef | None) -> frozenset[str]:
    """The zones a workload is in under any of the placements (an address: none)."""
    if ref is None:
        return frozenset()
    zones: frozenset[str] = frozenset()
    for placement in placements:
        zones = zones | placement.zones(ref)
    return zones


def flow_changes(old: Mapping[FlowKey, Edge], new: Mapping[FlowKey, Edge]) -> list[Change]:
    """(key, change, before, now, widened ports, narrowed ports), sorted by key."""
    changes: list[Change] = []
    # Most pairs are the same on both sides: sort only the ones that differ.
    differing = [k for k, e in old.items() if (n := new.get(k)) is None or n.ports != e.ports]
    differing += [k for k in new if k not in old]
    for key in sorted(differing):
        before, now = old.get(key), new.get(key)
        if before is None and now is not None:
            changes.append((key, "added", None, now, now.ports, PortSet.empty()))
        elif now is None and before is not None:
            changes.append((key, "removed", before, None, PortSet.empty(), before.ports))
        elif before is not None and now is not None and before.ports != now.ports:
            wider = now.ports.difference(before.ports)
            narrower = before.ports.difference(now.ports)
            changes.append((key, "changed", before, now, wider, narrower))
    return changes


def crossed_zones(
    placements: Iterable[Placement], src: WorkloadRef | None, dst: WorkloadRef | None
) -> frozenset[str]:
    """The zones whose boundary a flow crosses: one end inside the zone, the other not
    (an address outside the cluster is in no zone)."""
    chosen = tuple(placements)
    return zones_of(chosen, src) ^ zones_of(chosen, dst)


@dataclass(frozen=True)
class Baseline:
    """The evaluation a run is compared with (`report --baseline`): when it spoke, what
    it allowed and where its workloads sat. SEG-19 judges the changes against it."""

    as_of: dt.datetime
    graph: FlowGraph
    placement: Placement

    @functools.cached_property
    def edges(self) -> dict[FlowKey, Edge]:
        """The baseline's flows by their ends, computed once for every framework's run."""
        return edges(self.graph)
