"""Our own YAML data files (scope files, control mappings): read one document and
validate it against its JSON Schema, with errors an author can act on.

Errors name the file, the path inside it (`zones[0].role`) and what was expected,
as one line; jsonschema's own messages are rephrased where they would print a
whole sub-document.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from compliance.errors import InputError
from compliance.load import DEFAULT_MAX_FILE_BYTES, parse_documents, read_file

SCHEMAS = Path(__file__).parent / "schemas"


@functools.cache
def schema(name: str) -> dict[str, Any]:
    """A packaged schema by file name (`scope.schema.json`)."""
    text = (SCHEMAS / name).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _is_integer(_checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)
"""JSON Schema counts 80.0 as an integer; the API server does not, and neither do we:
a port written `80.0` is refused rather than printed as `TCP 80.0`."""


@functools.cache
def _validator(name: str) -> Any:
    return _Validator(schema(name), registry=_registry())


@functools.cache
def _registry() -> Any:
    """Every packaged schema by its `$id`, so one may refer to another (results.json's
    `changes` block is a diff document)."""
    from referencing import Registry, Resource

    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        doc = schema(path.name)
        if "$id" in doc:
            resources.append((doc["$id"], Resource.from_contents(doc)))
    return Registry().with_resources(resources)


def read_document(
    path: Path | str, display: str | None = None, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> Any:
    """The single YAML or JSON document in a file (dates stay text: see `load`)."""
    return read_document_and_bytes(path, display, max_bytes)[0]


def read_document_and_bytes(
    path: Path | str, display: str | None = None, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> tuple[Any, bytes]:
    """The document and the bytes it was parsed from, read once: what is hashed is what
    was evaluated. Only a regular file of at most `max_bytes` is read."""
    shown = display or str(path)
    data = read_file(path, shown, max_bytes)
    return one_document(shown, data), data


def one_document(source: str, data: bytes) -> Any:
    """The single YAML or JSON document in `data`; an input error for none or several."""
    docs = [d for d in parse_documents(source, data) if d is not None]
    if len(docs) != 1:
        raise InputError(f"expected one YAML document, found {len(docs)}", source=source)
    return docs[0]


def schema_problem(document: Any, schema_name: str) -> str | None:
    """`field: what was expected` for the most relevant violation, or None when valid."""
    errors = list(_validator(schema_name).iter_errors(document))
    if not errors:
        return None
    error = best_match(errors)
    field = json_path(error.absolute_path)
    return f"{field}: {describe_error(error)}" if field else describe_error(error)


def validate(document: Any, schema_name: str, source: str) -> None:
    """Raise an InputError for the most relevant schema violation, if any."""
    validator = _validator(schema_name)
    errors = list(validator.iter_errors(document))
    if not errors:
        return
    error = best_match(errors)
    field = json_path(error.absolute_path) or None
    raise InputError(describe_error(error), source=source, field=field)


def json_path(parts: Any) -> str:
    """`["zones", 0, "role"]` -> `zones[0].role`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return f"the decimal number {value!r}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
}


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_error(error: ValidationError) -> str:
    """One line saying what was expected, never a dump of the sub-document."""
    v = error.validator
    value: Any = error.validator_value
    sch: Any = error.schema
    instance: Any = error.instance
    described = sch.get("description") if isinstance(sch, dict) else None
    if v == "required":
        missing = [n for n in value if isinstance(instance, dict) and n not in instance]
        return f"missing required field {missing[0]!r}" if missing else error.message
    if v == "additionalProperties":
        allowed = sorted(sch.get("properties", {}))
        extra = sorted(set(instance) - set(allowed)) if isinstance(instance, dict) else []
        name = extra[0] if extra else "?"
        return f"unknown field {name!r} (expected one of: {', '.join(allowed)})"
    if v == "enum":
        options = ", ".join(str(o) for o in value)
        return f"expected one of {options}; got {_short(instance)}"
    if v == "type":
        names = value if isinstance(value, list) else [value]
        words = " or ".join(_TYPE_WORDS.get(w, str(w)) for w in names)
        return f"expected {words}, got {_type_name(instance)}"
    if v == "pattern":
        wanted = described or f"text matching {value}"
        return f"expected {wanted}; got {_short(instance)}"
    if v in ("minProperties", "maxProperties") and described:
        return f"expected {described}"
    if v == "minItems":
        return "expected at least one entry" if value == 1 else error.message
    if v == "maxItems" and value == 0:
        return "expected an empty list"
    if v in ("minimum", "maximum"):
        bound = "at least" if v == "minimum" else "at most"
        return f"expected a number {bound} {value}; got {_short(instance)}"
    if v == "minLength":
        return "expected a non-empty string"
    if v == "maxLength":
        return f"expected at most {value} characters"
    if v == "uniqueItems":
        return "expected no repeated entries"
    if v in ("oneOf", "anyOf") and described:
        return f"expected {described}; got {_short(instance)}"
    if v == "not":
        return "these fields cannot be used together: " + ", ".join(
            sorted(value.get("required", []))
        )
    return error.message
