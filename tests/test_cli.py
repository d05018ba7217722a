"""End-to-end tests of `compliance flows`: bad input, warnings, loading forms,
the flows JSON contract, the other formats and `--explain`.

Most cases run the CLI in-process through `compliance.cli.run`; a few run it as
a real subprocess (standard input, real exit codes, no traceback, no crash).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import itertools
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from compliance.cli import cli, run
from tests.helpers import Result

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SAMPLE_DIR = SAMPLES / "shop-cluster"
SAMPLE_JSON = SAMPLES / "shop-cluster.json"
FORMATS = ("txt", "json", "csv", "md")


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def flows(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def invoke(*args: object, prefix: Iterable[str] = ()) -> Result:
        capsys.readouterr()  # drop anything printed before
        started = time.perf_counter()
        code = run(cli.main, [*prefix, "flows", *(str(a) for a in args)])
        elapsed = time.perf_counter() - started
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err, elapsed)

    return invoke


def run_subprocess(*args: object, stdin: str | None = None, timeout: float = 60) -> Result:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "compliance", *(str(a) for a in args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)


def dump(path: Path, docs: Iterable[Any] | str) -> Path:
    """Write YAML documents (or raw text) to `path` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(docs, str):
        path.write_text(docs, encoding="utf-8")
    elif path.suffix == ".json":
        items = list(docs)
        path.write_text(json.dumps(items[0] if len(items) == 1 else items), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump_all(list(docs), sort_keys=False), encoding="utf-8")
    return path


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def container(ports: Iterable[tuple[int, str | None]] = ()) -> dict[str, Any]:
    c: dict[str, Any] = {"name": "main", "image": "example/app:1"}
    plist = []
    for number, name in ports:
        p: dict[str, Any] = {"containerPort": number, "protocol": "TCP"}
        if name:
            p["name"] = name
        plist.append(p)
    if plist:
        c["ports"] = plist
    return c


def deployment(
    name: str,
    labels: dict[str, str],
    ports: Iterable[tuple[int, str | None]] = (),
    ns: str = "prod",
    meta_labels: dict[str, Any] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if meta_labels is not None:
        meta["labels"] = meta_labels
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container(ports)]},
            },
        },
    }


def pod(
    name: str,
    labels: dict[str, str],
    ports: Iterable[tuple[int, str | None]] = (),
    ns: str = "prod",
    host_network: bool = False,
    with_type: bool = True,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [container(ports)]}
    if host_network:
        spec["hostNetwork"] = True
    obj: dict[str, Any] = {
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": spec,
    }
    if with_type:
        obj = {"apiVersion": "v1", "kind": "Pod", **obj}
    return obj


def policy(name: str, spec: dict[str, Any], ns: str = "prod") -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def ingress_policy(name: str, rule: dict[str, Any], ns: str = "prod") -> dict[str, Any]:
    return policy(name, {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [rule]}, ns)


def small_cluster() -> list[dict[str, Any]]:
    """prod: web -> db on TCP 5432 under default deny; db's replicas may not talk."""
    return [
        namespace("prod"),
        deployment("web", {"app": "web"}, [(8080, "http")]),
        deployment("db", {"app": "db"}, [(5432, "postgres")]),
        policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        policy(
            "web-egress",
            {
                "podSelector": {"matchLabels": {"app": "web"}},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"podSelector": {"matchLabels": {"app": "db"}}}],
                        "ports": [{"protocol": "TCP", "port": 5432}],
                    }
                ],
            },
        ),
        policy(
            "db-ingress",
            {
                "podSelector": {"matchLabels": {"app": "db"}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                        "ports": [{"protocol": "TCP", "port": "postgres"}],
                    }
                ],
            },
        ),
    ]


SMALL_FLOWS = {
    "flows": [
        {
            "src": {"workload": "prod/web", "kind": "Deployment"},
            "dst": {"workload": "prod/db", "kind": "Deployment"},
            "connections": [{"protocol": "TCP", "ports": [[5432, 5432]]}],
        }
    ]
}
SMALL_TXT = "prod/web[Deployment] => prod/db[Deployment] : TCP 5432\n"


def assert_no_traceback(res: Result) -> None:
    assert "Traceback" not in res.out
    assert "Traceback" not in res.err


def assert_input_error(res: Result, *fragments: str) -> str:
    """Exit 2, nothing on stdout, exactly one `error: ` line naming every fragment."""
    assert res.code == 2, (res.code, res.out, res.err)
    assert res.out == ""
    assert_no_traceback(res)
    lines = res.err_lines
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    line = lines[0]
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} missing from {line!r}"
    return line


def flow_index(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Workload-to-workload flows keyed by (src, dst) `ns/name`."""
    out = {}
    for f in doc["flows"]:
        if "workload" in f["src"] and "workload" in f["dst"]:
            out[(f["src"]["workload"], f["dst"]["workload"])] = f
    return out


def tcp(*ports: int | tuple[int, int]) -> list[dict[str, Any]]:
    ranges = [[p, p] if isinstance(p, int) else list(p) for p in ports]
    return [{"protocol": "TCP", "ports": ranges}]


# --------------------------------------------------------------------------- bad input

BAD_NETPOL = "NetworkPolicy prod/bad"
PEER0 = "spec.ingress[0].from[0]"
PORT0 = "spec.ingress[0].ports[0]"


def _ip_rule(ip_block: dict[str, Any]) -> dict[str, Any]:
    return ingress_policy("bad", {"from": [{"ipBlock": ip_block}]})


def _ports_rule(entry: dict[str, Any]) -> dict[str, Any]:
    return ingress_policy("bad", {"ports": [entry]})


def _selector_policy(expr: dict[str, Any]) -> dict[str, Any]:
    return policy("bad", {"podSelector": {"matchExpressions": [expr]}})


# (id, documents of prod.yaml, fragments the one error line must contain)
POLICY_CASES: list[tuple[str, list[dict[str, Any]], list[str]]] = [
    (
        "invalid-cidr",
        [_ip_rule({"cidr": "10.0.0.300/8"})],
        [BAD_NETPOL, f"{PEER0}.ipBlock.cidr", "10.0.0.300/8"],
    ),
    (
        "cidr-without-prefix",
        [_ip_rule({"cidr": "not-an-address"})],
        [BAD_NETPOL, f"{PEER0}.ipBlock.cidr"],
    ),
    (
        "except-outside-cidr",
        [_ip_rule({"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]})],
        [BAD_NETPOL, f"{PEER0}.ipBlock.except[0]", "192.168.0.0/16"],
    ),
    (
        "except-other-family",
        [_ip_rule({"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "fd00::/8"]})],
        [BAD_NETPOL, f"{PEER0}.ipBlock.except[1]"],
    ),
    (
        "label-key-in-metadata",
        [deployment("web", {"app": "web"}, meta_labels={"bad key!": "x"})],
        ["Deployment prod/web", "metadata.labels", "bad key!"],
    ),
    (
        "label-value-in-metadata",
        [deployment("web", {"app": "web"}, meta_labels={"team": "-not valid-"})],
        ["Deployment prod/web", "metadata.labels", "-not valid-"],
    ),
    (
        "label-value-in-matchlabels",
        [policy("bad", {"podSelector": {"matchLabels": {"app": "has space"}}})],
        [BAD_NETPOL, "spec.podSelector.matchLabels", "has space"],
    ),
    (
        "label-key-in-peer-matchlabels",
        [ingress_policy("bad", {"from": [{"podSelector": {"matchLabels": {"/app": "x"}}}]})],
        [BAD_NETPOL, f"{PEER0}.podSelector.matchLabels", "/app"],
    ),
    (
        "ipblock-with-podselector",
        [
            ingress_policy(
                "bad",
                {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]},
            )
        ],
        [BAD_NETPOL, PEER0, "ipBlock"],
    ),
    (
        "empty-peer",
        [ingress_policy("bad", {"from": [{}]})],
        [BAD_NETPOL, PEER0],
    ),
    (
        "endport-with-named-port",
        [_ports_rule({"port": "http", "endPort": 9000})],
        [BAD_NETPOL, f"{PORT0}.endPort"],
    ),
    (
        "endport-below-port",
        [_ports_rule({"port": 9000, "endPort": 8000})],
        [BAD_NETPOL, f"{PORT0}.endPort", "8000", "9000"],
    ),
    (
        "port-zero",
        [_ports_rule({"port": 0})],
        [BAD_NETPOL, f"{PORT0}.port", "0"],
    ),
    (
        "port-70000",
        [_ports_rule({"port": 70000})],
        [BAD_NETPOL, f"{PORT0}.port", "70000"],
    ),
    (
        "endport-70000",
        [_ports_rule({"port": 8000, "endPort": 70000})],
        [BAD_NETPOL, f"{PORT0}.endPort", "70000"],
    ),
    (
        "protocol-icmp",
        [_ports_rule({"protocol": "ICMP", "port": 8})],
        [BAD_NETPOL, f"{PORT0}.protocol", "ICMP"],
    ),
    (
        "selector-operator",
        [_selector_policy({"key": "app", "operator": "Equals", "values": ["web"]})],
        [BAD_NETPOL, "spec.podSelector.matchExpressions[0].operator", "Equals"],
    ),
    (
        "values-with-exists",
        [_selector_policy({"key": "app", "operator": "Exists", "values": ["web"]})],
        [BAD_NETPOL, "spec.podSelector.matchExpressions[0].values"],
    ),
    (
        "values-missing-with-in",
        [_selector_policy({"key": "app", "operator": "In"})],
        [BAD_NETPOL, "spec.podSelector.matchExpressions[0].values"],
    ),
    (
        "values-empty-with-notin",
        [
            ingress_policy(
                "bad",
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchExpressions": [
                                    {"key": "team", "operator": "NotIn", "values": []}
                                ]
                            }
                        }
                    ]
                },
            )
        ],
        [BAD_NETPOL, f"{PEER0}.namespaceSelector.matchExpressions[0].values"],
    ),
    (
        "unknown-policy-type",
        [policy("bad", {"podSelector": {}, "policyTypes": ["Ingress", "Egres"]})],
        [BAD_NETPOL, "spec.policyTypes[1]", "Egres"],
    ),
]


@pytest.mark.parametrize(
    ("docs", "fragments"),
    [pytest.param(d, f, id=i) for i, d, f in POLICY_CASES],
)
def test_bad_object_is_refused_with_file_object_and_field(
    flows: Callable[..., Result], tmp_path: Path, docs: list[dict[str, Any]], fragments: list[str]
) -> None:
    path = dump(tmp_path / "prod.yaml", [namespace("prod"), *docs])
    assert_input_error(flows(path), str(path), *fragments)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_object_is_refused_in_every_format(
    flows: Callable[..., Result], tmp_path: Path, fmt: str
) -> None:
    path = dump(tmp_path / "prod.yaml", [_ports_rule({"port": 70000})])
    assert_input_error(flows(path, "--format", fmt), str(path), BAD_NETPOL, f"{PORT0}.port")


def test_invalid_yaml_names_line_and_column(flows: Callable[..., Result], tmp_path: Path) -> None:
    path = dump(
        tmp_path / "broken.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: name: prod\n",
    )
    line = assert_input_error(flows(path), str(path))
    assert re.search(r"\bline 3\b", line), line
    assert re.search(r"\bcolumn \d+\b", line), line
    assert "YAML" in line


def test_invalid_yaml_in_second_document(flows: Callable[..., Result], tmp_path: Path) -> None:
    path = dump(
        tmp_path / "multi.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [dev\n",
    )
    line = assert_input_error(flows(path), str(path))
    assert re.search(r"\bline (9|10)\b", line), line
    assert re.search(r"\bcolumn \d+\b", line), line


def test_invalid_json_names_line_and_column(flows: Callable[..., Result], tmp_path: Path) -> None:
    path = dump(
        tmp_path / "export.json",
        '{\n  "apiVersion": "v1",\n  "kind": "List",\n  "items": [,]\n}\n',
    )
    line = assert_input_error(flows(path), str(path))
    assert re.search(r"\bline 4\b", line), line
    assert re.search(r"\bcolumn \d+\b", line), line
    assert "JSON" in line


def test_duplicate_object_across_two_files(flows: Callable[..., Result], tmp_path: Path) -> None:
    first = dump(tmp_path / "a.yaml", [namespace("prod"), deployment("web", {"app": "web"})])
    second = dump(tmp_path / "b.yaml", [deployment("web", {"app": "other"})])
    line = assert_input_error(flows(first, second), "Deployment prod/web", "duplicate")
    assert str(first) in line and str(second) in line, line


def test_duplicate_object_across_files_of_a_folder(
    flows: Callable[..., Result], tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    dump(folder / "a.yaml", [namespace("prod"), policy("p", {"podSelector": {}})])
    dump(folder / "sub" / "b.yaml", [policy("p", {"podSelector": {}})])
    line = assert_input_error(flows(folder), "NetworkPolicy prod/p", "duplicate")
    assert "a.yaml" in line and "b.yaml" in line, line


def test_duplicate_object_within_one_file(flows: Callable[..., Result], tmp_path: Path) -> None:
    path = dump(
        tmp_path / "one.yaml",
        [namespace("prod"), deployment("web", {"app": "web"}), deployment("web", {"app": "web"})],
    )
    assert_input_error(flows(path), str(path), "Deployment prod/web", "duplicate")


def test_duplicate_namespace_within_a_list(flows: Callable[..., Result], tmp_path: Path) -> None:
    path = dump(
        tmp_path / "list.yaml",
        [{"apiVersion": "v1", "kind": "List", "items": [namespace("prod"), namespace("prod")]}],
    )
    assert_input_error(flows(path), str(path), "Namespace prod", "duplicate")


def test_duplicate_object_served_by_two_api_groups(
    flows: Callable[..., Result], tmp_path: Path
) -> None:
    """`deployments.apps` and `deployments.extensions` list the same objects: one Deployment."""
    apps = deployment("web", {"app": "web"})
    legacy = {**deployment("web", {"app": "web"}), "apiVersion": "extensions/v1beta1"}
    path = dump(tmp_path / "both.yaml", [namespace("prod"), apps, legacy])
    assert_input_error(flows(path), str(path), "Deployment prod/web", "duplicate")


def test_duplicate_when_both_sample_forms_are_given(flows: Callable[..., Result]) -> None:
    line = assert_input_error(flows(SAMPLE_DIR, SAMPLE_JSON), "duplicate")
    assert str(SAMPLE_JSON) in line and str(SAMPLE_DIR) in line, line


def test_invalid_yaml_inside_a_folder_names_the_file(
    flows: Callable[..., Result], tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    dump(folder / "a.yaml", small_cluster())
    bad = dump(folder / "sub" / "b.yaml", "kind: Namespace\nmetadata: {name: x\n")
    line = assert_input_error(flows(folder), "b.yaml")
    assert bad.relative_to(tmp_path).as_posix() in line
    assert re.search(r"\bline \d+, column \d+\b", line), line


def test_file_that_is_not_utf8(flows: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: caf\xe9\n")
    assert_input_error(flows(path), str(path))


def test_document_that_is_not_a_map(flows: Callable[..., Result], tmp_path: Path) -> None:
    path = dump(tmp_path / "mixed.yaml", [namespace("prod"), "just a string"])
    assert_input_error(flows(path), str(path))


@pytest.mark.parametrize(
    "text",
    [
        'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n  labels: {"bad\\nkey": x}\n',
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: "we\\nb"\n'
        "  namespace: prod\nspec: {}\n",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: prod}"
        "\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n"
        '      "evil\\nfield": 1\n',
    ],
    ids=["label-key", "object-name", "unknown-field"],
)
def test_error_stays_on_one_line_when_values_hold_newlines(
    flows: Callable[..., Result], tmp_path: Path, text: str
) -> None:
    """Values from the export are data: a newline in one must not split the error line."""
    path = dump(tmp_path / "nl.yaml", text)
    assert_input_error(flows(path), str(path))


def test_missing_path(flows: Callable[..., Result], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "export.yaml"
    assert_input_error(flows(missing), str(missing))


def test_missing_path_among_good_ones(flows: Callable[..., Result], tmp_path: Path) -> None:
    good = dump(tmp_path / "good.yaml", small_cluster())
    missing = tmp_path / "typo.yaml"
    assert_input_error(flows(good, missing), str(missing))


def test_folder_without_manifests(flows: Callable[..., Result], tmp_path: Path) -> None:
    folder = tmp_path / "empty-export"
    (folder / "sub").mkdir(parents=True)
    (folder / "README.md").write_text("# nothing here\n")
    (folder / "sub" / "notes.txt").write_text("kind: Namespace\n")
    assert_input_error(flows(folder), str(folder))


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


# Refusal takes a few hundredths of a second; the bound only proves there is no hang
# or exponential blow-up, with room for a loaded CI machine (speed is for benchmarks).
NO_HANG = 5.0


def test_alias_bomb_is_refused_quickly(flows: Callable[..., Result], tmp_path: Path) -> None:
    path = dump(tmp_path / "bomb.yaml", billion_laughs(9))
    res = flows(path)
    assert_input_error(res, str(path))
    assert res.seconds < NO_HANG, f"took {res.seconds:.2f}s"


def test_alias_bomb_inside_a_kubernetes_object_is_refused_quickly(
    flows: Callable[..., Result], tmp_path: Path
) -> None:
    bomb = billion_laughs(9).replace("\n", "\n  ").rstrip()
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n  namespace: prod\n"
        f"data:\n  {bomb}\n"
    )
    path = dump(tmp_path / "bomb.yaml", text)
    res = flows(path)
    assert_input_error(res, str(path))
    assert res.seconds < NO_HANG, f"took {res.seconds:.2f}s"


DEEP = "[" * 100_000 + "]" * 100_000
DEEP_BLOCK = "- " * 100_000 + "x\n"  # block sequences nested on one line
DEEP_KEYS = "".join(" " * i + "k:\n" for i in range(2_000)) + " " * 2_000 + "v\n"


@pytest.mark.parametrize("text", [DEEP, DEEP_BLOCK, DEEP_KEYS], ids=["flow", "block", "keys"])
def test_deeply_nested_yaml_is_refused_quickly(
    flows: Callable[..., Result], tmp_path: Path, text: str
) -> None:
    path = dump(tmp_path / "deep.yaml", text)
    res = flows(path)
    assert_input_error(res, str(path))
    assert res.seconds < NO_HANG, f"took {res.seconds:.2f}s"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.yaml", DEEP),
        ("deep-block.yaml", DEEP_BLOCK),
        ("deep-keys.yaml", DEEP_KEYS),
        ("deep.json", DEEP),
        ("deep-map.json", '{"a":' * 100_000 + "1" + "}" * 100_000),
    ],
    ids=["yaml-flow", "yaml-block", "yaml-keys", "json-list", "json-map"],
)
def test_deeply_nested_input_does_not_crash_the_process(
    tmp_path: Path, name: str, text: str
) -> None:
    path = dump(tmp_path / name, text)
    res = run_subprocess("flows", path)
    assert res.code == 2, (res.code, res.err[-2000:])
    assert res.out == ""
    assert_no_traceback(res)
    assert len(res.err_lines) == 1 and res.err_lines[0].startswith("error: "), res.err[-2000:]
    assert str(path) in res.err


def test_bad_input_real_exit_code_without_traceback(tmp_path: Path) -> None:
    path = dump(tmp_path / "prod.yaml", [_ip_rule({"cidr": "10.0.0.0/33"})])
    res = run_subprocess("flows", path)
    assert_input_error(res, str(path), BAD_NETPOL, f"{PEER0}.ipBlock.cidr")


@pytest.mark.parametrize("where", ["group", "command"])
def test_debug_prints_a_traceback_and_still_exits_2(
    flows: Callable[..., Result], tmp_path: Path, where: str
) -> None:
    path = dump(tmp_path / "prod.yaml", [_ip_rule({"cidr": "10.0.0.0/33"})])
    res = flows(path, "--debug") if where == "command" else flows(path, prefix=["--debug"])
    assert res.code == 2
    assert res.out == ""
    assert "Traceback" in res.err
    assert res.err_lines[-1].startswith("error: ")
    assert f"{PEER0}.ipBlock.cidr" in res.err_lines[-1]


def test_debug_in_a_subprocess(tmp_path: Path) -> None:
    path = dump(tmp_path / "prod.yaml", [_ip_rule({"cidr": "10.0.0.0/33"})])
    res = run_subprocess("--debug", "flows", path)
    assert res.code == 2
    assert "Traceback" in res.err
    assert res.err_lines[-1].startswith("error: ")


def test_debug_does_not_leak_into_the_next_in_process_run(
    flows: Callable[..., Result], tmp_path: Path
) -> None:
    path = dump(tmp_path / "prod.yaml", [_ip_rule({"cidr": "10.0.0.0/33"})])
    assert "Traceback" in flows(path, "--debug").err
    assert_input_error(flows(path), str(path))


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--format", "xml", "PLACEHOLDER"],
        ["--explain", "only-one"],
        ["--no-such-option", "PLACEHOLDER"],
    ],
    ids=["no-paths", "unknown-format", "explain-one-arg", "unknown-option"],
)
def test_usage_errors_exit_2(flows: Callable[..., Result], tmp_path: Path, args: list[str]) -> None:
    good = dump(tmp_path / "good.yaml", small_cluster())
    res = flows(*[str(good) if a == "PLACEHOLDER" else a for a in args])
    assert res.code == 2, (res.code, res.err)
    assert res.out == ""
    assert res.err.strip()
    assert_no_traceback(res)


@pytest.mark.parametrize(
    "args",
    [["flows"], ["flows", "--format", "xml", "samples/shop-cluster.json"]],
    ids=["no-paths", "unknown-format"],
)
def test_usage_errors_exit_2_in_a_subprocess(args: list[str]) -> None:
    res = run_subprocess(*args)
    assert res.code == 2, (res.code, res.err)
    assert res.out == ""
    assert res.err.strip()
    assert_no_traceback(res)


# --------------------------------------------------------------------------- warnings


def assert_warned_and_succeeded(res: Result, *fragments: str) -> str:
    assert res.code == 0, (res.code, res.err)
    assert_no_traceback(res)
    assert res.out.strip(), "flows must still be printed"
    warnings = [line for line in res.err_lines if line.startswith("warning: ")]
    matching = [w for w in warnings if all(f in w for f in fragments)]
    assert matching, f"no warning containing {fragments!r} in {res.err_lines!r}"
    return matching[0]


def test_warning_rules_without_their_policy_type(
    flows: Callable[..., Result], tmp_path: Path
) -> None:
    noop = policy(
        "metrics",
        {
            "podSelector": {"matchLabels": {"app": "db"}},
            "policyTypes": ["Egress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}],
        },
    )
    path = dump(tmp_path / "prod.yaml", [*small_cluster(), noop])
    res = flows(path)
    warning = assert_warned_and_succeeded(res, "NetworkPolicy prod/metrics", "no effect")
    assert "ingress" in warning.lower()
    assert str(path) in warning
    # The ignored ingress rule (web -> db on every port) must not widen the flow.
    assert res.out == SMALL_TXT


def test_warning_policy_selects_nothing(flows: Callable[..., Result], tmp_path: Path) -> None:
    dangling = policy(
        "legacy",
        {"podSelector": {"matchLabels": {"app": "legacy-billing"}}, "ingress": [{}]},
    )
    path = dump(tmp_path / "prod.yaml", [*small_cluster(), dangling])
    res = flows(path)
    assert_warned_and_succeeded(res, "prod/legacy", "selects no pods")
    assert res.out == SMALL_TXT


def test_warning_named_port_nobody_declares(flows: Callable[..., Result], tmp_path: Path) -> None:
    scrape = policy(
        "scrape",
        {
            "podSelector": {"matchLabels": {"app": "db"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                    "ports": [{"port": "metrics"}],
                }
            ],
        },
    )
    path = dump(tmp_path / "prod.yaml", [*small_cluster(), scrape])
    res = flows(path)
    assert_warned_and_succeeded(res, "prod/scrape", "'metrics'")
    assert res.out == SMALL_TXT, "a name no container declares allows nothing"


def test_warning_host_network_pod(flows: Callable[..., Result], tmp_path: Path) -> None:
    agent = pod("node-agent", {"app": "agent"}, [(9100, "metrics")], host_network=True)
    path = dump(tmp_path / "prod.yaml", [*small_cluster(), agent])
    res = flows(path)
    assert_warned_and_succeeded(res, "prod/node-agent", "hostNetwork")
    # Never claimed isolated, although default-deny selects it.
    doc = flows(path, "--format", "json").json()
    assert flow_index(doc)[("prod/node-agent", "prod/node-agent")]["connections"] == "all"
    from_outside = [
        f
        for f in doc["flows"]
        if "cidrs" in f["src"] and f["dst"].get("workload") == "prod/node-agent"
    ]
    assert len(from_outside) == 1 and from_outside[0]["connections"] == "all"
    assert ("prod/web", "prod/node-agent") not in flow_index(doc), "web's egress still applies"


def test_warning_file_without_kubernetes_objects_is_skipped(
    flows: Callable[..., Result], tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    dump(folder / "cluster.yaml", small_cluster())
    stray = dump(folder / "report.yaml", [{"report": "x"}])
    res = flows(folder)
    warning = assert_warned_and_succeeded(res, "report.yaml")
    assert "skip" in warning.lower()
    assert Path(stray).name in warning
    assert res.out == SMALL_TXT


def test_warning_stray_json_file_given_by_name(
    flows: Callable[..., Result], tmp_path: Path
) -> None:
    good = dump(tmp_path / "cluster.yaml", small_cluster())
    stray = dump(tmp_path / "summary.json", '{"report": "x", "total": 3}\n')
    res = flows(good, stray)
    assert_warned_and_succeeded(res, str(stray))
    assert res.out == SMALL_TXT


def test_verbose_counts_unused_kinds(flows: Callable[..., Result], tmp_path: Path) -> None:
    extra = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "prod"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "prod"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "prod"}},
    ]
    path = dump(tmp_path / "prod.yaml", [*small_cluster(), *extra])
    res = flows(path, "--verbose")
    assert res.code == 0, res.err
    assert res.out == SMALL_TXT
    service = [line for line in res.err_lines if "Service" in line]
    configmap = [line for line in res.err_lines if "ConfigMap" in line]
    assert len(service) == 1 and re.search(r"\b1\b", service[0]), res.err
    assert len(configmap) == 1 and re.search(r"\b2\b", configmap[0]), res.err
    # Without --verbose they are not reported.
    quiet = flows(path)
    assert "Service" not in quiet.err and "ConfigMap" not in quiet.err


# --------------------------------------------------------------------------- loading forms


def small_json(flows: Callable[..., Result], *paths: object) -> dict[str, Any]:
    res = flows(*paths, "--format", "json")
    assert res.code == 0, res.err
    return res.json()


def test_multi_document_yaml(flows: Callable[..., Result], tmp_path: Path) -> None:
    path = dump(tmp_path / "multi.yaml", small_cluster())
    assert small_json(flows, path) == SMALL_FLOWS
    assert flows(path).out == SMALL_TXT


def test_kind_list_in_yaml(flows: Callable[..., Result], tmp_path: Path) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": small_cluster(),
    }
    path = dump(tmp_path / "list.yml", [doc])
    assert small_json(flows, path) == SMALL_FLOWS


def test_lists_mixed_with_plain_documents(flows: Callable[..., Result], tmp_path: Path) -> None:
    objs = small_cluster()
    path = dump(
        tmp_path / "mixed.yaml",
        [{"apiVersion": "v1", "kind": "List", "items": objs[:3]}, None, *objs[3:]],
    )
    assert small_json(flows, path) == SMALL_FLOWS


def test_typed_list_items_without_kind(flows: Callable[..., Result], tmp_path: Path) -> None:
    pods = {
        "apiVersion": "v1",
        "kind": "PodList",
        "metadata": {"resourceVersion": "123"},
        "items": [
            pod("web-1", {"app": "web"}, with_type=False),
            pod("db-1", {"app": "db"}, [(5432, "postgres")], with_type=False),
        ],
    }
    policies = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicyList",
        "items": [
            {k: v for k, v in p.items() if k not in ("kind", "apiVersion")}
            for p in small_cluster()[3:]
        ],
    }
    path = dump(tmp_path / "raw.yaml", [namespace("prod"), pods, policies])
    assert small_json(flows, path) == {
        "flows": [
            {
                "src": {"workload": "prod/web-1", "kind": "Pod"},
                "dst": {"workload": "prod/db-1", "kind": "Pod"},
                "connections": tcp(5432),
            }
        ]
    }


def test_typed_list_in_json(flows: Callable[..., Result], tmp_path: Path) -> None:
    deployments = {
        "apiVersion": "apps/v1",
        "kind": "DeploymentList",
        "items": [
            {k: v for k, v in d.items() if k not in ("kind", "apiVersion")}
            for d in small_cluster()[1:3]
        ],
    }
    first = dump(tmp_path / "deployments.json", json.dumps(deployments, indent=2))
    rest = dump(
        tmp_path / "rest.json",
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [small_cluster()[0], *small_cluster()[3:]],
            }
        ),
    )
    assert small_json(flows, first, rest) == SMALL_FLOWS


def test_json_file(flows: Callable[..., Result], tmp_path: Path) -> None:
    path = dump(
        tmp_path / "export.json",
        json.dumps({"apiVersion": "v1", "kind": "List", "items": small_cluster()}, indent=2),
    )
    assert small_json(flows, path) == SMALL_FLOWS


def test_folder_is_read_recursively(flows: Callable[..., Result], tmp_path: Path) -> None:
    objs = small_cluster()
    folder = tmp_path / "export"
    dump(folder / "namespaces.yaml", objs[:1])
    dump(folder / "prod" / "workloads.yml", objs[1:3])
    dump(
        folder / "prod" / "policies" / "netpol.json",
        json.dumps({"apiVersion": "v1", "kind": "List", "items": objs[3:]}),
    )
    # Not manifests: ignored even though they would not parse or would add objects.
    (folder / "README.md").write_text("# export\n: not: yaml: [\n")
    (folder / "prod" / "notes.txt").write_text("{{{ not yaml\n")
    dump(folder / "prod" / "extra.yaml.bak", [deployment("ghost", {"app": "web"})])
    res = flows(folder, "--verbose")
    assert res.code == 0, res.err
    assert res.out == SMALL_TXT
    assert re.search(r"\b3 file", res.err), res.err
    assert small_json(flows, folder) == SMALL_FLOWS


def test_stdin_yaml() -> None:
    text = yaml.safe_dump_all(small_cluster())
    res = run_subprocess("flows", "-", "--format", "json", stdin=text)
    assert res.code == 0, res.err
    assert res.json() == SMALL_FLOWS


def test_stdin_json() -> None:
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": small_cluster()})
    res = run_subprocess("flows", "-", stdin=text)
    assert res.code == 0, res.err
    assert res.out == SMALL_TXT


def test_stdin_combined_with_a_file(tmp_path: Path) -> None:
    objs = small_cluster()
    path = dump(tmp_path / "ns.yaml", objs[:3])
    res = run_subprocess("flows", path, "-", "--format", "json", stdin=yaml.safe_dump_all(objs[3:]))
    assert res.code == 0, res.err
    assert res.json() == SMALL_FLOWS


def test_stdin_bad_input_names_stdin() -> None:
    res = run_subprocess("flows", "-", stdin="apiVersion: v1\nkind: Namespace\nmetadata: a: b\n")
    line = assert_input_error(res)
    assert "stdin" in line


def test_samples_folder_copy_still_loads(flows: Callable[..., Result], tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(SAMPLE_DIR, copy)
    (copy / "NOTES.txt").write_text("not a manifest\n")
    assert flows(copy).out == flows(SAMPLE_DIR).out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("show_rules", [False, True], ids=["plain", "show-rules"])
def test_samples_folder_and_json_give_the_same_flows(
    flows: Callable[..., Result], fmt: str, show_rules: bool
) -> None:
    extra = ["--show-rules"] if show_rules else []
    from_dir = flows(SAMPLE_DIR, "--format", fmt, *extra)
    from_json = flows(SAMPLE_JSON, "--format", fmt, *extra)
    assert from_dir.code == 0 and from_json.code == 0, (from_dir.err, from_json.err)
    assert from_dir.out.strip()
    assert from_dir.out == from_json.out


# --------------------------------------------------------------------------- JSON contract


@pytest.fixture(scope="module")
def sample_doc() -> dict[str, Any]:
    res = run_subprocess("flows", SAMPLE_JSON, "--format", "json")
    assert res.code == 0, res.err
    return res.json()


def _peer_key(peer: dict[str, Any]) -> tuple[Any, ...]:
    if "workload" in peer:
        ns, name = peer["workload"].split("/", 1)
        return (0, ns, name, peer["kind"])
    nets = [ipaddress.ip_network(c) for c in peer["cidrs"]]
    return (1, tuple((n.version, int(n.network_address), int(n.broadcast_address)) for n in nets))


def check_peer(peer: Any) -> None:
    assert isinstance(peer, dict)
    if "workload" in peer:
        assert set(peer) == {"workload", "kind"}, peer
        assert isinstance(peer["workload"], str) and isinstance(peer["kind"], str)
        assert re.fullmatch(r"[a-z0-9-]+/[a-z0-9.-]+", peer["workload"]), peer
        assert peer["kind"] in {
            "Pod",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "ReplicationController",
            "Job",
            "CronJob",
        }, peer
        return
    assert set(peer) == {"cidrs"}, peer
    cidrs = peer["cidrs"]
    assert isinstance(cidrs, list) and cidrs, peer
    nets = [ipaddress.ip_network(c) for c in cidrs]  # strict: host bits must be zero
    assert [str(n) for n in nets] == cidrs, "CIDRs in canonical form"
    keyed = sorted(nets, key=lambda n: (n.version, int(n.network_address)))
    assert keyed == nets, "CIDRs sorted"
    for a, b in itertools.pairwise(nets):
        if a.version == b.version:
            assert int(a.broadcast_address) < int(b.network_address), f"{a} overlaps {b}"


def check_connections(conns: Any) -> None:
    if conns == "all":
        return
    assert isinstance(conns, list) and conns, conns
    protocols = [c["protocol"] for c in conns]
    assert all(p in ("TCP", "UDP", "SCTP") for p in protocols), conns
    assert len(set(protocols)) == len(protocols), "one entry per protocol"
    order = ["TCP", "UDP", "SCTP"]
    assert protocols == sorted(protocols, key=order.index), "protocols in a fixed order"
    for c in conns:
        assert set(c) == {"protocol", "ports"}, c
        ranges = c["ports"]
        assert isinstance(ranges, list) and ranges, c
        for r in ranges:
            assert isinstance(r, list) and len(r) == 2, r
            lo, hi = r
            assert type(lo) is int and type(hi) is int, r
            assert 1 <= lo <= hi <= 65535, r
        for (_, hi), (lo, _) in itertools.pairwise(ranges):
            assert hi + 1 < lo, f"ranges sorted, disjoint and not adjacent: {ranges}"
    # "all" is spelled "all", never as three full ranges.
    full = [{"protocol": p, "ports": [[1, 65535]]} for p in order]
    assert conns != full


FLOWS_SCHEMA: dict[str, Any] = json.loads(
    (
        Path(__file__).resolve().parent.parent / "compliance" / "schemas" / "flows.schema.json"
    ).read_text()
)


def check_contract(doc: Any) -> None:
    jsonschema.validate(doc, FLOWS_SCHEMA)
    assert isinstance(doc, dict) and list(doc) == ["flows"], "top level is exactly {'flows': [...]}"
    assert isinstance(doc["flows"], list)
    for flow in doc["flows"]:
        assert isinstance(flow, dict) and set(flow) == {"src", "dst", "connections"}, flow
        check_peer(flow["src"])
        check_peer(flow["dst"])
        assert "workload" in flow["src"] or "workload" in flow["dst"], (
            "an external-to-external flow says nothing about the cluster"
        )
        check_connections(flow["connections"])
    pairs = [
        (json.dumps(f["src"], sort_keys=True), json.dumps(f["dst"], sort_keys=True))
        for f in doc["flows"]
    ]
    assert len(pairs) == len(set(pairs)), "one flow per (src, dst) pair"
    keys = [(_peer_key(f["src"]), _peer_key(f["dst"])) for f in doc["flows"]]
    assert keys == sorted(keys), "flows sorted by source, then destination"


def test_json_contract_on_the_samples(sample_doc: dict[str, Any]) -> None:
    check_contract(sample_doc)
    assert len(sample_doc["flows"]) > 20


def test_json_contract_on_a_small_cluster(flows: Callable[..., Result], tmp_path: Path) -> None:
    path = dump(tmp_path / "prod.yaml", small_cluster())
    doc = small_json(flows, path)
    check_contract(doc)
    assert doc == SMALL_FLOWS


def test_json_output_is_byte_identical_across_runs() -> None:
    first = run_subprocess("flows", SAMPLE_JSON, "--format", "json")
    second = run_subprocess("flows", SAMPLE_JSON, "--format", "json")
    assert first.code == second.code == 0
    assert first.out == second.out
    assert first.out.endswith("\n")


def test_json_output_is_identical_in_process_and_across_argument_order(
    flows: Callable[..., Result], tmp_path: Path
) -> None:
    objs = small_cluster()
    a = dump(tmp_path / "a.yaml", objs[:3])
    b = dump(tmp_path / "b.yaml", list(reversed(objs[3:])))
    assert flows(a, b, "--format", "json").out == flows(b, a, "--format", "json").out


def test_empty_cluster_gives_an_empty_flow_list(
    flows: Callable[..., Result], tmp_path: Path
) -> None:
    path = dump(tmp_path / "ns.yaml", [namespace("prod")])
    res = flows(path, "--format", "json")
    assert res.code == 0, res.err
    assert res.json() == {"flows": []}


def test_self_flow_between_replicas(flows: Callable[..., Result], tmp_path: Path) -> None:
    broker = deployment("broker", {"app": "broker"}, [(9094, "replication")])
    allow = policy(
        "broker-replication",
        {
            "podSelector": {"matchLabels": {"app": "broker"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app": "broker"}}}],
                    "ports": [{"port": 9094}],
                }
            ],
            "egress": [
                {
                    "to": [{"podSelector": {"matchLabels": {"app": "broker"}}}],
                    "ports": [{"port": "replication"}],
                }
            ],
        },
    )
    path = dump(tmp_path / "prod.yaml", [*small_cluster(), broker, allow])
    doc = small_json(flows, path)
    check_contract(doc)
    index = flow_index(doc)
    assert index[("prod/broker", "prod/broker")]["connections"] == tcp(9094)
    assert index[("prod/broker", "prod/broker")]["src"] == {
        "workload": "prod/broker",
        "kind": "Deployment",
    }
    assert ("prod/db", "prod/db") not in index, "db replicas may not talk under default deny"
    txt = flows(path).out
    assert "prod/broker[Deployment] => prod/broker[Deployment] : TCP 9094" in txt


def test_sample_self_flows(sample_doc: dict[str, Any]) -> None:
    index = flow_index(sample_doc)
    # Non-isolated workloads talk to themselves...
    assert index[("analytics/data-pipeline", "analytics/data-pipeline")]["connections"] == "all"
    assert ("shared-services/logging", "shared-services/logging") in index
    # ...but kafka and redis replication is blocked by their egress (README item 6).
    assert ("production/kafka", "production/kafka") not in index
    assert ("production/redis", "production/redis") not in index
    assert ("production/zookeeper", "production/zookeeper") not in index


# --------------------------------------------------------------------------- sample content

INTERNET = ["0.0.0.0/0", "::/0"]


def _addresses(cidrs: Iterable[str]) -> list[Any]:
    nets = [ipaddress.ip_network(c) for c in cidrs]
    v4 = list(ipaddress.collapse_addresses(n for n in nets if n.version == 4))
    v6 = list(ipaddress.collapse_addresses(n for n in nets if n.version == 6))
    return [*v4, *v6]


def _flows_from(doc: dict[str, Any], workload: str) -> list[dict[str, Any]]:
    return [f for f in doc["flows"] if f["src"].get("workload") == workload]


def _flows_to(doc: dict[str, Any], workload: str) -> list[dict[str, Any]]:
    return [f for f in doc["flows"] if f["dst"].get("workload") == workload]


def test_sample_app_reaches_postgres_on_5432_only(sample_doc: dict[str, Any]) -> None:
    flow = flow_index(sample_doc)[("production/app", "production/postgres")]
    assert flow["src"] == {"workload": "production/app", "kind": "Deployment"}
    assert flow["dst"] == {"workload": "production/postgres", "kind": "StatefulSet"}
    assert flow["connections"] == tcp(5432)


def test_sample_internet_reaches_ingress_controller_on_80_and_443(
    sample_doc: dict[str, Any],
) -> None:
    incoming = [
        f
        for f in _flows_to(sample_doc, "ingress-nginx/ingress-nginx-controller")
        if "cidrs" in f["src"]
    ]
    assert len(incoming) == 1, incoming
    assert _addresses(incoming[0]["src"]["cidrs"]) == _addresses(INTERNET)
    assert incoming[0]["connections"] == tcp(80, 443)
    assert incoming[0]["dst"]["kind"] == "Deployment"


def test_sample_app_has_no_internet_egress(sample_doc: dict[str, Any]) -> None:
    app = _flows_from(sample_doc, "production/app")
    assert app
    assert not [f for f in app if "cidrs" in f["dst"]], "the 'external APIs' rule is in-cluster"
    index = flow_index(sample_doc)
    assert index[("production/app", "analytics/data-pipeline")]["connections"] == tcp(443)
    assert index[("production/app", "shared-services/logging")]["connections"] == tcp(443, 24224)
    assert index[("production/app", "production/kafka")]["connections"] == tcp(9092)
    assert index[("production/app", "production/redis")]["connections"] == tcp(6379)
    assert index[("production/app", "kube-system/coredns")]["connections"] == [
        {"protocol": "TCP", "ports": [[443, 443]]},
        {"protocol": "UDP", "ports": [[53, 53]]},
    ]


def test_sample_redis_sentinel_has_no_flows_out(sample_doc: dict[str, Any]) -> None:
    assert _flows_from(sample_doc, "production/redis-sentinel") == []


def test_sample_nothing_reaches_zookeeper(sample_doc: dict[str, Any]) -> None:
    assert _flows_to(sample_doc, "production/zookeeper") == []


def test_sample_prometheus_cannot_scrape_app_or_kafka(sample_doc: dict[str, Any]) -> None:
    index = flow_index(sample_doc)
    assert ("monitoring/prometheus", "production/app") not in index
    assert ("monitoring/prometheus", "production/kafka") not in index
    assert ("monitoring/prometheus", "ingress-nginx/ingress-nginx-controller") not in index


def test_sample_dns_over_tcp_only_for_postgres_backup(sample_doc: dict[str, Any]) -> None:
    index = flow_index(sample_doc)
    for src in ("production/app", "production/postgres", "production/redis", "production/kafka"):
        conns = index[(src, "kube-system/coredns")]["connections"]
        udp = [c for c in conns if c["protocol"] == "UDP"]
        assert udp == [{"protocol": "UDP", "ports": [[53, 53]]}], (src, conns)
        tcp53 = [c for c in conns if c["protocol"] == "TCP" and [53, 53] in c["ports"]]
        assert tcp53 == [], (src, conns)
    assert index[("production/postgres-backup", "kube-system/coredns")]["connections"] == [
        {"protocol": "TCP", "ports": [[53, 53]]},
        {"protocol": "UDP", "ports": [[53, 53]]},
    ]


def test_sample_postgres_backup_external_https(sample_doc: dict[str, Any]) -> None:
    external = [
        f for f in _flows_from(sample_doc, "production/postgres-backup") if "cidrs" in f["dst"]
    ]
    assert len(external) == 1, external
    flow = external[0]
    assert flow["src"] == {"workload": "production/postgres-backup", "kind": "CronJob"}
    assert flow["connections"] == tcp(443)
    expected: list[Any] = [ipaddress.ip_network("0.0.0.0/0")]
    for hole in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.169.254/32"):
        hole_net = ipaddress.ip_network(hole)
        expected = [
            piece
            for net in expected
            for piece in (net.address_exclude(hole_net) if hole_net.subnet_of(net) else [net])
        ]
    assert _addresses(flow["dst"]["cidrs"]) == _addresses(str(n) for n in expected)
    covered = [ipaddress.ip_network(c) for c in flow["dst"]["cidrs"]]

    def reaches(ip: str) -> bool:
        addr = ipaddress.ip_address(ip)
        return any(addr in n for n in covered)

    assert reaches("8.8.8.8") and reaches("1.1.1.1")
    for ip in ("10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254"):
        assert not reaches(ip), ip
    assert reaches("169.254.169.253") and reaches("172.32.0.1")
    assert all(n.version == 4 for n in covered), "no IPv6 in the backup's ipBlock"
    assert flow_index(sample_doc)[("production/postgres-backup", "production/postgres")][
        "connections"
    ] == tcp(5432)


def test_sample_ingress_controller_egress_reaches_any_open_pod(sample_doc: dict[str, Any]) -> None:
    index = flow_index(sample_doc)
    ctrl = "ingress-nginx/ingress-nginx-controller"
    assert index[(ctrl, "production/app")]["connections"] == tcp(8080)
    assert index[(ctrl, "analytics/data-pipeline")]["connections"] == tcp(5432, 6379, 8080)
    assert (ctrl, "production/postgres") not in index
    assert (ctrl, "production/redis") not in index


def test_sample_open_namespaces(sample_doc: dict[str, Any]) -> None:
    index = flow_index(sample_doc)
    assert index[("analytics/data-pipeline", "production/kafka")]["connections"] == tcp(9092)
    to_outside = [
        f for f in _flows_from(sample_doc, "analytics/data-pipeline") if "cidrs" in f["dst"]
    ]
    assert len(to_outside) == 1 and to_outside[0]["connections"] == "all"
    assert _addresses(to_outside[0]["dst"]["cidrs"]) == _addresses(INTERNET)


def test_sample_workload_identities(sample_doc: dict[str, Any]) -> None:
    expected = {
        "production/app": "Deployment",
        "production/postgres": "StatefulSet",
        "production/redis": "StatefulSet",
        "production/kafka": "StatefulSet",
        "production/postgres-backup": "CronJob",
        "ingress-nginx/ingress-nginx-controller": "Deployment",
        "monitoring/prometheus": "StatefulSet",
        "monitoring/node-exporter": "DaemonSet",
        "analytics/data-pipeline": "Deployment",
        "shared-services/logging": "Deployment",
        "kube-system/coredns": "Deployment",
        "kube-system/calico-node": "DaemonSet",
    }
    seen: dict[str, set[str]] = {}
    for f in sample_doc["flows"]:
        for peer in (f["src"], f["dst"]):
            if "workload" in peer:
                seen.setdefault(peer["workload"], set()).add(peer["kind"])
    # Pods owned by ReplicaSets missing from the export still climb to their Deployment.
    assert all(len(k) == 1 for k in seen.values()), seen
    assert {w: next(iter(k)) for w, k in seen.items()} == expected
    # The debug pod is isolated both ways with no rules, so it is in no flow.
    assert "production/debug-shell" not in seen


def test_sample_verbose_and_warnings(flows: Callable[..., Result]) -> None:
    for path in (SAMPLE_DIR, SAMPLE_JSON):
        res = flows(path, "--verbose")
        assert res.code == 0, res.err
        assert re.search(r"\b45 objects\b", res.err), res.err
        assert re.search(r"\b15 workloads\b", res.err), res.err
        assert re.search(r"\b11 policies\b", res.err), res.err
        warnings = [ln for ln in res.err_lines if ln.startswith("warning: ")]
        assert any("production/kafka-metrics" in w and "no effect" in w for w in warnings)
        assert any("default/allow-legacy" in w for w in warnings)
        assert any("monitoring/node-exporter" in w and "hostNetwork" in w for w in warnings)
        assert any("kube-system/calico-node" in w and "hostNetwork" in w for w in warnings)


def test_sample_explain_bare_pod(flows: Callable[..., Result]) -> None:
    out = _explain(flows, "production/debug-shell[Pod]", "analytics/data-pipeline").out
    assert out.splitlines()[0].startswith("production/debug-shell[Pod] -> ")
    assert not [ln for ln in _segment_lines(out) if "ALLOWED" in ln]


def test_sample_txt_line_shape(flows: Callable[..., Result]) -> None:
    res = flows(SAMPLE_JSON)
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert "production/app[Deployment] => production/postgres[StatefulSet] : TCP 5432" in lines
    assert (
        "0.0.0.0/0, ::/0 => ingress-nginx/ingress-nginx-controller[Deployment] : TCP 80, 443"
        in lines
    )
    assert (
        "analytics/data-pipeline[Deployment] => analytics/data-pipeline[Deployment] : all (self)"
        in lines
    )
    shape = re.compile(r"^\S.* => \S.* : \S.*$")
    assert all(shape.match(line) for line in lines), [ln for ln in lines if not shape.match(ln)]
    assert len(lines) == len(flows(SAMPLE_JSON, "--format", "json").json()["flows"])


def test_sample_show_rules(flows: Callable[..., Result]) -> None:
    res = flows(SAMPLE_JSON, "--show-rules")
    assert res.code == 0, res.err
    line = next(
        ln
        for ln in res.out.splitlines()
        if ln.startswith("production/app[Deployment] => production/postgres[StatefulSet] :")
    )
    assert "production/app-access egress[0]" in line
    assert "production/postgres-access ingress[0]" in line
    assert "egress[3]" not in line, "the 443 rule does not allow this flow"
    plain = flows(SAMPLE_JSON)
    assert "app-access" not in plain.out


def test_sample_show_rules_in_json_keeps_the_contract_keys(flows: Callable[..., Result]) -> None:
    res = flows(SAMPLE_JSON, "--format", "json", "--show-rules")
    assert res.code == 0, res.err
    doc = res.json()
    assert list(doc) == ["flows"]
    flow = flow_index(doc)[("production/app", "production/postgres")]
    assert {"src", "dst", "connections"} <= set(flow)
    text = json.dumps(flow)
    assert "production/app-access" in text and "production/postgres-access" in text


def test_sample_csv(flows: Callable[..., Result]) -> None:
    txt_lines = flows(SAMPLE_JSON).out.splitlines()
    res = flows(SAMPLE_JSON, "--format", "csv")
    assert res.code == 0, res.err
    rows = list(csv.DictReader(io.StringIO(res.out)))
    assert len(rows) == len(txt_lines)
    assert rows and rows[0].keys() >= {"source", "destination", "connections"}
    row = next(
        r
        for r in rows
        if r["source"] == "production/app[Deployment]"
        and r["destination"] == "production/postgres[StatefulSet]"
    )
    assert row["connections"] == "TCP 5432"
    assert "production/app-access egress[0]" in " ".join(row.values())
    assert all(None not in r for r in rows), "no row has more cells than the header"


def test_sample_md(flows: Callable[..., Result]) -> None:
    n = len(flows(SAMPLE_JSON).out.splitlines())
    res = flows(SAMPLE_JSON, "--format", "md")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0].startswith("|") and "source" in lines[0].lower()
    assert re.fullmatch(r"\|(\s*:?-{3,}:?\s*\|)+", lines[1]), lines[1]
    body = lines[2:]
    assert len(body) == n
    columns = lines[0].count("|")
    assert all(
        line.startswith("|") and line.count("|") - line.count("\\|") == columns for line in body
    )
    assert any(
        "production/app[Deployment]" in ln
        and "production/postgres[StatefulSet]" in ln
        and "TCP 5432" in ln
        for ln in body
    )


def test_csv_neutralises_formula_like_values(flows: Callable[..., Result], tmp_path: Path) -> None:
    """Cluster names cannot start with = + - @, so the cells stay plain text."""
    path = dump(tmp_path / "prod.yaml", small_cluster())
    rows = list(csv.DictReader(io.StringIO(flows(path, "--format", "csv").out)))
    assert len(rows) == 1
    assert rows[0]["source"] == "prod/web[Deployment]"
    assert not any(v and v[0] in "=+-@" for v in rows[0].values())


# --------------------------------------------------------------------------- --explain


def _explain(
    flows: Callable[..., Result], src: str, dst: str, path: object = SAMPLE_JSON
) -> Result:
    res = flows(path, "--explain", src, dst)
    assert res.code == 0, res.err
    return res


def _segment_lines(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if re.match(r"^\s+(TCP|UDP|SCTP) \d+(-\d+)?\s", ln)]


def test_explain_app_to_postgres(flows: Callable[..., Result]) -> None:
    out = _explain(flows, "production/app", "production/postgres").out
    segments = _segment_lines(out)
    allowed = [ln for ln in segments if "ALLOWED" in ln]
    assert len(allowed) == 1, segments
    assert re.match(r"^\s+TCP 5432\s", allowed[0]), allowed
    assert "production/app-access egress[0]" in allowed[0]
    assert "production/postgres-access ingress[0]" in allowed[0]
    denied = [ln for ln in segments if "ALLOWED" not in ln]
    assert denied and all("denied" in ln for ln in denied)
    # The whole port space of every protocol is covered.
    for proto in ("TCP", "UDP", "SCTP"):
        assert any(ln.strip().startswith(proto) for ln in segments), proto
    assert any(re.match(r"^\s+TCP 1-\d+\s", ln) for ln in segments)
    assert any(re.match(r"^\s+TCP \d+-65535\s", ln) for ln in segments)
    assert any(re.match(r"^\s+UDP 1-65535\s+denied", ln) for ln in segments)
    last = out.strip().splitlines()[-1]
    assert last.lower().startswith("verdict"), last
    assert "TCP 5432" in last and "allowed" in last.lower()


def test_explain_external_address_to_ingress_controller(flows: Callable[..., Result]) -> None:
    out = _explain(flows, "8.8.8.8", "ingress-nginx/ingress-nginx-controller").out
    allowed = [ln for ln in _segment_lines(out) if "ALLOWED" in ln]
    assert [ln.split()[:2] for ln in allowed] == [["TCP", "80"], ["TCP", "443"]], allowed
    assert all("ingress-nginx/nginx-ingress ingress[0]" in ln for ln in allowed)
    last = out.strip().splitlines()[-1]
    assert last.lower().startswith("verdict") and "80" in last and "443" in last


def test_explain_ipv6_address_to_ingress_controller(flows: Callable[..., Result]) -> None:
    out = _explain(flows, "2001:db8::1", "ingress-nginx/ingress-nginx-controller[Deployment]").out
    allowed = [ln for ln in _segment_lines(out) if "ALLOWED" in ln]
    assert [ln.split()[:2] for ln in allowed] == [["TCP", "80"], ["TCP", "443"]], allowed


def test_explain_denied_everywhere(flows: Callable[..., Result]) -> None:
    out = _explain(flows, "production/redis-sentinel", "production/zookeeper").out
    assert not [ln for ln in _segment_lines(out) if "ALLOWED" in ln]
    last = out.strip().splitlines()[-1]
    assert last.lower().startswith("verdict") and "denied" in last.lower()


def test_explain_app_to_internet_is_denied(flows: Callable[..., Result]) -> None:
    out = _explain(flows, "production/app", "93.184.216.34").out
    assert not [ln for ln in _segment_lines(out) if "ALLOWED" in ln]


def test_explain_backup_to_metadata_address_is_denied(flows: Callable[..., Result]) -> None:
    denied = _explain(flows, "production/postgres-backup", "169.254.169.254").out
    assert not [ln for ln in _segment_lines(denied) if "ALLOWED" in ln]
    allowed = _explain(flows, "production/postgres-backup", "8.8.8.8").out
    assert [ln.split()[:2] for ln in _segment_lines(allowed) if "ALLOWED" in ln] == [["TCP", "443"]]


def test_explain_agrees_with_the_flow_list(
    flows: Callable[..., Result], sample_doc: dict[str, Any]
) -> None:
    index = flow_index(sample_doc)
    for src, dst in [
        ("production/app", "production/kafka"),
        ("ingress-nginx/ingress-nginx-controller", "analytics/data-pipeline"),
        ("production/app", "shared-services/logging"),
        ("production/kafka", "production/kafka"),
    ]:
        out = _explain(flows, src, dst).out
        allowed = [ln.split()[:2] for ln in _segment_lines(out) if "ALLOWED" in ln]
        flow = index.get((src, dst))
        if flow is None:
            assert allowed == [], (src, dst)
            continue
        expected = []
        for c in flow["connections"]:
            for lo, hi in c["ports"]:
                expected.append([c["protocol"], str(lo) if lo == hi else f"{lo}-{hi}"])
        assert allowed == expected, (src, dst, out)


def test_explain_unknown_workload_exits_2_with_one_line(
    flows: Callable[..., Result], tmp_path: Path
) -> None:
    path = dump(tmp_path / "prod.yaml", small_cluster())
    line = assert_input_error(flows(path, "--explain", "prod/nope", "prod/db"))
    assert "prod/nope" in line


def test_explain_unknown_workload_on_the_samples(flows: Callable[..., Result]) -> None:
    res = flows(SAMPLE_JSON, "--explain", "production/nope", "production/postgres")
    assert res.code == 2
    assert res.out == ""
    assert_no_traceback(res)
    errors = [ln for ln in res.err_lines if ln.startswith("error: ")]
    assert len(errors) == 1 and "production/nope" in errors[0], res.err
    assert all(ln.startswith(("error: ", "warning: ")) for ln in res.err_lines), res.err


@pytest.mark.parametrize(
    ("src", "dst"),
    [("not-a-name", "production/app"), ("8.8.8.8", "1.1.1.1"), ("production/app", "999.1.1.1")],
    ids=["no-namespace", "two-addresses", "bad-address"],
)
def test_explain_bad_targets_exit_2(
    flows: Callable[..., Result], tmp_path: Path, src: str, dst: str
) -> None:
    path = dump(tmp_path / "prod.yaml", [*small_cluster(), deployment("app", {"app": "x"})])
    assert_input_error(flows(path, "--explain", src, dst))


def test_flows_json_streams_in_pieces_that_join_to_the_whole_text() -> None:
    """Millions of flows go out batch by batch; the bytes are the contract's either way."""
    from compliance.render.flows import render_json, stream_json
    from tests.helpers import flows_from_yaml

    graph = flows_from_yaml((SAMPLES / "shop-cluster.json").read_text(encoding="utf-8"))
    assert len(graph.flows) > 5
    for rules in (False, True):
        whole = render_json(graph, rules)
        pieces = list(stream_json(graph, rules, batch=2))
        assert len(pieces) == (len(graph.flows) + 1) // 2 + (len(graph.flows) % 2 == 0)
        assert "".join(pieces) == whole
        assert json.loads(whole)["flows"][0]["src"]
    empty = flows_from_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    assert list(stream_json(empty)) == ['{"flows": []}\n'] == [render_json(empty)]
