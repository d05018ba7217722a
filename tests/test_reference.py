"""Differential test: the flow engine against a deliberately naive reference evaluator.

The reference below applies the rules of DESIGN.md ("Kubernetes NetworkPolicy
semantics") literally, one (source, destination, protocol, port) at a time,
straight from the generated Kubernetes dicts. It shares no code with the engine.
Hypothesis generates small, valid clusters of bare Pods, Namespaces and
NetworkPolicies; every pod pair (self included), every pod / sampled external
address in both directions, and every sampled (protocol, port) is compared.

A second property groups pods into StatefulSets (sometimes with the StatefulSet
object, whose pod template is one more pod shape): pods of one workload differ in
labels, ports and host networking, and a workload allows a flow when some shape of
it does (for a pair, some shape of each side, the same one included).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from compliance.flows import External, compute_flows
from compliance.load import load_texts
from compliance.model import WorkloadRef, build_cluster

PROTOS = ("TCP", "UDP", "SCTP")
PORTS = (1, 52, 53, 54, 79, 80, 81, 443, 5432, 8080, 8081, 9000, 65535)
IPS = (
    "10.0.0.1", "10.1.2.3", "10.255.255.255", "11.0.0.1", "9.255.255.255",
    "192.168.1.1", "192.168.2.1", "8.8.8.8", "0.0.0.0", "255.255.255.255",
    "2001:db8::1", "2001:db8:1::1", "2001:db9::1", "::1",
)  # fmt: skip
NS_KEY = "kubernetes.io/metadata.name"

# =========================================================================== reference


def sel_match(sel: dict[str, Any], labels: dict[str, str]) -> bool:
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        has = key in labels
        if op == "In" and not (has and labels[key] in values):
            return False
        if op == "NotIn" and has and labels[key] in values:
            return False
        if op == "Exists" and not has:
            return False
        if op == "DoesNotExist" and has:
            return False
    return True


def policy_types(spec: dict[str, Any]) -> set[str]:
    if spec.get("policyTypes"):  # omitted or empty -> API defaulting
        return set(spec["policyTypes"])
    return {"Ingress", "Egress"} if spec.get("egress") else {"Ingress"}


class Ref:
    """Reference world built from the raw dicts."""

    def __init__(self, objs: list[dict[str, Any]]) -> None:
        self.ns_labels: dict[str, dict[str, str]] = {}
        self.pods: list[dict[str, Any]] = []
        self.policies: list[dict[str, Any]] = []
        self.controllers: list[dict[str, Any]] = []
        self.admin: list[dict[str, Any]] = []
        self.nodes: list[dict[str, Any]] | None = None
        for o in objs:
            if o["kind"] == "Namespace":
                name = o["metadata"]["name"]
                self.ns_labels[name] = {**o["metadata"].get("labels", {}), NS_KEY: name}
            elif o["kind"] == "Pod":
                self.pods.append(o)
            elif o["kind"] == "NetworkPolicy":
                self.policies.append(o)
            elif o["kind"] == "Node":
                self.nodes = [*(self.nodes or []), o]
            elif o["kind"] in (
                "AdminNetworkPolicy",
                "BaselineAdminNetworkPolicy",
                "ClusterNetworkPolicy",
            ):
                self.admin.append(o)
            else:
                self.controllers.append(o)
        for p in self.pods + self.controllers:  # namespaces without a Namespace object count
            ns = p["metadata"]["namespace"]
            self.ns_labels.setdefault(ns, {NS_KEY: ns})

    @staticmethod
    def ns(o: dict[str, Any]) -> str:
        return o["metadata"].get("namespace", "default")

    @staticmethod
    def host(pod: dict[str, Any]) -> bool:
        return bool(pod["spec"].get("hostNetwork"))

    def peer_match(self, pol: dict[str, Any], peer: dict[str, Any], other: Any) -> bool:
        """Does one peer entry match `other` (a pod dict, or an IP string)?"""
        if "ipBlock" in peer:
            if isinstance(other, dict):
                return self.host(other)  # hostNetwork traffic carries the node's address
            ip = ipaddress.ip_address(other)
            net = ipaddress.ip_network(peer["ipBlock"]["cidr"])
            if ip.version != net.version or ip not in net:
                return False
            return not any(ip in ipaddress.ip_network(x) for x in peer["ipBlock"].get("except", []))
        if not isinstance(other, dict):
            return False  # selectors never match external addresses
        ons = self.ns(other)
        if "namespaceSelector" in peer:
            if not sel_match(peer["namespaceSelector"], self.ns_labels[ons]):
                return False
        elif ons != self.ns(pol):
            return False
        if "podSelector" in peer:
            return sel_match(peer["podSelector"], other["metadata"].get("labels", {}))
        return True

    @staticmethod
    def port_match(entries: list[dict[str, Any]] | None, dst: Any, proto: str, port: int) -> bool:
        if not entries:
            return True
        for e in entries:
            if e.get("protocol", "TCP") != proto:
                continue
            p = e.get("port")
            if p is None:
                return True
            if isinstance(p, int):
                if p <= port <= e.get("endPort", p):
                    return True
                continue
            if not isinstance(dst, dict):
                continue  # a named port never matches an external destination
            for c in dst["spec"]["containers"]:
                for cp in c.get("ports", []):
                    if (
                        cp.get("name") == p
                        and cp.get("protocol", "TCP") == proto
                        and cp["containerPort"] == port
                    ):
                        return True
        return False

    def allows(
        self,
        pod: dict[str, Any],
        direction: str,
        peer: Any,
        dst: Any,
        proto: str,
        port: int,
        reading: bool = True,
    ) -> bool:
        """Does `pod`'s `direction` ("Ingress"/"Egress") allow `peer` on proto/port?

        Admin policies, written out plainly: ANPs by (priority, name), each one's rules
        in order, the first matching rule decides (Pass: on to NetworkPolicy); then
        NetworkPolicy if one selects the pod; then the BANP's first matching rule; then
        allowed. `reading`: whether a pod of unknown address is inside `networks`."""
        if self.host(pod):
            return True
        key = "ingress" if direction == "Ingress" else "egress"
        peers_key = "from" if key == "ingress" else "to"

        def tier(o: dict[str, Any]) -> str:
            if o["kind"] == "ClusterNetworkPolicy":
                return str(o["spec"]["tier"])
            return "Admin" if o["kind"] == "AdminNetworkPolicy" else "Baseline"

        def first_match(pol: dict[str, Any]) -> str | None:
            for rule in pol["spec"].get(key) or []:
                action = str(rule["action"])
                if any(self.admin_peer(pe, peer, reading, action) for pe in rule[peers_key]) and (
                    self.admin_port(rule.get("ports", rule.get("protocols")), dst, proto, port)
                ):
                    return str(rule["action"])
            return None

        admin = sorted(
            (o for o in self.admin if tier(o) == "Admin"),
            key=lambda o: (o["spec"]["priority"], o["metadata"]["name"], o["kind"]),
        )
        for pol in admin:
            if not self.admin_subject(pol, pod):
                continue
            action = first_match(pol)
            if action == "Pass":
                break
            if action is not None:
                return action in ("Allow", "Accept")
        decided = self.np_allows(pod, direction, peer, dst, proto, port)
        if decided is not None:
            return decided
        # Baseline: Baseline-tier CNPs by priority, then name; the BANP last.
        baseline = sorted(
            (o for o in self.admin if tier(o) == "Baseline"),
            key=lambda o: (
                o["kind"] == "BaselineAdminNetworkPolicy",
                o["spec"].get("priority", 0),
                o["metadata"]["name"],
            ),
        )
        for pol in baseline:
            if not self.admin_subject(pol, pod):
                continue
            action = first_match(pol)
            if action == "Pass":
                return True  # skips the rest of the baseline: the default allows
            if action is not None:
                return action in ("Allow", "Accept")
        return True

    def admin_subject(self, pol: dict[str, Any], pod: dict[str, Any]) -> bool:
        subject = pol["spec"]["subject"]
        ns_labels = self.ns_labels[self.ns(pod)]
        if "namespaces" in subject:
            return sel_match(subject["namespaces"], ns_labels)
        pods = subject["pods"]
        return sel_match(pods.get("namespaceSelector", {}), ns_labels) and sel_match(
            pods["podSelector"], pod["metadata"].get("labels", {})
        )

    def admin_peer(self, peer: dict[str, Any], other: Any, reading: bool, action: str) -> bool:
        """`networks` holds pods by address, host-network ones too (their address is the
        node's); `nodes` holds the selected Nodes' addresses and the host-network pods
        scheduled on them; `namespaces` and `pods` never hold a host-network pod."""
        if "nodes" in peer:
            return self.node_peer(peer["nodes"], other, reading, action)
        if "networks" in peer:
            nets = [ipaddress.ip_network(c) for c in peer["networks"]]
            if not isinstance(other, dict):
                ip = ipaddress.ip_address(other)
                return any(ip.version == n.version and ip in n for n in nets)
            if {n.version for n in nets if n.prefixlen == 0} == {4, 6}:
                return True  # every address of both families: whatever the pod's address
            ips = [ipaddress.ip_address(x["ip"]) for x in other.get("status", {}).get("podIPs", [])]
            inside = [any(ip.version == n.version and ip in n for n in nets) for ip in ips]
            if ips and all(inside):
                return True
            if ips and not any(inside):
                return False
            return reading  # unknown (or partly inside): the reading decides
        if not isinstance(other, dict) or self.host(other):
            return False
        ns_labels = self.ns_labels[self.ns(other)]
        if "namespaces" in peer:
            return sel_match(peer["namespaces"], ns_labels)
        pods = peer["pods"]
        return sel_match(pods.get("namespaceSelector", {}), ns_labels) and sel_match(
            pods["podSelector"], other["metadata"].get("labels", {})
        )

    def node_peer(self, sel: dict[str, Any], other: Any, reading: bool, action: str) -> bool:
        """A host-network pod sends from its node's address: it is what `nodes` matches,
        known by `spec.nodeName`. A pod on an unknown Node, or on any Node when the
        export has none, takes the reading; without Node objects an address is every node
        for an Allow and none for a Deny or Pass."""
        if isinstance(other, dict) and not self.host(other):
            return False
        if self.nodes is None:
            return reading if isinstance(other, dict) else action in ("Allow", "Accept")
        chosen = {
            n["metadata"]["name"]: n
            for n in self.nodes
            if sel_match(sel, n["metadata"].get("labels", {}))
        }
        if isinstance(other, dict):
            where = other["spec"].get("nodeName")
            if where is None or where not in {n["metadata"]["name"] for n in self.nodes}:
                return reading
            return where in chosen
        ip = ipaddress.ip_address(other)
        return any(
            a["type"] in ("InternalIP", "ExternalIP") and ipaddress.ip_address(a["address"]) == ip
            for n in chosen.values()
            for a in n.get("status", {}).get("addresses", [])
        )

    @staticmethod
    def admin_port(entries: list[dict[str, Any]] | None, dst: Any, proto: str, port: int) -> bool:
        if entries is None:
            return True
        for e in entries:
            for p in ("tcp", "udp", "sctp"):
                if p in e:  # ClusterNetworkPolicy `protocols`
                    dp = e[p]["destinationPort"]
                    lo, hi = (
                        (dp["number"],) * 2
                        if "number" in dp
                        else (
                            dp["range"]["start"],
                            dp["range"]["end"],
                        )
                    )
                    if proto == p.upper() and lo <= port <= hi:
                        return True
            if "destinationNamedPort" in e:
                e = {"namedPort": e["destinationNamedPort"]}
            if "portNumber" in e:
                pn = e["portNumber"]
                if pn.get("protocol", "TCP") == proto and pn["port"] == port:
                    return True
            elif "portRange" in e:
                pr = e["portRange"]
                if pr.get("protocol", "TCP") == proto and pr["start"] <= port <= pr["end"]:
                    return True
            elif "namedPort" in e and isinstance(dst, dict):
                for c in dst["spec"]["containers"]:
                    for cp in c.get("ports", []):
                        if (
                            cp.get("name") == e["namedPort"]
                            and cp.get("protocol", "TCP") == proto
                            and cp["containerPort"] == port
                        ):
                            return True
        return False

    def np_allows(
        self, pod: dict[str, Any], direction: str, peer: Any, dst: Any, proto: str, port: int
    ) -> bool | None:
        """NetworkPolicy's answer; None when no policy selects the pod in `direction`."""
        selecting = [
            pol
            for pol in self.policies
            if self.ns(pol) == self.ns(pod)
            and sel_match(pol["spec"]["podSelector"], pod["metadata"].get("labels", {}))
            and direction in policy_types(pol["spec"])
        ]
        if not selecting:
            return None
        key, side = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for pol in selecting:
            for rule in pol["spec"].get(key) or []:
                peers = rule.get(side)
                if peers and not any(self.peer_match(pol, pe, peer) for pe in peers):
                    continue
                if self.port_match(rule.get("ports"), dst, proto, port):
                    return True
        return False

    def flow(self, src: Any, dst: Any, proto: str, port: int) -> bool:
        """Allowed when both sides allow it, in either reading of unknown pod addresses."""
        for reading in (True, False):
            ok = True
            if isinstance(src, dict):
                ok = self.allows(src, "Egress", dst, dst, proto, port, reading)
            if ok and isinstance(dst, dict):
                ok = self.allows(dst, "Ingress", src, dst, proto, port, reading)
            if ok:
                return True
        return False


def template_shape(ctrl: dict[str, Any]) -> dict[str, Any]:
    """A controller's pod template, as one more pod of its workload."""
    tmpl = ctrl["spec"]["template"]
    meta = {
        "name": f"{ctrl['metadata']['name']}(template)",
        "namespace": ctrl["metadata"]["namespace"],
        "labels": (tmpl.get("metadata") or {}).get("labels") or {},
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": tmpl["spec"]}


def workload_shapes(ref: Ref) -> dict[WorkloadRef, list[dict[str, Any]]]:
    """Each workload with its pod shapes: its pods (grouped by controlling owner, one
    level, no climbing) and the pod template of its controller when exported."""
    out: dict[WorkloadRef, list[dict[str, Any]]] = {}
    for p in ref.pods:
        meta = p["metadata"]
        owners = [o for o in meta.get("ownerReferences") or [] if o.get("controller") is True]
        if owners:
            key = WorkloadRef(meta["namespace"], owners[0]["name"], owners[0]["kind"])
        else:
            key = WorkloadRef(meta["namespace"], meta["name"], "Pod")
        out.setdefault(key, []).append(p)
    for c in ref.controllers:
        key = WorkloadRef(c["metadata"]["namespace"], c["metadata"]["name"], c["kind"])
        out.setdefault(key, []).append(template_shape(c))
    return out


# =========================================================================== generator

POD_LABELS = {"app": ["x", "y", "z"], "tier": ["f", "b"]}
POD_SEL_KEYS = {**POD_LABELS, "role": ["r"]}
NS_LABELS = {"team": ["a", "b"], "env": ["a", "b"]}
NS_NAMES = ["default", "ns1", "ns2"]
NS_SEL_KEYS = {**NS_LABELS, NS_KEY: [*NS_NAMES, "kube-system"]}
# (name, alternatives of (containerPort, protocol)); a name is used once per pod.
CONTAINER_PORTS = [
    ("http", [(80, "TCP"), (8080, "TCP"), (81, "UDP")]),
    ("dns", [(53, "UDP"), (53, "TCP")]),
    ("alt", [(8080, "TCP"), (8081, "TCP")]),
    (None, [(5432, "TCP")]),
    ("sctp", [(9000, "SCTP")]),
]
CIDRS = [
    ("10.0.0.0/8", ["10.1.0.0/16"]),
    ("0.0.0.0/0", ["10.0.0.0/8", "192.168.0.0/16"]),
    ("192.168.0.0/16", ["192.168.1.0/24"]),
    ("2001:db8::/32", ["2001:db8::/48"]),
    ("::/0", ["2001:db8::/32"]),
]
PORT_NAMES = ["http", "dns", "alt", "sctp", "nope"]
NUM_PORTS = [53, 80, 443, 5432, 8080, 9000]


@st.composite
def labels(draw: st.DrawFn, vocab: dict[str, list[str]]) -> dict[str, str]:
    out = {}
    for k, vs in vocab.items():
        if draw(st.booleans()):
            out[k] = draw(st.sampled_from(vs))
    return out


@st.composite
def selector(draw: st.DrawFn, vocab: dict[str, list[str]]) -> dict[str, Any]:
    sel: dict[str, Any] = {}
    if draw(st.integers(0, 2)) == 0:
        return sel  # {}: everything, the common case
    if draw(st.booleans()):
        sel["matchLabels"] = draw(labels(vocab))
    if draw(st.booleans()):
        exprs = []
        for _ in range(draw(st.integers(1, 2))):
            key = draw(st.sampled_from(sorted(vocab)))
            op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
            e: dict[str, Any] = {"key": key, "operator": op}
            if op in ("In", "NotIn"):
                e["values"] = draw(st.lists(st.sampled_from(vocab[key]), min_size=1, unique=True))
            exprs.append(e)
        sel["matchExpressions"] = exprs
    return sel


@st.composite
def peer(draw: st.DrawFn, pod_sel: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["pod", "ns", "both", "ip", "ip"]))
    if kind == "ip":
        cidr, excepts = draw(st.sampled_from(CIDRS))
        block: dict[str, Any] = {"cidr": cidr}
        if draw(st.booleans()):
            block["except"] = excepts
        return {"ipBlock": block}
    p: dict[str, Any] = {}
    if kind in ("pod", "both"):
        p["podSelector"] = draw(pod_sel)
    if kind in ("ns", "both"):
        p["namespaceSelector"] = draw(selector(NS_SEL_KEYS))
    return p


@st.composite
def port_entry(draw: st.DrawFn) -> dict[str, Any]:
    e: dict[str, Any] = {}
    if draw(st.integers(0, 2)):
        e["protocol"] = draw(st.sampled_from(PROTOS))
    kind = draw(st.sampled_from(["none", "num", "num", "range", "name", "name"]))
    if kind == "num":
        e["port"] = draw(st.sampled_from(NUM_PORTS))
    elif kind == "range":
        lo = draw(st.sampled_from([1, 53, 80, 443, 8080]))
        e["port"] = lo
        e["endPort"] = draw(
            st.sampled_from([lo, lo + 1, 81, 5432, 9000, 65535]).filter(lambda h: h >= lo)
        )
    elif kind == "name":
        e["port"] = draw(st.sampled_from(PORT_NAMES))
    return e


@st.composite
def rule(draw: st.DrawFn, side: str, pod_sel: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    r: dict[str, Any] = {}
    shape = draw(st.sampled_from(["omit", "empty", "list", "list", "list", "list"]))
    if shape == "empty":
        r[side] = []
    elif shape == "list":
        r[side] = draw(st.lists(peer(pod_sel), min_size=1, max_size=3))
    shape = draw(st.sampled_from(["omit", "empty", "list", "list", "list", "list", "list"]))
    if shape == "empty":
        r["ports"] = []
    elif shape == "list":
        r["ports"] = draw(st.lists(port_entry(), min_size=1, max_size=3))
    return r


@st.composite
def policy(
    draw: st.DrawFn,
    name: str,
    namespaces: list[str],
    pod_sel: st.SearchStrategy[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A policy; `pod_sel` draws its pod selectors (default: `selector(POD_SEL_KEYS)`)."""
    if pod_sel is None:
        pod_sel = selector(POD_SEL_KEYS)
    spec: dict[str, Any] = {"podSelector": draw(pod_sel)}
    types = draw(
        st.sampled_from(
            [None, None, [], ["Ingress"], ["Egress"], ["Ingress", "Egress"], ["Egress", "Ingress"]]
        )
    )
    if types is not None:
        spec["policyTypes"] = types
    for key, side in (("ingress", "from"), ("egress", "to")):
        n = draw(st.integers(-1, 3))  # -1: key omitted
        if n >= 0:
            spec[key] = [draw(rule(side, pod_sel)) for _ in range(n)]
    meta: dict[str, Any] = {"name": name}
    ns = draw(st.sampled_from([*namespaces, None]))
    if ns is not None:
        meta["namespace"] = ns
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": spec,
    }


def draw_container_ports(draw: st.DrawFn) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = []
    used: set[tuple[int, str]] = set()
    for pname, alts in CONTAINER_PORTS:
        if draw(st.booleans()):
            number, proto = draw(st.sampled_from(alts))
            if (number, proto) in used:
                continue
            used.add((number, proto))
            cp: dict[str, Any] = {"containerPort": number}
            if pname is not None:
                cp["name"] = pname
            if proto != "TCP" or draw(st.booleans()):
                cp["protocol"] = proto
            ports.append(cp)
    return ports


@st.composite
def pod(draw: st.DrawFn, name: str, namespaces: list[str]) -> dict[str, Any]:
    ports = draw_container_ports(draw)
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "img", "ports": ports}]}
    if draw(st.integers(0, 7)) == 0:
        spec["hostNetwork"] = True
    meta = {
        "name": name,
        "namespace": draw(st.sampled_from(namespaces)),
        "labels": draw(labels(POD_LABELS)),
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def draw_namespaces(draw: st.DrawFn) -> tuple[list[str], list[dict[str, Any]]]:
    namespaces = draw(st.lists(st.sampled_from(NS_NAMES), min_size=2, max_size=3, unique=True))
    objs: list[dict[str, Any]] = []
    for ns in namespaces:
        if draw(st.integers(0, 5)):  # sometimes the export has no Namespace object
            nsl = draw(labels(NS_LABELS))
            objs.append(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": nsl}}
            )
    return namespaces, objs


@st.composite
def clusters(draw: st.DrawFn) -> list[dict[str, Any]]:
    namespaces, objs = draw_namespaces(draw)
    objs += [draw(pod(f"p{i}", namespaces)) for i in range(draw(st.integers(2, 5)))]
    objs += [draw(policy(f"np{i}", namespaces)) for i in range(draw(st.integers(0, 4)))]
    return objs


# Admin policies: ANPs (a few priorities, so that equal ones meet), sometimes a BANP,
# and pods that sometimes give their addresses for `networks` peers.
POD_IPS = ["10.1.2.3", "10.0.0.1", "192.168.1.1", "11.0.0.1", "2001:db8::1"]
ADMIN_NETS = ["10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/16", "0.0.0.0/0", "2001:db8::/32", "::/0"]


# Nodes, when the export has them: addresses that the external IPs probe, labels that
# node selectors pick, and a node name no Node object has (pods may be scheduled there).
NODE_NAMES = ["n0", "n1", "n2"]
NODE_ADDRESSES = ["10.0.0.1", "192.168.1.1", "2001:db8::1", "10.255.255.255"]
NODE_SEL_KEYS = {"role": ["control", "worker"], "zone": ["a", "b"]}


@st.composite
def admin_peer(draw: st.DrawFn, egress: bool) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["namespaces", "pods", "networks", "nodes"] if egress else ["namespaces", "pods"]
        )
    )
    if kind == "nodes":
        return {"nodes": draw(selector(NODE_SEL_KEYS))}
    if kind == "namespaces":
        return {"namespaces": draw(selector(NS_SEL_KEYS))}
    if kind == "pods":
        return {
            "pods": {
                "namespaceSelector": draw(selector(NS_SEL_KEYS)),
                "podSelector": draw(selector(POD_SEL_KEYS)),
            }
        }
    return {
        "networks": draw(st.lists(st.sampled_from(ADMIN_NETS), min_size=1, max_size=2, unique=True))
    }


@st.composite
def admin_port(draw: st.DrawFn, named: bool) -> dict[str, Any]:
    kind = draw(st.sampled_from(["number", "range", "name"] if named else ["number", "range"]))
    proto = draw(st.sampled_from([None, *PROTOS]))
    body: dict[str, Any] = {} if proto is None else {"protocol": proto}
    if kind == "number":
        return {"portNumber": {**body, "port": draw(st.sampled_from(NUM_PORTS))}}
    if kind == "range":
        lo = draw(st.sampled_from([1, 53, 80, 443, 8080]))
        hi = draw(st.sampled_from([81, 5432, 9000, 65535]).filter(lambda h: h > lo))
        return {"portRange": {**body, "start": lo, "end": hi}}
    return {"namedPort": draw(st.sampled_from(PORT_NAMES))}


@st.composite
def cnp_protocol(draw: st.DrawFn, named: bool) -> dict[str, Any]:
    kind = draw(st.sampled_from(["number", "range", "name"] if named else ["number", "range"]))
    if kind == "name":
        return {"destinationNamedPort": draw(st.sampled_from(PORT_NAMES))}
    proto = draw(st.sampled_from(["tcp", "udp", "sctp"]))
    if kind == "number":
        return {proto: {"destinationPort": {"number": draw(st.sampled_from(NUM_PORTS))}}}
    lo = draw(st.sampled_from([1, 53, 80, 443, 8080]))
    hi = draw(st.sampled_from([81, 5432, 9000, 65535]).filter(lambda h: h > lo))
    return {proto: {"destinationPort": {"range": {"start": lo, "end": hi}}}}


@st.composite
def admin_rule(
    draw: st.DrawFn, egress: bool, actions: list[str], cnp: bool = False
) -> dict[str, Any]:
    peers = draw(st.lists(admin_peer(egress), min_size=1, max_size=2))
    r: dict[str, Any] = {
        "action": draw(st.sampled_from(actions)),
        "to" if egress else "from": peers,
    }
    if draw(st.booleans()):
        named = not any("networks" in p or "nodes" in p for p in peers)
        if cnp:
            r["protocols"] = draw(st.lists(cnp_protocol(named), min_size=1, max_size=2))
        else:
            r["ports"] = draw(st.lists(admin_port(named), min_size=1, max_size=2))
    return r


@st.composite
def admin_policy(draw: st.DrawFn, kind: str, name: str) -> dict[str, Any]:
    actions = {
        "AdminNetworkPolicy": ["Allow", "Deny", "Pass"],
        "BaselineAdminNetworkPolicy": ["Allow", "Deny"],
        "ClusterNetworkPolicy": ["Accept", "Deny", "Pass"],
    }[kind]
    if draw(st.booleans()):
        subject: dict[str, Any] = {"namespaces": draw(selector(NS_SEL_KEYS))}
    else:
        subject = {
            "pods": {
                "namespaceSelector": draw(selector(NS_SEL_KEYS)),
                "podSelector": draw(selector(POD_SEL_KEYS)),
            }
        }
    spec: dict[str, Any] = {"subject": subject}
    cnp = kind == "ClusterNetworkPolicy"
    if kind != "BaselineAdminNetworkPolicy":
        spec["priority"] = draw(st.sampled_from([1, 2, 3]))
    if cnp:
        spec["tier"] = draw(st.sampled_from(["Admin", "Baseline"]))
    for key in ("ingress", "egress"):
        n = draw(st.integers(0, 3))
        if n:
            spec[key] = [draw(admin_rule(key == "egress", actions, cnp)) for _ in range(n)]
    return {
        "apiVersion": f"policy.networking.k8s.io/{'v1alpha2' if cnp else 'v1alpha1'}",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


@st.composite
def admin_clusters(draw: st.DrawFn) -> list[dict[str, Any]]:
    objs = draw(clusters())
    for o in objs:
        if o["kind"] == "Pod" and draw(st.integers(0, 2)):
            ips = draw(st.lists(st.sampled_from(POD_IPS), min_size=1, max_size=2, unique=True))
            o["status"] = {"podIPs": [{"ip": ip} for ip in ips]}
        if o["kind"] == "Pod" and draw(st.integers(0, 2)):
            o["spec"]["nodeName"] = draw(st.sampled_from(NODE_NAMES))
    if draw(st.booleans()):
        for i, name in enumerate(NODE_NAMES[: draw(st.integers(0, 2))]):
            objs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": name, "labels": draw(labels(NODE_SEL_KEYS))},
                    "status": {
                        "addresses": [
                            {"type": "InternalIP", "address": NODE_ADDRESSES[i]},
                            {"type": "Hostname", "address": name},
                        ]
                    },
                }
            )
    objs += [
        draw(admin_policy("AdminNetworkPolicy", f"anp{i}")) for i in range(draw(st.integers(0, 3)))
    ]
    if draw(st.booleans()):
        objs.append(draw(admin_policy("BaselineAdminNetworkPolicy", "default")))
    objs += [
        draw(admin_policy("ClusterNetworkPolicy", f"cnp{i}"))
        for i in range(draw(st.integers(0, 2)))
    ]
    return objs


# Workloads of several pods: StatefulSets whose pods share some labels and differ in
# others (the pod-name label, a random extra or changed label) and in container ports.
SS_POD_NAME = "statefulset.kubernetes.io/pod-name"
WL_NAMES = ["w0", "w1", "w2"]
MAX_REPLICAS = 3
WL_SEL_KEYS = {**POD_SEL_KEYS, SS_POD_NAME: [f"{w}-{i}" for w in WL_NAMES for i in range(2)]}


@st.composite
def shape_selector(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly one requirement, often on a label that tells a workload's shapes apart, so
    that policies select some shapes of a workload and not others."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(selector(WL_SEL_KEYS))
    key = draw(st.sampled_from(["role", "role", SS_POD_NAME, "app", "tier"]))
    if kind == 1:
        return {"matchLabels": {key: draw(st.sampled_from(WL_SEL_KEYS[key]))}}
    op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
    e: dict[str, Any] = {"key": key, "operator": op}
    if op in ("In", "NotIn"):
        e["values"] = draw(st.lists(st.sampled_from(WL_SEL_KEYS[key]), min_size=1, unique=True))
    return {"matchExpressions": [e]}


def draw_shape_labels(
    draw: st.DrawFn, base: dict[str, str], pod_name: str | None
) -> dict[str, str]:
    out = dict(base)
    if pod_name is not None and draw(st.integers(0, 3)):
        out[SS_POD_NAME] = pod_name
    if draw(st.booleans()):
        out["role"] = "r"
    if draw(st.integers(0, 3)) == 0:  # a label the other shapes have, changed or dropped here
        key = draw(st.sampled_from(sorted(POD_LABELS)))
        value = draw(st.sampled_from([None, *POD_LABELS[key]]))
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def draw_shape_spec(draw: st.DrawFn, base_ports: list[dict[str, Any]]) -> dict[str, Any]:
    ports = base_ports if draw(st.booleans()) else draw_container_ports(draw)
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "img", "ports": ports}]}
    if draw(st.integers(0, 15)) == 0:
        spec["hostNetwork"] = True
    return spec


@st.composite
def statefulset(draw: st.DrawFn, ns: str, name: str) -> list[dict[str, Any]]:
    """A StatefulSet's pods, and sometimes the StatefulSet object itself."""
    base_labels = draw(labels(POD_LABELS))
    base_ports = draw_container_ports(draw)
    objs: list[dict[str, Any]] = []
    with_object = draw(st.booleans())
    if with_object:
        template = {
            "metadata": {"labels": draw_shape_labels(draw, base_labels, None)},
            "spec": draw_shape_spec(draw, base_ports),
        }
        objs.append(
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": name, "namespace": ns},
                "spec": {
                    "serviceName": name,
                    "selector": {"matchLabels": base_labels},
                    "template": template,
                },
            }
        )
    owner = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": name,
        "uid": "x",
        "controller": True,
    }
    for i in range(draw(st.integers(0 if with_object else 1, MAX_REPLICAS))):
        pod_name = f"{name}-{i}"
        meta = {
            "name": pod_name,
            "namespace": ns,
            "labels": draw_shape_labels(draw, base_labels, pod_name),
            "ownerReferences": [owner],
        }
        spec = draw_shape_spec(draw, base_ports)
        objs.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
    return objs


@st.composite
def workload_clusters(draw: st.DrawFn) -> list[dict[str, Any]]:
    namespaces, objs = draw_namespaces(draw)
    for ns in namespaces:
        for name in WL_NAMES[: draw(st.integers(1, len(WL_NAMES)))]:
            objs += draw(statefulset(ns, name))
    for ns in namespaces:  # a default deny makes the shape-specific allows matter
        types = draw(st.sampled_from([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
        if types is not None:
            deny = {"podSelector": {}, "policyTypes": types}
            objs.append(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": "deny", "namespace": ns},
                    "spec": deny,
                }
            )
    objs += [
        draw(policy(f"np{i}", namespaces, shape_selector())) for i in range(draw(st.integers(0, 4)))
    ]
    return list(draw(st.permutations(objs)))


# =========================================================================== comparison


def engine(objs: list[dict[str, Any]]) -> Any:
    doc = {"apiVersion": "v1", "kind": "List", "items": objs}
    loaded = load_texts([("test.json", json.dumps(doc).encode())])
    return compute_flows(build_cluster(loaded.objects))


class _NoAliasDumper(yaml.SafeDumper):
    """Spell shared sub-objects (a workload's common ports) out in failure reports."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def check(objs: list[dict[str, Any]]) -> None:
    """Compare every workload pair and workload / address pair, on every sampled port.

    A workload allows a flow when some pod shape of it does (for a pair: some shape
    of the source and some shape of the destination, the same one included)."""
    graph = engine(objs)
    ref = Ref(objs)
    units = workload_shapes(ref)
    for f in graph.flows:
        for end in (f.src, f.dst):
            assert isinstance(end, External) or end in units, f"unexpected workload {end}"
    pair_flows: dict[tuple[Any, Any], Any] = {}
    ext_out: dict[WorkloadRef, list[Any]] = {}
    ext_in: dict[WorkloadRef, list[Any]] = {}
    for f in graph.flows:
        if isinstance(f.src, External):
            ext_in.setdefault(f.dst, []).append(f)
        elif isinstance(f.dst, External):
            ext_out.setdefault(f.src, []).append(f)
        else:
            assert (f.src, f.dst) not in pair_flows, f"two flows for {f.src} -> {f.dst}"
            pair_flows[(f.src, f.dst)] = f

    def external_conns(flows: list[Any], ip: str) -> Any:
        hits = [
            f
            for f in flows
            if (f.dst if isinstance(f.dst, External) else f.src).addresses.contains(ip)
        ]
        assert len(hits) <= 1, f"{ip} is in {len(hits)} external flows"
        return hits[0].connections if hits else None

    # (src label, dst label, src shapes, dst shapes, engine connections)
    cases: list[tuple[str, str, list[Any], list[Any], Any]] = []
    for a, a_shapes in units.items():
        for b, b_shapes in units.items():
            f = pair_flows.get((a, b))
            cases.append((str(a), str(b), a_shapes, b_shapes, f.connections if f else None))
        for ip in IPS:
            conns = external_conns(ext_out.get(a, []), ip)
            cases.append((str(a), ip, a_shapes, [ip], conns))
            conns = external_conns(ext_in.get(a, []), ip)
            cases.append((ip, str(a), [ip], a_shapes, conns))

    wrong = []
    for sname, dname, srcs, dsts, conns in cases:
        for proto in PROTOS:
            for port in PORTS:
                want = any(ref.flow(s, d, proto, port) for s in srcs for d in dsts)
                got = conns is not None and conns.contains(proto, port)
                if want != got:
                    wrong.append(
                        f"{sname} -> {dname} {proto}/{port}: engine={got} reference={want}"
                        f" (engine connections: {conns.describe() if conns else 'none'})"
                    )
    assert not wrong, (
        f"{len(wrong)} disagreements, first ones:\n  "
        + "\n  ".join(wrong[:12])
        + "\n--- input ---\n"
        + yaml.dump_all(objs, Dumper=_NoAliasDumper, sort_keys=False)
    )


# =========================================================================== regressions


def _ns(name: str, **lab: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": lab}}


def _pod(
    name: str, ns: str, lab: dict[str, str], ports: list[dict[str, Any]], host: bool = False
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "ports": ports}]}
    if host:
        spec["hostNetwork"] = True
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": lab},
        "spec": spec,
    }


def _np(name: str, ns: str | None, spec: dict[str, Any]) -> dict[str, Any]:
    meta = {"name": name} | ({"namespace": ns} if ns else {})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": spec,
    }


HTTP = {"containerPort": 80, "name": "http"}
HTTP_ALT = {"containerPort": 8080, "name": "http"}
DNS = {"containerPort": 53, "name": "dns", "protocol": "UDP"}

# Named egress port resolves against the *peer*'s ports (80 on p0, 8080 on p1), never an ipBlock.
EX_NAMED_EGRESS = [
    _ns("default"), _ns("ns1", team="a"),
    _pod("p0", "default", {"app": "x"}, [HTTP]),
    _pod("p1", "ns1", {"app": "y"}, [HTTP_ALT, DNS]),
    _np("np0", "default", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"namespaceSelector": {}}, {"ipBlock": {"cidr": "0.0.0.0/0"}}],
         "ports": [{"port": "http"}, {"protocol": "UDP", "port": "dns"}]}]}),
]  # fmt: skip
# policyTypes omitted with egress rules -> isolated both ways; empty `from` = everyone incl. IPs.
EX_DEFAULTING = [
    _ns("default"), _ns("ns1", env="b"),
    _pod("p0", "default", {"app": "x", "tier": "f"}, [HTTP, DNS]),
    _pod("p1", "ns1", {}, []),
    _np("np0", None, {"podSelector": {"matchExpressions": [{"key": "tier", "operator": "NotIn",
                                                            "values": ["b"]}]},
                      "ingress": [{"from": [], "ports": [{"port": 80, "endPort": 81}]}],
                      "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8",
                                                      "except": ["10.1.0.0/16"]}}],
                                  "ports": [{"protocol": "SCTP"}]}]}),
]  # fmt: skip
# A hostNetwork pod: its own policies do not apply, and ipBlock rules match it as a peer.
EX_HOST_NETWORK = [
    _ns("default"),
    _pod("p0", "default", {"app": "x"}, [HTTP], host=True),
    _pod("p1", "default", {"app": "y"}, [HTTP]),
    _np("np0", "default", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                           "ingress": [{"from": [{"ipBlock": {"cidr": "192.168.0.0/16"}}]}],
                           "egress": [{"to": [{"ipBlock": {"cidr": "2001:db8::/32"}}],
                                       "ports": [{"port": "http"}]}]}),
]  # fmt: skip
# Namespace without a Namespace object: selectable by kubernetes.io/metadata.name only.
EX_NO_NS_OBJECT = [
    _ns("default", team="a"),
    _pod("p0", "default", {}, [HTTP]),
    _pod("p1", "ns2", {"app": "z"}, []),
    _np("np0", "default", {"podSelector": {}, "ingress": [
        {"from": [{"namespaceSelector": {"matchLabels": {NS_KEY: "ns2"}},
                   "podSelector": {"matchExpressions": [{"key": "tier", "operator":
                                                         "DoesNotExist"}]}}]}]}),
]  # fmt: skip
# `policyTypes: []` defaults like omitted; egress rules of an Ingress-only policy are ignored;
# a protocol-only entry and a named port whose protocol differs from the container's.
EX_TYPES_EDGE = [
    _ns("default"), _ns("ns1"),
    _pod("p0", "default", {"app": "x"}, [HTTP, DNS]),
    _pod("p1", "ns1", {"tier": "b"}, [HTTP_ALT]),
    _np("np0", "default", {"podSelector": {}, "policyTypes": [],
                           "ingress": [{"ports": [{"port": "dns"}, {"protocol": "UDP"}]}],
                           "egress": [{"to": [{"podSelector": {}}]}]}),
    _np("np1", "ns1", {"podSelector": {}, "policyTypes": ["Ingress"],
                       "ingress": [{"from": [{"namespaceSelector": {}}]}],
                       "egress": [{"to": [{"ipBlock": {"cidr": "::/0"}}]}]}),
]  # fmt: skip


def _sts(name: str, ns: str, lab: dict[str, str], ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "selector": {"matchLabels": lab},
            "template": {
                "metadata": {"labels": lab},
                "spec": {"containers": [{"name": "c", "ports": ports}]},
            },
        },
    }


def _member(
    sts: str,
    ordinal: int,
    ns: str,
    lab: dict[str, str],
    ports: list[dict[str, Any]],
    host: bool = False,
) -> dict[str, Any]:
    p = _pod(f"{sts}-{ordinal}", ns, lab, ports, host)
    p["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "name": sts,
            "uid": "x",
            "controller": True,
        }
    ]
    return p


# The named port `http` is 80 on db's template and 8080 on db-0; db-1 has only UDP dns and is
# the only shape that admits itself on it. web's egress reaches db-0 alone, by its pod-name
# label: web -> db is TCP 8080 only; db -> db is TCP 80, 8080 and UDP 53; web admits nothing.
EX_WL_NAMED_PORTS = [
    _ns("default"), _ns("ns1", team="a"),
    _sts("db", "default", {"app": "x"}, [HTTP]),
    _member("db", 0, "default", {"app": "x", SS_POD_NAME: "db-0"}, [HTTP_ALT]),
    _member("db", 1, "default", {"app": "x", SS_POD_NAME: "db-1"}, [DNS]),
    _member("web", 0, "ns1", {"app": "y", SS_POD_NAME: "web-0"}, [HTTP]),
    _np("np0", "default", {"podSelector": {"matchLabels": {"app": "x"}}, "ingress": [
        {"from": [{"namespaceSelector": {}}], "ports": [{"port": "http"}]},
        {"from": [{"podSelector": {"matchLabels": {SS_POD_NAME: "db-1"}}}],
         "ports": [{"protocol": "UDP", "port": "dns"}]}]}),
    _np("np1", "ns1", {"podSelector": {}, "egress": [
        {"to": [{"namespaceSelector": {}, "podSelector": {"matchExpressions": [
            {"key": SS_POD_NAME, "operator": "In", "values": ["db-0"]}]}}],
         "ports": [{"port": "http"}]}]}),
]  # fmt: skip
# A workload known only by its template (no pods), and one whose second pod uses the host
# network: b -> a passes a's ipBlock rule through b-1 only (TCP 80); b is open both ways.
EX_WL_TEMPLATE_HOST = [
    _ns("default"),
    _sts("a", "default", {"app": "x"}, [HTTP]),
    _member("b", 0, "default", {"app": "y"}, []),
    _member("b", 1, "default", {"app": "y", "tier": "f"}, [HTTP], host=True),
    _np("np0", "default", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                           "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
                                        "ports": [{"port": 80}]}],
                           "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "x"}}}]}]}),
]  # fmt: skip
# Egress and ingress must hold for the SAME pair of shapes: a-0 may not send (egress denied),
# a-1 may send but b admits only role=r, which a-1 lacks: a -> b allows nothing.
EX_WL_SAME_SHAPES = [
    _ns("default"),
    _member("a", 0, "default", {"app": "x", "role": "r"}, []),
    _member("a", 1, "default", {"app": "x"}, []),
    _member("b", 0, "default", {"app": "y"}, [HTTP]),
    _np("np0", "default", {"podSelector": {"matchLabels": {"role": "r"}},
                           "policyTypes": ["Egress"]}),
    _np("np1", "default", {"podSelector": {"matchLabels": {"app": "y"}},
                           "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "r"}}}],
                                        "ports": [{"port": "http"}]}]}),
]  # fmt: skip
# A named port resolves against the admitting shape's own ports: db-0 (role=r, http=80) admits
# `http`, db-1 (http=8080) is only default-denied, so cl -> db is TCP 80, never 8080.
EX_WL_PORT_PER_SHAPE = [
    _ns("default"),
    _member("db", 0, "default", {"app": "x", "role": "r"}, [HTTP]),
    _member("db", 1, "default", {"app": "x"}, [HTTP_ALT]),
    _member("cl", 0, "default", {"app": "y"}, []),
    _np("deny", "default", {"podSelector": {}, "policyTypes": ["Ingress"]}),
    _np("np0", "default", {"podSelector": {"matchLabels": {"role": "r"}},
                           "ingress": [{"ports": [{"port": "http"}]}]}),
]  # fmt: skip
# hostNetwork is per pod: h-0 (host) sends freely and matches ipBlocks but lacks role=r;
# h-1 (role=r) is egress-denied. h -> t is TCP 443 (t's ipBlock rule, through h-0) only.
EX_WL_HOST_PER_POD = [
    _ns("default"),
    _member("h", 0, "default", {"app": "x"}, [], host=True),
    _member("h", 1, "default", {"app": "x", "role": "r"}, []),
    _member("t", 0, "default", {"app": "y"}, [HTTP]),
    _np("np0", "default", {"podSelector": {"matchLabels": {"app": "x"}},
                           "policyTypes": ["Egress"]}),
    _np("np1", "default", {"podSelector": {"matchLabels": {"app": "y"}}, "ingress": [
        {"from": [{"podSelector": {"matchLabels": {"role": "r"}}}]},
        {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 443}]}]}),
]  # fmt: skip


@given(clusters())
@example(EX_NAMED_EGRESS)
@example(EX_DEFAULTING)
@example(EX_HOST_NETWORK)
@example(EX_NO_NS_OBJECT)
@example(EX_TYPES_EDGE)
def test_engine_matches_reference(objs: list[dict[str, Any]]) -> None:
    check(objs)


# Each example is several times the work of a `clusters()` one: half the profile's count.
@settings(max_examples=max(10, settings.default.max_examples // 2))
@given(workload_clusters())
@example(EX_WL_NAMED_PORTS)
@example(EX_WL_TEMPLATE_HOST)
@example(EX_WL_SAME_SHAPES)
@example(EX_WL_PORT_PER_SHAPE)
@example(EX_WL_HOST_PER_POD)
def test_workloads_of_several_pods_match_reference(objs: list[dict[str, Any]]) -> None:
    check(objs)


@settings(max_examples=max(10, settings.default.max_examples // 2))
@given(admin_clusters())
def test_engine_with_admin_policies_matches_reference(objs: list[dict[str, Any]]) -> None:
    check(objs)


@given(clusters())
def test_engine_deterministic_and_flows_non_empty(objs: list[dict[str, Any]]) -> None:
    first, second = engine(objs), engine(objs)
    assert first.flows == second.flows
    assert [str(f.src) for f in first.flows] == [str(f.src) for f in second.flows]
    for f in first.flows:
        assert not f.connections.is_empty(), f"empty connections in {f.src} -> {f.dst}"
