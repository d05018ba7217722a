"""`compliance history`: a run of quarterly packs read side by side, and their chain.

Each pack made with `report --baseline` records the seal and content digest of the one
before it. Sorted by as-of, every pack after the first must name exactly the pack that
precedes it: otherwise a quarter is missing, a pack was replaced after the next one was
made, or the packs are not one series, and the chain is broken at that pack.

Per pack it reads only what the pack itself attests (its verified manifest and
results.json), never a re-evaluation: requirement counts per status and framework, the
open findings (by their stable ID, so a reworded message is the same finding) opened
and closed against the previous pack (those opened because a waiver no longer covers
them named apart: `compliance diff` does not count them as new), and the allowed flows
crossing a zone boundary (one end in a zone the other is not in, as `compliance diff`
defines it). Pure.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

FORMAT = "compliance-history/1"
OPEN_STATUSES = ("fail", "warn")
"""A finding counts as open while it fails or warns; a waived one is accounted for."""


@dataclass(frozen=True, slots=True)
class PackFacts:
    """What history needs of one verified pack."""

    source: str
    as_of: str
    seal: str
    digest: str
    cluster: str
    baseline: dict[str, str] | None
    results: dict[str, Any]


def ordered(packs: Sequence[PackFacts]) -> list[PackFacts]:
    """Oldest first; packs of the same as-of by seal, so any argument order gives one
    order."""
    return sorted(packs, key=lambda p: (p.as_of, p.seal, p.source))


def chain_breaks(packs: Sequence[PackFacts]) -> list[str]:
    """One sentence per pack (after the first) that does not name the previous one."""
    breaks = []
    for before, pack in itertools.pairwise(packs):
        named = pack.baseline
        if named is None:
            breaks.append(
                f"{pack.source} names no baseline but the previous pack {before.source} has "
                f"{before.seal}"
            )
        elif named.get("seal") != before.seal:
            breaks.append(
                f"{pack.source} names baseline {named.get('seal')} but the previous pack "
                f"{before.source} has {before.seal}"
            )
        elif named.get("digest") != before.digest:
            breaks.append(
                f"{pack.source} names baseline digest {named.get('digest')} but the previous "
                f"pack {before.source} has {before.digest}"
            )
    return breaks


def _in_order(counts: dict[str, int]) -> dict[str, int]:
    """Most severe first, as every summary lists them; unknown statuses last."""
    from compliance.evaluate import REQUIREMENT_STATUSES

    rank = {s: i for i, s in enumerate(REQUIREMENT_STATUSES)}
    return dict(sorted(counts.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def _findings(results: dict[str, Any], statuses: Sequence[str]) -> set[str]:
    return {
        f["id"]
        for check in results.get("checks", [])
        for f in check.get("findings", [])
        if f.get("status") in statuses
    }


def _endpoint(end: dict[str, Any]) -> tuple[str, str] | None:
    if "workload" in end:
        return (str(end["workload"]), str(end.get("kind", "")))
    return None


def zone_crossing_flows(results: dict[str, Any]) -> int:
    """Allowed flows with one end in a zone the other end is not in."""
    zones = {
        (w["workload"], w["kind"]): frozenset(w.get("zones", []))
        for w in results.get("workloads", [])
    }
    count = 0
    for flow in results.get("flows", []):
        src, dst = _endpoint(flow["src"]), _endpoint(flow["dst"])
        src_z = zones.get(src, frozenset()) if src else frozenset()
        dst_z = zones.get(dst, frozenset()) if dst else frozenset()
        if src_z != dst_z:
            count += 1
    return count


def history(packs: Sequence[PackFacts]) -> dict[str, Any]:
    """The history document (`compliance/schemas/history.schema.json`)."""
    chain = ordered(packs)
    breaks = chain_breaks(chain)
    rows = []
    previous: set[str] | None = None
    previous_waived: set[str] = set()
    for pack in chain:
        found = _findings(pack.results, OPEN_STATUSES)
        rows.append(
            {
                "source": pack.source,
                "as_of": pack.as_of,
                "cluster": pack.cluster,
                "seal": pack.seal,
                "digest": pack.digest,
                "baseline": pack.baseline,
                "frameworks": [
                    {
                        "id": fw["id"],
                        "title": fw.get("title", fw["id"]),
                        "status_counts": _in_order(fw.get("status_counts", {})),
                    }
                    for fw in pack.results.get("frameworks", [])
                ],
                "findings": {
                    "open": len(found),
                    "opened": sorted(found - previous) if previous is not None else None,
                    "closed": sorted(previous - found) if previous is not None else None,
                    # What `compliance diff` does not call new: the finding was there,
                    # waived; its waiver has ended or no longer covers it.
                    "were_waived": (
                        sorted((found - previous) & previous_waived)
                        if previous is not None
                        else None
                    ),
                },
                "zone_crossing_flows": zone_crossing_flows(pack.results),
            }
        )
        previous = found
        previous_waived = _findings(pack.results, ("waived",))
    return {
        "format": FORMAT,
        "packs": rows,
        "chain": {"intact": not breaks, "breaks": breaks},
    }


def trend(doc: dict[str, Any]) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """Per framework (title and ID), the (as-of date, fail, pass) of each pack listing it:
    what the chart draws."""
    titles: dict[str, str] = {}
    points: dict[str, list[tuple[str, int, int]]] = {}
    for pack in doc["packs"]:
        for fw in pack["frameworks"]:
            titles.setdefault(fw["id"], fw["title"])
            counts = fw["status_counts"]
            points.setdefault(fw["id"], []).append(
                (pack["as_of"][:10], counts.get("fail", 0), counts.get("pass", 0))
            )
    return [(f"{titles[k]} [{k}]", points[k]) for k in sorted(points)]
