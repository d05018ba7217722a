"""The diff against a baseline pack, as the PDF's "Changes since" section and the
workbook's Changes sheet read it.

`compliance report --baseline OLD_PACK` puts the diff document
(`schemas/diff.schema.json`) on the evaluation as `changes`. The document names a flow
by its two ends and carries ports as text; this module adds what both renderers need
and the document leaves implicit: the zones each changed flow touches (from the new
placement and the workloads' recorded zone moves, which together give the old
placement too) and one row per port range. The PDF shows the first rows of each list
and says how many more the sheet has; the sheet has every row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from compliance.evaluate import Evaluation
from compliance.ports import PortSet, parse_description

FLOWS_SHOWN = 100
"""Changed flows touching a zone that the PDF lists; the Changes sheet has all."""
PER_ITEM = 12
"""Flows named per zone verdict and per policy in the PDF."""
ROWS_SHOWN = 60
"""Workloads, findings and register or waiver entries listed per table in the PDF."""
SHEET = "evidence.xlsx, sheet Changes"


@dataclass(frozen=True, slots=True)
class Capped:
    """The first items of a list, and how many it leaves out."""

    items: tuple[Any, ...]
    more: int

    @staticmethod
    def of(items: Sequence[Any], limit: int) -> Capped:
        return Capped(tuple(items[:limit]), max(0, len(items) - limit))


@dataclass(frozen=True, slots=True)
class FlowChange:
    """One changed flow as the PDF prints it."""

    change: str
    """added, removed, or what widened and narrowed."""
    src: str
    dst: str
    ports_now: str | None
    ports_before: str | None
    zones: str
    rules_now: tuple[str, ...]
    rules_before: tuple[str, ...]


class Zones:
    """The zones an end of a changed flow was in, on either side of the diff.

    The diff counts a flow as touching a zone when either end is in one in the old or
    the new placement. The new placement is the evaluation's; the document records every
    workload whose zones changed (entered, left), so the old zones are the new ones less
    those entered plus those left."""

    def __init__(self, doc: Mapping[str, Any], ev: Evaluation) -> None:
        self.now = {str(w.ref): ev.placement.zones(w.ref) for w in ev.cluster.workloads}
        self.moves = {w["workload"]: (set(w["entered"]), set(w["left"])) for w in doc["workloads"]}

    def of(self, end: str) -> frozenset[str]:
        now = self.now.get(end, frozenset())
        left = self.moves.get(end, (set(), set()))[1]
        return now | left  # the new zones and the old ones, (now - entered) | left

    def text(self, entry: Mapping[str, Any]) -> str:
        return ", ".join(sorted(self.of(entry["src"]) | self.of(entry["dst"])))


def change_text(entry: Mapping[str, Any]) -> str:
    """`added`, `removed`, or `widened TCP 8443; narrowed TCP 80` for a changed flow."""
    if entry["change"] != "changed":
        return str(entry["change"])
    parts = [f"{word} {entry[word]}" for word in ("widened", "narrowed") if entry[word]]
    return "; ".join(parts)


def port_rows(entry: Mapping[str, Any]) -> Iterator[tuple[str, str, int, int]]:
    """(change, protocol, from, to) per port range of a changed flow: an added flow's
    ports now, a removed flow's ports before, a changed flow's widened then narrowed
    ranges. "all" is every port of every protocol, one row per protocol, as the Flows
    sheet writes it."""
    if entry["change"] == "changed":
        kinds = [(word, entry[word]) for word in ("widened", "narrowed") if entry[word]]
    elif entry["change"] == "added":
        kinds = [("added", entry["ports_now"])]
    else:
        kinds = [("removed", entry["ports_before"])]
    for kind, text in kinds:
        ports: PortSet = parse_description(text)
        for proto, ranges in ports.items():
            for lo, hi in ranges:
                yield kind, proto, lo, hi


def flow_changes(doc: Mapping[str, Any], zones: Zones, limit: int) -> Capped:
    touching = doc["flows"]["touching_zones"]
    rows = [
        FlowChange(
            change=change_text(f),
            src=f["src"],
            dst=f["dst"],
            ports_now=f["ports_now"],
            ports_before=f["ports_before"],
            zones=zones.text(f),
            rules_now=tuple(f["rules_now"]),
            rules_before=tuple(f["rules_before"]),
        )
        for f in touching[:limit]
    ]
    return Capped(tuple(rows), max(0, len(touching) - limit))


def changes_view(ev: Evaluation) -> dict[str, Any] | None:
    """What the report's "Changes since" section reads; None without a baseline."""
    doc = ev.changes
    if doc is None:
        return None
    zones = Zones(doc, ev)
    findings = doc["findings"]
    return {
        "old": doc["old"],
        "new": doc["new"],
        "notes": doc["notes"],
        "zones": [{**z, "flows": Capped.of(z["flows"], PER_ITEM)} for z in doc["zones"]],
        "changed_zones": sum(1 for z in doc["zones"] if z["verdict"] == "changed"),
        "flows": flow_changes(doc, zones, FLOWS_SHOWN),
        "flow_count": len(doc["flows"]["touching_zones"]),
        "other_changes": doc["flows"]["other_changes"],
        "policies": [
            {
                **p,
                "flows_added": Capped.of(p["flows_added"], PER_ITEM),
                "flows_removed": Capped.of(p["flows_removed"], PER_ITEM),
            }
            for p in doc["policies"]
        ],
        "workloads": Capped.of(doc["workloads"], ROWS_SHOWN),
        "requirements": doc["requirements"],
        "findings_new": Capped.of(findings["new"], ROWS_SHOWN),
        "findings_resolved": Capped.of(findings["resolved"], ROWS_SHOWN),
        "findings_still_open": len(findings["still_open"]),
        "dated": [
            (title, label, Capped.of(doc[key][label], ROWS_SHOWN))
            for key, title in (("register", "Approved-flow register"), ("waivers", "Waivers"))
            for label in ("added", "removed", "expired")
        ],
        "sheet": SHEET,
    }
