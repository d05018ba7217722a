"""Manifest signatures through ssh-keygen (SSHSIG): round trip, tampering, wrong signer,
and the `ssh-keygen -Y verify` command the README gives assessors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from compliance.errors import InputError
from compliance.signing import NAMESPACE, sign, verify


def _key(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return key


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    alice, mallory = _key(folder, "alice"), _key(folder, "mallory")
    signers = folder / "allowed_signers"
    public = (folder / "alice.pub").read_text(encoding="utf-8").split()
    signers.write_text(
        f'preparer@example.com namespaces="{NAMESPACE}" {public[0]} {public[1]}\n', encoding="utf-8"
    )
    return alice, mallory, signers


MANIFEST = b'{"files":[{"path":"report.pdf","sha256":"00"}]}\n'


def test_round_trip_and_ssh_keygen_alone(keys: tuple[Path, Path, Path], tmp_path: Path) -> None:
    alice, _, signers = keys
    signature = sign(MANIFEST, str(alice))
    assert signature.startswith(b"-----BEGIN SSH SIGNATURE-----")
    check = verify(MANIFEST, signature, str(signers))
    assert (check.valid, check.identity) == (True, "preparer@example.com")
    assert verify(MANIFEST, signature, str(signers), "preparer@example.com").valid
    # What an assessor runs, without this tool.
    (tmp_path / "manifest.json").write_bytes(MANIFEST)
    (tmp_path / "manifest.json.sig").write_bytes(signature)
    proc = subprocess.run(
        f"ssh-keygen -Y verify -f {signers} -I preparer@example.com -n {NAMESPACE} "
        "-s manifest.json.sig < manifest.json",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Good" in proc.stdout


def test_tampered_data_or_other_signer_fails(keys: tuple[Path, Path, Path]) -> None:
    alice, mallory, signers = keys
    signature = sign(MANIFEST, str(alice))
    changed = verify(MANIFEST.replace(b"00", b"01"), signature, str(signers))
    assert not changed.valid and changed.identity == "preparer@example.com"
    forged = verify(MANIFEST, sign(MANIFEST, str(mallory)), str(signers))
    assert (forged.valid, forged.identity) == (False, None)
    assert "does not list" in forged.message
    wrong_identity = verify(MANIFEST, signature, str(signers), "someone@else")
    assert not wrong_identity.valid


def test_a_git_or_login_signature_is_not_evidence(
    keys: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """The namespace binds a signature to this purpose."""
    alice, _, signers = keys
    message = tmp_path / "m"
    message.write_bytes(MANIFEST)
    subprocess.run(
        ["ssh-keygen", "-Y", "sign", "-f", str(alice), "-n", "git", str(message)],
        check=True,
        capture_output=True,
    )
    other = (tmp_path / "m.sig").read_bytes()
    assert not verify(MANIFEST, other, str(signers), "preparer@example.com").valid


def test_bad_key_is_an_input_error(tmp_path: Path) -> None:
    bogus = tmp_path / "key"
    bogus.write_text("not a key\n", encoding="utf-8")
    with pytest.raises(InputError, match="--sign: cannot sign with this key"):
        sign(MANIFEST, str(bogus))
    with pytest.raises(InputError, match="not a private key file"):
        sign(MANIFEST, str(tmp_path / "missing"))
