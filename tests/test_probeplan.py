"""`compliance probe-plan`: coverage of every zone boundary, expectations that agree
with the flow graph, the bound, the files it writes, and run-probes.sh against a fake
kubectl."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from compliance.cli import cli, run
from compliance.flows import External, compute_flows
from compliance.load import load_paths
from compliance.model import WorkloadRef, build_cluster
from compliance.proberesults import read_results
from compliance.render.probes import _quote
from compliance.scope import place, read_scope
from tests.helpers import Result, allowed, fake_kubectl_path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "shop-cluster"
SCOPE = ROOT / "samples" / "pci-dss.scope.yaml"
SCHEMA = json.loads(
    (ROOT / "compliance" / "schemas" / "probe-plan.schema.json").read_text(encoding="utf-8")
)
AS_OF = "2026-11-26T00:00:00Z"


@pytest.fixture(scope="module")
def sample_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plan") / "probes"
    code = run(
        cli.main,
        ["probe-plan", str(SAMPLE), "--scope", str(SCOPE), "--out", str(out), "--as-of", AS_OF],
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def small_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cut plan for the script tests: every boundary, few kubectl calls."""
    out = tmp_path_factory.mktemp("plan") / "small"
    args = ["probe-plan", str(SAMPLE), "--scope", str(SCOPE), "--out", str(out)]
    assert run(cli.main, [*args, "--as-of", AS_OF, "--max-probes", "30"]) == 0
    return out


def _plan(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    return doc


def _graph_and_zones() -> tuple[Any, Any, dict[WorkloadRef, frozenset[str]]]:
    cluster = build_cluster(load_paths([str(SAMPLE)]).objects)
    graph = compute_flows(cluster)
    placement = place(read_scope(str(SCOPE)), cluster)
    zones = {w.ref: placement.zones(w.ref) for w in cluster.workloads}
    return cluster, graph, zones


def test_plan_validates_and_is_deterministic(
    sample_plan: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    doc = _plan(sample_plan)
    jsonschema.validate(doc, SCHEMA)
    again = tmp_path / "again"
    result = compliance("probe-plan", SAMPLE, "--scope", SCOPE, "--out", again, "--as-of", AS_OF)
    assert result.code == 0
    for name in ("plan.json", "netassert.yaml", "run-probes.sh"):
        assert (again / name).read_bytes() == (sample_plan / name).read_bytes()
    assert [p["id"] for p in doc["probes"]] == [
        f"P-{i:04d}" for i in range(1, len(doc["probes"]) + 1)
    ]
    assert os.access(sample_plan / "run-probes.sh", os.X_OK)


def test_every_zone_boundary_crossed_from_inside_is_probed(sample_plan: Path) -> None:
    """Worked out from the graph here, independently of the planner."""
    cluster, graph, zones = _graph_and_zones()
    host = {w.ref for w in cluster.workloads if w.host_network}
    expected = set()
    for flow in graph.flows:
        if not isinstance(flow.src, WorkloadRef) or flow.self_flow or flow.src in host:
            continue
        a = zones.get(flow.src, frozenset())
        b = zones.get(flow.dst, frozenset()) if isinstance(flow.dst, WorkloadRef) else frozenset()
        expected |= {f"out of {z}" for z in a - b} | {f"into {z}" for z in b - a}
    doc = _plan(sample_plan)
    probed = {b for p in doc["probes"] for b in p["boundaries"]}
    assert expected <= probed
    assert "into cardholder-data" in expected and "out of cde" in expected
    assert doc["coverage"]["boundaries_covered"] == doc["coverage"]["boundaries_total"]
    assert doc["coverage"]["cut"] is False and doc["coverage"]["uncovered"] == []
    # The internet reaches the ingress tier; no probe from inside can test that.
    assert "into ingress-tier" in doc["coverage"]["from_outside"]
    # Only the hostNetwork agents reach the ingress tier from inside: named, not probed.
    assert doc["coverage"]["from_host_network"] == ["into ingress-tier"]


def test_expectations_agree_with_the_graph(sample_plan: Path) -> None:
    cluster, graph, _ = _graph_and_zones()
    doc = _plan(sample_plan)
    for p in doc["probes"]:
        src = p["src"]["workload"]
        if "address" in p["dst"]:
            is_open = any(
                f.src == _ref(cluster, src)
                and isinstance(f.dst, External)
                and f.dst.addresses.contains(p["dst"]["address"])
                and f.connections.contains(p["protocol"], p["port"])
                for f in graph.flows
            )
        else:
            is_open = allowed(graph, src, p["dst"]["workload"], p["protocol"], p["port"])
        assert is_open == (p["expect"] == "open"), p["id"]
        sides = p["rules"]
        assert (sides["egress"]["allowed"] and sides["ingress"]["allowed"]) == is_open
        if p["expect"] == "open":
            assert sides["egress"]["by"] and sides["ingress"]["by"]


def _ref(cluster: Any, workload_id: str) -> WorkloadRef:
    [ref] = [w.ref for w in cluster.workloads if w.ref.id == workload_id]
    return ref


def test_the_probes_an_assessor_expects(sample_plan: Path) -> None:
    """Hand-checked against the sample: what must be in a plan for the shop's CDE."""
    probes = {
        (
            p["src"]["workload"],
            p["dst"].get("workload") or p["dst"]["address"],
            p["protocol"],
            p["port"],
        ): p
        for p in _plan(sample_plan)["probes"]
    }
    # The app reaches the card database; its rules on both sides are named.
    app_db = probes[("production/app", "production/postgres", "TCP", 5432)]
    assert app_db["expect"] == "open"
    assert app_db["rules"]["egress"]["by"] == ["production/app-access egress[0]"]
    assert app_db["rules"]["ingress"]["by"] == ["production/postgres-access ingress[0]"]
    # The bare debug pod in the CDE namespace, out of scope, must not reach the database.
    debug_db = probes[("production/debug-shell", "production/postgres", "TCP", 5432)]
    assert debug_db["expect"] == "blocked" and debug_db["kind"] == "into-scope"
    assert debug_db["rules"]["ingress"] == {"allowed": False, "by": []}
    # A port the app admits from the ingress tier, tried from outside scope.
    selector = probes[("analytics/data-pipeline", "production/app", "TCP", 8080)]
    assert selector["kind"] == "selector" and selector["expect"] == "blocked"
    # The CDE must not reach the internet.
    internet = probes[("production/app", "203.0.113.10", "TCP", 443)]
    assert internet["expect"] == "blocked" and internet["kind"] == "internet"
    assert "out of cde" in internet["boundaries"]


def test_the_bound_covers_boundaries_first(
    tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    out = tmp_path / "cut"
    result = compliance(
        "probe-plan",
        SAMPLE,
        "--scope",
        SCOPE,
        "--out",
        out,
        "--as-of",
        AS_OF,
        "--max-probes",
        "4",
    )
    assert result.code == 0, result.err
    doc = _plan(out)
    cov = doc["coverage"]
    assert len(doc["probes"]) == cov["chosen"] == 4
    assert cov["cut"] is True and cov["candidates"] > 4
    covered = {b for p in doc["probes"] for b in p["boundaries"]}
    assert cov["boundaries_covered"] == len(covered)
    assert cov["boundaries_covered"] + len(cov["uncovered"]) == cov["boundaries_total"]
    # Each chosen probe was taken for a boundary no earlier one covered.
    seen: set[str] = set()
    for p in doc["probes"]:
        assert set(p["boundaries"]) - seen
        seen |= set(p["boundaries"])
    assert "--max-probes 4 cut the plan" in result.out
    assert f"covered {cov['boundaries_covered']}/{cov['boundaries_total']}" in result.out


def test_framework_filter_and_bad_destination(
    tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    bad = compliance(
        "probe-plan", SAMPLE, "--scope", SCOPE, "--out", tmp_path / "x", "--framework", "hipaa"
    )
    assert bad.code == 2 and "no zone of" in bad.err
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine", encoding="utf-8")
    refused = compliance("probe-plan", SAMPLE, "--scope", SCOPE, "--out", full)
    assert refused.code == 2 and "not an empty folder" in refused.err
    assert [p.name for p in full.iterdir()] == ["keep.txt"]


def test_netassert_cases_match_the_plan(sample_plan: Path) -> None:
    plan = {p["id"]: p for p in _plan(sample_plan)["probes"]}
    text = (sample_plan / "netassert.yaml").read_text(encoding="utf-8")
    cases = yaml.safe_load(text)
    assert cases, "netassert.yaml holds no cases"
    for case in cases:
        p = plan[case["name"]]
        assert case["exitCode"] == (0 if p["expect"] == "open" else 1)
        assert case["targetPort"] == p["port"] and case["protocol"] == p["protocol"].lower()
        src = case["src"]["k8sResource"]
        assert f"{src['namespace']}/{src['name']}" == p["src"]["workload"]
        assert src["kind"] == p["src"]["kind"].lower()
        if "address" in p["dst"]:
            assert case["dst"] == {"host": {"name": p["dst"]["address"]}}
    # The CronJob's probes cannot be netassert cases; the header names them.
    left_out = [i for i, p in plan.items() if p["src"]["kind"] == "CronJob"]
    assert left_out and not {c["name"] for c in cases} & set(left_out)
    assert all(i in text.splitlines()[2] for i in left_out)


@pytest.mark.parametrize(
    "value", ["plain", "it's", "$(touch pwned)", "`id`", "a b\nc", "'; rm -rf / #", "\\'"]
)
def test_quote_keeps_any_value_one_literal_word(value: str, tmp_path: Path) -> None:
    out = subprocess.run(
        ["sh", "-c", f"printf '%s' {_quote(value)}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert out.stdout == value
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- the script


@pytest.fixture
def fake_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_plan: Path) -> Path:
    """Running pods for every workload, and nc answers that match the plan except for
    one probe expected blocked that connects and one expected open that times out."""
    folder = tmp_path / "kubectl"
    folder.mkdir()
    cluster, _, _ = _graph_and_zones()
    pods: dict[str, list[dict[str, Any]]] = {}
    ips: dict[str, str] = {}
    names: dict[str, str] = {}
    for i, w in enumerate(sorted(cluster.workloads, key=lambda w: w.ref)):
        if w.ref.id == "monitoring/prometheus":
            continue  # no running pod: its probes are errors
        ip = f"10.1.{i // 250}.{i % 250 + 1}"
        ips[w.ref.id] = ip
        name = w.ref.name if w.ref.kind == "Pod" else f"{w.ref.name}-0"
        names[w.ref.id] = name
        labels = dict(w.variants[0].labels) if w.variants else {}
        pods.setdefault(w.ref.namespace, []).append({"name": name, "labels": labels, "ip": ip})
    answers = {}
    plan = _plan(small_plan)["probes"]
    flipped = {}
    for p in plan:
        if p["protocol"] != "TCP":
            continue
        dst = p["dst"].get("address") or ips.get(p["dst"]["workload"])
        if dst is None:
            continue
        src = names.get(p["src"]["workload"])
        key = f"{src} {dst}:{p['port']}"
        opens = p["expect"] == "open"
        if p["id"] == "P-0001":
            opens, flipped["blocked-but-open"] = True, p["id"]
        elif (
            opens
            and "open-but-blocked" not in flipped
            and p["src"]["workload"] != "monitoring/prometheus"
        ):
            opens, flipped["open-but-blocked"] = False, p["id"]
        if opens:
            answers[key] = f"{dst} ({dst}:{p['port']}) open"
    (folder / "pods.json").write_text(json.dumps(pods), encoding="utf-8")
    (folder / "nc.json").write_text(json.dumps(answers), encoding="utf-8")
    (folder / "cluster-name.txt").write_text("shop-prod\n", encoding="utf-8")
    (folder / "flipped.json").write_text(json.dumps(flipped), encoding="utf-8")
    monkeypatch.setenv("FAKE_KUBECTL_DIR", str(folder))
    monkeypatch.setenv("FAKE_KUBECTL_CONTEXTS", "shop-prod,other")
    monkeypatch.setenv("PATH", fake_kubectl_path(folder / "bin"))
    return folder


def _run_script(plan_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(plan_dir / "run-probes.sh"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_script_writes_results_for_every_probe(
    small_plan: Path, fake_cluster: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    proc = _run_script(small_plan, work)
    assert proc.returncode == 0, proc.stderr
    lines = (work / "probe-results.csv").read_text(encoding="utf-8").splitlines()
    assert re.fullmatch(r"# tested: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lines[0])
    assert lines[1] == "id,result,detail"
    rows = {line.split(",")[0]: line.split(",", 2) for line in lines[2:]}
    results = [str(work / "probe-results.csv")]
    tested = read_results(str(small_plan / "plan.json"), results).tested
    assert tested == lines[0][len("# tested: ") :][:10]
    plan = {p["id"]: p for p in _plan(small_plan)["probes"]}
    assert list(rows) == list(plan)
    flipped = json.loads((fake_cluster / "flipped.json").read_text(encoding="utf-8"))
    for probe_id, (_, result, detail) in rows.items():
        p = plan[probe_id]
        if p["protocol"] != "TCP":
            assert result == "inconclusive"
        elif p["src"]["workload"] == "monitoring/prometheus":
            assert (result, detail) == (
                "error",
                "no running pod of monitoring/prometheus[StatefulSet]",
            )
        elif probe_id == flipped["blocked-but-open"]:
            assert (p["expect"], result) == ("blocked", "open")
        elif probe_id == flipped["open-but-blocked"]:
            assert (p["expect"], result) == ("open", "blocked")
        elif p.get("dst", {}).get("workload") == "monitoring/prometheus":
            assert result == "error"
        else:
            assert result == p["expect"], probe_id
    assert "2 not as expected" in proc.stderr.splitlines()[-1]
    assert f"[1/{len(plan)}] P-0001 " in proc.stderr
    assert not list(work.glob("*.partial"))
    # It only reads and adds debug containers: no other verb reached kubectl.
    calls = (fake_cluster / "calls.log").read_text(encoding="utf-8").splitlines()
    verbs = {c.split()[0] for c in calls}
    assert verbs == {"config", "get", "debug"}
    debug = [c for c in calls if c.startswith("debug ")]
    assert all(
        "--profile=general --image=busybox:1.36 -i --quiet -- nc -z -v -w 3" in c for c in debug
    )


def test_script_refuses_another_cluster_unless_a_context_is_named(
    small_plan: Path, fake_cluster: Path, tmp_path: Path
) -> None:
    (fake_cluster / "cluster-name.txt").write_text("staging\n", encoding="utf-8")
    proc = _run_script(small_plan, tmp_path)
    assert proc.returncode == 2
    assert (
        "the current kubectl context's cluster is 'staging', the plan is for 'shop-prod'"
        in proc.stderr
    )
    assert not (tmp_path / "probe-results.csv").exists()
    named = _run_script(small_plan, tmp_path, "--context", "other", "--out", "r.csv")
    assert named.returncode == 0, named.stderr
    assert (tmp_path / "r.csv").read_text(encoding="utf-8").splitlines()[1] == "id,result,detail"
    calls = (fake_cluster / "calls.log").read_text(encoding="utf-8").splitlines()
    assert calls[1:] and all(c.startswith("--context other ") for c in calls[1:])
