"""Deterministic synthetic Kubernetes cluster export for the benchmarks.

    python benchmarks/generate.py --workloads 5000 [--seed 7] [--out cluster.yaml]

writes one multi-document YAML file shaped like `kubectl get namespaces,deployments,
statefulsets,daemonsets,networkpolicies -A -o yaml`, one document per object. From
Python, `generate(workloads, seed)` returns the same objects as a list of dicts.

Everything comes from one `random.Random(seed)`: no clock, no environment, no iteration
over sets, so the same arguments always give byte-identical output.

What the cluster looks like (about 50 workloads per application namespace and 1.5
NetworkPolicies per workload on average):

- `kube-system` (coredns, `k8s-app: kube-dns`, DNS on 53/UDP and 53/TCP), `ingress-nginx`
  (the controller) and `monitoring` (prometheus). From 100 workloads on, also kube-proxy
  and node-exporter (hostNetwork DaemonSets), metrics-server, alertmanager and grafana.
  They count towards the workload total.
- Application namespaces labelled `kubernetes.io/metadata.name`, `team` and `env` (some
  also PCI/HIPAA scope labels). 80% have a default deny for Ingress and Egress, 10% for
  Ingress only, 7% no policy at all, 3% per-app policies but no default deny (shares
  are exact quotas, rounded, over the application namespaces).
- Workloads: mostly Deployments, StatefulSets for data stores, some DaemonSets; labels
  `app`, `tier`, `version` (canaries share the `app` label of their main Deployment);
  named container ports (http, grpc, metrics, postgres, ...), some UDP and SCTP.
- Per-app ingress policies from same-namespace callers, the ingress controller,
  prometheus, and other namespaces (matchLabels on `team` or `kubernetes.io/metadata.name`,
  matchExpressions with In/NotIn/Exists/DoesNotExist), named and numeric ports, `endPort`
  ranges. Egress policies to the callees (also in other namespaces), to kube-dns, and to
  external addresses through `ipBlock` with `except` lists, IPv4 and IPv6. A few
  deliberate mistakes, as real clusters have: a named port no container declares, an
  allow-all rule, egress to the cloud metadata address, a selector that matches nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

try:
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]

Obj = dict[str, Any]

# Shape and size knobs. With these, 5,000 workloads give about 7,500 policies and 9 MB.
WORKLOADS_PER_NAMESPACE = 50
NAMESPACE_MODES = (("deny-all", 80), ("deny-ingress", 10), ("none", 7), ("open", 3))
SPLIT_INGRESS = 0.22  # share of apps with one ingress policy per kind of source
ENV_SHARE = 0.15  # share of containers with environment variables
ENV_VARS_PER_CONTAINER = 2
RESOURCES_SHARE = 0.6  # share of containers with resource requests

META_NAME = "kubernetes.io/metadata.name"
PCI_LABEL = "compliance.example.com/pci"
HIPAA_LABEL = "compliance.example.com/hipaa"
KUBE_SYSTEM = "kube-system"
INGRESS_NS = "ingress-nginx"
MONITORING_NS = "monitoring"
REGISTRY = "registry.example.com"

TEAMS = (
    "payments", "checkout", "identity", "catalog", "search", "billing", "ledger", "risk",
    "shipping", "inventory", "notifications", "analytics", "claims", "patients", "records",
    "pharmacy", "scheduling", "messaging", "media", "reporting", "pricing", "loyalty",
    "fraud", "support", "partners", "orders", "accounts", "onboarding", "telecom", "content",
)  # fmt: skip
PCI_TEAMS = ("payments", "checkout", "billing", "ledger", "fraud", "accounts")
HIPAA_TEAMS = ("claims", "patients", "records", "pharmacy", "scheduling")
ENVS = ("prod", "staging", "dev")
ENV_WEIGHTS = (5, 3, 2)

FRONTEND_NAMES = ("web", "storefront", "portal", "admin-ui", "dashboard", "console", "bff")
BACKEND_NAMES = (
    "api", "gateway", "orders", "payments", "accounts", "users", "catalog", "search", "cart",
    "checkout", "inventory", "pricing", "auth", "session", "profile", "notifications",
    "billing", "invoices", "ledger", "reports", "recommendations", "reviews", "shipping",
    "tracking", "fraud", "risk", "audit", "documents", "consent", "eligibility", "webhooks",
    "tokenizer", "settlement", "refunds", "quotes", "subscriptions", "entitlements",
)  # fmt: skip
WORKER_NAMES = (
    "worker", "scheduler", "consumer", "indexer", "sync", "etl", "mailer", "exporter",
    "reconciler", "batch", "archiver", "thumbnailer", "dispatcher", "cleanup",
)  # fmt: skip
QUALIFIERS = (
    "v2", "internal", "edge", "read", "write", "east", "west", "batch", "admin", "public",
    "legacy", "core", "async", "cache", "primary", "replica",
)  # fmt: skip
TIERS = ("frontend", "backend", "worker", "data", "special")
TIER_WEIGHTS = (9, 50, 18, 20, 3)
REPLICAS = (1, 2, 2, 3, 3, 4, 6)
LOG_LEVELS = ("info", "warn", "debug")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")

PortSpec = tuple[str, int, str]  # (name, containerPort, protocol)

# Data stores: engine -> ports; the first port is the one clients use.
DATA_ENGINES: dict[str, tuple[PortSpec, ...]] = {
    "postgres": (("postgres", 5432, "TCP"), ("metrics", 9187, "TCP")),
    "redis": (("redis", 6379, "TCP"), ("metrics", 9121, "TCP")),
    "kafka": (("kafka", 9092, "TCP"), ("kafka-internal", 9093, "TCP"), ("metrics", 9308, "TCP")),
    "mysql": (("mysql", 3306, "TCP"), ("metrics", 9104, "TCP")),
    "mongodb": (("mongodb", 27017, "TCP"), ("metrics", 9216, "TCP")),
    "elasticsearch": (("http", 9200, "TCP"), ("transport", 9300, "TCP")),
    "rabbitmq": (("amqp", 5672, "TCP"), ("management", 15672, "TCP"), ("metrics", 15692, "TCP")),
    "memcached": (("memcache", 11211, "TCP"), ("metrics", 9150, "TCP")),
    "zookeeper": (
        ("zk-client", 2181, "TCP"), ("zk-peer", 2888, "TCP"), ("zk-election", 3888, "TCP"),
    ),
}  # fmt: skip
DATA_ENGINE_NAMES = tuple(DATA_ENGINES)
# Ports the replicas of a clustered store use between themselves.
REPLICATION_PORTS = {
    "postgres": ("postgres",),
    "kafka": ("kafka-internal",),
    "mongodb": ("mongodb",),
    "elasticsearch": ("transport",),
    "rabbitmq": ("amqp",),
    "zookeeper": ("zk-peer", "zk-election"),
}

# Special-purpose listeners (UDP, SCTP, telemetry): (name, tier, ports).
SPECIALS: tuple[tuple[str, str, tuple[PortSpec, ...]], ...] = (
    ("statsd", "worker", (("statsd", 8125, "UDP"), ("metrics", 9102, "TCP"))),
    ("syslog", "worker", (("syslog", 5514, "UDP"), ("syslog-tls", 6514, "TCP"))),
    ("otel-agent", "worker", (("otlp-grpc", 4317, "TCP"), ("otlp-http", 4318, "TCP"))),
    ("media-relay", "backend",
     (("rtp", 10000, "UDP"), ("sip", 5060, "UDP"), ("metrics", 9090, "TCP"))),
    ("diameter", "backend", (("diameter", 3868, "SCTP"), ("metrics", 9090, "TCP"))),
    ("sigtran", "backend", (("m3ua", 2905, "SCTP"), ("metrics", 9090, "TCP"))),
)  # fmt: skip
SPECIAL_NAMES = tuple(s[0] for s in SPECIALS)
SPECIAL_DAEMONSETS = ("statsd", "syslog", "otel-agent")

PRIVATE_V4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
METADATA_V4 = "169.254.169.254/32"
# External egress destinations: (cidr, except, ((port, protocol), ...)).
EXTERNAL_TARGETS: tuple[tuple[str, tuple[str, ...], tuple[tuple[int, str], ...]], ...] = (
    ("0.0.0.0/0", (*PRIVATE_V4, METADATA_V4), ((443, "TCP"),)),
    ("0.0.0.0/0", ("10.0.0.0/8", METADATA_V4), ((443, "TCP"), (80, "TCP"))),
    ("203.0.113.0/24", (), ((443, "TCP"), (8443, "TCP"))),
    ("198.51.100.0/24", ("198.51.100.128/25",), ((443, "TCP"),)),
    ("192.0.2.10/32", (), ((636, "TCP"),)),
    ("2001:db8::/32", ("2001:db8:ffff::/48",), ((443, "TCP"),)),
    ("::/0", ("fc00::/7", "fe80::/10"), ((443, "TCP"),)),
    ("100.64.0.0/10", ("100.64.8.0/24",), ((5432, "TCP"),)),
    ("8.8.8.8/32", (), ((53, "UDP"), (53, "TCP"))),
)

PROMETHEUS_LABELS = {"app.kubernetes.io/name": "prometheus"}
INGRESS_LABELS = {"app.kubernetes.io/name": "ingress-nginx"}
KUBE_DNS_LABELS = {"k8s-app": "kube-dns"}
SYSTEM_IMAGES = {
    "coredns": ("registry.k8s.io/coredns/coredns", "v1.11.1"),
    "kube-proxy": ("registry.k8s.io/kube-proxy", "v1.30.4"),
    "metrics-server": ("registry.k8s.io/metrics-server/metrics-server", "v0.7.1"),
    "ingress-nginx-controller": ("registry.k8s.io/ingress-nginx/controller", "v1.11.2"),
    "prometheus": ("quay.io/prometheus/prometheus", "v2.53.0"),
    "alertmanager": ("quay.io/prometheus/alertmanager", "v0.27.0"),
    "grafana": ("docker.io/grafana/grafana", "11.1.0"),
    "node-exporter": ("quay.io/prometheus/node-exporter", "v1.8.1"),
}
DNS_PORTS = ((53, "UDP"), (53, "TCP"))


@dataclass
class Port:
    name: str
    number: int
    protocol: str = "TCP"


@dataclass
class Namespace:
    name: str
    team: str
    env: str
    mode: str  # deny-all | deny-ingress | none | open | system
    labels: dict[str, str]
    dns: str = "namespace"  # a namespace-wide allow-dns policy, or "per-app" rules
    scrape: str = "namespace"  # a namespace-wide allow-prometheus policy, or "per-app" rules
    apps: list[App] = field(default_factory=list)


@dataclass
class App:
    ns: Namespace
    name: str
    kind: str
    tier: str
    ports: list[Port]
    app_label: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    engine: str = ""  # data store engine or special listener
    host_network: bool = False
    canary_of: App | None = None
    callees: list[Edge] = field(default_factory=list)
    callers: list[Edge] = field(default_factory=list)

    def port(self, name: str) -> Port | None:
        for p in self.ports:
            if p.name == name:
                return p
        return None

    @property
    def service_port(self) -> Port:
        for p in self.ports:
            if p.name != "metrics":
                return p
        return self.ports[0]


@dataclass
class Edge:
    src: App
    dst: App
    port: Port


def _match_labels(labels: dict[str, str]) -> Obj:
    return {"matchLabels": dict(labels)}


def _ports(specs: Iterable[tuple[int | str, str]]) -> list[Obj]:
    return [{"port": port, "protocol": proto} for port, proto in specs]


class _Generator:
    def __init__(self, workloads: int, seed: int) -> None:
        if workloads < 3:
            raise ValueError("need at least 3 workloads (coredns, ingress controller, prometheus)")
        self.rng = random.Random(seed)
        self.total = workloads
        self.namespaces: list[Namespace] = []
        self.policies: list[Obj] = []

    # -- small helpers -------------------------------------------------------------------

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def timestamp(self) -> str:
        moment = datetime(2024, 1, 8, tzinfo=UTC)
        moment += timedelta(seconds=self.rng.randrange(0, 420 * 86400))
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def metadata(
        self,
        name: str,
        namespace: str | None,
        labels: dict[str, str],
        annotations: dict[str, str] | None = None,
        uid: bool = False,
        created: bool = False,
    ) -> Obj:
        meta: Obj = {"name": name}
        if namespace is not None:
            meta["namespace"] = namespace
        if uid:
            meta["uid"] = self.uid()
        if created:
            meta["creationTimestamp"] = self.timestamp()
        if labels:
            meta["labels"] = dict(labels)
        if annotations:
            meta["annotations"] = dict(annotations)
        return meta

    # -- cluster shape -------------------------------------------------------------------

    def build(self) -> list[Obj]:
        system = self.system_namespaces()
        self.app_namespaces(self.total - sum(len(ns.apps) for ns in system))
        self.edges()
        for ns in self.namespaces:
            self.namespace_policies(ns)
            for app in ns.apps:
                self.app_policies(app)
        return self.documents()

    def system_namespaces(self) -> list[Namespace]:
        extras = self.total >= 100
        kube = Namespace(KUBE_SYSTEM, "platform", "prod", "system", {})
        ingress = Namespace(INGRESS_NS, "platform", "prod", "system", {})
        mon = Namespace(MONITORING_NS, "platform", "prod", "system", {})
        for ns in (kube, ingress, mon):
            ns.labels = {META_NAME: ns.name, "team": "platform", "env": "prod"}
        ingress.labels["pod-security.kubernetes.io/enforce"] = "baseline"

        def system_app(
            ns: Namespace, name: str, kind: str, labels: dict[str, str], ports: list[Port]
        ) -> App:
            app = App(ns, name, kind, "system", ports, labels=dict(labels))
            ns.apps.append(app)
            return app

        dns_ports = [Port("dns", 53, "UDP"), Port("dns-tcp", 53, "TCP"), Port("metrics", 9153)]
        system_app(kube, "coredns", "Deployment", KUBE_DNS_LABELS, dns_ports)
        if extras:
            proxy = system_app(
                kube, "kube-proxy", "DaemonSet", {"k8s-app": "kube-proxy"}, [Port("metrics", 10249)]
            )
            proxy.host_network = True
            system_app(
                kube,
                "metrics-server",
                "Deployment",
                {"k8s-app": "metrics-server"},
                [Port("https", 10250)],
            )
        controller_labels = {
            **INGRESS_LABELS,
            "app.kubernetes.io/component": "controller",
            "app.kubernetes.io/instance": "ingress-nginx",
        }
        controller_ports = [
            Port("http", 80),
            Port("https", 443),
            Port("webhook", 8443),
            Port("metrics", 10254),
        ]
        system_app(
            ingress, "ingress-nginx-controller", "Deployment", controller_labels, controller_ports
        )
        prometheus_labels = {**PROMETHEUS_LABELS, "app.kubernetes.io/instance": "k8s"}
        system_app(mon, "prometheus", "StatefulSet", prometheus_labels, [Port("web", 9090)])
        if extras:
            alert_ports = [Port("web", 9093), Port("mesh-tcp", 9094), Port("mesh-udp", 9094, "UDP")]
            system_app(
                mon,
                "alertmanager",
                "StatefulSet",
                {"app.kubernetes.io/name": "alertmanager"},
                alert_ports,
            )
            grafana = {"app.kubernetes.io/name": "grafana"}
            system_app(mon, "grafana", "Deployment", grafana, [Port("http", 3000)])
            exporter = system_app(
                mon,
                "node-exporter",
                "DaemonSet",
                {"app.kubernetes.io/name": "node-exporter"},
                [Port("metrics", 9100)],
            )
            exporter.host_network = True
        self.namespaces += [kube, ingress, mon]
        return [kube, ingress, mon]

    def app_namespaces(self, count: int) -> None:
        if count <= 0:
            return
        n_ns = max(1, round(count / WORKLOADS_PER_NAMESPACE))
        sizes = _apportion(count, [self.rng.uniform(0.6, 1.4) for _ in range(n_ns)], minimum=1)
        quotas = _apportion(n_ns, [w for _, w in NAMESPACE_MODES], minimum=0)
        modes = [m for (m, _), q in zip(NAMESPACE_MODES, quotas, strict=True) for _ in range(q)]
        self.rng.shuffle(modes)
        taken = {ns.name for ns in self.namespaces}
        for i, (size, mode) in enumerate(zip(sizes, modes, strict=True)):
            team = TEAMS[i % len(TEAMS)]
            env = self.rng.choices(ENVS, ENV_WEIGHTS)[0]
            name = f"{team}-{env}"
            k = 2
            while name in taken:
                name = f"{team}-{env}-{k}"
                k += 1
            taken.add(name)
            labels = {META_NAME: name, "team": team, "env": env}
            if team in PCI_TEAMS and env == "prod":
                labels[PCI_LABEL] = "cde" if self.chance(0.6) else "connected"
            if team in HIPAA_TEAMS and env == "prod":
                labels[HIPAA_LABEL] = "ephi"
            if self.chance(0.5):
                level = self.rng.choice(("restricted", "baseline"))
                labels["pod-security.kubernetes.io/enforce"] = level
            if self.chance(0.3):
                labels["cost-center"] = f"cc-{self.rng.randrange(1000, 9999)}"
            ns = Namespace(name, team, env, mode, labels)
            ns.dns = "per-app" if self.chance(0.12) else "namespace"
            ns.scrape = "per-app" if self.chance(0.5) else "namespace"
            self.namespaces.append(ns)
            self.fill_namespace(ns, size)

    def fill_namespace(self, ns: Namespace, size: int) -> None:
        names: set[str] = set()  # membership only, never iterated
        while len(ns.apps) < size:
            tier = "backend" if not ns.apps else self.rng.choices(TIERS, TIER_WEIGHTS)[0]
            app = self.new_app(ns, tier, names)
            ns.apps.append(app)
            room = len(ns.apps) < size
            if app.tier == "backend" and not app.engine and room and self.chance(0.05):
                self.add_canary(app, names)

    def add_canary(self, main: App, names: set[str]) -> None:
        """A canary Deployment sharing the `app` label (so the same policies select it)."""
        ports = [Port(p.name, p.number, p.protocol) for p in main.ports]
        name = self.unique(f"{main.name}-canary", names)
        canary = App(main.ns, name, "Deployment", main.tier, ports, canary_of=main)
        canary.app_label = main.app_label
        canary.labels = {"app": main.app_label, "tier": main.tier, "track": "canary"}
        main.labels["track"] = "stable"
        main.ns.apps.append(canary)

    def unique(self, base: str, names: set[str]) -> str:
        name = base
        tries = 0
        while name in names:
            tries += 1
            name = f"{base}-{self.rng.choice(QUALIFIERS)}" if tries < 6 else f"{base}-{tries}"
        names.add(name)
        return name

    def new_app(self, ns: Namespace, tier: str, names: set[str]) -> App:
        rng = self.rng
        engine = ""
        kind = "Deployment"
        if tier == "frontend":
            name = self.unique(rng.choice(FRONTEND_NAMES), names)
            ports = [Port("http", rng.choice((8080, 3000, 8080))), Port("metrics", 9090)]
        elif tier == "backend":
            name = self.unique(rng.choice(BACKEND_NAMES), names)
            ports = [Port("http", 8080)]
            if self.chance(0.45):
                ports.append(Port("grpc", rng.choice((9000, 50051))))
            if self.chance(0.2):
                ports.append(Port("admin", 8081))
            if self.chance(0.9):
                ports.append(Port("metrics", 9090))
        elif tier == "worker":
            name = self.unique(rng.choice(WORKER_NAMES), names)
            ports = [Port("health", 8086)]
            if self.chance(0.8):
                ports.append(Port("metrics", 9102))
            if self.chance(0.1):
                kind = "DaemonSet"
        elif tier == "data":
            engine = rng.choice(DATA_ENGINE_NAMES)
            base = engine if self.chance(0.5) else f"{engine}-{rng.choice(BACKEND_NAMES)}"
            name = self.unique(base, names)
            ports = [Port(*spec) for spec in DATA_ENGINES[engine]]
            cache = engine in ("redis", "memcached")
            kind = "Deployment" if cache and self.chance(0.5) else "StatefulSet"
        else:
            engine, tier, specs = rng.choice(SPECIALS)
            name = self.unique(engine, names)
            ports = [Port(*spec) for spec in specs]
            if engine in SPECIAL_DAEMONSETS:
                kind = "DaemonSet"
        app = App(ns, name, kind, tier, ports, engine=engine)
        app.app_label = name
        app.labels = {"app": name, "tier": tier}
        return app

    # -- who talks to whom ---------------------------------------------------------------

    def edges(self) -> None:
        rng = self.rng
        app_nss = [ns for ns in self.namespaces if ns.mode != "system"]
        for ns in app_nss:
            mains = [a for a in ns.apps if a.canary_of is None]
            backends = [a for a in mains if a.tier == "backend" and not a.engine]
            data = [a for a in mains if a.tier == "data"]
            specials = [a for a in mains if a.engine in SPECIAL_NAMES]
            for app in mains:
                targets: list[App] = []
                if app.tier == "frontend":
                    targets += _pick(rng, backends, rng.randint(1, 3))
                elif app.tier == "backend" and not app.engine:
                    peers = [b for b in backends if b is not app]
                    targets += _pick(rng, peers, rng.randint(0, 2))
                    targets += _pick(rng, data, rng.randint(0, 1))
                elif app.tier == "worker" and not app.engine:
                    targets += _pick(rng, backends, rng.randint(0, 2))
                    targets += _pick(rng, data, 1)
                if app.tier in ("backend", "worker") and self.chance(0.3):
                    targets += _pick(rng, [s for s in specials if s is not app], 1)
                for dst in targets:
                    self.connect(app, dst)
                if app.kind == "StatefulSet":
                    for pname in REPLICATION_PORTS.get(app.engine, ()):
                        port = app.port(pname)
                        if port is not None:
                            self.connect(app, app, port)
            # Calls into other namespaces: APIs of other teams, shared databases.
            others = [o for o in app_nss if o is not ns and o.apps]
            if not others:
                continue
            for app in mains:
                if app.tier not in ("backend", "worker") or app.engine:
                    continue
                if self.chance(0.15):
                    other = rng.choice(others)
                    apis = [
                        a
                        for a in other.apps
                        if a.tier == "backend" and a.canary_of is None and not a.engine
                    ]
                    if apis:
                        self.connect(app, rng.choice(apis))
                if self.chance(0.08):
                    other = rng.choice(others)
                    stores = [a for a in other.apps if a.tier == "data"]
                    if stores:
                        self.connect(app, rng.choice(stores))

    def connect(self, src: App, dst: App, port: Port | None = None) -> None:
        if port is None:
            port = dst.service_port
            grpc = dst.port("grpc")
            if grpc is not None and self.chance(0.4):
                port = grpc
        edge = Edge(src, dst, port)
        src.callees.append(edge)
        dst.callers.append(edge)

    # -- policies ------------------------------------------------------------------------

    def policy(self, ns: Namespace, name: str, spec: Obj) -> None:
        labels = {"team": ns.team} if self.chance(0.3) else {}
        annotations: dict[str, str] = {}
        if self.chance(0.03):
            applied = {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": name, "namespace": ns.name},
                "spec": spec,
            }
            annotations["kubectl.kubernetes.io/last-applied-configuration"] = (
                json.dumps(applied, sort_keys=True, separators=(",", ":")) + "\n"
            )
        if self.chance(0.1):
            annotations["compliance.example.com/ticket"] = f"SEC-{self.rng.randrange(100, 9999)}"
        self.policies.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": self.metadata(name, ns.name, labels, annotations, created=True),
                "spec": spec,
            }
        )

    def port_entry(self, port: Port) -> Obj:
        """A NetworkPolicy port for `port`: by name or number; TCP sometimes left implicit."""
        entry: Obj = {"port": port.name if self.chance(0.45) else port.number}
        if port.protocol != "TCP" or self.chance(0.5):
            entry["protocol"] = port.protocol
        return entry

    def dns_rule(self) -> Obj:
        if self.chance(0.7):
            namespaces: Obj = {}
        else:
            namespaces = _match_labels({META_NAME: KUBE_SYSTEM})
        peer = {"namespaceSelector": namespaces, "podSelector": _match_labels(KUBE_DNS_LABELS)}
        return {"to": [peer], "ports": _ports(DNS_PORTS)}

    @staticmethod
    def prometheus_peer() -> Obj:
        return {
            "namespaceSelector": _match_labels({META_NAME: MONITORING_NS}),
            "podSelector": _match_labels(PROMETHEUS_LABELS),
        }

    def namespace_policies(self, ns: Namespace) -> None:
        if ns.mode == "system":
            self.system_policies(ns)
            return
        if ns.mode == "none":
            return
        if ns.mode == "deny-all":
            if self.chance(0.6):
                spec: Obj = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
                self.policy(ns, "default-deny", spec)
            else:
                for direction in ("Ingress", "Egress"):
                    spec = {"podSelector": {}, "policyTypes": [direction]}
                    self.policy(ns, f"default-deny-{direction.lower()}", spec)
            if ns.dns == "namespace":
                spec = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [self.dns_rule()]}
                self.policy(ns, "allow-dns", spec)
        elif ns.mode == "deny-ingress":
            # policyTypes omitted and no ingress rules: still a default deny for Ingress.
            spec = {"podSelector": {}}
            if self.chance(0.7):
                spec["policyTypes"] = ["Ingress"]
            self.policy(ns, "default-deny-ingress", spec)
        if ns.scrape == "namespace" and ns.mode != "open":
            if self.chance(0.5):
                selector: Obj = {}
            else:
                selector = {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
            rule = {"from": [self.prometheus_peer()], "ports": _ports([("metrics", "TCP")])}
            spec = {"podSelector": selector, "policyTypes": ["Ingress"], "ingress": [rule]}
            self.policy(ns, "allow-prometheus-scrape", spec)
        if self.chance(0.08):
            spec = {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}
            self.policy(ns, "allow-same-namespace", spec)

    def system_policies(self, ns: Namespace) -> None:
        everywhere = [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}]
        if ns.name == KUBE_SYSTEM:
            spec: Obj = {
                "podSelector": _match_labels(KUBE_DNS_LABELS),
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {"from": [{"namespaceSelector": {}}], "ports": _ports(DNS_PORTS)},
                    {"from": [self.prometheus_peer()], "ports": [{"port": "metrics"}]},
                ],
                "egress": [
                    {"to": everywhere, "ports": _ports(DNS_PORTS)},
                    {  # the API server's service address
                        "to": [{"ipBlock": {"cidr": "10.96.0.1/32"}}],
                        "ports": _ports([(443, "TCP")]),
                    },
                ],
            }
            self.policy(ns, "coredns", spec)
        elif ns.name == INGRESS_NS:
            apps_only = {
                "key": META_NAME,
                "operator": "NotIn",
                "values": [KUBE_SYSTEM, MONITORING_NS],
            }
            spec = {
                "podSelector": _match_labels(INGRESS_LABELS),
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {"from": everywhere, "ports": [{"port": "http"}, {"port": "https"}]},
                    {"from": [{"namespaceSelector": {}}], "ports": _ports([(8443, "TCP")])},
                    {"from": [self.prometheus_peer()], "ports": [{"port": 10254}]},
                ],
                "egress": [
                    {
                        "to": [{"namespaceSelector": {"matchExpressions": [apps_only]}}],
                        "ports": _ports([("http", "TCP")]),  # named: the backends' own ports
                    },
                    self.dns_rule(),
                ],
            }
            self.policy(ns, "ingress-nginx-controller", spec)
        elif ns.name == MONITORING_NS:
            self.policy(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress"]})
            grafana = {"podSelector": _match_labels({"app.kubernetes.io/name": "grafana"})}
            spec = {
                "podSelector": _match_labels(PROMETHEUS_LABELS),
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [grafana], "ports": [{"port": "web"}]}],
                "egress": [
                    {"to": [{"namespaceSelector": {}}]},  # scrapes everything, every port
                    {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
                     "ports": [{"port": 9100}, {"port": 10250}]},
                ],
            }  # fmt: skip
            self.policy(ns, "prometheus", spec)
            if any(a.name == "alertmanager" for a in ns.apps):
                alertmanager = _match_labels({"app.kubernetes.io/name": "alertmanager"})
                spec = {
                    "podSelector": alertmanager,
                    "ingress": [
                        {
                            "from": [{"podSelector": _match_labels(PROMETHEUS_LABELS)}],
                            "ports": [{"port": "web"}],
                        },
                        {
                            "from": [{"podSelector": dict(alertmanager)}],
                            "ports": _ports([(9094, "TCP"), (9094, "UDP")]),
                        },
                    ],
                }
                self.policy(ns, "alertmanager", spec)

    def app_selector(self, app: App) -> Obj:
        if app.tier == "data" and self.chance(0.2):
            return _match_labels({"app": app.app_label, "tier": "data"})
        return _match_labels({"app": app.app_label})

    def app_policies(self, app: App) -> None:
        ns = app.ns
        if ns.mode in ("none", "system") or app.canary_of is not None:
            return
        keep = 0.6 if ns.mode == "open" else 0.97
        ingress = self.ingress_rules(app) if self.chance(keep) else []
        wants_egress = self.chance(0.92 if ns.mode == "deny-all" else 0.12)
        egress = self.egress_rules(app) if wants_egress else []
        selector = self.app_selector(app)
        if ingress and egress and self.chance(0.1):
            spec: Obj = {
                "podSelector": selector,
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [rule for _, rule in ingress],
                "egress": egress,
            }
            self.policy(ns, app.name, spec)
            return
        if ingress:
            # One policy per kind of source for some apps, one per app for the others.
            groups: list[tuple[str, list[Obj]]] = []
            if len(ingress) > 1 and self.chance(SPLIT_INGRESS):
                for tag, rule in ingress:  # rules of one tag are adjacent
                    if groups and groups[-1][0] == tag:
                        groups[-1][1].append(rule)
                    else:
                        groups.append((tag, [rule]))
            else:
                groups.append(("", [rule for _, rule in ingress]))
            for tag, rules in groups:
                spec = {"podSelector": dict(selector), "ingress": rules}
                if self.chance(0.8):
                    spec["policyTypes"] = ["Ingress"]
                self.policy(ns, f"{app.name}-from-{tag}" if tag else f"{app.name}-ingress", spec)
        if egress:
            spec = {"podSelector": dict(selector), "egress": egress}
            # policyTypes omitted next to egress rules means Ingress AND Egress.
            if ns.mode != "deny-all" or self.chance(0.95):
                spec["policyTypes"] = ["Egress"]
            self.policy(ns, f"{app.name}-egress", spec)

    def ingress_rules(self, app: App) -> list[tuple[str, Obj]]:
        """Ingress rules for `app`, each tagged with the kind of source it admits."""
        rng = self.rng
        ns = app.ns
        rules: list[tuple[str, Obj]] = []
        # Same-namespace callers, one rule per port they use.
        local: dict[str, list[App]] = {}
        remote: list[Edge] = []
        for edge in app.callers:
            if edge.src is app:
                continue
            if edge.src.ns is ns:
                local.setdefault(edge.port.name, []).append(edge.src)
            else:
                remote.append(edge)
        for pname in sorted(local):
            callers = sorted({c.app_label for c in local[pname]})
            port = app.port(pname)
            assert port is not None
            peers: list[Obj]
            if len(callers) >= 3 and self.chance(0.4):
                expr = {"key": "app", "operator": "In", "values": callers}
                peers = [{"podSelector": {"matchExpressions": [expr]}}]
            else:
                peers = [{"podSelector": _match_labels({"app": c})} for c in callers]
            if self.chance(0.05):
                exprs = [
                    {"key": "tier", "operator": "In", "values": ["frontend", "backend"]},
                    {"key": "quarantine", "operator": "DoesNotExist"},
                ]
                peers.append({"podSelector": {"matchExpressions": exprs}})
            ports = [self.port_entry(port)]
            if port.name == "rtp":
                ports = [{"port": 10000, "endPort": 10999, "protocol": "UDP"}]
            elif port.protocol == "TCP" and self.chance(0.04):
                end = port.number + rng.choice((1, 9, 99))
                ports = [{"port": port.number, "endPort": end, "protocol": "TCP"}]
            elif self.chance(0.01):
                ports.append({"port": "http-alt"})  # declared by no container: allows nothing
            rules.append(("callers", {"from": peers, "ports": ports}))
        # Replication between the replicas of a clustered store.
        self_ports = [e.port for e in app.callers if e.src is app]
        if self_ports:
            peer = {"podSelector": _match_labels({"app": app.app_label})}
            ports = [self.port_entry(p) for p in self_ports]
            rules.append(("replicas", {"from": [peer], "ports": ports}))
        for edge in remote:
            rule = {
                "from": [self.remote_ingress_peer(edge.src)],
                "ports": [self.port_entry(edge.port)],
            }
            rules.append(("other-namespaces", rule))
        if app.tier == "frontend" or (app.tier == "backend" and self.chance(0.08)):
            http = app.port("http") or app.service_port
            peer = {
                "namespaceSelector": _match_labels({META_NAME: INGRESS_NS}),
                "podSelector": _match_labels(INGRESS_LABELS),
            }
            rules.append(("ingress-nginx", {"from": [peer], "ports": [self.port_entry(http)]}))
        metrics = app.port("metrics")
        if metrics is not None and (ns.scrape == "per-app" or ns.mode == "open"):
            rule = {"from": [self.prometheus_peer()], "ports": [self.port_entry(metrics)]}
            rules.append(("prometheus", rule))
        if rules and self.chance(0.01):
            # No `from`: every source, external addresses included.
            rules.append(("anywhere", {"ports": _ports([(8080, "TCP")])}))
        return rules

    def remote_ingress_peer(self, src: App) -> Obj:
        rng = self.rng
        other = src.ns
        roll = rng.random()
        if roll < 0.40:
            return {
                "namespaceSelector": _match_labels({META_NAME: other.name}),
                "podSelector": _match_labels({"app": src.app_label}),
            }
        if roll < 0.60:
            return {
                "namespaceSelector": _match_labels({"team": other.team}),
                "podSelector": _match_labels({"app": src.app_label}),
            }
        if roll < 0.75:
            # Relies on a label anyone who may edit the namespace can set.
            return {"namespaceSelector": _match_labels({"team": other.team})}
        if roll < 0.85:
            teams = sorted({other.team, rng.choice(TEAMS)})
            tiers = {"key": "tier", "operator": "In", "values": ["backend", "worker"]}
            return {
                "namespaceSelector": {
                    "matchExpressions": [{"key": "team", "operator": "In", "values": teams}]
                },
                "podSelector": {"matchExpressions": [tiers]},
            }
        if roll < 0.95:
            exprs = [
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "team", "operator": "Exists"},
            ]
            return {
                "namespaceSelector": {"matchExpressions": exprs},
                "podSelector": _match_labels({"app": src.app_label}),
            }
        # Matches only namespaces carrying the PCI label: often none of the callers.
        pci = {"key": PCI_LABEL, "operator": "Exists"}
        return {"namespaceSelector": {"matchExpressions": [pci]}}

    def egress_rules(self, app: App) -> list[Obj]:
        rng = self.rng
        ns = app.ns
        rules: list[Obj] = []
        for edge in app.callees:
            dst = edge.dst
            if dst is app:
                continue  # replication: below
            peer: Obj = {"podSelector": _match_labels({"app": dst.app_label})}
            if dst.ns is not ns:
                roll = rng.random()
                if roll < 0.7:
                    peer["namespaceSelector"] = _match_labels({META_NAME: dst.ns.name})
                elif roll < 0.9:
                    peer["namespaceSelector"] = _match_labels({"team": dst.ns.team})
                else:
                    peer = {"namespaceSelector": _match_labels({META_NAME: dst.ns.name})}
            ports = [self.port_entry(edge.port)]
            if edge.port.name == "rtp":
                ports = [{"port": 10000, "endPort": 10999, "protocol": "UDP"}]
            rules.append({"to": [peer], "ports": ports})
        self_ports = [e.port for e in app.callees if e.dst is app]
        if self_ports:
            peer = {"podSelector": _match_labels({"app": app.app_label})}
            rules.append({"to": [peer], "ports": [self.port_entry(p) for p in self_ports]})
        if app.tier in ("backend", "worker") and self.chance(0.2):
            cidr, excepts, ports_spec = rng.choice(EXTERNAL_TARGETS)
            block: Obj = {"cidr": cidr}
            if excepts:
                block["except"] = list(excepts)
            rules.append({"to": [{"ipBlock": block}], "ports": _ports(ports_spec)})
        if app.tier == "backend" and self.chance(0.01):
            rules.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]})  # every port, anywhere
        if app.tier == "backend" and self.chance(0.01):
            metadata_service = {"ipBlock": {"cidr": METADATA_V4}}
            rules.append({"to": [metadata_service], "ports": _ports([(80, "TCP")])})
        if app.tier in ("backend", "worker") and self.chance(0.15):
            remote_write = {
                "namespaceSelector": _match_labels({META_NAME: MONITORING_NS}),
                "podSelector": _match_labels(PROMETHEUS_LABELS),
            }
            rules.append({"to": [remote_write], "ports": _ports([(9090, "TCP")])})
        if ns.dns == "per-app" or ns.mode != "deny-all":
            rules.append(self.dns_rule())
        return rules

    # -- documents -----------------------------------------------------------------------

    def documents(self) -> list[Obj]:
        """Objects in `kubectl get` order: by kind, then namespace, then name."""
        out = [self.namespace_doc(ns) for ns in sorted(self.namespaces, key=lambda n: n.name)]
        by_kind: dict[str, list[Obj]] = {"Deployment": [], "StatefulSet": [], "DaemonSet": []}
        for ns in self.namespaces:
            for app in ns.apps:
                by_kind[app.kind].append(self.workload_doc(app))
        for kind in ("Deployment", "StatefulSet", "DaemonSet"):
            out += sorted(by_kind[kind], key=_object_key)
        out += sorted(self.policies, key=_object_key)
        return out

    def namespace_doc(self, ns: Namespace) -> Obj:
        annotations = {"owner": f"{ns.team}@example.com"} if ns.mode != "system" else {}
        return {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": self.metadata(
                ns.name, None, ns.labels, annotations, uid=True, created=True
            ),
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }

    def workload_doc(self, app: App) -> Obj:
        rng = self.rng
        ns = app.ns
        main = app.canary_of or app
        system = ns.mode == "system"
        if app.canary_of is not None:
            version = f"v{rng.randint(2, 4)}.0.0-rc.{rng.randint(1, 9)}"
        elif system:
            version = SYSTEM_IMAGES[app.name][1]
        else:
            version = f"v{rng.randint(1, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        if system:
            image = f"{SYSTEM_IMAGES[app.name][0]}:{version}"
            selector = dict(app.labels)
        else:
            image = f"{REGISTRY}/{ns.team}/{app.engine or main.name}:{version}"
            selector = {"app": app.app_label}
            if "track" in app.labels:
                selector["track"] = app.labels["track"]
        pod_labels = dict(app.labels)
        if not system:
            pod_labels["version"] = version
            if self.chance(0.1):
                pod_labels["app.kubernetes.io/part-of"] = ns.team
        containers = [self.container(app, image, app.ports)]
        if not system and self.chance(0.08):
            shipper = f"{REGISTRY}/platform/log-shipper:v2.2.{rng.randint(0, 9)}"
            containers.append(
                self.container(app, shipper, [Port("fb-metrics", 2020)], name="log-shipper")
            )
        pod_spec: Obj = {"containers": containers, "serviceAccountName": main.name}
        if app.host_network:
            pod_spec["hostNetwork"] = True
            pod_spec["dnsPolicy"] = "ClusterFirstWithHostNet"
        pod_meta: Obj = {"labels": pod_labels}
        metrics = app.port("metrics")
        if metrics is not None and self.chance(0.15):
            pod_meta["annotations"] = {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(metrics.number),
            }
        spec: Obj = {
            "selector": {"matchLabels": selector},
            "template": {"metadata": pod_meta, "spec": pod_spec},
        }
        if app.kind == "Deployment":
            spec["replicas"] = rng.choice(REPLICAS)
        elif app.kind == "StatefulSet":
            spec["replicas"] = 3
            spec["serviceName"] = f"{app.name}-headless"
        labels = dict(app.labels)
        if not system:
            labels["version"] = version
            if self.chance(0.1):
                labels["app.kubernetes.io/managed-by"] = "Helm"
        return {
            "apiVersion": "apps/v1",
            "kind": app.kind,
            "metadata": self.metadata(app.name, ns.name, labels),
            "spec": spec,
        }

    def container(self, app: App, image: str, ports: Sequence[Port], name: str = "") -> Obj:
        rng = self.rng
        c: Obj = {"name": name or (app.canary_of or app).name, "image": image}
        if self.chance(RESOURCES_SHARE):
            cpu = f"{rng.choice((50, 100, 250, 500))}m"
            memory = f"{rng.choice((64, 128, 256, 512))}Mi"
            c["resources"] = {"requests": {"cpu": cpu, "memory": memory}}
        if ports:
            c["ports"] = [
                {"containerPort": p.number, "name": p.name, "protocol": p.protocol} for p in ports
            ]
            if app.host_network:
                for entry in c["ports"]:
                    entry["hostPort"] = entry["containerPort"]
        if not name:  # the main container
            if self.chance(ENV_SHARE):
                c["env"] = self.env(app)
            probe_port = next((p for p in ports if p.protocol == "TCP"), None)
            if probe_port is not None and self.chance(0.2):
                c["readinessProbe"] = {"tcpSocket": {"port": probe_port.name}}
        return c

    def env(self, app: App) -> list[Obj]:
        rng = self.rng
        env: list[Obj] = [{"name": "LOG_LEVEL", "value": rng.choice(LOG_LEVELS)}]
        for i, edge in enumerate(app.callees[:2]):
            dst = edge.dst
            address = f"{dst.name}.{dst.ns.name}.svc.cluster.local:{edge.port.number}"
            env.append({"name": f"UPSTREAM_{i}_ADDR", "value": address})
        if app.tier in ("backend", "data") and app.ns.mode != "system":
            secret = {"name": f"{(app.canary_of or app).name}-credentials", "key": "password"}
            env.append({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": secret}})
        env.append({"name": "REGION", "value": rng.choice(REGIONS)})
        return env[:ENV_VARS_PER_CONTAINER]


def _apportion(total: int, weights: Sequence[float], minimum: int) -> list[int]:
    """Split `total` in proportion to `weights` (largest remainder), each part >= minimum."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    parts = [max(minimum, int(r)) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (-(raw[i] - int(raw[i])), i))
    i = 0
    while sum(parts) < total:
        parts[by_remainder[i % len(parts)]] += 1
        i += 1
    while sum(parts) > total:
        j = max(range(len(parts)), key=lambda k: (parts[k], -k))
        parts[j] -= 1
    return parts


def _pick(rng: random.Random, items: Sequence[App], k: int) -> list[App]:
    if not items or k <= 0:
        return []
    return rng.sample(list(items), min(k, len(items)))


def _object_key(obj: Obj) -> tuple[str, str]:
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


def generate(workloads: int, seed: int = 7) -> list[dict[str, Any]]:
    """The cluster's objects (Namespaces, workloads, NetworkPolicies) in export order."""
    return _Generator(workloads, seed).build()


def count_objects(docs: Iterable[Obj]) -> dict[str, int]:
    """Objects per kind, plus `workloads` (Deployments, StatefulSets and DaemonSets)."""
    counts: dict[str, int] = {}
    for doc in docs:
        counts[doc["kind"]] = counts.get(doc["kind"], 0) + 1
    counts["workloads"] = sum(counts.get(k, 0) for k in ("Deployment", "StatefulSet", "DaemonSet"))
    return dict(sorted(counts.items()))


class _Dumper(_BaseDumper):
    """kubectl never writes YAML anchors; neither do we, even for repeated sub-objects."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(docs: Sequence[Obj], stream: Any) -> None:
    yaml.dump_all(
        docs,
        stream,
        Dumper=_Dumper,
        sort_keys=True,
        default_flow_style=False,
        explicit_start=True,
    )


def write(docs: Sequence[Obj], out: Path) -> None:
    """Write atomically, so an interrupted run never leaves a truncated cluster behind."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        dump(docs, fh)
    os.replace(tmp, out)


# -- hostile shapes -------------------------------------------------------------------------


def allowlist(policies: int) -> list[Obj]:
    """One payment gateway selected by `policies` NetworkPolicies, each allowing its own
    partner /32 on its own port in ingress and another /32 in egress: an allowlist of
    partner addresses, common in payment environments. Every address interval is distinct,
    so an engine that compares each interval with every other is quadratic here."""
    ns = "payments"
    docs: list[Obj] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "gateway", "namespace": ns, "labels": {"app": "gateway"}},
            "spec": {
                "selector": {"matchLabels": {"app": "gateway"}},
                "template": {
                    "metadata": {"labels": {"app": "gateway"}},
                    "spec": {"containers": [{"name": "gateway", "image": "gateway:1"}]},
                },
            },
        },
    ]
    for i in range(policies):
        port = 1024 + i % 60000
        partner_in = f"100.{64 + (i >> 16) % 64}.{(i >> 8) & 255}.{i & 255}/32"
        partner_out = f"198.{18 + (i >> 16) % 2}.{(i >> 8) & 255}.{i & 255}/32"
        docs.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": f"partner-{i:05d}", "namespace": ns},
                "spec": {
                    "podSelector": {"matchLabels": {"app": "gateway"}},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [
                        {"from": [{"ipBlock": {"cidr": partner_in}}], "ports": [{"port": port}]}
                    ],
                    "egress": [
                        {"to": [{"ipBlock": {"cidr": partner_out}}], "ports": [{"port": port}]}
                    ],
                },
            }
        )
    return docs


def long_text_scope(scope_text: str, chars: int) -> str:
    """`scope_text` (a scope file) with every approved flow's justification and every
    waiver's reason replaced by `chars` characters without a space: the worst case for
    laying text out in a narrow PDF table column. `chars` 0 returns it unchanged."""
    if chars == 0:
        return scope_text
    doc = yaml.safe_load(scope_text)
    for i, entry in enumerate(doc.get("approved_flows", [])):
        entry["justification"] = (f"J{i}-" + "x" * chars)[:chars]
    for i, waiver in enumerate(doc.get("waivers", [])):
        waiver["reason"] = (f"R{i}-" + "y" * chars)[:chars]
    text: str = yaml.safe_dump(doc, sort_keys=False, width=2**31 - 1)
    return text


# -- cluster-wide guardrails ------------------------------------------------------------

ANP_API = "policy.networking.k8s.io/v1alpha1"
ADMIN_ACTIONS = (("Allow", 35), ("Deny", 40), ("Pass", 25))


def _selectors_of(docs: Sequence[Obj]) -> tuple[list[Obj], list[tuple[str, dict[str, str]]]]:
    """The Namespaces, and (namespace, `app`/`tier` pod labels) of the workloads, in export
    order: what realistic subjects and peers select."""
    namespaces = [d for d in docs if d["kind"] == "Namespace"]
    pods = []
    for d in docs:
        if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
            labels = d["spec"]["template"]["metadata"].get("labels", {})
            keep = {k: v for k, v in labels.items() if k in ("app", "tier")}
            if keep:
                pods.append((d["metadata"]["namespace"], keep))
    return namespaces, pods


class _AdminGenerator:
    """ANPs in the shapes platform teams write: guardrails between environments and
    compliance zones at high priority, delegation (Pass) of a team's namespaces to their
    own NetworkPolicies, allowances for monitoring and DNS, and per-application rules over
    pod selectors further down."""

    def __init__(self, docs: Sequence[Obj], count: int, seed: int) -> None:
        self.rng = random.Random(seed * 1_000_003 + count)
        self.count = count
        self.namespaces, self.pods = _selectors_of(docs)
        self.teams = sorted(
            {ns["metadata"].get("labels", {}).get("team", "") for ns in self.namespaces} - {""}
        )

    def namespace_selector(self, broad: bool = True) -> Obj:
        """`broad`: may select every namespace (`{}`); an Allow rule's peers are not,
        since an admin Allow of everything overrides every NetworkPolicy (SEG-04's
        finding, not a guardrail platform teams write)."""
        rng = self.rng
        shape = rng.randrange(6 if broad else 5)
        if shape == 0 and self.teams:
            return _match_labels({"team": rng.choice(self.teams)})
        if shape == 1:
            return _match_labels({"env": rng.choice(ENVS)})
        if shape == 2:
            return {"matchExpressions": [{"key": PCI_LABEL, "operator": "Exists"}]}
        if shape == 3:
            return {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}
        if shape == 4:
            ns = rng.choice(self.namespaces)
            return _match_labels({META_NAME: ns["metadata"]["name"]})
        return {}

    def pod_peer(self) -> Obj:
        ns, labels = self.rng.choice(self.pods)
        key = self.rng.choice(sorted(labels))
        return {
            "namespaceSelector": _match_labels({META_NAME: ns}),
            "podSelector": _match_labels({key: labels[key]}),
        }

    def subject(self) -> Obj:
        if self.pods and self.chance(0.35):
            return {"pods": self.pod_peer()}
        return {"namespaces": self.namespace_selector()}

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def ports(self) -> list[Obj] | None:
        rng = self.rng
        shape = rng.randrange(5)
        if shape == 0:
            return None  # every port
        if shape == 1:
            port = rng.choice((80, 443, 5432, 6379, 8080, 9090, 9092))
            return [{"portNumber": {"protocol": "TCP", "port": port}}]
        if shape == 2:
            start = rng.choice((1024, 8000, 30000))
            return [{"portRange": {"protocol": "TCP", "start": start, "end": start + 999}}]
        if shape == 3:
            return [{"namedPort": rng.choice(("http", "metrics", "grpc"))}]
        return [
            {"portNumber": {"protocol": "UDP", "port": 53}},
            {"portNumber": {"protocol": "TCP", "port": 53}},
        ]

    def peers(self, egress: bool, broad: bool = True) -> list[Obj]:
        """`broad`: may hold a `networks` peer or every namespace (Deny and Pass rules);
        Allow rules name namespaces or pods, as platform allowances do."""
        out: list[Obj] = []
        for _ in range(self.rng.choice((1, 1, 2, 3))):
            if egress and broad and self.chance(0.15):
                cidr = self.rng.choice(("10.0.0.0/8", "0.0.0.0/0", METADATA_V4))
                out.append({"networks": [cidr]})
            elif self.pods and self.chance(0.4):
                out.append({"pods": self.pod_peer()})
            else:
                out.append({"namespaces": self.namespace_selector(broad)})
        return out

    def rule(self, egress: bool, index: int) -> Obj:
        action = self.rng.choices([a for a, _ in ADMIN_ACTIONS], [w for _, w in ADMIN_ACTIONS])[0]
        peers = self.peers(egress, broad=action != "Allow")
        rule: Obj = {"name": f"{action.lower()}-{index}", "action": action}
        rule["to" if egress else "from"] = peers
        ports = self.ports()
        if ports is None and action == "Allow":  # allowances name their ports
            ports = [{"portNumber": {"protocol": "TCP", "port": self.rng.choice((443, 9090))}}]
        if ports is not None and not (
            any("networks" in p for p in peers) and any("namedPort" in q for q in ports)
        ):  # the API refuses a named port with a networks peer
            rule["ports"] = ports
        return rule

    def policies(self) -> list[Obj]:
        priorities = sorted(self.rng.sample(range(1, 1000), self.count))
        docs = []
        for i, priority in enumerate(priorities):
            spec: Obj = {"priority": priority, "subject": self.subject()}
            directions = self.rng.choice(("ingress", "egress", "both", "ingress"))
            if directions in ("ingress", "both"):
                n = self.rng.randint(1, 4)
                spec["ingress"] = [self.rule(False, j) for j in range(n)]
            if directions in ("egress", "both"):
                n = self.rng.randint(1, 4)
                spec["egress"] = [self.rule(True, j) for j in range(n)]
            docs.append(
                {
                    "apiVersion": ANP_API,
                    "kind": "AdminNetworkPolicy",
                    "metadata": {"name": f"guardrail-{i:03d}-p{priority}"},
                    "spec": spec,
                }
            )
        docs.append(self.baseline())
        return docs

    def baseline(self) -> Obj:
        """The BANP: default deny for non-production namespaces, after DNS."""
        dns = {
            "namespaceSelector": _match_labels({META_NAME: KUBE_SYSTEM}),
            "podSelector": _match_labels(KUBE_DNS_LABELS),
        }
        return {
            "apiVersion": ANP_API,
            "kind": "BaselineAdminNetworkPolicy",
            "metadata": {"name": "default"},
            "spec": {
                "subject": {
                    "namespaces": {
                        "matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]
                    }
                },
                "ingress": [{"name": "deny-all", "action": "Deny", "from": [{"namespaces": {}}]}],
                "egress": [
                    {
                        "name": "allow-dns",
                        "action": "Allow",
                        "to": [{"pods": dns}],
                        "ports": [
                            {"portNumber": {"protocol": "UDP", "port": 53}},
                            {"portNumber": {"protocol": "TCP", "port": 53}},
                        ],
                    },
                    {"name": "deny-all", "action": "Deny", "to": [{"namespaces": {}}]},
                ],
            },
        }


def admin_policies(docs: Sequence[Obj], count: int, seed: int = 7) -> list[Obj]:
    """`count` AdminNetworkPolicies over the namespaces and workloads of `docs` (distinct
    priorities from 1 to 999; Allow, Deny and Pass rules over namespace and pod selectors,
    a few `networks` peers on Deny and Pass rules, port numbers, ranges and named ports;
    Allow rules name their peers and ports) plus the
    BaselineAdminNetworkPolicy `default`; none when `count` is 0. Deterministic in
    (docs, count, seed), and drawn from its own random stream, so `generate` gives the same
    cluster with or without them."""
    if count <= 0:
        return []
    if count > 999:
        raise ValueError("at most 999 AdminNetworkPolicies (distinct priorities 1..999)")
    return _AdminGenerator(docs, count, seed).policies()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a deterministic synthetic Kubernetes cluster export (multi-doc YAML)."
    )
    parser.add_argument("--workloads", type=int, required=True, help="number of workloads (>= 3)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument("--out", type=Path, help="output file (default: standard output)")
    parser.add_argument(
        "--allowlist",
        action="store_true",
        help="instead: one workload selected by WORKLOADS allowlist policies (own /32 each)",
    )
    parser.add_argument(
        "--admin-policies",
        type=int,
        default=0,
        metavar="N",
        help="also N AdminNetworkPolicies and the BaselineAdminNetworkPolicy default "
        "(default: 0, none)",
    )
    args = parser.parse_args(argv)
    if args.workloads < 3:
        parser.error("--workloads must be at least 3")
    if not 0 <= args.admin_policies <= 999:
        parser.error("--admin-policies must be from 0 to 999")
    docs = allowlist(args.workloads) if args.allowlist else generate(args.workloads, args.seed)
    docs += admin_policies(docs, args.admin_policies, args.seed)
    if args.out is None:
        dump(docs, sys.stdout)
        return 0
    write(docs, args.out)
    counts = count_objects(docs)
    print(
        f"{args.out}: {counts['workloads']} workloads, {counts.get('NetworkPolicy', 0)} "
        f"NetworkPolicies, {counts.get('AdminNetworkPolicy', 0)} AdminNetworkPolicies, "
        f"{counts.get('Namespace', 0)} namespaces, "
        f"{args.out.stat().st_size / 1e6:.2f} MB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
