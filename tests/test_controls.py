"""Framework control mappings: the shipped files' integrity, user `--controls`
folders, and the `controls list` / `controls show` commands."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from compliance.checks import CHECKS
from compliance.controls import load_catalog, shipped_dir
from compliance.errors import InputError
from tests.helpers import Result

ROOT = Path(__file__).resolve().parent.parent
CONTROLS = ROOT / "controls"
SCHEMA = ROOT / "compliance" / "schemas" / "controls.schema.json"
SAMPLE_DIR = ROOT / "samples" / "shop-cluster"
SHIPPED = ("fedramp-rev5-high", "fedramp-rev5-moderate", "hipaa-security-rule", "pci-dss-4.0.1")
CONTROL_FILES = sorted(CONTROLS.glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return doc


def requirement_ids(framework_id: str) -> list[str]:
    return [r["id"] for r in load(CONTROLS / f"{framework_id}.yaml")["requirements"]]


# --------------------------------------------------------------------------- shipped files


def test_shipped_files_exist() -> None:
    assert CONTROL_FILES, "no controls/*.yaml"
    assert shipped_dir().resolve() == CONTROLS.resolve()
    ids = {p.name.removesuffix(".yaml") for p in CONTROL_FILES}
    assert set(SHIPPED) <= ids


@pytest.mark.parametrize("path", CONTROL_FILES, ids=lambda p: p.name)
def test_shipped_file_validates_against_schema(path: Path) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(load(path)))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


@pytest.mark.parametrize("path", CONTROL_FILES, ids=lambda p: p.name)
def test_shipped_file_requirements_are_consistent(path: Path) -> None:
    reqs = load(path)["requirements"]
    ids = [r["id"] for r in reqs]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for r in reqs:
        assert isinstance(r["id"], str), r["id"]
        for cid in r["checks"]:
            assert cid in CHECKS, (r["id"], cid)
        assert len(r["checks"]) == len(set(r["checks"])), r["id"]
        if r["automation"] == "manual":
            assert r["checks"] == [], r["id"]
            assert r.get("evidence"), r["id"]
        elif r["automation"] == "partial":
            assert r["checks"], r["id"]
            assert r.get("evidence"), r["id"]
        else:
            assert r["automation"] == "full", r["id"]
            assert r["checks"], r["id"]


def test_every_check_is_used_by_a_shipped_framework() -> None:
    used = {c for p in CONTROL_FILES for r in load(p)["requirements"] for c in r["checks"]}
    unused = sorted(set(CHECKS) - used)
    assert not unused, unused


def test_shipped_catalog_loads_through_the_code() -> None:
    catalog = load_catalog((), CHECKS)
    assert list(catalog) == sorted(SHIPPED)
    for fid, fw in catalog.items():
        assert fw.id == fid
        assert [r.id for r in fw.requirements] == requirement_ids(fid)


PCI_IDS = [
    *(f"1.2.{i}" for i in range(1, 9)),
    "1.3.1",
    "1.3.2",
    "1.3.3",
    *(f"1.4.{i}" for i in range(1, 6)),
    "1.5.1",
    "11.4.5",
    "11.4.6",
    *(f"A1.1.{i}" for i in range(1, 5)),
    "12.5.1",
    "12.5.2",
]


def test_pci_requirements_present() -> None:
    ids = set(requirement_ids("pci-dss-4.0.1"))
    missing = [i for i in PCI_IDS if i not in ids]
    assert not missing, missing


def test_hipaa_requirements_present() -> None:
    reqs = {r["id"]: r for r in load(CONTROLS / "hipaa-security-rule.yaml")["requirements"]}
    for rid in ("164.312(a)(1)", "164.312(e)(1)", "164.308(a)(4)(ii)(B)", "164.312(a)(2)(vi)"):
        assert rid in reqs, rid
    assert reqs["164.312(a)(2)(vi)"]["designation"] == "proposed"
    assert reqs["164.312(a)(1)"].get("designation") != "proposed"


FEDRAMP_BOTH = ("AC-4", "SC-7", "SC-7(5)", "CA-9", "CM-7")
FEDRAMP_HIGH_ONLY = ("SC-7(10)", "SC-7(21)", "SC-3", "AC-4(4)")


def test_fedramp_moderate_requirements() -> None:
    ids = set(requirement_ids("fedramp-rev5-moderate"))
    for rid in FEDRAMP_BOTH:
        assert rid in ids, rid
    for rid in ("SC-7(10)", "SC-7(21)", "SC-3"):
        assert rid not in ids, rid


def test_fedramp_high_requirements() -> None:
    ids = set(requirement_ids("fedramp-rev5-high"))
    for rid in (*FEDRAMP_BOTH, *FEDRAMP_HIGH_ONLY):
        assert rid in ids, rid


def test_fedramp_baselines_leave_out_controls_not_in_them() -> None:
    for fid in ("fedramp-rev5-moderate", "fedramp-rev5-high"):
        ids = set(requirement_ids(fid))
        assert "SC-7(11)" not in ids, fid
        assert "SC-7(13)" not in ids, fid


def test_fedramp_high_contains_every_moderate_requirement() -> None:
    moderate = set(requirement_ids("fedramp-rev5-moderate"))
    high = set(requirement_ids("fedramp-rev5-high"))
    assert moderate <= high, sorted(moderate - high)
    assert high - moderate >= set(FEDRAMP_HIGH_ONLY)


# --------------------------------------------------------------------------- user control folders


def _checks_of(name: str) -> dict[str, list[str]]:
    return {r["id"]: r["checks"] for r in load(CONTROLS / f"{name}.yaml")["requirements"]}


def test_register_coverage_and_zone_matrix_are_mapped_where_the_reference_says() -> None:
    """SEG-27 (every allowed service registered) and SEG-10 (zone matrix) per the check
    catalog: PCI DSS 1.2.5 covers every allowed port, not only scope-crossing ones."""
    pci = _checks_of("pci-dss-4.0.1")
    assert "SEG-27" in pci["1.2.5"]
    for req in ("1.2.1", "1.3.1", "1.3.2", "12.5.2"):
        assert "SEG-10" in pci[req], req
    hipaa = _checks_of("hipaa-security-rule")
    assert {"SEG-10", "SEG-27"} <= set(hipaa["164.308(a)(4)(ii)(B)"])
    for name in ("fedramp-rev5-moderate", "fedramp-rev5-high"):
        fed = _checks_of(name)
        assert "SEG-27" in fed["CM-7"] and "SEG-27" in fed["SC-7(4)"], name
        for req in ("AC-4", "SC-7", "CA-9"):
            assert "SEG-10" in fed[req], (name, req)


def test_pci_142_does_not_claim_seg06_sees_load_balancers() -> None:
    """SEG-06 reads NetworkPolicy, not Services: 1.4.2 must not say it covers load
    balancers or NodePorts."""
    (req,) = [
        r for r in load(CONTROLS / "pci-dss-4.0.1.yaml")["requirements"] if r["id"] == "1.4.2"
    ]
    claim = req["intent"].split("SEG-06 checks", 1)[1].split(";", 1)[0]
    assert "load balancer" not in claim and "NodePort" not in claim
    assert "not read" in req["intent"]


def framework_yaml(
    title: str = "My framework", requirements: list[dict[str, Any]] | None = None
) -> str:
    doc = {
        "title": title,
        "version": "1",
        "source": "our own policy",
        "scope": "everything we run",
        "requirements": requirements
        or [
            {
                "id": "R-1",
                "title": "Isolate ingress",
                "intent": "Every workload is isolated for ingress.",
                "automation": "full",
                "checks": ["SEG-02"],
            }
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def user_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "controls"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_user_framework_is_added(tmp_path: Path) -> None:
    folder = user_dir(tmp_path, {"my-fw.yaml": framework_yaml()})
    catalog = load_catalog([str(folder)], CHECKS)
    assert set(catalog) == {*SHIPPED, "my-fw"}
    assert list(catalog) == sorted(catalog)
    fw = catalog["my-fw"]
    assert fw.title == "My framework"
    assert [r.id for r in fw.requirements] == ["R-1"]
    assert fw.requirements[0].checks == ("SEG-02",)
    # The shipped ones are untouched.
    assert catalog["pci-dss-4.0.1"].title == "PCI DSS v4.0.1"


def test_user_file_replaces_shipped_framework_of_the_same_id(tmp_path: Path) -> None:
    folder = user_dir(tmp_path, {"pci-dss-4.0.1.yaml": framework_yaml("Our PCI reading")})
    catalog = load_catalog([str(folder)], CHECKS)
    assert set(catalog) == set(SHIPPED)
    fw = catalog["pci-dss-4.0.1"]
    assert fw.title == "Our PCI reading"
    assert [r.id for r in fw.requirements] == ["R-1"]
    assert Path(fw.path).resolve() == (folder / "pci-dss-4.0.1.yaml").resolve()


def test_later_user_folder_wins(tmp_path: Path) -> None:
    first = tmp_path / "a"
    second = tmp_path / "b"
    for folder, title in ((first, "first"), (second, "second")):
        folder.mkdir()
        (folder / "my-fw.yaml").write_text(framework_yaml(title), encoding="utf-8")
    assert load_catalog([str(first), str(second)], CHECKS)["my-fw"].title == "second"
    assert load_catalog([str(second), str(first)], CHECKS)["my-fw"].title == "first"


def test_a_control_file_is_read_again_when_its_bytes_change(tmp_path: Path) -> None:
    """Parsed frameworks are kept by their file's bytes; an edit between two loads in one
    process is seen, and a file broken after a good load fails."""
    folder = user_dir(tmp_path, {"my-fw.yaml": framework_yaml("before")})
    first = load_catalog([str(folder)], CHECKS)["my-fw"]
    assert first.title == "before"
    assert load_catalog([str(folder)], CHECKS)["my-fw"] is first  # unchanged: kept
    (folder / "my-fw.yaml").write_text(framework_yaml("after"), encoding="utf-8")
    after = load_catalog([str(folder)], CHECKS)["my-fw"]
    assert after.title == "after"
    assert after.sha256 == hashlib.sha256((folder / "my-fw.yaml").read_bytes()).hexdigest()
    (folder / "my-fw.yaml").write_text("title: [", encoding="utf-8")
    with pytest.raises(InputError):
        load_catalog([str(folder)], CHECKS)
    # A check unknown to one caller is refused for it though another caller's load passed.
    (folder / "my-fw.yaml").write_text(framework_yaml("after"), encoding="utf-8")
    with pytest.raises(InputError, match="unknown check 'SEG-02'"):
        load_catalog([str(folder)], [c for c in CHECKS if c != "SEG-02"])


def _bad_catalog(tmp_path: Path, requirement: dict[str, Any]) -> InputError:
    folder = user_dir(tmp_path, {"my-fw.yaml": framework_yaml(requirements=[requirement])})
    with pytest.raises(InputError) as info:
        load_catalog([str(folder)], CHECKS)
    assert (folder / "my-fw.yaml").as_posix() in str(info.value)
    return info.value


REQ = {"id": "R-1", "title": "t", "intent": "i", "automation": "full", "checks": ["SEG-02"]}


def test_user_file_with_unknown_check(tmp_path: Path) -> None:
    err = _bad_catalog(tmp_path, {**REQ, "checks": ["SEG-02", "SEG-42"]})
    assert err.field == "requirements[0].checks[1]"
    assert "SEG-42" in str(err)
    assert "SEG-02" in str(err)  # the known checks are listed


def test_user_file_with_unknown_check_first(tmp_path: Path) -> None:
    err = _bad_catalog(tmp_path, {**REQ, "checks": ["SEG-99"]})
    assert err.field == "requirements[0].checks[0]"
    assert "requirements[0].checks[0]" in str(err)
    assert "SEG-99" in str(err)


def test_user_file_with_schema_error(tmp_path: Path) -> None:
    err = _bad_catalog(tmp_path, {**REQ, "automation": "sometimes"})
    assert err.field == "requirements[0].automation"
    text = str(err)
    assert "sometimes" in text
    for option in ("full", "partial", "manual"):
        assert option in text


def test_manual_requirement_with_checks_is_refused(tmp_path: Path) -> None:
    err = _bad_catalog(tmp_path, {**REQ, "automation": "manual", "evidence": ["a record"]})
    assert err.field is not None and err.field.startswith("requirements[0]")


def test_partial_requirement_without_evidence_is_refused(tmp_path: Path) -> None:
    err = _bad_catalog(tmp_path, {**REQ, "automation": "partial"})
    assert err.field is not None and err.field.startswith("requirements[0]")
    assert "evidence" in str(err)


def test_duplicate_requirement_id_is_refused(tmp_path: Path) -> None:
    folder = user_dir(tmp_path, {"my-fw.yaml": framework_yaml(requirements=[REQ, REQ])})
    with pytest.raises(InputError) as info:
        load_catalog([str(folder)], CHECKS)
    assert info.value.field == "requirements[1]"
    assert "R-1" in str(info.value)


def test_missing_controls_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(InputError) as info:
        load_catalog([str(missing)], CHECKS)
    assert str(missing) in str(info.value)


def test_controls_folder_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "my-fw.yaml"
    path.write_text(framework_yaml(), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_catalog([str(path)], CHECKS)
    assert str(path) in str(info.value)


def test_empty_controls_folder(tmp_path: Path) -> None:
    folder = user_dir(tmp_path, {"README.md": "no frameworks here\n"})
    with pytest.raises(InputError) as info:
        load_catalog([str(folder)], CHECKS)
    assert str(folder) in str(info.value)
    assert "*.yaml" in str(info.value)


def test_bad_user_file_through_the_cli(tmp_path: Path, compliance: Callable[..., Result]) -> None:
    folder = user_dir(
        tmp_path, {"my-fw.yaml": framework_yaml(requirements=[{**REQ, "checks": ["SEG-99"]}])}
    )
    res = compliance("controls", "list", "--controls", folder)
    assert res.code == 2
    lines = res.err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert (folder / "my-fw.yaml").as_posix() in lines[0]
    assert "requirements[0].checks[0]" in lines[0]
    assert "Traceback" not in res.err


# --------------------------------------------------------------------------- CLI


def test_controls_list(compliance: Callable[..., Result]) -> None:
    res = compliance("controls", "list")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    for fid in SHIPPED:
        assert any(line.startswith(fid + " ") for line in lines), fid
    pci = next(line for line in lines if line.startswith("pci-dss-4.0.1 "))
    assert f"{len(requirement_ids('pci-dss-4.0.1'))} requirements" in pci
    for cid, spec in CHECKS.items():
        assert any(cid in line and spec.title in line for line in lines), cid


def test_controls_list_with_user_folder(tmp_path: Path, compliance: Callable[..., Result]) -> None:
    folder = user_dir(tmp_path, {"my-fw.yaml": framework_yaml()})
    res = compliance("controls", "list", "--controls", folder)
    assert res.code == 0, res.err
    assert any(line.startswith("my-fw ") for line in res.out.splitlines())


def test_controls_show_framework(compliance: Callable[..., Result]) -> None:
    res = compliance("controls", "show", "pci-dss-4.0.1")
    assert res.code == 0, res.err
    listed = [line.split()[0] for line in res.out.splitlines() if line.startswith("  ")]
    assert listed == requirement_ids("pci-dss-4.0.1")
    assert "PCI DSS v4.0.1" in res.out


def test_controls_show_requirement(compliance: Callable[..., Result]) -> None:
    res = compliance("controls", "show", "pci-dss-4.0.1", "1.3.1")
    assert res.code == 0, res.err
    req = next(
        r for r in load(CONTROLS / "pci-dss-4.0.1.yaml")["requirements"] if r["id"] == "1.3.1"
    )
    assert "1.3.1" in res.out
    # The intent is printed whole, wrapped for the terminal.
    assert " ".join(req["intent"].split()) in " ".join(res.out.split())
    assert req["checks"]
    for cid in req["checks"]:
        assert f"{cid} {CHECKS[cid].title}" in res.out, cid
        first_line = CHECKS[cid].description.splitlines()[0]
        assert first_line and first_line in res.out, cid
    assert "SEG-02" in res.out
    assert "Every in-scope workload is isolated for ingress." in res.out


def test_controls_show_hipaa_proposed_requirement(compliance: Callable[..., Result]) -> None:
    res = compliance("controls", "show", "hipaa-security-rule", "164.312(a)(2)(vi)")
    assert res.code == 0, res.err
    assert "designation: proposed" in res.out


def test_controls_show_manual_requirement_lists_evidence(compliance: Callable[..., Result]) -> None:
    req = next(
        r for r in load(CONTROLS / "pci-dss-4.0.1.yaml")["requirements"] if r["id"] == "1.4.3"
    )
    res = compliance("controls", "show", "pci-dss-4.0.1", "1.4.3")
    assert res.code == 0, res.err
    assert "automation: manual" in res.out
    flat = " ".join(res.out.split())
    for item in req["evidence"]:
        assert f"- {item}" in flat
    assert "SEG-" not in res.out


def test_controls_show_unknown_framework(compliance: Callable[..., Result]) -> None:
    res = compliance("controls", "show", "sox-404")
    assert res.code == 2
    assert res.out == ""
    assert "sox-404" in res.err
    for fid in SHIPPED:
        assert fid in res.err
    assert "Traceback" not in res.err


def test_controls_show_unknown_requirement(compliance: Callable[..., Result]) -> None:
    res = compliance("controls", "show", "pci-dss-4.0.1", "9.9.9")
    assert res.code == 2
    assert res.out == ""
    assert "9.9.9" in res.err
    assert "pci-dss-4.0.1" in res.err
    assert "Traceback" not in res.err


def test_evaluate_user_framework(tmp_path: Path, compliance: Callable[..., Result]) -> None:
    """A framework is data only: a new file and a scope naming it are enough."""
    folder = user_dir(
        tmp_path,
        {
            "my-fw.yaml": framework_yaml(
                requirements=[
                    {
                        "id": "R-1",
                        "title": "Isolate production",
                        "intent": "Production is isolated in both directions.",
                        "automation": "full",
                        "checks": ["SEG-02", "SEG-03"],
                    },
                    {
                        "id": "R-2",
                        "title": "Written standard",
                        "intent": "A written standard exists.",
                        "automation": "manual",
                        "checks": [],
                        "evidence": ["the standard"],
                    },
                ]
            )
        },
    )
    scope = tmp_path / "scope.yaml"
    scope.write_text(
        yaml.safe_dump(
            {
                "cluster": "shop",
                "zones": [
                    {
                        "name": "prod",
                        "role": "cde",
                        "frameworks": ["my-fw"],
                        "selectors": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "production"}
                                }
                            }
                        ],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    res = compliance(
        "evaluate",
        SAMPLE_DIR,
        "--scope",
        scope,
        "--controls",
        folder,
        "--framework",
        "my-fw",
        "--as-of",
        "2026-11-26",
        "--format",
        "json",
    )
    assert res.code in (0, 1), res.err
    doc = json.loads(res.out)
    assert [f["id"] for f in doc["frameworks"]] == ["my-fw"]
    (fw,) = doc["frameworks"]
    assert fw["title"] == "My framework"
    assert fw["in_scope_workloads"] == 8
    reqs = {r["id"]: r for r in fw["requirements"]}
    assert list(reqs) == ["R-1", "R-2"]
    assert reqs["R-2"]["status"] == "manual"
    checks = {c["id"]: c for c in doc["checks"]}
    assert set(checks) == {"SEG-02", "SEG-03"}
    assert all(c["framework"] == "my-fw" for c in doc["checks"])
    # production is under default deny in both directions.
    assert checks["SEG-02"]["status"] == "pass"
    assert checks["SEG-03"]["status"] == "pass"
    assert reqs["R-1"]["status"] == "pass"
    assert res.code == 0


def test_evaluate_unknown_framework_in_scope_without_controls(
    tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    """Without the --controls folder, a scope naming `my-fw` is refused."""
    scope = tmp_path / "scope.yaml"
    scope.write_text(
        "cluster: shop\nzones:\n  - {name: z, role: cde, frameworks: [my-fw]}\n",
        encoding="utf-8",
    )
    res = compliance("evaluate", SAMPLE_DIR, "--scope", scope, "--as-of", "2026-11-26")
    assert res.code == 2
    lines = res.err.splitlines()
    assert len(lines) == 1, lines
    assert str(scope) in lines[0] and "zones[0].frameworks[0]" in lines[0]
    assert "my-fw" in lines[0]


def test_controls_show_says_whom_a_requirement_applies_to(
    compliance: Callable[..., Result],
) -> None:
    res = compliance("controls", "show", "pci-dss-4.0.1", "11.4.6")
    assert res.code == 0, res.err
    assert "applies to: service providers only" in res.out
    res = compliance("controls", "show", "pci-dss-4.0.1", "1.3.1")
    assert "applies to: all in-scope entities" in res.out
