"""Sign and check a pack's manifest with OpenSSH (SSHSIG), through `ssh-keygen` itself.

A hash proves a file is unchanged only to someone who trusts where the hash came from;
a signature says who vouched for it. OpenSSH keys are what engineers already have, and
`ssh-keygen -Y verify` lets an assessor check the signature without this tool. No
cryptography is done here: `ssh-keygen` signs and verifies, with the namespace
`compliance-evidence` so a signature made for this purpose cannot be replayed as a
login or a git signature, and the reverse.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from compliance.errors import InputError

NAMESPACE = "compliance-evidence"
SIGNATURE_SUFFIX = ".sig"
TIMEOUT_SECONDS = 60


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    valid: bool
    identity: str | None
    message: str


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise InputError(
            "ssh-keygen not found on PATH: signing needs OpenSSH 8.1 or newer "
            "(Debian: apt-get install openssh-client)"
        )
    return found


def sign(data: bytes, key: str) -> bytes:
    """The SSHSIG signature (armored text) of `data` with the private key file `key`."""
    key_path = Path(key)
    if not key_path.is_file():
        raise InputError("not a private key file", source=key, field="--sign")
    with tempfile.TemporaryDirectory(prefix="compliance-sign-") as tmp:
        message = Path(tmp) / "manifest.json"
        message.write_bytes(data)
        proc = subprocess.run(
            [_ssh_keygen(), "-Y", "sign", "-f", str(key_path), "-n", NAMESPACE, str(message)],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        signature = Path(str(message) + SIGNATURE_SUFFIX)
        if proc.returncode != 0 or not signature.is_file():
            reason = _first_line(proc.stderr) or f"ssh-keygen exited {proc.returncode}"
            raise InputError(f"cannot sign with this key: {reason}", source=key, field="--sign")
        return signature.read_bytes()


def verify(
    data: bytes, signature: bytes, allowed_signers: str, identity: str | None = None
) -> SignatureCheck:
    """Whether `signature` over `data` was made by a key that `allowed_signers` lists
    (for `identity`, or for whichever principal it names for that key)."""
    signers = Path(allowed_signers)
    if not signers.is_file():
        raise InputError("not an allowed-signers file", source=allowed_signers)
    tool = _ssh_keygen()
    if identity is None:
        found = _run_with_signature(tool, ["find-principals", "-f", str(signers)], signature, b"")
        principals = found.stdout.decode("utf-8", "replace").split()
        if found.returncode != 0 or not principals:
            return SignatureCheck(
                False, None, "signed by a key the allowed-signers file does not list"
            )
        identity = principals[0]
    proc = _run_with_signature(
        tool, ["verify", "-f", str(signers), "-I", identity, "-n", NAMESPACE], signature, data
    )
    if proc.returncode == 0:
        return SignatureCheck(True, identity, f"good signature by {identity}")
    reason = _first_line(proc.stderr) or _first_line(proc.stdout) or "verification failed"
    return SignatureCheck(False, identity, f"bad signature for {identity}: {reason}")


def check_unvalidated(data: bytes, signature: bytes) -> SignatureCheck | None:
    """Whether `signature` is a good signature over `data` by the key it carries
    (`ssh-keygen -Y check-novalidate`). It cannot say who signed, which needs an
    allowed-signers file, but a manifest rewritten after signing no longer matches its
    signature: a forger who rewrites both must also sign with a key of their own, which
    the fingerprint shown here and `--allowed-signers` expose. None when ssh-keygen is
    not installed: nothing could be checked."""
    tool = shutil.which("ssh-keygen")
    if tool is None:
        return None
    proc = _run_with_signature(tool, ["check-novalidate", "-n", NAMESPACE], signature, data)
    said = _first_line(proc.stdout)
    if proc.returncode == 0:
        key = said.partition(" with ")[2] or "its key"
        return SignatureCheck(
            True, None, f"good signature by {key} (signer not checked: give --allowed-signers)"
        )
    reason = _first_line(proc.stderr) or said or f"ssh-keygen exited {proc.returncode}"
    return SignatureCheck(False, None, f"does not verify against manifest.json: {reason}")


def _run_with_signature(
    tool: str, args: list[str], signature: bytes, data: bytes
) -> subprocess.CompletedProcess[bytes]:
    """`ssh-keygen -Y ARGS -s SIG` with `data` on its input; the signature is written to
    a private temporary file because ssh-keygen reads it only from a path."""
    with tempfile.TemporaryDirectory(prefix="compliance-verify-") as tmp:
        sig = Path(tmp) / "manifest.json.sig"
        sig.write_bytes(signature)
        return subprocess.run(
            [tool, "-Y", *args, "-s", str(sig)],
            input=data,
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )


def _first_line(data: bytes) -> str:
    for line in data.decode("utf-8", "replace").splitlines():
        if line.strip():
            return line.strip()
    return ""
