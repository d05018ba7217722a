"""Segmentation-test results (our CSV and netassert's TAP 14) joined to the plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance.cli import cli, run
from compliance.errors import InputError
from compliance.proberesults import read_plan, read_results

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def plan_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plan") / "probes"
    args = ["probe-plan", str(ROOT / "samples" / "shop-cluster"), "--out", str(out)]
    args += ["--scope", str(ROOT / "samples" / "pci-dss.scope.yaml"), "--max-probes", "12"]
    assert run(cli.main, [*args, "--as-of", "2026-11-26T00:00:00Z"]) == 0
    return out / "plan.json"


def _probes(plan_path: Path) -> list[dict[str, Any]]:
    probes: list[dict[str, Any]] = json.loads(plan_path.read_text(encoding="utf-8"))["probes"]
    return probes


def test_csv_results_and_every_mismatch_class(plan_path: Path, tmp_path: Path) -> None:
    probes = _probes(plan_path)
    blocked = next(p for p in probes if p["expect"] == "blocked")
    opened = next(p for p in probes if p["expect"] == "open")
    rows = ["id,result,detail"]
    for p in probes:
        if p is blocked:
            rows.append(f"{p['id']},open,connected to 10.1.0.5:5432")
        elif p is opened:
            rows.append(f"{p['id']},blocked,no answer within 3 s")
        elif p is probes[-1]:
            continue  # not run
        elif p is probes[-2]:
            rows.append(f"{p['id']},error,no running pod of x")
        else:
            rows.append(f"{p['id']},{p['expect']},ok")
    results = tmp_path / "probe-results.csv"
    results.write_text("\n".join(rows) + "\n", encoding="utf-8")
    got = read_results(str(plan_path), [str(results)])
    by_id = {o.id: o for o in got.outcomes}
    assert [o.id for o in got.outcomes] == [p["id"] for p in probes]
    assert by_id[blocked["id"]].mismatch == "not-enforced"
    assert by_id[opened["id"]].mismatch == "broken-path"
    assert by_id[probes[-2]["id"]].observed == "error"
    assert by_id[probes[-1]["id"]].observed is None
    assert sum(o.mismatch is not None for o in got.outcomes) == 2
    assert by_id[blocked["id"]].detail == "connected to 10.1.0.5:5432"


def test_tap_results_join_by_name(plan_path: Path, tmp_path: Path) -> None:
    probes = _probes(plan_path)[:4]
    tap = tmp_path / "results.tap"
    tap.write_text(
        "TAP version 14\n1..4\n"
        f"ok 1 - {probes[0]['id']}\n"
        f"not ok 2 - {probes[1]['id']}\n  ---\n  reason: 'pod exited with 0, expected 1'\n  ...\n"
        f"ok 3 - {probes[2]['id']} # SKIP udp sniffer unavailable\n"
        f"not ok 4 - {probes[3]['id']}\n",
        encoding="utf-8",
    )
    got = {o.id: o for o in read_results(str(plan_path), [str(tap)]).outcomes}
    first, second, third, fourth = (got[p["id"]] for p in probes)
    assert first.observed == probes[0]["expect"] and first.mismatch is None
    flipped = "open" if probes[1]["expect"] == "blocked" else "blocked"
    assert second.observed == flipped and second.detail == "pod exited with 0, expected 1"
    assert second.mismatch is not None
    assert third.observed == "inconclusive"
    assert fourth.detail == "not as expected (netassert)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,outcome\n", "line 1: expected probe-results.csv"),
        ("id,result,detail\nP-0001,maybe,x\n", "line 2: result 'maybe' is not one of"),
        ("id,result,detail\nP-9999,open,x\n", "line 2: probe 'P-9999' is not in the plan"),
        ("id,result,detail\nP-0001,open,x\nP-0001,open,y\n", "line 3: probe P-0001 has a result"),
        ("id,result,detail\nP-0001,open\n", "line 2: expected 3 fields"),
        ("TAP version 14\nok 1 - P-0001\nwhatever\n", "line 3: not a TAP test line"),
        ("TAP version 14\nBail out! cluster unreachable\n", "the test run bailed out: cluster"),
    ],
)
def test_bad_result_files(plan_path: Path, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "r.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_results(str(plan_path), [str(path)])
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))


def test_a_plan_is_checked_against_its_schema(plan_path: Path, tmp_path: Path) -> None:
    doc = json.loads(plan_path.read_text(encoding="utf-8"))
    assert read_plan(str(plan_path))["probes"] == doc["probes"]
    doc["probes"][0]["expect"] = "maybe"
    bad = tmp_path / "plan.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError, match="not a probe plan written by probe-plan: probes"):
        read_plan(str(bad))


def test_the_test_date_comes_from_the_files_never_guessed(plan_path: Path, tmp_path: Path) -> None:
    probes = _probes(plan_path)
    first, second = probes[0], probes[1]
    csv_file = tmp_path / "a.csv"
    csv_file.write_text(
        f"# tested: 2026-11-19T10:00:00Z\nid,result,detail\n{first['id']},{first['expect']},x\n",
        encoding="utf-8",
    )
    tap = tmp_path / "b.tap"
    tap.write_text(
        f"TAP version 14\n# tested: 2026-11-21T08:00:00Z\n1..1\nok 1 - {second['id']}\n",
        encoding="utf-8",
    )
    both = read_results(str(plan_path), [str(csv_file), str(tap)])
    assert both.tested == "2026-11-21"
    assert [o.observed for o in both.outcomes[:2]] == [first["expect"], second["expect"]]
    undated = tmp_path / "c.csv"
    undated.write_text(f"id,result,detail\n{first['id']},open,x\n", encoding="utf-8")
    assert read_results(str(plan_path), [str(undated)]).tested is None
