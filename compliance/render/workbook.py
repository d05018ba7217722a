"""`evidence.xlsx`: the evaluation as sheets an auditor filters, sorts and samples.

The sheets mirror the results JSON (same fields, same wording, snake_case headers
named after its keys) so the two never tell different stories.

Statuses are written as the machine words (`fail`, `pass`, `not_applicable`, ...), not
as `STATUS_LABELS`: filters, pivots and formulas built on them keep working whatever
the labels become. The colour of a status cell carries the meaning for readers
(`STATUS_FILLS`), and the Summary sheet ends with a legend pairing each word with its
label and colour.

Every text comes from a cluster export or a scope file and is data, never a formula:
texts are stored as strings even when they start with `=`, `+`, `-`, `@` or `#`
(openpyxl would make `=...` a formula and `#N/A` an error). Characters XML cannot hold
are replaced by visible escapes (`\\x07`) instead of failing the whole pack, and
carriage returns are stored as character references, which XML readers do not
normalise to line feeds.

The bytes are a function of the evaluation: the document's dates are `--as-of`, every
zip entry carries `--as-of` as its timestamp, and nothing reads the clock.

Flows reach a million rows on large clusters and openpyxl serialises about ten
thousand rows a second. So openpyxl builds the workbook, its styles, every sheet's
frame (header, panes, widths, filter) and the small sheets; the rows of the sheets
that grow with the cluster are written by `_Bulk` as the same XML openpyxl would
write, and spliced into their frames when the zip is written. Both paths clean text
with `_clean`, and the bulk one can only write strings, numbers and booleans.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import html
import itertools
import re
import shutil
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, BinaryIO, NamedTuple

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.writer.excel import ExcelWriter

from compliance import __version__
from compliance.checks.base import finding_id
from compliance.controls import Requirement
from compliance.evaluate import REQUIREMENT_STATUSES, Evaluation, waiver_active
from compliance.flows import Endpoint
from compliance.model import WorkloadRef
from compliance.ports import PortSet
from compliance.render.changes import Zones, port_rows
from compliance.render.enforcement import observed_rows, probe_rows
from compliance.render.evidence import (
    NOT_IN_REGISTER,
    STATUS_LABELS,
    input_rows,
    named_register_text,
    policy_rows,
    register_text,
)
from compliance.render.flows import FlowTexts
from compliance.render.results import (
    TOOL_NAME,
    as_of_text,
    out_of_scope,
    requirement_ids,
    zoned_flows,
    zoned_named_flows,
)
from compliance.text import visible

if TYPE_CHECKING:
    from _typeshed import SizedBuffer
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
    from openpyxl.worksheet.dimensions import ColumnDimension, DimensionHolder
    from openpyxl.worksheet.filters import AutoFilter

STATUS_FILLS = {
    "fail": "FFC7CE",
    "pass": "C6EFCE",
    "warn": "FFEB9C",
    "unknown": "FFEB9C",
    "waived": "DDEBF7",
    "supported": "D3EEEA",
    "manual": "D9D9D9",
    "not_applicable": "D9D9D9",
}
"""Fill colour (RGB) of a status cell; a status not listed is left unfilled."""

SUMMARY_STATUSES = REQUIREMENT_STATUSES

ASSESSOR_RESULTS = ("In Place", "Not in Place", "Not Applicable", "Not Tested")
"""What the assessor may enter in the Requirements sheet's `assessor_result` column: the
tool never fills it, so the assessor's conclusion stays apart from the tool's."""

WIDTH_SAMPLE_ROWS = 200
"""Rows (after the header) that decide the column widths: enough to be representative,
few enough that a million-row sheet is not read twice."""
MIN_WIDTH = 8
MAX_WIDTH = 60
MAX_CELL_TEXT = 32767
"""Excel's limit on one cell's text."""
TRUNCATED = " [truncated]"
SPOOL_BYTES = 16 * 2**20
"""Bulk sheet bodies up to this size stay in memory; larger ones go to a temporary file."""
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
"""The earliest timestamp a zip entry can carry."""


class Styled(NamedTuple):
    """A cell that needs a style: a header (`style="header"`) or a status word (the style
    is the status, which picks the fill)."""

    value: str
    style: str


Value = str | int | bool | None | Styled
Row = Sequence[Value]
Rows = Callable[[Evaluation, str | None], Iterable[Row]]


def _status(word: str) -> Styled:
    return Styled(word, word)


# --------------------------------------------------------------------------- text safety

_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _clean(text: str) -> str:
    """Text a cell can hold: visible escapes for what XML cannot carry, and a visible mark
    where Excel's cell limit cuts it (openpyxl would fail, or cut silently)."""
    text = visible(text, keep_newlines=True)
    if _NOT_XML.search(text):
        text = _NOT_XML.sub(_escape, text)
    if len(text) > MAX_CELL_TEXT:
        text = text[: MAX_CELL_TEXT - len(TRUNCATED)] + TRUNCATED
    return text


# --------------------------------------------------------------------------- rows


def _summary_rows(ev: Evaluation, digest: str | None) -> Iterator[Row]:
    """The frameworks' table first (what the filter covers), then the facts of the run and
    the status legend, each below a blank row and its own bold header."""
    for fw in ev.frameworks:
        counts = fw.status_counts
        yield (
            fw.framework.id,
            fw.framework.title,
            fw.framework.version,
            len(fw.in_scope),
            *(counts.get(s, 0) for s in SUMMARY_STATUSES),
        )
    yield ()
    yield (Styled("fact", "header"), Styled("value", "header"))
    yield ("cluster", ev.scope.cluster)
    yield ("as_of", as_of_text(ev))
    yield ("tool", TOOL_NAME)
    yield ("tool_version", __version__)
    yield ("enforcement_status", _status(ev.enforcement.status))
    yield ("enforcement_qualifier", ev.enforcement.qualifier)
    yield ("enforcement_statement", ev.enforcement.statement)
    if digest is not None:
        yield ("pack_digest", digest)
    yield ()
    yield (Styled("status", "header"), Styled("label", "header"))
    for word in SUMMARY_STATUSES:
        yield (_status(word), STATUS_LABELS[word])


def _designation(req: Requirement) -> str:
    """HIPAA's standard / required / addressable; `proposed` (never counted) for rule-making
    not yet in force; `in force` for frameworks that designate nothing."""
    if req.proposed:
        return "proposed (not counted)"
    return req.designation or "in force"


def _requirement_rows(ev: Evaluation, _digest: str | None) -> Iterator[Row]:
    for fw in ev.frameworks:
        checks = {c.id: c for c in fw.checks}
        for r in fw.requirements:
            req = r.requirement
            yield (
                fw.framework.id,
                req.id,
                req.title,
                req.automation,
                _designation(req),
                req.applicability,
                _status(r.status),
                r.reason or None,
                ", ".join(f"{c} {checks[c].status}" for c in req.checks),
                "; ".join(req.evidence),
                req.intent,
                None,
                None,
            )


def _check_rows(ev: Evaluation, _digest: str | None) -> Iterator[Row]:
    for fw in ev.frameworks:
        for c in fw.checks:
            counts = Counter(f.status for f in c.findings)
            yield (
                fw.framework.id,
                c.id,
                c.title,
                _status(c.status),
                c.summary,
                c.enforcement,
                counts["fail"],
                counts["warn"],
                counts["waived"],
            )


def _wrap(text: str | None) -> Styled | None:
    """Long text (messages, remediation YAML, lists) in a cell that wraps its lines."""
    return Styled(text, "wrap") if text else None


def _finding_rows(ev: Evaluation, _digest: str | None) -> Iterator[Row]:
    """One row per finding and framework. Peers and rules are one per line in their cell
    (peer texts hold commas themselves); the finding ID is the same in every framework
    and every run, so an auditor's sample can cite it."""
    for fw in ev.frameworks:
        for c in fw.checks:
            requirements = ", ".join(requirement_ids(fw, c.id))
            for fr in c.findings:
                f = fr.finding
                yield (
                    finding_id(c.id, f),
                    fw.framework.id,
                    requirements,
                    c.id,
                    _status(fr.status),
                    f.workload.id if f.workload else None,
                    f.workload.kind if f.workload else None,
                    f.scope_namespace,
                    f.direction,
                    _wrap("\n".join(f.peer_list)),
                    f.ports,
                    _wrap("\n".join(f.policies)),
                    _wrap(f.message),
                    _wrap(f.remediation.rstrip("\n")),
                    fr.waived_by,
                )


def _register_rows(ev: Evaluation, _digest: str | None) -> Iterator[Row]:
    """Every approved-flow entry, with its status at the as-of time and how many of the
    flows touching a zone it covers some part of (an active entry covering none is a
    candidate for removal)."""
    used: Counter[str] = Counter()
    for flow in zoned_flows(ev):
        for e in ev.register.covering(flow):
            used[e.ref] += 1
    for named in zoned_named_flows(ev):
        for e in ev.register.covering_named(named):
            used[e.ref] += 1
    for e in ev.scope.approved_flows:
        active = e.active(ev.as_of)
        yield (
            e.ref,
            e.src.text,
            e.dst.text,
            e.ports.describe(),
            _wrap(e.justification),
            e.owner,
            e.ticket,
            e.approved_by,
            e.expires.isoformat(),
            Styled("active", "pass") if active else Styled("expired", "fail"),
            e.security_feature,
            used[e.ref] if active else 0,
        )


def _waiver_rows(ev: Evaluation, _digest: str | None) -> Iterator[Row]:
    """Every waiver, whether it applies at the as-of time, and the findings it waives."""
    waived: Counter[str] = Counter()
    for fw in ev.frameworks:
        for c in fw.checks:
            for fr in c.findings:
                if fr.waived_by:
                    waived[fr.waived_by] += 1
    limit = ev.scope.parameters.max_waiver_days
    for w in ev.scope.waivers:
        applies = waiver_active(w, ev.as_of, limit)
        today = ev.as_of.date()
        state = (
            "active"
            if applies
            else "expired"
            if w.expires < today
            else f"runs longer than {limit} days"
        )
        yield (
            w.ref,
            w.check,
            w.target(),
            _wrap(w.reason),
            _wrap(w.compensating_control),
            w.owner,
            w.approved_by,
            w.ticket,
            w.expires.isoformat(),
            state,
            waived[w.ref],
        )


def _matrix_rows(ev: Evaluation, _digest: str | None) -> Iterator[Row]:
    """Each zone-to-zone cell holding flows, with the intended ports where the scope file
    states them and what goes beyond them."""
    m = ev.zone_matrix()
    intended = {(p.src, p.dst): p for p in ev.scope.zone_policy}
    for src in m.names:
        for dst in m.names:
            cell = m.cell(src, dst)
            if cell is None:
                continue
            stated = intended.get((src, dst))
            excess = cell.ports - stated.allow if stated is not None else None
            yield (
                src,
                dst,
                _wrap(cell.ports_text),
                cell.flows,
                cell.register,
                stated.text if stated is not None else None,
                (excess.describe() if excess else "none") if excess is not None else None,
            )


def _port_rows(ports: PortSet) -> tuple[tuple[str, int, int], ...]:
    """One (protocol, from, to) per range; "all" is every port of every protocol, which
    `items()` already spells out, so a filter on protocol or port finds it too."""
    return tuple((proto, lo, hi) for proto, ranges in ports.items() for lo, hi in ranges)


NAMED_KIND = "domain names, never resolved"
"""The Flows sheet's destination_kind for egress an admin rule allows to `domainNames`:
the destination column holds the names as the rule spells them, not addresses."""


def _flow_rows(ev: Evaluation, _digest: str | None) -> Iterator[Row]:
    """One row per port range of every flow touching a zone, then of the egress from a
    zone to admin `domainNames` (destination_kind says so); every text is computed once
    per endpoint, side or register match, as clusters repeat them all hundreds of
    thousands of times."""
    texts = FlowTexts()

    @functools.cache
    def end(e: Endpoint) -> tuple[str, str | None, str | None]:
        if isinstance(e, WorkloadRef):
            return e.id, e.kind, ", ".join(sorted(ev.placement.zones(e))) or None
        return texts.endpoint(e), None, None

    port_rows = functools.cache(_port_rows)
    port_set = functools.cache(PortSet.of)
    for flow in zoned_flows(ev):
        head = end(flow.src) + end(flow.dst)
        sides = (texts.side(flow.egress), texts.side(flow.ingress))
        approved = bool(ev.register.covering(flow))
        for ports in port_rows(flow.connections):
            # Each row names only the entries that cover its own port range.
            register = (
                register_text(ev.register, flow, port_set(*ports))[0]
                if approved
                else NOT_IN_REGISTER
            )
            yield (*head, *ports, *sides, register)
    for named in zoned_named_flows(ev):
        head = (*end(named.src), ", ".join(named.dst.names), NAMED_KIND, None)
        sides = (texts.side(named.egress), texts.side(named.ingress))
        for ports in port_rows(named.connections):
            register = named_register_text(ev, named, port_set(*ports))[0]
            yield (*head, *ports, *sides, register)


def _workload_rows(ev: Evaluation, _digest: str | None) -> Iterator[Row]:
    """Every workload of the export, in scope or not: an assessor tests the scope for
    completeness by filtering `in_scope` and reading `scope_reason`."""
    frameworks_of: dict[WorkloadRef, list[str]] = {}
    for fw in ev.frameworks:
        for ref in fw.in_scope:
            frameworks_of.setdefault(ref, []).append(fw.framework.id)
    reasons = {o.ref: o for o in out_of_scope(ev)}
    for w in ev.cluster.workloads:
        zones = ev.placement.zones(w.ref)
        iso = ev.graph.isolation[w.ref]
        out = reasons.get(w.ref)
        yield (
            w.ref.id,
            w.ref.kind,
            w.ref in frameworks_of,
            out.text if out else None,
            ", ".join(sorted(zones)),
            ", ".join(frameworks_of.get(w.ref, [])),
            iso.ingress,
            iso.egress,
            w.host_network,
            "; ".join(iso.ingress_policies),
            "; ".join(iso.egress_policies),
        )


def _policy_rows(ev: Evaluation, _digest: str | None) -> Iterator[Row]:
    for p in policy_rows(ev):
        yield (
            p.namespace,
            p.name,
            p.policy_types,
            p.ingress_rules,
            p.egress_rules,
            p.selects,
            p.source,
            p.sha256,
        )


def _input_rows(ev: Evaluation, _digest: str | None) -> Iterator[Row]:
    for i in input_rows(ev):
        yield (i.role, i.path, i.sha256, i.size)


def _probe_rows(ev: Evaluation, _digest: str | None) -> Iterator[Row]:
    for r in probe_rows(ev):
        yield (
            r["id"],
            r["src"],
            r["dst"],
            r["protocol"],
            r["port"],
            r["expected"],
            r["observed"] or "no result",
            r["mismatch"] or "",
            r["detail"],
            _wrap("\n".join(r["rules"]) or "no rule allows it"),
        )


def _observed_rows(ev: Evaluation, _digest: str | None) -> Iterator[Row]:
    for r in observed_rows(ev):
        policy = r["allowed_by_policy"]
        yield (
            r["src"],
            r["dst"],
            r["protocol"],
            r["port"],
            r["verdict"],
            "not judged" if policy is None else ("allow" if policy else "deny"),
            r["count"],
            r["first"],
            r["last"],
            r["where"],
        )


CHANGE_ITEMS = "item change name summary detail sha256_before sha256_now"
"""The header of the Changes sheet's second block: every change that is not a flow."""


def _change_rows(ev: Evaluation, _digest: str | None) -> Iterator[Row]:
    """The diff against the baseline: one row per changed flow touching a zone and port
    range (the filtered table), then, below a blank row and its own header, the baseline,
    the zone verdicts and every other change, one row each."""
    doc = ev.changes
    if doc is None:
        return
    zones = Zones(doc, ev)
    for f in doc["flows"]["touching_zones"]:
        head = (f["src"], f["dst"], zones.text(f) or None)
        tail = (
            f["ports_now"],
            f["ports_before"],
            _wrap("\n".join(f["rules_now"])),
            _wrap("\n".join(f["rules_before"])),
        )
        for kind, proto, lo, hi in port_rows(f):
            yield (kind, *head, proto, lo, hi, *tail)
    yield ()
    yield tuple(Styled(h, "header") for h in CHANGE_ITEMS.split())
    old = doc["old"]
    yield ("baseline", None, old["source"], f"as of {old['as_of']}", old["digest"], None, None)
    for note in doc["notes"]:
        yield ("note", None, None, note, None, None, None)
    for z in doc["zones"]:
        yield ("zone", z["verdict"], z["zone"], z["note"], _wrap("\n".join(z["flows"])))
    other = doc["flows"]["other_changes"]
    yield ("flows", "changed", "no zone at either end", f"{other} (counted, not listed)")
    for p in doc["policies"]:
        effect = [f"adds {x}" for x in p["flows_added"]]
        effect += [f"removes {x}" for x in p["flows_removed"]]
        yield (
            "policy",
            p["change"],
            p["policy"],
            p["effect"],
            _wrap("\n".join(effect)),
            p["sha256_before"],
            p["sha256_now"],
        )
    for w in doc["workloads"]:
        moves = [f"entered {', '.join(w['entered'])}"] if w["entered"] else []
        moves += [f"left {', '.join(w['left'])}"] if w["left"] else []
        yield ("workload", w["change"], w["workload"], "; ".join(moves) or None)
    for r in doc["requirements"]:
        before, now = r["before"] or "not evaluated", r["now"] or "not evaluated"
        name = f"{r['framework']} {r['requirement']}"
        yield ("requirement", "status", name, f"{before} -> {now}")
    for label in ("new", "resolved"):
        for f in doc["findings"][label]:
            who = f["workload"] or "cluster"
            status = f["status"] if label == "new" else f"was {f['status']}"
            yield ("finding", label, f["id"], f"{status}: {who}", _wrap(f["message"]))
    still = len(doc["findings"]["still_open"])
    yield ("finding", "still open", None, f"{still} (sheet Findings has them)")
    for key, item in (("register", "register entry"), ("waivers", "waiver")):
        for label in ("added", "removed", "expired"):
            for ref in doc[key][label]:
                yield (item, label, ref)


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    columns: str
    """The header row, space-separated: the results JSON's field names."""
    rows: Rows
    bulk: bool = False
    """Rows written by `_Bulk` rather than openpyxl: the sheets that grow with the
    cluster (a million flows, tens of thousands of findings, workloads and policies)."""
    validations: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Columns whose cells offer a list to pick from (the assessor's own result)."""

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(self.columns.split())


SHEETS = (
    Sheet(
        "Summary",
        "framework title version in_scope_workloads " + " ".join(SUMMARY_STATUSES),
        _summary_rows,
    ),
    Sheet(
        "Requirements",
        "framework requirement title automation designation applicability status "
        "status_reason checks evidence intent assessor_result assessor_notes",
        _requirement_rows,
        validations=(("assessor_result", ASSESSOR_RESULTS),),
    ),
    Sheet(
        "Checks",
        "framework check title status summary enforcement "
        "fail_findings warn_findings waived_findings",
        _check_rows,
    ),
    Sheet(
        "Findings",
        "finding_id framework requirements check status workload kind namespace direction "
        "peers ports policies message remediation waived_by",
        _finding_rows,
        bulk=True,
    ),
    Sheet(
        "Register",
        "id from to ports justification owner ticket approved_by expires status "
        "security_feature flows_covered",
        _register_rows,
    ),
    Sheet(
        "Waivers",
        "id check applies_to reason compensating_control owner approved_by ticket expires "
        "state findings_waived",
        _waiver_rows,
    ),
    Sheet(
        "Zone matrix",
        "from to ports flows register intended beyond_intended",
        _matrix_rows,
    ),
    Sheet(
        "Flows",
        "source source_kind source_zones destination destination_kind destination_zones "
        "protocol port_from port_to egress_allowed_by ingress_allowed_by register",
        _flow_rows,
        bulk=True,
    ),
    Sheet(
        "Workloads",
        "workload kind in_scope scope_reason zones frameworks ingress_isolated egress_isolated "
        "host_network ingress_policies egress_policies",
        _workload_rows,
        bulk=True,
    ),
    Sheet(
        "Policies",
        "namespace name policy_types ingress_rules egress_rules workloads_selected source sha256",
        _policy_rows,
        bulk=True,
    ),
    Sheet("Inputs", "role path sha256 size", _input_rows),
)
CHANGES = Sheet(
    "Changes",
    "change source destination zones protocol port_from port_to ports_now ports_before "
    "rules_now rules_before",
    _change_rows,
    bulk=True,
)
PROBES = Sheet(
    "Probes",
    "id source destination protocol port expected observed mismatch detail deciding_rules",
    _probe_rows,
)
OBSERVED = Sheet(
    "Observed flows",
    "source destination protocol port log_verdict policies records first_seen last_seen "
    "first_record",
    _observed_rows,
    bulk=True,
)


def sheets_for(ev: Evaluation) -> tuple[Sheet, ...]:
    """Every sheet, with Changes after the Summary when the evaluation was compared with a
    baseline, and Probes and Observed flows when it had such evidence."""
    extra = []
    if ev.evidence.probes is not None:
        extra.append(PROBES)
    if ev.evidence.observed is not None:
        extra.append(OBSERVED)
    first, rest = SHEETS[:1], SHEETS[1:]
    changes = (CHANGES,) if ev.changes is not None else ()
    return (*first, *changes, *rest, *extra)


# --------------------------------------------------------------------------- cells


BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
FILLS = {s: PatternFill("solid", start_color=c, end_color=c) for s, c in STATUS_FILLS.items()}


def _plain(value: Value) -> str | int | bool | None:
    return value.value if isinstance(value, Styled) else value


def _text_width(value: Value) -> int:
    plain = _plain(value)
    if plain is None:
        return 0
    text = str(plain)
    return max(map(len, text.splitlines())) if "\n" in text else len(text)


def _widths(headers: Sequence[str], sample: Sequence[Row]) -> list[int]:
    """Header plus a filter button, or the longest line of the sampled cells, capped."""
    widths = [len(h) + 3 for h in headers]
    for row in sample:
        for i, value in enumerate(row[: len(widths)]):
            widths[i] = max(widths[i], _text_width(value) + 2)
    return [min(max(w, MIN_WIDTH), MAX_WIDTH) for w in widths]


class _Cells:
    """Turns row values into what openpyxl's write-only sheets take: plain values where
    openpyxl stores them as they are, cells where a style or the string type must be set."""

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.ws = ws
        self.style_ids: dict[str, int] = {}

    def cell(self, value: str, style: str | None = None) -> Cell:
        cell = WriteOnlyCell(self.ws, value=value)
        cell.data_type = "s"  # after the value: openpyxl infers formulas and errors from it
        if style == "header":
            cell.font = BOLD
        elif style == "wrap":
            cell.alignment = WRAP
        elif style in FILLS:
            cell.fill = FILLS[style]
        return cell

    def row(self, values: Row) -> list[object]:
        out: list[object] = []
        for value in values:
            if isinstance(value, Styled):
                out.append(self.cell(_clean(value.value), value.style))
            elif isinstance(value, str):
                text = _clean(value)
                # `=...` would become a formula and `#N/A` an error: force the string type.
                out.append(self.cell(text) if text[:1] in ("=", "#") else text or None)
            else:
                out.append(value)
        return out

    def style_id(self, style: str) -> int:
        """The workbook's index of a style, for cells written as XML."""
        found = self.style_ids.get(style)
        if found is None:
            found = self.style_ids[style] = self.cell("", style).style_id
        return found


# --------------------------------------------------------------------------- bulk rows


class _Bulk:
    """Writes `<row>` elements the way openpyxl would (inline strings, numbers, booleans,
    style indexes), about ten times faster: each distinct value's XML is built once, and
    clusters repeat the same endpoints, rules and statuses hundreds of thousands of times."""

    def __init__(self, cells: _Cells, width: int) -> None:
        self.cells = cells
        self.letters = [get_column_letter(i) for i in range(1, width + 1)]
        self.fragments: dict[object, str] = {}

    def fragment(self, value: str | int | bool | Styled) -> str:
        """What follows `<c r="A1"` for this value."""
        if isinstance(value, Styled):
            return f' s="{self.cells.style_id(value.style)}"' + self.fragment(value.value)
        if isinstance(value, bool):
            return f' t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int):
            return f' t="n"><v>{value}</v></c>'
        text = _clean(value)
        body = html.escape(text, quote=False).replace("\r", "&#13;")
        space = ' xml:space="preserve"' if text != text.strip() else ""
        return f' t="inlineStr"><is><t{space}>{body}</t></is></c>'

    def write(self, rows: Iterable[Row], first: int, out: IO[bytes]) -> int:
        """Rows numbered from `first` to `out`; returns how many."""
        fragments = self.fragments
        chunk: list[str] = []
        count = 0
        for count, row in enumerate(rows, start=1):
            n = str(first + count - 1)
            cells = []
            for letter, value in zip(self.letters, row, strict=False):
                if value is None or value == "":
                    continue
                # True == 1 for a dict: booleans get keys of their own.
                key = ("bool", value) if value.__class__ is bool else value
                frag = fragments.get(key)
                if frag is None:
                    frag = fragments[key] = self.fragment(value)
                cells.append(f'<c r="{letter}{n}"{frag}')
            chunk.append(f'<row r="{n}">{"".join(cells)}</row>')
            if len(chunk) >= 10_000:
                out.write("".join(chunk).encode())
                chunk.clear()
        out.write("".join(chunk).encode())
        return count


# --------------------------------------------------------------------------- zip


class _Archive(zipfile.ZipFile):
    """The zip openpyxl writes into, made deterministic: one timestamp and one set of
    attributes on every entry whatever the machine, carriage returns in worksheets as
    character references, and the bulk sheets' bodies spliced into their frames."""

    def __init__(
        self,
        target: BinaryIO,
        stamp: tuple[int, int, int, int, int, int],
        bodies: dict[str, IO[bytes]],
    ) -> None:
        super().__init__(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._stamp = stamp
        self._bodies = bodies

    def _info(self, name: str, size: int = 0) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        info.external_attr = 0o644 << 16
        info.file_size = size  # only decides whether the entry needs zip64
        return info

    def writestr(
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: SizedBuffer | str,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        name = (
            zinfo_or_arcname.filename
            if isinstance(zinfo_or_arcname, zipfile.ZipInfo)
            else zinfo_or_arcname
        )
        super().writestr(self._info(name), data)

    def write(
        self,
        filename: object,
        arcname: object = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        """openpyxl's worksheets, from its temporary files."""
        name = str(arcname if arcname is not None else filename)
        with open(str(filename), "rb") as src:
            frame = src.read()
        body = self._bodies.get(name)
        head, tail = frame, b""
        size = len(frame)
        if body is not None:
            head, end, rest = frame.partition(b"</sheetData>")
            if not end:
                raise RuntimeError(f"{name}: no </sheetData> to put the rows in")
            tail = end + rest
            size += body.seek(0, 2)
            body.seek(0)
        with self.open(self._info(name, size), "w") as dst:
            dst.write(head.replace(b"\r", b"&#13;"))
            if body is not None:
                shutil.copyfileobj(body, dst, 2**20)
            dst.write(tail.replace(b"\r", b"&#13;"))


def _moment(ev: Evaluation) -> dt.datetime:
    """`--as-of` in UTC without a zone, as openpyxl's document properties want it."""
    when = ev.as_of
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when.replace(microsecond=0)


def _zip_stamp(when: dt.datetime) -> tuple[int, int, int, int, int, int]:
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    return max(stamp, ZIP_EPOCH)


# --------------------------------------------------------------------------- workbook


def _write_sheet(
    wb: Workbook, sheet: Sheet, ev: Evaluation, digest: str | None, body: IO[bytes] | None
) -> None:
    """Fill one sheet; a bulk sheet's rows go to `body` as XML, for `_Archive` to splice."""
    ws: WriteOnlyWorksheet = wb.create_sheet(sheet.name)
    # The stubs leave out what write-only sheets share with Worksheet at run time.
    dims: DimensionHolder[str, ColumnDimension] = ws.column_dimensions  # type: ignore[attr-defined]
    auto_filter: AutoFilter = ws.auto_filter  # type: ignore[attr-defined]
    rows = iter(sheet.rows(ev, digest))
    sample = list(itertools.islice(rows, WIDTH_SAMPLE_ROWS))
    for i, width in enumerate(_widths(sheet.headers, sample), start=1):
        dims[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    cells = _Cells(ws)
    ws.append([cells.cell(h, "header") for h in sheet.headers])
    # The filter covers the table under the header, up to the first blank row: a sheet
    # may add a block of its own below it (the Summary's facts and legend).
    blank: list[int] = []

    def watched(rows: Iterable[Row]) -> Iterator[Row]:
        for index, row in enumerate(rows):
            if not row and not blank:
                blank.append(index)
            yield row

    every = watched(itertools.chain(sample, rows))
    if body is not None:
        table = _Bulk(cells, len(sheet.headers)).write(every, 2, body)
    else:
        table = 0
        for row in every:
            ws.append(cells.row(row))
            table += 1
    table = blank[0] if blank else table
    auto_filter.ref = f"A1:{get_column_letter(len(sheet.headers))}{table + 1}"
    for column, choices in sheet.validations:
        letter = get_column_letter(sheet.headers.index(column) + 1)
        # Fixed words of ours, never cluster data, so the list formula holds no input.
        rule = DataValidation(type="list", formula1=f'"{",".join(choices)}"', allow_blank=True)
        rule.error = f"Pick one of: {', '.join(choices)}"
        rule.showErrorMessage = True
        rule.add(f"{letter}2:{letter}{max(table, 1) + 1}")
        ws.data_validations.append(rule)  # type: ignore[attr-defined]


def write_workbook(ev: Evaluation, target: BinaryIO, pack_digest: str | None = None) -> None:
    """Write `evidence.xlsx` for one evaluation to `target`: the same evaluation and
    digest always give the same bytes."""
    wb = Workbook(write_only=True)
    when = _moment(ev)
    who = f"{TOOL_NAME} {__version__}"
    props = wb.properties
    props.created = props.modified = when
    props.creator = props.lastModifiedBy = who
    props.title = _clean(f"Network segmentation evidence: {ev.scope.cluster}").replace("\r", " ")
    bodies: dict[str, IO[bytes]] = {}
    with contextlib.ExitStack() as stack:
        for index, sheet in enumerate(sheets_for(ev), start=1):
            body = None
            if sheet.bulk:
                body = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES))
                # openpyxl names worksheet parts by position, as its writer numbers them.
                bodies[f"xl/worksheets/sheet{index}.xml"] = body
            _write_sheet(wb, sheet, ev, pack_digest, body)
        with _Archive(target, _zip_stamp(when), bodies) as archive:
            ExcelWriter(wb, archive).save()
