"""The evidence pack: one folder (and optionally a zip of it) that an assessor can check.

The report templates are inputs too: their sha256 are listed among the inputs (role
`template`), so a pack made with custom templates has a different digest from one made
with the stock ones.

`build_pack` renders results.json, evidence.xlsx and report.pdf into a folder next to
the destination and moves it into place only when every file is written, so a failure
leaves no partial pack (`destination.py`: what may be replaced, the lock, the renames).
`manifest.json` records the sha256 and size of every pack file and every input, and one
digest over them that the PDF prints on its cover. The digest cannot cover the PDF that
shows it; it covers the inputs and the other files, and the manifest holds the PDF's own
hash. `verify_pack` recomputes all of it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import shutil
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from compliance import __version__
from compliance.datafile import schema_problem
from compliance.destination import (
    FORMAT,
    MANIFEST,
    Destination,
    move_into_place,
    open_destination,
    zip_path_for,
)
from compliance.errors import InputError, RenderError
from compliance.evaluate import Evaluation
from compliance.forked import Background
from compliance.paths import recorded_path
from compliance.render.evidence import InputRow, input_rows
from compliance.render.pdf import html_to_pdf, render_html, template_files, templates_dir
from compliance.render.report import report_view
from compliance.render.results import TOOL_NAME, as_of_text, render_json
from compliance.render.workbook import write_workbook
from compliance.snapshot import SNAPSHOT, snapshot_bytes

RESULTS, WORKBOOK, REPORT = "results.json", "evidence.xlsx", "report.pdf"
DIGEST_METHOD = (
    "sha256 of one line per input ('<sha256> <size> input:<path>') and then per pack "
    "file except report.pdf ('<sha256> <size> file:<path>'), in manifest order, each "
    "line ending in a newline"
)
DIGEST_COVERS = (
    "every input and every pack file except report.pdf, which prints this digest on its "
    "cover; report.pdf's own sha256 is listed under files"
)
ZIP_EPOCH = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class PackFile:
    path: str
    sha256: str
    size: int

    @classmethod
    def of(cls, path: str, data: bytes) -> PackFile:
        return cls(path, hashlib.sha256(data).hexdigest(), len(data))


@dataclass(frozen=True, slots=True)
class Pack:
    folder: Path
    zip_path: Path | None
    digest: str
    files: tuple[PackFile, ...]
    pages: int
    warnings: tuple[str, ...]


def pack_digest(inputs: Iterable[Mapping[str, Any]], files: Iterable[Mapping[str, Any]]) -> str:
    lines = [f"{i['sha256']} {i['size']} input:{i['path']}\n" for i in inputs]
    lines += [f"{f['sha256']} {f['size']} file:{f['path']}\n" for f in files if f["path"] != REPORT]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _dump(doc: Any) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def template_rows(templates: Path | None) -> tuple[InputRow, ...]:
    """The report templates as inputs: the stock ones named inside the package (like the
    shipped control files), custom ones by the folder's recorded path."""
    folder = templates or templates_dir()
    top = "compliance:report_templates" if templates is None else recorded_path(folder)
    return tuple(
        InputRow("template", f"{top}/{name}", hashlib.sha256(data).hexdigest(), len(data))
        for name, data in template_files(folder)
    )


def manifest_doc(
    ev: Evaluation,
    files: Iterable[PackFile],
    digest: str,
    templates: Iterable[InputRow] = (),
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "cluster": ev.scope.cluster,
        "as_of": as_of_text(ev),
        "frameworks": [fw.framework.id for fw in ev.frameworks],
        "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in files],
        "inputs": [
            {"role": i.role, "path": i.path, "sha256": i.sha256, "size": i.size}
            for i in (*input_rows(ev), *templates)
        ],
        "digest": {
            "algorithm": "sha256",
            "value": digest,
            "covers": DIGEST_COVERS,
            "method": DIGEST_METHOD,
        },
    }


@dataclass(frozen=True, slots=True)
class Rendered:
    files: dict[str, bytes]
    """Every pack file's bytes, the manifest included."""
    listed: tuple[PackFile, ...]
    """What the manifest lists: every file but itself."""
    digest: str
    pages: int
    warnings: tuple[str, ...]


def render_files(
    ev: Evaluation,
    title: str | None = None,
    templates: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Rendered:
    """The pack in memory; no I/O but reading the templates (and a scratch file for the
    spreadsheet written alongside)."""
    say = progress or (lambda _message: None)
    with Background(lambda: _workbook_bytes(ev), RenderError) as spreadsheet:
        results = render_json(ev).encode()
        say(f"{RESULTS}: {len(results):,} bytes")
        view = report_view(ev, title=title)
        workbook = spreadsheet.result()
    say(f"{WORKBOOK}: {len(workbook):,} bytes")
    templates_used = template_rows(templates)
    view["inputs"] = (*view["inputs"], *templates_used)
    inputs = manifest_doc(ev, (), "", templates_used)["inputs"]
    snapshot = snapshot_bytes(ev)
    early = [PackFile.of(WORKBOOK, workbook), PackFile.of(RESULTS, results)]
    early.append(PackFile.of(SNAPSHOT, snapshot))
    digest = pack_digest(
        inputs, ({"path": f.path, "sha256": f.sha256, "size": f.size} for f in early)
    )
    html = render_html({**view, "digest": digest}, templates)
    say(f"{REPORT}: laying out {len(html):,} characters of HTML")
    pdf = html_to_pdf(html, templates)
    say(f"{REPORT}: {pdf.pages} pages, {len(pdf.data):,} bytes")
    files = {WORKBOOK: workbook, REPORT: pdf.data, RESULTS: results, SNAPSHOT: snapshot}
    listed = tuple(PackFile.of(name, data) for name, data in sorted(files.items()))
    files[MANIFEST] = _dump(manifest_doc(ev, listed, digest, templates_used))
    return Rendered(files, listed, digest, pdf.pages, pdf.warnings)


def _workbook_bytes(ev: Evaluation) -> bytes:
    buffer = io.BytesIO()
    try:
        write_workbook(ev, buffer)
    except Exception as exc:
        raise RenderError(f"{WORKBOOK}: writing failed: {type(exc).__name__}: {exc}") from exc
    return buffer.getvalue()


def build_pack(
    ev: Evaluation,
    out: str | Path | Destination,
    *,
    title: str | None = None,
    make_zip: bool = False,
    force: bool = False,
    templates: Path | None = None,
    inputs: Iterable[str] = (),
    progress: Callable[[str], None] | None = None,
) -> Pack:
    """Write the pack into `out` (and `out.zip`), all or nothing. `out` is a folder, locked
    and checked here, or a Destination the caller opened (and holds locked) before
    evaluating; `inputs` are the run's input paths, which `--force` never replaces."""
    if isinstance(out, Destination):
        return _build(ev, out, title, templates, progress)
    with open_destination(out, make_zip=make_zip, force=force, inputs=inputs) as dest:
        pack = _build(ev, dest, title, templates, progress)
        return dataclasses.replace(pack, warnings=(*dest.warnings, *pack.warnings))


def _build(
    ev: Evaluation,
    dest: Destination,
    title: str | None,
    templates: Path | None,
    progress: Callable[[str], None] | None,
) -> Pack:
    rendered = render_files(ev, title, templates, progress)
    folder = dest.folder
    try:
        dest.staging.mkdir()
        dest.staging.chmod(0o755)
        for name, data in rendered.files.items():
            (dest.staging / name).write_bytes(data)
        if dest.zip_path is not None:
            dest.staged_zip.write_bytes(zip_bytes(rendered.files, folder.name, ev.as_of))
        move_into_place(dest)
    except OSError as exc:
        raise RenderError(f"{dest.shown}: cannot write the pack: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(dest.staging, ignore_errors=True)
        dest.staged_zip.unlink(missing_ok=True)
    return Pack(
        Path(dest.shown),
        zip_path_for(Path(dest.shown)) if dest.zip_path is not None else None,
        rendered.digest,
        rendered.listed,
        rendered.pages,
        rendered.warnings,
    )


def zip_bytes(files: Mapping[str, bytes], top: str, as_of: dt.datetime) -> bytes:
    """A zip of the pack under one top folder: entries sorted, every timestamp the as-of
    time (zip cannot store times before 1980), so the zip is as reproducible as its files."""
    moment = max(as_of.astimezone(dt.UTC), ZIP_EPOCH)
    stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{top}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


# --------------------------------------------------------------------------- verifying


@dataclass(frozen=True, slots=True)
class Verdict:
    intact: bool
    message: str
    manifest: dict[str, Any] | None = None


def verify_pack(path: str | Path) -> Verdict:
    """Recompute every hash of a pack folder or zip; the first difference is the verdict."""
    target = Path(path)
    if target.is_dir():
        files = {
            p.relative_to(target).as_posix(): p.read_bytes()
            for p in sorted(target.rglob("*"))
            if p.is_file()
        }
    elif target.is_file() and zipfile.is_zipfile(target):
        files = _zip_members(target)
    elif target.exists():
        raise InputError("not an evidence pack (a folder or a .zip)", source=str(target))
    else:
        raise InputError("no such folder or file", source=str(target))
    raw = files.pop(MANIFEST, None)
    if raw is None:
        return Verdict(False, f"{MANIFEST}: removed (or this is not an evidence pack)")
    try:
        manifest = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Verdict(False, f"{MANIFEST}: changed: not valid JSON ({exc})")
    problem = schema_problem(manifest, "manifest.schema.json")
    if problem is not None:
        return Verdict(False, f"{MANIFEST}: changed: {problem}")
    listed = {entry["path"] for entry in manifest["files"]}
    for entry in manifest["files"]:
        name = entry["path"]
        data = files.get(name)
        if data is None:
            return Verdict(False, f"{name}: removed", manifest)
        actual = PackFile.of(name, data)
        if (actual.sha256, actual.size) != (entry["sha256"], entry["size"]):
            return Verdict(
                False,
                f"{name}: changed (sha256 {actual.sha256}, manifest says {entry['sha256']})",
                manifest,
            )
    extra = sorted(set(files) - listed)
    if extra:
        return Verdict(False, f"{extra[0]}: added (not in the manifest)", manifest)
    digest = pack_digest(manifest["inputs"], manifest["files"])
    if digest != manifest["digest"]["value"]:
        return Verdict(
            False,
            f"{MANIFEST}: changed: its digest does not match the files and inputs it lists "
            f"(recomputed {digest})",
            manifest,
        )
    return Verdict(
        True,
        f"intact: {len(manifest['files'])} files and the manifest match; digest {digest}",
        manifest,
    )


def _zip_members(path: Path) -> dict[str, bytes]:
    """The pack's files by their name inside the pack: entries share one top folder."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        tops = {PurePosixPath(n).parts[0] for n in names if len(PurePosixPath(n).parts) > 1}
        strip = len(tops) == 1 and all(len(PurePosixPath(n).parts) > 1 for n in names)
        out = {}
        for name in names:
            inner = "/".join(PurePosixPath(name).parts[1:]) if strip else name
            out[inner] = archive.read(name)
        return out
