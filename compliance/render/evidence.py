"""Rows both the PDF and the spreadsheet show: the inputs with their hashes, the
policies with theirs, and the statuses' words. One source, so the two documents of a
pack cannot disagree about what was read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

from compliance.checks.base import Register
from compliance.evaluate import Evaluation
from compliance.flows import Flow, NamedFlow
from compliance.ports import PortSet

STATUS_LABELS = {
    "pass": "Pass",
    "fail": "Fail",
    "warn": "Warning",
    "waived": "Waived",
    "supported": "Supported",
    "not_applicable": "Not applicable",
    "unknown": "Unknown",
    "manual": "Manual",
}
"""How each status reads in the PDF and the spreadsheet."""

NOT_IN_REGISTER = "not in register"


@dataclass(frozen=True, slots=True)
class InputRow:
    role: str  # export | scope | controls | template | probe-plan | probe-results | flow-log
    path: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class PolicyRow:
    namespace: str
    name: str
    policy_types: str
    ingress_rules: int
    egress_rules: int
    selects: int
    source: str
    sha256: str


def input_rows(ev: Evaluation) -> tuple[InputRow, ...]:
    """Every file the results depend on: the exports, the scope file and the control
    files of the evaluated frameworks. Shipped control files are named inside the
    package (`compliance:controls/...`), never by where the tool happens to be installed."""
    rows = [InputRow("export", i.path, i.sha256, i.size) for i in ev.inputs]
    rows.append(InputRow("scope", ev.scope.source, ev.scope.sha256, ev.scope.size))
    for fw in sorted((f.framework for f in ev.frameworks), key=lambda f: f.id):
        shown = f"compliance:controls/{PurePath(fw.path).name}" if fw.shipped else fw.path
        rows.append(InputRow("controls", shown, fw.sha256, fw.size))
    rows.extend(InputRow(role, f.path, f.sha256, f.size) for role, f in ev.evidence.files)
    return tuple(rows)


def policy_rows(ev: Evaluation) -> tuple[PolicyRow, ...]:
    selects = ev.graph.policy_selects
    return tuple(
        PolicyRow(
            namespace=p.namespace,
            name=p.name,
            policy_types=", ".join(p.policy_types),
            ingress_rules=len(p.ingress),
            egress_rules=len(p.egress),
            selects=len(selects.get(p.id, ())),
            source=p.source,
            sha256=p.digest,
        )
        for p in sorted(ev.cluster.policies, key=lambda p: (p.namespace, p.name))
    ) + tuple(_admin_rows(ev))


def _admin_rows(ev: Evaluation) -> Iterator[PolicyRow]:
    """Cluster-wide policies after the NetworkPolicies, in evaluation order: named by kind
    prefix (`anp/cde-guardrail`, as flows name their rules), with tier and priority."""
    selects = ev.graph.admin_selects
    for p in ev.cluster.admin_policies:
        if p.kind == "BaselineAdminNetworkPolicy":
            what = p.kind
        elif p.kind == "ClusterNetworkPolicy":
            what = f"{p.kind}, {p.tier} tier, priority {p.priority}"
        else:
            what = f"{p.kind}, priority {p.priority}"
        yield PolicyRow(
            namespace=p.prefix,
            name=p.name,
            policy_types=what,
            ingress_rules=len(p.ingress),
            egress_rules=len(p.egress),
            selects=len(selects.get(p.id, ())),
            source=p.source,
            sha256=p.digest,
        )


def register_text(register: Register, flow: Flow, ports: PortSet | None = None) -> tuple[str, bool]:
    """The approved-flow entries that cover `ports` of a flow (all its ports when None), and
    whether some of those ports are in no entry.

    An entry covering the flow's UDP 53 says nothing about its TCP 443: a row or group that
    named the entry without saying so would attest an approval that does not exist."""
    covering = register.covering(flow)
    if not covering:
        return NOT_IN_REGISTER, True
    wanted = flow.connections if ports is None else ports
    refs = ", ".join(e.ref for e in covering if e.ports & wanted)
    if not refs:
        return NOT_IN_REGISTER, True
    if any(part & wanted for _, part in register.uncovered(flow)):
        return f"{refs} covers part; the rest is {NOT_IN_REGISTER}", True
    return refs, False


def named_register_text(
    ev: Evaluation, flow: NamedFlow, ports: PortSet | None = None
) -> tuple[str, bool]:
    """`register_text` for egress to admin `domainNames`: the entries that name some of
    the flow's names on `ports` (marked as approving by name: the names are never
    resolved), and whether some name or port is in no entry."""
    wanted = flow.connections if ports is None else ports
    refs = ", ".join(e.ref for e in ev.register.covering_named(flow) if e.ports & wanted)
    if not refs:
        return NOT_IN_REGISTER, True
    refs += " (by name)"
    if any(part & wanted for _, part in ev.register.uncovered_named(flow)):
        return f"{refs} covers part; the rest is {NOT_IN_REGISTER}", True
    return refs, False
