"""Where a pack may be written: --force replaces only a pack, one run at a time holds the
destination, and a run killed between its renames is put right by the next one.

Refusals happen before the evaluation, so these tests are quick: only the kill test
renders a (small) pack."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import PACK_FILES, cli_run, namespace, pod

from compliance.destination import open_destination
from compliance.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = "\n".join([namespace("pay"), pod("api", "pay", {"app": "api"}, ports="http:8080/TCP")])
SCOPE = """
cluster: small
zones:
  - name: cde
    role: cde
    frameworks: [pci-dss-4.0.1]
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}
"""


def small_inputs(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cluster.yaml").write_text(CLUSTER)
    (folder / "scope.yaml").write_text(SCOPE)
    return folder / "cluster.yaml", folder / "scope.yaml"


def report_args(export: Path | str, scope: Path | str, out: Path | str, *extra: str) -> list[str]:
    return [
        "report", str(export), "--scope", str(scope), "--as-of", "2026-11-26",
        "--out", str(out), "--exit-zero", *extra,
    ]  # fmt: skip


def copy_pack(pack: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in PACK_FILES:
        shutil.copyfile(pack / name, dest / name)
    return dest


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file()}  # fmt: skip


# --------------------------------------------------------------------------- --force


def test_force_never_replaces_a_folder_holding_an_input_of_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's reproduction: `report victim/sub --scope victim/scope.yaml --out victim
    --force` deleted the export, the scope file and an unrelated file."""
    monkeypatch.chdir(tmp_path)
    export, _scope = small_inputs(tmp_path / "victim")
    (tmp_path / "victim" / "sub").mkdir()
    export.rename(tmp_path / "victim" / "sub" / "cluster.yaml")
    (tmp_path / "victim" / "important.txt").write_text("keep me")
    before = snapshot(tmp_path)
    result = cli_run(report_args("victim/sub", "victim/scope.yaml", "victim", "--force"), capsys)
    assert result.code == 2
    assert result.err_lines == [
        "error: victim: holds victim/sub, an input of this run; --force refuses to replace it"
    ]
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("stale.txt", "stale.txt is not a file its manifest lists"),
        ("sub/", "sub is not a file its manifest lists"),
    ],
)
def test_force_replaces_only_a_folder_holding_nothing_but_its_pack(
    sample_pack: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: str,
    reason: str,
) -> None:
    export, scope = small_inputs(tmp_path / "in")
    out = copy_pack(sample_pack, tmp_path / "evidence")
    if extra.endswith("/"):
        (out / extra).mkdir()
    else:
        (out / extra).write_text("mine")
    before = snapshot(tmp_path)
    result = cli_run(report_args(export, scope, out, "--force"), capsys)
    assert result.code == 2
    assert result.err_lines == [
        f"error: {out}: not an evidence pack ({reason}); --force replaces only a pack"
    ]
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        (None, "it holds no manifest.json"),
        ('{"format": "something-else"}', "its manifest.json is not the manifest of a compliance"),
        ("not json", "its manifest.json is not the manifest of a compliance"),
    ],
)
def test_force_refuses_a_folder_without_this_tools_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], manifest: str | None, reason: str
) -> None:
    export, scope = small_inputs(tmp_path / "in")
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"\xff\xd8")
    if manifest is not None:
        (out / "manifest.json").write_text(manifest)
    before = snapshot(tmp_path)
    result = cli_run(report_args(export, scope, out, "--force"), capsys)
    assert result.code == 2
    (line,) = result.err_lines
    assert line.startswith(f"error: {out}: not an evidence pack ({reason}")
    assert snapshot(tmp_path) == before


def test_force_refuses_a_zip_that_is_not_a_pack(
    sample_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_pdf_layout: list[str]
) -> None:
    export, scope = small_inputs(tmp_path / "in")
    out = tmp_path / "evidence"
    with zipfile.ZipFile(tmp_path / "evidence.zip", "w") as archive:
        archive.writestr("thesis.tex", "years of work")
    before = snapshot(tmp_path)
    result = cli_run(report_args(export, scope, out, "--force", "--zip"), capsys)
    assert result.code == 2
    assert result.err_lines == [
        f"error: {out}.zip: not a zipped evidence pack (it holds no evidence/manifest.json of "
        "a compliance evidence pack); --force replaces only a pack"
    ]
    assert snapshot(tmp_path) == before
    # the sample's own zip is a pack, so it may be replaced
    shutil.copyfile(sample_pack.with_suffix(".zip"), tmp_path / "evidence.zip")
    result = cli_run(report_args(export, scope, out, "--force", "--zip"), capsys)
    assert result.code == 0, result.err
    assert zipfile.ZipFile(tmp_path / "evidence.zip").namelist()[0].startswith("evidence/")


@pytest.mark.parametrize("out", [".", "", "..", "./", "sub/..", "HOME", "/"])
@pytest.mark.parametrize("force", [True, False])
def test_out_may_not_be_the_working_folder_its_parents_home_or_root(
    out: str,
    force: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--out . --force` and `--out "" --force` crashed; they are one-line usage errors."""
    work = tmp_path / "home" / "work"
    export, scope = small_inputs(work)
    (work / "sub").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(work / "sub" if out == "HOME" else work)
    target = str(tmp_path / "home") if out == "HOME" else out
    before = snapshot(tmp_path)
    result = cli_run(report_args(export, scope, target, *(["--force"] if force else [])), capsys)
    assert result.code == 2
    (line,) = result.err_lines
    expected = {
        "": "error: --out: must name a folder (got an empty name)",
        "/": "error: /: is the working folder or one of its parents; refused",
        "HOME": f"error: {target}: is the working folder or one of its parents; refused",
    }.get(out, f"error: {out}: is the working folder or one of its parents; refused")
    assert line == expected
    assert snapshot(tmp_path) == before


def test_out_may_not_be_the_home_folder_even_from_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    export, scope = small_inputs(tmp_path / "in")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path / "in")
    result = cli_run(report_args(export, scope, home, "--force"), capsys)
    assert result.code == 2
    assert result.err_lines == [f"error: {home}: is the home folder or the root folder; refused"]


# --------------------------------------------------------------------------- one run at a time


def test_a_second_run_on_the_same_destination_is_refused_while_the_first_holds_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export, scope = small_inputs(tmp_path / "in")
    out = tmp_path / "evidence"
    with open_destination(out):
        result = cli_run(report_args(export, scope, out), capsys)
        assert result.code == 2
        assert result.err_lines == [f"error: another report is writing {out}"]
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # the lock is gone too


def test_the_lock_is_held_against_other_processes(tmp_path: Path) -> None:
    """flock, so a run in another process sees it; released when the run ends."""
    out = tmp_path / "evidence"
    probe = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "except BlockingIOError:\n    sys.exit(7)\n"
    )
    with open_destination(out) as dest:
        held = subprocess.run([sys.executable, "-c", probe, str(dest.lock)], check=False)
        assert held.returncode == 7
    assert not dest.lock.exists()
    fd = os.open(tmp_path / "free", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the probe itself can take a free lock
    os.close(fd)


# --------------------------------------------------------------------------- interrupted runs

KILL_BETWEEN_RENAMES = """
import os, sys
import compliance.destination, compliance.pack
from compliance.cli import main
from compliance.render.pdf import PdfResult
if sys.argv.pop(1) == "no-exchange":
    compliance.destination.exchange = lambda first, second: False
# The renames are the subject, not the PDF: a stub spares laying out one.
compliance.pack.html_to_pdf = lambda html, folder=None: PdfResult(b"%PDF-", 1, ())
real = os.rename
def rename(src, dst):
    real(src, dst)
    if str(dst).endswith(".replaced"):
        os._exit(137)  # killed: no finally, no cleanup
os.rename = rename
main(sys.argv[1:])
"""


def test_a_run_killed_between_the_renames_is_put_right_by_the_next(
    sample_pack: Path, tmp_path: Path
) -> None:
    export, scope = small_inputs(tmp_path / "in")
    out = copy_pack(sample_pack, tmp_path / "evidence")
    old = snapshot(out)
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILL_BETWEEN_RENAMES,
            "no-exchange",
            *report_args(export, scope, out, "--force"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == 137, killed.stderr
    assert not out.exists()  # the state the review found: no pack, leftovers beside it
    assert (tmp_path / ".evidence.replaced").is_dir()
    assert sorted(p.name for p in (tmp_path / ".evidence.partial").iterdir()) == PACK_FILES

    with open_destination(out, force=True) as dest:
        assert dest.warnings == [
            f"removed {tmp_path / '.evidence.partial'}, left by an interrupted run",
            f"restored {out} from {tmp_path / '.evidence.replaced'}, where an interrupted run "
            "had moved it",
        ]
    assert snapshot(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence", "in"]


def test_the_swap_leaves_the_folder_in_place_throughout(sample_pack: Path, tmp_path: Path) -> None:
    """Where the system can exchange two folders in one step, DIR is never missing: a run
    killed right after the swap leaves the new pack in DIR and the old one beside it,
    which the next run removes."""
    from compliance.destination import exchange

    probe_a, probe_b = tmp_path / "a", tmp_path / "b"
    probe_a.mkdir()
    probe_b.mkdir()
    (probe_a / "x").write_text("a")
    if not exchange(probe_a, probe_b):
        pytest.skip("this system or file system cannot exchange two folders")
    assert (probe_b / "x").read_text() == "a" and not (probe_a / "x").exists()
    shutil.rmtree(probe_a)
    shutil.rmtree(probe_b)

    export, scope = small_inputs(tmp_path / "in")
    out = copy_pack(sample_pack, tmp_path / "evidence")
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILL_BETWEEN_RENAMES,
            "exchange",
            *report_args(export, scope, out, "--force"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == 137, killed.stderr
    manifest = (out / "manifest.json").read_text()
    assert '"cluster": "small"' in manifest  # the new pack is in place
    assert (tmp_path / ".evidence.replaced" / "report.pdf").read_bytes() == (
        sample_pack / "report.pdf"
    ).read_bytes()
    with open_destination(out, force=True) as dest:
        assert dest.warnings == [
            f"removed {tmp_path / '.evidence.replaced'}: an interrupted run had already "
            "replaced that pack"
        ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence", "in"]


def test_a_run_killed_after_the_new_pack_is_in_place_removes_the_old_one(
    sample_pack: Path, tmp_path: Path
) -> None:
    out = copy_pack(sample_pack, tmp_path / "evidence")
    copy_pack(sample_pack, tmp_path / ".evidence.replaced")
    with open_destination(out, force=True) as dest:
        assert dest.warnings == [
            f"removed {tmp_path / '.evidence.replaced'}: an interrupted run had already "
            "replaced that pack"
        ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence"]


def test_leftovers_that_cannot_be_put_right_are_reported_with_where_they_are(
    sample_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export, scope = small_inputs(tmp_path / "in")
    out = tmp_path / "evidence"
    out.mkdir()
    (out / "notes.txt").write_text("someone put this here since")
    copy_pack(sample_pack, tmp_path / ".evidence.replaced")
    before = snapshot(tmp_path)
    with pytest.raises(InputError) as caught, open_destination(out, force=True):
        pass
    assert str(caught.value) == (
        f"{out}: an interrupted run left the previous pack at "
        f"{tmp_path / '.evidence.replaced'}; move it back or remove it"
    )
    result = cli_run(report_args(export, scope, out, "--force"), capsys)
    assert result.code == 2
    assert result.err_lines == [f"error: {caught.value}"]
    assert snapshot(tmp_path) == before


def test_leftovers_of_earlier_versions_are_reported_not_touched(
    sample_pack: Path, tmp_path: Path
) -> None:
    out = tmp_path / "evidence"
    copy_pack(sample_pack, tmp_path / ".evidence.replaced-4242")
    copy_pack(sample_pack, tmp_path / ".evidence.k2j4.partial")
    before = snapshot(tmp_path)
    with open_destination(out) as dest:
        assert dest.warnings == [
            f"{tmp_path / name} was left by an interrupted run of an earlier version; "
            "check it and remove it"
            for name in (".evidence.k2j4.partial", ".evidence.replaced-4242")
        ]
    assert snapshot(tmp_path) == before
