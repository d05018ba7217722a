"""HTML from the Jinja2 templates in `report_templates/`, PDF from that HTML by WeasyPrint.

Templates are code a user may supply (`--templates`), so they run in Jinja's immutable
sandbox, stock and custom alike: no attribute walk reaches `__globals__` or `open`, no
value is mutated, and `include`/`import` load only files that resolve (after symlinks)
inside the template folder. `template_files` lists what the renderer may read, so the
manifest can record the templates' hashes.

Values from a cluster are data: the templates autoescape, and WeasyPrint gets a URL
fetcher that serves the template folder's own assets from memory and refuses every
other URL (`file:`, `http:`, `data:` alike), so no markup in a label can make the
renderer read a file or reach the network. The PDF's dates come from `--as-of` and it
carries no random identifier, so the same report gives the same bytes.
"""

from __future__ import annotations

import functools
import logging
import mimetypes
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import markupsafe

from compliance.errors import ComplianceError, InputError, RenderError
from compliance.render.text import breakable
from compliance.text import visible

_PACKAGE = Path(__file__).resolve().parent.parent
ASSET_SUFFIXES = frozenset({".css", ".svg", ".png", ".ttf", ".otf", ".woff", ".woff2"})
MAIN_TEMPLATE = "report.html.j2"
PANGO_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0"
NOT_WORTH_SAYING = ("HarfBuzz-Subset",)
"""WeasyPrint messages about its own speed, not about the document: without Debian's
libharfbuzz-subset0 it subsets fonts with fontTools, slower but the same pages."""


def templates_dir() -> Path:
    """`compliance/report_templates` in a wheel, `report_templates/` in a checkout."""
    inside = _PACKAGE / "report_templates"
    return inside if inside.is_dir() else _PACKAGE.parent / "report_templates"


def inside(path: Path, folder: Path) -> bool:
    """Whether `path`, symlinks resolved, is `folder` or below it."""
    real = Path(os.path.realpath(path))
    top = Path(os.path.realpath(folder))
    return real == top or top in real.parents


def template_files(folder: Path) -> tuple[tuple[str, bytes], ...]:
    """Every file the renderer could read from `folder` (the loader's templates and the
    fetcher's assets), by its path inside the folder, sorted: hidden entries and files
    that resolve outside the folder are never read, so they are not listed either."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            if name.startswith(".") or not path.is_file() or not inside(path, folder):
                continue
            found.append((path.relative_to(folder).as_posix(), path.read_bytes()))
    return tuple(sorted(found))


class TemplateRefused(jinja2.TemplateError):
    """A template asked for a file outside its folder."""


class ContainedLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that refuses templates resolving outside its folder: Jinja already
    rejects `..`, but it follows symlinks, and a symlinked include could read any file."""

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self.folder = folder

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        hidden = any(part.startswith(".") for part in Path(filename).relative_to(self.folder).parts)
        if hidden or not inside(Path(filename), self.folder):
            raise TemplateRefused(
                f"{template!r} is hidden or resolves outside the template folder {self.folder}"
            )
        return source, filename, uptodate


def html_environment(folder: Path) -> jinja2.Environment:
    """The immutable sandbox, contained to `folder`, autoescaping every template whatever
    its name; undefined names are errors: a typo in a template must fail the run rather
    than print an empty cell."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        loader=ContainedLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=shown,
    )
    env.filters["breakable"] = breakable
    return env


def shown(value: Any) -> Any:
    """Every `{{ value }}` of a template: text from the inputs shows control and format
    characters as escapes (a U+202E must not reverse an owner's name in the PDF); markup
    the templates mark safe (the diagrams, which escape their own text) passes as is."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return visible(value, keep_newlines=True)
    return value


@functools.lru_cache(maxsize=8)
def _main_template(folder: Path, files: tuple[tuple[str, bytes], ...]) -> jinja2.Template:
    """The compiled main template of `folder`, kept while the folder's files (`files`, their
    bytes) stay the same: compiling takes longer than rendering a small report, and a
    process may render several. A failure to compile is raised again on every call."""
    return html_environment(folder).get_template(MAIN_TEMPLATE)


def render_html(view: Mapping[str, Any], folder: Path | None = None) -> str:
    """The report's HTML; a template the sandbox refuses is a bad input (exit 2), any other
    template fault a rendering failure (exit 3)."""
    folder = folder or templates_dir()
    if not (folder / MAIN_TEMPLATE).is_file():
        raise RenderError(f"{folder / MAIN_TEMPLATE}: report template not found")
    try:
        return _main_template(folder, template_files(folder)).render(**view)
    except (jinja2.exceptions.SecurityError, TemplateRefused) as exc:
        where = f"report template {folder / MAIN_TEMPLATE}"
        raise InputError(f"refused: {exc}", source=where) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"report template {exc.filename}:{exc.lineno}: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"report template {folder / MAIN_TEMPLATE}: {exc}") from exc


def _weasyprint() -> Any:
    """Imported on first use: WeasyPrint loads Pango through cffi at import time, and a
    machine without it should still list flows and evaluate controls."""
    try:
        import weasyprint
    except OSError as exc:
        raise RenderError(
            f"the PDF renderer (WeasyPrint) cannot load Pango ({exc}); "
            f"install the system packages {PANGO_PACKAGES} "
            f"(Debian/Ubuntu: apt-get install {PANGO_PACKAGES})"
        ) from exc
    return weasyprint


@dataclass
class AssetFetcher:
    """Serves the files of one folder by their `file:` URL and refuses everything else.

    The assets are read once, up front; a refused URL is remembered so the caller can
    say what the document tried to load."""

    folder: Path
    assets: dict[str, bytes] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, data in template_files(self.folder):
            if Path(name).suffix.lower() in ASSET_SUFFIXES:
                self.assets[(self.folder / name).resolve().as_uri()] = data

    @property
    def base_url(self) -> str:
        return self.folder.resolve().as_uri() + "/"

    def fetch(self, url: str) -> tuple[bytes, str]:
        """The asset's bytes and MIME type; ValueError for anything not an asset."""
        body = self.assets.get(url.split("?", 1)[0].split("#", 1)[0])
        if body is None:
            self.refused.append(url)
            raise ValueError(f"refused to fetch {url!r}: only the report's own assets load")
        mime = mimetypes.guess_type(url)[0] or "application/octet-stream"
        return body, mime

    def weasyprint_fetcher(self, weasyprint: Any) -> Any:
        outer = self

        class _Fetcher(weasyprint.urls.URLFetcher):  # type: ignore[misc]
            def fetch(self, url: str, headers: Any = None) -> Any:
                body, mime = outer.fetch(url)
                return weasyprint.urls.URLFetcherResponse(url, body, headers={"Content-Type": mime})

        return _Fetcher()


@contextmanager
def _collect_logs(sink: list[str]) -> Iterator[None]:
    """WeasyPrint reports problems by logging; collect them as warnings instead of letting
    them reach the terminal unasked."""
    logger = logging.getLogger("weasyprint")

    class _Sink(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            sink.append(record.getMessage())

    handler = _Sink(level=logging.WARNING)
    saved = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved


@dataclass(frozen=True, slots=True)
class PdfResult:
    data: bytes
    pages: int
    warnings: tuple[str, ...]


def html_to_pdf(html: str, folder: Path | None = None) -> PdfResult:
    """Render with only the template folder's assets reachable."""
    folder = folder or templates_dir()
    weasyprint = _weasyprint()
    fetcher = AssetFetcher(folder)
    messages: list[str] = []
    try:
        with _collect_logs(messages):
            document = weasyprint.HTML(
                string=html,
                base_url=fetcher.base_url,
                url_fetcher=fetcher.weasyprint_fetcher(weasyprint),
            ).render()
            data = document.write_pdf(pdf_identifier=False)
    except ComplianceError:
        raise
    except Exception as exc:
        raise RenderError(f"report.pdf: rendering failed: {type(exc).__name__}: {exc}") from exc
    refused = [f"report.pdf: refused to load {url!r}" for url in dict.fromkeys(fetcher.refused)]
    others = [
        f"report.pdf: {m}"
        for m in dict.fromkeys(messages)
        if "refused to fetch" not in m and not any(n in m for n in NOT_WORTH_SAYING)
    ]
    return PdfResult(data, len(document.pages), (*refused, *others))
