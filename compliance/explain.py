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

from compliance.admintiers import Decision, covers, decide
from compliance.errors import InputError
from compliance.flows import CompiledRule, Engine, PodClass
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
    if engine.admin:
        return _explain_tiers(engine, src, dst, classes)
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


def _verdict(
    contribs: list[tuple[PortSet, str]],
    p: int,
    lo: int,
    hi: int,
    denials: list[tuple[PortSet, str]] | None = None,
) -> SideVerdict:
    reasons = sorted(
        {why for ports, why in contribs if any(a <= lo and hi <= b for a, b in ports.ranges[p])}
    )
    if not reasons and denials:
        why_not = sorted(
            {why for ports, why in denials if any(a <= lo and hi <= b for a, b in ports.ranges[p])}
        )
        return SideVerdict(False, tuple(why_not))
    return SideVerdict(bool(reasons), tuple(reasons))


# --------------------------------------------------------------------------- admin tiers


def _explain_tiers(
    engine: Engine, src: Target, dst: Target, classes: ClassIndex | None
) -> Explanation:
    """The same with admin policies: every side decided first match over the tiers, and
    a denied range names the rule (or the NetworkPolicy isolation) that denies it."""
    index = classes if classes is not None else None

    def classes_of(ref: WorkloadRef) -> list[PodClass]:
        return index[ref] if index is not None else _classes(engine, ref)

    src_classes = classes_of(src) if isinstance(src, WorkloadRef) else []
    dst_classes = classes_of(dst) if isinstance(dst, WorkloadRef) else []
    eg: list[tuple[PortSet, str]] = []
    ing: list[tuple[PortSet, str]] = []
    eg_no: list[tuple[PortSet, str]] = []
    ing_no: list[tuple[PortSet, str]] = []
    outside = [(PortSet.all(), "outside the cluster")]
    if isinstance(src, str):
        eg = outside
        eg_summary = f"{src} is outside the cluster: no policy governs its egress"
    else:
        eg_summary = _tier_summary(engine, src, src_classes, egress=True)
    if isinstance(dst, str):
        ing = outside
        ing_summary = f"{dst} is outside the cluster: no policy governs its ingress"
    else:
        ing_summary = _tier_summary(engine, dst, dst_classes, egress=False)

    Contribs = list[tuple[PortSet, str]]

    def add(
        cls: PodClass, decisions: list[Decision], allow: Contribs, deny: Contribs, way: str
    ) -> None:
        for d in decisions:
            allow_or_deny = allow if d.allowed else deny
            allow_or_deny.append((d.ports, _reason(cls, d, way)))

    if isinstance(src, WorkloadRef) and isinstance(dst, WorkloadRef):
        for s in src_classes:
            for d in dst_classes:
                for reading in (True, False):
                    e, i = engine.decide_pair(s, d, reading)
                    add(s, e, eg, eg_no, "egress")
                    add(d, i, ing, ing_no, "ingress")
    elif isinstance(src, WorkloadRef):
        assert isinstance(dst, str)
        family, value = _address(dst)
        for s in src_classes:
            add(s, _external_decisions(engine, s, family, value), eg, eg_no, "egress")
    else:
        assert isinstance(src, str) and isinstance(dst, WorkloadRef)
        for d in dst_classes:
            if d.np_ingress_open:
                ing.append((PortSet.all(), _open_reason(d, "ingress")))
                continue
            for rule, addrs, ports in engine.ingress_external(d):
                if addrs.contains(src):
                    ing.append((ports, str(rule.ref)))
            ing_no.append((PortSet.all(), "NetworkPolicy isolates it; no rule allows"))
    segments = []
    for seg in _segments(eg, ing):
        p = PROTOCOLS.index(seg.protocol)
        segments.append(
            Segment(
                seg.protocol,
                seg.lo,
                seg.hi,
                _verdict(eg, p, seg.lo, seg.hi, eg_no),
                _verdict(ing, p, seg.lo, seg.hi, ing_no),
            )
        )
    return Explanation(str(src), str(dst), eg_summary, ing_summary, tuple(_rejoin(segments)))


def _rejoin(segments: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for seg in segments:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.protocol == seg.protocol
            and prev.hi + 1 == seg.lo
            and (prev.egress, prev.ingress) == (seg.egress, seg.ingress)
        ):
            out[-1] = Segment(seg.protocol, prev.lo, seg.hi, seg.egress, seg.ingress)
        else:
            out.append(seg)
    return out


def _address(text: str) -> tuple[str, int]:
    ip = ipaddress.ip_address(text)
    return ("v4" if ip.version == 4 else "v6"), int(ip)


def _external_decisions(engine: Engine, cls: PodClass, family: str, value: int) -> list[Decision]:
    def hit(rule: CompiledRule) -> bool:
        return covers(rule.addresses, family, value)

    np_rules = [(r, p) for r, a, p in engine.egress_external(cls) if covers(a, family, value)]
    if cls.egress_open:
        return [Decision(PortSet.all(), True, None)]
    return decide(engine, cls, True, hit, None, np_rules)


def _reason(cls: PodClass, d: Decision, direction: str) -> str:
    if d.ref is None:
        if d.allowed:
            if cls.host_network:
                return "hostNetwork: not enforced"
            return f"no rule decides its {direction}: allowed by default"
        return "NetworkPolicy isolates it; no rule allows"
    text = f"pass -> {d.ref}" if d.via_pass else str(d.ref)
    return text if d.allowed else f"denied by {text}"


def _tier_summary(engine: Engine, ref: WorkloadRef, classes: list[PodClass], egress: bool) -> str:
    base = _summary(engine, ref, classes, egress)
    admin = sorted(
        {
            r.ref.policy_id
            for c in classes
            for r in (
                (*c.admin_egress, *c.baseline_egress)
                if egress
                else (*c.admin_ingress, *c.baseline_ingress)
            )
        }
    )
    if admin and not any(c.host_network for c in classes):
        return f"{base}; admin policies: {', '.join(admin)}"
    return base
