"""The common rule form of cluster-wide policy dialects, and the order of their tiers.

NetworkPolicy is one dialect: its rules are OR-ed inside one tier (`flows.Engine`
keeps that tier as it always was). Cluster-wide admin policies
(AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy) parse into
`AdminPolicy` / `AdminRule` below: each rule carries its kind, tier, priority and
action (allow, deny, pass), and the engine evaluates them first-match, tier by tier:

    admin tier (ANPs and Admin CNPs by priority, then name)
    -> NetworkPolicy (when a policy selects the pod in that direction)
    -> baseline tier (Baseline CNPs by priority, then name; then the BANP `default`)
    -> allowed (the Kubernetes default)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compliance.addresses import AddrSet
from compliance.selectors import LabelSelector

ALLOW, DENY, PASS = "allow", "deny", "pass"
ADMIN, BASELINE = "admin", "baseline"

ANP = "AdminNetworkPolicy"
BANP = "BaselineAdminNetworkPolicy"
CNP = "ClusterNetworkPolicy"
PREFIX = {ANP: "anp", BANP: "banp", CNP: "cnp"}
"""How rules of each kind are named in flows (`anp/cde-guardrail ingress[deny-dev]`)."""


@dataclass(frozen=True, slots=True)
class AdminPeer:
    """One `from`/`to` entry: exactly one of its kinds is set."""

    kind: str  # namespaces | pods | networks | nodes | domainNames
    namespace_selector: LabelSelector | None = None
    pod_selector: LabelSelector | None = None
    node_selector: LabelSelector | None = None
    networks: AddrSet | None = None
    cidrs: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "namespaces":
            assert self.namespace_selector is not None
            return f"namespaces {self.namespace_selector.describe()}"
        if self.kind == "pods":
            assert self.namespace_selector is not None and self.pod_selector is not None
            return (
                f"pods namespaceSelector {self.namespace_selector.describe()} + "
                f"podSelector {self.pod_selector.describe()}"
            )
        if self.kind == "nodes":
            assert self.node_selector is not None
            return f"nodes {self.node_selector.describe()}"
        if self.kind == "networks":
            return "networks " + ", ".join(self.cidrs)
        return "domainNames " + ", ".join(self.domains)


@dataclass(frozen=True, slots=True)
class AdminPort:
    """A destination port: a number or range of one protocol, or a container port name."""

    protocol: str | None
    start: int | None = None
    end: int | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class AdminRule:
    label: str
    """The rule's `name`, or its index in the list when unnamed."""
    action: str  # allow | deny | pass
    peers: tuple[AdminPeer, ...]
    ports: tuple[AdminPort, ...] | None
    """None: every port of every protocol."""


@dataclass(frozen=True, slots=True)
class AdminPolicy:
    kind: str
    name: str
    tier: str  # admin | baseline
    priority: int
    subject_namespaces: LabelSelector
    subject_pods: LabelSelector | None
    """None when the subject is `namespaces` (every pod of the matching namespaces)."""
    ingress: tuple[AdminRule, ...]
    egress: tuple[AdminRule, ...]
    source: str
    digest: str = ""
    body: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def prefix(self) -> str:
        return PREFIX[self.kind]

    @property
    def id(self) -> str:
        return f"{self.prefix}/{self.name}"

    @property
    def order(self) -> tuple[int, int, int, str]:
        """Evaluation order: tier, then (baseline) CNPs before the BANP, priority, name."""
        tier = 0 if self.tier == ADMIN else 1
        last = 1 if self.kind == BANP else 0
        return (tier, last, self.priority, self.name)


def ordered(policies: tuple[AdminPolicy, ...] | list[AdminPolicy]) -> list[AdminPolicy]:
    return sorted(policies, key=lambda p: (p.order, p.kind))
