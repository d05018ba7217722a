"""Segmentation-test results joined to the plan they ran: what each probe expected and
what the cluster did.

Two result forms: our `run-probes.sh` writes `probe-results.csv` (`id,result,detail`,
result open / blocked / error / inconclusive); netassert v2 writes TAP 14
(`results.tap`), where `ok` means the observed exit code matched the expectation, not
"connected", so an observation is the plan's expectation or its opposite. Results
join the plan by probe ID (netassert's test name is the probe ID).

A result for a probe the plan does not have, a probe reported twice, or a file of
neither form is an input error naming the file and line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.datafile import schema_problem
from compliance.errors import InputError

RESULTS = ("open", "blocked", "error", "inconclusive")
MAX_RESULT_BYTES = 64 << 20
TESTED = re.compile(r"^# tested: (\d{4}-\d{2}-\d{2})(?:T[0-9:]+Z)?[ \t]*\r?$", re.MULTILINE)
TAP_LINE = re.compile(r"(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(.*))?\Z")


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """One probe of the plan and what was observed (None: no result for it)."""

    probe: dict[str, Any]
    observed: str | None
    detail: str
    source: str

    @property
    def id(self) -> str:
        return str(self.probe["id"])

    @property
    def expected(self) -> str:
        return str(self.probe["expect"])

    @property
    def mismatch(self) -> str | None:
        """`not-enforced` (expected blocked, seen open), `broken-path` (expected open,
        seen blocked), or None."""
        if self.observed == "open" and self.expected == "blocked":
            return "not-enforced"
        if self.observed == "blocked" and self.expected == "open":
            return "broken-path"
        return None


@dataclass(frozen=True, slots=True)
class ProbeResults:
    plan: dict[str, Any]
    plan_source: str
    outcomes: tuple[ProbeOutcome, ...]
    tested: str | None = None
    """The date the probes ran (`# tested: YYYY-MM-DD...` in a result file; the latest
    when several say), or None when no file records it: never guessed from the files."""


def read_plan(path: str) -> dict[str, Any]:
    data = _read(path)
    try:
        plan = json.loads(data)
    except (ValueError, RecursionError):
        raise InputError("not a probe plan (invalid JSON)", source=path) from None
    problem = schema_problem(plan, "probe-plan.schema.json")
    if problem is not None:
        raise InputError(f"not a probe plan written by probe-plan: {problem}", source=path)
    ids = [p["id"] for p in plan["probes"]]
    if len(set(ids)) != len(ids):
        raise InputError("probe IDs repeat", source=path, field="probes")
    result: dict[str, Any] = plan
    return result


def read_results(plan_path: str, result_paths: list[str]) -> ProbeResults:
    """Every probe of the plan with its observation from the result files (the later
    file does not override an earlier one: a probe reported twice is an error)."""
    plan = read_plan(plan_path)
    probes = {p["id"]: p for p in plan["probes"]}
    observed: dict[str, tuple[str, str, str]] = {}
    dates: list[str] = []
    for path in result_paths:
        text = _read(path).decode("utf-8", "replace")
        dates.extend(m.group(1) for m in TESTED.finditer(text))
        text = "\n" * text.count("\n", 0, _comments_end(text)) + text[_comments_end(text) :]
        rows = _tap(path, text, probes) if _is_tap(text) else _csv(path, text)
        for line, probe_id, result, detail in rows:
            if probe_id not in probes:
                raise InputError(
                    f"probe {probe_id!r} is not in the plan {plan_path}",
                    source=path,
                    field=f"line {line}",
                )
            if probe_id in observed:
                raise InputError(
                    f"probe {probe_id} has a result already (in {observed[probe_id][2]})",
                    source=path,
                    field=f"line {line}",
                )
            observed[probe_id] = (result, detail, path)
    outcomes = tuple(
        ProbeOutcome(p, *observed[i]) if i in observed else ProbeOutcome(p, None, "no result", "")
        for i, p in probes.items()
    )
    return ProbeResults(plan, plan_path, outcomes, max(dates) if dates else None)


def _comments_end(text: str) -> int:
    """Where the `#` comment lines leading a CSV file end (0 for TAP, whose own
    comments the TAP reader skips)."""
    if text.startswith("TAP version"):
        return 0
    end = 0
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        end += len(line)
    return end


def _read(path: str) -> bytes:
    target = Path(path)
    try:
        if not target.is_file():
            raise InputError("not a regular file", source=path)
        with target.open("rb") as handle:
            data = handle.read(MAX_RESULT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=path) from None
    if len(data) > MAX_RESULT_BYTES:
        raise InputError(f"larger than {MAX_RESULT_BYTES >> 20} MiB", source=path)
    return data


def _is_tap(text: str) -> bool:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first.startswith("TAP version") or bool(TAP_LINE.match(first))


def _csv(path: str, text: str) -> list[tuple[int, str, str, str]]:
    reader = csv.reader(io.StringIO(text))
    header = next((row for row in reader if row), None)
    if header != ["id", "result", "detail"]:
        raise InputError(
            "expected probe-results.csv (header id,result,detail) or netassert TAP output",
            source=path,
            field="line 1",
        )
    rows = []
    for row in reader:
        line = reader.line_num
        if not row:
            continue
        if len(row) != 3:
            raise InputError(
                f"expected 3 fields (id,result,detail), found {len(row)}",
                source=path,
                field=f"line {line}",
            )
        probe_id, result, detail = row
        if result not in RESULTS:
            raise InputError(
                f"result {result!r} is not one of {', '.join(RESULTS)}",
                source=path,
                field=f"line {line}",
            )
        rows.append((line, probe_id, result, detail))
    return rows


def _tap(path: str, text: str, probes: dict[str, Any]) -> list[tuple[int, str, str, str]]:
    """TAP 14: `ok`/`not ok` lines; the YAML block after a line gives its reason."""
    rows: list[tuple[int, str, str, str]] = []
    lines = text.splitlines()
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        if not line or line.startswith(("TAP version", "#", " ", "\t", "1..", "Bail out!")):
            if line.startswith("Bail out!"):
                raise InputError(f"the test run bailed out: {line[9:].strip()}", source=path)
            continue
        match = TAP_LINE.match(line)
        if match is None:
            raise InputError("not a TAP test line", source=path, field=f"line {number}")
        status, _, name, directive = match.groups()
        probe_id = name.strip()
        probe = probes.get(probe_id)
        if probe is None:
            rows.append((number, probe_id, "error", ""))
            continue
        reason = _yaml_reason(lines, number)
        if directive and directive.upper().startswith(("SKIP", "TODO")):
            rows.append((number, probe_id, "inconclusive", directive))
        elif status == "ok":
            rows.append((number, probe_id, probe["expect"], "as expected (netassert)"))
        else:
            opposite = "open" if probe["expect"] == "blocked" else "blocked"
            rows.append((number, probe_id, opposite, reason or "not as expected (netassert)"))
    return rows


def _yaml_reason(lines: list[str], number: int) -> str:
    """The `reason:` of the indented YAML block that follows test line `number`."""
    for raw in lines[number:]:
        stripped = raw.strip()
        if not raw.startswith((" ", "\t")):
            return ""
        if stripped.startswith("reason:"):
            return stripped[len("reason:") :].strip().strip("'\"")
        if stripped == "...":
            return ""
    return ""
