"""Parse and validate the cluster-wide policy dialects into the common rule form.

AdminNetworkPolicy and BaselineAdminNetworkPolicy (`policy.networking.k8s.io/v1alpha1`)
and ClusterNetworkPolicy (`v1alpha2`) are checked the way the API server's CRD
validation would (ranges, list limits, exactly one field per peer and port), so an
export the cluster could not hold is refused with the file, object and field named.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from compliance.addresses import AddrSet, union_all
from compliance.errors import InputError, expect_map, type_name
from compliance.load import K8sObject
from compliance.ports import PROTOCOLS
from compliance.selectors import LabelSelector, parse_selector
from compliance.tiers import (
    ADMIN,
    ALLOW,
    ANP,
    BANP,
    BASELINE,
    CNP,
    DENY,
    PASS,
    AdminPeer,
    AdminPolicy,
    AdminPort,
    AdminRule,
)

Where = Mapping[str, str | None]

_DOMAIN = re.compile(
    r"(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?"
)
_PORT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")

ACTIONS = {
    ANP: {"Allow": ALLOW, "Deny": DENY, "Pass": PASS},
    BANP: {"Allow": ALLOW, "Deny": DENY},
    CNP: {"Accept": ALLOW, "Deny": DENY, "Pass": PASS},
}
INGRESS_PEERS = ("namespaces", "pods")
EGRESS_PEERS = {
    ANP: ("namespaces", "pods", "nodes", "networks", "domainNames"),
    BANP: ("namespaces", "pods", "nodes", "networks"),
    CNP: ("namespaces", "pods", "nodes", "networks", "domainNames"),
}
MAX_RULES = {ANP: 100, BANP: 100, CNP: 25}
MAX_PEERS = {ANP: 100, BANP: 100, CNP: 25}


def parse_admin_policy(obj: K8sObject, digest: str) -> AdminPolicy:
    """One ANP, BANP or CNP object in the common form (`tiers.AdminPolicy`)."""
    where = {"source": obj.source, "obj": obj.ref}
    kind = obj.kind
    spec = expect_map(obj.body.get("spec"), where, "spec")
    allowed = {"subject", "ingress", "egress"}
    if kind != BANP:
        allowed.add("priority")
    if kind == CNP:
        allowed.add("tier")
    _known(spec, allowed, where, "spec")
    if kind == BANP and obj.name != "default":
        raise InputError(
            f"a BaselineAdminNetworkPolicy must be named 'default', not {obj.name!r}",
            **where,
            field="metadata.name",
        )
    tier = BASELINE if kind == BANP else ADMIN
    if kind == CNP:
        raw_tier = spec.get("tier")
        if raw_tier not in ("Admin", "Baseline"):
            raise InputError(
                f"tier must be Admin or Baseline, got {raw_tier!r}", **where, field="spec.tier"
            )
        tier = ADMIN if raw_tier == "Admin" else BASELINE
    priority = 0
    if kind != BANP:
        raw_priority = spec.get("priority")
        if not isinstance(raw_priority, int) or isinstance(raw_priority, bool):
            raw_priority = -1 if raw_priority is None else raw_priority
        if not _int(raw_priority) or not 0 <= raw_priority <= 1000:
            raise InputError(
                f"priority must be a number from 0 to 1000, got {spec.get('priority')!r}",
                **where,
                field="spec.priority",
            )
        priority = raw_priority
    ns_sel, pod_sel = _subject(spec.get("subject"), where)
    return AdminPolicy(
        kind=kind,
        name=obj.name,
        tier=tier,
        priority=priority,
        subject_namespaces=ns_sel,
        subject_pods=pod_sel,
        ingress=_rules(kind, spec, "ingress", where),
        egress=_rules(kind, spec, "egress", where),
        source=obj.source,
        digest=digest,
        body=obj.body,
    )


def _subject(raw: object, where: Where) -> tuple[LabelSelector, LabelSelector | None]:
    subject = expect_map(raw, where, "spec.subject")
    kind = _one_of(subject, ("namespaces", "pods"), where, "spec.subject")
    if kind == "namespaces":
        return parse_selector(subject["namespaces"], where, "spec.subject.namespaces"), None
    return _namespaced_pod(subject["pods"], where, "spec.subject.pods")


def _namespaced_pod(raw: object, where: Where, path: str) -> tuple[LabelSelector, LabelSelector]:
    pods = expect_map(raw, where, path)
    _known(pods, {"namespaceSelector", "podSelector"}, where, path)
    if pods.get("podSelector") is None:
        raise InputError("podSelector is required", **where, field=f"{path}.podSelector")
    ns = parse_selector(pods.get("namespaceSelector") or {}, where, f"{path}.namespaceSelector")
    return ns, parse_selector(pods["podSelector"], where, f"{path}.podSelector")


def _rules(kind: str, spec: dict[str, Any], direction: str, where: Where) -> tuple[AdminRule, ...]:
    raw = spec.get(direction)
    path = f"spec.{direction}"
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(f"expected a list, got {type_name(raw)}", **where, field=path)
    if len(raw) > MAX_RULES[kind]:
        raise InputError(
            f"at most {MAX_RULES[kind]} rules are allowed, got {len(raw)}", **where, field=path
        )
    peers_key = "from" if direction == "ingress" else "to"
    ports_key = "protocols" if kind == CNP else "ports"
    kinds = INGRESS_PEERS if direction == "ingress" else EGRESS_PEERS[kind]
    rules = []
    for i, entry in enumerate(raw):
        p = f"{path}[{i}]"
        rule = expect_map(entry, where, p)
        _known(rule, {"name", "action", peers_key, ports_key}, where, p)
        name = rule.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 100):
            raise InputError("name must be text of at most 100 characters", **where, field=p)
        action = ACTIONS[kind].get(rule.get("action"))  # type: ignore[arg-type]
        if action is None:
            expected = " | ".join(ACTIONS[kind])
            raise InputError(
                f"action must be {expected}, got {rule.get('action')!r}",
                **where,
                field=f"{p}.action",
            )
        peers = _peers(kind, rule.get(peers_key), kinds, action, where, f"{p}.{peers_key}")
        if kind == CNP:
            ports = _protocols(rule.get(ports_key), where, f"{p}.{ports_key}")
        else:
            ports = _ports(rule.get(ports_key), where, f"{p}.{ports_key}")
        if ports and any(pt.name for pt in ports):
            for j, peer in enumerate(peers):
                if peer.kind in ("networks", "nodes", "domainNames"):
                    raise InputError(
                        f"a named port cannot be used with a {peer.kind} peer",
                        **where,
                        field=f"{p}.{peers_key}[{j}]",
                    )
        rules.append(AdminRule(name or str(i), action, peers, ports))
    return tuple(rules)


def _peers(
    kind: str, raw: object, kinds: tuple[str, ...], action: str, where: Where, path: str
) -> tuple[AdminPeer, ...]:
    if not isinstance(raw, list) or not raw:
        raise InputError("at least one peer is required", **where, field=path)
    if len(raw) > MAX_PEERS[kind]:
        raise InputError(
            f"at most {MAX_PEERS[kind]} peers are allowed, got {len(raw)}", **where, field=path
        )
    peers = []
    for j, entry in enumerate(raw):
        p = f"{path}[{j}]"
        peer = expect_map(entry, where, p)
        which = _one_of(peer, kinds, where, p)
        value = peer[which]
        fp = f"{p}.{which}"
        if which == "namespaces":
            peers.append(AdminPeer(which, namespace_selector=parse_selector(value, where, fp)))
        elif which == "pods":
            ns, pod = _namespaced_pod(value, where, fp)
            peers.append(AdminPeer(which, namespace_selector=ns, pod_selector=pod))
        elif which == "nodes":
            peers.append(AdminPeer(which, node_selector=parse_selector(value, where, fp)))
        elif which == "networks":
            cidrs = _list(value, 25, where, fp)
            sets = [
                AddrSet.from_network(_cidr(c, where, f"{fp}[{k}]")) for k, c in enumerate(cidrs)
            ]
            peers.append(AdminPeer(which, networks=union_all(sets), cidrs=tuple(cidrs)))
        else:
            if action != ALLOW:
                raise InputError(
                    "domainNames peers are allowed only in Allow/Accept rules", **where, field=fp
                )
            names = _list(value, 25, where, fp)
            for k, name in enumerate(names):
                if not isinstance(name, str) or not _DOMAIN.fullmatch(name):
                    raise InputError(f"invalid domain name {name!r}", **where, field=f"{fp}[{k}]")
            peers.append(AdminPeer(which, domains=tuple(names)))
    return tuple(peers)


def _ports(raw: object, where: Where, path: str) -> tuple[AdminPort, ...] | None:
    """v1alpha1 `ports`: each entry exactly one of portNumber, portRange, namedPort."""
    if raw is None:
        return None
    items = _list(raw, 100, where, path)
    out = []
    for i, entry in enumerate(items):
        p = f"{path}[{i}]"
        port = expect_map(entry, where, p)
        which = _one_of(port, ("portNumber", "portRange", "namedPort"), where, p)
        fp = f"{p}.{which}"
        if which == "namedPort":
            out.append(AdminPort(None, name=_port_name(port[which], where, fp)))
            continue
        body = expect_map(port[which], where, fp)
        protocol = _protocol(body.get("protocol"), where, f"{fp}.protocol")
        if which == "portNumber":
            _known(body, {"protocol", "port"}, where, fp)
            number = _port(body.get("port"), where, f"{fp}.port")
            out.append(AdminPort(protocol, number, number))
        else:
            _known(body, {"protocol", "start", "end"}, where, fp)
            start = _port(body.get("start"), where, f"{fp}.start")
            end = _port(body.get("end"), where, f"{fp}.end")
            if start >= end:
                raise InputError(
                    f"start {start} must be less than end {end}", **where, field=f"{fp}.end"
                )
            out.append(AdminPort(protocol, start, end))
    return tuple(out)


def _protocols(raw: object, where: Where, path: str) -> tuple[AdminPort, ...] | None:
    """v1alpha2 `protocols`: tcp/udp/sctp with destinationPort, or destinationNamedPort."""
    if raw is None:
        return None
    items = _list(raw, 25, where, path)
    out = []
    for i, entry in enumerate(items):
        p = f"{path}[{i}]"
        proto = expect_map(entry, where, p)
        which = _one_of(proto, ("tcp", "udp", "sctp", "destinationNamedPort"), where, p)
        fp = f"{p}.{which}"
        if which == "destinationNamedPort":
            out.append(AdminPort(None, name=_port_name(proto[which], where, fp)))
            continue
        body = expect_map(proto[which], where, fp)
        _known(body, {"destinationPort"}, where, fp)
        dest = expect_map(body.get("destinationPort"), where, f"{fp}.destinationPort")
        dp = f"{fp}.destinationPort"
        kind = _one_of(dest, ("number", "range"), where, dp)
        if kind == "number":
            number = _port(dest["number"], where, f"{dp}.number")
            out.append(AdminPort(which.upper(), number, number))
        else:
            rng = expect_map(dest["range"], where, f"{dp}.range")
            _known(rng, {"start", "end"}, where, f"{dp}.range")
            start = _port(rng.get("start"), where, f"{dp}.range.start")
            end = _port(rng.get("end"), where, f"{dp}.range.end")
            if start >= end:
                raise InputError(
                    f"start {start} must be less than end {end}", **where, field=f"{dp}.range.end"
                )
            out.append(AdminPort(which.upper(), start, end))
    return tuple(out)


# --------------------------------------------------------------------------- small parts


def _one_of(raw: dict[str, Any], kinds: tuple[str, ...], where: Where, path: str) -> str:
    """The single field set in `raw` (the API's MinProperties=1, MaxProperties=1)."""
    for key in raw:
        if key not in kinds:
            raise InputError(
                f"unknown field: expected one of {', '.join(kinds)}", **where, field=f"{path}.{key}"
            )
    present = [k for k in kinds if raw.get(k) is not None]
    if len(present) != 1:
        raise InputError(
            f"exactly one of {', '.join(kinds)} must be set, got {len(present)}",
            **where,
            field=path,
        )
    return present[0]


def _known(raw: dict[str, Any], keys: set[str], where: Where, path: str) -> None:
    for key in raw:
        if key not in keys:
            raise InputError("unknown field", **where, field=f"{path}.{key}")


def _list(raw: object, limit: int, where: Where, path: str) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise InputError("expected a non-empty list", **where, field=path)
    if len(raw) > limit:
        raise InputError(
            f"at most {limit} entries are allowed, got {len(raw)}", **where, field=path
        )
    return raw


def _cidr(raw: object, where: Where, path: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not isinstance(raw, str) or "/" not in raw or len(raw) > 43:
        raise InputError(f"invalid CIDR {raw!r}: expected address/prefix", **where, field=path)
    try:
        return ipaddress.ip_network(raw, strict=False)
    except ValueError:
        raise InputError(f"invalid CIDR {raw!r}", **where, field=path) from None


def _port(raw: object, where: Where, path: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= 65535:
        raise InputError(f"port must be a number from 1 to 65535, got {raw!r}", **where, field=path)
    return raw


def _port_name(raw: object, where: Where, path: str) -> str:
    if not isinstance(raw, str) or len(raw) > 15 or not _PORT_NAME.fullmatch(raw):
        raise InputError(f"invalid port name {raw!r}", **where, field=path)
    return raw


def _protocol(raw: object, where: Where, path: str) -> str:
    if raw is None:
        return "TCP"
    if raw not in PROTOCOLS:
        raise InputError(
            f"unknown protocol {raw!r}: expected TCP, UDP or SCTP", **where, field=path
        )
    return str(raw)


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
