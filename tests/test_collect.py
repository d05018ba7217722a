"""`compliance collect` against a fake kubectl that replays recorded outputs.

The recordings are the bundled sample cluster split by resource, as `kubectl get
RESOURCE --all-namespaces -o json` prints them, with secrets planted where real
clusters keep them (env values, last-applied-configuration, secret volumes), plus the
version, kube-system namespace and api-resources answers of a real server.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from compliance import collect as collector
from tests.helpers import Result, fake_kubectl_path

ROOT = Path(__file__).resolve().parent.parent
FAKE = Path(__file__).resolve().parent / "fake_kubectl"
SAMPLE_JSON = ROOT / "samples" / "shop-cluster.json"
SECRET = "s3cr3t-Pa55-do-not-leak"
RESOURCE_OF = {
    "Namespace": "namespaces",
    "Pod": "pods",
    "Deployment": "deployments.apps",
    "StatefulSet": "statefulsets.apps",
    "DaemonSet": "daemonsets.apps",
    "CronJob": "cronjobs.batch",
    "NetworkPolicy": "networkpolicies.networking.k8s.io",
}
NODE = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {
        "name": "node-a",
        "uid": "0c5e0c39-90cf-4a8e-8f0e-1c1e0f7d1a11",
        "labels": {"kubernetes.io/hostname": "node-a", "zone": "eu-1a"},
        "annotations": {"node.alpha.kubernetes.io/ttl": "0", "token": SECRET},
    },
    "spec": {"podCIDR": "10.244.1.0/24", "providerID": f"aws:///{SECRET}"},
    "status": {
        "addresses": [{"type": "InternalIP", "address": "10.0.1.17"}],
        "nodeInfo": {"kernelVersion": "6.1.0", "machineID": SECRET},
    },
}
ANP = {
    "apiVersion": "policy.networking.k8s.io/v1alpha1",
    "kind": "AdminNetworkPolicy",
    "metadata": {"name": "cde-guardrail"},
    "spec": {
        "priority": 10,
        "subject": {"namespaces": {"matchLabels": {"zone": "cde"}}},
        "ingress": [
            {
                "name": "deny-dev",
                "action": "Deny",
                "from": [{"namespaces": {"matchLabels": {"zone": "dev"}}}],
            }
        ],
    },
}


def _plant_secrets(obj: dict[str, Any]) -> dict[str, Any]:
    """Where a real export carries secrets: env values, annotations, secret volumes."""
    obj = json.loads(json.dumps(obj))
    meta = obj["metadata"]
    meta.setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = (
        json.dumps({"env": [{"name": "DB_PASSWORD", "value": SECRET}]})
    )
    meta["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:token": SECRET}}]
    spec = obj.get("spec", {})
    spec = spec.get("template", {}).get("spec", spec)
    for container in spec.get("containers", []):
        container["env"] = [
            {"name": "DB_PASSWORD", "value": SECRET},
            {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": SECRET, "key": "k"}}},
        ]
        container["envFrom"] = [{"secretRef": {"name": SECRET}}]
        container["volumeMounts"] = [{"name": "creds", "mountPath": "/creds"}]
    if "containers" in spec:
        spec["volumes"] = [{"name": "creds", "secret": {"secretName": SECRET}}]
    return obj


@pytest.fixture
def recordings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of kubectl recordings, and PATH pointing at the fake kubectl."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    for name in ("version.json", "kube-system.json", "api-resources.txt", "current-context.txt"):
        shutil.copy(FAKE / name, folder / name)
    by_resource: dict[str, list[dict[str, Any]]] = {"nodes": [NODE]}
    for item in json.loads(SAMPLE_JSON.read_text(encoding="utf-8"))["items"]:
        by_resource.setdefault(RESOURCE_OF[item["kind"]], []).append(_plant_secrets(item))
    by_resource["adminnetworkpolicies.policy.networking.k8s.io"] = [ANP]
    for resource, items in by_resource.items():
        listed = {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}
        (folder / f"get-{resource}.json").write_text(json.dumps(listed), encoding="utf-8")
    monkeypatch.setenv("FAKE_KUBECTL_DIR", str(folder))
    monkeypatch.setenv("FAKE_KUBECTL_CONTEXTS", "shop-prod,shop-staging")
    monkeypatch.setenv("PATH", fake_kubectl_path(folder / "bin"))
    return folder


def _annotations(path: Path) -> dict[str, str]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    notes: dict[str, str] = doc["metadata"]["annotations"]
    return notes


def test_collect_records_when_and_where(
    recordings: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    out = tmp_path / "export.json"
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = compliance("collect", "--out", out)
    after = dt.datetime.now(dt.UTC)
    assert result.code == 0, result.err
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["apiVersion"] == "v1" and doc["kind"] == "List"
    notes = doc["metadata"]["annotations"]
    assert notes["compliance.io/context"] == "shop-prod"
    assert notes["compliance.io/server-version"] == "v1.30.6"
    assert notes["compliance.io/cluster-id"] == "5b0e7c4a-2f1d-4c8e-9a57-3d2f61e0b9a1"
    start = dt.datetime.fromisoformat(notes["compliance.io/capture-start"])
    end = dt.datetime.fromisoformat(notes["compliance.io/capture-end"])
    assert before <= start <= end <= after
    collected = notes["compliance.io/kinds-collected"].split(",")
    assert collected[:3] == ["namespaces", "nodes", "pods"]
    assert "networkpolicies.networking.k8s.io" in collected
    assert "adminnetworkpolicies.policy.networking.k8s.io" in collected
    not_served = notes["compliance.io/kinds-not-served"].split(",")
    assert "clusternetworkpolicies.policy.networking.k8s.io" in not_served
    assert "ciliumnetworkpolicies.cilium.io" in not_served
    assert "networkpolicies.projectcalico.org" in not_served
    assert not set(collected) & set(not_served)
    assert len(collected) + len(not_served) == len(collector.KINDS)
    # Progress per kind, with counts; the summary names the cluster.
    assert "pods: 13" in result.err_lines
    assert "networkpolicies.networking.k8s.io: 11" in result.err_lines
    assert "5b0e7c4a-2f1d-4c8e-9a57-3d2f61e0b9a1" in result.err_lines[-1]
    kinds = {item["kind"] for item in doc["items"]}
    assert {"Node", "AdminNetworkPolicy", "Pod", "NetworkPolicy"} <= kinds


def test_optional_kinds_are_fetched_only_when_served(
    recordings: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    assert compliance("collect", "--out", tmp_path / "e.json").code == 0
    calls = (recordings / "calls.log").read_text(encoding="utf-8").splitlines()
    gets = [c.split()[1] for c in calls if c.startswith("get ") and "--all-namespaces" in c]
    assert "adminnetworkpolicies.policy.networking.k8s.io" in gets
    assert "ciliumnetworkpolicies.cilium.io" not in gets
    assert gets == [k.resource for k in collector.KINDS if k.required or k.resource in gets]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_collect_strips_secrets(
    recordings: Path, tmp_path: Path, compliance: Callable[..., Result], fmt: str
) -> None:
    out = tmp_path / f"export.{fmt}"
    assert compliance("collect", "--out", out, "--format", fmt).code == 0
    text = out.read_text(encoding="utf-8")
    assert SECRET not in text
    assert "managedFields" not in text and "last-applied-configuration" not in text
    doc = yaml.safe_load(text)
    pods = [i for i in doc["items"] if i["kind"] == "Pod"]
    container = pods[0]["spec"]["containers"][0]
    # Names stay (what is configured); values, references and secret volumes go.
    assert container["env"] == [{"name": "DB_PASSWORD"}, {"name": "API_KEY"}]
    assert "envFrom" not in container and container["volumeMounts"] == []
    assert pods[0]["spec"]["volumes"] == []
    deployment = next(i for i in doc["items"] if i["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["env"][0] == {
        "name": "DB_PASSWORD"
    }
    node = next(i for i in doc["items"] if i["kind"] == "Node")
    assert node == {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "node-a",
            "uid": "0c5e0c39-90cf-4a8e-8f0e-1c1e0f7d1a11",
            "labels": {"kubernetes.io/hostname": "node-a", "zone": "eu-1a"},
        },
        "status": {"addresses": [{"type": "InternalIP", "address": "10.0.1.17"}]},
    }


def test_collected_export_gives_the_same_flows(
    recordings: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    out = tmp_path / "export.json"
    assert compliance("collect", "--out", out).code == 0
    collected = compliance("flows", out, "--format", "json")
    original = compliance("flows", SAMPLE_JSON, "--format", "json")
    assert collected.code == original.code == 0
    assert collected.json() == original.json()
    assert len(collected.json()["flows"]) > 20


def test_context_is_passed_to_every_call(
    recordings: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    out = tmp_path / "export.json"
    assert compliance("collect", "--context", "shop-staging", "--out", out).code == 0
    calls = (recordings / "calls.log").read_text(encoding="utf-8").splitlines()
    assert calls and all(c.startswith("--context shop-staging ") for c in calls)
    assert _annotations(out)["compliance.io/context"] == "shop-staging"


def test_bad_context_is_exit_2_and_writes_nothing(
    recordings: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    out = tmp_path / "export.json"
    result = compliance("collect", "--context", "nope", "--out", out)
    assert result.code == 2
    assert result.err_lines == ['error: kubectl context nope: error: context "nope" does not exist']
    assert list(tmp_path.iterdir()) == [recordings]


def test_failed_kind_is_exit_3_names_the_kind_and_leaves_the_old_file(
    recordings: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    (recordings / "fail-get-pods.txt").write_text(
        'Error from server (Forbidden): pods is forbidden: User "auditor" cannot list '
        'resource "pods" in API group "" at the cluster scope\n',
        encoding="utf-8",
    )
    out = tmp_path / "export.json"
    out.write_text("previous export\n", encoding="utf-8")
    result = compliance("collect", "--out", out)
    assert result.code == 3
    assert result.err_lines[:2] == ["namespaces: 7", "nodes: 1"]  # progress, then one error
    assert len(result.err_lines) == 3
    assert result.err_lines[-1].startswith(
        "error: kubectl failed while reading pods: Error from server (Forbidden)"
    )
    assert out.read_text(encoding="utf-8") == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.json", "recordings"]


def test_no_kubectl_is_exit_2(
    tmp_path: Path, compliance: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = compliance("collect", "--out", tmp_path / "e.json")
    assert result.code == 2
    assert result.err_lines == ["error: kubectl not found on PATH; install it or export by hand"]


def test_collect_to_standard_output(recordings: Path) -> None:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "compliance", "collect", "--quiet", "--format", "yaml"],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    doc = yaml.safe_load(proc.stdout)
    assert doc["metadata"]["annotations"]["compliance.io/server-version"] == "v1.30.6"
    assert time.perf_counter() - started < 60


def test_capture_times_come_from_the_clock() -> None:
    """The core takes its clock as an argument: capture start and end are what it says."""
    moments = iter(
        [dt.datetime(2026, 11, 27, 9, 0, 0, tzinfo=dt.UTC), dt.datetime(2026, 11, 27, 9, 0, 7)]
    )
    answers = {
        ("config", "current-context"): b"ctx\n",
        ("version", "-o", "json"): b'{"serverVersion": {"gitVersion": "v1.31.0"}}',
        ("get", "namespace", "kube-system", "-o", "json"): b'{"metadata": {"uid": "u-1"}}',
        ("api-resources", "-o", "name"): b"pods\n",
    }

    def runner(args: Any) -> collector.Completed:
        key = tuple(args)
        if key in answers:
            return collector.Completed(0, answers[key], b"")
        return collector.Completed(0, b'{"items": []}', b"")

    doc = collector.collect(runner, clock=lambda: next(moments).replace(tzinfo=dt.UTC))
    notes = doc["metadata"]["annotations"]
    assert notes["compliance.io/capture-start"] == "2026-11-27T09:00:00Z"
    assert notes["compliance.io/capture-end"] == "2026-11-27T09:00:07Z"
    assert notes["compliance.io/cluster-id"] == "u-1"
    assert notes["compliance.io/context"] == "ctx"


# --------------------------------------------------------------------------- honest dates

SCOPE = ROOT / "samples" / "pci-dss.scope.yaml"


def test_as_of_before_the_newest_object_time_is_refused(
    compliance: Callable[..., Result],
) -> None:
    result = compliance("evaluate", SAMPLE_JSON, "--scope", SCOPE, "--as-of", "2020-01-01")
    assert result.code == 2
    assert result.out == ""
    [line] = result.err_lines
    assert line.startswith(
        "error: --as-of: as-of 2020-01-01T00:00:00Z precedes the export "
        "(newest object time 2024-11-18T09:02:11Z on "
    )


def test_as_of_after_the_newest_object_time_is_accepted(
    compliance: Callable[..., Result],
) -> None:
    result = compliance(
        "evaluate",
        SAMPLE_JSON,
        "--scope",
        SCOPE,
        "--as-of",
        "2024-11-18T09:02:11Z",
        "--format",
        "json",
        "--exit-zero",
    )
    assert result.code == 0, result.err
    assert result.json()["as_of"].startswith("2024-11-18T09:02:11")


def test_status_times_count(tmp_path: Path, compliance: Callable[..., Result]) -> None:
    export = json.loads(SAMPLE_JSON.read_text(encoding="utf-8"))
    pod = next(i for i in export["items"] if i["kind"] == "Pod")
    pod["status"] = {
        "conditions": [{"type": "Ready", "lastTransitionTime": "2025-06-30T12:00:00Z"}]
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    result = compliance("evaluate", path, "--scope", SCOPE, "--as-of", "2025-06-01")
    assert result.code == 2
    assert "newest object time 2025-06-30T12:00:00Z on Pod " in result.err
    assert "status.conditions[0].lastTransitionTime" not in result.err  # the object, not noise


def test_as_of_before_the_capture_is_refused(
    recordings: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    out = tmp_path / "export.json"
    assert compliance("collect", "--out", out).code == 0
    start = _annotations(out)["compliance.io/capture-start"]
    result = compliance("evaluate", out, "--scope", SCOPE, "--as-of", "2026-01-01")
    assert result.code == 2
    assert f"(captured from {start} ({out}))" in result.err


RESULTS_SCHEMA = json.loads(
    (ROOT / "compliance" / "schemas" / "results.schema.json").read_text(encoding="utf-8")
)
CLUSTER_UID = "5b0e7c4a-2f1d-4c8e-9a57-3d2f61e0b9a1"  # tests/fake_kubectl/kube-system.json


def _valid_results(result: Result) -> dict[str, Any]:
    import jsonschema

    assert result.code == 0, result.err
    doc = result.json()
    jsonschema.validate(doc, RESULTS_SCHEMA)
    return doc


def test_results_of_a_collected_export_carry_its_capture_and_cluster_identity(
    recordings: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    out = tmp_path / "export.json"
    assert compliance("collect", "--out", out).code == 0
    notes = _annotations(out)
    doc = _valid_results(
        compliance("evaluate", out, "--scope", SCOPE, "--format", "json", "--exit-zero")
    )
    export = doc["export"]
    assert export["captures"] == [
        {
            "source": "export.json",  # outside the working folder: by its name alone
            "context": "shop-prod",
            "cluster_id": CLUSTER_UID,
            "server_version": notes["compliance.io/server-version"],
            "start": notes["compliance.io/capture-start"],
            "end": notes["compliance.io/capture-end"],
        }
    ]
    assert export["as_of_stated"] is False
    assert export["as_of_statement"] == "The as-of time is the moment the evaluation ran."
    assert CLUSTER_UID in export["capture_statement"]
    assert notes["compliance.io/capture-start"] in export["capture_statement"]


def test_a_stated_as_of_is_called_the_preparers_statement_with_the_newest_object_time(
    compliance: Callable[..., Result],
) -> None:
    doc = _valid_results(
        compliance(
            "evaluate", SAMPLE_JSON, "--scope", SCOPE, "--as-of", "2026-11-26",
            "--format", "json", "--exit-zero",
        )
    )  # fmt: skip
    export = doc["export"]
    assert export["as_of_stated"] is True
    assert "preparer's statement" in export["as_of_statement"]
    assert export["captures"] == []
    assert export["newest_object_time"]["time"] == "2024-11-18T09:02:11Z"
    assert export["capture_statement"].startswith(
        "capture time not recorded; taken after 2024-11-18T09:02:11Z (the newest object time, "
    )


def test_the_pdf_cover_of_a_collected_export_shows_capture_and_cluster_identity(
    recordings: Path,
    tmp_path: Path,
    compliance: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pypdf

    # Two namespaces of the shop are enough for a cover, and lay out in a third of the time.
    kept = {"kube-system", "ingress-nginx"}
    for recording in recordings.glob("get-*.json"):
        listed = json.loads(recording.read_text(encoding="utf-8"))
        listed["items"] = [
            item
            for item in listed["items"]
            if item["metadata"].get("namespace", item["metadata"]["name"]) in kept
            or item["kind"] not in RESOURCE_OF
        ]
        recording.write_text(json.dumps(listed), encoding="utf-8")
    out = tmp_path / "export.json"
    assert compliance("collect", "--out", out).code == 0
    start = _annotations(out)["compliance.io/capture-start"]
    end = _annotations(out)["compliance.io/capture-end"]
    monkeypatch.chdir(tmp_path)
    result = compliance(
        "report", "export.json", "--scope", SCOPE, "--as-of", "2107-01-01",
        "--out", "pack", "--exit-zero",
    )  # fmt: skip
    assert result.code == 0, result.err
    cover = " ".join(
        pypdf.PdfReader(tmp_path / "pack" / "report.pdf").pages[0].extract_text().split()
    )
    assert f"Export captured {start} to {end}, cluster identity {CLUSTER_UID}" in cover
    assert "preparer's statement" in cover


def test_diff_refuses_exports_of_different_clusters_unless_allowed(
    recordings: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    first, second, third = (tmp_path / f"e{i}.json" for i in range(3))
    assert compliance("collect", "--out", first).code == 0
    assert compliance("collect", "--out", second).code == 0
    system = json.loads((recordings / "kube-system.json").read_text(encoding="utf-8"))
    system["metadata"]["uid"] = "0d6c2a55-0000-4000-8000-00000000beef"
    (recordings / "kube-system.json").write_text(json.dumps(system), encoding="utf-8")
    assert compliance("collect", "--out", third).code == 0
    args = ["--scope", SCOPE, "--as-of", "2026-11-26T00:00:00Z"]
    same = compliance("diff", first, second, *args)
    assert same.code == 0, same.err
    other = compliance("diff", first, third, *args)
    assert other.code == 2 and other.out == ""
    assert other.err_lines == [
        "error: Invalid value for 'OLD NEW': OLD was captured from cluster "
        "5b0e7c4a-2f1d-4c8e-9a57-3d2f61e0b9a1 and NEW from "
        "0d6c2a55-0000-4000-8000-00000000beef (kube-system UIDs): different clusters; pass "
        "--allow-different-clusters to compare them anyway"
    ]
    allowed = compliance("diff", first, third, *args, "--allow-different-clusters")
    assert allowed.code == 0, allowed.err
