"""The evidence pack as an assessor receives it: complete, hashed, verifiable, reproducible,
and never half-written."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import jsonschema
import pytest
from helpers import DEMO_ARGS, PACK_FILES, cli_run, html_text

from compliance.datafile import schema

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-26T00:00:00Z"


def report_args(out: Path, *extra: str) -> list[str]:
    """`make demo`'s first command, into `out`: the command that wrote `sample_pack`, so a
    test that writes it again gets the same bytes (and, with `reuse_rendered_pdf`, the
    same layout without laying it out again)."""
    return [*DEMO_ARGS, "--out", str(out), "--exit-zero", *extra]


@pytest.fixture(autouse=True)
def _at_the_project_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inputs are named as `make demo` names them, from the project root."""
    monkeypatch.chdir(ROOT)


@pytest.fixture
def pack(sample_pack: Path) -> Path:
    return sample_pack


def copy_pack(pack: Path, dest: Path) -> Path:
    dest.mkdir()
    for name in PACK_FILES:
        (dest / name).write_bytes((pack / name).read_bytes())
    return dest


def test_pack_holds_the_five_files_and_a_zip_of_them(pack: Path) -> None:
    assert sorted(p.name for p in pack.iterdir()) == PACK_FILES
    with zipfile.ZipFile(pack.with_name("evidence.zip")) as archive:
        assert sorted(archive.namelist()) == [f"evidence/{n}" for n in PACK_FILES]
        for name in PACK_FILES:
            assert archive.read(f"evidence/{name}") == (pack / name).read_bytes()


def test_manifest_validates_and_hashes_every_file_and_input(pack: Path) -> None:
    import hashlib

    manifest = json.loads((pack / "manifest.json").read_text())
    jsonschema.validate(manifest, schema("manifest.schema.json"))
    assert [f["path"] for f in manifest["files"]] == [
        "evidence.xlsx",
        "report.pdf",
        "results.json",
        "snapshot.json",
    ]
    for entry in manifest["files"]:
        data = (pack / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size"] == len(data)
    roles = {(i["role"], i["path"]) for i in manifest["inputs"]}
    assert ("controls", "compliance:controls/pci-dss-4.0.1.yaml") in roles
    assert any(r == "scope" and p.endswith("samples/pci-dss.scope.yaml") for r, p in roles)
    exports = [i for i in manifest["inputs"] if i["role"] == "export"]
    assert len(exports) == len(list((ROOT / "samples/shop-cluster").glob("*.yaml")))
    for entry in manifest["inputs"]:
        if entry["role"] == "export":
            data = Path(entry["path"]).read_bytes()
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["as_of"] == AS_OF
    assert manifest["cluster"] == "shop-prod"
    assert manifest["frameworks"] == ["pci-dss-4.0.1"]


def test_digest_is_recomputable_from_the_manifest_by_its_stated_method(pack: Path) -> None:
    import hashlib

    manifest = json.loads((pack / "manifest.json").read_text())
    lines = [f"{i['sha256']} {i['size']} input:{i['path']}\n" for i in manifest["inputs"]]
    lines += [
        f"{f['sha256']} {f['size']} file:{f['path']}\n"
        for f in manifest["files"]
        if f["path"] != "report.pdf"
    ]
    assert hashlib.sha256("".join(lines).encode()).hexdigest() == manifest["digest"]["value"]


def test_results_json_is_what_evaluate_prints(
    pack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = report_args(Path("unused"))
    evaluate = ["evaluate", *args[1 : args.index("--out")], "--format", "json", "--exit-zero"]
    result = cli_run(evaluate, capsys)
    assert result.code == 0
    assert (pack / "results.json").read_text() == result.out


@pytest.mark.parametrize("form", ["folder", "zip"])
def test_verify_accepts_an_intact_pack(
    pack: Path, form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = pack if form == "folder" else pack.with_name("evidence.zip")
    result = cli_run(["verify", str(target)], capsys)
    assert result.code == 0, result.err
    manifest = json.loads((pack / "manifest.json").read_text())
    assert "intact" in result.out
    assert manifest["digest"]["value"] in result.out


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (lambda p: (p / "results.json").write_text("{}\n"), "results.json: changed"),
        (
            lambda p: (p / "report.pdf").write_bytes((p / "report.pdf").read_bytes()[:-1]),
            "report.pdf: changed",
        ),
        (lambda p: (p / "evidence.xlsx").unlink(), "evidence.xlsx: removed"),
        (lambda p: (p / "notes.txt").write_text("extra"), "notes.txt: added"),
        (lambda p: (p / "manifest.json").unlink(), "manifest.json: removed"),
        (
            lambda p: (p / "manifest.json").write_text(
                (p / "manifest.json").read_text().replace('"value": "', '"value": "0', 1)[:-1]
            ),
            "manifest.json: changed",
        ),
    ],
    ids=["changed-json", "changed-pdf", "removed", "added", "no-manifest", "manifest-edited"],
)
def test_verify_names_the_first_tampered_file(
    pack: Path, tmp_path: Path, tamper, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    copy = copy_pack(pack, tmp_path / "copy")
    tamper(copy)
    result = cli_run(["verify", str(copy)], capsys)
    assert result.code == 1
    assert expected in result.out
    assert "NOT INTACT" in result.out


def test_verify_catches_a_consistent_forgery_of_one_hash(
    pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Editing results.json and its manifest entry together still breaks the digest."""
    import hashlib

    copy = copy_pack(pack, tmp_path / "copy")
    data = (copy / "results.json").read_bytes().replace(b'"fail"', b'"pass"')
    (copy / "results.json").write_bytes(data)
    manifest = json.loads((copy / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["path"] == "results.json":
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            entry["size"] = len(data)
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2))
    result = cli_run(["verify", str(copy)], capsys)
    assert result.code == 1
    assert "manifest.json: changed: its digest does not match" in result.out


def test_verify_catches_tampering_inside_a_zip(
    pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = tmp_path / "forged.zip"
    with (
        zipfile.ZipFile(pack.with_name("evidence.zip")) as src,
        zipfile.ZipFile(forged, "w") as dst,
    ):
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("evidence.xlsx"):
                data = data + b"\0"
            dst.writestr(info, data)
    result = cli_run(["verify", str(forged)], capsys)
    assert result.code == 1
    assert "evidence.xlsx: changed" in result.out


def test_verify_refuses_what_is_not_a_pack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = cli_run(["verify", str(tmp_path / "nothing")], capsys)
    assert missing.code == 2
    assert "no such folder or file" in missing.err
    text = tmp_path / "file.txt"
    text.write_text("x")
    other = cli_run(["verify", str(text)], capsys)
    assert other.code == 2
    assert len(other.err_lines) == 1


def test_report_refuses_a_non_empty_folder_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "evidence"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = cli_run(report_args(out), capsys)
    assert result.code == 2
    assert result.err_lines == [f"error: {out}: folder is not empty; use --force to replace it"]
    assert (out / "keep.txt").read_text() == "mine"


def test_force_replaces_an_old_pack(
    pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], reuse_rendered_pdf: None
) -> None:
    out = copy_pack(pack, tmp_path / "evidence")
    (out / "report.pdf").write_bytes(b"an older report")
    result = cli_run(report_args(out, "--force"), capsys)
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == PACK_FILES
    assert (out / "report.pdf").read_bytes() == (pack / "report.pdf").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["evidence"]


def test_a_rendering_failure_leaves_no_partial_pack(
    pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken template fails the PDF after the JSON and spreadsheet were rendered: nothing
    is written, an existing pack is untouched, and the error says what failed (exit 3)."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.html.j2").write_text("<html>{{ no_such_value }}</html>")
    out = copy_pack(pack, tmp_path / "evidence")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = cli_run(report_args(out, "--force", "--zip", "--templates", str(templates)), capsys)
    assert result.code == 3
    (error,) = [line for line in result.err_lines if not line.startswith("warning: ")]
    assert (
        error
        == f"error: report template {templates / 'report.html.j2'}: 'no_such_value' is undefined"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence", "templates"]


def test_a_failure_while_writing_leaves_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    reuse_rendered_pdf: None,
) -> None:
    import compliance.pack

    def full_disk(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(compliance.pack, "move_into_place", full_disk)
    out = tmp_path / "evidence"
    result = cli_run(report_args(out, "--zip"), capsys)
    assert result.code == 3
    assert result.err_lines[-1] == f"error: {out}: cannot write the pack: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_report_exit_codes_follow_evaluate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reuse_rendered_pdf: None
) -> None:
    args = [a for a in report_args(tmp_path / "evidence") if a != "--exit-zero"]
    result = cli_run(args, capsys)
    assert result.code == 1  # the sample fails requirements; the pack is written anyway
    assert sorted(p.name for p in (tmp_path / "evidence").iterdir()) == PACK_FILES
    assert "content digest (sha256): " in result.out
    assert "seal (sha256 of manifest.json): " in result.out
    out = tmp_path / "evidence"
    names = "evidence.xlsx, manifest.json, report.pdf, results.json, snapshot.json"
    assert f"evidence pack written to {out}/ ({names})" in result.out
    assert f"check it with: compliance verify {out}" in result.out
    assert "PCI DSS v4.0.1 [pci-dss-4.0.1]: 10 in-scope workloads" in result.out


def test_two_processes_write_byte_identical_packs(demo_runs: list[tuple[Path, str]]) -> None:
    """Same inputs and --as-of, different hash seeds and folders: identical bytes, the zip
    included (its entries are under the folder's name, the same here)."""
    (first, _), (second, _) = demo_runs
    for name in PACK_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert first.with_suffix(".zip").read_bytes() == second.with_suffix(".zip").read_bytes()


def test_a_spreadsheet_failure_in_the_background_is_one_line_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import compliance.pack

    def broken(*_args: object) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(compliance.pack, "write_workbook", broken)
    result = cli_run(report_args(tmp_path / "evidence"), capsys)
    assert result.code == 3
    assert result.err_lines[-1] == "error: evidence.xlsx: writing failed: ValueError: boom"
    assert "Traceback" not in result.err
    assert list(tmp_path.iterdir()) == []


def test_the_readme_shows_what_make_demo_prints(demo_runs: list[tuple[Path, str]]) -> None:
    """The quick start's example output is the demo's real output: same inputs (named as
    `make demo` names them), same as-of, so the same digest."""
    makefile = (ROOT / "Makefile").read_text()
    assert "samples/shop-cluster --scope samples/pci-dss.scope.yaml" in makefile
    assert " ".join(DEMO_ARGS[1:4]) in makefile
    for option, value in zip(DEMO_ARGS[6::2], DEMO_ARGS[7::2], strict=True):
        assert f"{option} {value}" in makefile, option
    (_, stdout), _ = demo_runs
    readme = (ROOT / "README.md").read_text()
    starts = ("report.pdf:", "seal (sha256", "PCI DSS")
    printed = [line for line in stdout.splitlines() if line.startswith(starts)]
    assert len(printed) == 3, stdout
    for line in printed:
        assert line in readme, line


# --------------------------------------------------------------------------- --as-of


@pytest.mark.parametrize(
    "as_of",
    ["2108-01-01", "2200-06-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "1979-12-31T23:59:59Z"],
)
@pytest.mark.parametrize("command", ["report", "evaluate"])
def test_as_of_outside_what_a_pack_can_represent_is_refused_with_the_range(
    as_of: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Zip timestamps run from 1980 to 2107; year 1 with an offset overflowed."""
    args = [a if a != AS_OF else as_of for a in report_args(tmp_path / "evidence")]
    if command == "evaluate":
        args = ["evaluate", *args[1 : args.index("--out")], "--exit-zero"]
    result = cli_run(args, capsys)
    assert result.code == 2
    assert result.err_lines == [
        f"error: Invalid value for '--as-of': {as_of!r} is outside what an evidence pack can "
        "represent (1980-01-01T00:00:00Z to 2107-12-31T23:59:59Z)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_fractional_as_of_is_refused_at_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to write a pack that failed its own verify; the schemas of results.json and
    manifest.json (which verify checks) both take whole seconds only."""
    as_of = "2026-11-26T00:00:00.5Z"
    args = [a if a != AS_OF else as_of for a in report_args(tmp_path / "evidence")]
    result = cli_run(args, capsys)
    assert result.code == 2
    assert result.err_lines == [
        f"error: Invalid value for '--as-of': {as_of!r} has a fraction of a second; "
        "give whole seconds"
    ]
    assert list(tmp_path.iterdir()) == []
    for name in ("results.schema.json", "manifest.schema.json"):
        pattern = schema(name)["properties"]["as_of"]["pattern"]
        assert jsonschema.Draft202012Validator({"pattern": pattern}).is_valid(AS_OF)
        assert not jsonschema.Draft202012Validator({"pattern": pattern}).is_valid(
            "2026-11-26T00:00:00.5Z"
        ), name


def test_the_last_representable_moment_makes_a_pack_that_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_pdf_layout: list[str]
) -> None:
    (tmp_path / "cluster.yaml").write_text(SMALL_CLUSTER)
    (tmp_path / "scope.yaml").write_text(SMALL_SCOPE)
    out = tmp_path / "evidence"
    as_of = "2107-12-31T23:59:59Z"
    args = [
        "report", str(tmp_path / "cluster.yaml"), "--scope", str(tmp_path / "scope.yaml"),
        "--as-of", as_of, "--out", str(out), "--zip", "--exit-zero",
    ]  # fmt: skip
    result = cli_run(args, capsys)
    assert result.code == 0, result.err
    for target in (out, out.with_suffix(".zip")):
        verdict = cli_run(["verify", str(target)], capsys)
        assert verdict.code == 0, verdict.out
        assert f"as of {as_of}" in verdict.out
    with zipfile.ZipFile(out.with_suffix(".zip")) as archive:
        assert archive.infolist()[0].date_time[0] == 2107


SMALL_CLUSTER = """
apiVersion: v1
kind: Namespace
metadata: {name: pay}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: pay, labels: {app: api}}
spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
"""
SMALL_SCOPE = """
cluster: small
zones:
  - name: cde
    role: cde
    frameworks: [pci-dss-4.0.1]
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}
"""


# --------------------------------------------------------------------------- input paths


def test_inputs_are_recorded_the_same_way_whatever_the_spelling(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_pdf_layout: list[str],
) -> None:
    """`./x.yaml`, `x.yaml` and the absolute path give the same pack, byte for byte: paths
    under the working folder are recorded relative to it. The PDF is a function of its
    HTML alone, so the two reports' HTML is compared rather than laid out."""
    work = tmp_path / "work"
    (work / "in").mkdir(parents=True)
    (work / "in" / "cluster.yaml").write_text(SMALL_CLUSTER)
    (work / "in" / "scope.yaml").write_text(SMALL_SCOPE)
    monkeypatch.chdir(work)
    spellings = {
        "dotted": ("./in/cluster.yaml", "./in/../in/scope.yaml"),
        "absolute": (str(work / "in" / "cluster.yaml"), str(work / "in" / "scope.yaml")),
    }
    packs = {}
    for label, (export, scope) in spellings.items():
        out = tmp_path / label
        args = ["report", export, "--scope", scope, "--as-of", AS_OF, "--out", str(out)]
        result = cli_run([*args, "--exit-zero"], capsys)
        assert result.code == 0, result.err
        packs[label] = {name: (out / name).read_bytes() for name in PACK_FILES}
    assert packs["dotted"] == packs["absolute"]
    assert len(no_pdf_layout) == 2 and no_pdf_layout[0] == no_pdf_layout[1]
    manifest = json.loads(packs["dotted"]["manifest.json"])
    assert [(i["role"], i["path"]) for i in manifest["inputs"][:2]] == [
        ("export", "in/cluster.yaml"),
        ("scope", "in/scope.yaml"),
    ]


def test_inputs_outside_the_working_folder_are_recorded_by_name_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No path of the machine that made the pack ends up in it; the sha256 is the
    identity. Messages on the terminal keep the user's own spelling."""
    (tmp_path / "in").mkdir()
    export = tmp_path / "in" / "cluster.yaml"
    export.write_text(SMALL_CLUSTER + "\n" + SMALL_POLICY)
    (tmp_path / "in" / "scope.yaml").write_text(SMALL_SCOPE)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    args = ["evaluate", str(export), "--scope", str(tmp_path / "in" / "scope.yaml")]
    result = cli_run([*args, "--as-of", AS_OF, "--format", "json", "--exit-zero"], capsys)
    assert result.code == 0, result.err
    assert f"warning: {export}: NetworkPolicy pay/p" in result.err  # the user's spelling
    doc = result.json()
    assert [i["path"] for i in doc["inputs"]] == ["cluster.yaml"]
    assert doc["scope"]["path"] == "scope.yaml"
    assert any(w.startswith("cluster.yaml: NetworkPolicy pay/p") for w in doc["warnings"])
    assert str(tmp_path) not in result.out


def test_an_input_named_with_a_control_character_is_recorded_escaped_and_the_pack_verifies(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_pdf_layout: list[str],
) -> None:
    """A newline is a legal byte of a file name, but the manifest allows none in a path
    (it would forge a line of what the seal covers): the name is recorded escaped, and the
    pack is one `verify` accepts rather than one it calls not intact."""
    (tmp_path / "shop\nx.yaml").write_text(SMALL_CLUSTER)
    (tmp_path / "scope\u202e.yaml").write_text(SMALL_SCOPE)
    monkeypatch.chdir(tmp_path)
    args = ["report", "shop\nx.yaml", "--scope", "scope\u202e.yaml", "--as-of", AS_OF]
    result = cli_run([*args, "--out", "pack", "--exit-zero"], capsys)
    assert result.code == 0, result.err
    manifest = json.loads((tmp_path / "pack" / "manifest.json").read_text())
    assert [i["path"] for i in manifest["inputs"][:2]] == ["shop\\nx.yaml", "scope\\u202e.yaml"]
    verified = cli_run(["verify", "pack"], capsys)
    assert verified.code == 0, verified.out + verified.err
    # The report names them escaped too (its PDF is a stub here: test_inert_text lays out
    # escaped characters and reads them back).
    report = html_text(no_pdf_layout[0])
    assert "shop\\nx.yaml" in report and "scope\\u202e.yaml" in report
    assert "shop\nx" not in no_pdf_layout[0] and "\u202e" not in no_pdf_layout[0]


SMALL_POLICY = """---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: pay}
spec: {podSelector: {matchLabels: {app: nothing}}}
"""
