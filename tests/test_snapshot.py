"""snapshot.json: every pack keeps the facts it judged, and reads back as the same cluster.

The promise is byte-for-byte: flows and results computed from a pack (folder or zip)
are the bytes computed from the export the pack was made from. And the snapshot holds
only what the engine reads, so a secret in a pod's environment or an annotation never
reaches a pack file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from compliance.cli import cli, run
from compliance.flows import compute_flows
from compliance.load import load_paths
from compliance.model import build_cluster
from compliance.render.flows import render
from compliance.snapshot import canonical, cluster_facts, rebuild_cluster
from tests.helpers import DEMO_ARGS, Result, html_text

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "compliance/schemas/snapshot.schema.json").read_text())
AS_OF = "2026-11-26T00:00:00Z"


@pytest.fixture
def compliance(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def invoke(*args: object) -> Result:
        capsys.readouterr()
        code = run(cli.main, [str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def test_pack_holds_a_valid_canonical_snapshot_listed_in_the_manifest(sample_pack: Path) -> None:
    raw = (sample_pack / "snapshot.json").read_bytes()
    doc = json.loads(raw)
    jsonschema.validate(doc, SCHEMA)
    assert raw == canonical(doc)  # sorted keys, compact: the same facts give the same bytes
    manifest = json.loads((sample_pack / "manifest.json").read_text())
    assert "snapshot.json" in [f["path"] for f in manifest["files"]]
    assert doc["as_of"] == manifest["as_of"] and doc["cluster"] == manifest["cluster"]
    # The policy digests the report prints are the sha256 of the objects kept here.
    assert doc["policies"] and all(len(p["sha256"]) == 64 for p in doc["policies"])
    assert [c["id"] for c in doc["controls"]] == manifest["frameworks"]
    assert not any("/" in c["path"] and c["path"].startswith("/") for c in doc["controls"])


def test_verify_covers_the_snapshot(sample_pack: Path, tmp_path: Path) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(sample_pack, copy)
    snap = copy / "snapshot.json"
    snap.write_bytes(snap.read_bytes().replace(b'"in_export":true', b'"in_export":false', 1))
    res = run_module("verify", copy)
    assert res.code == 1
    assert "snapshot.json: changed" in res.out


@pytest.mark.parametrize("which", ["folder", "zip"])
def test_flows_and_results_from_a_pack_are_the_exports_bytes(
    sample_pack: Path,
    which: str,
    compliance: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    pack = sample_pack if which == "folder" else sample_pack.with_name("evidence.zip")
    assert pack.exists()
    export = "samples/shop-cluster"
    for fmt in ("json", "txt"):
        want = compliance("flows", export, "--format", fmt, "--show-rules")
        got = compliance("flows", pack, "--format", fmt, "--show-rules")
        assert want.code == got.code == 0
        assert got.out == want.out and got.err == want.err
    scope = ("--scope", "samples/pci-dss.scope.yaml", "--as-of", AS_OF, "--exit-zero")
    # the pack is the demo's: its snapshot keeps the probe results and flow logs it read
    evidence = DEMO_ARGS[DEMO_ARGS.index("--probe-plan") :]
    want = compliance("evaluate", export, *scope, *evidence, "--format", "json")
    got = compliance("evaluate", pack, *scope, "--format", "json")
    assert want.code == got.code == 0
    assert got.out == want.out
    assert json.loads(got.out)["inputs"]  # the original export's files, as recorded


def test_a_generated_cluster_reads_back_equal(tmp_path: Path) -> None:
    out = tmp_path / "cluster.yaml"
    subprocess.run(
        [sys.executable, "benchmarks/generate.py", "--workloads", "1000", "--out", str(out)],
        cwd=ROOT,
        check=True,
    )
    cluster = build_cluster(load_paths([str(out)]).objects)
    doc = json.loads(canonical(cluster_facts(cluster)))  # through the bytes, as a pack holds it
    again = rebuild_cluster(doc, "snapshot.json")
    assert again == cluster
    want = compute_flows(cluster)
    got = compute_flows(again)
    assert render(got, "json", True) == render(want, "json", True)
    assert got.warnings == want.warnings


SECRET = "hunter2-do-not-leak"


def _secret_cluster() -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "api",
                "namespace": "shop",
                "labels": {"app": "api", "compliance.io/zone": "cde"},
                "annotations": {"vault.example/token": SECRET},
            },
            "spec": {
                "containers": [
                    {
                        "name": "api",
                        "image": f"registry.example/{SECRET}:1",
                        "command": ["run", f"--password={SECRET}"],
                        "env": [{"name": "DB_PASSWORD", "value": SECRET}],
                        "ports": [{"containerPort": 8443, "name": "https", "hostPort": 30443}],
                    }
                ],
                "volumes": [{"name": "creds", "secret": {"secretName": SECRET}}],
            },
            "status": {"message": SECRET},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "deny", "namespace": "shop"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
    ]


SCOPE = """\
cluster: secret-test
zones:
  - name: cde
    role: cde
    frameworks: [pci-dss-4.0.1]
    selectors:
      - podSelector: {matchLabels: {compliance.io/zone: cde}}
"""


def test_no_secret_reaches_any_pack_file(
    tmp_path: Path, compliance: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("cluster.yaml").write_text(yaml.safe_dump_all(_secret_cluster()))
    Path("scope.yaml").write_text(SCOPE)
    res = compliance(
        "report", "cluster.yaml", "--scope", "scope.yaml", "--as-of", AS_OF,
        "--out", "pack", "--zip", "--exit-zero",
    )  # fmt: skip
    assert res.code == 0, res.err
    snapshot = json.loads(Path("pack/snapshot.json").read_text())
    pods = snapshot["workloads"][0]["pods"]
    assert pods[0]["ports"] == [
        {"host_port": 30443, "name": "https", "port": 8443, "protocol": "TCP"}
    ]  # what the engine reads is kept
    files = [p for p in Path("pack").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"snapshot.json", "results.json", "evidence.xlsx"}
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path.name
    with zipfile.ZipFile("pack.zip") as archive:
        for name in archive.namelist():
            assert SECRET.encode() not in archive.read(name), name
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader("pack/report.pdf").pages)
    assert SECRET not in text


def run_module(*args: object) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "compliance", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _one_line_exit_2(res: Result) -> None:
    assert res.code == 2, res.out + res.err
    assert len(res.err_lines) == 1 and "Traceback" not in res.err, res.err


def test_a_tampered_policy_object_is_refused(
    sample_pack: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(sample_pack, copy)
    doc = json.loads((copy / "snapshot.json").read_text())
    doc["policies"][0]["object"]["spec"]["podSelector"] = {"matchLabels": {"x": "y"}}
    (copy / "snapshot.json").write_bytes(canonical(doc))
    res = compliance("flows", copy)
    _one_line_exit_2(res)
    assert "snapshot.json" in res.err and "policies[0].object" in res.err
    assert "does not match its recorded sha256" in res.err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="compliance-snapshot/9"), "unknown snapshot format"),
        (lambda d: d["workloads"][0].pop("pods"), "pods"),
        (lambda d: d["namespaces"][0].update(labels={"a": 1}), "labels"),
    ],
)
def test_a_bad_snapshot_is_one_line_and_exit_2(
    sample_pack: Path,
    tmp_path: Path,
    compliance: Callable[..., Result],
    change: Callable[[dict[str, Any]], Any],
    message: str,
) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(sample_pack, copy)
    doc = json.loads((copy / "snapshot.json").read_text())
    change(doc)
    (copy / "snapshot.json").write_bytes(canonical(doc))
    res = compliance("flows", copy)
    _one_line_exit_2(res)
    assert "snapshot.json" in res.err and message in res.err


def test_a_pack_is_read_alone(
    sample_pack: Path, compliance: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    res = compliance("flows", sample_pack, "samples/shop-cluster")
    _one_line_exit_2(res)
    assert "read alone" in res.err


def test_a_pack_without_a_snapshot_is_refused(
    sample_pack: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    copy = tmp_path / "old-pack"
    shutil.copytree(sample_pack, copy)
    (copy / "snapshot.json").unlink()
    res = compliance("flows", copy)
    _one_line_exit_2(res)
    assert "without snapshot.json" in res.err
    with zipfile.ZipFile(tmp_path / "old.zip", "w") as archive:
        archive.write(copy / "manifest.json", "old-pack/manifest.json")
    res = compliance("flows", tmp_path / "old.zip")
    _one_line_exit_2(res)
    assert "not an evidence pack" in res.err


def test_an_as_of_before_the_packs_is_refused(
    sample_pack: Path, compliance: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    res = compliance(
        "evaluate", sample_pack, "--scope", "samples/pci-dss.scope.yaml",
        "--as-of", "2026-11-25T00:00:00Z", "--exit-zero",
    )  # fmt: skip
    _one_line_exit_2(res)
    assert "precedes the pack's as-of 2026-11-26T00:00:00Z" in res.err


# --------------------------------------------------------------------------- verify --recompute


def _reseal(pack: Path) -> None:
    """Make the manifest match the files again, as someone forging a pack would."""
    import hashlib

    from compliance.pack import pack_digest

    manifest = json.loads((pack / "manifest.json").read_text())
    for entry in manifest["files"]:
        data = (pack / entry["path"]).read_bytes()
        entry["sha256"], entry["size"] = hashlib.sha256(data).hexdigest(), len(data)
    manifest["digest"]["value"] = pack_digest(manifest["inputs"], manifest["files"])
    # In the manifest's one canonical form, as a careful forger would write it.
    (pack / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize("which", ["folder", "zip"])
def test_verify_recompute_reproduces_results(
    sample_pack: Path, which: str, compliance: Callable[..., Result]
) -> None:
    pack = sample_pack if which == "folder" else sample_pack.with_name("evidence.zip")
    res = compliance("verify", "--recompute", pack)
    assert res.code == 0, res.out + res.err
    assert "results.json reproduced byte for byte" in res.out
    assert "note:" not in res.out  # same tool version, same control files


def test_verify_recompute_names_the_first_difference(
    sample_pack: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(sample_pack, copy)
    doc = json.loads((copy / "snapshot.json").read_text())
    doc["scope"]["document"]["cluster"] = "another-cluster"
    (copy / "snapshot.json").write_bytes(canonical(doc))
    assert compliance("verify", "--recompute", copy).code == 1  # the hash catches it first
    _reseal(copy)
    assert compliance("verify", copy).code == 0  # a consistent forgery passes the hashes...
    res = compliance("verify", "--recompute", copy)
    assert res.code == 1  # ...but not the recomputation
    assert "results.json differs: line" in res.out
    assert "another-cluster" in res.out


def test_verify_recompute_reports_a_tool_version_difference(
    sample_pack: Path, tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(sample_pack, copy)
    doc = json.loads((copy / "snapshot.json").read_text())
    doc["tool"]["version"] = "0.0.1"
    (copy / "snapshot.json").write_bytes(canonical(doc))
    _reseal(copy)
    res = compliance("verify", "--recompute", copy)
    assert "note: the pack was made by version 0.0.1" in res.out
    assert res.code == 0  # the results still match: the difference is said, not hidden


def test_a_pack_made_from_a_pack_is_the_same_pack(
    sample_pack: Path,
    tmp_path: Path,
    compliance: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    reuse_rendered_pdf: None,
) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "again"
    res = compliance(
        "report", sample_pack.with_name("evidence.zip"), "--scope", "samples/pci-dss.scope.yaml",
        "--as-of", AS_OF, "--out", out, "--exit-zero",
    )  # fmt: skip
    assert res.code == 0, res.err
    for name in ("results.json", "snapshot.json", "evidence.xlsx", "manifest.json"):
        assert (out / name).read_bytes() == (sample_pack / name).read_bytes(), name


# --------------------------------------------------------------------------- admin policies

GUARDRAILS = """\
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: cde-guardrail}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: production}}}
  ingress:
  - {name: deny-analytics, action: Deny,
     from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: analytics}}}]}
  - {name: pass-rest, action: Pass, from: [{namespaces: {}}]}
  egress:
  - {name: deny-pods-net, action: Deny, to: [{networks: ["10.244.3.0/24"]}]}
  - {name: deny-control, action: Deny, to: [{nodes: {matchLabels: {role: control}}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress: [{name: deny-all, action: Deny, from: [{namespaces: {}}]}]
---
apiVersion: v1
kind: Node
metadata: {name: cp-1, labels: {role: control}}
status: {addresses: [{type: InternalIP, address: 192.168.10.1}]}
"""


def test_a_pack_of_a_cluster_with_admin_policies_reproduces_its_flows_and_results(
    tmp_path: Path,
    compliance: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    no_pdf_layout: list[str],
) -> None:
    export = tmp_path / "export"
    shutil.copytree(ROOT / "samples/shop-cluster", export)
    (export / "guardrails.yaml").write_text(GUARDRAILS)
    monkeypatch.chdir(tmp_path)
    scope = ("--scope", str(ROOT / "samples/pci-dss.scope.yaml"), "--as-of", AS_OF)
    made = compliance("report", "export", *scope, "--out", "pack", "--exit-zero")
    assert made.code == 0, made.err
    doc = json.loads((tmp_path / "pack/snapshot.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert [p["name"] for p in doc["admin_policies"]] == ["cde-guardrail", "default"]
    assert doc["nodes"] == [
        {"name": "cp-1", "labels": {"role": "control"}, "addresses": ["192.168.10.1"]}
    ]
    postgres = next(w for w in doc["workloads"] if w["name"] == "postgres")
    assert postgres["pod_ips"] == ["10.244.3.8"]
    for fmt in ("json", "txt"):
        want = compliance("flows", "export", "--format", fmt, "--show-rules")
        got = compliance("flows", "pack", "--format", fmt, "--show-rules")
        assert want.code == got.code == 0
        assert got.out == want.out and got.err == want.err
    # The guardrail denies what a NetworkPolicy allows, and passes the rest to them.
    assert "analytics/data-pipeline[Deployment] => production/kafka" not in want.out
    assert "pass -> production/" in want.out
    res = compliance("verify", "--recompute", "pack")
    assert res.code == 0, res.out + res.err
    assert "results.json reproduced byte for byte" in res.out

    # The Policies sheet and the report's policy appendix list the admin policies too
    # (test_report lays out an appendix with an admin policy and reads it from the PDF).
    import openpyxl

    sheet = openpyxl.load_workbook(tmp_path / "pack/evidence.xlsx", read_only=True)["Policies"]
    rows = [r for r in sheet.iter_rows(values_only=True) if r[0] in ("anp", "banp")]
    digests = {p["name"]: p["sha256"] for p in doc["admin_policies"]}
    assert [(r[0], r[1], r[2], r[3], r[4], r[7]) for r in rows] == [
        ("anp", "cde-guardrail", "AdminNetworkPolicy, priority 10", 2, 2, digests["cde-guardrail"]),
        ("banp", "default", "BaselineAdminNetworkPolicy", 1, 0, digests["default"]),
    ]
    assert rows[0][5] > 0 and rows[1][5] > rows[0][5]  # workloads their subjects select
    flat = html_text(no_pdf_layout[0])
    assert "anp/cde-guardrail (AdminNetworkPolicy, priority 10; 2 in, 2 out" in flat
    assert "banp/default (BaselineAdminNetworkPolicy; 1 in, 0 out" in flat


def test_a_tampered_admin_policy_object_is_refused() -> None:
    from compliance.load import load_texts

    cluster = build_cluster(load_texts([("g.yaml", GUARDRAILS.encode())]).objects)
    doc = json.loads(canonical(cluster_facts(cluster)))
    assert rebuild_cluster(doc, "snapshot.json") == cluster
    doc["admin_policies"][0]["object"]["spec"]["priority"] = 11
    with pytest.raises(Exception, match=r"admin_policies\[0\]\.object"):
        rebuild_cluster(doc, "snapshot.json")
