"""Only regular files are read, and every read is bounded: a FIFO, a device or a
symlink to one is an input error naming it (never a hang, never memory exhaustion),
and a file over the size limit is refused with the limit and how to raise it."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compliance.errors import InputError
from compliance.load import load_paths, read_file
from compliance.scope import read_scope
from tests.test_cli import SAMPLE_DIR, SAMPLES, run_subprocess

SCOPE = SAMPLES / "pci-dss.scope.yaml"
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")


def export_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    shutil.copytree(SAMPLE_DIR, folder)
    return folder


@needs_fifo
def test_fifo_in_an_export_folder_is_named_not_waited_for(tmp_path: Path) -> None:
    folder = export_copy(tmp_path)
    os.mkfifo(folder / "z.yaml")
    res = run_subprocess("flows", folder, timeout=30)
    assert res.code == 2, res.err
    assert res.err_lines == [
        f"error: {folder.as_posix()}/z.yaml: a FIFO (named pipe), not a "
        "regular file; only regular files are read"
    ]


@needs_fifo
def test_fifo_as_scope_file(tmp_path: Path) -> None:
    fifo = tmp_path / "scope.yaml"
    os.mkfifo(fifo)
    res = run_subprocess("evaluate", SAMPLE_DIR, "--scope", fifo, timeout=30)
    assert res.code == 2 and "scope.yaml: a FIFO (named pipe)" in res.err, res.err
    assert len(res.err_lines) == 1 and "Traceback" not in res.err


@needs_fifo
def test_fifo_in_a_controls_folder(tmp_path: Path) -> None:
    folder = tmp_path / "controls"
    folder.mkdir()
    os.mkfifo(folder / "mine.yaml")
    res = run_subprocess("controls", "list", "--controls", folder, timeout=30)
    assert res.code == 2 and "mine.yaml: a FIFO (named pipe)" in res.err, res.err


@needs_dev_zero
def test_symlink_to_dev_zero_in_an_export_folder(tmp_path: Path) -> None:
    folder = export_copy(tmp_path)
    (folder / "z.yaml").symlink_to("/dev/zero")
    res = run_subprocess("flows", folder, timeout=30)
    assert res.code == 2 and "z.yaml: a device, not a regular file" in res.err, res.err


@needs_dev_zero
def test_dev_zero_as_scope_and_as_export() -> None:
    res = run_subprocess("evaluate", SAMPLE_DIR, "--scope", "/dev/zero", timeout=30)
    assert res.code == 2 and "/dev/zero: a device" in res.err, res.err
    with pytest.raises(InputError, match="/dev/zero: a device"):
        load_paths(["/dev/zero"])


def test_folder_given_where_a_file_is_read(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="a folder, not a regular file"):
        read_scope(str(tmp_path))


def test_file_over_the_limit_is_refused_with_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# padding\n" * 200)
    with pytest.raises(InputError, match=r"big.yaml: larger than the limit of 1 KiB per input"):
        load_paths([str(big)], max_bytes=1024)
    assert read_file(big, "big.yaml", 2000) == big.read_bytes()  # exactly at the limit: read


def test_scope_file_over_the_limit(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="larger than the limit of 100 bytes"):
        read_scope(str(SCOPE), max_bytes=100)


def test_standard_input_is_bounded() -> None:
    stream = io.TextIOWrapper(io.BytesIO(b"apiVersion: v1\n" * 100))
    with pytest.raises(InputError, match="<stdin>: larger than the limit of 1 KiB"):
        load_paths(["-"], stdin=stream, max_bytes=1024)


def test_limit_option_and_environment_variable(tmp_path: Path) -> None:
    res = run_subprocess("flows", SAMPLE_DIR, "--max-file-size", "1K")
    assert res.code == 2 and "larger than the limit of 1 KiB" in res.err
    assert "--max-file-size" in res.err and len(res.err_lines) == 1
    assert run_subprocess("flows", SAMPLE_DIR, "--max-file-size", "64M").code == 0
    env_res = _run_with_env({"COMPLIANCE_MAX_FILE_SIZE": "2K"}, "flows", SAMPLE_DIR)
    assert env_res.returncode == 2 and "limit of 2 KiB" in env_res.stderr
    bad = run_subprocess("flows", SAMPLE_DIR, "--max-file-size", "lots")
    assert bad.code == 2 and "'lots' is not a size" in bad.err


def _run_with_env(env: dict[str, str], *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compliance", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )


def test_yaml_flow_map_on_standard_input_end_to_end() -> None:
    text = (
        "{apiVersion: v1, kind: List, items: [{apiVersion: v1, kind: Namespace, "
        "metadata: {name: shop}}]}\n"
    )
    res = run_subprocess("flows", "-", "--format", "json", stdin=text)
    assert res.code == 0, res.err
    assert res.json() == {"flows": []}
