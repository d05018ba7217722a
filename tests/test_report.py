"""report.pdf read back as an assessor would: its text (pypdf), pages, headers, contents,
and what it refuses to do with values that come from a cluster."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib.abc import MetaPathFinder
from pathlib import Path

import pypdf
import pytest
from helpers import (
    HOSTILE_MARKUP,
    PAY_AND_WEB,
    evaluation_from_yaml,
    html_text,
    sample_evaluation,
)

from compliance.cli import cli, run
from compliance.errors import InputError, RenderError
from compliance.render.evidence import input_rows, policy_rows
from compliance.render.pdf import PdfResult, html_environment, html_to_pdf, render_html
from compliance.render.report import FINDINGS_PER_CHECK, report_view

ROOT = Path(__file__).resolve().parent.parent
A4 = (595, 842)


def flat(text: str) -> str:
    """Text with every run of whitespace as one space: PDF lines wrap anywhere, and a line
    that wraps after a hyphen or slash (`node-` / `exporter`) is joined back."""
    return re.sub(r"\s+", " ", re.sub(r"([-/])\n", r"\1", text)).strip()


@pytest.fixture(scope="module")
def pdf(sample_pack: Path) -> pypdf.PdfReader:
    return pypdf.PdfReader(sample_pack / "report.pdf")


@pytest.fixture(scope="module")
def pages(sample_pack: Path, read_pdf_pages: Callable[[Path], list[str]]) -> list[str]:
    return read_pdf_pages(sample_pack / "report.pdf")


@pytest.fixture(scope="module")
def text(pages: list[str]) -> str:
    return flat(" ".join(pages))


@pytest.fixture(scope="module")
def evaluation():  # type: ignore[no-untyped-def]
    return sample_evaluation("pci-dss")


def test_cover_names_cluster_moment_frameworks_version_and_the_pack_digest(
    pages: list[str], sample_pack: Path
) -> None:
    cover = flat(pages[0])
    digest = json.loads((sample_pack / "manifest.json").read_text())["digest"]["value"]
    assert "Network segmentation evidence: shop-prod" in cover
    assert "2026-11-26T00:00:00Z" in cover
    assert "PCI DSS v4.0.1" in cover
    assert "compliance 0.1.0" in cover
    assert digest in cover.replace(" ", "")


def test_every_page_says_page_x_of_y_and_carries_the_running_header(pages: list[str]) -> None:
    total = len(pages)
    assert total > 10
    for number, page in enumerate(pages, start=1):
        assert f"page {number} of {total}" in page
        if number > 1:
            assert "Cluster shop-prod · as of 2026-11-26T00:00:00Z" in page


def test_contents_point_at_the_pages_the_sections_start_on(pages: list[str]) -> None:
    contents = pages[1]
    for title in ("1. Summary", "5. Findings and remediation", "Appendix C. Input files"):
        match = re.search(re.escape(title) + r"[ .]*?(\d+)\s*$", contents, re.MULTILINE)
        assert match, title
        page = int(match.group(1))
        assert title in pages[page - 1], (title, page)


def test_the_pdf_has_bookmarks_and_reproducible_dates(pdf: pypdf.PdfReader) -> None:
    titles = [item.title for item in pdf.outline if not isinstance(item, list)]
    assert "1. Summary" in titles
    assert "Appendix B. NetworkPolicies" in titles
    meta = pdf.metadata
    assert meta is not None
    assert str(meta["/CreationDate"]).startswith("D:20261126000000")
    assert str(meta["/ModDate"]).startswith("D:20261126000000")
    assert [round(float(v)) for v in pdf.pages[0].mediabox[2:]] == list(A4)


def test_names_every_requirement_id(text: str, evaluation) -> None:  # type: ignore[no-untyped-def]
    (fw,) = evaluation.frameworks
    for r in fw.requirements:
        assert f"{r.requirement.id} " in text, r.requirement.id


def test_names_every_in_scope_workload_with_its_flows(text: str, evaluation) -> None:  # type: ignore[no-untyped-def]
    (fw,) = evaluation.frameworks
    assert len(fw.in_scope) == 10
    for ref in fw.in_scope:
        assert f"{ref.id} [{ref.kind}]" in text, ref
    # one hand-checked group: the storefront's only way in, and its register entry
    assert (
        "Ingress TCP 8080 from ingress-nginx/ingress-nginx-controller[Deployment] allowed by "
        "production/app-access ingress[0] · peer side: ingress-nginx/nginx-ingress "
        "egress[0] · register: AF-002"
    ) in text


def test_names_every_finding_with_its_remediation(text: str, evaluation) -> None:  # type: ignore[no-untyped-def]
    shown = 0
    for fw in evaluation.frameworks:
        for check in fw.checks:
            findings = [f for f in check.findings if f.status in ("fail", "warn", "waived")]
            assert len(findings) <= FINDINGS_PER_CHECK  # the sample prints every one
            for fr in findings:
                assert flat(fr.finding.message) in text, fr.finding.message
                if fr.finding.remediation:
                    assert flat(fr.finding.remediation)[:60] in text
                shown += 1
    assert shown > 20
    assert "Waived by WV-001" in text


def test_appendices_list_every_policy_and_input_with_its_sha256(text: str, evaluation) -> None:  # type: ignore[no-untyped-def]
    joined = text.replace(" ", "")
    for p in policy_rows(evaluation):
        assert f"{p.sha256}{p.namespace}/{p.name}(" in joined, p.name
    for i in input_rows(evaluation):
        assert i.sha256 in joined, i.path
    assert "jq -jcS . policy.json | sha256sum" in text


def test_boundary_section_draws_a_diagram_per_zone(sample_pack: Path, text: str) -> None:
    for zone in ("cde", "cardholder-data", "ingress-tier", "shared-services"):
        assert f"Zone {zone} (" in text
    assert "Flows into the zone from outside it" in text
    assert "not in register" in text


def test_methodology_explains_the_admin_policy_tiers_and_who_implements_them(
    pages: list[str], text: str
) -> None:
    from compliance.cni_support import implementations

    method = next(flat(p) for p in pages if "3. Methodology and limits" in p and "Enforcement" in p)
    assert "Cluster-wide policies (AdminNetworkPolicy)" in method
    assert "first the AdminNetworkPolicies by priority (lower number first)" in method
    assert "then the BaselineAdminNetworkPolicy named default" in method
    # The sentence comes from SEG-01's table; the PDF prints it whole.
    assert flat(implementations()) in text
    assert "Calico (from 3.29)" in text and "Cilium implements none of them" in text
    assert "A plugin that does not implement them enforces none of their rules" in text


def test_multi_framework_report_prints_each_shared_finding_once(
    fedramp_pack: Path, read_pdf_pages: Callable[[Path], list[str]]
) -> None:
    ev = sample_evaluation("fedramp")
    assert len(ev.frameworks) == 2  # moderate and high share one scope, so one run per check
    view = report_view(ev, digest="0" * 64)
    ids = [c.id for c in view["checks"]]
    assert len(ids) == len(set(ids))
    for section in view["checks"]:
        assert len(section.runs) == 1
        assert section.runs[0].frameworks == "fedramp-rev5-high, fedramp-rev5-moderate"
        results = [s.result for s in section.findings]
        assert len(results) == len(set(results))
    # The pack's PDF is this view's, with the pack's digest in place of the zeros.
    text = flat(" ".join(read_pdf_pages(fedramp_pack / "report.pdf")))
    for fw in ev.frameworks:
        for r in fw.requirements:
            assert f"{r.requirement.id} " in text


def _reader(data: bytes) -> pypdf.PdfReader:
    import io

    return pypdf.PdfReader(io.BytesIO(data))


# --------------------------------------------------------------------------- hostile values

HOSTILE = HOSTILE_MARKUP
CLUSTER = PAY_AND_WEB
SCOPE = f"""
cluster: '{HOSTILE}'
zones:
  - name: cde
    role: cde
    frameworks: [pci-dss-4.0.1]
    selectors:
      - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: pay}}}}
approved_flows:
  - id: '<b>AF-1</b>'
    from: {{namespace: web}}
    to: {{zone: cde}}
    justification: '{HOSTILE}'
    owner: '<u>team</u>'
    ticket: CHG-1
    expires: 2027-01-31
"""


def test_markup_from_a_cluster_or_scope_is_printed_as_text_and_never_fetched(
    hostile_report: tuple[str, PdfResult], read_pdf_pages: Callable[[bytes], Sequence[str]]
) -> None:
    html, result = hostile_report
    assert "<img" not in html
    assert "<script" not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert not [w for w in result.warnings if "refused" in w]
    pages = read_pdf_pages(result.data)
    assert HOSTILE_MARKUP in flat(pages[0])  # the cover's title
    # Appendix A, near the end (pages are read from the last: extracting is slow); its
    # narrow ID cell wraps anywhere
    assert any("<b>AF-1</b>" in re.sub(r"\s", "", pages[i]) for i in reversed(range(len(pages))))
    assert all(not page.images for page in _reader(result.data).pages)


def test_the_renderer_may_load_only_the_templates_own_assets(tmp_path: Path) -> None:
    """Markup that did reach the HTML still cannot read a file or reach the network: the
    URL fetcher refuses it and the document renders without it."""
    secret_css = tmp_path / "secret.css"
    secret_css.write_text("@page { size: 100mm 100mm; }")
    secret_png = tmp_path / "secret.png"
    secret_png.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
        )
    )
    html = (
        '<html><head><link rel="stylesheet" href="report.css">'
        f'<link rel="stylesheet" href="{secret_css.as_uri()}">'
        '<link rel="stylesheet" href="http://127.0.0.1:9/remote.css"></head><body>'
        f'<img src="{secret_png.as_uri()}"><img src="file:///etc/passwd">'
        '<img src="data:image/png;base64,iVBORw0KGgo="><p>text</p></body></html>'
    )
    result = html_to_pdf(html)
    refused = " ".join(result.warnings)
    for url in (
        secret_css.as_uri(),
        secret_png.as_uri(),
        "file:///etc/passwd",
        "http://127.0.0.1:9",
    ):
        assert url in refused
    assert "data:image/png" in refused
    reader = _reader(result.data)
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == list(
        A4
    )  # report.css, not secret.css
    assert not reader.pages[0].images


def test_templates_autoescape_whatever_their_name(tmp_path: Path) -> None:
    (tmp_path / "page.txt").write_text("{{ value }}")
    rendered = html_environment(tmp_path).get_template("page.txt").render(value="<b>&</b>")
    assert rendered == "&lt;b&gt;&amp;&lt;/b&gt;"


# --------------------------------------------------------------------------- custom templates

CODE_PAYLOADS = [
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ self.__init__.__globals__['__builtins__']['open']('/etc/hostname').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ items.append('x') }}{{ items }}",
    "{{ table.update(a=1) }}{{ table }}",
]


@pytest.mark.parametrize("payload", CODE_PAYLOADS)
def test_a_template_cannot_run_code_read_files_or_mutate_values(
    payload: str, tmp_path: Path
) -> None:
    (tmp_path / "report.html.j2").write_text(payload)
    with pytest.raises(InputError) as caught:
        render_html({"items": [], "table": {}}, tmp_path)
    assert caught.value.exit_code == 2
    assert str(caught.value).startswith(f"report template {tmp_path / 'report.html.j2'}: refused:")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("statement", ["{% include 'NAME' %}", "{% import 'NAME' as x %}"])
@pytest.mark.parametrize("target", ["outside", "hidden"])
def test_includes_and_imports_stay_inside_the_template_folder(
    statement: str, target: str, tmp_path: Path
) -> None:
    """Jinja refuses `..` but follows symlinks; the loader refuses whatever resolves
    outside the folder, and hidden files, which the manifest does not list."""
    folder = tmp_path / "templates"
    folder.mkdir()
    if target == "outside":
        (tmp_path / "secret.txt").write_text("SECRET")
        (folder / "x.html").symlink_to(tmp_path / "secret.txt")
        name = "x.html"
    else:
        (folder / ".secret.html").write_text("SECRET")
        name = ".secret.html"
    (folder / "report.html.j2").write_text(statement.replace("NAME", name))
    with pytest.raises(InputError, match=f"'{name}' is hidden or resolves outside"):
        render_html({}, folder)


def test_includes_inside_the_folder_still_work(tmp_path: Path) -> None:
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "cover.html").write_text("<h1>{{ title }}</h1>")
    (tmp_path / "report.html.j2").write_text("{% include 'parts/cover.html' %}")
    assert render_html({"title": "<Q4>"}, tmp_path) == "<h1>&lt;Q4&gt;</h1>"


def test_stock_templates_render_in_the_immutable_sandbox() -> None:
    import jinja2.sandbox

    from compliance.render.pdf import templates_dir

    env = html_environment(templates_dir())
    assert isinstance(env, jinja2.sandbox.ImmutableSandboxedEnvironment)


def test_an_asset_symlinked_out_of_the_template_folder_is_not_served(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    secret = tmp_path / "secret.css"
    secret.write_text("@page { size: 100mm 100mm; }")
    (folder / "report.css").symlink_to(secret)
    (folder / "report.html.j2").write_text("x")
    link = f'<link rel="stylesheet" href="{secret.as_uri()}">'  # where the symlink leads
    result = html_to_pdf(f"<html><head>{link}</head><body>x</body></html>", folder)
    assert any(secret.as_uri() in w and "refused" in w for w in result.warnings)
    assert [round(float(v)) for v in _reader(result.data).pages[0].mediabox[2:]] != [283, 283]


def test_report_with_a_hostile_template_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "report.html.j2").write_text(CODE_PAYLOADS[0])
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    (tmp_path / "scope.yaml").write_text(SCOPE)
    out = tmp_path / "evidence"
    args = [
        "report", str(tmp_path / "cluster.yaml"), "--scope", str(tmp_path / "scope.yaml"),
        "--as-of", "2026-11-26", "--out", str(out), "--templates", str(folder), "--exit-zero",
    ]  # fmt: skip
    code = run(cli.main, args)
    err = capsys.readouterr().err
    assert code == 2
    (line,) = [e for e in err.splitlines() if e.startswith("error:")]
    assert "refused: access to attribute '__init__'" in line
    assert "uid=" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cluster.yaml", "scope.yaml", "templates"]


def test_a_template_folder_edited_between_two_reports_is_compiled_again(tmp_path: Path) -> None:
    """The compiled template is kept by its folder's bytes: an edit within the same second
    (same modification time to the second) is still seen."""
    (tmp_path / "report.html.j2").write_text("one {{ x }}|{% include 'part.j2' %}")
    (tmp_path / "part.j2").write_text("a")
    assert render_html({"x": 1}, tmp_path) == "one 1|a"
    (tmp_path / "report.html.j2").write_text("two {{ x }}|{% include 'part.j2' %}")
    assert render_html({"x": 1}, tmp_path) == "two 1|a"
    (tmp_path / "part.j2").write_text("b")
    assert render_html({"x": 1}, tmp_path) == "two 1|b"


def test_the_manifest_lists_the_templates_so_custom_ones_change_the_digest(
    tmp_path: Path, no_pdf_layout: list[str]
) -> None:
    import hashlib

    from compliance.pack import render_files
    from compliance.render.pdf import templates_dir

    ev = evaluation_from_yaml(CLUSTER, SCOPE)
    stock = render_files(ev)
    manifest = json.loads(stock.files["manifest.json"])
    rows = [i for i in manifest["inputs"] if i["role"] == "template"]
    shipped = sorted(p for p in templates_dir().iterdir() if not p.name.startswith("."))
    assert [r["path"] for r in rows] == [f"compliance:report_templates/{p.name}" for p in shipped]
    for row, path in zip(rows, shipped, strict=True):
        assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()

    custom = tmp_path / "mine"
    custom.mkdir()
    for path in shipped:
        (custom / path.name).write_bytes(path.read_bytes())
    ours = "\n/* ours */\n@page { size: 100mm 100mm; }\n"
    (custom / "report.css").write_text((custom / "report.css").read_text() + ours)
    (custom / ".git").mkdir()  # hidden entries are never read, so never listed
    (custom / ".git" / "HEAD").write_text("ref")
    mine = render_files(ev, templates=custom)
    assert mine.digest != stock.digest
    listed = json.loads(mine.files["manifest.json"])["inputs"]
    assert [r["path"].rsplit("/", 1)[1] for r in listed if r["role"] == "template"] == [
        p.name for p in shipped
    ]
    # What the report says (its layout is the stub's): Appendix C names them by folder.
    assert "template mine/report.css" in html_text(no_pdf_layout[-1])
    # The layout takes its stylesheet from the custom folder: the pages are its size.
    page = '<html><head><link rel="stylesheet" href="report.css"></head><body>x</body></html>'
    result = html_to_pdf(page, custom)
    assert result.warnings == ()
    assert round(float(_reader(result.data).pages[0].mediabox.width) / 72 * 25.4) == 100


# --------------------------------------------------------------------------- failures


class _NoPango(MetaPathFinder):
    """Imports WeasyPrint the way a machine without Pango does: cffi cannot dlopen it."""

    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise OSError(
                "cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file"
            )
        return None


@pytest.fixture
def no_pango(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
        monkeypatch.delitem(sys.modules, name)
    finder = _NoPango()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def test_missing_pango_is_one_line_naming_the_packages_and_writes_nothing(
    no_pango: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "evidence"
    code = run(
        cli.main,
        [
            "report",
            str(ROOT / "samples/shop-cluster"),
            "--scope",
            str(ROOT / "samples/pci-dss.scope.yaml"),
            "--out",
            str(out),
            "--exit-zero",
        ],
    )
    err = capsys.readouterr().err.splitlines()
    assert code == 3
    assert err[-1].startswith("error: the PDF renderer (WeasyPrint) cannot load Pango")
    assert "apt-get install libpango-1.0-0 libpangoft2-1.0-0" in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert list(tmp_path.iterdir()) == []


def test_missing_pango_raises_a_render_error(no_pango: None) -> None:
    with pytest.raises(RenderError, match=re.escape("libpango-1.0-0 libpangoft2-1.0-0")):
        html_to_pdf("<p>x</p>")


def test_zone_table_cites_register_entries_per_port_range(text: str) -> None:
    """app -> logging allows TCP 443 and 24224; AF-004 covers 24224 only. The row must
    name AF-004 for 24224 and say 443 is not in the register, not mark it all missing."""
    assert (
        "shared-services/logging TCP 443, 24224 1 AF-004: TCP 24224; not in register: TCP 443"
        in text
    )


def test_zone_matrix_with_intended_cells_and_what_goes_beyond(pages: list[str]) -> None:
    (page,) = [flat(p) for p in pages if "Zone-to-zone matrix Every allowed flow" in flat(p)]
    assert "from \\ to cde cardholder-data ingress-tier shared-services outside the cluster" in page
    assert "out of scope (no zone)" in page
    # cde -> shared-services: registered DNS and logging, but TCP 443 beyond the policy
    assert "intended: TCP 53, 24224; UDP 53 beyond: TCP 443" in page
    assert "intended: none beyond: TCP 9092" in page  # analytics -> kafka (out of scope -> cde)
    assert "zone_policy, 8 cells" in page


def test_multi_line_remediation_prints_as_a_block(pages: list[str]) -> None:
    """YAML remediations keep their lines, so they paste: `kind:` starts a line."""
    joined = "\n".join(pages)
    assert "Remediation (paste as YAML):" in flat(joined)
    assert "\nkind: NetworkPolicy\n" in joined
    assert "\n# then allow only the ingress flows it needs\n" in joined


def test_findings_print_their_stable_ids(text: str, evaluation) -> None:  # type: ignore[no-untyped-def]
    from compliance.checks.base import finding_id

    (fw,) = evaluation.frameworks
    for check in fw.checks:
        for fr in check.findings:
            assert f"Finding {finding_id(check.id, fr.finding)}" in text


def test_cover_says_the_as_of_is_stated_and_when_the_export_was_taken(pages: list[str]) -> None:
    """The sample has no capture record: the cover gives the bound its objects set."""
    cover = flat(pages[0])
    assert "The as-of time is the preparer's statement (--as-of)" in cover
    assert "Export captured capture time not recorded; taken after 2024-11-18T09:02:11Z" in cover


def test_policy_appendix_names_cluster_wide_policies_only_when_there_are_some(
    hostile_report: tuple[str, PdfResult], read_pdf_pages: Callable[[bytes], Sequence[str]]
) -> None:
    # The hostile report's export holds an AdminNetworkPolicy.
    heading = "Appendix B. NetworkPolicies and cluster-wide policies"
    data = hostile_report[1].data
    titles = [item.title for item in _reader(data).outline if not isinstance(item, list)]
    assert heading in titles
    # Appendix B is near the end: read pages back from the last until it starts.
    pages = read_pdf_pages(data)
    text = ""
    for i in reversed(range(len(pages))):
        text = flat(pages[i]) + " " + text
        if heading in text:
            break
    assert "then every AdminNetworkPolicy, BaselineAdminNetworkPolicy and " in text
    assert "anp/cde-guard (AdminNetworkPolicy, priority 3;" in text
    # Without one, read from the HTML: the sample pack's PDF shows this heading in its
    # outline (test_the_pdf_has_bookmarks_and_reproducible_dates).
    plain_scope = SCOPE.replace(f"'{HOSTILE}'", "test").split("approved_flows:")[0]
    text = html_text(render_html(report_view(evaluation_from_yaml(CLUSTER, plain_scope))))
    assert "Appendix B. NetworkPolicies" in text
    assert "cluster-wide policies" not in text
    assert "Every NetworkPolicy in the export (0), with its types" in text
