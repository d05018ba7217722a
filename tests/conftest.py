"""Fixtures every test module shares, and the hypothesis profiles.

Speed: laying out the sample's report.pdf is the costliest step of the suite, so the
sample pack is rendered once per run (`sample_pack`), and tests that write, replace or
fail a pack rather than judge its layout reuse the layout of an identical report
(`reuse_rendered_pdf`). Property tests run a few examples by default and many more with
HYPOTHESIS_PROFILE=ci.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

import compliance.cli as cli_module
from tests.helpers import Result

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


_PDF_LAYOUTS: dict[tuple[str, str], Any] = {}
"""html_to_pdf results by (HTML, template folder), for `reuse_rendered_pdf`."""


def _patch_layout_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    import compliance.pack

    real = compliance.pack.html_to_pdf

    def html_to_pdf(html: str, folder: Path | None = None) -> Any:
        key = (html, str(folder))
        if key not in _PDF_LAYOUTS:
            _PDF_LAYOUTS[key] = real(html, folder)
        return _PDF_LAYOUTS[key]

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


@pytest.fixture(scope="session")
def sample_pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sample's PCI DSS evidence pack (and its zip), rendered once for every test that
    only reads it: rendering takes seconds. Tests that change a pack copy it first."""
    root = Path(__file__).resolve().parent.parent
    out = tmp_path_factory.mktemp("pack") / "evidence"
    args = [
        "report",
        str(root / "samples/shop-cluster"),
        "--scope",
        str(root / "samples/pci-dss.scope.yaml"),
        "--as-of",
        "2026-11-26T00:00:00Z",
        "--out",
        str(out),
        "--zip",
        "--exit-zero",
    ]
    with pytest.MonkeyPatch.context() as patch:
        _patch_layout_cache(patch)  # its layout serves `reuse_rendered_pdf` tests
        assert cli_module.run(cli_module.cli.main, args) == 0
    yield out


@pytest.fixture(scope="session")
def pack_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Three packs of the sample shop, each made with `--baseline` the one before:
    `q1` (shop-cluster, 2026-11-26), `q2` (shop-cluster-q2, 2027-03-01, also zipped) and
    `q3` (shop-cluster-q2 again, 2027-06-01). For tests of chaining and history, not of
    the PDF: its layout is replaced by a stub, so each pack takes a second."""
    import compliance.pack
    from compliance.render.pdf import PdfResult

    root = Path(__file__).resolve().parent.parent
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
