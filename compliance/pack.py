"""The evidence pack: one folder (and optionally a zip of it) that an assessor can check.

The report templates are inputs too: their sha256 are listed among the inputs (role
`template`), so a pack made with custom templates has a different digest from one made
with the stock ones.

`build_pack` renders results.json, evidence.xlsx and report.pdf into a folder next to
the destination and moves it into place only when every file is written, so a failure
leaves no partial pack (`destination.py`: what may be replaced, the lock, the renames).
`manifest.json` records the sha256 and size of every pack file and every input, and one
content digest over them that the PDF prints on its cover. The digest cannot cover the
PDF that shows it; it covers the inputs and the other files. What protects the whole
pack, the PDF included, is the **seal**: the sha256 of `manifest.json` exactly as
written (one canonical form, so `sha256sum manifest.json` gives it). A rewritten
manifest that lists a forged PDF keeps the digest but changes the seal, which `report`
and `verify` print and the user records outside the pack. `--sign` adds
`manifest.json.sig`, an SSHSIG signature of the manifest; it is not listed in the
manifest (it signs it).

`verify_pack` treats the pack as hostile: it never follows a symlink or opens anything
but a regular file, compares declared sizes with the manifest before reading, hashes in
streams, and turns every malformed zip or manifest into a one-line verdict.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from compliance import __version__
from compliance.datafile import schema_problem
from compliance.destination import (
    FORMAT,
    MANIFEST,
    SIGNATURE,
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
from compliance.signing import sign as ssh_sign
from compliance.snapshot import SNAPSHOT, snapshot_bytes
from compliance.text import visible

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
MANIFEST_LIMIT = 64 * 1024 * 1024
"""A manifest lists a few files and inputs; one larger than this is not ours."""
CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PackFile:
    path: str
    sha256: str
    size: int

    @classmethod
    def of(cls, path: str, data: bytes) -> PackFile:
        return cls(path, hashlib.sha256(data).hexdigest(), len(data))


@dataclass(frozen=True, slots=True)
class PackRef:
    """The earlier pack a pack was compared with (`report --baseline`): the manifest
    records it, so each quarter's pack names the one before it and `history` can check
    the chain."""

    as_of: str
    digest: str
    """The earlier pack's content digest (its manifest's `digest.value`)."""
    seal: str
    """The sha256 of the earlier pack's manifest.json."""

    def json(self) -> dict[str, str]:
        return {"as_of": self.as_of, "digest": self.digest, "seal": self.seal}


@dataclass(frozen=True, slots=True)
class Pack:
    folder: Path
    zip_path: Path | None
    digest: str
    seal: str
    signed: bool
    files: tuple[PackFile, ...]
    pages: int
    warnings: tuple[str, ...]


def pack_digest(inputs: Iterable[Mapping[str, Any]], files: Iterable[Mapping[str, Any]]) -> str:
    lines = [f"{i['sha256']} {i['size']} input:{i['path']}\n" for i in inputs]
    lines += [f"{f['sha256']} {f['size']} file:{f['path']}\n" for f in files if f["path"] != REPORT]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _dump(doc: Any) -> bytes:
    """The manifest's one canonical form (keys sorted, two-space indent, UTF-8, a final
    newline): the seal is the sha256 of these bytes, and `verify` refuses any other form,
    so one manifest content has one seal."""
    return (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def seal_of(manifest: bytes) -> str:
    return hashlib.sha256(manifest).hexdigest()


def template_rows(templates: Path | None) -> tuple[InputRow, ...]:
    """The report templates as inputs: the stock ones named inside the package (like the
    shipped control files), custom ones by the folder's recorded path."""
    folder = templates or templates_dir()
    top = "compliance:report_templates" if templates is None else recorded_path(folder)
    return tuple(
        InputRow("template", f"{top}/{visible(name)}", hashlib.sha256(data).hexdigest(), len(data))
        for name, data in template_files(folder)
    )


def manifest_doc(
    ev: Evaluation,
    files: Iterable[PackFile],
    digest: str,
    templates: Iterable[InputRow] = (),
    baseline: PackRef | None = None,
) -> dict[str, Any]:
    doc = {
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
    if baseline is not None:  # absent without one: older packs' manifests stay as they were
        doc["baseline"] = baseline.json()
    return doc


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
    baseline: PackRef | None = None,
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
    files[MANIFEST] = _dump(manifest_doc(ev, listed, digest, templates_used, baseline))
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
    sign_key: str | None = None,
    baseline: PackRef | None = None,
) -> Pack:
    """Write the pack into `out` (and `out.zip`), all or nothing. `out` is a folder, locked
    and checked here, or a Destination the caller opened (and holds locked) before
    evaluating; `inputs` are the run's input paths, which `--force` never replaces. With
    `sign_key` (an OpenSSH private key) the manifest is signed into manifest.json.sig."""
    if isinstance(out, Destination):
        return _build(ev, out, title, templates, progress, sign_key, baseline)
    with open_destination(out, make_zip=make_zip, force=force, inputs=inputs) as dest:
        pack = _build(ev, dest, title, templates, progress, sign_key, baseline)
        return dataclasses.replace(pack, warnings=(*dest.warnings, *pack.warnings))


def _build(
    ev: Evaluation,
    dest: Destination,
    title: str | None,
    templates: Path | None,
    progress: Callable[[str], None] | None,
    sign_key: str | None = None,
    baseline: PackRef | None = None,
) -> Pack:
    rendered = render_files(ev, title, templates, progress, baseline)
    if sign_key is not None:
        rendered.files[SIGNATURE] = ssh_sign(rendered.files[MANIFEST], sign_key)
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
        seal_of(rendered.files[MANIFEST]),
        SIGNATURE in rendered.files,
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
    seal: str | None = None
    """sha256 of manifest.json as found, whenever it could be read."""
    manifest_bytes: bytes | None = None
    signature: bytes | None = None
    """manifest.json.sig when the pack carries one (not listed in the manifest)."""


class _Changed(Exception):
    """The first difference found: its message is the verdict."""


class _Members:
    """The pack's entries by their name inside the pack, whatever its form."""

    def entries(self) -> dict[str, str | None]:
        """Name to None for a regular file, or what else it is ("a symlink", ...)."""
        raise NotImplementedError

    def size(self, name: str) -> int:
        raise NotImplementedError

    def chunks(self, name: str) -> Iterable[bytes]:
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to release by default."""

    def read(self, name: str, limit: int) -> bytes:
        """A small file (the manifest, the signature) whole, refusing one larger than `limit`
        before reading it, and stopping if it turns out larger than declared."""
        if self.size(name) > limit:
            raise _Changed(f"{name}: changed (larger than {limit:,} bytes)")
        out = bytearray()
        for chunk in self.chunks(name):
            out += chunk
            if len(out) > limit:
                raise _Changed(f"{name}: changed (larger than {limit:,} bytes)")
        return bytes(out)

    def check(self, name: str, sha256: str, size: int) -> None:
        """Compare one listed file with its manifest entry: the size first, then a streamed
        hash, so a huge declared entry is refused without being read."""
        declared = self.size(name)
        if declared != size:
            raise _Changed(f"{name}: changed ({declared:,} bytes, manifest says {size:,})")
        digest = hashlib.sha256()
        seen = 0
        for chunk in self.chunks(name):
            seen += len(chunk)
            if seen > size:
                raise _Changed(f"{name}: changed (longer than the manifest's {size:,} bytes)")
            digest.update(chunk)
        actual = digest.hexdigest()
        if seen != size or actual != sha256:
            raise _Changed(f"{name}: changed (sha256 {actual}, manifest says {sha256})")


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file (FIFO, socket or device)"


class _Folder(_Members):
    """A pack folder read without following a symlink or opening anything but a regular
    file (a FIFO would block, a symlink could point anywhere)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._stats: dict[str, os.stat_result] = {}

    def entries(self) -> dict[str, str | None]:
        try:
            with os.scandir(self.root) as found:
                self._stats = {e.name: e.stat(follow_symlinks=False) for e in found}
        except OSError as exc:
            raise InputError(
                f"cannot list the folder: {exc.strerror}", source=str(self.root)
            ) from exc
        return {name: _kind(st.st_mode) for name, st in self._stats.items()}

    def size(self, name: str) -> int:
        return self._stats[name].st_size

    def chunks(self, name: str) -> Iterable[bytes]:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self.root / name, flags)
        except OSError as exc:
            raise _Changed(f"{name}: changed (cannot be opened: {exc.strerror})") from exc
        with open(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise _Changed(f"{name}: changed (not a regular file)")
            while chunk := handle.read(CHUNK):
                yield chunk


ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
    NotImplementedError,
)
"""What zipfile raises on a damaged, encrypted or unsupported entry."""


class _Zip(_Members):
    """A pack zip: its entries share one top folder; every entry is checked for what a
    zip can hide (a second entry of the same name, encryption, a symlink)."""

    def __init__(self, path: Path) -> None:
        try:
            self.archive = zipfile.ZipFile(path)
        except ZIP_READ_ERRORS as exc:
            raise InputError(f"not a readable zip ({exc})", source=str(path)) from exc
        self._infos: dict[str, zipfile.ZipInfo] = {}

    def entries(self) -> dict[str, str | None]:
        infos = self.archive.infolist()
        parts = [PurePosixPath(i.filename).parts for i in infos]
        tops = {p[0] for p in parts if p}
        strip = len(tops) == 1 and all(
            len(p) > 1 or i.is_dir() for p, i in zip(parts, infos, strict=True)
        )
        out: dict[str, str | None] = {}
        for info, part in zip(infos, parts, strict=True):
            if strip and len(part) == 1 and info.is_dir():
                continue  # the top folder's own entry
            name = "/".join(part[1:]) if strip else info.filename
            if name in self._infos:
                raise _Changed(f"{name}: added (a second zip entry of the same name)")
            self._infos[name] = info
            mode = info.external_attr >> 16
            if info.is_dir():
                out[name] = "a folder"
            elif stat.S_ISLNK(mode):
                out[name] = "a symlink"
            elif info.flag_bits & 0x1:
                out[name] = "an encrypted zip entry"
            else:
                out[name] = None
        return out

    def size(self, name: str) -> int:
        return self._infos[name].file_size

    def chunks(self, name: str) -> Iterable[bytes]:
        try:
            with self.archive.open(self._infos[name]) as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk
        except ZIP_READ_ERRORS as exc:
            raise _Changed(f"{name}: changed (the zip entry cannot be read: {exc})") from exc

    def close(self) -> None:
        self.archive.close()


def verify_pack(path: str | Path) -> Verdict:
    """Recompute every hash of a pack folder or zip; the first difference is the verdict."""
    target = Path(path)
    members: _Members
    if target.is_dir():
        members = _Folder(target)
    elif target.is_file() and zipfile.is_zipfile(target):
        members = _Zip(target)
    elif target.exists():
        raise InputError("not an evidence pack (a folder or a .zip)", source=str(target))
    else:
        raise InputError("no such folder or file", source=str(target))
    found: dict[str, Any] = {}
    try:
        return _verify(members, found)
    except _Changed as exc:
        return Verdict(False, str(exc), **found)
    finally:
        members.close()


def _verify(members: _Members, found: dict[str, Any]) -> Verdict:
    """`found` collects what is known so far (the seal, the manifest) for the verdict."""
    entries = members.entries()
    if MANIFEST not in entries:
        return Verdict(False, f"{MANIFEST}: removed (or this is not an evidence pack)")
    for name in (MANIFEST, SIGNATURE):
        if entries.get(name, None) is not None:
            raise _Changed(f"{name}: changed ({entries[name]}, not a regular file)")
    raw = members.read(MANIFEST, MANIFEST_LIMIT)
    found.update(seal=seal_of(raw), manifest_bytes=raw)
    try:
        manifest = json.loads(raw)
    except RecursionError:
        raise _Changed(f"{MANIFEST}: changed: not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a too-long integer
        raise _Changed(f"{MANIFEST}: changed: not valid JSON ({exc})") from None
    try:
        problem = schema_problem(manifest, "manifest.schema.json")
    except RecursionError:
        problem = "nested too deeply"
    if problem is not None:
        raise _Changed(f"{MANIFEST}: changed: {problem}")
    found["manifest"] = manifest
    if SIGNATURE in entries:
        found["signature"] = members.read(SIGNATURE, 64 * 1024)
    listed = {entry["path"] for entry in manifest["files"]}
    for entry in manifest["files"]:
        name = entry["path"]
        if name not in entries:
            raise _Changed(f"{name}: removed")
        if entries[name] is not None:
            raise _Changed(f"{name}: changed ({entries[name]}, not a regular file)")
        members.check(name, entry["sha256"], entry["size"])
    extra = sorted(set(entries) - listed - {MANIFEST, SIGNATURE})
    if extra:
        what = entries[extra[0]]
        raise _Changed(f"{extra[0]}: added ({what + ', ' if what else ''}not in the manifest)")
    digest = pack_digest(manifest["inputs"], manifest["files"])
    if digest != manifest["digest"]["value"]:
        raise _Changed(
            f"{MANIFEST}: changed: its digest does not match the files and inputs it lists "
            f"(recomputed {digest})"
        )
    if _dump(manifest) != raw:
        raise _Changed(f"{MANIFEST}: changed: not in the one form `report` writes")
    return Verdict(
        True,
        f"intact: {len(manifest['files'])} files and the manifest match; content digest {digest}; "
        f"seal {found['seal']}",
        **found,
    )
