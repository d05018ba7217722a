"""The claims of samples/README.md's guardrail section, as data, checked against the engine.

Each row is one connection: (source, destination, protocol, port, allowed on the shop
alone, allowed with samples/guardrails added). A source or destination is a workload
(`namespace/name`) or an address outside the cluster. The "before" column is checked
against today's engine on samples/shop-cluster; the "after" column against
`compliance flows samples/shop-cluster samples/guardrails --format json`, which needs the
engine to model AdminNetworkPolicy and BaselineAdminNetworkPolicy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compliance.load import load_paths
from compliance.model import build_cluster
from tests.helpers import Result

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "samples" / "shop-cluster"
GUARDRAILS = ROOT / "samples" / "guardrails"

DP = "analytics/data-pipeline"
NGINX = "ingress-nginx/ingress-nginx-controller"
APP = "production/app"
COREDNS = "kube-system/coredns"
CALICO = "kube-system/calico-node"
NODE_EXPORTER = "monitoring/node-exporter"
PROMETHEUS = "monitoring/prometheus"
LOGGING = "shared-services/logging"
INTERNET = "203.0.113.10"
METADATA = "169.254.169.254"

CLAIMS: list[tuple[str, str, str, int, bool, bool]] = [
    # cde-guardrail (ANP, priority 10): Deny from every other namespace into production.
    (DP, "production/kafka", "TCP", 9092, True, False),
    # cde-app-tier (ANP, priority 9): Pass hands ingress-nginx -> app:8080 to NetworkPolicy.
    (NGINX, APP, "TCP", 8080, True, True),
    (NGINX, APP, "TCP", 9102, False, False),
    (NGINX, "production/postgres", "TCP", 5432, False, False),
    # BANP default, egress of analytics/data-pipeline (no NetworkPolicy selects it).
    (DP, DP, "TCP", 8080, True, False),
    (DP, COREDNS, "UDP", 53, True, True),
    (DP, COREDNS, "TCP", 53, True, True),
    (DP, COREDNS, "TCP", 9153, True, False),
    (DP, LOGGING, "TCP", 24224, True, True),
    (DP, LOGGING, "TCP", 443, True, False),
    (DP, PROMETHEUS, "TCP", 9090, True, False),
    (DP, CALICO, "TCP", 179, True, False),
    (DP, NODE_EXPORTER, "TCP", 9100, True, False),
    (DP, INTERNET, "TCP", 443, True, False),
    (DP, METADATA, "TCP", 80, True, False),
    # BANP default, ingress of analytics/data-pipeline: denied from every pod ...
    (NGINX, DP, "TCP", 8080, True, False),
    (NGINX, DP, "TCP", 5432, True, False),
    (COREDNS, DP, "UDP", 53, True, False),
    (PROMETHEUS, DP, "TCP", 9100, True, False),
    (APP, DP, "TCP", 443, True, False),
    (LOGGING, DP, "TCP", 8080, True, False),
    # ... but not from host-network pods or outside addresses, which its peers cannot name.
    (CALICO, DP, "TCP", 8080, True, True),
    (NODE_EXPORTER, DP, "TCP", 8080, True, True),
    (INTERNET, DP, "TCP", 8080, True, True),
    # Unchanged: NetworkPolicy-isolated workloads and the namespaces the baseline leaves out.
    (APP, "production/postgres", "TCP", 5432, True, True),
    (APP, LOGGING, "TCP", 24224, True, True),
    (APP, LOGGING, "TCP", 443, True, True),
    (APP, COREDNS, "UDP", 53, True, True),
    ("production/postgres-backup", INTERNET, "TCP", 443, True, True),
    ("production/debug-shell", APP, "TCP", 8080, False, False),
    (NGINX, LOGGING, "TCP", 8080, True, True),
    (PROMETHEUS, COREDNS, "TCP", 9100, True, True),
    (LOGGING, COREDNS, "TCP", 443, True, True),
    (LOGGING, INTERNET, "TCP", 443, True, True),
    (INTERNET, NGINX, "TCP", 443, True, True),
]

NAMED_CLAIMS: list[tuple[str, tuple[str, ...], str, str]] = [
    # cde-processor (ANP, priority 20): Allow to domainNames, listed apart, never resolved.
    (APP, ("api.payments.example",), "TCP 443", "anp/cde-processor egress[allow-processor]"),
]
"""The table's named-destination rows: (source, names, ports, deciding rule) after the
guardrails; the shop alone has none."""


def _end_matches(end: dict[str, Any], name: str) -> bool:
    if "workload" in end:
        return bool(end["workload"] == name)
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(c) for c in end["cidrs"])


def _allows(connections: Any, protocol: str, port: int) -> bool:
    if connections == "all":
        return True
    return any(
        c["protocol"] == protocol and any(lo <= port <= hi for lo, hi in c["ports"])
        for c in connections
    )


def allowed(flows: list[dict[str, Any]], src: str, dst: str, protocol: str, port: int) -> bool:
    """Whether the flows JSON allows src -> dst on protocol/port."""
    return any(
        _end_matches(f["src"], src)
        and _end_matches(f["dst"], dst)
        and _allows(f["connections"], protocol, port)
        for f in flows
    )


def _flows(compliance: Callable[..., Result], *paths: Path) -> list[dict[str, Any]]:
    res = compliance("flows", *paths, "--format", "json")
    assert res.code == 0, res.err
    flows: list[dict[str, Any]] = res.json()["flows"]
    return flows


def _wrong(flows: list[dict[str, Any]], column: int) -> list[str]:
    return [
        f"{row[0]} -> {row[1]} {row[2]} {row[3]}: expected {'allowed' if row[column] else 'denied'}"
        for row in CLAIMS
        if allowed(flows, row[0], row[1], row[2], row[3]) != row[column]
    ]


def test_the_claims_name_real_workloads() -> None:
    """A renamed workload would make a "denied" claim hold vacuously."""
    workloads = {w.ref.id for w in build_cluster(load_paths([str(SHOP)]).objects).workloads}
    for src, dst, *_ in CLAIMS:
        for end in (src, dst):
            if "/" in end:
                assert end in workloads, end


def test_before_the_guardrails_the_shop_allows_what_the_table_says(
    compliance: Callable[..., Result],
) -> None:
    assert _wrong(_flows(compliance, SHOP), 4) == []


def test_with_the_guardrails_the_flows_are_what_the_table_says(
    compliance: Callable[..., Result],
) -> None:
    assert _wrong(_flows(compliance, SHOP, GUARDRAILS), 5) == []


def test_the_guardrails_are_admin_policies_only() -> None:
    """The folder adds policies and nothing else, so it can be passed beside any export
    of the shop: no Namespace or workload is defined twice."""
    import yaml

    kinds = set()
    for path in sorted(GUARDRAILS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            items = doc["items"] if doc["kind"] == "List" else [doc]
            for item in items:
                assert item["apiVersion"] == "policy.networking.k8s.io/v1alpha1", path
                assert "namespace" not in item["metadata"], path  # cluster-scoped
                kinds.add(item["kind"])
                if item["kind"] == "BaselineAdminNetworkPolicy":
                    assert item["metadata"]["name"] == "default"
                else:
                    assert 0 <= item["spec"]["priority"] <= 1000
    assert kinds == {"AdminNetworkPolicy", "BaselineAdminNetworkPolicy"}


def _named(compliance: Callable[..., Result], *paths: Path) -> list[tuple[str, ...]]:
    res = compliance("flows", *paths, "--format", "txt", "--show-rules")
    assert res.code == 0, res.err
    return [tuple(line.split(" => ")) for line in res.out.splitlines() if " => name:" in line]


def test_the_named_destination_rows_are_what_the_table_says(
    compliance: Callable[..., Result],
) -> None:
    assert _named(compliance, SHOP) == []
    want = [
        (
            f"{src}[Deployment]",
            f"name:{', '.join(names)} : {ports}  [egress: {rule}; ingress: outside the cluster]",
        )
        for src, names, ports, rule in NAMED_CLAIMS
    ]
    assert _named(compliance, SHOP, GUARDRAILS) == want
    res = compliance("flows", SHOP, GUARDRAILS, "--format", "json")
    assert [
        (f["src"]["workload"], tuple(f["dst"]["names"])) for f in res.json()["named_flows"]
    ] == [(src, names) for src, names, *_ in NAMED_CLAIMS]
