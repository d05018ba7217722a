"""Flow listings in every `compliance flows --format`.

JSON follows the flows contract in DESIGN.md exactly; `txt`, `csv` and `md`
carry the same rows for people. Every format is a pure function of the graph,
sorted, so the same export always gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from compliance.flows import Endpoint, External, Flow, FlowGraph
from compliance.model import WorkloadRef
from compliance.ports import PortSet


def endpoint_json(e: Endpoint) -> dict[str, Any]:
    if isinstance(e, WorkloadRef):
        return {"workload": e.id, "kind": e.kind}
    return {"cidrs": list(e.cidrs)}


def connections_json(ports: PortSet) -> str | list[dict[str, Any]]:
    if ports.is_all():
        return "all"
    return [
        {"protocol": proto, "ports": [[lo, hi] for lo, hi in ranges]}
        for proto, ranges in ports.items()
    ]


def flow_json(flow: Flow, show_rules: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "src": endpoint_json(flow.src),
        "dst": endpoint_json(flow.dst),
        "connections": connections_json(flow.connections),
    }
    if show_rules:
        out["allowed_by"] = {"egress": side_json(flow.egress), "ingress": side_json(flow.ingress)}
    return out


def side_json(side: Any) -> dict[str, Any]:
    return {
        "rules": [
            {"policy": f"{r.namespace}/{r.policy}", "direction": r.direction, "rule": r.index}
            for r in side.rules
        ],
        "not_isolated": side.not_isolated,
        "host_network": side.host_network,
        "external": side.external,
    }


def endpoint_text(e: Endpoint) -> str:
    """`ns/name[Kind]`, or the addresses as CIDRs with holes (`0.0.0.0/0 except ...`)."""
    return str(e)


def _rows(graph: FlowGraph) -> list[list[str]]:
    rows = []
    for f in graph.flows:
        rows.append(
            [
                endpoint_text(f.src),
                endpoint_text(f.dst),
                f.connections.describe(),
                "yes" if f.self_flow else "no",
                f.egress.describe(),
                f.ingress.describe(),
            ]
        )
    return rows


HEADER = [
    "source",
    "destination",
    "connections",
    "self_flow",
    "egress_allowed_by",
    "ingress_allowed_by",
]


def render_json(graph: FlowGraph, show_rules: bool = False) -> str:
    doc = {"flows": [flow_json(f, show_rules) for f in graph.flows]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render_txt(graph: FlowGraph, show_rules: bool = False) -> str:
    lines = []
    for f in graph.flows:
        line = f"{endpoint_text(f.src)} => {endpoint_text(f.dst)} : {f.connections.describe()}"
        if f.self_flow:
            line += " (self)"
        if show_rules:
            line += f"  [egress: {f.egress.describe()}; ingress: {f.ingress.describe()}]"
        lines.append(line)
    return "".join(line + "\n" for line in lines)


def render_csv(graph: FlowGraph, show_rules: bool = False) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(_rows(graph))
    return buf.getvalue()


def render_md(graph: FlowGraph, show_rules: bool = False) -> str:
    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in _rows(graph):
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


FORMATS: dict[str, Callable[[FlowGraph, bool], str]] = {
    "txt": render_txt,
    "json": render_json,
    "csv": render_csv,
    "md": render_md,
}


def render(graph: FlowGraph, fmt: str, show_rules: bool = False) -> str:
    return FORMATS[fmt](graph, show_rules)


__all__ = ["FORMATS", "External", "render"]
