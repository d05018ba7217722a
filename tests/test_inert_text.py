"""Control and format characters from inputs are shown escaped wherever input text is
printed: terminal (table, errors, warnings), PDF, its SVG diagrams and the spreadsheet.
A U+202E must not make an owner read as something else; an escape sequence must not
retitle the terminal; a bell must not reach the PDF as a missing glyph."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from openpyxl import load_workbook

from compliance.cli import cli, run
from compliance.errors import InputError
from compliance.render.diagram import _esc, fit
from compliance.render.pdf import PdfResult
from compliance.render.workbook import write_workbook
from compliance.text import visible
from tests.helpers import HOSTILE_CLUSTER, HOSTILE_SCOPE, RLO, evaluation_from_yaml

ROOT = Path(__file__).resolve().parent.parent
TITLE_SEQUENCE = "\x1b]0;PWNED\x07"
HIDDEN = (RLO, "\x1b", "\x07", "\u200b", "\u2028", "\x00")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("owner\u202eevil", "owner\\u202eevil"),
        ("c" + TITLE_SEQUENCE, "c\\x1b]0;PWNED\\x07"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("line\u2028sep", "line\\u2028sep"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
    ],
)
def test_visible_escapes_control_and_format_characters(raw: str, shown: str) -> None:
    assert visible(raw) == shown
    assert visible(shown) == shown  # escaping twice changes nothing


def test_visible_keeps_real_text() -> None:
    for text in ("café", "e\u0301", "日本語", "a\u00a0b", "Zoë — 50 %", "🙂"):
        assert visible(text) == text
    assert visible("a\nb\tc\u202e", keep_newlines=True) == "a\nb\tc\\u202e"


def _no_hidden(text: str) -> None:
    found = [ch for ch in HIDDEN if ch in text]
    assert not found, [hex(ord(c)) for c in found]


def test_error_lines_show_hidden_characters_escaped() -> None:
    error = InputError("bad", source="x\u202e.yaml", obj="Pod a/b\x1b", field="f\n")
    assert str(error) == "x\\u202e.yaml: Pod a/b\\x1b: f\\n: bad"


def hostile_scope_file(tmp_path: Path) -> Path:
    text = (ROOT / "samples" / "pci-dss.scope.yaml").read_text()
    text = text.replace("cluster: shop-prod", 'cluster: "shop\\e]0;PWNED\\a\\u202eprod"', 1)
    path = tmp_path / "scope.yaml"
    path.write_text(text)
    return path


def test_evaluate_table_does_not_pass_escape_sequences_to_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scope = hostile_scope_file(tmp_path)
    code = run(
        cli.main,
        [
            "evaluate",
            str(ROOT / "samples/shop-cluster"),
            "--scope",
            str(scope),
            "--exit-zero",
            "--as-of",
            "2026-11-26",
        ],
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    _no_hidden(out + err)
    assert out.splitlines()[0].startswith("cluster shop\\x1b]0;PWNED\\x07\\u202eprod as of")


def test_warnings_show_hidden_characters_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "samples" / "pci-dss.scope.yaml").read_text()
    text = text.replace("zones:\n", "zones:\n  - {name: ghost, role: other}\n", 1)
    scope = tmp_path / f"scope{RLO}.yaml"
    scope.write_text(text)
    run(
        cli.main,
        [
            "evaluate",
            str(ROOT / "samples/shop-cluster"),
            "--scope",
            str(scope),
            "--exit-zero",
            "--as-of",
            "2026-11-26",
        ],
    )
    out, err = capsys.readouterr()
    assert "scope\\u202e.yaml: zone 'ghost' holds no workload" in err
    _no_hidden(out + err)


def test_pdf_shows_hidden_characters_escaped(
    hostile_report: tuple[str, PdfResult], read_pdf_pages: Callable[[bytes], Sequence[str]]
) -> None:
    html, result = hostile_report
    _no_hidden(html)
    pages = read_pdf_pages(result.data)
    text = " ".join(pages[i] for i in range(len(pages)))
    _no_hidden(text)
    packed = re.sub(r"\s+", "", text)  # narrow table cells wrap anywhere
    for shown in (
        "team\\u202eevil",
        "CHG-1\\x07",
        "shop\\x1b]0;PWNED\\x07",
        "Title\\u202ex",
        "AF\\u202e-1",
        "checkout\\u200bcallstheapi",
    ):
        assert shown in packed, shown


def test_spreadsheet_shows_hidden_characters_escaped() -> None:
    buf = io.BytesIO()
    write_workbook(evaluation_from_yaml(HOSTILE_CLUSTER, HOSTILE_SCOPE), buf)
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    values = [
        str(c.value)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    ]
    _no_hidden("\n".join(values))
    joined = "\n".join(values)
    for shown in ("AF\\u202e-1", "shop\\x1b]0;PWNED\\x07"):
        assert shown in joined, shown


def test_svg_text_shows_hidden_characters_escaped() -> None:
    assert _esc(f"a{RLO}b\x1b") == "a\\u202eb\\x1b"
    shown = fit(f"zone{RLO}name", 10, 500)
    assert shown == "zone\\u202ename"


def test_breakable_text_shows_format_characters_escaped() -> None:
    """Register and waiver fields go through the `breakable` filter, whose markup would
    otherwise pass the template's finalize untouched."""
    from compliance.render.text import breakable

    shown = str(breakable("owner\u202eevil" + "x" * 30 + "\x1b"))
    assert "\u202e" not in shown and "\x1b" not in shown
    assert "\\u202e" in shown and "\\x1b" in shown
    assert "<wbr>" in shown
