"""Kubernetes label selectors: validation as the API server does it, and matching.

Matching is exact: `matchLabels` AND every `matchExpressions` entry; `NotIn`
and `DoesNotExist` match objects that lack the key. `{}` matches everything,
which is why an absent selector is represented as `None` by callers, never as
an empty selector.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from compliance.errors import InputError, type_name

T = TypeVar("T")

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def label_key_problem(key: object) -> str | None:
    """Why `key` is not a valid label key, or None when it is."""
    if not isinstance(key, str):
        return f"label key must be a string, got {type(key).__name__}"
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return f"invalid label key {key!r}: prefix must be a DNS subdomain"
    if not name or len(name) > 63 or not _NAME.fullmatch(name):
        return (
            f"invalid label key {key!r}: name must be 1-63 characters of [A-Za-z0-9-_.], "
            "starting and ending with an alphanumeric"
        )
    return None


def label_value_problem(value: object) -> str | None:
    """Why `value` is not a valid label value, or None when it is."""
    if not isinstance(value, str):
        return f"label value must be a string, got {type(value).__name__}"
    if value == "":
        return None
    if len(value) > 63 or not _NAME.fullmatch(value):
        return (
            f"invalid label value {value!r}: at most 63 characters of [A-Za-z0-9-_.], "
            "starting and ending with an alphanumeric"
        )
    return None


def parse_labels(raw: object, where: Mapping[str, str | None], field: str) -> dict[str, str]:
    """Validate a `labels` / `matchLabels` map; `where` gives source and object for errors."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InputError(f"expected a map of labels, got {type_name(raw)}", **where, field=field)
    for key, value in raw.items():
        problem = label_key_problem(key)
        if problem is None:
            problem = label_value_problem(value)
        if problem:
            raise InputError(problem, **where, field=f"{field}.{key}")
    return dict(raw)


@dataclass(frozen=True, slots=True, order=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...]
    """Sorted and unique, so equal requirements compare and hash equal."""


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed selector; `match_labels` is folded into `In` requirements with one value."""

    requirements: tuple[Requirement, ...] = ()

    @property
    def selects_all(self) -> bool:
        return not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        for req in self.requirements:
            present = req.key in labels
            if req.operator == "In":
                if not present or labels[req.key] not in req.values:
                    return False
            elif req.operator == "NotIn":
                if present and labels[req.key] in req.values:
                    return False
            elif req.operator == "Exists":
                if not present:
                    return False
            elif present:  # DoesNotExist
                return False
        return True

    def describe(self) -> str:
        """Compact text such as `app=web,tier in (a,b),!legacy`; `{}` selects everything."""
        if not self.requirements:
            return "{}"
        parts = []
        for r in self.requirements:
            vals = ",".join(r.values)
            if r.operator == "In":
                parts.append(f"{r.key}={vals}" if len(r.values) == 1 else f"{r.key} in ({vals})")
            elif r.operator == "NotIn":
                parts.append(f"{r.key} notin ({vals})")
            elif r.operator == "Exists":
                parts.append(r.key)
            else:
                parts.append(f"!{r.key}")
        return ",".join(parts)


def parse_selector(raw: object, where: Mapping[str, str | None], field: str) -> LabelSelector:
    """Validate and parse a LabelSelector object (`{}` or None-free input only)."""
    if not isinstance(raw, dict):
        raise InputError(
            f"expected a label selector map, got {type_name(raw)}", **where, field=field
        )
    unknown = set(raw) - {"matchLabels", "matchExpressions"}
    if unknown:
        name = sorted(map(str, unknown))[0]
        raise InputError("unknown field in label selector", **where, field=f"{field}.{name}")
    reqs: list[Requirement] = []
    labels = parse_labels(raw.get("matchLabels"), where, f"{field}.matchLabels")
    for key, value in labels.items():
        reqs.append(Requirement(key, "In", (value,)))
    exprs = raw.get("matchExpressions")
    if exprs is None:
        exprs = []
    if not isinstance(exprs, list):
        raise InputError(
            f"expected a list, got {type_name(exprs)}", **where, field=f"{field}.matchExpressions"
        )
    for i, expr in enumerate(exprs):
        reqs.append(_parse_requirement(expr, where, f"{field}.matchExpressions[{i}]"))
    # Sorted so that equal selectors compare (and cache) equal whatever their order.
    return LabelSelector(tuple(sorted(set(reqs))))


def _parse_requirement(raw: Any, where: Mapping[str, str | None], field: str) -> Requirement:
    if not isinstance(raw, dict):
        raise InputError(f"expected a map, got {type_name(raw)}", **where, field=field)
    key = raw.get("key")
    if key is None:
        raise InputError("key is required", **where, field=f"{field}.key")
    problem = label_key_problem(key)
    if problem:
        raise InputError(problem, **where, field=f"{field}.key")
    op = raw.get("operator")
    if op not in OPERATORS:
        raise InputError(
            f"unknown operator {op!r}: expected one of {', '.join(OPERATORS)}",
            **where,
            field=f"{field}.operator",
        )
    values = raw.get("values")
    if values is None:
        values = []
    if not isinstance(values, list):
        raise InputError(
            f"expected a list, got {type_name(values)}", **where, field=f"{field}.values"
        )
    if op in ("In", "NotIn") and not values:
        raise InputError(
            f"values must be non-empty when operator is {op}", **where, field=f"{field}.values"
        )
    if op in ("Exists", "DoesNotExist") and values:
        raise InputError(
            f"values must be empty when operator is {op}", **where, field=f"{field}.values"
        )
    for j, value in enumerate(values):
        problem = label_value_problem(value)
        if problem:
            raise InputError(problem, **where, field=f"{field}.values[{j}]")
    return Requirement(key, op, tuple(sorted(set(values))))


def select_indexed(
    sel: LabelSelector,
    universe: Iterable[T],
    by_label: Mapping[tuple[str, str], set[T]],
    by_key: Mapping[str, set[T]],
) -> set[T]:
    """Items of `universe` the selector matches, by set algebra over label indexes.

    `by_label` maps (key, value) and `by_key` maps key to the items carrying it, so
    a selector costs a few set operations instead of a label test per item.
    """
    positives: list[set[T]] = []
    negatives: list[set[T]] = []
    empty: set[T] = set()
    for req in sel.requirements:
        if req.operator in ("In", "NotIn"):
            hits: set[T] = set().union(*(by_label.get((req.key, v), empty) for v in req.values))
            (positives if req.operator == "In" else negatives).append(hits)
        elif req.operator == "Exists":
            positives.append(by_key.get(req.key, empty))
        else:
            negatives.append(by_key.get(req.key, empty))
    if positives:
        positives.sort(key=len)
        result = set(positives[0])
        for more in positives[1:]:
            result &= more
        result.intersection_update(universe)
    else:
        result = set(universe)
    for hits in negatives:
        result -= hits
    return result
