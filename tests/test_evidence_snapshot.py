"""A pack made with probe results and flow logs keeps the evidence its checks read in
snapshot.json, so `verify --recompute`, `diff` and `report --baseline` evaluate it again
as it was, not as if the export had been given alone."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import compliance.cli as cli_module
from compliance.datafile import schema_problem
from compliance.snapshot import canonical
from tests.helpers import Result
from tests.test_snapshot import _reseal

ROOT = Path(__file__).resolve().parent.parent
EVIDENCE = [
    "--probe-plan", "samples/probes/plan.json",
    "--probe-results", "samples/probes/probe-results.csv",
    "--flow-log", "samples/flows/hubble.jsonl",
    "--flow-log", "samples/flows/calico-flows.jsonl",
]  # fmt: skip
"""As `make demo` gives them to its first pack."""


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """`old`: the demo's first pack (shop-cluster with probe results and flow logs);
    `new`: shop-cluster-q2 with `--baseline old`. The PDF layout is stubbed: these tests
    read results.json and snapshot.json only."""
    import compliance.pack
    from compliance.render.pdf import PdfResult

    top = tmp_path_factory.mktemp("evidence")
    packs = {"old": top / "old", "new": top / "new"}
    runs = [
        ["samples/shop-cluster", "--scope", "samples/pci-dss.scope.yaml",
         "--as-of", "2026-11-26T00:00:00Z", "--out", str(packs["old"]), *EVIDENCE],
        ["samples/shop-cluster-q2", "--scope", "samples/pci-dss-q2.scope.yaml",
         "--as-of", "2027-03-01T00:00:00Z", "--out", str(packs["new"]),
         "--baseline", str(packs["old"])],
    ]  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            compliance.pack, "html_to_pdf", lambda html, folder=None: PdfResult(b"%PDF-", 1, ())
        )
        patch.chdir(ROOT)  # the input paths are recorded as `make demo` records them
        for args in runs:
            code = cli_module.run(cli_module.cli.main, ["report", *args, "--exit-zero"])
            assert code == 0, args
    yield packs


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _check(results: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(c for c in results["checks"] if c["id"] == check_id)


def _finding_ids(results: dict[str, Any]) -> set[str]:
    return {f["id"] for c in results["checks"] for f in c["findings"]}


def test_the_snapshot_keeps_the_evidence_the_checks_read_and_no_log_line(
    packs: dict[str, Path],
) -> None:
    snap = _json(packs["old"] / "snapshot.json")
    assert schema_problem(snap, "snapshot.schema.json") is None
    results = _json(packs["old"] / "results.json")
    for check_id in ("SEG-21", "SEG-22", "SEG-28"):
        assert _check(results, check_id)["status"] != "not_applicable"
    evidence = snap["evidence"]
    plan = _json(ROOT / "samples/probes/plan.json")
    assert [o["probe"]["id"] for o in evidence["probes"]["outcomes"]] == [
        p["id"] for p in plan["probes"]
    ]
    assert evidence["probes"]["tested"] == "2026-11-20"
    # one entry per aggregated flow, as results.json shows them, and no log line
    assert len(evidence["observed"]["flows"]) == len(results["observed"]["flows"])
    assert sum(f["count"] for f in evidence["observed"]["flows"]) <= results["observed"]["records"]
    text = (packs["old"] / "snapshot.json").read_text(encoding="utf-8")
    for line in (ROOT / "samples/flows/hubble.jsonl").read_text(encoding="utf-8").splitlines():
        assert line.strip() not in text
    assert '"node_name"' not in text and '"drop_reason_desc"' not in text
    assert {f["role"] for f in evidence["files"]} == {"probe-plan", "probe-results", "flow-log"}
    manifest_inputs = {
        (i["role"], i["sha256"]) for i in _json(packs["old"] / "manifest.json")["inputs"]
    }
    assert {(f["role"], f["sha256"]) for f in evidence["files"]} <= manifest_inputs
    assert canonical(snap) == (packs["old"] / "snapshot.json").read_bytes()


def test_a_pack_without_evidence_has_no_evidence_key(packs: dict[str, Path]) -> None:
    """`new` was made without probe results or flow logs: its baseline's are not its own."""
    assert "evidence" in _json(packs["old"] / "snapshot.json")
    assert "evidence" not in _json(packs["new"] / "snapshot.json")


def test_verify_recompute_reproduces_a_pack_made_with_evidence(
    packs: dict[str, Path], compliance: Callable[..., Result]
) -> None:
    res = compliance("verify", "--recompute", packs["old"])
    assert res.code == 0, res.out + res.err
    assert "results.json reproduced byte for byte" in res.out
    res = compliance("verify", "--recompute", packs["new"], "--baseline", packs["old"])
    assert res.code == 0, res.out + res.err


@pytest.mark.parametrize("what", ["probe", "flow"])
def test_verify_recompute_catches_tampered_evidence(
    packs: dict[str, Path], tmp_path: Path, compliance: Callable[..., Result], what: str
) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(packs["old"], copy)
    snap = _json(copy / "snapshot.json")
    if what == "probe":
        outcome = next(
            o for o in snap["evidence"]["probes"]["outcomes"] if o["observed"] == "blocked"
        )
        outcome["observed"] = "open"
    else:
        snap["evidence"]["observed"]["flows"][0]["count"] += 1
    (copy / "snapshot.json").write_bytes(canonical(snap))
    _reseal(copy)
    assert compliance("verify", copy).code == 0  # resealed: only recomputing sees it
    res = compliance("verify", "--recompute", copy)
    assert res.code == 1
    assert "results.json differs: line" in res.out


def test_the_diff_judges_the_old_pack_with_its_own_evidence(
    packs: dict[str, Path], compliance: Callable[..., Result]
) -> None:
    res = compliance("diff", packs["old"], packs["new"], "--format", "json", "--exit-zero")
    assert res.code == 0, res.err
    findings = json.loads(res.out)["findings"]
    old_side = {f["id"] for f in findings["resolved"]} | set(findings["still_open"])
    recorded = _finding_ids(_json(packs["old"] / "results.json"))
    assert old_side == recorded
    assert any(i.startswith(("SEG-21-", "SEG-22-", "SEG-28-")) for i in recorded)


def test_the_diff_judges_the_new_pack_against_the_baseline_it_names(
    packs: dict[str, Path], compliance: Callable[..., Result]
) -> None:
    """NEW was made with `--baseline OLD`: the diff of the two judges NEW's SEG-19 as its
    own results.json did, rather than as not applicable."""
    res = compliance("diff", packs["old"], packs["new"], "--format", "json", "--exit-zero")
    assert res.code == 0, res.err
    findings = json.loads(res.out)["findings"]
    new_side = {f["id"] for f in findings["new"]} | set(findings["still_open"])
    recorded = _finding_ids(_json(packs["new"] / "results.json"))
    assert new_side == recorded
    assert any(i.startswith("SEG-19-") for i in recorded)


def test_report_baseline_judges_the_old_pack_with_its_own_evidence(
    packs: dict[str, Path],
) -> None:
    changes = _json(packs["new"] / "results.json")["changes"]
    old_side = {f["id"] for f in changes["findings"]["resolved"]} | set(
        changes["findings"]["still_open"]
    )
    assert old_side == _finding_ids(_json(packs["old"] / "results.json"))


def test_evaluating_a_pack_uses_its_evidence_unless_other_is_given(
    packs: dict[str, Path], compliance: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    args = ["evaluate", packs["old"], "--scope", "samples/pci-dss.scope.yaml",
            "--format", "json", "--exit-zero"]  # fmt: skip
    recorded = _json(packs["old"] / "results.json")
    res = compliance(*args)
    assert res.code == 0, res.err
    again = json.loads(res.out)
    for check_id in ("SEG-21", "SEG-22", "SEG-28"):
        assert _check(again, check_id) == _check(recorded, check_id)
    res = compliance(*args, "--flow-log", "samples/flows/calico-flows.jsonl")
    assert res.code == 0, res.err
    given = json.loads(res.out)
    assert _check(given, "SEG-28")["status"] == "not_applicable"
    assert [log["path"] for log in given["observed"]["logs"]] == [
        "samples/flows/calico-flows.jsonl"
    ]


def test_results_for_another_export_recompute_and_name_the_plan_as_recorded(
    tmp_path: Path, compliance: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan of shop-cluster judged against shop-cluster-q2 (another export), given by
    a path outside the working folder: the warning names the plan as the pack records
    it, not by the machine's path, and the pack recomputes byte for byte."""
    from compliance import pack as pack_module
    from compliance.render.pdf import PdfResult

    monkeypatch.setattr(
        pack_module, "html_to_pdf", lambda html, folder=None: PdfResult(b"%PDF-", 1, ())
    )
    elsewhere = tmp_path / "probes"
    shutil.copytree(ROOT / "samples/probes", elsewhere)
    monkeypatch.chdir(ROOT)
    pack = tmp_path / "pack"
    res = compliance(
        "report", "samples/shop-cluster-q2", "--scope", "samples/pci-dss-q2.scope.yaml",
        "--as-of", "2027-03-01T00:00:00Z", "--out", pack, "--exit-zero",
        "--probe-plan", elsewhere / "plan.json",
        "--probe-results", elsewhere / "probe-results.csv",
    )  # fmt: skip
    assert res.code == 0, res.err
    results = _json(pack / "results.json")
    other = results["probes"]["other_snapshot"]
    assert other.startswith("the plan plan.json was computed from inputs sha256:")
    assert str(tmp_path) not in (pack / "results.json").read_text(encoding="utf-8")
    assert str(tmp_path) not in (pack / "snapshot.json").read_text(encoding="utf-8")
    res = compliance("verify", "--recompute", pack)
    assert res.code == 0, res.out + res.err
