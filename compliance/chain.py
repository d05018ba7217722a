"""Packs read as links of a chain: `report --baseline` and `compliance history`.

A pack given as the baseline of the next one, or listed in a history, must first be
intact (every hash in its manifest holds), because its seal and content digest are
what the next pack records and what the chain check compares: a pack altered after it
was sealed would pass its forged facts on. Reading it is therefore `verify_pack`
first, then the snapshot (`snapshot.read_pack`); anything else is refused with one line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from compliance.errors import InputError
from compliance.load import pack_files
from compliance.snapshot import Snapshot, read_pack


@dataclass(frozen=True, slots=True)
class Link:
    """One intact pack: its snapshot, manifest, seal and results."""

    source: str
    snapshot: Snapshot
    manifest: dict[str, Any]
    seal: str
    results: dict[str, Any]

    @property
    def digest(self) -> str:
        """The content digest its manifest records (and its report's cover prints)."""
        return str(self.manifest["digest"]["value"])

    @property
    def as_of(self) -> str:
        return str(self.manifest["as_of"])

    @property
    def baseline(self) -> dict[str, str] | None:
        """The earlier pack this one names (`report --baseline`), or None."""
        found = self.manifest.get("baseline")
        return found if isinstance(found, dict) else None


def open_link(path: str) -> Link:
    """The pack at `path` (folder or zip), verified; an InputError (exit 2) naming the
    path when it is not a pack, not intact, or has no results.json."""
    from compliance.pack import verify_pack

    files = pack_files(path)
    if files is None:
        raise InputError(
            "not an evidence pack (an export or another folder?): give a folder or zip "
            "written by `compliance report`",
            source=path,
        )
    verdict = verify_pack(path)
    if not verdict.intact or verdict.manifest is None or verdict.seal is None:
        raise InputError(f"the pack is not intact: {verdict.message}", source=path)
    snap = read_pack(path, files)
    assert snap is not None
    if snap.results is None:
        raise InputError("the pack has no results.json", source=path)
    try:
        results = json.loads(snap.results)
    except ValueError as exc:
        raise InputError(f"results.json is not valid JSON ({exc})", source=path) from None
    if not isinstance(results, dict):
        raise InputError("results.json: expected a map", source=path)
    return Link(path, snap, verdict.manifest, verdict.seal, results)


def cluster_ids(snap: Snapshot) -> set[str]:
    """The cluster identities (kube-system namespace UIDs) a pack's capture records name;
    empty when its export was not made by `compliance collect`."""
    from compliance.snapshot import export_time_of

    recorded = export_time_of(snap, False)
    captures = recorded.captures if recorded is not None else ()
    return {c.cluster_id for c in captures if c.cluster_id not in ("", "unknown")}
