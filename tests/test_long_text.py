"""Long free text from a scope file: bounded by the schema, whole and cheap in the PDF.

A 40,000-character justification without a space took minutes to lay out (WeasyPrint
re-lays the rest of a text box for every line); the schema now caps free text and the
template cuts unbroken runs into short text boxes.
"""

from __future__ import annotations

import dataclasses
import io
import re
import time
from pathlib import Path

import pypdf
import pytest
from helpers import sample_evaluation, scope_from_yaml

from compliance.cli import cli, run
from compliance.errors import ComplianceError
from compliance.render.pdf import html_to_pdf, render_html
from compliance.render.report import report_view
from compliance.render.text import RUN, breakable

ROOT = Path(__file__).resolve().parent.parent
LONG_LIMIT = 4000
SHORT_LIMIT = 200


def _scope(justification: str = "need", owner: str = "team", reason: str = "why") -> str:
    return f"""
    cluster: c
    zones:
      - name: cde
        role: cde
        frameworks: [pci-dss-4.0.1]
        selectors: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: pay}}}}}}]
    approved_flows:
      - from: {{zone: cde}}
        to: {{cidrs: [0.0.0.0/0]}}
        justification: "{justification}"
        owner: "{owner}"
        ticket: CHG-1
        expires: 2027-01-01
    waivers:
      - check: SEG-26
        reason: "{reason}"
        owner: team
        approved_by: ciso
        expires: 2027-01-01
    """


@pytest.mark.parametrize(
    ("field", "limit", "path"),
    [
        ("justification", LONG_LIMIT, "approved_flows[0].justification"),
        ("reason", LONG_LIMIT, "waivers[0].reason"),
        ("owner", SHORT_LIMIT, "approved_flows[0].owner"),
    ],
)
def test_scope_free_text_has_a_documented_limit(field: str, limit: int, path: str) -> None:
    scope = scope_from_yaml(_scope(**{field: "x" * limit}))
    assert scope.approved_flows and scope.waivers
    with pytest.raises(ComplianceError) as caught:
        scope_from_yaml(_scope(**{field: "x" * (limit + 1)}))
    assert caught.value.exit_code == 2
    message = str(caught.value)
    assert f"scope.yaml: {path}: expected at most {limit} characters" in message
    assert "\n" not in message and len(message) < 200


def test_cli_refuses_an_overlong_justification_in_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    text = (ROOT / "samples/pci-dss.scope.yaml").read_text(encoding="utf-8")
    original = "justification: Customers reach the storefront over HTTPS"
    assert original in text
    scope = tmp_path / "scope.yaml"
    scope.write_text(text.replace(original, f"justification: {'A' * 40_000}"), "utf-8")
    out = tmp_path / "pack"
    code = run(
        cli.main,
        ["report", str(ROOT / "samples/shop-cluster"), "--scope", str(scope), "--out", str(out)],
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == (
        f"error: {scope}: approved_flows[0].justification: expected at most 4000 characters"
    )
    assert not out.exists()


def test_breakable_cuts_only_unbroken_runs_and_keeps_every_character() -> None:
    assert breakable("a short justification with spaces") == "a short justification with spaces"
    assert breakable("x" * RUN) == "x" * RUN
    run_ = "y" * (3 * RUN + 5)
    cut = str(breakable(f"see {run_} now"))
    assert cut == "see " + "<wbr>".join(["y" * RUN] * 3 + ["y" * 5]) + " now"
    assert cut.replace("<wbr>", "") == f"see {run_} now"


def test_breakable_escapes_markup_even_inside_long_runs() -> None:
    payload = "<script>alert(1)</script>" + "&" * 30 + "<img src=x>"
    out = str(breakable(payload))
    assert "<script>" not in out and "<img" not in out
    assert re.sub(r"<wbr>", "", out) == (
        "&lt;script&gt;alert(1)&lt;/script&gt;" + "&amp;" * 30 + "&lt;img src=x&gt;"
    )
    # the only tags are ours
    assert set(re.findall(r"<[^>]*>", out)) <= {"<wbr>"}


def _long_register_html(justification: str) -> str:
    ev = sample_evaluation("pci-dss")
    first, *rest = ev.scope.approved_flows
    long_first = dataclasses.replace(first, justification=justification)
    ev = dataclasses.replace(
        ev, scope=dataclasses.replace(ev.scope, approved_flows=(long_first, *rest))
    )
    return render_html(report_view(ev))


def test_report_html_gives_long_register_text_short_text_boxes() -> None:
    """No text node WeasyPrint lays out holds more than RUN characters without a break."""
    justification = "Z" * LONG_LIMIT
    html = _long_register_html(justification)
    cell = re.search(r"<td>(Z[^<]*(?:<wbr>Z[^<]*)*)", html)
    assert cell is not None
    pieces = cell.group(1).split("<wbr>")
    assert "".join(pieces) == justification
    assert max(len(p) for p in pieces) <= RUN


def test_pdf_of_a_long_unbroken_value_is_whole_and_fast() -> None:
    """16,000 characters in a table cell: as one text box, an estimated 40 s (8,000 took
    10 s, and the cost grows with the square of the length)."""
    value = "Q" * 16_000
    html = (
        '<html><head><link rel="stylesheet" href="report.css"></head><body>'
        f"<table><tr><td>id</td><td>{breakable(value)}</td><td>x</td></tr></table></body></html>"
    )
    started = time.perf_counter()
    pdf = html_to_pdf(html)
    elapsed = time.perf_counter() - started
    reader = pypdf.PdfReader(io.BytesIO(pdf.data))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "".join(re.findall("Q+", text)) == value
    assert elapsed < 25, f"laying out 16,000 characters took {elapsed:.1f} s"
