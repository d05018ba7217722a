"""Fixtures every test module shares, and the hypothesis profiles.

Speed: laying out a report.pdf (WeasyPrint) and reading its text back (pypdf) are the
costliest steps of the suite, so each bundled sample's pack is rendered once per run
(`sample_pack`, `fedramp_pack`, `demo_runs`), and tests that write, replace or fail a
pack rather than judge its layout reuse the layout of an identical report
(`reuse_rendered_pdf`). "Once per run" holds across pytest-xdist workers: what one
worker builds, the others wait for and read (`shared_folder`, `_SharedLayouts`). A page's
text is extracted only when a test reads it (`read_pdf_pages`). Property tests run a few
examples by default and many more with HYPOTHESIS_PROFILE=ci.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any, overload

import pytest
from hypothesis import settings

import compliance.cli as cli_module
from tests.helpers import DEMO_ARGS, Result

# Property tests that state no example count use these; `derandomize` keeps every run of
# a profile on the same examples, so a failure reproduces.
settings.register_profile("dev", max_examples=40, deadline=None, derandomize=True)
settings.register_profile("ci", max_examples=400, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def compliance(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run the CLI in-process: `compliance("flows", path, "--format", "json")`."""

    def invoke(*args: object) -> Result:
        capsys.readouterr()  # drop anything printed before
        code = cli_module.run(cli_module.cli.main, [str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


@pytest.fixture(autouse=True)
def _fresh_debug_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--debug` is remembered on a class attribute; start every test from off."""
    monkeypatch.setattr(cli_module._State, "debug", False)


def run_folder(factory: pytest.TempPathFactory) -> Path:
    """A folder of this test run that every xdist worker sees (beside the workers' own
    base folders, named by the run's id: a `--basetemp` given again is not emptied for
    the workers), or the base folder itself without xdist."""
    base = factory.getbasetemp()
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    return base.parent / f"run-{run}" if run else base


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing): one process at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_folder(
    factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """`run_folder/name`, built by `build(folder)` in whichever worker asks first; the
    others wait for it. A build that fails leaves nothing, so the next asker tries again
    and fails the same way in its own test."""
    top = run_folder(factory) / "shared"
    folder = top / name
    with _locked(top / f"{name}.lock"):
        if not (top / f"{name}.done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            try:
                build(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            (top / f"{name}.done").touch()
    return folder


class _SharedLayouts:
    """html_to_pdf results by (HTML, template folder), kept in a folder every worker of
    the run reads: the first worker to lay out an HTML stores the PDF, the others (and
    later tests of its own) read it."""

    folder: Path | None = None

    @classmethod
    def get(cls, html: str, folder: Path | None, render: Callable[..., Any]) -> Any:
        from compliance.render.pdf import PdfResult

        assert cls.folder is not None, "the session fixture sets the folder"
        key = hashlib.sha256(f"{folder}\0{html}".encode()).hexdigest()
        pdf, meta = cls.folder / f"{key}.pdf", cls.folder / f"{key}.json"
        with _locked(cls.folder / f"{key}.lock"):
            if not meta.exists():
                result = render(html, folder)
                pdf.write_bytes(result.data)
                meta.write_text(json.dumps([result.pages, list(result.warnings)]))
        pages, warnings = json.loads(meta.read_text())
        return PdfResult(pdf.read_bytes(), pages, tuple(warnings))


@pytest.fixture(scope="session", autouse=True)
def _shared_layouts(tmp_path_factory: pytest.TempPathFactory) -> None:
    _SharedLayouts.folder = run_folder(tmp_path_factory) / "shared" / "layouts"
    _SharedLayouts.folder.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def lay_out() -> Callable[..., Any]:
    """`html_to_pdf` through the run's shared layouts, for a module fixture that lays out
    one report for several tests: xdist may run that module's tests on both workers."""
    from compliance.render.pdf import html_to_pdf

    def shared(html: str, folder: Path | None = None) -> Any:
        return _SharedLayouts.get(html, folder, html_to_pdf)

    return shared


def _patch_layout_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    import compliance.pack

    real = compliance.pack.html_to_pdf

    def html_to_pdf(html: str, folder: Path | None = None) -> Any:
        return _SharedLayouts.get(html, folder, real)

    monkeypatch.setattr(compliance.pack, "html_to_pdf", html_to_pdf)


@pytest.fixture
def reuse_rendered_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pack's PDF from the HTML alone, laid out once per run for identical HTML.

    For tests about writing, replacing, exit codes or failures of a pack, not about its
    layout: `html_to_pdf` is a pure function of the HTML and the template folder (the
    cross-process byte-identity tests check that without this cache), and the sample
    pack's HTML is the same whichever folder the pack goes to.
    """
    _patch_layout_cache(monkeypatch)


ROOT = Path(__file__).resolve().parent.parent


def _report_in_process(args: list[str]) -> str:
    """`compliance report ARGS` in this process, reusing the layouts of identical HTML;
    what it printed."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out):
        _patch_layout_cache(patch)
        assert cli_module.run(cli_module.cli.main, args) == 0, args
    return out.getvalue()


@pytest.fixture(scope="session")
def sample_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's evidence pack (`make demo`'s first command: the shop's PCI DSS scope,
    its probe plan and results, both flow logs) and its zip, rendered once in-process for
    every test that only reads it: rendering takes seconds. Tests that change a pack copy
    it first. It is written from the project root with the inputs named as `make demo`
    names them, so its seal is the README's; beside it, `stdout.txt` is what it printed."""

    def build(folder: Path) -> None:
        args = [*DEMO_ARGS, "--out", str(folder / "evidence"), "--zip", "--exit-zero"]
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(ROOT)
            printed = _report_in_process(args)  # its layout serves `reuse_rendered_pdf` tests
        (folder / "stdout.txt").write_text(printed)

    return shared_folder(tmp_path_factory, "sample", build) / "evidence"


@pytest.fixture(scope="session")
def fedramp_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop sample's FedRAMP pack: two frameworks (Moderate and High) sharing a scope."""

    def build(folder: Path) -> None:
        args = [
            "report", str(ROOT / "samples/shop-cluster"),
            "--scope", str(ROOT / "samples/fedramp.scope.yaml"),
            "--as-of", "2026-11-26T00:00:00Z", "--out", str(folder / "pack"), "--exit-zero",
        ]  # fmt: skip
        _report_in_process(args)

    return shared_folder(tmp_path_factory, "fedramp", build) / "pack"


@pytest.fixture(scope="session")
def hostile_report(lay_out: Callable[..., Any]) -> tuple[str, Any]:
    """The HTML and laid-out PDF of one report whose export and scope carry markup,
    hidden characters and an AdminNetworkPolicy (tests/helpers.py, HOSTILE_*): the
    markup, hidden-character and policy-appendix tests read the same pages."""
    from compliance.render.pdf import render_html
    from compliance.render.report import report_view
    from tests.helpers import HOSTILE_CLUSTER, HOSTILE_SCOPE, HOSTILE_TITLE, evaluation_from_yaml

    ev = evaluation_from_yaml(HOSTILE_CLUSTER, HOSTILE_SCOPE)
    html = render_html(report_view(ev, title=HOSTILE_TITLE, digest="0" * 64))
    return html, lay_out(html)


@pytest.fixture(scope="session")
def demo_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> list[tuple[Path, str]]:
    """The demo's pack written by two processes with different hash seeds: `sample_pack`,
    written in a test worker, and the same command run again in a new process, each pack
    folder (zipped too) with what its process printed. The second process starts first
    and runs beside the first pack's rendering when that is still to be done (two cores).
    """
    # The worker's seed is random unless PYTHONHASHSEED fixes it; the second process's is
    # fixed, and never the worker's.
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"

    def build(base: Path) -> None:
        out = base / "evidence"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        cmd = [sys.executable, "-m", "compliance", *DEMO_ARGS, "--out", str(out)]
        cmd += ["--exit-zero", "--zip"]
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            request.getfixturevalue("sample_pack")
        finally:
            stdout, stderr = proc.communicate()
        assert proc.returncode == 0, stderr
        (base / "stdout.txt").write_text(stdout)

    base = shared_folder(tmp_path_factory, "demo", build)
    first = request.getfixturevalue("sample_pack")
    return [
        (first, (first.parent / "stdout.txt").read_text()),
        (base / "evidence", (base / "stdout.txt").read_text()),
    ]


class PdfPages(Sequence[str]):
    """The text of each page of one PDF as pypdf extracts it, page by page when first read.

    Extracting is as slow as laying out (pypdf parses every glyph of a page), most tests
    read a few pages of a long report, and several modules read the same packs: so a page
    is extracted only when a test reads it, and once per run across xdist workers."""

    def __init__(self, data: bytes, folder: Path) -> None:
        import io

        import pypdf

        self._reader = pypdf.PdfReader(io.BytesIO(data))
        self._key = hashlib.sha256(data).hexdigest()
        self._folder = folder
        self._texts: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._reader.pages)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        number = range(len(self))[index]  # IndexError past the end ends iteration
        if number not in self._texts:
            path = self._folder / f"{self._key}-{number}.json"
            with _locked(self._folder / f"{self._key}.lock"):
                if not path.exists():
                    path.write_text(json.dumps(self._reader.pages[number].extract_text()))
            self._texts[number] = json.loads(path.read_text())
        return self._texts[number]


@pytest.fixture(scope="session")
def read_pdf_pages(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path | bytes], PdfPages]:
    """`read(pdf)`: the text of each page of a PDF (a path or its bytes), a `PdfPages`."""
    folder = run_folder(tmp_path_factory) / "shared" / "pdf-text"

    def read(pdf: Path | bytes) -> PdfPages:
        return PdfPages(pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes(), folder)

    return read


@pytest.fixture
def no_pdf_layout(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A one-page stub for the pack's report.pdf: for tests of a pack's other files (its
    results, snapshot, manifest, verify) or of what the report says (the HTML it would
    lay out, returned in order), not of the PDF's layout, which other tests check."""
    import compliance.pack
    from compliance.render.pdf import PdfResult

    laid_out: list[str] = []

    def html_to_pdf(html: str, folder: Path | None = None) -> PdfResult:
        laid_out.append(html)
        return PdfResult(b"%PDF-", 1, ())

    monkeypatch.setattr(compliance.pack, "html_to_pdf", html_to_pdf)
    return laid_out


@pytest.fixture(scope="session")
def pack_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Three packs of the sample shop, each made with `--baseline` the one before:
    `q1` (shop-cluster, 2026-11-26), `q2` (shop-cluster-q2, 2027-03-01, also zipped) and
    `q3` (shop-cluster-q2 again, 2027-06-01). For tests of chaining and history, not of
    the PDF: its layout is replaced by a stub, so each pack takes a second."""
    import compliance.pack
    from compliance.render.pdf import PdfResult

    root = ROOT
    top = tmp_path_factory.mktemp("chain")
    packs = {name: top / name for name in ("q1", "q2", "q3")}
    runs = [
        ("q1", "shop-cluster", "pci-dss.scope.yaml", "2026-11-26T00:00:00Z", None),
        ("q2", "shop-cluster-q2", "pci-dss-q2.scope.yaml", "2027-03-01T00:00:00Z", "q1"),
        ("q3", "shop-cluster-q2", "pci-dss-q2.scope.yaml", "2027-06-01T00:00:00Z", "q2"),
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            compliance.pack, "html_to_pdf", lambda html, folder=None: PdfResult(b"%PDF-", 1, ())
        )
        patch.chdir(top)
        for name, export, scope, as_of, base in runs:
            args = [
                "report", str(root / "samples" / export), "--scope", str(root / "samples" / scope),
                "--as-of", as_of, "--out", name, "--exit-zero",
                *(["--baseline", base] if base else []), *(["--zip"] if name == "q2" else []),
            ]  # fmt: skip
            assert cli_module.run(cli_module.cli.main, args) == 0, args
    yield packs
