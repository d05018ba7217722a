"""Typed model of a cluster: namespaces, workloads (with their pod variants) and policies.

`build_cluster` validates every field it reads the way the API server would,
so that a malformed export is refused with the file, object and field named,
instead of silently producing flows that the real cluster would never have.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from compliance.addresses import AddrSet
from compliance.errors import InputError, expect_map, type_name
from compliance.gcpause import gc_paused
from compliance.load import K8sObject, path_text
from compliance.ports import PROTOCOLS
from compliance.selectors import LabelSelector, parse_labels, parse_selector
from compliance.tiers import ANP, BANP, CNP, AdminPolicy, ordered

ADMIN_KINDS = (ANP, BANP, CNP)

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
POLICY_TYPES = ("Ingress", "Egress")

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_PORT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True, order=True)
class WorkloadRef:
    """A workload's identity; sorts by namespace, name, kind."""

    namespace: str
    name: str
    kind: str

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}[{self.kind}]"


@dataclass(frozen=True, slots=True)
class ContainerPort:
    port: int
    protocol: str
    name: str | None = None
    host_port: int | None = None
    """Also published on the node's address (`hostPort`), around NetworkPolicy in many CNIs."""


@dataclass(frozen=True, slots=True)
class PodVariant:
    """One distinct pod shape of a workload: its labels, ports and host networking.

    A workload's pods usually share one shape, but a template and its running
    pods differ (pod-template-hash, statefulset pod names), and a selector can
    tell them apart, so each shape is evaluated on its own.
    """

    workload: WorkloadRef
    labels: tuple[tuple[str, str], ...]
    ports: tuple[ContainerPort, ...]
    host_network: bool


@dataclass(frozen=True, slots=True)
class Workload:
    ref: WorkloadRef
    variants: tuple[PodVariant, ...]
    sources: tuple[str, ...]
    """The objects it was built from, as `file: Kind ns/name`."""
    ready: tuple[int, int] | None = None
    """A DaemonSet's `status.numberReady` and `status.desiredNumberScheduled` when the
    export has them: a CNI agent with no ready pod enforces nothing."""
    pod_ips: tuple[str, ...] | None = None
    """The addresses of its running pods (`status.podIPs`), or None when the export does
    not give every pod's address: an admin `networks` peer also matches pods inside it."""
    node_names: tuple[str, ...] | None = None
    """The Nodes its running pods are scheduled on (`spec.nodeName`), or None when the
    export does not give every pod's node: an admin `nodes` peer also matches host-network
    pods on the Nodes it selects (their traffic carries the node's address)."""

    @property
    def host_network(self) -> bool:
        return any(v.host_network for v in self.variants)


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: tuple[tuple[str, str], ...]
    in_export: bool


@dataclass(frozen=True, slots=True)
class Node:
    """A Node reduced to what an admin `nodes` peer needs: labels and addresses."""

    name: str
    labels: tuple[tuple[str, str], ...]
    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IPBlock:
    cidr: str
    excepts: tuple[str, ...]
    addresses: AddrSet


@dataclass(frozen=True, slots=True)
class Peer:
    """One `from`/`to` entry: selectors (None when absent, never `{}`) or an ipBlock."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None

    def describe(self) -> str:
        if self.ip_block is not None:
            text = f"ipBlock {self.ip_block.cidr}"
            if self.ip_block.excepts:
                text += " except " + ", ".join(self.ip_block.excepts)
            return text
        parts = []
        if self.namespace_selector is not None:
            parts.append(f"namespaceSelector {self.namespace_selector.describe()}")
        if self.pod_selector is not None:
            parts.append(f"podSelector {self.pod_selector.describe()}")
        return " + ".join(parts)


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One `ports` entry; `port` is None (every port), a number or a name."""

    protocol: str
    port: int | str | None = None
    end_port: int | None = None

    def describe(self) -> str:
        if self.port is None:
            return f"{self.protocol} all"
        if self.end_port is not None:
            return f"{self.protocol} {self.port}-{self.end_port}"
        return f"{self.protocol} {self.port}"


@dataclass(frozen=True, slots=True)
class Rule:
    """An ingress or egress rule; None means the list was omitted or empty (match all)."""

    peers: tuple[Peer, ...] | None
    ports: tuple[PortSpec, ...] | None


def object_digest(body: dict[str, Any]) -> str:
    """sha256 of the object as canonical JSON (keys sorted, no spaces, UTF-8), so the YAML
    and JSON forms of one export agree and anyone can recompute it with
    `jq -jcS . object.json | sha256sum`.

    Raises ValueError when the object has no JSON form (a YAML key that is not text
    beside one that is, or a recursive alias); `json_obstacle` says where.
    """
    try:
        text = json.dumps(
            body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )
    except TypeError as exc:  # keys of mixed types cannot be sorted
        raise ValueError(str(exc)) from None
    return hashlib.sha256(text.encode()).hexdigest()


def json_obstacle(node: object, parts: tuple[str | int, ...] = ()) -> tuple[str, str] | None:
    """(field, problem) for the first thing JSON cannot hold: a key that is not text, or
    a map or list that contains itself (a recursive YAML alias)."""
    stack: set[int] = set()

    def walk(value: object, path: tuple[str | int, ...]) -> tuple[str, str] | None:
        if not isinstance(value, dict | list):
            return None
        if id(value) in stack:
            return path_text(path), "contains itself (a recursive YAML alias)"
        stack.add(id(value))
        if isinstance(value, dict):
            for key, child in value.items():
                if not isinstance(key, str):
                    return path_text(path), f"key {key!r} is not text"
                found = walk(child, (*path, key))
                if found is not None:
                    return found
        else:
            for index, child in enumerate(value):
                found = walk(child, (*path, index))
                if found is not None:
                    return found
        stack.discard(id(value))
        return None

    return walk(node, parts)


@dataclass(frozen=True, slots=True)
class Policy:
    namespace: str
    name: str
    pod_selector: LabelSelector
    policy_types: tuple[str, ...]
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    source: str
    ignored: tuple[tuple[str, int], ...] = ()
    """(direction, rule count) of rules that policyTypes switches off (dropped above)."""
    digest: str = ""
    """sha256 of the object as exported, in canonical JSON (`object_digest`)."""
    body: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The object as exported, whose canonical JSON `digest` hashes: the pack's snapshot
    keeps it so the policy can be parsed again and its digest checked."""

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def isolates_ingress(self) -> bool:
        return "Ingress" in self.policy_types

    @property
    def isolates_egress(self) -> bool:
        return "Egress" in self.policy_types


@dataclass(frozen=True, slots=True)
class Cluster:
    namespaces: tuple[Namespace, ...]
    workloads: tuple[Workload, ...]
    policies: tuple[Policy, ...]
    warnings: tuple[str, ...] = ()
    admin_policies: tuple[AdminPolicy, ...] = ()
    """Cluster-wide policies of the other dialects (`tiers.py`), in evaluation order."""
    nodes: tuple[Node, ...] | None = None
    """None when the export holds no Node objects (node addresses unknown)."""


# --------------------------------------------------------------------------- building


def build_cluster(objects: Iterable[K8sObject]) -> Cluster:
    """Validate the loaded objects and assemble the cluster model."""
    builder = _Builder()
    with gc_paused():
        for obj in objects:
            builder.add(obj)
        return builder.finish()


def _daemon_ready(raw: object, where: Mapping[str, str | None]) -> tuple[int, int] | None:
    """(numberReady, desiredNumberScheduled) from a DaemonSet's status, when exported."""
    if raw is None:
        return None
    status = expect_map(raw, where, "status")
    if "numberReady" not in status:
        return None
    counts = []
    for key in ("numberReady", "desiredNumberScheduled"):
        value = status.get(key, status.get("numberReady"))
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InputError(
                f"expected a count, got {type_name(value)}", **where, field=f"status.{key}"
            )
        counts.append(value)
    return counts[0], counts[1]


@dataclass
class _Controlled:
    """A workload-producing object before owners are resolved."""

    obj: K8sObject
    labels: dict[str, str]
    ports: tuple[ContainerPort, ...]
    host_network: bool
    has_template: bool
    owner: tuple[str, str] | None  # controlling ownerReference (kind, name)
    ready: tuple[int, int] | None = None
    ips: tuple[str, ...] | None = None
    """A Pod's `status.podIPs` (or `status.podIP`); None when the export lacks them."""
    node: str | None = None
    """A Pod's `spec.nodeName`; None when it has none (not scheduled, or a template)."""


class _Builder:
    def __init__(self) -> None:
        self.namespaces: dict[str, Namespace] = {}
        self.items: list[_Controlled] = []
        self.controllers: dict[tuple[str, str, str], _Controlled] = {}
        self.policies: list[Policy] = []
        self.warnings: list[str] = []
        self.referenced_namespaces: set[str] = set()
        self.admin: list[AdminPolicy] = []
        self.nodes: list[Node] | None = None

    # ---- per object

    def add(self, obj: K8sObject) -> None:
        where = {"source": obj.source, "obj": obj.ref}
        if obj.kind in ADMIN_KINDS:
            # Imported here: most exports hold no admin policy, and `flows` starts faster.
            from compliance.adminpolicy import parse_admin_policy

            self._check_name(obj.name, where)
            self.admin.append(parse_admin_policy(obj, _digest(obj, where)))
            return
        if obj.kind == "Node":
            self._check_name(obj.name, where)
            labels = parse_labels(obj.body["metadata"].get("labels"), where, "metadata.labels")
            if self.nodes is None:
                self.nodes = []
            self.nodes.append(
                Node(obj.name, tuple(sorted(labels.items())), _node_addresses(obj.body, where))
            )
            return
        if obj.kind == "Namespace":
            self._check_name(obj.name, where, namespace=True)
        else:
            assert obj.namespace is not None
            self._check_name(obj.namespace, where, namespace=True, field="metadata.namespace")
            self._check_name(obj.name, where)
            self.referenced_namespaces.add(obj.namespace)
        labels = parse_labels(obj.body["metadata"].get("labels"), where, "metadata.labels")
        _check_annotations(obj.body["metadata"].get("annotations"), where)
        if obj.kind == "Namespace":
            labels[NAMESPACE_NAME_LABEL] = obj.name
            self.namespaces[obj.name] = Namespace(obj.name, tuple(sorted(labels.items())), True)
        elif obj.kind == "NetworkPolicy":
            self.policies.append(self._policy(obj, where))
        elif obj.kind == "Pod":
            spec = expect_map(obj.body.get("spec"), where, "spec")
            item = _Controlled(
                obj,
                labels,
                _container_ports(spec, where, "spec"),
                spec.get("hostNetwork") is True,
                True,
                _controller_ref(obj, where),
                ips=_pod_ips(obj.body.get("status"), where),
                node=_node_name(spec, where),
            )
            self.items.append(item)
        else:
            self._controller(obj, where)

    def _controller(self, obj: K8sObject, where: Mapping[str, str | None]) -> None:
        spec = expect_map(obj.body.get("spec"), where, "spec")
        path = "spec.template"
        if obj.kind == "CronJob":
            job = expect_map(spec.get("jobTemplate"), where, "spec.jobTemplate")
            spec = expect_map(job.get("spec"), where, "spec.jobTemplate.spec")
            path = "spec.jobTemplate.spec.template"
        template = spec.get("template")
        if template is None:
            item = _Controlled(obj, {}, (), False, False, _controller_ref(obj, where))
        else:
            template = expect_map(template, where, path)
            meta = expect_map(template.get("metadata") or {}, where, f"{path}.metadata")
            labels = parse_labels(meta.get("labels"), where, f"{path}.metadata.labels")
            pod_spec = expect_map(template.get("spec"), where, f"{path}.spec")
            item = _Controlled(
                obj,
                labels,
                _container_ports(pod_spec, where, f"{path}.spec"),
                pod_spec.get("hostNetwork") is True,
                True,
                _controller_ref(obj, where),
            )
        if obj.kind == "DaemonSet":
            item.ready = _daemon_ready(obj.body.get("status"), where)
        assert obj.namespace is not None
        self.controllers[(obj.namespace, obj.kind, obj.name)] = item
        self.items.append(item)

    def _check_name(
        self,
        name: str,
        where: Mapping[str, str | None],
        *,
        namespace: bool = False,
        field: str = "metadata.name",
    ) -> None:
        if namespace:
            ok = len(name) <= 63 and _DNS_LABEL.fullmatch(name)
            what = "a DNS label (lowercase alphanumerics and '-', at most 63)"
        else:
            ok = len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name)
            what = "a DNS subdomain (lowercase alphanumerics, '-' and '.')"
        if not ok:
            raise InputError(f"invalid name {name!r}: must be {what}", **where, field=field)

    # ---- policies

    def _policy(self, obj: K8sObject, where: Mapping[str, str | None]) -> Policy:
        spec = expect_map(obj.body.get("spec"), where, "spec")
        if "podSelector" not in spec or spec["podSelector"] is None:
            raise InputError(
                "podSelector is required (use {} to select every pod)",
                **where,
                field="spec.podSelector",
            )
        pod_selector = parse_selector(spec["podSelector"], where, "spec.podSelector")
        ingress = self._rules(spec, "ingress", "from", where)
        egress = self._rules(spec, "egress", "to", where)
        raw_types = spec.get("policyTypes")
        if raw_types is None or raw_types == []:
            types = ["Ingress"] + (["Egress"] if egress else [])
        else:
            if not isinstance(raw_types, list):
                raise InputError("expected a list", **where, field="spec.policyTypes")
            types = []
            for i, t in enumerate(raw_types):
                if t not in POLICY_TYPES:
                    raise InputError(
                        f"unknown policy type {t!r}: expected Ingress or Egress",
                        **where,
                        field=f"spec.policyTypes[{i}]",
                    )
                if t not in types:
                    types.append(t)
            for direction, rules in (("Ingress", ingress), ("Egress", egress)):
                if rules and direction not in types:
                    self.warnings.append(
                        f"{obj.source}: {obj.ref}: spec.{direction.lower()}: has "
                        f"{len(rules)} rule(s) but policyTypes lacks {direction}; "
                        "these rules have no effect"
                    )
        assert obj.namespace is not None
        return Policy(
            namespace=obj.namespace,
            name=obj.name,
            pod_selector=pod_selector,
            policy_types=tuple(t for t in POLICY_TYPES if t in types),
            ingress=ingress if "Ingress" in types else (),
            egress=egress if "Egress" in types else (),
            source=obj.source,
            ignored=tuple(
                (direction, len(rules))
                for direction, rules in (("ingress", ingress), ("egress", egress))
                if rules and direction.capitalize() not in types
            ),
            digest=_digest(obj, where),
            body=obj.body,
        )

    def _rules(
        self, spec: dict[str, Any], direction: str, peers_key: str, where: Mapping[str, str | None]
    ) -> tuple[Rule, ...]:
        raw = spec.get(direction)
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise InputError(
                f"expected a list, got {type_name(raw)}", **where, field=f"spec.{direction}"
            )
        rules = []
        for i, rule in enumerate(raw):
            path = f"spec.{direction}[{i}]"
            if rule is None:
                rule = {}
            rule = expect_map(rule, where, path)
            for key in rule:
                if key not in (peers_key, "ports"):
                    raise InputError("unknown field", **where, field=f"{path}.{key}")
            peers = self._peers(rule.get(peers_key), where, f"{path}.{peers_key}")
            ports = _port_specs(rule.get("ports"), where, f"{path}.ports")
            rules.append(Rule(peers, ports))
        return tuple(rules)

    def _peers(
        self, raw: object, where: Mapping[str, str | None], path: str
    ) -> tuple[Peer, ...] | None:
        if raw is None or raw == []:
            return None
        if not isinstance(raw, list):
            raise InputError(f"expected a list, got {type_name(raw)}", **where, field=path)
        peers = []
        for i, entry in enumerate(raw):
            p = f"{path}[{i}]"
            entry = expect_map(entry, where, p)
            for key in entry:
                if key not in ("podSelector", "namespaceSelector", "ipBlock"):
                    raise InputError("unknown field", **where, field=f"{p}.{key}")
            has_selector = (
                entry.get("podSelector") is not None or entry.get("namespaceSelector") is not None
            )
            if entry.get("ipBlock") is not None:
                if has_selector:
                    raise InputError(
                        "ipBlock cannot be combined with podSelector or namespaceSelector in one "
                        "peer",
                        **where,
                        field=p,
                    )
                peers.append(Peer(ip_block=_ip_block(entry["ipBlock"], where, f"{p}.ipBlock")))
            elif has_selector:
                pod = entry.get("podSelector")
                ns = entry.get("namespaceSelector")
                peers.append(
                    Peer(
                        pod_selector=None
                        if pod is None
                        else parse_selector(pod, where, f"{p}.podSelector"),
                        namespace_selector=None
                        if ns is None
                        else parse_selector(ns, where, f"{p}.namespaceSelector"),
                    )
                )
            else:
                raise InputError(
                    "empty peer: must specify podSelector, namespaceSelector or ipBlock",
                    **where,
                    field=p,
                )
        return tuple(peers)

    # ---- owners

    def finish(self) -> Cluster:
        variants: dict[WorkloadRef, dict[PodVariant, None]] = {}
        sources: dict[WorkloadRef, list[str]] = {}
        ready: dict[WorkloadRef, tuple[int, int]] = {}
        ips: dict[WorkloadRef, set[str] | None] = {}
        nodes: dict[WorkloadRef, set[str] | None] = {}
        for item in self.items:
            ref = self._top_owner(item)
            if item.ready is not None:
                ready.setdefault(ref, item.ready)
            if item.obj.kind == "Pod":
                # Known only when every exported pod of the workload gives its address.
                known = ips.get(ref, set())
                ips[ref] = None if item.ips is None or known is None else known | set(item.ips)
                on = nodes.get(ref, set())
                nodes[ref] = None if item.node is None or on is None else on | {item.node}
            if item.has_template:
                variant = PodVariant(
                    ref, tuple(sorted(item.labels.items())), item.ports, item.host_network
                )
                variants.setdefault(ref, {})[variant] = None
            else:
                variants.setdefault(ref, {})
            sources.setdefault(ref, []).append(f"{item.obj.source}: {item.obj.ref}")
        workloads = []
        for ref in sorted(variants):
            vs = tuple(sorted(variants[ref], key=_variant_key))
            found = ips.get(ref)
            on = nodes.get(ref)
            workloads.append(
                Workload(
                    ref,
                    vs,
                    tuple(sorted(sources[ref])),
                    ready.get(ref),
                    None if not found else tuple(sorted(found)),
                    None if not on else tuple(sorted(on)),
                )
            )
            if any(v.host_network for v in vs):
                self.warnings.append(
                    f"{ref}: uses hostNetwork; NetworkPolicy does not reliably apply to "
                    "host-network pods, so it is treated as not isolated"
                )
        kinds = {p.kind for p in self.admin}
        if CNP in kinds and kinds & {ANP, BANP}:
            self.warnings.append(
                "the export holds both AdminNetworkPolicy/BaselineAdminNetworkPolicy "
                "(v1alpha1) and ClusterNetworkPolicy (v1alpha2): evaluated as one admin tier "
                "(ANPs and Admin-tier CNPs by priority, then name) and one baseline tier "
                "(Baseline-tier CNPs by priority, then the BANP); an implementation that "
                "serves both may order them differently"
            )
        namespaces = dict(self.namespaces)
        for name in self.referenced_namespaces:
            if name not in namespaces:
                namespaces[name] = Namespace(name, ((NAMESPACE_NAME_LABEL, name),), False)
        return Cluster(
            namespaces=tuple(namespaces[n] for n in sorted(namespaces)),
            workloads=tuple(workloads),
            policies=tuple(sorted(self.policies, key=lambda p: (p.namespace, p.name))),
            warnings=tuple(self.warnings),
            admin_policies=tuple(ordered(self.admin)),
            nodes=None if self.nodes is None else tuple(sorted(self.nodes, key=lambda n: n.name)),
        )

    def _top_owner(self, item: _Controlled) -> WorkloadRef:
        """Follow controlling owners while they are in the export, up to the top."""
        obj = item.obj
        assert obj.namespace is not None
        ns = obj.namespace
        kind, name = obj.kind, obj.name
        owner = item.owner
        seen = {(kind, name)}
        while owner is not None:
            o_kind, o_name = owner
            if o_kind == "Node":  # a static pod: its own workload
                break
            kind, name = o_kind, o_name
            parent = self.controllers.get((ns, o_kind, o_name))
            if parent is None:
                inferred = self._infer_missing_owner(ns, o_kind, o_name, item.labels)
                if inferred is not None:
                    kind, name = inferred
                break
            if (o_kind, o_name) in seen:
                break
            seen.add((o_kind, o_name))
            owner = parent.owner
        return WorkloadRef(ns, name, kind)

    def _infer_missing_owner(
        self, ns: str, kind: str, name: str, labels: Mapping[str, str]
    ) -> tuple[str, str] | None:
        """Climb past a ReplicaSet or Job the export lacks, by the names controllers give.

        `kubectl get pods,deployments` exports no ReplicaSets: a Deployment names its
        ReplicaSets `<deployment>-<pod-template-hash>` and a CronJob its Jobs
        `<cronjob>-<scheduled minute>`, so the owner is found when it is exported.
        """
        if kind == "ReplicaSet":
            pod_hash = labels.get("pod-template-hash")
            base, _, suffix = name.rpartition("-")
            if base and (pod_hash is None or suffix == pod_hash):
                parent = self.controllers.get((ns, "Deployment", base))
                if parent is not None:
                    return ("Deployment", base)
        if kind == "Job":
            base, _, suffix = name.rpartition("-")
            if base and suffix.isdigit() and (ns, "CronJob", base) in self.controllers:
                return ("CronJob", base)
        return None


def _digest(obj: K8sObject, where: Mapping[str, str | None]) -> str:
    try:
        return object_digest(obj.body)
    except ValueError:
        field, problem = json_obstacle(obj.body) or ("", "cannot be written as JSON")
        raise InputError(problem, **where, field=field or None) from None


def _check_annotations(raw: object, where: Mapping[str, str | None]) -> None:
    """Annotations are a map of text to text, as the API server keeps them: anything
    else (a number or null as a key, a nested map, a recursive alias) is refused here,
    before it reaches the policy digest or a report."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise InputError(
            f"expected a map, got {type_name(raw)}", **where, field="metadata.annotations"
        )
    for key, value in raw.items():
        if not isinstance(key, str):
            raise InputError(
                f"annotation key {key!r} is not text", **where, field="metadata.annotations"
            )
        if not isinstance(value, str):
            raise InputError(
                f"expected text, got {type_name(value)}",
                **where,
                field=f"metadata.annotations.{key}",
            )


def _node_name(spec: Mapping[str, object], where: Mapping[str, str | None]) -> str | None:
    """`spec.nodeName`: the Node a Pod is scheduled on; None when it is not scheduled."""
    name = spec.get("nodeName")
    if name is None or name == "":
        return None
    if not isinstance(name, str) or len(name) > 253:
        raise InputError(
            f"expected a Node name, got {type_name(name)}", **where, field="spec.nodeName"
        )
    return name


def _pod_ips(raw: object, where: Mapping[str, str | None]) -> tuple[str, ...] | None:
    """`status.podIPs[].ip`, else `status.podIP`; None when the export has neither."""
    if not isinstance(raw, dict):
        return None
    found: list[str] = []
    entries = raw.get("podIPs")
    if isinstance(entries, list):
        for i, entry in enumerate(entries):
            ip = entry.get("ip") if isinstance(entry, dict) else None
            found.append(_address(ip, where, f"status.podIPs[{i}].ip"))
    elif raw.get("podIP") is not None:
        found.append(_address(raw.get("podIP"), where, "status.podIP"))
    return tuple(found) or None


def _node_addresses(body: dict[str, Any], where: Mapping[str, str | None]) -> tuple[str, ...]:
    """A Node's InternalIP and ExternalIP addresses (host names are not addresses)."""
    status = body.get("status")
    entries = status.get("addresses") if isinstance(status, dict) else None
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise InputError("expected a list", **where, field="status.addresses")
    out = []
    for i, entry in enumerate(entries):
        entry = expect_map(entry, where, f"status.addresses[{i}]")
        if entry.get("type") in ("InternalIP", "ExternalIP"):
            out.append(_address(entry.get("address"), where, f"status.addresses[{i}].address"))
    return tuple(sorted(set(out)))


def _address(raw: object, where: Mapping[str, str | None], path: str) -> str:
    try:
        return str(ipaddress.ip_address(raw))  # type: ignore[arg-type]
    except ValueError:
        raise InputError(f"invalid IP address {raw!r}", **where, field=path) from None


def _variant_key(v: PodVariant) -> tuple[Any, ...]:
    return (v.labels, tuple((p.port, p.protocol, p.name or "") for p in v.ports), v.host_network)


# --------------------------------------------------------------------------- field parsers


def _controller_ref(obj: K8sObject, where: Mapping[str, str | None]) -> tuple[str, str] | None:
    refs = obj.body["metadata"].get("ownerReferences")
    if refs is None:
        return None
    if not isinstance(refs, list):
        raise InputError("expected a list", **where, field="metadata.ownerReferences")
    for i, ref in enumerate(refs):
        path = f"metadata.ownerReferences[{i}]"
        ref = expect_map(ref, where, path)
        if ref.get("controller") is not True:
            continue
        kind, name = ref.get("kind"), ref.get("name")
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise InputError(f"invalid kind {kind!r}", **where, field=f"{path}.kind")
        if not isinstance(name, str) or not name:
            raise InputError("name is required", **where, field=f"{path}.name")
        if kind != "Node" and (len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name)):
            raise InputError(f"invalid name {name!r}", **where, field=f"{path}.name")
        return (kind, name)
    return None


def _container_ports(
    pod_spec: dict[str, Any], where: Mapping[str, str | None], path: str
) -> tuple[ContainerPort, ...]:
    ports: dict[ContainerPort, None] = {}
    for group in ("containers", "initContainers"):
        containers = pod_spec.get(group)
        if containers is None:
            continue
        if not isinstance(containers, list):
            raise InputError("expected a list", **where, field=f"{path}.{group}")
        for i, c in enumerate(containers):
            cpath = f"{path}.{group}[{i}]"
            c = expect_map(c, where, cpath)
            # Plain init containers finish before the pod serves; sidecars keep running.
            if group == "initContainers" and c.get("restartPolicy") != "Always":
                continue
            raw_ports = c.get("ports") or []
            if not isinstance(raw_ports, list):
                raise InputError("expected a list", **where, field=f"{cpath}.ports")
            for j, p in enumerate(raw_ports):
                ppath = f"{cpath}.ports[{j}]"
                p = expect_map(p, where, ppath)
                number = p.get("containerPort")
                if not isinstance(number, int) or not _is_port_number(number):
                    raise InputError(
                        f"containerPort must be a number from 1 to 65535, got {number!r}",
                        **where,
                        field=f"{ppath}.containerPort",
                    )
                protocol = _protocol(p.get("protocol"), where, f"{ppath}.protocol")
                name = p.get("name")
                if name is not None:
                    _check_port_name(name, where, f"{ppath}.name")
                host_port = p.get("hostPort")
                if host_port not in (None, 0) and (
                    not isinstance(host_port, int) or not _is_port_number(host_port)
                ):
                    raise InputError(
                        f"hostPort must be a number from 1 to 65535, got {host_port!r}",
                        **where,
                        field=f"{ppath}.hostPort",
                    )
                ports[ContainerPort(number, protocol, name, host_port or None)] = None
    return tuple(sorted(ports, key=lambda p: (p.port, p.protocol, p.name or "")))


def _port_specs(
    raw: object, where: Mapping[str, str | None], path: str
) -> tuple[PortSpec, ...] | None:
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list):
        raise InputError(f"expected a list, got {type_name(raw)}", **where, field=path)
    specs = []
    for i, entry in enumerate(raw):
        p = f"{path}[{i}]"
        entry = expect_map(entry, where, p)
        for key in entry:
            if key not in ("protocol", "port", "endPort"):
                raise InputError("unknown field", **where, field=f"{p}.{key}")
        protocol = _protocol(entry.get("protocol"), where, f"{p}.protocol")
        port = entry.get("port")
        end_port = entry.get("endPort")
        if port is not None:
            if isinstance(port, str):
                _check_port_name(port, where, f"{p}.port")
            elif not _is_port_number(port):
                raise InputError(
                    f"port must be a number from 1 to 65535 or a port name, got {port!r}",
                    **where,
                    field=f"{p}.port",
                )
        if end_port is not None:
            if port is None:
                raise InputError("endPort requires port", **where, field=f"{p}.endPort")
            if isinstance(port, str):
                raise InputError(
                    "endPort cannot be used with a named port", **where, field=f"{p}.endPort"
                )
            if not _is_port_number(end_port):
                raise InputError(
                    f"endPort must be a number from 1 to 65535, got {end_port!r}",
                    **where,
                    field=f"{p}.endPort",
                )
            if end_port < port:
                raise InputError(
                    f"endPort {end_port} is below port {port}", **where, field=f"{p}.endPort"
                )
        specs.append(PortSpec(protocol, port, end_port))
    return tuple(specs)


def _ip_block(raw: object, where: Mapping[str, str | None], path: str) -> IPBlock:
    block = expect_map(raw, where, path)
    for key in block:
        if key not in ("cidr", "except"):
            raise InputError("unknown field", **where, field=f"{path}.{key}")
    cidr = block.get("cidr")
    net = _network(cidr, where, f"{path}.cidr")
    excepts = block.get("except") or []
    if not isinstance(excepts, list):
        raise InputError("expected a list", **where, field=f"{path}.except")
    addresses = AddrSet.from_network(net)
    for i, ex in enumerate(excepts):
        ex_net = _network(ex, where, f"{path}.except[{i}]")
        if (
            ex_net.version != net.version
            or not ex_net.subnet_of(net)  # type: ignore[arg-type]
            or ex_net.prefixlen <= net.prefixlen
        ):
            raise InputError(
                f"except {ex} is not a strict subset of cidr {cidr}",
                **where,
                field=f"{path}.except[{i}]",
            )
        addresses = addresses - AddrSet.from_network(ex_net)
    return IPBlock(str(cidr), tuple(str(e) for e in excepts), addresses)


def _network(
    raw: object, where: Mapping[str, str | None], path: str
) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not isinstance(raw, str) or "/" not in raw:
        raise InputError(f"invalid CIDR {raw!r}: expected address/prefix", **where, field=path)
    try:
        return ipaddress.ip_network(raw, strict=False)
    except ValueError:
        raise InputError(f"invalid CIDR {raw!r}", **where, field=path) from None


def _protocol(raw: object, where: Mapping[str, str | None], path: str) -> str:
    if raw is None:
        return "TCP"
    if raw not in PROTOCOLS:
        raise InputError(
            f"unknown protocol {raw!r}: expected TCP, UDP or SCTP", **where, field=path
        )
    return str(raw)


def _check_port_name(name: object, where: Mapping[str, str | None], path: str) -> None:
    if (
        not isinstance(name, str)
        or len(name) > 15
        or not _PORT_NAME.fullmatch(name)
        or "--" in name
        or not any(c.isalpha() for c in name)
    ):
        raise InputError(
            f"invalid port name {name!r}: at most 15 lowercase alphanumerics or '-', "
            "with at least one letter",
            **where,
            field=path,
        )


def _is_port_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535
