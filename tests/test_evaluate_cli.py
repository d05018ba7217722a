"""End-to-end tests of `compliance evaluate`: the results JSON contract on the
samples, exit codes, `--as-of` as the only clock, determinism and the
internal-error path."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from compliance.checks import CHECKS
from compliance.cli import cli, run
from tests.helpers import Result, namespace, pod, policy

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = "samples/shop-cluster"
PCI = "samples/pci-dss.scope.yaml"
HIPAA = "samples/hipaa.scope.yaml"
FEDRAMP = "samples/fedramp.scope.yaml"
SCOPES = (PCI, HIPAA, FEDRAMP)
AS_OF = "2026-11-26"
FRAMEWORKS = ("fedramp-rev5-high", "fedramp-rev5-moderate", "hipaa-security-rule", "pci-dss-4.0.1")
STATUSES = {"pass", "supported", "fail", "warn", "waived", "unknown", "manual", "not_applicable"}
RESULTS_SCHEMA = json.loads(
    (ROOT / "compliance" / "schemas" / "results.schema.json").read_text(encoding="utf-8")
)


@pytest.fixture
def compliance(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run the CLI in-process from the project root (sample paths are relative)."""
    monkeypatch.chdir(ROOT)

    def invoke(*args: object) -> Result:
        capsys.readouterr()
        code = run(cli.main, [str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def run_subprocess(*args: object, env: dict[str, str] | None = None) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "compliance", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def control_ids(framework_id: str) -> list[str]:
    doc = yaml.safe_load((ROOT / "controls" / f"{framework_id}.yaml").read_text(encoding="utf-8"))
    return [r["id"] for r in doc["requirements"]]


def scope_frameworks(scope: str) -> set[str]:
    doc = yaml.safe_load((ROOT / scope).read_text(encoding="utf-8"))
    return {f for z in doc["zones"] for f in z.get("frameworks", [])}


def evaluate_json(compliance: Callable[..., Result], scope: str, *extra: object) -> Result:
    return compliance(
        "evaluate", SAMPLE_DIR, "--scope", scope, "--as-of", AS_OF, "--format", "json", *extra
    )


def checks_of(doc: dict[str, Any], check_id: str, framework: str | None = None) -> dict[str, Any]:
    found = [
        c
        for c in doc["checks"]
        if c["id"] == check_id and (framework is None or c["framework"] == framework)
    ]
    assert len(found) == 1, (check_id, [c["framework"] for c in found])
    return found[0]


# --------------------------------------------------------------------------- the samples


@pytest.mark.parametrize("scope", SCOPES)
def test_sample_scope_results_contract(compliance: Callable[..., Result], scope: str) -> None:
    res = evaluate_json(compliance, scope)
    assert res.code == 1, res.err
    doc = res.json()
    jsonschema.Draft202012Validator(RESULTS_SCHEMA).validate(doc)
    assert doc["as_of"] == "2026-11-26T00:00:00Z"
    assert doc["cluster"] == "shop-prod"

    expected = scope_frameworks(scope)
    assert expected
    assert sorted(f["id"] for f in doc["frameworks"]) == sorted(expected)
    for fw in doc["frameworks"]:
        ids = [r["id"] for r in fw["requirements"]]
        assert ids == control_ids(fw["id"]), fw["id"]
        assert len(ids) == len(set(ids))
        for r in fw["requirements"]:
            assert r["status"] in STATUSES, r
        counts: dict[str, int] = {}
        proposed: dict[str, int] = {}
        for r in fw["requirements"]:
            into = proposed if r["proposed"] else counts
            into[r["status"]] = into.get(r["status"], 0) + 1
        assert fw["status_counts"] == counts
        assert fw["proposed_status_counts"] == proposed
        assert fw["in_scope_workloads"] > 0
        assert any(r["status"] == "fail" for r in fw["requirements"])
        # Every check a requirement names ran once for the framework.
        wanted = {c for r in fw["requirements"] for c in r["checks"]}
        ran = [c["id"] for c in doc["checks"] if c["framework"] == fw["id"]]
        assert sorted(ran) == sorted(wanted)


@pytest.mark.parametrize("scope", SCOPES)
def test_sample_inputs_and_scope_are_hashed(compliance: Callable[..., Result], scope: str) -> None:
    doc = evaluate_json(compliance, scope).json()
    files = sorted((ROOT / SAMPLE_DIR).glob("*.yaml"))
    assert len(files) == 10
    assert len(doc["inputs"]) == 10
    by_name = {Path(i["path"]).name: i for i in doc["inputs"]}
    assert sorted(by_name) == [f.name for f in files]
    for f in files:
        data = f.read_bytes()
        entry = by_name[f.name]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), f.name
        assert entry["size"] == len(data), f.name
    assert doc["scope"]["path"] == scope
    assert doc["scope"]["sha256"] == hashlib.sha256((ROOT / scope).read_bytes()).hexdigest()


def test_sample_scopes_cover_every_framework(compliance: Callable[..., Result]) -> None:
    seen: dict[str, list[str]] = {}
    for scope in SCOPES:
        for fw in evaluate_json(compliance, scope).json()["frameworks"]:
            seen[fw["id"]] = [r["id"] for r in fw["requirements"]]
    assert sorted(seen) == sorted(FRAMEWORKS)
    for fid, ids in seen.items():
        assert ids == control_ids(fid)


def test_framework_all_with_pci_scope(compliance: Callable[..., Result]) -> None:
    res = evaluate_json(compliance, PCI, "--framework", "all")
    assert res.code == 1
    doc = res.json()
    jsonschema.Draft202012Validator(RESULTS_SCHEMA).validate(doc)
    frameworks = {f["id"]: f for f in doc["frameworks"]}
    assert sorted(frameworks) == sorted(FRAMEWORKS)
    for fid in ("hipaa-security-rule", "fedramp-rev5-moderate", "fedramp-rev5-high"):
        fw = frameworks[fid]
        assert fw["in_scope_workloads"] == 0
        assert [r["id"] for r in fw["requirements"]] == control_ids(fid)
        assert {r["status"] for r in fw["requirements"]} == {"not_applicable"}, fid
    pci = frameworks["pci-dss-4.0.1"]
    assert pci["in_scope_workloads"] > 0
    assert any(r["status"] == "fail" for r in pci["requirements"])
    # the user is told why three frameworks have nothing in scope
    for fid in ("hipaa-security-rule", "fedramp-rev5-moderate", "fedramp-rev5-high"):
        assert f"no zone lists framework {fid}: nothing is in scope for it" in res.err


def test_framework_option_narrows_the_scope_frameworks(compliance: Callable[..., Result]) -> None:
    doc = evaluate_json(compliance, FEDRAMP, "--framework", "fedramp-rev5-high").json()
    assert [f["id"] for f in doc["frameworks"]] == ["fedramp-rev5-high"]
    assert {c["framework"] for c in doc["checks"]} == {"fedramp-rev5-high"}


def test_exit_zero_keeps_output(compliance: Callable[..., Result]) -> None:
    failing = evaluate_json(compliance, PCI)
    zero = evaluate_json(compliance, PCI, "--exit-zero")
    assert failing.code == 1
    assert zero.code == 0
    assert zero.out == failing.out
    assert zero.out


def test_table_is_the_default_format(compliance: Callable[..., Result]) -> None:
    table = compliance("evaluate", SAMPLE_DIR, "--scope", PCI, "--as-of", AS_OF)
    explicit = compliance(
        "evaluate", SAMPLE_DIR, "--scope", PCI, "--as-of", AS_OF, "--format", "table"
    )
    assert table.code == 1
    assert table.out == explicit.out
    assert not table.out.lstrip().startswith("{")
    lines = table.out.splitlines()
    assert lines[0] == "cluster shop-prod as of 2026-11-26T00:00:00Z"
    for rid in control_ids("pci-dss-4.0.1"):
        assert any(line.split()[:1] == [rid] for line in lines), rid
    assert "FAIL" in table.out
    row = next(line for line in lines if line.split()[:1] == ["1.3.1"])
    assert "FAIL" in row.split()


# --------------------------------------------------------------------------- exit 0


def tiny_cluster_and_scope(tmp_path: Path) -> tuple[Path, Path, Path]:
    export = tmp_path / "export.yaml"
    export.write_text(
        namespace("pay", {"kubernetes.io/metadata.name": "pay"})
        + pod("api", "pay", {"app": "api"}, "http:8080/TCP")
        + policy(
            "default-deny-all",
            "pay",
            "podSelector: {}\npolicyTypes: [Ingress, Egress]",
        ),
        encoding="utf-8",
    )
    controls = tmp_path / "controls"
    controls.mkdir()
    (controls / "my-fw.yaml").write_text(
        yaml.safe_dump(
            {
                "title": "Isolation only",
                "version": "1",
                "source": "tests",
                "scope": "the pay namespace",
                "requirements": [
                    {
                        "id": "ISO-1",
                        "title": "Default deny both ways",
                        "intent": "Every in-scope workload is isolated.",
                        "automation": "full",
                        "checks": ["SEG-02", "SEG-03"],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    scope = tmp_path / "scope.yaml"
    scope.write_text(
        yaml.safe_dump(
            {
                "cluster": "tiny",
                "zones": [
                    {
                        "name": "pay",
                        "role": "cde",
                        "frameworks": ["my-fw"],
                        "selectors": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "pay"}
                                }
                            }
                        ],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    return export, scope, controls


def test_exit_zero_when_nothing_fails(tmp_path: Path, compliance: Callable[..., Result]) -> None:
    export, scope, controls = tiny_cluster_and_scope(tmp_path)
    args = ["evaluate", export, "--scope", scope, "--controls", controls, "--as-of", AS_OF]
    res = compliance(*args, "--framework", "my-fw", "--format", "json")
    assert res.code == 0, (res.out, res.err)
    doc = res.json()
    jsonschema.Draft202012Validator(RESULTS_SCHEMA).validate(doc)
    (fw,) = doc["frameworks"]
    assert fw["id"] == "my-fw"
    assert fw["in_scope_workloads"] == 1
    assert [(r["id"], r["status"]) for r in fw["requirements"]] == [("ISO-1", "pass")]
    assert {c["id"]: c["status"] for c in doc["checks"]} == {"SEG-02": "pass", "SEG-03": "pass"}
    assert doc["scope"]["zones"][0]["workloads"] == ["pay/api"]
    # Same verdict in the table, and the scope's frameworks are the default.
    table = compliance(*args)
    assert table.code == 0, table.err
    assert "PASS" in table.out and "FAIL" not in table.out


def test_same_tiny_cluster_fails_without_default_deny(
    tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    """The exit-0 case is not vacuous: drop the policy and the same run exits 1."""
    export, scope, controls = tiny_cluster_and_scope(tmp_path)
    export.write_text(
        namespace("pay", {"kubernetes.io/metadata.name": "pay"})
        + pod("api", "pay", {"app": "api"}, "http:8080/TCP"),
        encoding="utf-8",
    )
    res = compliance(
        "evaluate",
        export,
        "--scope",
        scope,
        "--controls",
        controls,
        "--as-of",
        AS_OF,
        "--format",
        "json",
    )
    assert res.code == 1, res.err
    (fw,) = res.json()["frameworks"]
    assert fw["requirements"][0]["status"] == "fail"


# --------------------------------------------------------------------------- --as-of


def kafka_from_pipeline(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        f
        for f in checks_of(doc, "SEG-11")["findings"]
        if f["workload"] == "production/kafka"
        and (f["peer"] or "").startswith("analytics/data-pipeline")
    ]


def test_approved_flow_active_before_expiry(compliance: Callable[..., Result]) -> None:
    res = compliance(
        "evaluate", SAMPLE_DIR, "--scope", PCI, "--as-of", "2026-09-01", "--format", "json"
    )
    doc = res.json()
    assert kafka_from_pipeline(doc) == []
    for f in checks_of(doc, "SEG-11")["findings"]:
        assert "AF-006" not in f["message"]
    af6 = next(e for e in doc["scope"]["approved_flows"] if e["id"] == "AF-006")
    assert af6["active"] is True
    # The flow itself is listed as covered by the register.
    covered = [
        fl
        for fl in doc["flows"]
        if fl["src"].get("workload") == "analytics/data-pipeline"
        and fl["dst"].get("workload") == "production/kafka"
    ]
    assert len(covered) == 1 and covered[0]["register"] == ["AF-006"]


def test_approved_flow_valid_through_its_expiry_date(compliance: Callable[..., Result]) -> None:
    res = compliance(
        "evaluate",
        SAMPLE_DIR,
        "--scope",
        PCI,
        "--as-of",
        "2026-09-30T23:59:59Z",
        "--format",
        "json",
    )
    assert kafka_from_pipeline(res.json()) == []


def test_approved_flow_expired(compliance: Callable[..., Result]) -> None:
    doc = evaluate_json(compliance, PCI).json()
    findings = kafka_from_pipeline(doc)
    assert findings, "the expired AF-006 no longer covers data-pipeline -> kafka"
    assert any("AF-006" in f["message"] and "expired" in f["message"] for f in findings)
    assert all(f["status"] == "fail" and "9092" in f["ports"] for f in findings)
    af6 = next(e for e in doc["scope"]["approved_flows"] if e["id"] == "AF-006")
    assert af6["active"] is False


def app_seg26(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = [f for f in checks_of(doc, "SEG-26")["findings"] if f["workload"] == "production/app"]
    assert found, "production/app selects namespaces by mutable labels"
    return found


def seg25_wv001(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        f
        for f in checks_of(doc, "SEG-25")["findings"]
        if "WV-001" in f["message"] and f["status"] == "fail"
    ]


def test_waiver_applies_while_current(compliance: Callable[..., Result]) -> None:
    doc = evaluate_json(compliance, PCI).json()
    for f in app_seg26(doc):
        assert f["status"] == "waived", f
        assert f["waived_by"] == "WV-001", f
    # Other workloads' SEG-26 findings are not covered by it.
    others = [f for f in checks_of(doc, "SEG-26")["findings"] if f["workload"] != "production/app"]
    assert others and all(f["waived_by"] is None for f in others)
    assert seg25_wv001(doc) == []
    assert checks_of(doc, "SEG-25")["status"] == "pass"


def test_waiver_expired(compliance: Callable[..., Result]) -> None:
    res = compliance(
        "evaluate", SAMPLE_DIR, "--scope", PCI, "--as-of", "2027-03-15", "--format", "json"
    )
    doc = res.json()
    for f in app_seg26(doc):
        assert f["status"] == "fail", f
        assert f["waived_by"] is None, f
    seg25 = checks_of(doc, "SEG-25")
    assert seg25["status"] == "fail"
    bad = seg25_wv001(doc)
    assert len(bad) == 1 and "expired" in bad[0]["message"], bad


def test_waiver_too_far_in_the_future_does_not_apply(compliance: Callable[..., Result]) -> None:
    res = compliance(
        "evaluate", SAMPLE_DIR, "--scope", PCI, "--as-of", "2026-06-01", "--format", "json"
    )
    doc = res.json()
    for f in app_seg26(doc):
        assert f["status"] == "fail", f
        assert f["waived_by"] is None, f
    seg25 = checks_of(doc, "SEG-25")
    assert seg25["status"] == "fail"
    bad = seg25_wv001(doc)
    assert len(bad) == 1, bad
    assert "180" in bad[0]["message"]


@pytest.mark.parametrize(
    ("as_of", "applies"),
    [
        ("2026-08-31", False),  # 181 days before 2027-02-28
        ("2026-09-01", True),  # exactly 180 days
        ("2027-02-28T23:00:00Z", True),  # valid through its expiry date
        ("2027-03-01", False),
    ],
)
def test_waiver_window_boundaries(
    compliance: Callable[..., Result], as_of: str, applies: bool
) -> None:
    res = compliance("evaluate", SAMPLE_DIR, "--scope", PCI, "--as-of", as_of, "--format", "json")
    doc = res.json()
    statuses = {f["status"] for f in app_seg26(doc)}
    assert statuses == ({"waived"} if applies else {"fail"}), statuses
    assert bool(seg25_wv001(doc)) is not applies


def test_as_of_with_time_zone_is_normalised_to_utc(compliance: Callable[..., Result]) -> None:
    res = compliance(
        "evaluate",
        SAMPLE_DIR,
        "--scope",
        PCI,
        "--as-of",
        "2026-11-26T09:30:00+02:00",
        "--format",
        "json",
    )
    assert res.json()["as_of"] == "2026-11-26T07:30:00Z"


# --------------------------------------------------------------------------- usage errors


def test_bad_as_of(compliance: Callable[..., Result]) -> None:
    res = compliance("evaluate", SAMPLE_DIR, "--scope", PCI, "--as-of", "yesterday")
    assert res.code == 2
    assert res.out == ""
    assert "Traceback" not in res.err
    lines = [line for line in res.err_lines if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].lower().startswith("error: "), lines
    assert "--as-of" in lines[0] and "yesterday" in lines[0]


def test_unknown_framework(compliance: Callable[..., Result]) -> None:
    res = compliance(
        "evaluate", SAMPLE_DIR, "--scope", PCI, "--as-of", AS_OF, "--framework", "nope"
    )
    assert res.code == 2
    assert res.out == ""
    assert "Traceback" not in res.err
    assert "nope" in res.err
    for fid in FRAMEWORKS:
        assert fid in res.err, fid


def test_missing_scope_option(compliance: Callable[..., Result]) -> None:
    res = compliance("evaluate", SAMPLE_DIR, "--as-of", AS_OF)
    assert res.code == 2
    assert res.out == ""
    assert "--scope" in res.err
    assert "Traceback" not in res.err


def test_usage_error_exit_code_in_a_subprocess() -> None:
    res = run_subprocess("evaluate", SAMPLE_DIR, "--scope", PCI, "--as-of", "yesterday")
    assert res.code == 2
    assert res.out == ""
    assert "--as-of" in res.err
    assert "Traceback" not in res.err


# --------------------------------------------------------------------------- determinism


def test_output_is_deterministic_across_hash_seeds() -> None:
    outputs: dict[str, list[str]] = {"json": [], "table": []}
    for seed in ("0", "4242"):
        for fmt in outputs:
            res = run_subprocess(
                "evaluate",
                SAMPLE_DIR,
                "--scope",
                PCI,
                "--as-of",
                AS_OF,
                "--format",
                fmt,
                env={"PYTHONHASHSEED": seed},
            )
            assert res.code == 1, res.err
            outputs[fmt].append(res.out)
    for fmt, (first, second) in outputs.items():
        assert first, fmt
        assert first == second, fmt
    json.loads(outputs["json"][0])


# --------------------------------------------------------------------------- internal errors


def _boom(ctx: object) -> object:
    """A check that crashes."""
    raise RuntimeError("boom in the check")


@pytest.fixture
def broken_check(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = CHECKS["SEG-02"]
    monkeypatch.setitem(CHECKS, "SEG-02", dataclasses.replace(spec, run=_boom))


@pytest.mark.usefixtures("broken_check")
def test_internal_error_is_one_line(tmp_path: Path, compliance: Callable[..., Result]) -> None:
    export, scope, controls = tiny_cluster_and_scope(tmp_path)
    res = compliance("evaluate", export, "--scope", scope, "--controls", controls, "--as-of", AS_OF)
    assert res.code == 3
    assert res.out == ""
    assert "Traceback" not in res.err
    lines = res.err_lines
    assert len(lines) == 1, lines
    assert "internal error" in lines[0]
    assert "RuntimeError" in lines[0] and "boom in the check" in lines[0]


@pytest.mark.usefixtures("broken_check")
def test_internal_error_on_the_samples(compliance: Callable[..., Result]) -> None:
    res = compliance("evaluate", SAMPLE_DIR, "--scope", PCI, "--as-of", AS_OF)
    assert res.code == 3
    assert res.out == ""
    assert "Traceback" not in res.err
    errors = [line for line in res.err_lines if not line.startswith("warning: ")]
    assert len(errors) == 1, errors
    assert "internal error" in errors[0]


@pytest.mark.usefixtures("broken_check")
@pytest.mark.parametrize("where", ["before", "after"])
def test_internal_error_with_debug_shows_traceback(
    tmp_path: Path, compliance: Callable[..., Result], where: str
) -> None:
    export, scope, controls = tiny_cluster_and_scope(tmp_path)
    args = ["evaluate", export, "--scope", scope, "--controls", controls, "--as-of", AS_OF]
    res = compliance(*(["--debug", *args] if where == "before" else [*args, "--debug"]))
    assert res.code == 3
    assert "Traceback" in res.err
    assert "RuntimeError: boom in the check" in res.err
    assert "_boom" in res.err


def test_verbose_reports_progress_per_framework(compliance: Callable[..., Result]) -> None:
    res = compliance("evaluate", SAMPLE_DIR, "--scope", PCI, "--as-of", AS_OF, "-v")
    assert res.code == 1
    assert "pci-dss-4.0.1: 10 in-scope workloads" in res.err
    assert "evaluated in" in res.err
