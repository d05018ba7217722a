"""Every check, on inline clusters: a case where it passes and cases where it fails.

The base cluster is a small payments service: `pay/api` behind a public gateway
`edge/gw`, its database `pay/db`, cluster DNS, and an out-of-scope `other/tool`.
`SECURE` isolates it properly; each test adds the one mistake the check is for.
"""

from __future__ import annotations

import pytest

from compliance.checks import CHECKS
from tests.helpers import namespace, pod, policy, run_check

NAMESPACES = (
    namespace("pay", {"team": "payments"})
    + namespace("edge", {"tier": "public"})
    + namespace("other", {"team": "data"})
    + namespace("kube-system")
)
API = pod("api", "pay", {"app": "api"}, "https:8443/TCP")
DB = pod("db", "pay", {"app": "db"}, "pg:5432/TCP")
GW = pod("gw", "edge", {"app": "gw"}, "https:443/TCP")
TOOL = pod("tool", "other", {"app": "tool"}, "8000/TCP")
DNS = pod("coredns", "kube-system", {"k8s-app": "kube-dns"}, "dns:53/UDP,dnstcp:53/TCP")


def daemonset(name: str, ns: str, labels: dict[str, str], host_network: bool = False) -> str:
    label_text = ", ".join(f"{k}: {v}" for k, v in labels.items())
    return (
        f"---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: {name}, namespace: {ns}}}\n"
        f"spec:\n  selector: {{matchLabels: {{{label_text}}}}}\n  template:\n"
        f"    metadata: {{labels: {{{label_text}}}}}\n"
        f"    spec:\n      hostNetwork: {str(host_network).lower()}\n"
        "      containers: [{name: agent, image: agent}]\n"
    )


# The CNI agent, found by its DaemonSet; not hostNetwork here so it stays out of the flows.
CALICO = daemonset("calico-node", "kube-system", {"k8s-app": "calico-node"})
BASE = NAMESPACES + API + DB + GW + TOOL + DNS + CALICO

DENY_ALL = policy("default-deny", "pay", "podSelector: {}\npolicyTypes: [Ingress, Egress]")
EDGE_DENY = policy("default-deny", "edge", "podSelector: {}\npolicyTypes: [Ingress, Egress]")
ALLOW = (
    policy(
        "api",
        "pay",
        """
        podSelector: {matchLabels: {app: api}}
        policyTypes: [Ingress, Egress]
        ingress:
        - from:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: edge}}
            podSelector: {matchLabels: {app: gw}}
          ports: [{port: 8443}]
        egress:
        - to: [{podSelector: {matchLabels: {app: db}}}]
          ports: [{port: 5432}]
        - to:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
            podSelector: {matchLabels: {k8s-app: kube-dns}}
          ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
        """,
    )
    + policy(
        "db",
        "pay",
        """
        podSelector: {matchLabels: {app: db}}
        policyTypes: [Ingress]
        ingress:
        - from: [{podSelector: {matchLabels: {app: api}}}]
          ports: [{port: pg}]
        """,
    )
    + policy(
        "gw",
        "edge",
        """
        podSelector: {matchLabels: {app: gw}}
        policyTypes: [Ingress, Egress]
        ingress:
        - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
          ports: [{port: 443}]
        egress:
        - to:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}
            podSelector: {matchLabels: {app: api}}
          ports: [{port: 8443}]
        """,
    )
)
DNS_POLICY = policy(
    "coredns",
    "kube-system",
    """
    podSelector: {matchLabels: {k8s-app: kube-dns}}
    policyTypes: [Ingress, Egress]
    ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}}]
      ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
    """,
)
SECURE = BASE + DENY_ALL + EDGE_DENY + ALLOW + DNS_POLICY

ZONES = """
cluster: test
zones:
  - name: cde
    role: cde
    frameworks: [fw]
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}
  - name: data
    role: datastore
    frameworks: [fw]
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}
        podSelector: {matchLabels: {app: db}}
  - name: edge
    role: public
    frameworks: [fw]
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: edge}}
  - name: dns
    role: connected
    frameworks: [fw]
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
        podSelector: {matchLabels: {k8s-app: kube-dns}}
"""
REGISTER = """
approved_flows:
  - id: AF-1
    from: {cidrs: [0.0.0.0/0]}
    to: {zone: edge}
    ports: [{protocol: TCP, port: 443}]
    justification: customers
    owner: web
    ticket: T-1
    expires: 2027-06-30
  - id: AF-2
    from: {zone: cde}
    to: {workload: kube-system/coredns}
    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
    justification: dns
    owner: platform
    ticket: T-2
    expires: 2027-06-30
  - id: AF-4
    from: {zone: edge}
    to: {workload: pay/api}
    ports: [{protocol: TCP, port: 8443}]
    justification: the gateway forwards requests
    owner: web
    ticket: T-4
    expires: 2027-06-30
  - id: AF-5
    from: {workload: pay/api}
    to: {zone: data}
    ports: [{protocol: TCP, port: 5432}]
    justification: the API reads and writes the database
    owner: payments
    ticket: T-5
    expires: 2027-06-30
"""
REGISTER = REGISTER.replace(
    "    expires: 2027-06-30\n", "    approved_by: CISO\n    expires: 2027-06-30\n"
)
SCOPE = ZONES + REGISTER


def statuses(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.status for f in result.findings]


def messages(result) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(f.finding.message for f in result.findings)


def workloads(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.finding.workload.id for f in result.findings if f.finding.workload}


# --------------------------------------------------------------------------- the catalog


def test_every_check_has_a_title_and_documentation() -> None:
    for spec in CHECKS.values():
        assert spec.title
        assert len(spec.description.split()) > 15, spec.id


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_check_is_not_applicable_when_nothing_is_in_scope(check_id: str) -> None:
    empty = "cluster: t\nzones:\n  - {name: z, role: cde, frameworks: [other-fw]}\n"
    result = run_check(SECURE, empty, check_id)
    expected = {"SEG-01": "pass"}.get(check_id, "not_applicable")
    assert result.status == expected


@pytest.mark.parametrize("check_id", sorted(set(CHECKS) - {"SEG-25"}))
def test_secure_cluster_has_no_failures(check_id: str) -> None:
    result = run_check(SECURE, SCOPE, check_id)
    assert result.status in ("pass", "not_applicable"), messages(result)


# --------------------------------------------------------------------------- SEG-01


def test_seg01_calico_is_capability_never_plain_enforced() -> None:
    result = run_check(SECURE, SCOPE, "SEG-01")
    assert result.status == "pass"
    assert result.enforcement == "CNI present (Calico); enforcement not proven"
    assert "Calico" in result.summary
    assert "not proven" in result.summary


def test_seg01_flannel_alone_fails_and_qualifies_every_result() -> None:
    flannel = daemonset("kube-flannel-ds", "kube-system", {"app": "flannel"}, host_network=True)
    cluster = NAMESPACES + API + DB + GW + TOOL + DNS + flannel + DENY_ALL + EDGE_DENY + ALLOW
    result = run_check(cluster, SCOPE, "SEG-01")
    assert result.status == "fail"
    assert "flannel does not enforce" in messages(result)
    other = run_check(cluster, SCOPE, "SEG-02")
    assert other.enforcement == "configured, not proven enforced"


def test_seg01_no_cni_in_export_is_unknown() -> None:
    cluster = NAMESPACES + API + DB + GW + DNS + DENY_ALL + EDGE_DENY + ALLOW
    result = run_check(cluster, SCOPE, "SEG-01")
    assert result.status == "unknown"
    assert result.enforcement == "configured, not proven enforced"
    assert "no known CNI agent" in messages(result)


def test_seg01_only_daemonsets_count_as_cni_agents() -> None:
    impostor = pod("cilium", "pay", {"app": "cilium"})
    cluster = NAMESPACES + API + DB + GW + DNS + impostor + DENY_ALL + EDGE_DENY + ALLOW
    assert run_check(cluster, SCOPE, "SEG-01").status == "unknown"


def test_seg01_aws_vpc_cni_is_unknown() -> None:
    aws = daemonset("aws-node", "kube-system", {"k8s-app": "aws-node"}, host_network=True)
    result = run_check(NAMESPACES + API + aws + DENY_ALL, SCOPE, "SEG-01")
    assert result.status == "unknown"
    assert "enableNetworkPolicy" in messages(result)


# --------------------------------------------------------------------------- SEG-02, SEG-03


def test_seg02_fails_for_each_workload_without_ingress_isolation() -> None:
    only_egress = policy("deny-egress", "pay", "podSelector: {}\npolicyTypes: [Egress]")
    result = run_check(BASE + only_egress, ZONES, "SEG-02")
    assert result.status == "fail"
    assert workloads(result) == {"pay/api", "pay/db", "edge/gw", "kube-system/coredns"}
    assert "no NetworkPolicy with Ingress" in messages(result)
    remediation = result.findings[0].finding.remediation
    assert "kind: NetworkPolicy" in remediation and "policyTypes: [Ingress]" in remediation


def test_seg03_egress_is_open_when_policy_types_are_omitted_without_egress_rules() -> None:
    ingress_only = policy("deny", "pay", "podSelector: {}")  # policyTypes defaults to [Ingress]
    gw = policy("deny", "edge", "podSelector: {}\npolicyTypes: [Ingress, Egress]")
    result = run_check(BASE + ingress_only + gw, ZONES, "SEG-03")
    assert result.status == "fail"
    assert workloads(result) == {"pay/api", "pay/db", "kube-system/coredns"}
    ingress = run_check(BASE + ingress_only + gw + DNS_POLICY, ZONES, "SEG-02")
    assert ingress.status == "pass"


def test_seg02_host_network_is_never_isolated() -> None:
    agent = pod("agent", "pay", {"app": "agent"}, host_network=True)
    result = run_check(SECURE + agent, SCOPE, "SEG-02")
    assert result.status == "fail"
    assert workloads(result) == {"pay/agent"}
    assert "host network" in messages(result)


# --------------------------------------------------------------------------- SEG-04


def test_seg04_empty_ingress_rule_undoes_default_deny() -> None:
    allow_all = policy("allow-all", "pay", "podSelector: {matchLabels: {app: db}}\ningress:\n- {}")
    result = run_check(SECURE + allow_all, SCOPE, "SEG-04")
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.finding.workload is not None and finding.finding.workload.id == "pay/db"
    assert finding.finding.policies == ("pay/allow-all ingress[0]",)
    assert "inside and outside the cluster" in finding.finding.message


def test_seg04_all_pods_all_ports_egress_is_allow_all() -> None:
    wide = policy(
        "wide",
        "pay",
        "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Egress]\n"
        "egress:\n- to: [{namespaceSelector: {}}]",
    )
    result = run_check(SECURE + wide, SCOPE, "SEG-04")
    assert result.status == "fail"
    assert "every pod of the cluster" in messages(result)


def test_seg04_rule_with_ports_is_not_allow_all() -> None:
    narrow = policy(
        "narrow",
        "pay",
        "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Egress]\n"
        "egress:\n- ports: [{port: 443}]",
    )
    assert run_check(SECURE + narrow, SCOPE, "SEG-04").status == "pass"


# --------------------------------------------------------------------------- SEG-05


def test_seg05_host_network_and_host_port_in_scope_fail() -> None:
    agent = pod("agent", "pay", {"app": "agent"}, host_network=True)
    hostport = (
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: proxy, namespace: pay, "
        "labels: {app: proxy}}\nspec:\n  containers:\n  - name: c\n    image: envoy\n"
        "    ports:\n    - {containerPort: 8443, hostPort: 443}\n"
    )
    result = run_check(SECURE + agent + hostport, SCOPE, "SEG-05")
    assert result.status == "fail"
    assert workloads(result) == {"pay/agent", "pay/proxy"}
    assert "TCP 8443 as hostPort 443" in messages(result)


def test_seg05_host_network_outside_scope_is_not_a_finding() -> None:
    # calico-node is hostNetwork but out of scope
    assert run_check(SECURE, SCOPE, "SEG-05").status == "pass"


def test_seg05_waiver_turns_the_finding_into_waived() -> None:
    agent = pod("agent", "pay", {"app": "agent"}, host_network=True)
    waiver = """
waivers:
  - id: W-1
    check: SEG-05
    workload: pay/agent
    reason: node agent
    owner: sre
    approved_by: ciso
    compensating_control: host firewall
    expires: 2027-01-31
"""
    result = run_check(SECURE + agent, SCOPE + waiver, "SEG-05")
    assert result.status == "waived"
    assert [f.waived_by for f in result.findings] == ["W-1"]
    # expired at a later as-of: the finding fails again
    later = run_check(SECURE + agent, SCOPE + waiver, "SEG-05", as_of="2027-02-01T00:00:00+00:00")
    assert later.status == "fail"


# --------------------------------------------------------------------------- SEG-06


def test_seg06_internet_to_a_non_public_workload_fails() -> None:
    open_api = policy(
        "api-public",
        "pay",
        "podSelector: {matchLabels: {app: api}}\ningress:\n"
        "- from: [{ipBlock: {cidr: 0.0.0.0/0}}]\n  ports: [{port: 8443}]",
    )
    result = run_check(SECURE + open_api, SCOPE, "SEG-06")
    assert result.status == "fail"
    assert workloads(result) == {"pay/api"}
    assert "not in a public-tier zone" in messages(result)


def test_seg06_private_sources_are_not_the_internet() -> None:
    vpn = policy(
        "api-vpn",
        "pay",
        "podSelector: {matchLabels: {app: api}}\ningress:\n"
        "- from: [{ipBlock: {cidr: 10.8.0.0/16}}]\n  ports: [{port: 8443}]",
    )
    assert run_check(SECURE + vpn, SCOPE, "SEG-06").status == "pass"


def test_seg06_public_tier_port_outside_the_register_fails() -> None:
    http = policy(
        "gw-http",
        "edge",
        "podSelector: {matchLabels: {app: gw}}\ningress:\n"
        "- from: [{ipBlock: {cidr: 0.0.0.0/0}}]\n  ports: [{port: 80}]",
    )
    result = run_check(SECURE + http, SCOPE, "SEG-06")
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.finding.ports == "TCP 80"
    assert "every public IPv4 address" in finding.finding.message


# --------------------------------------------------------------------------- SEG-07


def test_seg07_out_of_scope_workload_reaching_the_data_store_fails() -> None:
    tool_in = policy(
        "db-tool",
        "pay",
        "podSelector: {matchLabels: {app: db}}\ningress:\n"
        "- from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}]\n"
        "  ports: [{port: 5432}]",
    )
    result = run_check(SECURE + tool_in, SCOPE, "SEG-07")
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.finding.peer == "other/tool[Pod]"
    assert "out of scope" in finding.finding.message


def test_seg07_public_tier_reaching_the_data_store_fails() -> None:
    gw_in = policy(
        "db-gw",
        "pay",
        "podSelector: {matchLabels: {app: db}}\ningress:\n"
        "- from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: edge}}}]",
    )
    gw_out = policy("gw-db", "edge", "podSelector: {}\npolicyTypes: [Egress]\negress:\n- {}")
    result = run_check(SECURE + gw_in + gw_out, SCOPE, "SEG-07")
    assert result.status == "fail"
    assert "public tier" in messages(result)


def test_seg07_without_a_datastore_zone_is_not_applicable() -> None:
    zones = "cluster: t\nzones:\n  - name: cde\n    role: cde\n    frameworks: [fw]\n    selectors: [{namespaceSelector: {}}]\n"
    assert run_check(SECURE, zones, "SEG-07").status == "not_applicable"


# --------------------------------------------------------------------------- SEG-08


def _egress(cidr: str, excepts: str = "") -> str:
    block = f"{{cidr: {cidr}{', except: [' + excepts + ']' if excepts else ''}}}"
    return policy(
        "api-out",
        "pay",
        "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Egress]\negress:\n"
        f"- to: [{{ipBlock: {block}}}]\n  ports: [{{port: 443}}]",
    )


def test_seg08_whole_internet_egress_fails() -> None:
    result = run_check(SECURE + _egress("0.0.0.0/0"), SCOPE, "SEG-08")
    assert result.status == "fail"
    (finding,) = result.findings
    assert "every public IPv4 address" in finding.finding.message
    assert finding.finding.ports == "TCP 443"


def test_seg08_registered_destination_passes_and_the_rest_fails() -> None:
    register = """
  - id: AF-3
    from: {workload: pay/api}
    to: {cidrs: [203.0.113.0/24, 198.51.100.7/32]}
    ports: [{protocol: TCP, port: 443}]
    justification: card processor
    owner: payments
    ticket: T-3
    expires: 2027-06-30
"""
    ok = run_check(SECURE + _egress("198.51.100.0/24"), SCOPE + register, "SEG-08")
    # 198.51.100.0/24 is documentation space, not public: nothing to find
    assert ok.status == "pass"
    wider = run_check(SECURE + _egress("52.0.0.0/8"), SCOPE + register, "SEG-08")
    assert wider.status == "fail"
    approved = run_check(
        SECURE + _egress("52.1.2.0/24"),
        SCOPE + register.replace("203.0.113.0/24", "52.1.2.0/24"),
        "SEG-08",
    )
    assert approved.status == "pass"


def test_seg08_expired_register_entry_no_longer_covers() -> None:
    register = """
  - id: AF-3
    from: {workload: pay/api}
    to: {cidrs: [52.1.2.0/24]}
    ports: [{protocol: TCP, port: 443}]
    justification: card processor
    owner: payments
    ticket: T-3
    expires: 2026-11-25
"""
    result = run_check(SECURE + _egress("52.1.2.0/24"), SCOPE + register, "SEG-08")
    assert result.status == "fail"
    same_day = run_check(
        SECURE + _egress("52.1.2.0/24"),
        SCOPE + register,
        "SEG-08",
        as_of="2026-11-25T23:59:00+00:00",
    )
    assert same_day.status == "pass"


# --------------------------------------------------------------------------- SEG-11


def test_seg11_unregistered_scope_crossing_flow_fails_with_a_register_snippet() -> None:
    tool_in = policy(
        "api-tool",
        "pay",
        "podSelector: {matchLabels: {app: api}}\ningress:\n"
        "- from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}]\n"
        "  ports: [{port: 8443}]",
    )
    result = run_check(SECURE + tool_in, SCOPE, "SEG-11")
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.finding.direction == "ingress"
    assert finding.finding.peer == "other/tool[Pod]"
    assert finding.finding.policies == (
        "egress: not isolated (no policy selects it)",
        "pay/api-tool ingress[0]",
    )
    assert "from: {workload: other/tool}" in finding.finding.remediation
    assert "{protocol: TCP, port: 8443}" in finding.finding.remediation


def test_seg11_registered_flows_pass_and_partial_cover_reports_the_rest() -> None:
    tool_in = policy(
        "api-tool",
        "pay",
        "podSelector: {matchLabels: {app: api}}\ningress:\n"
        "- from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}]\n"
        "  ports: [{port: 8443}, {port: 9090}]",
    )
    entry = """
  - from: {namespace: other}
    to: {zone: cde}
    ports: [{protocol: TCP, port: 8443}]
    justification: batch
    owner: data
    ticket: T-9
    expires: 2027-01-01
"""
    result = run_check(
        SECURE + tool_in + pod("api2", "pay", {"app": "api"}, "9090/TCP"), SCOPE + entry, "SEG-11"
    )
    assert result.status == "fail"
    assert {f.finding.ports for f in result.findings} == {"TCP 9090"}


def test_seg11_external_egress_is_split_by_address() -> None:
    register = """
  - id: AF-3
    from: {workload: pay/api}
    to: {cidrs: [52.1.2.0/24]}
    ports: [{protocol: TCP, port: 443}]
    justification: processor
    owner: payments
    ticket: T-3
    expires: 2027-06-30
"""
    result = run_check(SECURE + _egress("52.1.0.0/16"), SCOPE + register, "SEG-11")
    assert result.status == "fail"
    peers = {f.finding.peer for f in result.findings}
    assert peers == {"52.1.0.0/16 except 52.1.2.0/24"}


def test_seg11_expired_entry_is_named() -> None:
    register = """
  - id: AF-3
    from: {workload: pay/api}
    to: {cidrs: [52.1.2.0/24]}
    ports: [{protocol: TCP, port: 443}]
    justification: processor
    owner: payments
    ticket: CHG-77
    expires: 2026-01-31
"""
    result = run_check(SECURE + _egress("52.1.2.0/24"), SCOPE + register, "SEG-11")
    assert "AF-3 (CHG-77) expired on 2026-01-31" in messages(result)


# --------------------------------------------------------------------------- SEG-12


@pytest.mark.parametrize(
    ("peer", "fragment"),
    [
        ("{namespaceSelector: {}}", "every pod of every namespace"),
        ("{ipBlock: {cidr: 10.0.0.0/8}}", "wider than /16"),
        (
            "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}",
            "including out-of-scope other/tool[Pod]",
        ),
    ],
)
def test_seg12_wildcard_sources_fail(peer: str, fragment: str) -> None:
    wide = policy(
        "api-wide",
        "pay",
        f"podSelector: {{matchLabels: {{app: api}}}}\ningress:\n- from: [{peer}]\n  ports: [{{port: 8443}}]",
    )
    result = run_check(SECURE + wide, SCOPE, "SEG-12")
    assert result.status == "fail"
    assert fragment in messages(result)


def test_seg12_rule_without_from_fails_and_narrow_peers_pass() -> None:
    anyone = policy(
        "api-any",
        "pay",
        "podSelector: {matchLabels: {app: api}}\ningress:\n- ports: [{port: 8443}]",
    )
    assert "any source" in messages(run_check(SECURE + anyone, SCOPE, "SEG-12"))
    narrow = policy(
        "api-narrow",
        "pay",
        "podSelector: {matchLabels: {app: api}}\ningress:\n- from: [{ipBlock: {cidr: 10.1.2.0/24}}]",
    )
    assert run_check(SECURE + narrow, SCOPE, "SEG-12").status == "pass"


def test_seg12_prefix_limit_is_a_parameter() -> None:
    block = policy(
        "api-b",
        "pay",
        "podSelector: {matchLabels: {app: api}}\ningress:\n- from: [{ipBlock: {cidr: 10.1.0.0/20}}]",
    )
    assert run_check(SECURE + block, SCOPE, "SEG-12").status == "pass"
    strict = SCOPE + "parameters:\n  max_source_prefix: {ipv4: 24}\n"
    assert run_check(SECURE + block, strict, "SEG-12").status == "fail"


# --------------------------------------------------------------------------- SEG-13


def test_seg13_all_ports_and_wide_ranges_fail() -> None:
    all_ports = policy(
        "api-db-all",
        "pay",
        "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Egress]\n"
        "egress:\n- to: [{ipBlock: {cidr: 10.0.0.0/24}}]",
    )
    result = run_check(SECURE + all_ports, SCOPE, "SEG-13")
    assert result.status == "fail"
    assert "every port of every protocol" in messages(result)
    ranged = policy(
        "api-range",
        "pay",
        "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Egress]\n"
        "egress:\n- to: [{ipBlock: {cidr: 10.0.0.0/24}}]\n  ports: [{port: 30000, endPort: 32767}]",
    )
    assert "TCP 30000-32767" in messages(run_check(SECURE + ranged, SCOPE, "SEG-13"))
    small = ranged.replace("endPort: 32767", "endPort: 30005")
    assert run_check(SECURE + small, SCOPE, "SEG-13").status == "pass"


# --------------------------------------------------------------------------- SEG-14


def test_seg14_insecure_port_needs_a_security_feature() -> None:
    assert run_check(SECURE, SCOPE, "SEG-14").status == "pass"
    # the api now serves plain HTTP to the gateway: flagged until the register documents mTLS
    http = SECURE.replace("port: 8443", "port: 80").replace("https:8443/TCP", "http:80/TCP")
    flagged = run_check(http, SCOPE, "SEG-14")
    assert flagged.status == "fail"
    assert "HTTP (TCP 80)" in messages(flagged)
    documented = (
        SCOPE
        + """
  - id: AF-9
    from: {zone: edge}
    to: {workload: pay/api}
    ports: [{protocol: TCP, port: 80}]
    justification: storefront
    owner: web
    ticket: T-9
    expires: 2027-06-30
    security_feature: mesh mTLS (STRICT)
"""
    )
    assert run_check(http, documented, "SEG-14").status == "pass"
    undocumented = documented.replace("    security_feature: mesh mTLS (STRICT)\n", "")
    assert run_check(http, undocumented, "SEG-14").status == "fail"


def test_seg14_all_port_flows_name_the_insecure_services() -> None:
    telnet = SCOPE + "parameters:\n  insecure_ports: [{service: Telnet, protocol: TCP, port: 23}]\n"
    open_out = policy(
        "api-out",
        "pay",
        "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Egress]\negress:\n"
        "- to: [{ipBlock: {cidr: 10.0.0.0/24}}]",
    )
    result = run_check(SECURE + open_out, telnet, "SEG-14")
    assert result.status == "fail"
    assert "Telnet (TCP 23)" in messages(result)
    assert "HTTP" not in messages(result)  # the list was replaced


# --------------------------------------------------------------------------- SEG-15


TENANTS = """
cluster: t
zones:
  - {name: tenant-a, role: tenant, frameworks: [fw], selectors: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}}]}
  - {name: tenant-b, role: tenant, frameworks: [fw], selectors: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}]}
  - {name: ops, role: mgmt, frameworks: [fw], selectors: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: edge}}}]}
"""


def test_seg15_cross_tenant_and_mgmt_flows_fail_unless_approved() -> None:
    tool_in = policy(
        "api-tool",
        "pay",
        "podSelector: {matchLabels: {app: api}}\ningress:\n"
        "- from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}]\n"
        "  ports: [{port: 8443}]",
    )
    result = run_check(SECURE + tool_in, TENANTS, "SEG-15")
    assert result.status == "fail"
    text = messages(result)
    assert "crosses tenants tenant-b -> tenant-a" in text
    assert "tenant and the management plane" in text  # edge/gw -> pay/api
    approved = (
        TENANTS
        + """
approved_flows:
  - {from: {zone: tenant-b}, to: {zone: tenant-a}, ports: [{protocol: TCP, port: 8443}], justification: shared api, owner: x, ticket: T, expires: 2027-01-01}
  - {from: {zone: ops}, to: {zone: tenant-a}, justification: admin, owner: x, ticket: T, expires: 2027-01-01}
"""
    )
    assert run_check(SECURE + tool_in, approved, "SEG-15").status == "pass"


def test_seg15_without_tenant_zones_is_not_applicable() -> None:
    assert run_check(SECURE, SCOPE, "SEG-15").status == "not_applicable"


# --------------------------------------------------------------------------- SEG-16


def test_seg16_multi_hop_path_around_the_application_tier() -> None:
    # internet -> gw (public) -> cache (in scope, not the app tier) -> db
    cache = pod("cache", "pay", {"app": "cache"}, "6379/TCP")
    hops = (
        policy(
            "cache",
            "pay",
            """
        podSelector: {matchLabels: {app: cache}}
        policyTypes: [Ingress, Egress]
        ingress:
        - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: edge}}}]
        egress:
        - to: [{podSelector: {matchLabels: {app: db}}}]
        """,
        )
        + policy(
            "db-cache",
            "pay",
            "podSelector: {matchLabels: {app: db}}\ningress:\n- from: [{podSelector: {matchLabels: {app: cache}}}]",
        )
        + policy(
            "gw-cache",
            "edge",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n"
            "- to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}, podSelector: {matchLabels: {app: cache}}}]",
        )
    )
    zones = SCOPE.replace(
        "  - name: edge\n",
        "  - name: app-tier-free\n    role: other\n    frameworks: [fw]\n  - name: edge\n",
    )
    # the cde zone holds cache as well, so make the app tier only `api`
    zones = zones.replace(
        "      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}\n  - name: data",
        "      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}\n"
        "        podSelector: {matchLabels: {app: api}}\n"
        "  - name: inner\n    role: connected\n    frameworks: [fw]\n    selectors:\n"
        "      - podSelector: {matchLabels: {app: cache}}\n  - name: data",
    )
    result = run_check(SECURE + cache + hops, zones, "SEG-16")
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.finding.message.endswith(
        "the internet -> edge/gw[Pod] -> pay/cache[Pod] -> pay/db[Pod]"
    )
    # the path through the application tier (gw -> api -> db) is not a finding
    assert run_check(SECURE, SCOPE, "SEG-16").status == "pass"


# --------------------------------------------------------------------------- SEG-17


def test_seg17_out_of_scope_workload_connecting_in_fails_and_outbound_warns() -> None:
    tool_in = policy(
        "api-tool",
        "pay",
        "podSelector: {matchLabels: {app: api}}\ningress:\n"
        "- from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}]\n"
        "  ports: [{port: 8443}]",
    )
    result = run_check(SECURE + tool_in, SCOPE, "SEG-17")
    assert result.status == "fail"
    by_workload = {f.finding.workload.id: f for f in result.findings if f.finding.workload}
    assert set(by_workload) == {"other/tool"}
    assert by_workload["other/tool"].status == "fail"
    assert "connected-to and belongs in scope" in by_workload["other/tool"].finding.message


def test_seg17_only_outbound_connections_warn() -> None:
    # without the dns zone, coredns is out of scope and only reached from scope
    no_dns = SCOPE.replace(
        "  - name: dns\n    role: connected",
        "  - name: dns\n    role: connected\n    frameworks: []\n    x",
    )
    no_dns = ZONES.split("  - name: dns")[0] + REGISTER
    result = run_check(SECURE, no_dns, "SEG-17")
    assert result.status == "warn"
    assert workloads(result) == {"kube-system/coredns"}
    assert "confirm it is connected-to" in messages(result)


# --------------------------------------------------------------------------- SEG-18


def test_seg18_cross_namespace_flow_outside_the_zone_fails_unless_registered() -> None:
    result = run_check(SECURE, ZONES, "SEG-18")  # no register
    assert result.status == "fail"
    assert {(f.finding.workload.id, f.finding.peer) for f in result.findings} == {
        ("pay/api", "kube-system/coredns[Pod]"),
        ("kube-system/coredns", "pay/api[Pod]"),
        ("pay/api", "edge/gw[Pod]"),
        ("edge/gw", "pay/api[Pod]"),
    }
    assert run_check(SECURE, SCOPE, "SEG-18").status == "pass"  # AF-2 registers DNS


# --------------------------------------------------------------------------- SEG-20


def test_seg20_dangling_and_ineffective_rules() -> None:
    dangling = policy("legacy", "pay", "podSelector: {matchLabels: {app: gone}}")
    switched_off = policy(
        "metrics",
        "pay",
        "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Egress]\n"
        "ingress:\n- from: [{podSelector: {matchLabels: {app: api}}}]",
    )
    nobody = policy(
        "nobody",
        "pay",
        "podSelector: {matchLabels: {app: db}}\ningress:\n- from: [{podSelector: {matchLabels: {app: ghost}}}]",
    )
    # db admits the gateway, but the gateway's egress only allows the api: no effect for gw
    one_sided = policy(
        "db-gw",
        "pay",
        "podSelector: {matchLabels: {app: db}}\ningress:\n"
        "- from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: edge}}}]\n"
        "  ports: [{port: 5432}]",
    )
    result = run_check(SECURE + dangling + switched_off + nobody + one_sided, SCOPE, "SEG-20")
    assert result.status == "fail"
    text = messages(result)
    assert "pay/legacy: spec.podSelector app=gone selects no pods" in text
    assert "pay/metrics: its 1 ingress rule(s) are ignored: policyTypes [Egress]" in text
    assert "pay/nobody ingress[0]: its peers select no pods" in text
    assert (
        "pay/db-gw ingress[0] admits edge/gw[Pod] on TCP 5432, but gw's egress denies it "
        "(edge/default-deny, edge/gw): gw cannot reach pay/db[Pod]; the rule never allows a flow"
    ) in text
    # every finding names the workload the rule or policy was meant for, and a direction
    named = [f.finding for f in result.findings if "legacy" not in f.finding.message]
    assert {str(f.workload) for f in named} == {"pay/db[Pod]"}
    assert all(f.direction in ("ingress", "egress") for f in named)


def test_seg20_rule_with_no_effect_for_one_peer() -> None:
    # the rule admits api (used) and gw (whose egress denies it)
    two = policy(
        "db-two",
        "pay",
        "podSelector: {matchLabels: {app: db}}\ningress:\n"
        "- from:\n  - podSelector: {matchLabels: {app: api}}\n"
        "  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: edge}}\n"
        "    podSelector: {matchLabels: {app: gw}}\n"
        "  ports: [{port: 5432}]",
    )
    result = run_check(SECURE + two, SCOPE, "SEG-20")
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.finding.message.startswith(
        "pay/db-two ingress[0] admits edge/gw[Pod] on TCP 5432, but gw's egress denies it"
    )
    assert str(finding.finding.workload) == "pay/db[Pod]"
    assert finding.finding.peer == "edge/gw[Pod]"


def test_seg20_named_port_nobody_declares() -> None:
    named = policy(
        "db-named",
        "pay",
        "podSelector: {matchLabels: {app: db}}\ningress:\n"
        "- from: [{podSelector: {matchLabels: {app: api}}}]\n  ports: [{port: mysql}]",
    )
    result = run_check(SECURE + named, SCOPE, "SEG-20")
    assert "named ports are declared by no matching container" in messages(result)


def test_seg20_names_the_backup_that_cannot_reach_the_database() -> None:
    """The seed's lesson: the database admits its backup job, whose egress the namespace's
    default deny blocks; the finding names both and the policy that denies it."""
    cluster = (
        namespace("production")
        + pod("postgres-0", "production", {"app": "postgres"}, ports="pg:5432/TCP")
        + pod("backup", "production", {"app": "postgres-backup"})
        + policy(
            "default-deny-all",
            "production",
            "podSelector: {}\npolicyTypes: [Ingress, Egress]",
        )
        + policy(
            "postgres-access",
            "production",
            """
            podSelector: {matchLabels: {app: postgres}}
            policyTypes: [Ingress]
            ingress:
            - from: [{podSelector: {matchLabels: {app: app}}}]
              ports: [{port: 5432, protocol: TCP}]
            - from: [{podSelector: {matchLabels: {app: postgres-backup}}}]
              ports: [{port: 5432, protocol: TCP}]
            """,
        )
    )
    scope = (
        "cluster: t\nzones:\n  - name: cde\n    role: cde\n    frameworks: [fw]\n"
        "    selectors: [{namespaceSelector: {matchLabels: "
        "{kubernetes.io/metadata.name: production}}}]\n"
    )
    result = run_check(cluster, scope, "SEG-20")
    found = [f.finding for f in result.findings if "ingress[1]" in f.finding.message]
    assert [f.message for f in found] == [
        "production/postgres-access ingress[1] admits production/backup[Pod] on TCP 5432, but "
        "backup's egress denies it (production/default-deny-all): backup cannot reach "
        "production/postgres-0[Pod]; the rule never allows a flow"
    ]
    (f,) = found
    assert (str(f.workload), f.direction, f.peer, f.ports) == (
        "production/postgres-0[Pod]",
        "ingress",
        "production/backup[Pod]",
        "TCP 5432",
    )
    assert "production/default-deny-all" in f.policies


def test_seg20_outside_scope_namespaces_only_warn() -> None:
    dangling = policy("legacy", "other", "podSelector: {matchLabels: {app: gone}}")
    result = run_check(SECURE + dangling, SCOPE, "SEG-20")
    assert result.status == "warn"
    assert statuses(result) == ["warn"]


# --------------------------------------------------------------------------- SEG-23


def test_seg23_dns_to_a_non_dns_workload_and_metadata_fail() -> None:
    open_out = policy(
        "api-out",
        "pay",
        "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Egress]\negress:\n"
        "- to: [{ipBlock: {cidr: 169.254.0.0/16}}]\n  ports: [{port: 80}]\n"
        "- to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}]\n"
        "  ports: [{port: 53, protocol: UDP}]\n"
        "- to: [{ipBlock: {cidr: 10.0.0.0/8}}]\n  ports: [{port: 10250}]",
    )
    result = run_check(SECURE + open_out, SCOPE, "SEG-23")
    assert result.status == "fail"
    text = messages(result)
    assert "cloud metadata service 169.254.169.254/32" in text
    assert "DNS (UDP 53) to other/tool[Pod], not the cluster DNS" in text
    assert "kubelet or API server ports (TCP 10250)" in text


def test_seg23_host_network_destination_is_the_node() -> None:
    agent = pod("node-agent", "kube-system", {"k8s-app": "node-agent"}, host_network=True)
    to_node = policy(
        "api-node",
        "pay",
        "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Egress]\negress:\n"
        "- to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, "
        "podSelector: {matchLabels: {k8s-app: node-agent}}}]\n  ports: [{port: 9099}]",
    )
    result = run_check(SECURE + agent + to_node, SCOPE, "SEG-23")
    assert result.status == "fail"
    assert "reaches the node itself through kube-system/node-agent[Pod] (host network)" in messages(
        result
    )


def test_seg23_registered_metadata_access_passes() -> None:
    meta = policy(
        "api-meta",
        "pay",
        "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Egress]\negress:\n"
        "- to: [{ipBlock: {cidr: 169.254.169.254/32}}]\n  ports: [{port: 80}]",
    )
    entry = (
        SCOPE
        + """
  - {from: {workload: pay/api}, to: {cidrs: [169.254.169.254/32]}, ports: [{protocol: TCP, port: 80}], justification: workload identity, owner: x, ticket: T, expires: 2027-01-01}
"""
    )
    assert run_check(SECURE + meta, SCOPE, "SEG-23").status == "fail"
    assert run_check(SECURE + meta, entry, "SEG-23").status == "pass"


# --------------------------------------------------------------------------- SEG-24


def test_seg24_flows_with_the_management_plane_need_approval() -> None:
    zones = ZONES.replace("role: public", "role: security-tools")
    result = run_check(SECURE, zones, "SEG-24")
    assert result.status == "fail"
    assert "ingress from edge/gw[Pod] (management plane) on TCP 8443" in messages(result)
    approved = (
        zones
        + """
approved_flows:
  - {from: {zone: edge}, to: {workload: pay/api}, ports: [{protocol: TCP, port: 8443}], justification: scanner, owner: sec, ticket: T, expires: 2027-01-01}
"""
    )
    assert run_check(SECURE, approved, "SEG-24").status == "pass"


# --------------------------------------------------------------------------- SEG-25


WAIVER = """
waivers:
  - id: W-1
    check: SEG-05
    workload: pay/api
    reason: r
    owner: o
    approved_by: a
    compensating_control: c
    expires: {expires}
"""


def test_seg25_current_waiver_passes() -> None:
    assert run_check(SECURE, SCOPE + WAIVER.format(expires="2027-01-31"), "SEG-25").status == "pass"


def test_seg25_expired_and_too_long_waivers_fail() -> None:
    expired = run_check(SECURE, SCOPE + WAIVER.format(expires="2026-11-01"), "SEG-25")
    assert expired.status == "fail"
    assert "expired on 2026-11-01: it no longer applies" in messages(expired)
    too_long = run_check(SECURE, SCOPE + WAIVER.format(expires="2027-12-31"), "SEG-25")
    assert too_long.status == "fail"
    assert "at most 180 are allowed" in messages(too_long)


def test_seg25_too_long_waiver_does_not_apply() -> None:
    agent = pod("agent", "pay", {"app": "agent"}, host_network=True)
    waiver = WAIVER.format(expires="2027-12-31").replace("pay/api", "pay/agent")
    assert run_check(SECURE + agent, SCOPE + waiver, "SEG-05").status == "fail"


def test_seg25_missing_compensating_control_and_unknown_target_warn() -> None:
    waiver = WAIVER.format(expires="2027-01-31").replace("    compensating_control: c\n", "")
    waiver = waiver.replace("pay/api", "pay/gone")
    result = run_check(SECURE, SCOPE + waiver, "SEG-25")
    assert result.status == "warn"
    text = messages(result)
    assert "names no compensating control" in text
    assert "names a workload the export does not hold" in text


def test_seg25_without_waivers_is_not_applicable() -> None:
    assert run_check(SECURE, SCOPE, "SEG-25").status == "not_applicable"


# --------------------------------------------------------------------------- SEG-26


def test_seg26_mutable_namespace_label_fails_with_a_pinned_selector() -> None:
    by_label = policy(
        "api-team",
        "pay",
        "podSelector: {matchLabels: {app: api}}\ningress:\n"
        "- from: [{namespaceSelector: {matchLabels: {team: data}}}]\n  ports: [{port: 8443}]",
    )
    result = run_check(SECURE + by_label, SCOPE, "SEG-26")
    assert result.status == "fail"
    (finding,) = result.findings
    assert "selects namespaces by team" in finding.finding.message
    assert "today it matches other" in finding.finding.message
    assert "{key: kubernetes.io/metadata.name, operator: In, values: [other]}" in (
        finding.finding.remediation
    )


def test_seg26_metadata_name_selectors_pass() -> None:
    assert run_check(SECURE, SCOPE, "SEG-26").status == "pass"


def test_seg26_only_policies_that_select_scope_count() -> None:
    elsewhere = policy(
        "tool-team",
        "other",
        "podSelector: {}\ningress:\n- from: [{namespaceSelector: {matchLabels: {team: payments}}}]",
    )
    assert run_check(SECURE + elsewhere, SCOPE, "SEG-26").status == "pass"


def test_register_snippet_is_valid_yaml_for_the_whole_flow() -> None:
    import yaml

    from compliance.addresses import AddrSet
    from compliance.checks.register import register_snippet
    from compliance.flows import EXTERNAL, NOT_ISOLATED, External, Flow
    from compliance.model import WorkloadRef
    from compliance.ports import PortSet

    ports = PortSet.of("TCP", 80) | PortSet.of("TCP", 8000, 8010) | PortSet.of("UDP", 53)
    for extra in range(8):
        ports = ports | PortSet.of("SCTP", 100 + 2 * extra)
    addrs = AddrSet.from_cidr("0.0.0.0/0") - AddrSet.from_cidr("10.0.0.0/8")
    addrs = addrs | AddrSet.from_cidr("2001:db8::/32")
    flow = Flow(
        WorkloadRef("pay", "api", "Deployment"), External(addrs), ports, NOT_ISOLATED, EXTERNAL
    )
    entry = yaml.safe_load(register_snippet(flow, None, ports))["approved_flows"][0]
    assert entry["from"] == {"workload": "pay/api"}
    assert entry["to"]["cidrs"] == list(addrs.to_cidrs())
    assert len(entry["ports"]) == 11  # every range, none dropped
    assert {"protocol": "TCP", "port": 8000, "endPort": 8010} in entry["ports"]


# --------------------------------------------------------------------------- SEG-27


def test_seg27_flow_inside_scope_needs_a_register_entry() -> None:
    """PCI DSS 1.2.5 covers every allowed service, not only those crossing the boundary:
    api -> db inside the CDE without an entry fails."""
    without_db = SCOPE.replace("  - id: AF-5", "  - id: AF-5-gone").replace(
        "to: {zone: data}", "to: {workload: pay/nothing}"
    )
    result = run_check(SECURE, without_db, "SEG-27")
    assert result.status == "fail"
    (f,) = [fr.finding for fr in result.findings if fr.status == "fail"]
    assert f.message == "egress to pay/db[Pod] on TCP 5432 is not in the approved-flow register"
    assert (str(f.workload), f.direction, f.ports) == ("pay/api[Pod]", "egress", "TCP 5432")
    assert "approved_flows:" in f.remediation and "approved_by: <approver>" in f.remediation
    assert run_check(SECURE, SCOPE, "SEG-27").status == "pass"


def test_seg27_entry_without_approver_warns() -> None:
    unapproved = SCOPE.replace(
        "    approved_by: CISO\n    expires: 2027-06-30\n  - id: AF-5",
        "    expires: 2027-06-30\n  - id: AF-5",
    )
    result = run_check(SECURE, unapproved, "SEG-27")
    assert result.status == "warn"
    (f,) = [fr.finding for fr in result.findings]
    assert f.message.startswith("approved-flow entry AF-4 (T-4) (zone edge -> pay/api, TCP 8443)")
    assert f.message.endswith("names no approved_by: its approval cannot be shown")


def test_seg27_expired_entry_no_longer_covers() -> None:
    result = run_check(SECURE, SCOPE, "SEG-27", as_of="2027-07-01T00:00:00+00:00")
    assert result.status == "fail"
    assert "egress to pay/db[Pod] on TCP 5432 is not in the approved-flow register" in messages(
        result
    )


# --------------------------------------------------------------------------- SEG-10


def test_seg10_not_applicable_without_zone_policy() -> None:
    assert run_check(SECURE, SCOPE, "SEG-10").status == "not_applicable"


def test_seg10_cell_allowing_more_than_intended_fails_and_lists_the_flow() -> None:
    intended = SCOPE + (
        "zone_policy:\n"
        "  - {from: cde, to: data, allow: [{protocol: TCP, port: 5432}]}\n"
        "  - {from: outside-cluster, to: edge, allow: [{protocol: TCP, port: 443}]}\n"
    )
    assert run_check(SECURE, intended, "SEG-10").status == "pass"
    strict = SCOPE + "zone_policy:\n  - {from: cde, to: data, allow: none}\n"
    result = run_check(SECURE, strict, "SEG-10")
    assert result.status == "fail"
    (fr,) = result.findings
    assert fr.finding.message == (
        "egress to pay/db[Pod] on TCP 5432 exceeds the zone policy cde -> data (intended: none)"
    )
    assert str(fr.finding.workload) == "pay/api[Pod]"
    assert "1 stated cells, 1 allow more than intended" in result.summary


def test_seg10_out_of_scope_row() -> None:
    """A workload in no zone is the matrix's out-of-scope row."""
    open_db = policy(
        "db-open",
        "pay",
        "podSelector: {matchLabels: {app: db}}\ningress:\n"
        "- from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}]",
    )
    opened = policy("tool-out", "other", "podSelector: {}\npolicyTypes: [Egress]\negress: [{}]")
    scope = SCOPE + "zone_policy:\n  - {from: out-of-scope, to: data, allow: none}\n"
    result = run_check(SECURE + open_db + opened, scope, "SEG-10")
    assert result.status == "fail"
    assert "ingress from other/tool[Pod] on " in messages(result)
    assert "exceeds the zone policy out-of-scope -> data (intended: none)" in messages(result)


def test_zone_policy_names_a_known_zone() -> None:
    import pytest as _pytest

    from compliance.errors import InputError
    from tests.helpers import scope_from_yaml

    with _pytest.raises(InputError) as err:
        scope_from_yaml(SCOPE + "zone_policy:\n  - {from: nowhere, to: data, allow: all}\n")
    assert "zone_policy[0].from" in str(err.value)
    assert "unknown zone 'nowhere'" in str(err.value)
    twice = "zone_policy:\n  - {from: cde, to: data, allow: all}\n  - {from: cde, to: data, allow: none}\n"
    with _pytest.raises(InputError, match="stated twice"):
        scope_from_yaml(SCOPE + twice)
    with _pytest.raises(InputError, match="reserved for the zone matrix"):
        scope_from_yaml(SCOPE.replace("name: dns", "name: out-of-scope"))
    with _pytest.raises(InputError) as bad:
        scope_from_yaml(SCOPE + "zone_policy:\n  - {from: cde, to: data, allow: some}\n")
    assert "zone_policy[0].allow: expected none, all, or the ports" in str(bad.value)


# --------------------------------------------------------------------------- contradictions

NO_DNS_POLICY = BASE + DENY_ALL + EDGE_DENY + ALLOW


def test_seg04_and_seg12_count_an_unisolated_workload_as_a_wildcard() -> None:
    """coredns is in scope and no policy selects it: it accepts every source on every port,
    which is what an allow-all rule or a wildcard peer would do."""
    seg04 = run_check(NO_DNS_POLICY, SCOPE, "SEG-04")
    assert seg04.status == "fail"
    assert {(str(f.finding.workload), f.finding.direction) for f in seg04.findings} == {
        ("kube-system/coredns[Pod]", "ingress"),
        ("kube-system/coredns[Pod]", "egress"),
    }
    seg12 = run_check(NO_DNS_POLICY, SCOPE, "SEG-12")
    assert seg12.status == "fail"
    (f,) = [fr.finding for fr in seg12.findings]
    assert str(f.workload) == "kube-system/coredns[Pod]"
    assert f.message.startswith("not isolated for ingress: every source")
    assert run_check(SECURE, SCOPE, "SEG-12").status == "pass"


def test_seg06_says_reachable_per_policy_not_from_the_internet() -> None:
    result = run_check(NO_DNS_POLICY, SCOPE, "SEG-06")
    text = messages(result)
    assert "reachable per policy from addresses outside the cluster" in text
    assert "reachable from the internet" not in text


def test_seg11_and_seg18_propose_narrowing_an_accidental_flow_first() -> None:
    """tool (out of scope, unisolated) reaches coredns (in scope, unisolated) on every
    port: an accident to narrow, not a flow to register."""
    for check_id in ("SEG-11", "SEG-18"):
        result = run_check(NO_DNS_POLICY, SCOPE, check_id)
        rems = [
            fr.finding.remediation
            for fr in result.findings
            if "other/tool" in fr.finding.message and fr.finding.direction == "ingress"
        ]
        assert rems, check_id
        rem = rems[0]
        assert rem.startswith("# Narrow first: ")
        assert "# Narrow first: kube-system/coredns[Pod] is not isolated for ingress" in rem
        # pasteable: every line is YAML (comments included)
        import yaml

        assert yaml.safe_load(rem)["approved_flows"][0]["to"] == {"workload": "kube-system/coredns"}


def test_finding_ids_are_stable_and_ignore_the_wording() -> None:
    from dataclasses import replace

    from compliance.checks.base import finding_id

    result = run_check(NO_DNS_POLICY, SCOPE, "SEG-11")
    ids = [finding_id("SEG-11", fr.finding) for fr in result.findings]
    assert len(set(ids)) == len(ids)
    again = run_check(NO_DNS_POLICY, SCOPE, "SEG-11")
    assert ids == [finding_id("SEG-11", fr.finding) for fr in again.findings]
    f = result.findings[0].finding
    assert finding_id("SEG-11", replace(f, message="reworded")) == ids[0]
    assert finding_id("SEG-11", replace(f, ports="TCP 1")) != ids[0]
    assert ids[0].startswith("SEG-11-")


def test_a_host_network_side_is_a_reason_to_narrow_first() -> None:
    from compliance.checks.base import Facts, wide_reasons
    from compliance.flows import compute_flows
    from tests.helpers import cluster_from_yaml

    agent = daemonset("agent", "kube-system", {"app": "agent"}, host_network=True)
    cluster = cluster_from_yaml(NO_DNS_POLICY + agent)
    graph = compute_flows(cluster)
    facts = Facts(cluster, graph)
    (flow,) = [
        f
        for f in graph.flows
        if str(f.src) == "kube-system/agent[DaemonSet]" and str(f.dst) == "kube-system/coredns[Pod]"
    ]
    reasons = wide_reasons(facts, flow)
    assert (
        "kube-system/agent[DaemonSet] uses the host network: no policy reliably limits its egress"
        in reasons
    )
    assert "kube-system/coredns[Pod] is not isolated for ingress: it allows every source" in reasons


def test_seg20_flags_an_admin_policy_whose_subject_selects_nothing() -> None:
    guard = (
        "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n"
        "metadata: {name: ghost-guard}\nspec:\n  priority: 3\n"
        "  subject: {namespaces: {matchLabels: {zone: nowhere}}}\n"
        "  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n"
        "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n"
        "metadata: {name: real-guard}\nspec:\n  priority: 4\n"
        "  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: pay}}}\n"
        "  ingress: [{action: Pass, from: [{namespaces: {}}]}]\n"
    )
    result = run_check(SECURE + guard, SCOPE, "SEG-20")
    text = messages(result)
    assert "anp/ghost-guard: spec.subject selects no pods, so its rules decide nothing" in text
    assert "real-guard" not in text
