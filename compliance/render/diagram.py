"""Inline SVG for the evidence pack: the status chart and one boundary diagram per zone.

Both are strings the PDF template embeds as they are (`{{ svg | safe }}`), so every text
that comes from the cluster, the scope or a control file is escaped here, and each
drawing is a pure function of its input: the same export gives the same bytes.
SVG text does not wrap and nothing measures it for us, so widths are estimated from
DejaVu Sans' advance widths (the font the PDF uses) and long texts are cut with an
ellipsis before they can run out of their box; the full texts are in the report's tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from xml.sax.saxutils import escape

from compliance.checks.base import Register
from compliance.evaluate import REQUIREMENT_STATUSES, Evaluation
from compliance.flows import Endpoint, External, ExternalName, Flow, NamedFlow
from compliance.model import WorkloadRef
from compliance.ports import PortSet, union_all
from compliance.render.evidence import STATUS_LABELS
from compliance.text import visible

FONT = "DejaVu Sans, sans-serif"

STATUS_ORDER = REQUIREMENT_STATUSES
"""Worst first, so the eye meets the failures at the start of every bar."""

STATUS_COLOURS: dict[str, str] = {
    "fail": "#c0392b",
    "unknown": "#6c757d",
    "warn": "#e0a100",
    "waived": "#2e6da4",
    "supported": "#8cc9c0",
    "pass": "#2e7d32",
    "manual": "#b8c2cc",
    "not_applicable": "#e3e7ea",
}
"""Fill per status; the HTML reuses them so badges and chart agree."""

STATUS_TEXT_COLOURS: dict[str, str] = {
    "fail": "#ffffff",
    "unknown": "#ffffff",
    "warn": "#1b1b1b",
    "waived": "#ffffff",
    "supported": "#1b1b1b",
    "pass": "#ffffff",
    "manual": "#1b1b1b",
    "not_applicable": "#1b1b1b",
}
"""Text on each fill, chosen for a contrast of at least 4.5:1."""

OTHER_COLOUR = "#9b59b6"
"""For a status this module does not know yet: shown rather than dropped."""

MAX_CHARS = 38
"""Longest name drawn; the tables under the drawings carry the full text."""
MAX_PORT_CHARS = 40
MAX_PEER_GROUPS = 12
"""Peer boxes per side before the rest collapse into one `+ k more` box."""
MAX_MEMBER_LINES = 12

COVERED_COLOUR = "#2c3e50"
UNCOVERED_COLOUR = "#c0392b"
TEXT_COLOUR = "#1b2631"
MUTED_COLOUR = "#566573"

# --------------------------------------------------------------------------- text

# Advance widths of DejaVu Sans for ASCII 32..126, in hundredths of an em.
_REGULAR = (
    32, 40, 46, 84, 64, 95, 78, 27, 39, 39, 50, 84, 32, 36, 32, 34, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 34, 34, 84, 84, 84, 53, 100, 68, 69, 70, 77, 63, 58, 77, 75, 29, 29, 66, 56, 86,
    75, 79, 60, 79, 69, 63, 61, 73, 68, 99, 69, 61, 69, 39, 34, 39, 84, 50, 50, 61, 63, 55, 63,
    62, 35, 63, 63, 28, 28, 58, 28, 97, 63, 61, 63, 63, 41, 52, 39, 63, 59, 82, 59, 59, 52, 64,
    34, 64, 84,
)  # fmt: skip
_BOLD = (
    35, 46, 52, 84, 70, 100, 87, 31, 46, 46, 52, 84, 38, 42, 38, 37, 70, 70, 70, 70, 70, 70, 70,
    70, 70, 70, 40, 40, 84, 84, 84, 58, 100, 77, 76, 73, 83, 68, 68, 82, 84, 37, 37, 77, 64, 100,
    84, 85, 73, 85, 77, 72, 68, 81, 77, 110, 77, 72, 73, 46, 37, 46, 84, 50, 50, 67, 72, 59, 72,
    68, 44, 72, 71, 34, 34, 67, 34, 104, 71, 69, 72, 72, 49, 60, 48, 71, 65, 92, 65, 65, 58, 71,
    37, 71, 84,
)  # fmt: skip

# Characters XML 1.0 cannot hold at all: escaping does not help, so they are replaced.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Estimated advance of `text` at font size `size`; non-ASCII counts as a full em,
    so the estimate errs towards cutting."""
    table = _BOLD if bold else _REGULAR
    hundredths = sum(table[o - 32] if 32 <= (o := ord(c)) <= 126 else 100 for c in text)
    return hundredths * size / 100


def fit(text: str, size: float, width: float, bold: bool = False, limit: int = MAX_CHARS) -> str:
    """`text`, cut with an ellipsis to at most `limit` characters and `width` units."""
    text = visible(" ".join(text.split()))
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    while len(text) > 1 and text_width(text, size, bold) > width:
        text = text[:-2].rstrip() + "…"
    return text


def _esc(text: str) -> str:
    """Text and attribute content: a cluster value is shown, never interpreted."""
    return escape(_NOT_XML.sub("\ufffd", visible(text)), {'"': "&quot;", "'": "&apos;"})


def _n(x: float) -> str:
    return f"{x:.1f}"


def _text(
    x: float,
    y: float,
    text: str,
    size: float,
    fill: str = TEXT_COLOUR,
    anchor: str = "start",
    bold: bool = False,
    italic: bool = False,
) -> str:
    attrs = f'x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" fill="{fill}"'
    if anchor != "start":
        attrs += f' text-anchor="{anchor}"'
    if bold:
        attrs += ' font-weight="bold"'
    if italic:
        attrs += ' font-style="italic"'
    return f"<text {attrs}>{_esc(text)}</text>"


def _rect(
    x: float,
    y: float,
    w: float,
    h: float,
    fill: str,
    stroke: str | None = None,
    rx: float = 0,
    dashed: bool = False,
    stroke_width: float = 1,
) -> str:
    attrs = f'x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" fill="{fill}"'
    if rx:
        attrs += f' rx="{_n(rx)}"'
    if stroke:
        attrs += f' stroke="{stroke}" stroke-width="{_n(stroke_width)}"'
    if dashed:
        attrs += ' stroke-dasharray="4 2.5"'
    return f"<rect {attrs}/>"


def _svg(width: float, height: float, label: str, body: Iterable[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'width="100%" role="img" aria-label="{_esc(label)}" font-family="{FONT}">'
    )
    return head + "".join(body) + "</svg>"


# --------------------------------------------------------------------------- status chart

CHART_WIDTH = 720.0
_LABEL_W = 196.0
_BAR_X = 204.0
_BAR_W = 470.0
_ROW_H = 22.0
_BAR_H = 14.0
_CHART_FONT = 9.0


def status_chart_svg(rows: Sequence[tuple[str, Mapping[str, int]]]) -> str:
    """One bar per framework, each as wide as the chart: frameworks have very different
    numbers of requirements, and what an assessor compares is the share that fails. The
    total is printed at the end of the bar."""
    extra = sorted({s for _, counts in rows for s in counts if s not in STATUS_ORDER})
    statuses = (*STATUS_ORDER, *extra)
    body: list[str] = []
    y = 4.0
    if not rows:
        body.append(_text(4, y + 11, "No framework was evaluated.", _CHART_FONT, MUTED_COLOUR))
        y += _ROW_H
    for label, counts in rows:
        mid = y + _BAR_H / 2 + 3.2
        shown = fit(label, _CHART_FONT, _LABEL_W - 4, limit=60)
        body.append(_text(_LABEL_W, mid, shown, _CHART_FONT, anchor="end"))
        total = sum(max(0, counts.get(s, 0)) for s in statuses)
        if total == 0:
            body.append(_rect(_BAR_X, y, _BAR_W, _BAR_H, "#ffffff", "#b8c2cc", dashed=True))
            body.append(_text(_BAR_X + 6, mid, "no requirements", _CHART_FONT, MUTED_COLOUR))
        done = 0
        for status in statuses:
            count = max(0, counts.get(status, 0))
            if not count:
                continue
            x0 = _BAR_X + _BAR_W * done / total
            x1 = _BAR_X + _BAR_W * (done + count) / total
            done += count
            colour = STATUS_COLOURS.get(status, OTHER_COLOUR)
            body.append(_rect(x0, y, x1 - x0, _BAR_H, colour, "#ffffff", stroke_width=0.6))
            number = str(count)
            if text_width(number, _CHART_FONT, bold=True) + 4 <= x1 - x0:
                ink = STATUS_TEXT_COLOURS.get(status, "#ffffff")
                body.append(_text((x0 + x1) / 2, mid, number, _CHART_FONT, ink, "middle", True))
        body.append(_text(_BAR_X + _BAR_W + 6, mid, str(total), _CHART_FONT, MUTED_COLOUR))
        y += _ROW_H
    y += 4
    legend = [(STATUS_COLOURS.get(s, OTHER_COLOUR), STATUS_LABELS.get(s, s)) for s in statuses]
    x = _BAR_X
    for colour, name in legend:
        item_w = 14 + text_width(name, _CHART_FONT) + 14
        if x + item_w > CHART_WIDTH and x > _BAR_X:
            x = _BAR_X
            y += 14
        body.append(_rect(x, y + 1, 10, 10, colour, "#7f8c8d", stroke_width=0.4))
        body.append(_text(x + 14, y + 9.5, name, _CHART_FONT))
        x += item_w
    height = y + 16
    return _svg(CHART_WIDTH, height, "Requirement status per framework", body)


# --------------------------------------------------------------------------- zone boundary


class PeerGroup(NamedTuple):
    """Peers on one side of a zone boundary, as one box and one arrow of the diagram."""

    label: str
    """`ns/name` (`ns/name[Kind]` when two kinds share it), `ns (n workloads)` when
    workloads are grouped, or the addresses (`0.0.0.0/0, ::/0`)."""
    ports: str
    """Every port any of the group's flows allows, `all ports` or `TCP 443; UDP 53`."""
    flows: int
    covered: bool
    """Every part of every flow is in the approved-flow register (as SEG-11 reads it)."""
    register: str = ""
    """The entries covering the group's flows, each with the ports it covers, then the
    ports no entry covers: `AF-004: TCP 24224; not in register: TCP 443`. Per port range,
    so an entry covering one port is never read as approving the others."""


@dataclass(frozen=True, slots=True)
class ZoneBoundary:
    """The flows that cross one zone's boundary, grouped the way the diagram draws them,
    so the HTML can print the same groups as a table under it."""

    zone: str
    role: str
    members: int
    member_names: tuple[str, ...]
    inbound: tuple[PeerGroup, ...]
    """Peers outside the zone with flows into it."""
    outbound: tuple[PeerGroup, ...]
    """Peers outside the zone that flows from it reach."""
    external: frozenset[str] = field(default_factory=frozenset)
    """Labels of the groups that are addresses outside the cluster."""


@dataclass(slots=True)
class _Acc:
    ports: set[PortSet] = field(default_factory=set)
    flows: int = 0
    covered: bool = True
    cited: dict[str, set[PortSet]] = field(default_factory=dict)
    missing: set[PortSet] = field(default_factory=set)

    def add(self, ports: PortSet, covered: bool, cover: _Cover) -> None:
        self.ports.add(ports)
        self.flows += 1
        self.covered = self.covered and covered
        for ref, part in cover[0]:
            self.cited.setdefault(ref, set()).add(part)
        if cover[1] is not None:
            self.missing.add(cover[1])

    def merge(self, other: _Acc) -> None:
        self.ports |= other.ports
        self.flows += other.flows
        self.covered = self.covered and other.covered
        for ref, parts in other.cited.items():
            self.cited.setdefault(ref, set()).update(parts)
        self.missing |= other.missing

    def register(self) -> str:
        parts = [f"{ref}: {union_all(p).describe()}" for ref, p in sorted(self.cited.items())]
        if self.missing:
            parts.append(f"not in register: {_ports_text(self.missing)}")
        return "; ".join(parts)


_Cover = tuple[tuple[tuple[str, PortSet], ...], PortSet | None]
"""A flow's register entries with the ports each covers, and the ports none covers."""


def _cover(register: Register, flow: Flow) -> _Cover:
    covering = register.covering(flow)
    if not covering:
        return (), flow.connections
    cited = tuple(
        (e.ref, e.ports & flow.connections) for e in covering if e.ports & flow.connections
    )
    rest = union_all(ports for _, ports in register.uncovered(flow))
    return cited, rest if rest else None


def _named_cover(register: Register, flow: NamedFlow) -> _Cover:
    """`_cover` for egress to admin `domainNames`: entries cited as approving by name."""
    cited = tuple(
        (f"{e.ref} (by name)", e.ports & flow.connections)
        for e in register.covering_named(flow)
        if e.ports & flow.connections
    )
    rest = union_all(ports for _, ports in register.uncovered_named(flow))
    return cited, rest if rest else None


NAMED_LABEL = "{} (domain names, never resolved)"
"""A boundary group of egress to admin `domainNames`: the names as the rule spells them."""


def _ports_text(ports: Iterable[PortSet]) -> str:
    merged = union_all(ports)
    return "all ports" if merged.is_all() else merged.describe()


def _groups(
    side: Mapping[Endpoint | ExternalName, _Acc],
) -> tuple[tuple[PeerGroup, ...], set[str]]:
    """Peers one by one when they fit the drawing, else workloads by namespace: exact
    when it can be, readable when it cannot. Address sets come first and stay apart:
    they are the exposure to outside the cluster, few, and must not disappear into the
    `+ k more` box; named destinations (admin `domainNames`) follow them for the same
    reason. Then workloads by namespace and name."""
    workloads = sorted(p for p in side if isinstance(p, WorkloadRef))
    addresses = sorted(
        (p for p in side if isinstance(p, External)),
        key=lambda e: (e.addresses.v4, e.addresses.v6),
    )
    out: list[PeerGroup] = []
    external: set[str] = set()
    for e in addresses:
        acc = side[e]
        label = str(e)
        external.add(label)
        out.append(_group(label, acc))
    for n in sorted(p for p in side if isinstance(p, ExternalName)):
        label = NAMED_LABEL.format(", ".join(n.names))
        external.add(label)
        out.append(_group(label, side[n]))
    if len(side) <= MAX_PEER_GROUPS:
        ids = [w.id for w in workloads]
        for w in workloads:
            acc = side[w]
            label = str(w) if ids.count(w.id) > 1 else w.id
            out.append(_group(label, acc))
    else:
        by_ns: dict[str, tuple[list[WorkloadRef], _Acc]] = {}
        for w in workloads:
            refs, acc = by_ns.setdefault(w.namespace, ([], _Acc()))
            refs.append(w)
            acc.merge(side[w])
        for ns, (refs, acc) in by_ns.items():
            label = refs[0].id if len(refs) == 1 else f"{ns} ({len(refs)} workloads)"
            out.append(_group(label, acc))
    return tuple(out), external


def _group(label: str, acc: _Acc) -> PeerGroup:
    return PeerGroup(label, _ports_text(acc.ports), acc.flows, acc.covered, acc.register())


def _scan(ev: Evaluation, wanted: Sequence[str]) -> dict[str, ZoneBoundary]:
    """One pass over the flows for every wanted zone: large clusters have hundreds of
    thousands of flows, and most touch no zone at all."""
    zones_of = ev.placement.zones_of
    register = ev.register
    none: frozenset[str] = frozenset()
    wanted_set = frozenset(wanted)
    inbound: dict[str, dict[Endpoint | ExternalName, _Acc]] = {z: {} for z in wanted}
    outbound: dict[str, dict[Endpoint | ExternalName, _Acc]] = {z: {} for z in wanted}
    for f in ev.graph.flows:
        src, dst = f.src, f.dst
        zs = zones_of.get(src, none) if isinstance(src, WorkloadRef) else none
        zd = zones_of.get(dst, none) if isinstance(dst, WorkloadRef) else none
        if zs == zd:  # outside every zone, or inside the same ones
            continue
        leaving = (zs - zd) & wanted_set
        entering = (zd - zs) & wanted_set
        if not (leaving or entering):
            continue
        covered = bool(register.covering(f)) and not register.uncovered(f)
        cover = _cover(register, f)
        for z in leaving:
            acc = outbound[z].get(dst)
            if acc is None:
                acc = outbound[z][dst] = _Acc()
            acc.add(f.connections, covered, cover)
        for z in entering:
            acc = inbound[z].get(src)
            if acc is None:
                acc = inbound[z][src] = _Acc()
            acc.add(f.connections, covered, cover)
    for n in ev.graph.named_flows:  # egress to admin `domainNames` always leaves the zone
        for z in zones_of.get(n.src, none) & wanted_set:
            named_cover = _named_cover(register, n)
            acc = outbound[z].get(n.dst)
            if acc is None:
                acc = outbound[z][n.dst] = _Acc()
            acc.add(n.connections, named_cover[1] is None, named_cover)
    roles = {z.name: z.role for z in ev.scope.zones}
    members: dict[str, list[str]] = {z: [] for z in wanted}
    for ref, zones in zones_of.items():
        for z in zones & wanted_set:
            members[z].append(ref.id)
    out = {}
    for z in wanted:
        ins, ext_in = _groups(inbound[z])
        outs, ext_out = _groups(outbound[z])
        names = sorted(members[z])
        out[z] = ZoneBoundary(
            zone=z,
            role=roles.get(z, ""),
            members=len(names),
            member_names=tuple(names),
            inbound=ins,
            outbound=outs,
            external=frozenset(ext_in | ext_out),
        )
    return out


def zone_boundaries(ev: Evaluation) -> dict[str, ZoneBoundary]:
    """Every zone of the scope, in scope order, from a single pass over the flows."""
    return _scan(ev, [z.name for z in ev.scope.zones])


def zone_boundary_summary(ev: Evaluation, zone: str) -> ZoneBoundary:
    """One zone. A name the scope does not have is an error, not an empty drawing: an
    empty boundary would read as "nothing crosses it"."""
    if zone not in {z.name for z in ev.scope.zones}:
        raise ValueError(f"no zone {zone!r} in {ev.scope.source}")
    return _scan(ev, [zone])[zone]


# --------------------------------------------------------------------------- zone diagram

ZONE_WIDTH = 720.0
_COL_W = 196.0
_LEFT_X = 4.0
_MID_X = 262.0
_RIGHT_X = 520.0
_TOP = 22.0
_PEER_H = 26.0
_PEER_PITCH = 32.0
_NAME_FONT = 8.5
_SMALL_FONT = 7.5
_MEMBER_PITCH = 11.0


def zone_diagram_svg(ev: Evaluation, zone: str, boundary: ZoneBoundary | None = None) -> str:
    """The zone in the middle, peers sending into it on the left, peers it reaches on the
    right, every arrow pointing the way the connections open. `boundary` saves the pass
    over the flows when the caller has `zone_boundaries` already."""
    b = boundary if boundary is not None else zone_boundary_summary(ev, zone)
    return boundary_svg(b)


def boundary_svg(b: ZoneBoundary) -> str:
    """The drawing from the groups alone, for callers that print the same groups as a
    table: one pass over the flows serves both."""
    body: list[str] = []
    body.append(
        _text(_LEFT_X, 12, "Flows into the zone from outside it", 8, MUTED_COLOUR, bold=True)
    )
    body.append(
        _text(_RIGHT_X, 12, "Flows from the zone to outside it", 8, MUTED_COLOUR, bold=True)
    )
    left = _rows(b.inbound, b.external)
    right = _rows(b.outbound, b.external)
    lines = _member_lines(b)
    zone_h = 44 + len(lines) * _MEMBER_PITCH
    span_l = len(left) * _PEER_PITCH - (_PEER_PITCH - _PEER_H)
    span_r = len(right) * _PEER_PITCH - (_PEER_PITCH - _PEER_H)
    height = max(zone_h, span_l, span_r, 60.0)

    body.append(_rect(_MID_X, _TOP, _COL_W, height, "#eaf2f8", "#1f618d", 4, stroke_width=1.5))
    body.append(
        _text(_MID_X + 8, _TOP + 15, fit(b.zone, 10, _COL_W - 16, bold=True), 10, bold=True)
    )
    noun = "workload" if b.members == 1 else "workloads"
    sub = fit(f"zone role {b.role} · {b.members} {noun}", _SMALL_FONT, _COL_W - 16)
    body.append(_text(_MID_X + 8, _TOP + 27, sub, _SMALL_FONT, MUTED_COLOUR))
    body.append(
        f'<line x1="{_n(_MID_X + 6)}" y1="{_n(_TOP + 33)}" x2="{_n(_MID_X + _COL_W - 6)}" '
        f'y2="{_n(_TOP + 33)}" stroke="#a9cce3" stroke-width="0.8"/>'
    )
    for i, (line, muted) in enumerate(lines):
        y = _TOP + 44 + i * _MEMBER_PITCH
        ink = MUTED_COLOUR if muted else TEXT_COLOUR
        body.append(_text(_MID_X + 8, y, line, _NAME_FONT, ink, italic=muted))

    for x, rows, arrow_from, arrow_to, empty in (
        (_LEFT_X, left, _LEFT_X + _COL_W, _MID_X, "nothing outside the zone reaches it"),
        (_RIGHT_X, right, _MID_X + _COL_W, _RIGHT_X, "the zone reaches nothing outside it"),
    ):
        span = len(rows) * _PEER_PITCH - (_PEER_PITCH - _PEER_H)
        y0 = _TOP + (height - span) / 2
        if not rows:
            body.append(
                _text(x + _COL_W / 2, _TOP + height / 2, empty, _SMALL_FONT, MUTED_COLOUR, "middle")
            )
        for i, row in enumerate(rows):
            y = y0 + i * _PEER_PITCH
            body.extend(_peer_box(x, y, row))
            body.extend(_arrow(arrow_from, arrow_to, y + _PEER_H / 2, row.covered))

    legend, bottom = _legend(_TOP + height + 12)
    body.extend(legend)
    total_h = bottom + 4
    return _svg(ZONE_WIDTH, total_h, f"Flows across the boundary of zone {b.zone}", body)


class _Row(NamedTuple):
    title: str
    ports: str
    suffix: str
    """Kept whole when the ports are cut: `· 3 flows`."""
    covered: bool
    style: str  # "workload" | "external" | "more"


def _flows(n: int) -> str:
    return f"{n} flow{'s' if n != 1 else ''}"


def _rows(groups: Sequence[PeerGroup], external: frozenset[str]) -> list[_Row]:
    rows = [
        _Row(
            g.label,
            g.ports,
            f" · {_flows(g.flows)}",
            g.covered,
            "external" if g.label in external else "workload",
        )
        for g in groups[:MAX_PEER_GROUPS]
    ]
    rest = groups[MAX_PEER_GROUPS:]
    if rest:
        flows = sum(g.flows for g in rest)
        covered = all(g.covered for g in rest)
        rows.append(_Row(f"+ {len(rest)} more peer groups", "", _flows(flows), covered, "more"))
    return rows


def _member_lines(b: ZoneBoundary) -> list[tuple[str, bool]]:
    if not b.member_names:
        return [("no workload of the export", True)]
    names = list(b.member_names)
    if len(names) > MAX_MEMBER_LINES:
        more = len(names) - (MAX_MEMBER_LINES - 1)
        lines = [(fit(n, _NAME_FONT, _COL_W - 16), False) for n in names[: MAX_MEMBER_LINES - 1]]
        return [*lines, (f"+ {more} more workload{'s' if more != 1 else ''}", True)]
    return [(fit(n, _NAME_FONT, _COL_W - 16), False) for n in names]


def _peer_box(x: float, y: float, row: _Row) -> list[str]:
    stroke = COVERED_COLOUR if row.covered else UNCOVERED_COLOUR
    if row.style == "external":
        shape = _rect(x, y, _COL_W, _PEER_H, "#ffffff", stroke, 12, not row.covered)
        pad = 10.0
    elif row.style == "more":
        shape = _rect(x, y, _COL_W, _PEER_H, "#ffffff", "#95a5a6", 2, True)
        pad = 6.0
    else:
        shape = _rect(x, y, _COL_W, _PEER_H, "#f4f6f7", stroke, 2, not row.covered)
        pad = 6.0
    inner = _COL_W - 2 * pad
    title = fit(row.title, _NAME_FONT, inner)
    room = inner - text_width(row.suffix, _SMALL_FONT)
    ports = fit(row.ports, _SMALL_FONT, room, limit=MAX_PORT_CHARS) if row.ports else ""
    detail = ports + row.suffix
    return [
        shape,
        _text(x + pad, y + 11, title, _NAME_FONT, italic=row.style == "more"),
        _text(x + pad, y + 21.5, detail, _SMALL_FONT, MUTED_COLOUR),
    ]


def _arrow(x1: float, x2: float, y: float, covered: bool) -> list[str]:
    colour = COVERED_COLOUR if covered else UNCOVERED_COLOUR
    dash = "" if covered else ' stroke-dasharray="4 2.5"'
    return [
        f'<line x1="{_n(x1)}" y1="{_n(y)}" x2="{_n(x2 - 6)}" y2="{_n(y)}" '
        f'stroke="{colour}" stroke-width="1.4"{dash}/>',
        f'<polygon points="{_n(x2)},{_n(y)} {_n(x2 - 7)},{_n(y - 3.5)} '
        f'{_n(x2 - 7)},{_n(y + 3.5)}" fill="{colour}"/>',
    ]


def _legend(y: float) -> tuple[list[str], float]:
    """The legend's elements and the y where it ends."""
    out: list[str] = []
    items = (
        ("arrow", True, "every flow in the approved-flow register"),
        ("arrow", False, "some flows or ports not in the register"),
        ("box", True, "workloads (one, or a namespace's)"),
        ("pill", True, "addresses outside the cluster"),
    )
    x = _LEFT_X
    row_y = y
    for kind, covered, text in items:
        width = 30 + text_width(text, _SMALL_FONT) + 16
        if x + width > ZONE_WIDTH and x > _LEFT_X:
            x = _LEFT_X
            row_y += 14
        if kind == "arrow":
            out.extend(_arrow(x, x + 24, row_y + 5, covered))
        elif kind == "box":
            out.append(_rect(x + 1, row_y, 22, 10, "#f4f6f7", COVERED_COLOUR, 1))
        else:
            out.append(_rect(x + 1, row_y, 22, 10, "#ffffff", COVERED_COLOUR, 5))
        out.append(_text(x + 30, row_y + 8, text, _SMALL_FONT, MUTED_COLOUR))
        x += width
    return out, row_y + 12


# --------------------------------------------------------------------------- trend chart

_TREND_PANEL_H = 100.0
_TREND_PLOT_X = 60.0
_TREND_PLOT_W = 600.0
_TREND_PLOT_H = 56.0
_TREND_PAD = 24.0
_TREND_PAD_Y = 8.0


def _polyline(points: Sequence[tuple[float, float]], colour: str) -> str:
    coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    return f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.6"/>'


def _dot(x: float, y: float, colour: str) -> str:
    return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="2.6" fill="{colour}"/>'


def trend_chart_svg(series: Sequence[tuple[str, Sequence[tuple[str, int, int]]]]) -> str:
    """One panel per framework: its failing and passing requirement counts in each pack,
    oldest on the left, every point labelled with its number. `series` is (framework
    label, [(as-of date, fail, pass), ...]); the labels come from control files and are
    escaped like every other text here."""
    fail_colour, pass_colour = STATUS_COLOURS["fail"], STATUS_COLOURS["pass"]
    body: list[str] = []
    y = 4.0
    if not series:
        body.append(_text(4, y + 11, "No framework was evaluated.", _CHART_FONT, MUTED_COLOUR))
        y += _ROW_H
    for label, points in series:
        body.append(_text(4, y + 11, fit(label, 10, CHART_WIDTH - 8, True, 90), 10, bold=True))
        top = y + 24
        bottom = top + _TREND_PLOT_H
        body.append(_rect(_TREND_PLOT_X, top, _TREND_PLOT_W, _TREND_PLOT_H, "#ffffff", "#b8c2cc"))
        peak = max([1, *(max(f, p) for _, f, p in points)])
        inner = _TREND_PLOT_W - 2 * _TREND_PAD
        step = inner / (len(points) - 1) if len(points) > 1 else 0.0
        xs = [
            _TREND_PLOT_X + _TREND_PAD + (i * step if len(points) > 1 else inner / 2)
            for i in range(len(points))
        ]

        def at(value: int, top: float = top, peak: int = peak) -> float:
            return top + _TREND_PAD_Y + (_TREND_PLOT_H - 2 * _TREND_PAD_Y) * (1 - value / peak)

        body.append(
            _text(_TREND_PLOT_X - 4, at(peak) + 3, str(peak), _CHART_FONT, MUTED_COLOUR, "end")
        )
        body.append(_text(_TREND_PLOT_X - 4, at(0) + 3, "0", _CHART_FONT, MUTED_COLOUR, "end"))
        for index, colour in ((1, fail_colour), (2, pass_colour)):
            line = [(x, at(int(p[index]))) for x, p in zip(xs, points, strict=True)]
            if len(line) > 1:
                body.append(_polyline(line, colour))
            for (x, py), p in zip(line, points, strict=True):
                body.append(_dot(x, py, colour))
                body.append(_text(x + 4, py - 3, str(p[index]), _CHART_FONT, colour))
        for x, p in zip(xs, points, strict=True):
            body.append(_text(x, bottom + 12, p[0], _CHART_FONT, MUTED_COLOUR, "middle"))
        y += _TREND_PANEL_H
    legend_y = y + 2
    for i, (colour, name) in enumerate(((fail_colour, "fail"), (pass_colour, "pass"))):
        x = _TREND_PLOT_X + i * 80
        body.append(_rect(x, legend_y + 1, 10, 10, colour, "#7f8c8d", stroke_width=0.4))
        body.append(_text(x + 14, legend_y + 9.5, f"{name}", _CHART_FONT))
    return _svg(CHART_WIDTH, legend_y + 16, "Failing and passing requirements per framework", body)
