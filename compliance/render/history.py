"""`compliance history` output: the history document as text, Markdown or JSON.

Each format is a pure function of the document `compliance.history.history` builds.
Values read from the packs pass through `visible` (text) or are escaped for Markdown,
so a cluster or file name cannot forge a line or a table cell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from compliance.render.diff import render_json
from compliance.text import line_value

IDS_SHOWN = 10
"""Finding IDs listed per line for people; the JSON lists them all."""


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items()) or "no requirements"


def _lines(doc: dict[str, Any], md: bool) -> Iterator[str]:
    def v(value: object) -> str:
        return line_value(value, md)

    item = "- " if md else "  "
    packs = doc["packs"]
    yield f"{'# ' if md else ''}History of {len(packs)} pack{'s' if len(packs) != 1 else ''}"
    chain = doc["chain"]
    if chain["intact"]:
        yield f"{item}chain: intact (each pack names the one before it)"
    for line in chain["breaks"]:
        yield f"{item}chain BROKEN: {v(line)}"
    for pack in packs:
        yield ""
        yield f"{'## ' if md else ''}{v(pack['as_of'])}: {v(pack['source'])}"
        yield f"{item}cluster {v(pack['cluster'])}; seal {v(pack['seal'])}"
        named = pack["baseline"]
        if named is not None:
            yield f"{item}baseline: as of {v(named['as_of'])}, seal {v(named['seal'])}"
        for fw in pack["frameworks"]:
            yield f"{item}{v(fw['title'])} [{v(fw['id'])}]: {v(_counts(fw['status_counts']))}"
        found = pack["findings"]
        if found["opened"] is None:
            yield f"{item}findings: {found['open']} open"
        else:
            waived = found["were_waived"]
            note = f" ({len(waived)} of them waived before)" if waived else ""
            yield (
                f"{item}findings: {found['open']} open; {len(found['opened'])} opened{note} "
                f"and {len(found['closed'])} closed since the previous pack"
            )
            for key, label in (
                ("opened", "opened"),
                ("were_waived", "waived before"),
                ("closed", "closed"),
            ):
                ids = found[key]
                if ids:
                    more = f" and {len(ids) - IDS_SHOWN} more" if len(ids) > IDS_SHOWN else ""
                    yield f"{item}  {label}: {v(', '.join(ids[:IDS_SHOWN]))}{more}"
        yield f"{item}flows crossing a zone boundary: {pack['zone_crossing_flows']}"


def render_txt(doc: dict[str, Any]) -> str:
    return "\n".join(_lines(doc, md=False)) + "\n"


def render_md(doc: dict[str, Any]) -> str:
    return "\n".join(_lines(doc, md=True)) + "\n"


FORMATS: dict[str, Callable[[dict[str, Any]], str]] = {
    "json": render_json,
    "md": render_md,
    "txt": render_txt,
}
