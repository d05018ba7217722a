"""`verify` against a hostile pack: the seal over the whole manifest (the PDF included),
signatures, and every malformed folder, zip or manifest ends in one line and exit 1 or 2."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import DEMO_ARGS, PACK_FILES, Result, cli_run

from compliance.pack import verify_pack
from compliance.signing import NAMESPACE


def copy_pack(pack: Path, dest: Path) -> Path:
    dest.mkdir()
    for name in PACK_FILES:
        (dest / name).write_bytes((pack / name).read_bytes())
    return dest


def dump(doc: object) -> bytes:
    """The manifest's canonical form, as `report` writes it."""
    return (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def seal(folder: Path) -> str:
    return hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()


def one_line_failure(result: Result, code: int = 1) -> None:
    assert result.code == code, (result.out, result.err)
    text = result.out + result.err
    assert len(text.strip().splitlines()) == 1, text
    assert "Traceback" not in text


# --------------------------------------------------------------------------- the seal


def test_verify_prints_the_seal_which_is_sha256sum_of_the_manifest(
    sample_pack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = seal(sample_pack)
    result = cli_run(["verify", str(sample_pack)], capsys)
    assert result.code == 0
    assert f"seal {expected}" in result.out
    zipped = cli_run(["verify", str(sample_pack.with_name("evidence.zip"))], capsys)
    assert f"seal {expected}" in zipped.out
    good = cli_run(["verify", str(sample_pack), "--expect", expected.upper()], capsys)
    assert good.code == 0 and "the seal is the one expected" in good.out


def test_the_forged_pdf_attack_is_caught_by_the_seal(
    sample_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Overwrite report.pdf, put its sha256 into manifest.json: the content digest (which
    cannot cover the PDF) is unchanged, and only the recorded seal catches it."""
    original = seal(sample_pack)
    copy = copy_pack(sample_pack, tmp_path / "copy")
    forged = b"%PDF-1.7\n% All requirements pass\n"
    (copy / "report.pdf").write_bytes(forged)
    manifest = json.loads((copy / "manifest.json").read_bytes())
    for entry in manifest["files"]:
        if entry["path"] == "report.pdf":
            entry.update(sha256=hashlib.sha256(forged).hexdigest(), size=len(forged))
    (copy / "manifest.json").write_bytes(dump(manifest))
    result = cli_run(["verify", str(copy), "--expect", original], capsys)
    one_line_failure(result)
    assert f"seal {seal(copy)}, expected {original}" in result.out
    assert "NOT INTACT" in result.out


def test_a_manifest_in_another_form_is_a_change(
    sample_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One canonical form, so one seal per manifest content."""
    copy = copy_pack(sample_pack, tmp_path / "copy")
    manifest = json.loads((copy / "manifest.json").read_bytes())
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=4) + "\n")
    result = cli_run(["verify", str(copy)], capsys)
    one_line_failure(result)
    assert "manifest.json: changed: not in the one form `report` writes" in result.out


def test_a_newline_in_an_input_path_cannot_forge_a_digest_line(
    sample_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reviewed forgery: results.json deleted, its digest line smuggled into the last
    input's path, and the old digest still matched."""
    copy = copy_pack(sample_pack, tmp_path / "copy")
    manifest = json.loads((copy / "manifest.json").read_bytes())
    results = next(f for f in manifest["files"] if f["path"] == "results.json")
    manifest["files"].remove(results)
    manifest["inputs"][-1]["path"] += f"\n{results['sha256']} {results['size']} file:results.json"
    (copy / "results.json").unlink()
    (copy / "manifest.json").write_bytes(dump(manifest))
    result = cli_run(["verify", str(copy)], capsys)
    one_line_failure(result)
    assert "manifest.json: changed: inputs[" in result.out


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000 + "]" * 100_000, '{"format": ' + "9" * 5_000 + "}"],
    ids=["nested-100000", "5000-digits"],
)
def test_a_malformed_manifest_is_one_line(
    sample_pack: Path, tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = copy_pack(sample_pack, tmp_path / "copy")
    (copy / "manifest.json").write_text(text)
    result = cli_run(["verify", str(copy)], capsys)
    one_line_failure(result)
    assert "manifest.json: changed: not valid JSON" in result.out


def test_expect_takes_a_seal(sample_pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = cli_run(["verify", str(sample_pack), "--expect", "abc"], capsys)
    assert result.code == 2
    assert "64 hex digits" in result.err


# --------------------------------------------------------------------------- zips


def rewrite_zip(
    source: Path, target: Path, change: Callable[[zipfile.ZipInfo, bytes], bytes] | None = None
) -> None:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, change(info, data) if change else data)


def test_two_zip_entries_of_one_name_are_a_failure(
    sample_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = tmp_path / "dup.zip"
    rewrite_zip(sample_pack.with_name("evidence.zip"), forged)
    with zipfile.ZipFile(forged, "a") as archive, pytest.warns(UserWarning):
        archive.writestr("evidence/report.pdf", b"%PDF forged")
    result = cli_run(["verify", str(forged)], capsys)
    one_line_failure(result)
    assert "report.pdf: added (a second zip entry of the same name)" in result.out


def _patched(source: Path, target: Path, patch: Callable[[bytearray], None]) -> Path:
    data = bytearray(source.read_bytes())
    patch(data)
    target.write_bytes(bytes(data))
    return target


def _local_header(data: bytearray, name: bytes) -> int:
    offset = data.index(b"PK\x03\x04")
    while True:
        name_len = struct.unpack_from("<H", data, offset + 26)[0]
        if bytes(data[offset + 30 : offset + 30 + name_len]) == name:
            return offset
        offset = data.index(b"PK\x03\x04", offset + 4)


def _flip_data(data: bytearray) -> None:
    at = _local_header(data, b"evidence/results.json")
    name_len, extra_len = struct.unpack_from("<HH", data, at + 26)
    data[at + 30 + name_len + extra_len + 100] ^= 0xFF


def _encrypt_flag(data: bytearray) -> None:
    at = _local_header(data, b"evidence/results.json")
    data[at + 6] |= 0x1
    central = data.index(b"PK\x01\x02")
    while True:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46 : central + 46 + name_len]) == b"evidence/results.json":
            data[central + 8] |= 0x1
            return
        central = data.index(b"PK\x01\x02", central + 4)


def _rename_header(data: bytearray) -> None:
    at = _local_header(data, b"evidence/results.json")
    data[at + 30 + len("evidence/")] = ord("R")


@pytest.mark.parametrize(
    "patch",
    [_flip_data, _encrypt_flag, _rename_header],
    ids=["flipped-byte", "encrypted-flag", "header-name-mismatch"],
)
def test_a_damaged_zip_entry_is_one_line_not_intact(
    sample_pack: Path,
    tmp_path: Path,
    patch: Callable[[bytearray], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    forged = _patched(sample_pack.with_name("evidence.zip"), tmp_path / "bad.zip", patch)
    result = cli_run(["verify", str(forged)], capsys)
    one_line_failure(result)
    assert "results.json: changed" in result.out


def _zip_with(files: dict[str, bytes], target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(f"evidence/{name}", data)
    return target


def test_a_huge_entry_is_refused_by_its_declared_size_and_hashed_in_streams(
    sample_pack: Path, tmp_path: Path
) -> None:
    """A small zip may hold an entry that inflates to gigabytes: the declared size is
    compared with the manifest before reading, and a listed entry is hashed in chunks."""
    files = {n: (sample_pack / n).read_bytes() for n in PACK_FILES}
    big = bytes(64 * 1024 * 1024)
    bomb = _zip_with({**files, "evidence.xlsx": big}, tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 4 * 1024 * 1024
    tracemalloc.start()
    try:
        verdict = verify_pack(bomb)
        refused_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        manifest = json.loads(files["manifest.json"])
        for entry in manifest["files"]:
            if entry["path"] == "evidence.xlsx":
                entry.update(size=len(big), sha256="0" * 64)
        listed = _zip_with(
            {**files, "evidence.xlsx": big, "manifest.json": dump(manifest)},
            tmp_path / "listed.zip",
        )
        hashed = verify_pack(listed)
        hashed_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not verdict.intact
    assert verdict.message.startswith("evidence.xlsx: changed (67,108,864 bytes, manifest says")
    assert refused_peak < 8 * 1024 * 1024
    assert not hashed.intact
    assert hashed.message.startswith("evidence.xlsx: changed (sha256 ")
    assert hashed_peak < 16 * 1024 * 1024


# --------------------------------------------------------------------------- folders


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p, _o: (p / "etc").symlink_to("/etc"), "etc: added (a symlink, not in the"),
        (lambda p, _o: (p / "gone").symlink_to(p / "nowhere"), "gone: added (a symlink"),
        (lambda p, _o: os.mkfifo(p / "pipe"), "pipe: added (a special file"),
        (lambda p, _o: (p / "empty").mkdir(), "empty: added (a folder, not in the manifest)"),
        (
            lambda p, o: ((p / "report.pdf").unlink(), (p / "report.pdf").symlink_to(o)),
            "report.pdf: changed (a symlink, not a regular file)",
        ),
    ],
    ids=["symlink-to-etc", "dangling-symlink", "fifo", "empty-folder", "pdf-symlink-outside"],
)
def test_anything_but_a_listed_regular_file_is_a_change(
    sample_pack: Path,
    tmp_path: Path,
    make: Callable[[Path, Path], object],
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    copy = copy_pack(sample_pack, tmp_path / "copy")
    outside = tmp_path / "outside.pdf"
    outside.write_bytes((sample_pack / "report.pdf").read_bytes())  # same bytes, same hash
    make(copy, outside)
    result = cli_run(["verify", str(copy)], capsys)
    one_line_failure(result)
    assert expected in result.out


# --------------------------------------------------------------------------- signatures


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A throwaway ed25519 key, its allowed-signers file, and another key's."""
    folder = tmp_path_factory.mktemp("keys")
    for name in ("preparer", "other"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(folder / name)],
            check=True,
            stdin=subprocess.DEVNULL,
        )
    for name in ("preparer", "other"):
        kind, key = (folder / f"{name}.pub").read_text().split()[:2]
        (folder / f"{name}.signers").write_text(
            f'{name}@example.com namespaces="{NAMESPACE}" {kind} {key}\n'
        )
    return folder / "preparer", folder / "preparer.signers", folder / "other.signers"


def test_a_signed_pack_verifies_with_the_tool_and_with_ssh_keygen_alone(
    tmp_path: Path,
    signer: tuple[Path, Path, Path],
    capsys: pytest.CaptureFixture[str],
    reuse_rendered_pdf: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key, signers, others = signer
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    out = tmp_path / "evidence"
    # the demo's pack, signed: the layout of `sample_pack` serves it
    args = [*DEMO_ARGS, "--out", str(out), "--exit-zero", "--zip", "--sign", str(key)]
    written = cli_run(args, capsys)
    assert written.code == 0, written.err
    assert "signed: manifest.json.sig" in written.out
    assert sorted(p.name for p in out.iterdir()) == sorted([*PACK_FILES, "manifest.json.sig"])
    manifest = json.loads((out / "manifest.json").read_bytes())
    assert "manifest.json.sig" not in [f["path"] for f in manifest["files"]]
    with zipfile.ZipFile(out.with_name("evidence.zip")) as archive:
        sig = archive.read("evidence/manifest.json.sig")
    assert sig == (out / "manifest.json.sig").read_bytes()
    plain = subprocess.run(
        [
            *("ssh-keygen", "-Y", "verify", "-f", str(signers), "-I", "preparer@example.com"),
            *("-n", "compliance-evidence", "-s", str(out / "manifest.json.sig")),
        ],
        input=(out / "manifest.json").read_bytes(),
        capture_output=True,
        check=False,
    )
    assert plain.returncode == 0, plain.stderr
    for target in (out, out.with_name("evidence.zip")):
        good = cli_run(["verify", str(target), "--allowed-signers", str(signers)], capsys)
        assert good.code == 0, good.out
        assert "good signature by preparer@example.com" in good.out
        named = ["--allowed-signers", str(signers), "--identity", "preparer@example.com"]
        assert cli_run(["verify", str(target), *named], capsys).code == 0
        wrong = cli_run(["verify", str(target), "--allowed-signers", str(others)], capsys)
        one_line_failure(wrong)
        assert "manifest.json.sig: signed by a key the allowed-signers file does not list" in (
            wrong.out
        )
    # Without an allowed-signers file the signature is still checked against the
    # manifest, and the key that made it is named; who holds that key is not claimed.
    fingerprint = subprocess.run(
        ["ssh-keygen", "-l", "-f", f"{key}.pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    unchecked = cli_run(["verify", str(out)], capsys)
    assert unchecked.code == 0, unchecked.out
    assert (
        f"good signature by ED25519 key {fingerprint} (signer not checked: give "
        "--allowed-signers)" in unchecked.out
    )
    assert "preparer" not in unchecked.out
    with monkeypatch.context() as no_ssh:
        no_ssh.setenv("PATH", str(tmp_path))  # no ssh-keygen: say so, claim nothing
        unchecked = cli_run(["verify", str(out)], capsys)
    assert unchecked.code == 0, unchecked.out
    assert "; signed (ssh-keygen not found: the signature was not checked)" in unchecked.out
    # A manifest rewritten to list a forged PDF no longer matches its signature.
    forged = b"%PDF-1.7\n% All requirements pass\n"
    (out / "report.pdf").write_bytes(forged)
    for entry in manifest["files"]:
        if entry["path"] == "report.pdf":
            entry.update(sha256=hashlib.sha256(forged).hexdigest(), size=len(forged))
    (out / "manifest.json").write_bytes(dump(manifest))
    bad = cli_run(["verify", str(out), "--allowed-signers", str(signers)], capsys)
    one_line_failure(bad)
    assert "manifest.json.sig: bad signature for preparer@example.com" in bad.out
    for target in (out, out.with_name("forged.zip")):
        if target.suffix == ".zip":
            with zipfile.ZipFile(target, "w") as archive:
                for path in sorted(out.iterdir()):
                    archive.write(path, f"evidence/{path.name}")
        unchecked = cli_run(["verify", str(target)], capsys)
        one_line_failure(unchecked)
        assert "manifest.json.sig: does not verify against manifest.json: " in unchecked.out
    # --force replaces a signed pack like any other pack this tool wrote.
    again = cli_run([a for a in args if a not in ("--sign", str(key))] + ["--force"], capsys)
    assert again.code == 0, again.err
    assert sorted(p.name for p in out.iterdir()) == PACK_FILES


def test_allowed_signers_on_an_unsigned_pack_is_a_failure(
    sample_pack: Path, signer: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli_run(["verify", str(sample_pack), "--allowed-signers", str(signer[1])], capsys)
    one_line_failure(result)
    assert "manifest.json.sig: removed (not signed)" in result.out


# --------------------------------------------------------------------------- the PDF


def test_the_pdf_names_the_content_digest_and_where_the_seal_is(
    sample_pack: Path, read_pdf_pages: Callable[[Path], list[str]]
) -> None:
    """The PDF cannot print its own seal; it must not call its digest the pack's."""
    pages = read_pdf_pages(sample_pack / "report.pdf")
    text = " ".join(" ".join(pages).split())
    manifest = json.loads((sample_pack / "manifest.json").read_bytes())
    cover = " ".join(pages[0].split())
    assert "Content digest (sha256)" in cover
    assert manifest["digest"]["value"] in cover.replace(" ", "")
    assert "printed by compliance report and compliance verify" in cover
    assert "Pack digest" not in text
    assert seal(sample_pack) not in text.replace(" ", "")
    assert "The seal is the sha256 of manifest.json exactly as written" in text
    assert "compliance verify --expect SEAL" in text


def test_a_key_that_cannot_sign_writes_no_pack(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    reuse_rendered_pdf: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    out = tmp_path / "evidence"
    args = [*DEMO_ARGS, "--out", str(out), "--exit-zero", "--zip"]
    args += ["--sign", str(tmp_path / "no-key")]
    result = cli_run(args, capsys)
    assert result.code == 2
    assert result.err.strip().splitlines()[-1].endswith("--sign: not a private key file")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
