"""Exceptions the core raises; the CLI turns each into one line and an exit code.

The core never prints or exits: it raises one of these, and `cli.main` maps the
class to the exit code documented in the README.
"""

from __future__ import annotations

from typing import Any

from compliance.text import visible


class ComplianceError(Exception):
    """Base class: an error the user can act on, shown as one line."""

    exit_code = 3


class InputError(ComplianceError):
    """The export, a path or an option is wrong (exit 2)."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        obj: str | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.obj = obj
        self.field = field
        self.detail = message
        super().__init__(format_location(source, obj, field, message))


class RenderError(ComplianceError):
    """The PDF, the spreadsheet or the pack could not be written (exit 3)."""

    exit_code = 3


class CollectError(ComplianceError):
    """A `kubectl` call failed while collecting an export (exit 3)."""

    exit_code = 3


class InternalError(ComplianceError):
    """A fault of the tool itself (exit 3)."""

    exit_code = 3


def format_location(source: str | None, obj: str | None, field: str | None, message: str) -> str:
    """Join file, object and field into the `file: Kind ns/name: field: message` form,
    one line whatever the input's names hold (they are shown escaped)."""
    parts = [p for p in (source, obj, field) if p]
    return visible(": ".join([*parts, message]))


def type_name(value: object) -> str:
    """What an error says it found where another type was expected."""
    return {dict: "a map", list: "a list", str: "a string", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )


def expect_map(raw: object, where: Any, path: str) -> dict[str, Any]:
    """`raw` when it is a map; otherwise the one-line error naming `path` (`where` gives
    the source and object, as `InputError` takes them)."""
    if not isinstance(raw, dict):
        raise InputError(f"expected a map, got {type_name(raw)}", **where, field=path)
    return raw
