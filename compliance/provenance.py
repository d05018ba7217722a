"""When an export was taken, as far as the export itself can tell.

`--as-of` is the preparer's statement of the moment a pack speaks for; nothing stops
it from naming a day before the cluster looked like the export. Two facts bound it: the
capture record `compliance collect` writes (cluster identity, capture start and end),
and, for any export, the newest time stamped on its objects (creation, managed-fields
and status times): the export cannot have been taken before that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from compliance.errors import InputError

if TYPE_CHECKING:
    from compliance.load import K8sObject

ANNOTATION_PREFIX = "compliance.io/"
"""The annotations of the `List` that `compliance collect` writes: its capture record."""
CONTEXT = ANNOTATION_PREFIX + "context"
SERVER_VERSION = ANNOTATION_PREFIX + "server-version"
CLUSTER_ID = ANNOTATION_PREFIX + "cluster-id"
CAPTURE_START = ANNOTATION_PREFIX + "capture-start"
CAPTURE_END = ANNOTATION_PREFIX + "capture-end"
KINDS_COLLECTED = ANNOTATION_PREFIX + "kinds-collected"
KINDS_NOT_SERVED = ANNOTATION_PREFIX + "kinds-not-served"
COLLECTOR = ANNOTATION_PREFIX + "collector"


@dataclass(frozen=True, slots=True)
class Capture:
    """The capture record of one collected export file."""

    source: str
    context: str
    cluster_id: str
    server_version: str
    start: str
    end: str


@dataclass(frozen=True, slots=True)
class ObjectTime:
    """The newest time stamped on an object, and which object and field carry it."""

    moment: dt.datetime
    obj: str
    field: str


@dataclass(frozen=True, slots=True)
class ExportTime:
    """What the evidence can say about when the export was taken, and whether the as-of
    was stated by the preparer (`--as-of`) or is the moment of the run.

    The pack must not let a stated as-of read as an observed one: the reader is shown
    the capture record (or, without one, only the bound the objects give) next to it."""

    captures: tuple[Capture, ...]
    newest: ObjectTime | None
    stated: bool

    @property
    def as_of_statement(self) -> str:
        if self.stated:
            return (
                "The as-of time is the preparer's statement (--as-of); the tool did not "
                "observe the cluster at that moment."
            )
        return "The as-of time is the moment the evaluation ran."

    @property
    def capture_statement(self) -> str:
        """When the export was taken, as far as the export shows: its capture record,
        or only that it was taken after its newest object time."""
        if self.captures:
            return "; ".join(
                f"{c.source}: captured {c.start or 'at an unrecorded start'} to "
                f"{c.end or 'an unrecorded end'} from cluster {c.cluster_id or 'unknown'}"
                f"{f' (context {c.context})' if c.context else ''}"
                for c in self.captures
            )
        if self.newest is not None:
            return (
                f"capture time not recorded; taken after {_iso(self.newest.moment)} "
                f"(the newest object time, {self.newest.field} of {self.newest.obj})"
            )
        return "capture time not recorded, and no object carries a time"


def export_time(
    objects: Iterable[K8sObject], captures: Iterable[Capture], stated: bool
) -> ExportTime:
    """The export's time facts for the results and the report."""
    return ExportTime(tuple(captures), newest_object_time(objects), stated)


def captures_in(source: str, docs: Iterable[Any]) -> list[Capture]:
    """Capture records of the `List` documents that `compliance collect` wrote."""
    found = []
    for doc in docs:
        meta = doc.get("metadata") if isinstance(doc, dict) else None
        notes = meta.get("annotations") if isinstance(meta, dict) else None
        if not isinstance(notes, dict) or CAPTURE_END not in notes:
            continue

        def text(key: str, notes: dict[Any, Any] = notes) -> str:
            value = notes.get(key)
            return value if isinstance(value, str) else ""

        found.append(
            Capture(
                source,
                text(CONTEXT),
                text(CLUSTER_ID),
                text(SERVER_VERSION),
                text(CAPTURE_START),
                text(CAPTURE_END),
            )
        )
    return found


def newest_object_time(objects: Iterable[K8sObject]) -> ObjectTime | None:
    """The latest creation, managed-fields or status time on any object."""
    newest: ObjectTime | None = None
    for obj in objects:
        for field, value in _stamps(obj.body):
            moment = parse_time(value)
            if moment is not None and (newest is None or moment > newest.moment):
                newest = ObjectTime(moment, obj.ref, field)
    return newest


def check_as_of(
    moment: dt.datetime,
    objects: Iterable[K8sObject],
    captures: Iterable[Capture],
    newest: ObjectTime | None = None,
) -> None:
    """Refuse an as-of before the export was taken: it would date evidence falsely.
    `newest`, when the caller has it already, saves a pass over the objects."""
    bounds: list[tuple[dt.datetime, str]] = []
    if newest is None:
        newest = newest_object_time(objects)
    if newest is not None:
        bounds.append((newest.moment, f"newest object time {_iso(newest.moment)} on {newest.obj}"))
    for capture in captures:
        start = parse_time(capture.start)
        if start is not None:
            bounds.append((start, f"captured from {capture.start} ({capture.source})"))
    late = [b for b in bounds if moment < b[0]]
    if late:
        _, why = max(late)
        raise InputError(f"as-of {_iso(moment)} precedes the export ({why})", field="--as-of")


def parse_time(value: Any) -> dt.datetime | None:
    """An RFC 3339 time as Kubernetes writes it, or None when it is not one."""
    if not isinstance(value, str) or len(value) < 20 or len(value) > 40:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(dt.UTC)


def _stamps(doc: Any) -> Iterable[tuple[str, Any]]:
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    if isinstance(meta, dict):
        yield "metadata.creationTimestamp", meta.get("creationTimestamp")
        managed = meta.get("managedFields")
        if isinstance(managed, list):
            for i, entry in enumerate(managed):
                if isinstance(entry, dict):
                    yield f"metadata.managedFields[{i}].time", entry.get("time")
    status = doc.get("status") if isinstance(doc, dict) else None
    yield from _times_under("status", status, depth=0)


def _times_under(path: str, node: Any, depth: int) -> Iterable[tuple[str, Any]]:
    """Status fields named `...Time` or `...Timestamp` (startTime, lastTransitionTime)."""
    if depth > 6:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                continue
            if key.endswith(("Time", "Timestamp")) and isinstance(value, str):
                yield f"{path}.{key}", value
            else:
                yield from _times_under(f"{path}.{key}", value, depth + 1)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _times_under(f"{path}[{i}]", item, depth + 1)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
