"""Where a pack goes, and what may be replaced there.

`--force` deletes a folder, so it may replace only what this tool wrote: a folder
holding a manifest of this tool and nothing but the files that manifest lists, and never
a folder that holds an input of the run, the working folder or one of its parents, the
home folder or `/`. Anything else is refused before any work is done, and nothing is
touched.

Two runs writing the same DIR would replace each other's pack unseen, so a run holds an
exclusive lock (`.DIR.lock`, next to DIR) from before it checks DIR until the pack is in
place; a second run is refused at once. The pack is written into `.DIR.partial` and
swapped with an old pack in one step where the system can (`move_into_place`), else the
old pack is first renamed to `.DIR.replaced` and removed once the new one is there.
Those names are fixed, so a run killed between the renames leaves something the next run
can recognise under the lock: it restores the old pack when no new one took its place,
removes partial files, and otherwise says where things are.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import glob
import json
import os
import shutil
import sys
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance.errors import InputError
from compliance.render.results import TOOL_NAME

FORMAT = "compliance-evidence-pack/1"
MANIFEST = "manifest.json"
SIGNATURE = MANIFEST + ".sig"
"""`report --sign` writes it beside the manifest it signs; the manifest does not list it."""
PACK_FILE_NAMES = frozenset(
    {MANIFEST, SIGNATURE, "results.json", "evidence.xlsx", "report.pdf", "snapshot.json"}
)


@dataclass
class Destination:
    """A pack's folder (and zip), locked for this run, leftovers recovered and checked."""

    folder: Path
    """Absolute, as the user named it (symlinks in its parents kept)."""
    shown: str
    """How messages name it: as the user typed it."""
    zip_path: Path | None
    force: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def staging(self) -> Path:
        return self.folder.with_name(f".{self.folder.name}.partial")

    @property
    def aside(self) -> Path:
        return self.folder.with_name(f".{self.folder.name}.replaced")

    @property
    def staged_zip(self) -> Path:
        return self.folder.with_name(f".{self.folder.name}.zip.partial")

    @property
    def lock(self) -> Path:
        return self.folder.with_name(f".{self.folder.name}.lock")


def zip_path_for(folder: Path) -> Path:
    return folder.with_name(folder.name + ".zip")


def out_folder(out: str | os.PathLike[str]) -> Path:
    """The absolute pack folder `out` names, or InputError: an empty name, the working
    folder or one of its parents, the home folder, `/`, or a symbolic link."""
    text = os.fspath(out)
    if not text.strip():
        raise InputError("--out: must name a folder (got an empty name)")
    folder = Path(os.path.abspath(text))
    real = Path(os.path.realpath(folder))
    here = Path(os.path.realpath(os.getcwd()))
    if real == here or real in here.parents:
        raise InputError("is the working folder or one of its parents; refused", source=text)
    if real == Path(os.path.realpath(Path.home())) or real == Path(real.anchor):
        raise InputError("is the home folder or the root folder; refused", source=text)
    if folder.is_symlink():
        raise InputError("is a symbolic link; name the folder itself", source=text)
    return folder


@contextmanager
def open_destination(
    out: str | os.PathLike[str],
    *,
    make_zip: bool = False,
    force: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[Destination]:
    """Lock DIR for the whole `with` block, recover what an interrupted run left, and
    check that DIR (and DIR.zip) may be written; `inputs` are this run's input paths."""
    folder = out_folder(out)
    dest = Destination(folder, os.fspath(out), zip_path_for(folder) if make_zip else None, force)
    created = _make_parents(folder.parent)
    try:
        with _locked(dest):
            dest.warnings.extend(recover(dest))
            check_destination(dest, inputs)
            yield dest
    finally:
        for path in reversed(created):  # only folders this run created, and only if empty
            try:
                path.rmdir()
            except OSError:
                break


def _make_parents(parent: Path) -> list[Path]:
    missing = [p for p in (parent, *parent.parents) if not p.exists()][::-1]
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create the pack's folder: {exc.strerror}", source=str(parent)
        ) from None
    return missing


@contextmanager
def _locked(dest: Destination) -> Iterator[None]:
    """flock on `.DIR.lock`; the file is removed on release, so a run that opened it just
    before is checked against the file now at that path and retries."""
    while True:
        try:
            fd = os.open(dest.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise InputError(
                f"cannot create the lock {dest.lock.name}: {exc.strerror}", source=dest.shown
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(f"another report is writing {dest.shown}") from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(dest.lock))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        dest.lock.unlink(missing_ok=True)
        os.close(fd)


def recover(dest: Destination) -> list[str]:
    """Put right what a run killed half-way left, and say what was done."""
    said: list[str] = []
    folder = dest.folder
    if dest.staging.exists() or dest.staging.is_symlink():
        if not _only_pack_files(dest.staging):
            raise InputError(
                f"{dest.staging} is in the way and is not a partial pack; move it",
                source=dest.shown,
            )
        shutil.rmtree(dest.staging)
        said.append(f"removed {dest.staging}, left by an interrupted run")
    if dest.staged_zip.is_file():
        dest.staged_zip.unlink()
        said.append(
            f"removed {dest.staged_zip}: the partial zip of an interrupted run "
            f"(a {zip_path_for(folder).name} next to it predates that run)"
        )
    if dest.aside.exists():
        if not folder.exists() and not folder.is_symlink():
            os.rename(dest.aside, folder)
            said.append(
                f"restored {folder} from {dest.aside}, where an interrupted run had moved it"
            )
        elif pack_problem(folder) is None and pack_problem(dest.aside) is None:
            shutil.rmtree(dest.aside)
            said.append(f"removed {dest.aside}: an interrupted run had already replaced that pack")
        else:
            raise InputError(
                f"an interrupted run left the previous pack at {dest.aside}; "
                "move it back or remove it",
                source=dest.shown,
            )
    earlier = [
        *folder.parent.glob(f".{glob.escape(folder.name)}.replaced-*"),
        *folder.parent.glob(f".{glob.escape(folder.name)}.*.partial"),
    ]
    for stale in sorted(set(earlier) - {dest.staged_zip}):
        said.append(
            f"{stale} was left by an interrupted run of an earlier version; check it and remove it"
        )
    return said


def _only_pack_files(path: Path) -> bool:
    if path.is_symlink() or not path.is_dir():
        return False
    return all(p.name in PACK_FILE_NAMES and _regular(p) for p in path.iterdir())


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _load_manifest(data: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return None
    tool = doc.get("tool")
    files = doc.get("files")
    if not isinstance(tool, dict) or tool.get("name") != TOOL_NAME or not isinstance(files, list):
        return None
    return doc


def pack_problem(folder: Path) -> str | None:
    """Why `folder` is not a pack this tool wrote (None when it is): its manifest must be
    this tool's, and every entry a regular file the manifest lists."""
    manifest = folder / MANIFEST
    if not _regular(manifest):
        return f"it holds no {MANIFEST}"
    doc = _load_manifest(manifest.read_bytes())
    if doc is None:
        return f"its {MANIFEST} is not the manifest of a {TOOL_NAME} evidence pack"
    listed = {f.get("path") for f in doc["files"] if isinstance(f, dict)} | {MANIFEST, SIGNATURE}
    for entry in sorted(folder.iterdir()):
        if entry.name not in listed or not _regular(entry):
            return f"{entry.name} is not a file its manifest lists"
    return None


def _zip_problem(path: Path, top: str) -> str | None:
    if not zipfile.is_zipfile(path):
        return "it is not a zip"
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            doc = (
                _load_manifest(archive.read(f"{top}/{MANIFEST}"))
                if f"{top}/{MANIFEST}" in names
                else None
            )
    except (OSError, zipfile.BadZipFile):
        return "it cannot be read as a zip"
    if doc is None:
        return f"it holds no {top}/{MANIFEST} of a {TOOL_NAME} evidence pack"
    listed = {f"{top}/{f.get('path')}" for f in doc["files"] if isinstance(f, dict)}
    extra = [n for n in names if n not in listed | {f"{top}/{MANIFEST}", f"{top}/{SIGNATURE}"}]
    return f"{extra[0]} is not a file its manifest lists" if extra else None


def check_destination(dest: Destination, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Refuse to overwrite anything unasked, and with --force anything but a pack."""
    folder, shown = dest.folder, dest.shown
    real_inputs = [Path(os.path.realpath(p)) for p in inputs if os.fspath(p) != "-"]
    if folder.exists() and not folder.is_dir():
        raise InputError("exists and is not a folder", source=shown)
    if folder.is_dir() and any(folder.iterdir()):
        if not dest.force:
            raise InputError("folder is not empty; use --force to replace it", source=shown)
        real = Path(os.path.realpath(folder))
        for given, path in zip(inputs, real_inputs, strict=False):
            if path == real or real in path.parents:
                raise InputError(
                    f"holds {os.fspath(given)}, an input of this run; --force refuses to "
                    "replace it",
                    source=shown,
                )
        problem = pack_problem(folder)
        if problem is not None:
            raise InputError(
                f"not an evidence pack ({problem}); --force replaces only a pack", source=shown
            )
    zip_path = dest.zip_path
    if zip_path is not None and (zip_path.exists() or zip_path.is_symlink()):
        zip_shown = f"{shown.rstrip('/')}.zip"
        if zip_path.is_symlink() or not zip_path.is_file():
            raise InputError("exists and is not a file", source=zip_shown)
        if not dest.force:
            raise InputError("exists; use --force to replace it", source=zip_shown)
        if Path(os.path.realpath(zip_path)) in real_inputs:
            raise InputError(
                "is an input of this run; --force refuses to replace it", source=zip_shown
            )
        problem = _zip_problem(zip_path, folder.name)
        if problem is not None:
            raise InputError(
                f"not a zipped evidence pack ({problem}); --force replaces only a pack",
                source=zip_shown,
            )


def move_into_place(dest: Destination) -> None:
    """Put the finished `.DIR.partial` in DIR's place.

    Where the system can swap two folders in one step (Linux's renameat2 with
    RENAME_EXCHANGE), an old DIR is exchanged with the new pack, so DIR is never missing;
    the old pack, now at `.DIR.partial`, is renamed to `.DIR.replaced` and removed.
    Elsewhere the old DIR is renamed to `.DIR.replaced` first and removed only after the
    new one is there. `recover` handles a kill between any two of these steps."""
    if not dest.folder.exists():
        os.rename(dest.staging, dest.folder)
    elif exchange(dest.staging, dest.folder):
        os.rename(dest.staging, dest.aside)
        shutil.rmtree(dest.aside, ignore_errors=True)
    else:
        os.rename(dest.folder, dest.aside)
        try:
            os.rename(dest.staging, dest.folder)
        except OSError:
            os.rename(dest.aside, dest.folder)
            raise
        shutil.rmtree(dest.aside, ignore_errors=True)
    if dest.zip_path is not None and dest.staged_zip.exists():
        os.replace(dest.staged_zip, dest.zip_path)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically; False where the system or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    code = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if code == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(second))
