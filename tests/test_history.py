"""`compliance history`: packs in any order, the chain of baselines, formats and chart.

Uses `pack_chain` (conftest): q1 -> q2 -> q3, each made with --baseline the one before.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from compliance.render.diagram import trend_chart_svg
from tests.helpers import Result

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "compliance/schemas/history.schema.json").read_text())
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def here(pack_chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Run from the packs' folder, so they are named q1, q2, q3 as given."""
    monkeypatch.chdir(pack_chain["q1"].parent)
    return pack_chain


def _seal(pack: Path) -> str:
    return hashlib.sha256((pack / "manifest.json").read_bytes()).hexdigest()


def _history(compliance: Callable[..., Result], *args: object) -> tuple[Result, dict[str, Any]]:
    res = compliance("history", *args, "--format", "json")
    doc = json.loads(res.out) if res.out else {}
    if doc:
        jsonschema.validate(doc, SCHEMA)
    return res, doc


@pytest.mark.parametrize("order", list(itertools.permutations(["q1", "q2", "q3"]))[::2])
def test_packs_in_any_order_come_out_oldest_first_with_an_intact_chain(
    here: dict[str, Path], compliance: Callable[..., Result], order: tuple[str, ...]
) -> None:
    res, doc = _history(compliance, *order)
    assert res.code == 0, res.err
    assert [p["source"] for p in doc["packs"]] == ["q1", "q2", "q3"]
    assert [p["as_of"] for p in doc["packs"]] == [
        "2026-11-26T00:00:00Z",
        "2027-03-01T00:00:00Z",
        "2027-06-01T00:00:00Z",
    ]
    assert doc["chain"] == {"intact": True, "breaks": []}
    assert [p["seal"] for p in doc["packs"]] == [_seal(here[n]) for n in ("q1", "q2", "q3")]


def test_per_pack_counts_findings_and_zone_crossing_flows(
    here: dict[str, Path], compliance: Callable[..., Result]
) -> None:
    _, doc = _history(compliance, "q2", "q1")
    first, second = doc["packs"]
    results = [json.loads((here[n] / "results.json").read_text()) for n in ("q1", "q2")]
    for pack, result in zip((first, second), results, strict=True):
        (fw,) = pack["frameworks"]
        assert fw["id"] == "pci-dss-4.0.1" and fw["title"] == "PCI DSS v4.0.1"
        assert fw["status_counts"] == result["frameworks"][0]["status_counts"]
        assert next(iter(fw["status_counts"])) == "fail"  # most severe first
        open_ids = {
            f["id"]
            for c in result["checks"]
            for f in c["findings"]
            if f["status"] in ("fail", "warn")
        }
        assert pack["findings"]["open"] == len(open_ids)
    assert first["findings"]["opened"] is None and first["baseline"] is None
    before = {f["id"] for c in results[0]["checks"] for f in c["findings"]
              if f["status"] in ("fail", "warn")}  # fmt: skip
    after = {f["id"] for c in results[1]["checks"] for f in c["findings"]
             if f["status"] in ("fail", "warn")}  # fmt: skip
    assert second["findings"]["opened"] == sorted(after - before)
    assert second["findings"]["closed"] == sorted(before - after)
    waived = {f["id"] for c in results[0]["checks"] for f in c["findings"]
              if f["status"] == "waived"}  # fmt: skip
    assert first["findings"]["were_waived"] is None
    assert second["findings"]["were_waived"] == sorted((after - before) & waived)
    assert second["findings"]["were_waived"], "the sample's expired waiver reopens findings"
    # What diff calls new is what history calls opened, less what a waiver covered before.
    diff = json.loads(compliance("diff", "q1", "q2", "--format", "json", "--exit-zero").out)
    new = {f["id"] for f in diff["findings"]["new"] if f["status"] in ("fail", "warn")}
    assert new == set(second["findings"]["opened"]) - set(second["findings"]["were_waived"])
    seg19 = [i for i in second["findings"]["opened"] if i.startswith("SEG-19-")]
    assert len(seg19) == 2  # the two unapproved changes of the samples README
    # The data-pipeline flow into postgres and the kafka-connect flows cross zones now.
    assert (first["zone_crossing_flows"], second["zone_crossing_flows"]) == (45, 48)
    assert second["baseline"]["seal"] == _seal(here["q1"])


def test_a_zip_counts_as_its_pack(here: dict[str, Path], compliance: Callable[..., Result]) -> None:
    res, doc = _history(compliance, "q3", "q2.zip", "q1")
    assert res.code == 0, res.err
    assert doc["packs"][1]["source"] == "q2.zip" and doc["chain"]["intact"]


def test_a_broken_chain_is_named_and_exits_1(
    here: dict[str, Path], compliance: Callable[..., Result]
) -> None:
    res, doc = _history(compliance, "q3", "q1")
    assert res.code == 1
    assert doc["chain"] == {
        "intact": False,
        "breaks": [
            f"q3 names baseline {_seal(here['q2'])} but the previous pack q1 has "
            f"{_seal(here['q1'])}"
        ],
    }
    text = compliance("history", "q1", "q3")
    assert text.code == 1
    assert f"chain BROKEN: q3 names baseline {_seal(here['q2'])}" in text.out
    res = compliance("history", "q1", "q1")  # the same path twice counts once
    assert res.code == 0


def test_a_pack_without_a_baseline_after_another_breaks_the_chain(
    here: dict[str, Path], tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    from tests.test_snapshot import _reseal

    later = tmp_path / "later"
    shutil.copytree(here["q1"], later)
    manifest = json.loads((later / "manifest.json").read_text())
    manifest["as_of"] = "2027-09-01T00:00:00Z"
    (later / "manifest.json").write_text(json.dumps(manifest))
    _reseal(later)
    assert compliance("verify", later).code == 0
    res, doc = _history(compliance, later, "q2")
    assert res.code == 1
    assert doc["chain"]["breaks"] == [
        f"{later} names no baseline but the previous pack q2 has {_seal(here['q2'])}"
    ]


def test_a_tampered_or_foreign_input_is_refused_with_one_line(
    here: dict[str, Path], tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    copy = tmp_path / "q2"
    shutil.copytree(here["q2"], copy)
    results = copy / "results.json"
    results.write_bytes(results.read_bytes().replace(b"shop-prod", b"shop-prud", 1))
    res = compliance("history", "q1", copy)
    assert res.code == 2 and res.out == "" and len(res.err_lines) == 1
    assert "the pack is not intact: results.json: changed" in res.err
    res = compliance("history", "q1", ROOT / "samples/shop-cluster")
    assert res.code == 2 and len(res.err_lines) == 1 and "not an evidence pack" in res.err
    res = compliance("history", "q1", tmp_path / "missing")
    assert res.code == 2 and len(res.err_lines) == 1 and "Traceback" not in res.err


def test_packs_of_different_clusters_are_refused_unless_allowed(
    here: dict[str, Path], tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    from tests.test_baseline import _with_cluster_id

    a = _with_cluster_id(here["q1"], tmp_path / "a", "uid-a")
    b = _with_cluster_id(here["q2"], tmp_path / "b", "uid-b")
    res = compliance("history", a, b)
    assert res.code == 2 and len(res.err_lines) == 1
    assert "different clusters; pass --allow-different-clusters" in res.err
    assert "uid-a" in res.err and "uid-b" in res.err
    res = compliance("history", a, b, "--allow-different-clusters")
    # Listed; resealing `a` changed its seal, so `b`'s recorded baseline is not it.
    assert res.code == 1 and f"names baseline {_seal(here['q1'])}" in res.out


def test_md_and_txt_formats(here: dict[str, Path], compliance: Callable[..., Result]) -> None:
    md = compliance("history", "q2", "q1", "--format", "md")
    assert md.code == 0
    lines = md.out.splitlines()
    assert lines[0] == "# History of 2 packs"
    assert "## 2026-11-26T00:00:00Z: q1" in lines and "## 2027-03-01T00:00:00Z: q2" in lines
    assert "- chain: intact (each pack names the one before it)" in lines
    assert any(
        line.startswith("- PCI DSS v4.0.1 [pci-dss-4.0.1]: 19 fail, 4 supported") for line in lines
    )
    txt = compliance("history", "q1", "q2")
    assert "  flows crossing a zone boundary: 48" in txt.out.splitlines()
    _, doc = _history(compliance, "q1", "q2")
    found = doc["packs"][1]["findings"]
    assert (
        f"  findings: {found['open']} open; {len(found['opened'])} opened "
        f"({len(found['were_waived'])} of them waived before) and "
        f"{len(found['closed'])} closed since the previous pack"
    ) in txt.out.splitlines()
    assert f"    waived before: {', '.join(found['were_waived'])}" in txt.out.splitlines()
    assert len(found["opened"]) > 10 and f"and {len(found['opened']) - 10} more" in txt.out


def test_the_chart_is_svg_naming_each_framework(
    here: dict[str, Path], tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    chart = tmp_path / "trend.svg"
    res = compliance("history", "q3", "q1", "q2", "--chart", chart)
    assert res.code == 0, res.err
    root = ET.parse(chart).getroot()
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "PCI DSS v4.0.1 [pci-dss-4.0.1]" in texts
    assert [t for t in texts if t and t[:2] == "20"] == ["2026-11-26", "2027-03-01", "2027-06-01"]
    assert len(list(root.iter(f"{SVG}polyline"))) == 2  # fail and pass
    assert "19" in texts  # the failing requirements of each pack are labelled


def test_the_chart_escapes_names_from_control_files() -> None:
    svg = trend_chart_svg([("<b>&amp; Evil</b> [x]", [("2026-01-01", 3, 1), ("2026-04-01", 1, 2)])])
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "<b>&amp; Evil</b> [x]" in texts
    assert not list(root.iter(f"{SVG}b"))  # shown, never interpreted
    assert ET.fromstring(trend_chart_svg([])) is not None
