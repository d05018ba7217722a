"""Framework control mappings: one YAML file per framework, no code per framework.

A framework's ID is its file name without `.yaml`. The shipped files live in
`controls/` at the project's top level (inside the package when installed from
a wheel); `--controls DIR` adds a user's own, which may also replace a shipped
framework of the same ID. Every file is validated by
`schemas/controls.schema.json`, and every check it names must exist.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.datafile import one_document, validate
from compliance.errors import InputError
from compliance.load import DEFAULT_MAX_FILE_BYTES, read_file

_PACKAGE = Path(__file__).parent


def shipped_dir() -> Path:
    """`compliance/controls` in a wheel, `controls/` next to the package in a checkout."""
    inside = _PACKAGE / "controls"
    return inside if inside.is_dir() else _PACKAGE.parent / "controls"


@dataclass(frozen=True, slots=True)
class Applicability:
    """Whom a requirement applies to. PCI DSS 11.4.6, 12.5.2.1 and Appendix A1 bind service
    providers only, and A1 multi-tenant ones: evaluated for a merchant, a passing check
    there would evidence a requirement that does not exist for it."""

    entity_types: tuple[str, ...] = ()
    zone_roles: tuple[str, ...] = ()
    text: str = ""

    def describe(self) -> str:
        if self.text:
            return self.text
        parts = []
        if self.entity_types:
            parts.append(
                " or ".join(t.replace("_", " ") + "s" for t in self.entity_types) + " only"
            )
        if self.zone_roles:
            parts.append("scopes with a zone of role " + " or ".join(self.zone_roles))
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    title: str
    intent: str
    automation: str  # full | partial | manual
    checks: tuple[str, ...]
    evidence: tuple[str, ...] = ()
    designation: str | None = None
    note: str | None = None
    applies_to: Applicability | None = None

    @property
    def proposed(self) -> bool:
        """Rule-making not yet in force: shown apart, never counted with the rule's totals."""
        return self.designation == "proposed"

    @property
    def applicability(self) -> str:
        return self.applies_to.describe() if self.applies_to else "all in-scope entities"


@dataclass(frozen=True, slots=True)
class Framework:
    id: str
    title: str
    version: str
    source: str
    scope: str
    requirements: tuple[Requirement, ...]
    path: str
    notes: str = ""
    sha256: str = ""
    size: int = 0
    shipped: bool = False
    max_exception_days: int | None = None
    """The longest a waiver may run under this framework, when it sets one."""
    max_exception_source: str = ""

    def requirement(self, rid: str) -> Requirement | None:
        return next((r for r in self.requirements if r.id == rid), None)


def read_framework(
    path: Path, known_checks: Iterable[str], max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> Framework:
    shown = path.as_posix()
    data = read_file(path, shown, max_bytes)
    return _framework(shown, data, frozenset(known_checks), path.parent == shipped_dir())


@functools.lru_cache(maxsize=64)
def _framework(shown: str, data: bytes, checks: frozenset[str], shipped: bool) -> Framework:
    """The framework a control file's bytes describe. Parsing and validating a file costs
    more than evaluating a small cluster, and a process that evaluates several exports
    (a library caller, the tests) reads the same files each time: a file is parsed again
    only when its bytes differ. Frameworks are immutable, so sharing one is safe; a file
    that fails raises every time (failures are not cached)."""
    doc = one_document(shown, data)
    validate(doc, "controls.schema.json", shown)
    seen: set[str] = set()
    requirements = []
    for i, raw in enumerate(doc["requirements"]):
        where = f"requirements[{i}]"
        if raw["id"] in seen:
            raise InputError(
                f"requirement {raw['id']!r} is listed twice", source=shown, field=where
            )
        seen.add(raw["id"])
        for j, cid in enumerate(raw["checks"]):
            if cid not in checks:
                raise InputError(
                    f"unknown check {cid!r} (known: {', '.join(sorted(checks))})",
                    source=shown,
                    field=f"{where}.checks[{j}]",
                )
        requirements.append(
            Requirement(
                id=raw["id"],
                title=raw["title"],
                intent=raw["intent"],
                automation=raw["automation"],
                checks=tuple(raw["checks"]),
                evidence=tuple(raw.get("evidence", ())),
                designation=raw.get("designation"),
                note=raw.get("note"),
                applies_to=_applicability(raw.get("applies_to")),
            )
        )
    return Framework(
        id=shown.rsplit("/", 1)[-1].removesuffix(".yaml"),
        title=doc["title"],
        version=doc["version"],
        source=doc["source"],
        scope=doc["scope"],
        requirements=tuple(requirements),
        path=shown,
        notes=doc.get("notes", ""),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        shipped=shipped,
        max_exception_days=doc.get("max_exception_days"),
        max_exception_source=doc.get("max_exception_source", ""),
    )


def _applicability(raw: dict[str, Any] | None) -> Applicability | None:
    if raw is None:
        return None
    return Applicability(
        tuple(raw.get("entity_types", ())), tuple(raw.get("zone_roles", ())), raw.get("text", "")
    )


def load_catalog(
    extra_dirs: Sequence[str] = (),
    known_checks: Iterable[str] = (),
    *,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> dict[str, Framework]:
    """Every framework by ID: the shipped ones, then each `--controls DIR` in order."""
    checks = tuple(known_checks)
    found: dict[str, Framework] = {}
    dirs = [shipped_dir(), *(Path(d) for d in extra_dirs)]
    for i, folder in enumerate(dirs):
        if i > 0 and not folder.is_dir():
            raise InputError("not a folder of control files", source=str(folder))
        files = sorted(folder.glob("*.yaml"))
        if i > 0 and not files:
            raise InputError("folder holds no control files (*.yaml)", source=str(folder))
        for path in files:
            fw = read_framework(path, checks, max_bytes)
            found[fw.id] = fw
    return dict(sorted(found.items()))
