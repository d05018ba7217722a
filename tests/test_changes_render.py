"""The "Changes since" section of report.pdf and the Changes sheet of evidence.xlsx, read
back as an assessor would (pypdf, openpyxl), for a report compared with a baseline.

Two comparisons: the bundled shop a quarter later (samples/shop-cluster-q2 against
samples/shop-cluster, what the samples README says the diff shows), and a small inline
pair built to exercise what the sample does not: a widened and narrowed flow, a policy
with no effect, more changed flows than the PDF lists, and values from the scope that
look like markup or formulas. Each PDF is laid out once per module.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pypdf
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from compliance.diff import RETEST_LINE, DiffSide, diff
from compliance.evaluate import Evaluation
from compliance.ports import PROTOCOLS, PortSet, parse_description, union_all
from compliance.render import changes as changes_module
from compliance.render.pdf import PdfResult, render_html
from compliance.render.report import report_view
from compliance.render.workbook import CHANGES, sheets_for, write_workbook
from tests.helpers import evaluation_from_yaml, namespace, pod, policy, sample_evaluation

ROOT = Path(__file__).resolve().parent.parent
OLD_AS_OF = "2026-11-26T00:00:00+00:00"
NEW_AS_OF = "2027-03-01T00:00:00+00:00"
OLD_DIGEST = "ab" * 32
HEADERS = [
    "change",
    "source",
    "destination",
    "zones",
    "protocol",
    "port_from",
    "port_to",
    "ports_now",
    "ports_before",
    "rules_now",
    "rules_before",
]


def squash(text: str) -> str:
    """Text without any whitespace: table cells wrap anywhere in long names, so a
    phrase is looked for with its spaces and line breaks taken out."""
    return re.sub(r"\s+", "", text)


def compared(old: Evaluation, new: Evaluation, source: str = "packs/2026-q4") -> Evaluation:
    """`new` as `report --baseline` hands it to the renderers: with the diff against
    the baseline pack `old` on it."""
    doc = diff(DiffSide(source, OLD_DIGEST, old), DiffSide("export", None, new))
    return dataclasses.replace(new, changes=doc)


@dataclasses.dataclass(frozen=True)
class Rendered:
    ev: Evaluation
    pdf: pypdf.PdfReader
    pages: Sequence[str]
    workbook: Workbook

    def page_of(self, heading: str) -> int:
        """The 1-based page a section heading starts on (after the contents page)."""
        return next(i for i, p in enumerate(self.pages, 1) if i > 2 and p.startswith(heading))

    def section(self, heading: str, following: str) -> str:
        start, end = self.page_of(heading), self.page_of(following)
        return " ".join(self.pages[start - 1 : end - 1])


def render(
    ev: Evaluation,
    lay_out: Callable[[str], PdfResult],
    read_pages: Callable[[bytes], Sequence[str]],
) -> Rendered:
    """The report and workbook of `ev`; `lay_out` and `read_pages` let module fixtures
    share the layout and the text with the other xdist worker, and the text of a page is
    extracted only when a test reads it."""
    result = lay_out(render_html(report_view(ev, digest="cd" * 32)))
    assert result.warnings == ()
    reader = pypdf.PdfReader(io.BytesIO(result.data))
    pages = read_pages(result.data)
    buf = io.BytesIO()
    write_workbook(ev, buf, "cd" * 32)
    return Rendered(ev, reader, pages, load_workbook(buf))


# --------------------------------------------------------------------------- the q2 sample


@pytest.fixture(scope="module")
def q2(
    lay_out: Callable[[str], PdfResult], read_pdf_pages: Callable[[bytes], Sequence[str]]
) -> Rendered:
    old = sample_evaluation("pci-dss", OLD_AS_OF)
    new = sample_evaluation("pci-dss-q2", NEW_AS_OF, "shop-cluster-q2")
    return render(compared(old, new), lay_out, read_pdf_pages)


HEADING = "Changes since 2026-11-26T00:00:00Z"


def test_the_cover_names_the_baseline_in_one_line(q2: Rendered) -> None:
    cover = squash(q2.pages[0])
    assert squash(
        f"Compared with the pack of 2026-11-26T00:00:00Z, content digest {OLD_DIGEST}"
    ) in (cover)


def test_the_section_follows_the_summary_in_contents_and_bookmarks(q2: Rendered) -> None:
    contents = q2.pages[1]
    listed = re.search(re.escape(HEADING) + r"[ .]*?(\d+)\s*$", contents, re.MULTILINE)
    assert listed, contents
    page = int(listed.group(1))
    assert q2.pages[page - 1].startswith(HEADING)
    assert q2.page_of("1. Summary") < page < q2.page_of("2. Scope statement")
    titles = [item.title for item in q2.pdf.outline if not isinstance(item, list)]
    assert titles[titles.index("1. Summary") + 1] == HEADING
    assert titles[titles.index(HEADING) + 1] == "2. Scope statement"
    # the running header names the section on its pages
    assert HEADING in q2.pages[page]


def test_the_section_names_the_baseline_and_gives_zone_verdicts_first(q2: Rendered) -> None:
    text = q2.section(HEADING, "2. Scope statement")
    flat = squash(text)
    assert squash("baseline pack packs/2026-q4 of cluster shop-prod") in flat
    assert OLD_DIGEST in flat
    for zone, verdict in (
        ("cardholder-data", "changed"),
        ("cde", "changed"),
        ("ingress-tier", "unchanged"),
        ("shared-services", "changed"),
    ):
        assert re.search(rf"^{re.escape(zone)} {verdict}\b", text, re.MULTILINE), zone
    sentence = squash(RETEST_LINE[:1].upper() + RETEST_LINE[1:])
    assert flat.count(sentence) == 3  # once per changed zone
    assert flat.index("Segmentationperzone") < flat.index("Flowstouchingazone")
    assert "3zonesof4changed" in flat


def test_an_added_flow_is_named_with_the_rules_allowing_it_now_and_before(q2: Rendered) -> None:
    flat = squash(q2.section(HEADING, "2. Scope statement"))
    row = (
        "added analytics/data-pipeline[Deployment] → production/postgres[StatefulSet] "
        "zones: cardholder-data, cde TCP 5432 "
        "now: egress: not isolated; ingress: production/postgres-access ingress[2] "
        "before: no such flow"
    )
    assert squash(row) in flat
    assert squash("Flows touching a zone (4 changed)") in flat
    assert squash("Rest of the cluster (no zone at either end): 0 flows changed") in flat


def test_policies_workloads_results_and_register_changes(q2: Rendered) -> None:
    flat = squash(q2.section(HEADING, "2. Scope statement"))
    policy_row = (
        "production/postgres-access before 46c8801da410120e05ee1cbb78f6867c68d0b8f96ad51d6b1d9d943c9fdcb77e"
        " now 230a6f93591b0a26603dfe2ec16947bbd31dab2e25b465e5ec36506c2e018db0 modified adds "
        "analytics/data-pipeline[Deployment] -> production/postgres[StatefulSet]: TCP 5432"
    )
    assert squash(policy_row) in flat
    assert squash("production/kafka-connect[Deployment] added cde") in flat
    assert squash("pci-dss-4.0.1 1.4.4 Supported Fail") in flat
    assert squash("Findings: 15 new, 3 resolved, 112 still open") in flat
    assert squash("SEG-27-3A1CA1C8AC Fail production/app[Deployment]") in flat
    assert squash("Approved-flow register added AF-007") in flat
    assert squash("Waivers expired WV-001") in flat


def _records(ws: Worksheet) -> list[dict[str, Any]]:
    """The filtered table of the Changes sheet: the rows above its first blank row."""
    rows = []
    for row in ws.iter_rows(min_row=2, values_only=True):
        if all(v is None for v in row):
            break
        rows.append(dict(zip(HEADERS, row, strict=True)))
    return rows


def _items(ws: Worksheet) -> list[tuple[Any, ...]]:
    """The second block: every change that is not a flow, under its own header."""
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    blank = next(i for i, row in enumerate(rows) if all(v is None for v in row))
    header = rows[blank + 1]
    assert header[:7] == (
        "item",
        "change",
        "name",
        "summary",
        "detail",
        "sha256_before",
        "sha256_now",
    )
    return [row[:7] for row in rows[blank + 2 :]]


def test_the_changes_sheet_has_a_row_per_changed_flow_and_port_range(q2: Rendered) -> None:
    wb = q2.workbook
    assert wb.sheetnames[:2] == ["Summary", "Changes"]
    ws = wb["Changes"]
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.freeze_panes == "A2"
    records = _records(ws)
    assert ws.auto_filter.ref == f"A1:K{len(records) + 1}"
    got = {(r["change"], r["source"], r["destination"], r["protocol"], r["port_from"],
            r["port_to"], r["zones"]) for r in records}  # fmt: skip
    assert got == {
        ("added", "analytics/data-pipeline[Deployment]", "production/postgres[StatefulSet]",
         "TCP", 5432, 5432, "cardholder-data, cde"),
        ("added", "analytics/data-pipeline[Deployment]", "production/kafka-connect[Deployment]",
         "TCP", 9092, 9092, "cde"),
        ("added", "production/app[Deployment]", "production/kafka-connect[Deployment]",
         "TCP", 9092, 9092, "cde"),
        ("added", "production/kafka-connect[Deployment]", "kube-system/coredns[Deployment]",
         "UDP", 53, 53, "cde, shared-services"),
    }  # fmt: skip
    assert len(records) == 4
    postgres = next(r for r in records if r["destination"] == "production/postgres[StatefulSet]")
    assert postgres["rules_now"] == (
        "egress: not isolated\ningress: production/postgres-access ingress[2]"
    )
    assert postgres["rules_before"] is None and postgres["ports_before"] is None
    items = _items(ws)
    assert ("baseline", None, "packs/2026-q4", "as of 2026-11-26T00:00:00Z", OLD_DIGEST,
            None, None) in items  # fmt: skip
    kinds = {(row[0], row[1], row[2]) for row in items}
    assert {
        ("zone", "changed", "cde"),
        ("zone", "unchanged", "ingress-tier"),
        ("policy", "modified", "production/postgres-access"),
        ("workload", "added", "production/kafka-connect[Deployment]"),
        ("requirement", "status", "pci-dss-4.0.1 1.4.4"),
        ("finding", "resolved", "SEG-27-3A1CA1C8AC"),
        ("register entry", "added", "AF-007"),
        ("waiver", "expired", "WV-001"),
    } <= kinds
    assert sum(1 for row in items if row[:2] == ("finding", "new")) == 15


# --------------------------------------------------------------------------- inline pair

SCOPE = """\
cluster: "=cmd|' /C calc'!A0"
zones:
  - name: cde
    role: cde
    frameworks: [pci-dss-4.0.1]
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}
"""
OLD_SCOPE = (
    SCOPE
    + """\
waivers:
  - id: WV-1
    check: SEG-26
    workload: shop/db
    reason: migration
    owner: team
    approved_by: CISO
    expires: 2026-12-31
"""
)
NEW_SCOPE = (
    SCOPE
    + """\
approved_flows:
  - id: '=HYPERLINK("http://x")'
    from: {namespace: tools}
    to: {zone: cde}
    ports: [{protocol: TCP, port: 5432}]
    justification: backups
    owner: team
    ticket: CHG-9
    expires: 2027-06-30
  - id: '<i>AF-9</i>'
    from: {namespace: front}
    to: {zone: cde}
    ports: [{protocol: TCP, port: 5433}]
    justification: orders
    owner: team
    ticket: CHG-8
    expires: 2027-06-30
"""
)
SHOWN = 20
"""The PDF's cap on listed flows for this pair (the report's own cap is FLOWS_SHOWN, 100:
the same code with a shorter report to lay out)."""
TOOLS = 12
"""Workloads added in `tools`, each with a flow to the CDE: more than the PDF lists."""


def _allow(name: str, namespace_name: str, ports: str) -> str:
    return policy(
        name,
        "shop",
        f"""\
podSelector: {{matchLabels: {{app: db}}}}
policyTypes: [Ingress]
ingress:
  - from: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {namespace_name}}}}}}}]
    ports: {ports}
""",
    )


DENY = "podSelector: {}\npolicyTypes: [Ingress]\n"
BASE = (
    namespace("shop")
    + namespace("front")
    + namespace("tools")
    + pod("db", "shop", {"app": "db"}, "5432,5433,8080")
    + pod("app", "front", {"app": "app"})
    + policy("deny", "shop", DENY)
)
OLD = (
    BASE
    + _allow("allow-front", "front", "[{port: 5432}, {port: 8080}]")
    + pod("cache", "shop", {"app": "cache"})  # removed: its zone is known from the old side
)
NEW = (
    BASE
    + _allow("allow-front", "front", "[{port: 5432, endPort: 5433}]")
    + _allow("allow-tools", "tools", "[{port: 5432}]")
    + policy("also-deny", "shop", DENY)
    + "".join(pod(f"t{i:03d}", "tools", {"app": "t"}) for i in range(TOOLS))
)


@pytest.fixture(scope="module")
def inline(
    lay_out: Callable[[str], PdfResult], read_pdf_pages: Callable[[bytes], Sequence[str]]
) -> Rendered:
    old = evaluation_from_yaml(OLD, OLD_SCOPE, OLD_AS_OF)
    new = evaluation_from_yaml(NEW, NEW_SCOPE, NEW_AS_OF)
    assert 2 * TOOLS + 3 > SHOWN < changes_module.FLOWS_SHOWN
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(changes_module, "FLOWS_SHOWN", SHOWN)
        return render(compared(old, new), lay_out, read_pdf_pages)


def test_a_widened_and_narrowed_flow_gets_a_row_per_range(inline: Rendered) -> None:
    records = _records(inline.workbook["Changes"])
    front = [r for r in records if r["source"] == "front/app[Pod]"]
    assert [(r["change"], r["protocol"], r["port_from"], r["port_to"]) for r in front] == [
        ("widened", "TCP", 5433, 5433),
        ("narrowed", "TCP", 8080, 8080),
    ]
    assert {(r["ports_now"], r["ports_before"]) for r in front} == {
        ("TCP 5432-5433", "TCP 5432, 8080")
    }
    assert front[0]["rules_now"] == "egress: not isolated\ningress: shop/allow-front ingress[0]"
    assert front[0]["rules_before"] == front[0]["rules_now"]
    flat = squash(inline.section("Changes since", "2. Scope statement"))
    assert squash("widened TCP 5433; narrowed TCP 8080 front/app[Pod] → shop/db[Pod]") in flat
    assert squash("TCP 5432-5433 before: TCP 5432, 8080") in flat


def test_every_changed_flow_is_in_the_sheet_and_the_pdf_stops_and_says_so(
    inline: Rendered,
) -> None:
    doc = inline.ev.changes
    assert doc is not None
    touching = doc["flows"]["touching_zones"]
    # each new tools workload reaches the CDE's db on TCP 5432, and the db (egress not
    # isolated) reaches each of them on every port of every protocol
    to_db = [f for f in touching if f["dst"] == "shop/db[Pod]" and f["src"].startswith("tools/")]
    from_db = [f for f in touching if f["src"] == "shop/db[Pod]"]
    assert len(to_db) == len(from_db) == TOOLS and len(touching) == 2 * TOOLS + 3
    assert {f["ports_now"] for f in from_db} == {"all"}
    records = _records(inline.workbook["Changes"])
    # front/app widened and narrowed; shop/cache's two removed flows on every port
    assert len(records) == TOOLS * 1 + TOOLS * len(PROTOCOLS) + 2 + 2 * len(PROTOCOLS)
    assert {(r["protocol"], r["port_from"], r["port_to"]) for r in records
            if r["source"] == "shop/db[Pod]"} == {(p, 1, 65535) for p in PROTOCOLS}  # fmt: skip
    text = inline.section("Changes since", "2. Scope statement")
    shown = SHOWN
    more = len(touching) - shown
    assert squash(
        f"… and {more} more changed flows touching a zone (see evidence.xlsx, sheet Changes)"
    ) in (squash(text))
    assert text.count("zones:") == shown  # one per listed flow
    table = text[text.index("Flows touching a zone") : text.index(f"and {more} more changed")]
    listed = re.findall(r"\bTCP 5432\b", table)
    assert 0 < len(listed) <= shown
    # the zone verdict names at most PER_ITEM flows and counts the rest
    per_zone = len(doc["zones"][0]["flows"]) - changes_module.PER_ITEM
    assert squash(f"and {per_zone} more (see evidence.xlsx, sheet Changes)") in squash(text)


def test_a_removed_flow_of_a_removed_workload_keeps_its_old_zone(inline: Rendered) -> None:
    records = _records(inline.workbook["Changes"])
    gone = [r for r in records if r["source"] == "shop/cache[Pod]"]
    assert {r["destination"] for r in gone} == {"0.0.0.0/0, ::/0", "front/app[Pod]"}
    cache = [r for r in gone if r["destination"] == "front/app[Pod]"]
    assert [(r["change"], r["destination"], r["protocol"], r["port_from"], r["port_to"],
             r["zones"]) for r in cache] == [
        ("removed", "front/app[Pod]", p, 1, 65535, "cde") for p in PROTOCOLS
    ]  # fmt: skip
    assert {(r["ports_now"], r["ports_before"], r["rules_now"]) for r in cache} == {
        (None, "all", None)
    }
    assert cache[0]["rules_before"] == "egress: not isolated\ningress: not isolated"
    flat = squash(inline.section("Changes since", "2. Scope statement"))
    row = (
        "removed shop/cache[Pod] → front/app[Pod] zones: cde none now before: all "
        "now: no such flow before: egress: not isolated; ingress: not isolated"
    )
    assert squash(row) in flat
    assert squash("shop/cache[Pod] removed cde") in flat  # the workloads table: zones left
    items = _items(inline.workbook["Changes"])
    assert ("workload", "removed", "shop/cache[Pod]", "left cde") in [r[:4] for r in items]


def test_a_policy_with_no_effect_says_so(inline: Rendered) -> None:
    flat = squash(inline.section("Changes since", "2. Scope statement"))
    assert re.search(r"shop/also-deny.*?now[0-9a-f]{64}addedNoeffectonflows\.", flat)
    items = _items(inline.workbook["Changes"])
    (row,) = [r for r in items if r[:3] == ("policy", "added", "shop/also-deny")]
    assert row[3] == "no effect on flows" and row[4] is None


def test_scope_values_stay_text_in_the_pdf_and_the_sheet(inline: Rendered) -> None:
    text = inline.section("Changes since", "2. Scope statement")
    assert squash('Approved-flow register added <i>AF-9</i>, =HYPERLINK("http://x")') in squash(
        text
    )
    assert squash("Waivers removed WV-1") in squash(text)
    ws = inline.workbook["Changes"]
    cells = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    formula = cells['=HYPERLINK("http://x")']
    assert formula.data_type == "s"
    assert not [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    items = _items(ws)
    assert items[-3][:3] == ("register entry", "added", "<i>AF-9</i>")
    assert items[-1][:3] == ("waiver", "removed", "WV-1")


def test_the_same_comparison_gives_the_same_bytes(inline: Rendered) -> None:
    again = compared(
        evaluation_from_yaml(OLD, OLD_SCOPE, OLD_AS_OF),
        evaluation_from_yaml(NEW, NEW_SCOPE, NEW_AS_OF),
    )
    assert again.changes == inline.ev.changes
    outputs = []
    for ev in (inline.ev, again):
        buf = io.BytesIO()
        write_workbook(ev, buf, "cd" * 32)
        outputs.append((buf.getvalue(), render_html(report_view(ev, digest="cd" * 32))))
    assert outputs[0] == outputs[1]


# --------------------------------------------------------------------------- no baseline


def test_no_section_and_no_sheet_without_a_baseline(sample_pack: Path) -> None:
    reader = pypdf.PdfReader(sample_pack / "report.pdf")
    # cover, contents and summary: where the line and the section would be
    pages = [p.extract_text() for p in reader.pages[:4]]
    assert pages[3].startswith("2. Scope statement")
    assert not any("Changes since" in p for p in pages)
    assert "Baseline" not in pages[0]
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert titles[titles.index("1. Summary") + 1] == "2. Scope statement"
    wb = load_workbook(sample_pack / "evidence.xlsx")
    assert "Changes" not in wb.sheetnames


def test_without_a_baseline_the_view_and_sheets_carry_nothing_of_it(
    inline: Rendered,
) -> None:
    plain = dataclasses.replace(inline.ev, changes=None)
    assert report_view(plain)["changes"] is None
    assert CHANGES not in sheets_for(plain) and CHANGES in sheets_for(inline.ev)
    html = render_html(report_view(plain))
    assert 'id="changes"' not in html and "<dt>Baseline</dt>" not in html


# --------------------------------------------------------------------------- ports


def _port_sets() -> st.SearchStrategy[PortSet]:
    port = st.integers(1, 65535)
    one = st.builds(
        lambda proto, a, b: PortSet.of(proto, min(a, b), max(a, b)),
        st.sampled_from(PROTOCOLS),
        port,
        port,
    )
    special = st.sampled_from([PortSet.all(), PortSet.empty(), PortSet.protocol("UDP")])
    return st.one_of(special, st.lists(one, max_size=6).map(union_all))


@given(_port_sets())
def test_a_port_description_reads_back_as_the_same_set(ports: PortSet) -> None:
    assert parse_description(ports.describe()) == ports


@pytest.mark.parametrize("text", ["", "TCP", "TCP 80, 81", "TCP 90, 80", "UDP 53; TCP 80",
                                  "tcp 80", "TCP 80-", "TCP 0", "TCP 1-65535", "ICMP 1"])  # fmt: skip
def test_anything_describe_would_not_write_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a port description"):
        parse_description(text)
