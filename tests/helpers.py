"""Small builders shared by the tests: inline YAML in, flows out."""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.flows import External, FlowGraph, compute_flows
from compliance.load import load_texts
from compliance.model import Cluster, WorkloadRef, build_cluster


@dataclass
class Result:
    """What one CLI run gave: exit code, standard output and error, wall time."""

    code: int
    out: str
    err: str
    seconds: float = 0.0

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()

    def json(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.out)
        return doc


FAKE_KUBECTL = Path(__file__).resolve().parent / "fake_kubectl" / "kubectl"

DEMO_ARGS = [
    "report",
    "samples/shop-cluster",
    "--scope",
    "samples/pci-dss.scope.yaml",
    "--as-of",
    "2026-11-26T00:00:00Z",
    "--probe-plan",
    "samples/probes/plan.json",
    "--probe-results",
    "samples/probes/probe-results.csv",
    "--flow-log",
    "samples/flows/hubble.jsonl",
    "--flow-log",
    "samples/flows/calico-flows.jsonl",
]
"""The inputs as `make demo` names them (relative to the project root)."""


def fake_kubectl_path(folder: Path) -> str:
    """A PATH whose `kubectl` is the fake one, run by this interpreter without `site`.

    Collecting calls kubectl about fifteen times and the probe script more: through
    `#!/usr/bin/env python3` each call may start a version manager's shim first, which
    costs more than the call. The fake needs only the standard library; its script and
    what it answers are the same."""
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "kubectl"
    wrapper.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -S {shlex.quote(str(FAKE_KUBECTL))} "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def cluster_from_yaml(text: str, source: str = "test.yaml") -> Cluster:
    loaded = load_texts([(source, textwrap.dedent(text).encode())])
    return build_cluster(loaded.objects)


def flows_from_yaml(text: str) -> FlowGraph:
    return compute_flows(cluster_from_yaml(text))


def _matches(endpoint: object, name: str) -> bool:
    if isinstance(endpoint, WorkloadRef):
        return name in (endpoint.id, str(endpoint))
    assert isinstance(endpoint, External)
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return endpoint.addresses.contains(name)


def allowed(graph: FlowGraph, src: str, dst: str, protocol: str, port: int) -> bool:
    """Is src -> dst allowed on protocol/port? src/dst: `ns/name`, `ns/name[Kind]` or an IP."""
    return any(
        _matches(f.src, src) and _matches(f.dst, dst) and f.connections.contains(protocol, port)
        for f in graph.flows
    )


def flow(graph: FlowGraph, src: str, dst: str):  # type: ignore[no-untyped-def]
    found = [f for f in graph.flows if _matches(f.src, src) and _matches(f.dst, dst)]
    assert len(found) <= 1, found
    return found[0] if found else None


def pod(
    name: str,
    ns: str = "default",
    labels: dict[str, str] | None = None,
    ports: str = "",
    host_network: bool = False,
) -> str:
    """A bare Pod document; `ports` is like `http:80/TCP,dns:53/UDP,5432`."""
    lines = [
        "---",
        "apiVersion: v1",
        "kind: Pod",
        "metadata:",
        f"  name: {name}",
        f"  namespace: {ns}",
    ]
    if labels:
        lines.append("  labels:")
        lines.extend(f"    {k}: {v!r}" for k, v in labels.items())
    lines += [
        "spec:",
        f"  hostNetwork: {str(host_network).lower()}",
        "  containers:",
        "  - name: c",
        "    image: busybox",
    ]
    if ports:
        lines.append("    ports:")
        for entry in ports.split(","):
            name, _, rest = entry.rpartition(":")
            number, _, proto = rest.partition("/")
            lines.append(f"    - containerPort: {number}")
            lines.append(f"      protocol: {proto or 'TCP'}")
            if name:
                lines.append(f"      name: {name}")
    return "\n".join(lines) + "\n"


def namespace(name: str, labels: dict[str, str] | None = None) -> str:
    lines = ["---", "apiVersion: v1", "kind: Namespace", "metadata:", f"  name: {name}"]
    if labels:
        lines.append("  labels:")
        lines.extend(f"    {k}: {v!r}" for k, v in labels.items())
    return "\n".join(lines) + "\n"


def policy(name: str, ns: str, spec: str) -> str:
    """A NetworkPolicy document; `spec` is YAML indented as the body of `spec:`."""
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    return (
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata:\n  name: {name}\n  namespace: {ns}\nspec:\n{body}\n"
    )


# --------------------------------------------------------------------------- evaluation

AS_OF = "2026-11-26T00:00:00+00:00"


def scope_from_yaml(text: str, source: str = "scope.yaml"):  # type: ignore[no-untyped-def]
    """A Scope from inline YAML, validated exactly as `--scope FILE` is."""
    from compliance.checks import CHECKS
    from compliance.load import parse_documents
    from compliance.scope import parse_scope

    (doc,) = parse_documents(source, textwrap.dedent(text).encode())
    return parse_scope(doc, source, None, CHECKS)


def run_check(cluster_text: str, scope_text: str, check_id: str, as_of: str = AS_OF):  # type: ignore[no-untyped-def]
    """Evaluate one check for framework `fw` (the zones' frameworks must name `fw`)."""
    import datetime as dt

    from compliance.controls import Framework, Requirement
    from compliance.evaluate import evaluate

    cluster = cluster_from_yaml(cluster_text)
    graph = compute_flows(cluster)
    scope = scope_from_yaml(scope_text)
    framework = Framework(
        id="fw",
        title="Test framework",
        version="1",
        source="tests",
        scope="test scope",
        requirements=(Requirement("R1", "one", "one", "full", (check_id,)),),
        path="fw.yaml",
    )
    result = evaluate(cluster, graph, scope, [framework], dt.datetime.fromisoformat(as_of))
    (fw,) = result.frameworks
    (check,) = fw.checks
    return check


def sample_evaluation(  # type: ignore[no-untyped-def]
    scope: str = "pci-dss", as_of: str = AS_OF, cluster: str = "shop-cluster"
):
    """A bundled cluster (`samples/<cluster>`, the shop by default) evaluated against
    `samples/<scope>.scope.yaml`, as the CLI does it (paths relative to the project root,
    the scope's own frameworks)."""
    import datetime as dt
    import os
    from pathlib import Path

    from compliance.checks import CHECKS
    from compliance.controls import load_catalog
    from compliance.evaluate import evaluate
    from compliance.load import load_paths
    from compliance.scope import read_scope

    root = Path(__file__).resolve().parent.parent
    here = os.getcwd()
    os.chdir(root)
    try:
        catalog = load_catalog((), CHECKS)
        scope_file = read_scope(f"samples/{scope}.scope.yaml", catalog, CHECKS)
        loaded = load_paths([f"samples/{cluster}"])
    finally:
        os.chdir(here)
    built = build_cluster(loaded.objects)
    graph = compute_flows(built)
    frameworks = [catalog[i] for i in scope_file.frameworks]
    moment = dt.datetime.fromisoformat(as_of)
    return evaluate(built, graph, scope_file, frameworks, moment, loaded.inputs)


def evaluation_from_yaml(cluster_text: str, scope_text: str, as_of: str = AS_OF):  # type: ignore[no-untyped-def]
    """An evaluation of an inline cluster and scope against the shipped frameworks the
    scope's zones name: for tests that plant hostile values in an export."""
    import datetime as dt

    from compliance.checks import CHECKS
    from compliance.controls import load_catalog
    from compliance.evaluate import evaluate

    catalog = load_catalog((), CHECKS)
    cluster = cluster_from_yaml(cluster_text)
    scope = scope_from_yaml(scope_text)
    frameworks = [catalog[i] for i in scope.frameworks]
    moment = dt.datetime.fromisoformat(as_of)
    return evaluate(cluster, compute_flows(cluster), scope, frameworks, moment)


PACK_FILES = ["evidence.xlsx", "manifest.json", "report.pdf", "results.json", "snapshot.json"]
"""Every file `report` writes into a pack folder (a signed pack adds manifest.json.sig)."""


def cli_run(args: list[str], capsys: Any) -> Result:
    """Run the CLI in-process with a list of arguments; `capsys` is pytest's fixture."""
    from compliance.cli import cli, run

    code = run(cli.main, args)
    out, err = capsys.readouterr()
    return Result(code, out, err)


def cde_scope(namespace: str) -> str:
    """A scope whose cardholder-data zone is the namespace `namespace` (PCI DSS)."""
    return f"""\
cluster: test
zones:
  - name: cde
    role: cde
    frameworks: [pci-dss-4.0.1]
    selectors:
      - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {namespace}}}}}
"""


SHOP_SCOPE = (
    cde_scope("shop")
    + """\
approved_flows:
  - id: AF-001
    from: {workload: web/app}
    to: {workload: shop/db}
    ports: [{protocol: TCP, port: 5432}]
    justification: orders
    owner: team
    ticket: CHG-1
    approved_by: CISO
    expires: 2027-06-30
"""
)
"""A cardholder-data zone of namespace `shop` and one register entry, web/app to shop/db
on TCP 5432: the scope the diff and baseline tests compare clusters under."""


def html_text(html: str) -> str:
    """The text a reader sees in report HTML, every run of whitespace as one space: tags
    gone (`<wbr>`, a break opportunity inside a word, without a space), entities decoded.
    For tests of what the report says; the PDF tests check that the layout shows it."""
    import html as html_module
    import re

    text = re.sub(r"<[^>]*>", " ", re.sub(r"<wbr\s*/?>", "", html))
    return " ".join(html_module.unescape(text).split())


# --------------------------------------------------------------------------- hostile values

HOSTILE_MARKUP = '<img src="file:///etc/passwd"> & </p><script>x()</script>'
"""Markup a cluster or scope value may carry: it must print as text and fetch nothing."""
RLO = "\u202e"
"""Right-to-left override: a hidden character that would reorder what a reader sees."""

PAY_AND_WEB = "\n".join(
    [
        namespace("pay", {"tier": "cde"}),
        pod("api", "pay", {"app": "api"}, ports="http:8080/TCP"),
        namespace("web"),
        pod("front", "web", {"app": "front"}),
    ]
)
"""Two namespaces, a pod in each: the smallest export with a CDE and a peer."""

HOSTILE_CLUSTER = "\n".join(
    [
        PAY_AND_WEB,
        "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n"
        "metadata: {name: cde-guard}\nspec:\n  priority: 3\n"
        "  subject: {namespaces: {matchLabels: {tier: cde}}}\n"
        "  ingress: [{name: deny-web, action: Deny, from: [{namespaces: {matchLabels: "
        "{kubernetes.io/metadata.name: web}}}]}]\n",
    ]
)
"""PAY_AND_WEB and an AdminNetworkPolicy, so the report has a cluster-wide appendix."""

_q = json.dumps  # a YAML double-quoted scalar: markup and control characters kept as data
_ESC, _BEL, _ZWSP = "\x1b", "\x07", "\u200b"
HOSTILE_SCOPE = f"""
cluster: {_q(f"shop{_ESC}]0;PWNED{_BEL} {HOSTILE_MARKUP}")}
zones:
  - name: cde
    role: cde
    frameworks: [pci-dss-4.0.1]
    description: {_q(f"holds {RLO}cards")}
    selectors:
      - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: pay}}}}
approved_flows:
  - id: {_q("<b>AF-1</b>")}
    from: {{namespace: web}}
    to: {{zone: cde}}
    justification: {_q(HOSTILE_MARKUP)}
    owner: {_q("<u>team</u>")}
    ticket: CHG-1
    expires: 2027-01-31
  - id: {_q(f"AF{RLO}-1")}
    from: {{namespace: web}}
    to: {{zone: cde}}
    justification: {_q(f"checkout{_ZWSP} calls the api")}
    owner: {_q(f"team{RLO}evil")}
    ticket: {_q(f"CHG-1{_BEL}")}
    expires: 2027-01-31
"""
"""A scope whose cluster name, zone description and approved flows carry markup and
hidden characters."""

HOSTILE_TITLE = f"{HOSTILE_MARKUP} Title{RLO}x"
