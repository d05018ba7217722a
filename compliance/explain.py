"""Why a flow between two endpoints is allowed or denied, port range by port range.

`compliance flows --explain SRC DST` answers the auditor's follow-up question:
for each part of the port space, does the source's egress allow it, does the
destination's ingress allow it, and which rules (or the absence of isolation)
decide each side.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections import defaultdict
from dataclasses import dataclass

from compliance.errors import InputError
from compliance.flows import Engine, PodClass
from compliance.model import Cluster, WorkloadRef
from compliance.ports import PROTOCOLS, PortSet

Target = WorkloadRef | str  # a workload, or an IP address outside the cluster


@dataclass(frozen=True, slots=True)
class SideVerdict:
    """One side over one port range: allowed by these reasons, or denied."""

    allowed: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Segment:
    protocol: str
    lo: int
    hi: int
    egress: SideVerdict
    ingress: SideVerdict

    @property
    def allowed(self) -> bool:
        return self.egress.allowed and self.ingress.allowed


@dataclass(frozen=True, slots=True)
class Explanation:
    src: str
    dst: str
    egress_summary: str
    ingress_summary: str
    segments: tuple[Segment, ...]

    @property
    def allowed(self) -> PortSet:
        out = PortSet.empty()
        for s in self.segments:
            if s.allowed:
                out = out | PortSet.of(s.protocol, s.lo, s.hi)
        return out


def resolve_target(cluster: Cluster, text: str) -> Target:
    """`ns/name`, `ns/name[Kind]` or an IP address; errors list the near candidates."""
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    kind = None
    name = text
    if text.endswith("]") and "[" in text:
        name, _, kind = text[:-1].partition("[")
    matches = [
        w.ref
        for w in cluster.workloads
        if w.ref.id == name and (kind is None or w.ref.kind == kind)
    ]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        options = ", ".join(str(m) for m in matches)
        raise InputError(f"{text!r} names several workloads; add the kind: {options}")
    if "/" not in name:
        raise InputError(
            f"{text!r}: expected namespace/name, namespace/name[Kind] or an IP address"
        )
    ns = name.split("/", 1)[0]
    near = sorted(str(w.ref) for w in cluster.workloads if w.ref.namespace == ns)
    hint = f"; workloads in {ns}: {', '.join(near[:10])}" if near else f"; no workloads in {ns}"
    raise InputError(f"no workload {text!r} in the export{hint}")


def explain(cluster: Cluster, src_text: str, dst_text: str) -> Explanation:
    src = resolve_target(cluster, src_text)
    dst = resolve_target(cluster, dst_text)
    if isinstance(src, str) and isinstance(dst, str):
        raise InputError("at least one of SRC and DST must be a workload")
    return explain_targets(Engine(cluster), src, dst)


def explain_targets(
    engine: Engine, src: Target, dst: Target, classes: ClassIndex | None = None
) -> Explanation:
    """The same over an engine already built; callers that explain many pairs pass the
    pod classes of every workload (`engine_classes`) so each call skips the pod scan."""
    eg: list[tuple[PortSet, str]]
    ing: list[tuple[PortSet, str]]
    if isinstance(src, str):
        eg = [(PortSet.all(), "outside the cluster")]
        eg_summary = f"{src} is outside the cluster: no NetworkPolicy governs its egress"
    if isinstance(dst, str):
        ing = [(PortSet.all(), "outside the cluster")]
        ing_summary = f"{dst} is outside the cluster: no NetworkPolicy governs its ingress"
    index = classes if classes is not None else {}

    def classes_of(ref: WorkloadRef) -> list[PodClass]:
        return index[ref] if classes is not None else _classes(engine, ref)

    src_classes = classes_of(src) if isinstance(src, WorkloadRef) else []
    dst_classes = classes_of(dst) if isinstance(dst, WorkloadRef) else []
    if isinstance(src, WorkloadRef):
        eg_summary = _summary(engine, src, src_classes, egress=True)
        eg = []
        for s in src_classes:
            if s.egress_open:
                eg.append((PortSet.all(), _open_reason(s, "egress")))
                continue
            if isinstance(dst, str):
                for rule, addrs, ports in engine.egress_external(s):
                    if addrs.contains(dst):
                        eg.append((ports, str(rule.ref)))
            else:
                for d in dst_classes:
                    eg.extend((ports, str(rule.ref)) for rule, ports in engine.egress_towards(s, d))
    if isinstance(dst, WorkloadRef):
        ing_summary = _summary(engine, dst, dst_classes, egress=False)
        ing = []
        for d in dst_classes:
            if d.ingress_open:
                ing.append((PortSet.all(), _open_reason(d, "ingress")))
                continue
            if isinstance(src, str):
                for rule, addrs, ports in engine.ingress_external(d):
                    if addrs.contains(src):
                        ing.append((ports, str(rule.ref)))
            else:
                for s in src_classes:
                    ing.extend((ports, str(rule.ref)) for rule, ports in engine.ingress_from(d, s))
    return Explanation(
        src=str(src),
        dst=str(dst),
        egress_summary=eg_summary,
        ingress_summary=ing_summary,
        segments=tuple(_segments(eg, ing)),
    )


ClassIndex = dict[WorkloadRef, list[PodClass]]


def engine_classes(engine: Engine) -> ClassIndex:
    """Every workload's pod classes, in class order (what `_classes` finds for one)."""
    seen: dict[WorkloadRef, dict[int, PodClass]] = {}
    for i, pod in enumerate(engine.pods):
        c = engine.class_of[i]
        seen.setdefault(pod.workload, {})[c] = engine.classes[c]
    found = {ref: [by[c] for c in sorted(by)] for ref, by in seen.items()}
    return defaultdict(list, found)


def _classes(engine: Engine, ref: WorkloadRef) -> list[PodClass]:
    seen: dict[int, PodClass] = {}
    for i, pod in enumerate(engine.pods):
        if pod.workload == ref:
            c = engine.class_of[i]
            seen[c] = engine.classes[c]
    return [seen[c] for c in sorted(seen)]


def _open_reason(cls: PodClass, direction: str) -> str:
    if cls.host_network:
        return "hostNetwork: not enforced"
    return f"not isolated: no policy selects it for {direction}"


def _summary(engine: Engine, ref: WorkloadRef, classes: list[PodClass], egress: bool) -> str:
    direction = "egress" if egress else "ingress"
    if not classes:
        return f"{direction} of {ref}: the workload has no pod template in the export"
    pols = sorted(
        {
            engine.cluster.policies[p].id
            for c in classes
            for p in (c.egress_policies if egress else c.ingress_policies)
        }
    )
    if any(c.host_network for c in classes):
        return f"{direction} of {ref}: hostNetwork pods; NetworkPolicy is not enforced on them"
    if not pols:
        return f"{direction} of {ref}: not isolated (no policy selects it for {direction})"
    return f"{direction} of {ref}: isolated by {', '.join(pols)}"


def _segments(eg: list[tuple[PortSet, str]], ing: list[tuple[PortSet, str]]) -> list[Segment]:
    out: list[Segment] = []
    for p, proto in enumerate(PROTOCOLS):
        points = {1, 65536}
        for ports, _ in eg + ing:
            for lo, hi in ports.ranges[p]:
                points.add(lo)
                points.add(hi + 1)
        bounds = sorted(points)
        for lo, nxt in itertools.pairwise(bounds):
            hi = nxt - 1
            e = _verdict(eg, p, lo, hi)
            i = _verdict(ing, p, lo, hi)
            if out and out[-1].protocol == proto and out[-1].egress == e and out[-1].ingress == i:
                prev = out[-1]
                out[-1] = Segment(proto, prev.lo, hi, e, i)
            else:
                out.append(Segment(proto, lo, hi, e, i))
    return out


def _verdict(contribs: list[tuple[PortSet, str]], p: int, lo: int, hi: int) -> SideVerdict:
    reasons = sorted(
        {why for ports, why in contribs if any(a <= lo and hi <= b for a, b in ports.ranges[p])}
    )
    return SideVerdict(bool(reasons), tuple(reasons))
