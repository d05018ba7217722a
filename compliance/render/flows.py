"""Flow listings in every `compliance flows --format`.

JSON follows the flows contract in DESIGN.md exactly; `txt`, `csv` and `md`
carry the same rows for people. Egress to admin `domainNames` (named, never resolved)
follows the address flows: in JSON under `named_flows`, present only when there are
some, so a cluster without them gives the same bytes as before. Every format is a pure
function of the graph, sorted, so the same export always gives the same bytes.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

from compliance.flows import Endpoint, ExternalName, Flow, FlowGraph, NamedFlow, RuleRef, Side
from compliance.model import WorkloadRef
from compliance.ports import PortSet
from compliance.text import visible


def endpoint_json(e: Endpoint | ExternalName) -> dict[str, Any]:
    if isinstance(e, WorkloadRef):
        return {"workload": e.id, "kind": e.kind}
    if isinstance(e, ExternalName):
        return {"names": list(e.names)}
    return {"cidrs": list(e.cidrs)}


def connections_json(ports: PortSet) -> str | list[dict[str, Any]]:
    if ports.is_all():
        return "all"
    return [
        {"protocol": proto, "ports": [[lo, hi] for lo, hi in ranges]}
        for proto, ranges in ports.items()
    ]


def flow_json(flow: Flow | NamedFlow, show_rules: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "src": endpoint_json(flow.src),
        "dst": endpoint_json(flow.dst),
        "connections": connections_json(flow.connections),
    }
    if show_rules:
        out["allowed_by"] = {"egress": side_json(flow.egress), "ingress": side_json(flow.ingress)}
    return out


def rule_json(rule: RuleRef, via_pass: bool = False) -> dict[str, Any]:
    """A NetworkPolicy rule by its index; an admin rule by its kind, name and label."""
    if rule.kind:
        return {"policy": rule.policy_id, "direction": rule.direction, "rule": rule.label}
    out: dict[str, Any] = {"policy": rule.policy_id, "direction": rule.direction}
    out["rule"] = rule.index
    if via_pass:
        out["via_pass"] = True
    return out


def side_json(side: Side) -> dict[str, Any]:
    return {
        "rules": [rule_json(r, r in side.via_pass) for r in side.rules],
        "not_isolated": side.not_isolated,
        "host_network": side.host_network,
        "external": side.external,
    }


def endpoint_text(e: Endpoint | ExternalName) -> str:
    """`ns/name[Kind]`, the addresses as CIDRs with holes (`0.0.0.0/0 except ...`), or
    `name:` and the domain names."""
    return str(e)


class FlowTexts:
    """Per-endpoint, per-port-set and per-side text, computed once: large clusters
    repeat each of them hundreds of thousands of times."""

    def __init__(self) -> None:
        self.endpoint = functools.cache(endpoint_text)
        self.ports = functools.cache(PortSet.describe)
        self.side = functools.cache(Side.describe)
        self.json_endpoint = functools.cache(lambda e: _dumps(endpoint_json(e)))
        self.json_ports = functools.cache(lambda p: _dumps(connections_json(p)))
        self.json_side = functools.cache(lambda s: _dumps(side_json(s)))

    def row(self, f: Flow | NamedFlow) -> list[str]:
        return [
            self.endpoint(f.src),
            self.endpoint(f.dst),
            self.ports(f.connections),
            "yes" if f.self_flow else "no",
            self.side(f.egress),
            self.side(f.ingress),
        ]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


HEADER = [
    "source",
    "destination",
    "connections",
    "self_flow",
    "egress_allowed_by",
    "ingress_allowed_by",
]


def render_json(graph: FlowGraph, show_rules: bool = False) -> str:
    """The contract, one flow per line: readable, diffable, and fast to write."""
    return "".join(stream_json(graph, show_rules))


def stream_json(graph: FlowGraph, show_rules: bool = False, batch: int = 4096) -> Iterator[str]:
    """`render_json`'s text in pieces of about `batch` flows each, so a cluster's
    millions of flows go to their destination without the whole text in memory."""
    t = FlowTexts()
    if not graph.flows and not graph.named_flows:
        yield '{"flows": []}\n'
        return
    lines = []
    sep = '{"flows": [\n'
    if not graph.flows:
        lines.append('{"flows": []')
    endpoint, ports, side = t.json_endpoint, t.json_ports, t.json_side
    # Consecutive flows mostly share their source and port set (the same objects): reuse
    # their text without hashing them again, which is most of the time on millions.
    last_src: object = None
    last_ports: object = None
    src_text = ports_text = ""
    for f in graph.flows:
        if f.src is not last_src:
            last_src, src_text = f.src, endpoint(f.src)
        if f.connections is not last_ports:
            last_ports, ports_text = f.connections, ports(f.connections)
        line = f'{sep}  {{"src": {src_text}, "dst": {endpoint(f.dst)}, "connections": {ports_text}'
        sep = ",\n"
        if show_rules:
            line += f', "allowed_by": {{"egress": {side(f.egress)}, "ingress": {side(f.ingress)}}}'
        lines.append(line + "}")
        if len(lines) >= batch:
            yield "".join(lines)
            lines = []
    if graph.flows:
        lines.append("\n]")
    sep = ', "named_flows": [\n'
    for n in graph.named_flows:
        line = f'{sep}  {{"src": {endpoint(n.src)}, "dst": {endpoint(n.dst)}, '
        line += f'"connections": {ports(n.connections)}'
        sep = ",\n"
        if show_rules:
            line += f', "allowed_by": {{"egress": {side(n.egress)}, "ingress": {side(n.ingress)}}}'
        lines.append(line + "}")
    if graph.named_flows:
        lines.append("\n]")
    lines.append("}\n")
    yield "".join(lines)


def _rows(graph: FlowGraph) -> Iterator[Flow | NamedFlow]:
    """The address flows, then the named ones (the order every table format lists)."""
    return itertools.chain(graph.flows, graph.named_flows)


def render_txt(graph: FlowGraph, show_rules: bool = False) -> str:
    t = FlowTexts()
    lines = []
    for f in _rows(graph):
        line = f"{t.endpoint(f.src)} => {t.endpoint(f.dst)} : {t.ports(f.connections)}"
        if f.self_flow:
            line += " (self)"
        if show_rules:
            line += f"  [egress: {t.side(f.egress)}; ingress: {t.side(f.ingress)}]"
        lines.append(visible(line))
    return "".join(line + "\n" for line in lines)


def render_csv(graph: FlowGraph, show_rules: bool = False) -> str:
    import csv  # only this format needs it

    t = FlowTexts()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(t.row(f) for f in _rows(graph))
    return buf.getvalue()


def render_md(graph: FlowGraph, show_rules: bool = False) -> str:
    def cell(text: str) -> str:
        return visible(text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " "))

    t = FlowTexts()
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for f in _rows(graph):
        lines.append("| " + " | ".join(cell(c) for c in t.row(f)) + " |")
    return "\n".join(lines) + "\n"


FORMATS: dict[str, Callable[[FlowGraph, bool], str]] = {
    "txt": render_txt,
    "json": render_json,
    "csv": render_csv,
    "md": render_md,
}


def render(graph: FlowGraph, fmt: str, show_rules: bool = False) -> str:
    return FORMATS[fmt](graph, show_rules)


def stream(graph: FlowGraph, fmt: str, show_rules: bool = False) -> Iterator[str]:
    """The text of `render`, in pieces where the format can stream (json)."""
    if fmt == "json":
        return stream_json(graph, show_rules)
    return iter((render(graph, fmt, show_rules),))
