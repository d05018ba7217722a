"""`compliance diff` output: the diff document as text, Markdown or JSON.

Every format is a pure function of the document that `compliance.diff.diff` builds, in
the issue's order: zones, flows, policies, workloads, requirements, findings, register
and waivers. Values from the cluster pass through `visible` (text) or are escaped for
Markdown's table cells, so a name cannot forge a line or a table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from compliance.text import line_value


def render_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _lines(doc: dict[str, Any], md: bool) -> Iterator[str]:
    def v(value: object) -> str:
        return line_value(value, md)

    h = "## " if md else ""
    item = "- " if md else "  "
    old, new = doc["old"], doc["new"]
    yield f"{'# ' if md else ''}Changes from {v(old['as_of'])} to {v(new['as_of'])}"
    for label, side in (("old", old), ("new", new)):
        digest = side["digest"] or "none (an export)"
        cluster = v(side["cluster"])
        yield f"{item}{label}: {v(side['source'])} (cluster {cluster}, digest {v(digest)})"
    for note in doc["notes"]:
        yield f"{item}note: {v(note)}"
    yield ""
    yield f"{h}Segmentation per zone"
    for z in doc["zones"]:
        yield f"{item}{v(z['zone'])}: {z['verdict']}"
        if z["note"]:
            yield f"{item}  {v(z['note'])}; flows: " + ", ".join(v(f) for f in z["flows"])
    yield ""
    flows = doc["flows"]
    yield f"{h}Flows touching a zone ({len(flows['touching_zones'])} changed)"
    for f in flows["touching_zones"]:
        what = f["change"]
        if what == "changed":
            parts = [f"widened {f['widened']}" if f["widened"] else "", ""]
            parts[1] = f"narrowed {f['narrowed']}" if f["narrowed"] else ""
            what = "; ".join(p for p in parts if p)
        ports = f["ports_now"] or f["ports_before"]
        yield f"{item}{v(f['src'])} -> {v(f['dst'])}: {v(what)} ({v(ports)})"
        for r in f["rules_before"]:
            yield f"{item}  before: {v(r)}"
        for r in f["rules_now"]:
            yield f"{item}  now: {v(r)}"
    yield f"{item}rest of the cluster: {flows['other_changes']} flow(s) changed"
    yield ""
    yield f"{h}Policies ({len(doc['policies'])} changed)"
    for p in doc["policies"]:
        yield f"{item}{v(p['policy'])}: {p['change']}; {p['effect']}"
        for f in p["flows_added"]:
            yield f"{item}  adds {v(f)}"
        for f in p["flows_removed"]:
            yield f"{item}  removes {v(f)}"
    yield ""
    yield f"{h}Workloads ({len(doc['workloads'])} changed)"
    for w in doc["workloads"]:
        moves = [f"entered {', '.join(w['entered'])}" if w["entered"] else ""]
        moves.append(f"left {', '.join(w['left'])}" if w["left"] else "")
        detail = "; ".join(m for m in moves if m)
        yield f"{item}{v(w['workload'])}: {w['change']}" + (f" ({v(detail)})" if detail else "")
    yield ""
    yield f"{h}Requirements ({len(doc['requirements'])} changed status)"
    for r in doc["requirements"]:
        yield f"{item}{v(r['framework'])} {v(r['requirement'])}: {r['before']} -> {r['now']}"
    yield ""
    fd = doc["findings"]
    yield (
        f"{h}Findings: {len(fd['new'])} new, {len(fd['resolved'])} resolved, "
        f"{len(fd['still_open'])} still open"
    )
    for label in ("new", "resolved"):
        for f in fd[label]:
            yield f"{item}{label}: {v(f['id'])} {v(f['check'])} {v(f['workload'] or '')}"
    yield ""
    for key, title in (("register", "Register"), ("waivers", "Waivers")):
        entries = doc[key]
        yield f"{h}{title}"
        for label in ("added", "removed", "expired"):
            yield f"{item}{label}: " + (", ".join(v(e) for e in entries[label]) or "none")
        yield ""


def render_text(doc: dict[str, Any]) -> str:
    return "\n".join(_lines(doc, md=False)).rstrip("\n") + "\n"


def render_markdown(doc: dict[str, Any]) -> str:
    return "\n".join(_lines(doc, md=True)).rstrip("\n") + "\n"


FORMATS: dict[str, Callable[[dict[str, Any]], str]] = {
    "txt": render_text,
    "md": render_markdown,
    "json": render_json,
}
