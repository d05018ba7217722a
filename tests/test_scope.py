"""The scope file: validation errors through the CLI, parsing defaults, and
`place()`, which puts workloads into zones.

Error cases run `compliance evaluate samples/shop-cluster --scope BAD.yaml`
in-process and expect exit 2 with one `error:` line naming the file, the path
inside it and what was expected.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from compliance.cli import cli, run
from compliance.errors import InputError
from compliance.model import WorkloadRef
from compliance.ports import PortSet
from compliance.scope import Placement, place
from tests.helpers import Result, cluster_from_yaml, namespace, pod, policy, scope_from_yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "samples" / "shop-cluster"
AS_OF = "2026-11-26"


@pytest.fixture
def evaluate(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def invoke(scope: Path | str, *extra: object) -> Result:
        capsys.readouterr()
        args = ["evaluate", str(SAMPLE_DIR), "--scope", str(scope), "--as-of", AS_OF]
        code = run(cli.main, [*args, *(str(e) for e in extra)])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


# A valid scope for the sample cluster; each error case breaks one thing in a copy.
BASE: dict[str, Any] = {
    "cluster": "shop",
    "zones": [
        {
            "name": "app-zone",
            "role": "cde",
            "frameworks": ["pci-dss-4.0.1"],
            "selectors": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "production"}
                    }
                }
            ],
        },
        {
            "name": "edge",
            "role": "public",
            "frameworks": ["pci-dss-4.0.1"],
            "selectors": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                    }
                }
            ],
        },
    ],
    "approved_flows": [
        {
            "id": "F-1",
            "from": {"zone": "edge"},
            "to": {"zone": "app-zone"},
            "ports": [{"protocol": "TCP", "port": 8080}],
            "justification": "storefront traffic",
            "owner": "team",
            "ticket": "CHG-1",
            "expires": "2027-06-30",
        }
    ],
    "waivers": [
        {
            "id": "W-1",
            "check": "SEG-26",
            "workload": "production/app",
            "reason": "moving selectors",
            "owner": "team",
            "approved_by": "CISO",
            "expires": "2027-02-28",
        }
    ],
}


def write_scope(tmp_path: Path, mutate: Callable[[dict[str, Any]], object] | None = None) -> Path:
    doc = copy.deepcopy(BASE)
    if mutate is not None:
        mutate(doc)
    path = tmp_path / "bad.scope.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def assert_one_error(result: Result, *expected: str) -> str:
    assert result.code == 2, (result.code, result.err)
    assert result.out == ""
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("error: "), line
    for text in expected:
        assert text in line, (text, line)
    return line


def test_base_scope_is_valid(tmp_path: Path, evaluate: Callable[..., Result]) -> None:
    """The error cases below break only what they say: the unbroken file is accepted."""
    result = evaluate(write_scope(tmp_path), "--format", "json")
    assert result.code in (0, 1), result.err
    assert "error:" not in result.err
    assert '"cluster": "shop"' in result.out


# --------------------------------------------------------------------------- errors via the CLI


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


ERROR_CASES: list[tuple[str, Callable[[dict[str, Any]], object], tuple[str, ...]]] = [
    ("missing cluster", lambda d: d.pop("cluster"), ("cluster", "missing required field")),
    (
        "unknown role",
        _set(["zones", 0, "role"], "boss"),
        ("zones[0].role", "boss", "cde", "datastore", "public", "security-tools", "tenant"),
    ),
    (
        "unknown top-level key",
        _set(["zonez"], []),
        ("zonez", "unknown field", "approved_flows", "waivers"),
    ),
    ("zone defined twice", _set(["zones", 1, "name"], "app-zone"), ("zones[1].name", "twice")),
    (
        "unknown framework",
        _set(["zones", 0, "frameworks"], ["sox-404"]),
        ("zones[0].frameworks[0]", "sox-404", "pci-dss-4.0.1", "hipaa-security-rule"),
    ),
    (
        "approved flow names an unknown zone",
        _set(["approved_flows", 0, "from"], {"zone": "nowhere"}),
        ("approved_flows[0].from.zone", "nowhere", "app-zone", "edge"),
    ),
    (
        "endpoint with two keys",
        _set(["approved_flows", 0, "from"], {"zone": "app-zone", "namespace": "production"}),
        ("approved_flows[0].from", "exactly one of zone, workload, namespace, cidrs or names"),
    ),
    (
        "invalid CIDR",
        _set(["approved_flows", 0, "from"], {"cidrs": ["0.0.0.0/0", "10.0.0.0/33"]}),
        ("approved_flows[0].from.cidrs[1]", "10.0.0.0/33", "CIDR"),
    ),
    (
        "CIDR with host bits",
        _set(["approved_flows", 0, "to"], {"cidrs": ["10.0.0.1/8"]}),
        ("approved_flows[0].to.cidrs[0]", "10.0.0.1/8", "CIDR"),
    ),
    (
        "endPort below port",
        _set(["approved_flows", 0, "ports"], [{"protocol": "TCP", "port": 100, "endPort": 90}]),
        ("approved_flows[0].ports[0].endPort", "90", "100"),
    ),
    (
        "impossible month in expires",
        _set(["approved_flows", 0, "expires"], "2027-13-01"),
        ("approved_flows[0].expires", "YYYY-MM-DD", "2027-13-01"),
    ),
    (
        "impossible day in waiver expires",
        _set(["waivers", 0, "expires"], "2027-02-30"),
        ("waivers[0].expires", "YYYY-MM-DD", "2027-02-30"),
    ),
    (
        "expires not a date",
        _set(["approved_flows", 0, "expires"], "next year"),
        ("approved_flows[0].expires", "YYYY-MM-DD", "next year"),
    ),
    (
        "waiver with unknown check",
        _set(["waivers", 0, "check"], "SEG-99"),
        ("waivers[0].check", "SEG-99", "SEG-01", "SEG-26"),
    ),
    (
        "waiver with workload and namespace",
        _set(["waivers", 0, "namespace"], "production"),
        ("waivers[0]", "workload", "namespace", "together"),
    ),
    (
        "both ends outside the cluster",
        lambda d: d["approved_flows"][0].update(
            {"from": {"cidrs": ["10.0.0.0/8"]}, "to": {"cidrs": ["0.0.0.0/0"]}}
        ),
        ("approved_flows[0].to", "inside the cluster"),
    ),
    (
        "domain names as the source",
        _set(["approved_flows", 0, "from"], {"names": ["api.stripe.com"]}),
        ("approved_flows[0].from.names", "destinations", "`to`"),
    ),
    (
        "domain names from outside addresses",
        lambda d: d["approved_flows"][0].update(
            {"from": {"cidrs": ["10.0.0.0/8"]}, "to": {"names": ["api.stripe.com"]}}
        ),
        ("approved_flows[0].to", "inside the cluster"),
    ),
    (
        "a domain name the API would refuse",
        _set(["approved_flows", 0, "to"], {"names": ["api.stripe.com", "localhost"]}),
        ("approved_flows[0].to.names[1]", "DNS name", "domainNames", '"localhost"'),
    ),
    (
        "a wildcard inside a domain name",
        _set(["approved_flows", 0, "to"], {"names": ["api.*.example.com"]}),
        ("approved_flows[0].to.names[0]", "DNS name", '"api.*.example.com"'),
    ),
    (
        "a domain name twice",
        _set(["approved_flows", 0, "to"], {"names": ["a.example", "a.example"]}),
        ("approved_flows[0].to.names", "repeated"),
    ),
    (
        "approved flow without an owner",
        lambda d: d["approved_flows"][0].pop("owner"),
        ("approved_flows[0]", "missing required field 'owner'"),
    ),
    (
        "no zones",
        _set(["zones"], []),
        ("zones", "at least one entry"),
    ),
    (
        "empty selector entry",
        _set(["zones", 0, "selectors"], [{}]),
        ("zones[0].selectors[0]", "namespaceSelector", "podSelector"),
    ),
    (
        "waiver workload without a namespace",
        _set(["waivers", 0, "workload"], "app"),
        ("waivers[0].workload", "namespace/name"),
    ),
    (
        "max_waiver_days above 180",
        _set(["parameters"], {"max_waiver_days": 365}),
        ("parameters.max_waiver_days", "180"),
    ),
    (
        "bad label key in a podSelector",
        _set(
            ["zones", 0, "selectors"],
            [{"podSelector": {"matchLabels": {"-bad-": "x"}}}],
        ),
        ("zones[0].selectors[0].podSelector", "-bad-", "invalid label key"),
    ),
    (
        "bad label key prefix in matchExpressions",
        _set(
            ["zones", 0, "selectors"],
            [{"podSelector": {"matchExpressions": [{"key": "a/b/c", "operator": "Exists"}]}}],
        ),
        ("zones[0].selectors[0].podSelector.matchExpressions[0].key", "a/b/c", "DNS subdomain"),
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [pytest.param(m, e, id=name) for name, m, e in ERROR_CASES],
)
def test_scope_error(
    tmp_path: Path,
    evaluate: Callable[..., Result],
    mutate: Callable[[dict[str, Any]], object],
    expected: tuple[str, ...],
) -> None:
    path = write_scope(tmp_path, mutate)
    assert_one_error(evaluate(path), str(path), *expected)


@pytest.mark.parametrize(
    ("good", "bad", "field"),
    [
        ("2027-06-30", "2027-13-01", "approved_flows[0].expires"),
        ("2027-02-28", "2027-02-30", "waivers[0].expires"),
    ],
    ids=["month-13-in-flow", "february-30-in-waiver"],
)
def test_unquoted_impossible_date(
    tmp_path: Path, evaluate: Callable[..., Result], good: str, bad: str, field: str
) -> None:
    """Written as the samples write dates (unquoted, so YAML sees a timestamp)."""
    text = yaml.safe_dump(BASE, sort_keys=False)
    quoted = f"expires: '{good}'"
    assert text.count(quoted) == 1, text
    path = tmp_path / "bad-date.yaml"
    path.write_text(text.replace(quoted, f"expires: {bad}"), encoding="utf-8")
    assert f"expires: {bad}\n" in path.read_text(encoding="utf-8")
    assert_one_error(evaluate(path), str(path), field, "YYYY-MM-DD")


def test_yaml_syntax_error_names_the_line(tmp_path: Path, evaluate: Callable[..., Result]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "cluster: shop\nzones:\n  - name: a\n    role: cde\n   frameworks: [x]\n",
        encoding="utf-8",
    )
    line = assert_one_error(evaluate(path), str(path), "YAML")
    assert "line 5" in line, line


def test_scope_file_that_is_a_list(tmp_path: Path, evaluate: Callable[..., Result]) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- cluster: shop\n", encoding="utf-8")
    assert_one_error(evaluate(path), str(path), "expected a mapping")


def test_scope_file_with_duplicate_key(tmp_path: Path, evaluate: Callable[..., Result]) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(yaml.safe_dump(BASE, sort_keys=False) + "cluster: other\n", encoding="utf-8")
    assert_one_error(evaluate(path), str(path), "duplicate key 'cluster'")


def test_scope_file_missing(tmp_path: Path, evaluate: Callable[..., Result]) -> None:
    path = tmp_path / "does-not-exist.yaml"
    assert_one_error(evaluate(path), str(path), "cannot read")


def test_scope_file_empty(tmp_path: Path, evaluate: Callable[..., Result]) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert_one_error(evaluate(path), str(path), "expected one YAML document, found 0")


def test_scope_file_with_two_documents(tmp_path: Path, evaluate: Callable[..., Result]) -> None:
    path = tmp_path / "two.yaml"
    text = yaml.safe_dump(BASE, sort_keys=False)
    path.write_text(text + "---\n" + text, encoding="utf-8")
    assert_one_error(evaluate(path), str(path), "expected one YAML document, found 2")


def test_scope_error_without_traceback_in_a_subprocess(tmp_path: Path) -> None:
    """The real entry point: exit status 2 and a single line, not a Python traceback."""
    import subprocess
    import sys

    path = write_scope(tmp_path, _set(["zones", 0, "role"], "boss"))
    proc = subprocess.run(
        [sys.executable, "-m", "compliance", "evaluate", str(SAMPLE_DIR), "--scope", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert str(path) in lines[0] and "zones[0].role" in lines[0]


# --------------------------------------------------------------------------- parsing

MINIMAL = """
cluster: c
zones:
  - name: z
    role: cde
    frameworks: [fw]
"""

FLOW_FIELDS = """
    justification: j
    owner: o
    ticket: T-1
    expires: 2027-01-31
"""


def test_ports_omitted_means_every_port() -> None:
    scope = scope_from_yaml(
        MINIMAL
        + """
approved_flows:
  - from: {zone: z}
    to: {namespace: other}
"""
        + FLOW_FIELDS
        + """
  - from: {zone: z}
    to: {namespace: other}
    ports: [{protocol: UDP}]
"""
        + FLOW_FIELDS
    )
    first, second = scope.approved_flows
    assert first.ports.is_all()
    assert first.ports == PortSet.all()
    for proto in ("TCP", "UDP", "SCTP"):
        assert first.ports.contains(proto, 1)
        assert first.ports.contains(proto, 65535)
    # A protocol without a port is every port of that protocol only.
    assert second.ports == PortSet.protocol("UDP")
    assert second.ports.contains("UDP", 9999)
    assert not second.ports.contains("TCP", 9999)


def test_port_range_with_end_port() -> None:
    scope = scope_from_yaml(
        MINIMAL
        + """
approved_flows:
  - from: {zone: z}
    to: {workload: "prod/kafka[StatefulSet]"}
    ports: [{protocol: TCP, port: 9092, endPort: 9094}]
"""
        + FLOW_FIELDS
    )
    (flow,) = scope.approved_flows
    assert flow.ports == PortSet.of("TCP", 9092, 9094)
    assert flow.dst.workload == "prod/kafka"
    assert flow.dst.kind == "StatefulSet"


def test_ids_default_to_their_position() -> None:
    scope = scope_from_yaml(
        MINIMAL
        + """
approved_flows:
  - id: AF-1
    from: {zone: z}
    to: {namespace: a}
"""
        + FLOW_FIELDS
        + """
  - from: {zone: z}
    to: {namespace: b}
"""
        + FLOW_FIELDS
        + """
waivers:
  - check: SEG-02
    namespace: a
    reason: r
    owner: o
    approved_by: a
    expires: 2027-01-31
"""
    )
    assert [f.ref for f in scope.approved_flows] == ["AF-1", "approved_flows[1]"]
    assert [w.ref for w in scope.waivers] == ["waivers[0]"]


def test_duplicate_ids_are_rejected() -> None:
    text = (
        MINIMAL
        + """
approved_flows:
  - id: X
    from: {zone: z}
    to: {namespace: a}
"""
        + FLOW_FIELDS
        + """
  - id: X
    from: {zone: z}
    to: {namespace: b}
"""
        + FLOW_FIELDS
    )
    with pytest.raises(InputError) as info:
        scope_from_yaml(text)
    assert info.value.field == "approved_flows[1].id"
    assert info.value.source == "scope.yaml"


def test_ipv6_everything_cidr_parses() -> None:
    scope = scope_from_yaml(
        MINIMAL
        + """
approved_flows:
  - from: {cidrs: [0.0.0.0/0, "::/0"]}
    to: {zone: z}
    ports: [{protocol: TCP, port: 443}]
"""
        + FLOW_FIELDS
    )
    (flow,) = scope.approved_flows
    addrs = flow.src.addresses
    assert addrs is not None
    assert addrs.contains("2001:db8::1")
    assert addrs.contains("::1")
    assert addrs.contains("8.8.8.8")
    assert flow.dst.zone == "z"


def test_ipv4_cidr_is_exact() -> None:
    scope = scope_from_yaml(
        MINIMAL
        + """
approved_flows:
  - from: {zone: z}
    to: {cidrs: [52.216.0.0/15]}
"""
        + FLOW_FIELDS
    )
    addrs = scope.approved_flows[0].dst.addresses
    assert addrs is not None
    assert addrs.contains("52.217.255.255")
    assert not addrs.contains("52.218.0.0")
    assert not addrs.contains("2001:db8::1")


def test_parameters_defaults() -> None:
    params = scope_from_yaml(MINIMAL).parameters
    assert params.max_port_range == 10
    assert params.max_waiver_days == 180
    assert params.max_source_prefix_v4 == 16
    assert params.max_source_prefix_v6 == 48
    assert params.cluster_dns is None
    by_service = {p.service: p.ports for p in params.insecure_ports}
    assert by_service["Telnet"] == PortSet.of("TCP", 23)
    assert by_service["FTP"].contains("TCP", 21)
    assert by_service["TFTP"] == PortSet.of("UDP", 69)
    assert not any(p.ports.contains("TCP", 443) for p in params.insecure_ports)


def test_parameters_overrides() -> None:
    params = scope_from_yaml(
        MINIMAL
        + """
parameters:
  max_port_range: 100
  max_waiver_days: 90
  max_source_prefix: {ipv4: 24, ipv6: 64}
  cluster_dns: [kube-system/coredns]
  insecure_ports:
    - {service: Legacy, protocol: TCP, port: 7000, endPort: 7010}
"""
    ).parameters
    assert params.max_port_range == 100
    assert params.max_waiver_days == 90
    assert params.max_source_prefix_v4 == 24
    assert params.max_source_prefix_v6 == 64
    assert params.cluster_dns == ("kube-system/coredns",)
    # The list replaces the built-in one: Telnet is no longer in it.
    assert [p.service for p in params.insecure_ports] == ["Legacy"]
    assert params.insecure_ports[0].ports == PortSet.of("TCP", 7000, 7010)


def test_insecure_ports_end_port_below_port_is_an_error() -> None:
    with pytest.raises(InputError) as info:
        scope_from_yaml(
            MINIMAL
            + """
parameters:
  insecure_ports:
    - {service: Legacy, protocol: TCP, port: 7010, endPort: 7000}
"""
        )
    assert info.value.field is not None
    assert info.value.field.startswith("parameters.insecure_ports[0]")


def test_max_waiver_days_above_180_is_rejected() -> None:
    with pytest.raises(InputError) as info:
        scope_from_yaml(MINIMAL + "parameters: {max_waiver_days: 365}\n")
    assert info.value.field == "parameters.max_waiver_days"
    assert "180" in str(info.value)


def test_frameworks_are_collected_from_zones() -> None:
    scope = scope_from_yaml(
        """
cluster: c
zones:
  - {name: a, role: cde, frameworks: [pci, hipaa]}
  - {name: b, role: public, frameworks: [pci]}
  - {name: c, role: other}
"""
    )
    assert scope.frameworks == ("hipaa", "pci")
    assert [z.frameworks for z in scope.zones if z.name == "c"] == [()]


# --------------------------------------------------------------------------- placement

NAMESPACES = (
    namespace("prod", {"kubernetes.io/metadata.name": "prod", "team": "a"})
    + namespace("dev", {"kubernetes.io/metadata.name": "dev", "team": "b"})
    + namespace("pinned-ns", {"compliance.io/zone": "pinned"})
    + namespace("ghost-ns", {"compliance.io/zone": "ghost"})
)
PODS = (
    pod("web", "prod", {"app": "web"})
    + pod("db", "prod", {"app": "db"})
    + pod("web", "dev", {"app": "web"})
    + pod("other", "dev", {"app": "x"})
    + pod("one", "pinned-ns", {"app": "one"})
    + pod("two", "pinned-ns", {"app": "two"})
    + pod("tagged", "dev", {"app": "tagged", "compliance.io/zone": "pinned"})
    + pod("lost", "ghost-ns", {"app": "lost"})
    + pod("stray", "prod", {"app": "stray", "compliance.io/zone": "phantom"})
)
CLUSTER_TEXT = NAMESPACES + PODS + policy("deny", "prod", "podSelector: {}\npolicyTypes: [Ingress]")


def ref(ns_name: str) -> WorkloadRef:
    ns, name = ns_name.split("/")
    return WorkloadRef(ns, name, "Pod")


def placement(zones_yaml: str) -> Placement:
    scope = scope_from_yaml("cluster: c\nzones:\n" + zones_yaml)
    return place(scope, cluster_from_yaml(CLUSTER_TEXT))


def members(p: Placement, zone: str) -> list[str]:
    return [r.id for r in p.members(zone)]


def test_namespace_selector_only_takes_every_workload_of_matching_namespaces() -> None:
    p = placement(
        """
  - name: z
    role: cde
    selectors:
      - namespaceSelector: {matchLabels: {team: a}}
"""
    )
    assert members(p, "z") == ["prod/db", "prod/stray", "prod/web"]
    assert p.zones(ref("prod/web")) == frozenset({"z"})
    assert p.zones(ref("dev/web")) == frozenset()


def test_pod_selector_only_matches_pods_in_every_namespace() -> None:
    p = placement(
        """
  - name: z
    role: cde
    selectors:
      - podSelector: {matchLabels: {app: web}}
"""
    )
    assert members(p, "z") == ["dev/web", "prod/web"]
    assert p.zones(ref("prod/db")) == frozenset()


def test_namespace_and_pod_selector_together_are_anded() -> None:
    p = placement(
        """
  - name: z
    role: cde
    selectors:
      - namespaceSelector: {matchLabels: {team: b}}
        podSelector: {matchLabels: {app: web}}
"""
    )
    assert members(p, "z") == ["dev/web"]
    assert p.zones(ref("prod/web")) == frozenset()
    assert p.zones(ref("dev/other")) == frozenset()


def test_several_selector_entries_are_ored() -> None:
    p = placement(
        """
  - name: z
    role: cde
    selectors:
      - namespaceSelector: {matchLabels: {team: a}}
        podSelector: {matchLabels: {app: db}}
      - namespaceSelector: {matchLabels: {team: b}}
        podSelector: {matchExpressions: [{key: app, operator: In, values: [x]}]}
"""
    )
    assert members(p, "z") == ["dev/other", "prod/db"]


def test_empty_namespace_selector_takes_every_namespace() -> None:
    p = placement(
        """
  - name: z
    role: other
    selectors:
      - namespaceSelector: {}
"""
    )
    assert len(members(p, "z")) == 9


def test_workload_can_be_in_several_zones() -> None:
    p = placement(
        """
  - name: z1
    role: cde
    selectors: [{podSelector: {matchLabels: {app: web}}}]
  - name: z2
    role: datastore
    selectors: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: prod}}}]
"""
    )
    assert p.zones(ref("prod/web")) == frozenset({"z1", "z2"})
    assert p.zones(ref("dev/web")) == frozenset({"z1"})
    assert p.zones(ref("prod/db")) == frozenset({"z2"})


def test_zone_label_on_namespace_and_on_pod() -> None:
    p = placement(
        """
  - name: pinned
    role: cde
"""
    )
    # The namespace label takes both of its workloads; the pod label takes only that pod.
    assert members(p, "pinned") == ["dev/tagged", "pinned-ns/one", "pinned-ns/two"]
    assert p.zones(ref("dev/tagged")) == frozenset({"pinned"})
    assert p.zones(ref("dev/web")) == frozenset()
    assert not any("'pinned' holds no workload" in w for w in p.warnings)


def test_zone_label_adds_to_selector_placement() -> None:
    p = placement(
        """
  - name: pinned
    role: cde
  - name: web
    role: public
    selectors: [{podSelector: {matchLabels: {app: tagged}}}]
"""
    )
    assert p.zones(ref("dev/tagged")) == frozenset({"pinned", "web"})


def test_zone_label_naming_no_zone_warns_and_places_nothing() -> None:
    p = placement(
        """
  - name: pinned
    role: cde
"""
    )
    assert p.zones(ref("ghost-ns/lost")) == frozenset()
    assert p.zones(ref("prod/stray")) == frozenset()
    assert "ghost" not in {z for zs in p.zones_of.values() for z in zs}
    ghost = [w for w in p.warnings if "compliance.io/zone=ghost" in w]
    phantom = [w for w in p.warnings if "compliance.io/zone=phantom" in w]
    assert len(ghost) == 1 and "ghost-ns/lost" in ghost[0], p.warnings
    assert len(phantom) == 1 and "prod/stray" in phantom[0], p.warnings
    assert ghost[0].startswith("scope.yaml: ")


def test_zone_holding_no_workload_warns() -> None:
    p = placement(
        """
  - name: pinned
    role: cde
  - name: empty
    role: datastore
    selectors: [{podSelector: {matchLabels: {app: nothing-has-this}}}]
  - name: bare
    role: other
"""
    )
    assert members(p, "empty") == []
    empty = [w for w in p.warnings if "'empty'" in w]
    bare = [w for w in p.warnings if "'bare'" in w]
    assert len(empty) == 1 and "holds no workload" in empty[0]
    assert len(bare) == 1 and "holds no workload" in bare[0]
    assert not any("'pinned'" in w for w in p.warnings)


def test_namespace_name_label_is_implied() -> None:
    """`kubernetes.io/metadata.name` matches a namespace exported without it (older
    clusters) and a namespace only referenced by its pods."""
    cluster = cluster_from_yaml(
        namespace("legacy") + pod("a", "legacy", {"app": "a"}) + pod("b", "unlisted", {"app": "b"})
    )
    scope = scope_from_yaml(
        """
cluster: c
zones:
  - name: old
    role: cde
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: legacy}}
  - name: unlisted
    role: other
    selectors:
      - namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [unlisted]}]}
"""
    )
    p = place(scope, cluster)
    assert [r.id for r in p.members("old")] == ["legacy/a"]
    assert [r.id for r in p.members("unlisted")] == ["unlisted/b"]
    assert p.warnings == ()


def test_members_and_zones_agree() -> None:
    p = placement(
        """
  - name: a
    role: cde
    selectors: [{namespaceSelector: {matchLabels: {team: a}}}]
  - name: b
    role: public
    selectors: [{podSelector: {matchLabels: {app: web}}}]
"""
    )
    for zone in ("a", "b"):
        for member in p.members(zone):
            assert zone in p.zones(member)
    for member, zones in p.zones_of.items():
        for zone in zones:
            assert member in p.members(zone)
    # members() is sorted and has no duplicates.
    assert list(p.members("a")) == sorted(set(p.members("a")))


def test_waiver_for_the_waiver_check_is_refused() -> None:
    from compliance.errors import InputError
    from tests.helpers import scope_from_yaml

    text = (
        "cluster: c\nzones:\n  - {name: z, role: cde}\nwaivers:\n"
        "  - {check: SEG-25, reason: r, owner: o, approved_by: a, expires: 2027-01-01}\n"
    )
    with pytest.raises(InputError) as err:
        scope_from_yaml(text)
    assert "waivers[0].check" in str(err.value)
    assert "cannot be waived" in str(err.value)
