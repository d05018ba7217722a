"""Time the flow computation, the control evaluation and the evidence pack on synthetic
clusters.

    python benchmarks/run.py [--sizes 200,1000,5000] [--report-sizes 5000,6000] [--seed 7]
                             [--regenerate] [--strict]

For each size, generates `benchmarks/out/cluster-N.yaml` (only when missing or made with
another seed or generator version), then prints one row of an aligned text table:

- load s and flow s: the Python API in a fresh interpreter, timed with
  `time.perf_counter`; load = `load_paths` + `build_cluster`, flow = `compute_flows`.
- total s, output bytes and peak MiB: the real CLI in its own process,
  `python -m compliance flows FILE --format json` with stdout to a temporary file;
  wall time, size of what it printed, and the child's own peak RSS (`os.wait4`).

A second table times `evaluate()` in-process for `benchmarks/scope.yaml`, one row per size.

A third table builds the evidence pack for each of `--report-sizes` (0 skips it): the
real `python -m compliance report FILE --scope benchmarks/scope.yaml --as-of ...
--out TMP/pack --exit-zero` in its own process (wall time, peak RSS), the page count it
prints, the in-scope workloads and frameworks read back from the pack's results.json,
the sizes of report.pdf, evidence.xlsx and results.json, and whether
`python -m compliance verify TMP/pack` exits 0.

Exit status: 0, or 1 when a measurement failed (or, with --strict, a target was missed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
TARGET_SIZE = 5000
TARGET_TOTAL_S = 20.0
TARGET_PEAK_MIB = 1536.0
TARGET_FLOW_LOAD_RATIO = 2.0
SCOPE = HERE / "scope.yaml"
REPORT_SIZES = [5000, 6000]
"""Both have about 1,000 workloads in scope of some framework for scope.yaml; the 5,000
one is the harsher (more flows touch a zone, so more rows, groups and findings)."""
REPORT_AS_OF = "2026-11-26T00:00:00Z"
TARGET_REPORT_S = 120.0
TARGET_REPORT_IN_SCOPE = 1000
ALLOWLIST_SIZES = [1000, 5000, 10000]
"""Policies of the allowlist shape: one workload, each policy its own /32 in and out."""
TARGET_ALLOWLIST = 10000
TARGET_ALLOWLIST_S = 10.0
LONG_TEXT_CHARS = [0, 1000, 4000]
"""Characters of every register justification and waiver reason (4,000 is the schema's
limit) in the long-text shape: the sample cluster and its PCI DSS scope."""
SCALE_SIZES = [20000]
"""The scale target's cluster (about 35 MB of YAML, millions of flows), generated on
demand like the others; `--scale-sizes 0` skips it."""
TARGET_SCALE = 20000
TARGET_SCALE_TOTAL_S = 60.0
TARGET_SCALE_PEAK_MIB = 2048.0
STARTUP_SIZE = 200
TARGET_VERSION_S = 0.15
TARGET_STARTUP_FLOWS_S = 0.35
STARTUP_RUNS = 10
"""Start-up times are the best of this many runs: the least disturbed by other work."""
ADMIN_POLICIES = 50
"""AdminNetworkPolicies (plus the BaselineAdminNetworkPolicy) added for the guardrail
comparison, on the cluster of --admin-size workloads; `--admin-policies 0` skips it."""
TARGET_ADMIN_RATIO = 1.5
"""compute_flows with the admin policies, over compute_flows without them."""
ADMIN_SIZE = 5000
"""Workloads of the guardrail comparison, as the target speaks of."""
ADMIN_RUNS = 3
"""Each variant is timed this many times, alternating, and the best is kept."""
SAMPLE_CLUSTER = ROOT / "samples" / "shop-cluster"
SAMPLE_SCOPE = ROOT / "samples" / "pci-dss.scope.yaml"

HEADER = f"""\
Flow computation benchmark: synthetic clusters from benchmarks/generate.py.

  workloads     Deployments + StatefulSets + DaemonSets in the export
  policies      NetworkPolicies in the export
  flows         allowed flows found (len(FlowGraph.flows))
  YAML MB       size of the export file (10^6 bytes)
  load s        load_paths + build_cluster, in-process (Python API)
  flow s        compute_flows, in-process
  flow/load     flow s divided by load s
  output bytes  size of `compliance flows FILE --format json` standard output
  total s       wall time of that CLI run, interpreter start-up included
  peak MiB      peak resident memory of that CLI process

Targets at {TARGET_SIZE:,} workloads: total under {TARGET_TOTAL_S:.0f} s, peak under \
{TARGET_PEAK_MIB / 1024:.1f} GiB,
flow computation no slower than twice the load (flow/load <= {TARGET_FLOW_LOAD_RATIO:.1f}).
"""

COLUMNS = (
    ("workloads", 9),
    ("policies", 8),
    ("flows", 9),
    ("YAML MB", 7),
    ("load s", 7),
    ("flow s", 7),
    ("flow/load", 9),
    ("output bytes", 12),
    ("total s", 7),
    ("peak MiB", 8),
)


@dataclass
class Cluster:
    size: int
    path: Path
    workloads: int
    policies: int
    generated_s: float | None  # None when an existing file was reused


@dataclass
class Row:
    cluster: Cluster
    flows: int | None = None
    load_s: float | None = None
    flow_s: float | None = None
    output_bytes: int | None = None
    total_s: float | None = None
    peak_mib: float | None = None
    cli_flows: int | None = None
    evaluation: dict[str, Any] | None = None


@dataclass
class ReportRow:
    cluster: Cluster
    in_scope: int | None = None  # distinct results.json workloads with a framework
    frameworks: int | None = None
    pdf_pages: int | None = None
    pdf_bytes: int | None = None
    xlsx_bytes: int | None = None
    json_bytes: int | None = None
    total_s: float | None = None
    peak_mib: float | None = None
    verified: bool | None = None  # `compliance verify` exited 0


# -- generating the clusters ---------------------------------------------------------------


def _generator_digest() -> str:
    return hashlib.sha256((HERE / "generate.py").read_bytes()).hexdigest()


def ensure_cluster(size: int, seed: int, regenerate: bool) -> Cluster:
    """The export for `size`, regenerated unless an up-to-date one is already on disk."""
    path = OUT / f"cluster-{size}.yaml"
    stamp = OUT / f".cluster-{size}.json"  # seed, generator digest and object counts
    want = {"seed": seed, "generator_sha256": _generator_digest()}
    if not regenerate and path.is_file() and stamp.is_file():
        try:
            meta = json.loads(stamp.read_text(encoding="utf-8"))
        except ValueError:
            meta = {}
        if all(meta.get(k) == v for k, v in want.items()):
            return Cluster(size, path, meta["workloads"], meta["policies"], None)

    OUT.mkdir(parents=True, exist_ok=True)
    ignore = OUT / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# generated by benchmarks/run.py\n*\n", encoding="utf-8")
    sys.path.insert(0, str(HERE))
    try:
        import generate
    finally:
        sys.path.remove(str(HERE))
    start = time.perf_counter()
    docs = generate.generate(size, seed)
    generate.write(docs, path)
    elapsed = time.perf_counter() - start
    counts = generate.count_objects(docs)
    meta = {**want, "workloads": counts["workloads"], "policies": counts.get("NetworkPolicy", 0)}
    stamp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return Cluster(size, path, meta["workloads"], meta["policies"], elapsed)


# -- measuring -----------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    """Let the children import `compliance` from this checkout even when not installed."""
    env = dict(os.environ)
    parts = [str(ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def measure_api_here(
    path: str, evaluation: bool = True, also: Sequence[str] = ()
) -> dict[str, Any]:
    """Runs in the child: time the Python API on one export, read together with the files
    in `also` (the admin policies), and the evaluation unless `evaluation` is false (the
    scale cluster and the guardrail comparison measure the flows alone)."""
    from compliance.flows import compute_flows
    from compliance.load import load_paths
    from compliance.model import build_cluster

    t0 = time.perf_counter()
    loaded = load_paths([path, *also])
    cluster = build_cluster(loaded.objects)
    t1 = time.perf_counter()
    graph = compute_flows(cluster)
    t2 = time.perf_counter()
    result: dict[str, Any] = {"load_s": t1 - t0, "flow_s": t2 - t1, "flows": len(graph.flows)}
    admin = ("AdminNetworkPolicy", "BaselineAdminNetworkPolicy")
    result["admin_skipped"] = sum(
        n for kind, n in loaded.skipped_kinds if kind.split(" (")[0] in admin
    )
    if evaluation:
        result.update(measure_evaluation(cluster, graph))
    return result


def measure_evaluation(cluster: Any, graph: Any) -> dict[str, Any]:
    """Evaluate every shipped framework for `benchmarks/scope.yaml`, then render the JSON."""
    import datetime as dt

    from compliance.checks import CHECKS
    from compliance.controls import load_catalog
    from compliance.evaluate import evaluate
    from compliance.render.results import render_json
    from compliance.scope import read_scope

    catalog = load_catalog((), CHECKS)
    scope = read_scope(str(SCOPE), catalog, CHECKS)
    t0 = time.perf_counter()
    as_of = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    ev = evaluate(cluster, graph, scope, list(catalog.values()), as_of)
    t1 = time.perf_counter()
    text = render_json(ev)
    t2 = time.perf_counter()
    return {
        "in_scope": max(len(f.in_scope) for f in ev.frameworks),
        "findings": sum(len(c.findings) for f in ev.frameworks for c in f.checks),
        "eval_s": t1 - t0,
        "results_s": t2 - t1,
        "results_bytes": len(text.encode()),
    }


def measure_api(row: Row, errors: list[str], evaluation: bool = True) -> None:
    """Time the API in a fresh interpreter, so sizes do not share a heap."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure-api", str(row.cluster.path)]
    if not evaluation:
        cmd.append("--no-evaluation")
    proc = subprocess.run(cmd, cwd=ROOT, env=_child_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        errors.append(f"{row.cluster.size}: API run failed: {_tail(proc.stderr)}")
        return
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        errors.append(f"{row.cluster.size}: API run printed no result: {_tail(proc.stdout)}")
        return
    row.load_s = result["load_s"]
    row.flow_s = result["flow_s"]
    row.flows = result["flows"]
    if evaluation:
        row.evaluation = {k: result[k] for k in EVAL_KEYS}


def run_measured(cmd: Sequence[str], out: IO[bytes], err: IO[bytes]) -> tuple[int, float, float]:
    """Run `cmd` in its own process: exit code, wall time and that process's peak RSS (MiB)."""
    code, elapsed, peak, _ = run_measured_cpu(cmd, out, err)
    return code, elapsed, peak


def run_measured_cpu(
    cmd: Sequence[str], out: IO[bytes], err: IO[bytes]
) -> tuple[int, float, float, float]:
    """`run_measured` plus the process's CPU seconds (user + system): on a shared machine
    the wall time also counts the other processes' turns, the CPU time does not."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_child_env(), stdout=out, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: keep Popen from waiting
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    cpu = usage.ru_utime + usage.ru_stime
    return proc.returncode, elapsed, usage.ru_maxrss * scale / 2**20, cpu


def measure_cli(row: Row, errors: list[str], parse: bool = True) -> None:
    """Run the real CLI; wall time, output size and this child's own peak RSS. Without
    `parse`, the flows are counted by line (one flow per line, the contract's layout):
    parsing a gigabyte of JSON would take this process many times the CLI's memory."""
    cmd = [sys.executable, "-m", "compliance", "flows", str(row.cluster.path)]
    cmd += ["--format", "json"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        returncode, row.total_s, row.peak_mib = run_measured(cmd, out, err)
        row.output_bytes = out.seek(0, os.SEEK_END)
        if returncode != 0:
            err.seek(0)
            message = err.read().decode("utf-8", "replace")
            errors.append(f"{row.cluster.size}: CLI exited {returncode}: {_tail(message)}")
            return
        out.seek(0)
        if not parse:
            row.cli_flows = sum(1 for line in out if line.startswith(b'  {"src": '))
            return
        try:
            row.cli_flows = len(json.load(out)["flows"])
        except (ValueError, KeyError, TypeError) as exc:
            errors.append(f"{row.cluster.size}: CLI output is not the flows JSON: {exc}")


def measure_report(row: ReportRow, errors: list[str]) -> None:
    """Build the evidence pack with the real CLI in a temporary folder, then verify it."""
    where = f"report {row.cluster.size}"
    with tempfile.TemporaryDirectory() as tmp:
        pack = Path(tmp) / "pack"
        cmd = [sys.executable, "-m", "compliance", "report", str(row.cluster.path)]
        cmd += ["--scope", str(SCOPE), "--as-of", REPORT_AS_OF, "--out", str(pack), "--exit-zero"]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            returncode, row.total_s, row.peak_mib = run_measured(cmd, out, err)
            out.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            err.seek(0)
            stderr = err.read().decode("utf-8", "replace")
        if returncode != 0:
            errors.append(f"{where}: CLI exited {returncode}: {_tail(stderr or stdout)}")
            return
        pages = re.search(r"^report\.pdf: (\d+) pages", stdout, re.MULTILINE)
        if pages is None:
            errors.append(f"{where}: no `report.pdf: N pages` line in: {_tail(stdout)}")
        else:
            row.pdf_pages = int(pages.group(1))
        sizes = {}
        for name in ("report.pdf", "evidence.xlsx", "results.json"):
            try:
                sizes[name] = (pack / name).stat().st_size
            except OSError as exc:
                errors.append(f"{where}: {name}: {exc.strerror or exc}")
        row.pdf_bytes = sizes.get("report.pdf")
        row.xlsx_bytes = sizes.get("evidence.xlsx")
        row.json_bytes = sizes.get("results.json")
        try:
            results = json.loads((pack / "results.json").read_bytes())
            scoped = {w["workload"] for w in results["workloads"] if w["frameworks"]}
            row.in_scope = len(scoped)
            row.frameworks = len(results["frameworks"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            errors.append(f"{where}: results.json unreadable: {type(exc).__name__}: {exc}")

        cmd = [sys.executable, "-m", "compliance", "verify", str(pack)]
        proc = subprocess.run(cmd, cwd=ROOT, env=_child_env(), capture_output=True, text=True)
        row.verified = proc.returncode == 0
        if not row.verified:
            message = _tail(proc.stdout + "\n" + proc.stderr)
            errors.append(f"{where}: `compliance verify` exited {proc.returncode}: {message}")


def _generate_module() -> Any:
    sys.path.insert(0, str(HERE))
    try:
        import generate
    finally:
        sys.path.remove(str(HERE))
    return generate


@dataclass
class ShapeRow:
    size: int  # policies (allowlist) or characters per text field (long text)
    total_s: float | None = None
    cpu_s: float | None = None
    peak_mib: float | None = None
    flows: int | None = None  # allowlist: flows printed
    pages: int | None = None  # long text: PDF pages
    text_chars: int | None = None  # long text: characters in the long fields together


def measure_allowlist(row: ShapeRow, errors: list[str]) -> None:
    """`compliance flows --format json` on one workload selected by N allowlist policies."""
    path = OUT / f"allowlist-{row.size}.yaml"
    generate = _generate_module()
    generate.write(generate.allowlist(row.size), path)
    cmd = [sys.executable, "-m", "compliance", "flows", str(path), "--format", "json"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        returncode, row.total_s, row.peak_mib, row.cpu_s = run_measured_cpu(cmd, out, err)
        if returncode != 0:
            err.seek(0)
            message = err.read().decode("utf-8", "replace")
            errors.append(f"allowlist {row.size}: CLI exited {returncode}: {_tail(message)}")
            return
        out.seek(0)
        try:
            row.flows = len(json.load(out)["flows"])
        except (ValueError, KeyError, TypeError) as exc:
            errors.append(f"allowlist {row.size}: output is not the flows JSON: {exc}")


def measure_long_text(row: ShapeRow, errors: list[str]) -> None:
    """`compliance report` on the sample with every register justification and waiver
    reason `row.size` characters long without a space; checks results.json keeps them."""
    where = f"long text {row.size}"
    generate = _generate_module()
    scope_text = generate.long_text_scope(SAMPLE_SCOPE.read_text(encoding="utf-8"), row.size)
    with tempfile.TemporaryDirectory() as tmp:
        scope = Path(tmp) / "scope.yaml"
        scope.write_text(scope_text, encoding="utf-8")
        pack = Path(tmp) / "pack"
        cmd = [sys.executable, "-m", "compliance", "report", str(SAMPLE_CLUSTER)]
        cmd += ["--scope", str(scope), "--as-of", REPORT_AS_OF, "--out", str(pack), "--exit-zero"]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            returncode, row.total_s, row.peak_mib, row.cpu_s = run_measured_cpu(cmd, out, err)
            out.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            err.seek(0)
            stderr = err.read().decode("utf-8", "replace")
        if returncode != 0:
            errors.append(f"{where}: CLI exited {returncode}: {_tail(stderr or stdout)}")
            return
        pages = re.search(r"^report\.pdf: (\d+) pages", stdout, re.MULTILINE)
        row.pages = int(pages.group(1)) if pages else None
        try:
            results = json.loads((pack / "results.json").read_bytes())
            register = results["scope"]["approved_flows"]
            row.text_chars = sum(len(e["justification"]) for e in register)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            errors.append(f"{where}: results.json unreadable: {type(exc).__name__}: {exc}")
            return
        if row.size and any(len(e["justification"]) != row.size for e in register):
            errors.append(f"{where}: results.json does not keep the justifications whole")


SHAPES_HEADER = f"""\
Hostile shapes (issue: quadratic time on long strings and on many address rules).

  allowlist     one workload selected by N NetworkPolicies, each its own /32 and port in
                ingress and another /32 in egress (`generate.py --allowlist`);
                `compliance flows FILE --format json`: wall and CPU time, peak memory, flows
  long text     the sample cluster and samples/pci-dss.scope.yaml with every register
                justification and waiver reason N characters without a space;
                `compliance report`: wall and CPU time, PDF pages, and the CPU seconds each
                extra 10,000 characters cost over N = 0 (about constant when layout is linear)

Target: the allowlist of {TARGET_ALLOWLIST:,} policies in under {TARGET_ALLOWLIST_S:.0f} s.
"""


def print_shapes(allow_rows: Sequence[ShapeRow], text_rows: Sequence[ShapeRow]) -> None:
    print()
    print(SHAPES_HEADER)
    if allow_rows:
        print(f"{'policies':>9}  {'flows':>7}  {'total s':>7}  {'CPU s':>6}  {'peak MiB':>8}")
        print(f"{'-' * 9}  {'-' * 7}  {'-' * 7}  {'-' * 6}  {'-' * 8}")
        for row in allow_rows:
            cells = (
                _cell(row.size, "d").rjust(9),
                _cell(row.flows, "d").rjust(7),
                _cell(row.total_s, ".2f").rjust(7),
                _cell(row.cpu_s, ".2f").rjust(6),
                _cell(row.peak_mib, ".0f").rjust(8),
            )
            print("  ".join(cells))
        print()
    if text_rows:
        base = next((r.cpu_s for r in text_rows if r.size == 0), None)
        names: list[tuple[str, int]] = [("chars", 6), ("in register", 11), ("PDF pages", 9)]
        names += [("total s", 7), ("CPU s", 6), ("s/10k", 6)]
        print("  ".join(name.rjust(width) for name, width in names))
        print("  ".join("-" * width for _, width in names))
        for row in text_rows:
            rate = None
            if base is not None and row.cpu_s is not None and row.size and row.text_chars:
                rate = (row.cpu_s - base) / row.text_chars * 10_000
            text_cells = (
                _cell(row.size, "d").rjust(6),
                _cell(row.text_chars, "d").rjust(11),
                _cell(row.pages, "d").rjust(9),
                _cell(row.total_s, ".2f").rjust(7),
                _cell(row.cpu_s, ".2f").rjust(6),
                _cell(rate, ".2f").rjust(6),
            )
            print("  ".join(text_cells))
    sys.stdout.flush()


def _tail(text: str, lines: int = 3) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept) or "(no output)"


# -- reporting -----------------------------------------------------------------------------

EVAL_KEYS = ("in_scope", "findings", "eval_s", "results_s", "results_bytes")
EVAL_HEADER = """\
Control evaluation: every shipped framework (4) for benchmarks/scope.yaml, in-process.

  in scope      in-scope workloads of the largest framework scope
  findings      findings over all frameworks and checks
  eval s        evaluate(): every check once per framework, waivers, roll-up
  results s     rendering the results JSON (`compliance evaluate --format json`)
  results MB    size of that JSON (10^6 bytes)
"""
EVAL_COLUMNS = (
    ("workloads", 9),
    ("in scope", 8),
    ("findings", 8),
    ("eval s", 7),
    ("results s", 9),
    ("results MB", 10),
)


def print_evaluation(rows: Sequence[Row]) -> None:
    print()
    print(EVAL_HEADER)
    widths = [w for _, w in EVAL_COLUMNS]
    print("  ".join(name.rjust(w) for name, w in EVAL_COLUMNS))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        ev = row.evaluation or {}
        cells = [
            _cell(row.cluster.workloads, "d"),
            _cell(ev.get("in_scope"), "d"),
            _cell(ev.get("findings"), "d"),
            _cell(ev.get("eval_s"), ".2f"),
            _cell(ev.get("results_s"), ".2f"),
            _cell(ev["results_bytes"] / 1e6 if "results_bytes" in ev else None, ".1f"),
        ]
        print("  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))
    sys.stdout.flush()


REPORT_HEADER = f"""\
Evidence pack: `compliance report FILE --scope benchmarks/scope.yaml --as-of {REPORT_AS_OF}
--out TMP/pack --exit-zero` in its own process, then `compliance verify TMP/pack`.

  workloads     Deployments + StatefulSets + DaemonSets in the export
  in scope      distinct workloads in the pack's results.json with at least one framework
  frameworks    frameworks evaluated (entries of results.json "frameworks")
  PDF pages     pages of report.pdf (the CLI's `report.pdf: N pages` line)
  PDF MB        size of report.pdf (10^6 bytes)
  XLSX MB       size of evidence.xlsx (10^6 bytes)
  JSON MB       size of results.json (10^6 bytes)
  total s       wall time of the report run, interpreter start-up included
  peak MiB      peak resident memory of that CLI process
  verify        ok when `compliance verify` on the pack exits 0, else FAILED

Target: the pack for {TARGET_REPORT_IN_SCOPE:,} in-scope workloads in under \
{TARGET_REPORT_S / 60:.0f} minutes (total < {TARGET_REPORT_S:.0f} s).
"""
REPORT_COLUMNS = (
    ("workloads", 9),
    ("in scope", 8),
    ("frameworks", 10),
    ("PDF pages", 9),
    ("PDF MB", 6),
    ("XLSX MB", 7),
    ("JSON MB", 7),
    ("total s", 7),
    ("peak MiB", 8),
    ("verify", 6),
)


def print_report_line(cells: Sequence[str]) -> None:
    widths = [w for _, w in REPORT_COLUMNS]
    print("  ".join(cell.rjust(w) for cell, w in zip(cells, widths, strict=True)))
    sys.stdout.flush()


def format_report_row(row: ReportRow) -> list[str]:
    def mb(size: int | None) -> str:
        return _cell(None if size is None else size / 1e6, ".2f")

    verify = "-" if row.verified is None else ("ok" if row.verified else "FAILED")
    return [
        _cell(row.cluster.workloads, "d"),
        _cell(row.in_scope, "d"),
        _cell(row.frameworks, "d"),
        _cell(row.pdf_pages, "d"),
        mb(row.pdf_bytes),
        mb(row.xlsx_bytes),
        mb(row.json_bytes),
        _cell(row.total_s, ".2f"),
        _cell(row.peak_mib, ".0f"),
        verify,
    ]


def _cell(value: float | int | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_row(row: Row) -> list[str]:
    ratio = None
    if row.load_s and row.flow_s is not None:
        ratio = row.flow_s / row.load_s
    return [
        _cell(row.cluster.workloads, "d"),
        _cell(row.cluster.policies, "d"),
        _cell(row.flows, "d"),
        _cell(row.cluster.path.stat().st_size / 1e6, ".2f"),
        _cell(row.load_s, ".2f"),
        _cell(row.flow_s, ".2f"),
        _cell(ratio, ".2f"),
        _cell(row.output_bytes, "d"),
        _cell(row.total_s, ".2f"),
        _cell(row.peak_mib, ".0f"),
    ]


def print_line(cells: Sequence[str]) -> None:
    print("  ".join(cell.rjust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=True)))
    sys.stdout.flush()


def _verdict(lines: list[str], ok: bool | None, text: str) -> None:
    word = "n/a   " if ok is None else ("ok    " if ok else "MISSED")
    lines.append(f"  {word} {text}")


def best_time(cmd: Sequence[str], runs: int = STARTUP_RUNS) -> tuple[int, float]:
    """The exit code of the last run and the shortest wall time of `runs` runs."""
    best, code = float("inf"), 0
    for _ in range(runs):
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            code, elapsed, _ = run_measured(cmd, out, err)
        best = min(best, elapsed)
    return code, best


def measure_startup(cluster: Cluster, errors: list[str]) -> list[str]:
    """`compliance --version` and `compliance flows --format json` on the small cluster:
    what a user waits for on every command, interpreter start-up included."""
    lines: list[str] = []
    version = [sys.executable, "-m", "compliance", "--version"]
    flows = [sys.executable, "-m", "compliance", "flows", str(cluster.path), "--format", "json"]
    for cmd, target, text in (
        (version, TARGET_VERSION_S, "--version"),
        (flows, TARGET_STARTUP_FLOWS_S, f"flows --format json, {cluster.workloads:,} workloads"),
    ):
        code, best = best_time(cmd)
        if code != 0:
            errors.append(f"start-up: {text} exited {code}")
        _verdict(lines, best < target, f"{text}: {best:.3f} s < {target:.2f} s (best of "
                 f"{STARTUP_RUNS})")  # fmt: skip
    return lines


def check_scale_targets(row: Row) -> list[str]:
    """The scale cluster's targets; a missed one starts with MISSED."""
    lines: list[str] = []
    total, peak = row.total_s, row.peak_mib
    _verdict(lines, None if total is None else total < TARGET_SCALE_TOTAL_S,
             f"total {_cell(total, '.2f')} s < {TARGET_SCALE_TOTAL_S:.0f} s")  # fmt: skip
    _verdict(lines, None if peak is None else peak < TARGET_SCALE_PEAK_MIB,
             f"peak {_cell(peak, '.0f')} MiB < {TARGET_SCALE_PEAK_MIB:.0f} MiB")  # fmt: skip
    ratio = None if not row.load_s or row.flow_s is None else row.flow_s / row.load_s
    _verdict(lines, None if ratio is None else ratio <= TARGET_FLOW_LOAD_RATIO,
             f"flow/load {_cell(ratio, '.2f')} <= {TARGET_FLOW_LOAD_RATIO:.1f}")  # fmt: skip
    return lines


def check_targets(row: Row) -> list[str]:
    """One line per target for the reference size; a missed one starts with MISSED."""
    lines: list[str] = []

    def verdict(ok: bool | None, text: str) -> None:
        _verdict(lines, ok, text)

    total, peak = row.total_s, row.peak_mib
    verdict(None if total is None else total < TARGET_TOTAL_S,
            f"total {_cell(total, '.2f')} s < {TARGET_TOTAL_S:.0f} s")  # fmt: skip
    verdict(None if peak is None else peak < TARGET_PEAK_MIB,
            f"peak {_cell(peak, '.0f')} MiB < {TARGET_PEAK_MIB:.0f} MiB")  # fmt: skip
    ratio = None if not row.load_s or row.flow_s is None else row.flow_s / row.load_s
    verdict(None if ratio is None else ratio <= TARGET_FLOW_LOAD_RATIO,
            f"flow/load {_cell(ratio, '.2f')} <= {TARGET_FLOW_LOAD_RATIO:.1f}")  # fmt: skip
    return lines


def check_report_targets(row: ReportRow) -> list[str]:
    """The evidence pack's time target, and whether the run had enough workloads in scope
    to stand for it; a missed one starts with MISSED."""
    lines: list[str] = []
    total, scoped = row.total_s, row.in_scope
    _verdict(lines, None if total is None else total < TARGET_REPORT_S,
             f"total {_cell(total, '.2f')} s < {TARGET_REPORT_S:.0f} s")  # fmt: skip
    _verdict(lines, None if scoped is None else scoped >= TARGET_REPORT_IN_SCOPE,
             f"in scope {_cell(scoped, ',d')} >= {TARGET_REPORT_IN_SCOPE:,}")  # fmt: skip
    return lines


def parse_report_sizes(text: str) -> list[int]:
    if text.strip() == "0":
        return []
    return parse_sizes(text)


def parse_chars(text: str) -> list[int]:
    try:
        chars = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        msg = f"not a comma-separated list of integers: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if any(n < 0 or n > 4000 for n in chars):
        raise argparse.ArgumentTypeError("characters must be from 0 to 4000 (the schema's limit)")
    return chars


def measure_snapshot_here(path: str) -> dict[str, Any]:
    """Runs in the child: snapshot writing, reading a pack as input, and a diff.

    The diff's NEW side is the same cluster with its first policy removed, so the diff
    computes that policy's own effect; the target is the diff (both sides read from
    their snapshots, evaluated, compared) within three times one evaluation (load,
    flows, evaluate)."""
    import dataclasses
    import datetime as dt
    import tempfile

    from compliance.checks import CHECKS
    from compliance.controls import load_catalog
    from compliance.diff import DiffSide, diff
    from compliance.evaluate import evaluate
    from compliance.flows import compute_flows
    from compliance.load import load_paths
    from compliance.model import build_cluster
    from compliance.scope import read_scope
    from compliance.snapshot import canonical, read_pack, snapshot_bytes

    catalog = load_catalog((), CHECKS)
    scope = read_scope(str(SCOPE), catalog, CHECKS)
    frameworks = list(catalog.values())
    as_of = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    t0, c0 = time.perf_counter(), _cpu()
    loaded = load_paths([path])
    cluster = build_cluster(loaded.objects)
    ev = evaluate(cluster, compute_flows(cluster), scope, frameworks, as_of, loaded.inputs)
    t1, c1 = time.perf_counter(), _cpu()
    data = snapshot_bytes(ev)
    t2 = time.perf_counter()
    changed = dataclasses.replace(cluster, policies=cluster.policies[1:])
    ev2 = evaluate(changed, compute_flows(changed), scope, frameworks, as_of, loaded.inputs)
    with tempfile.TemporaryDirectory() as tmp:
        packs = []
        for name, body in (("old", data), ("new", snapshot_bytes(ev2))):
            folder = Path(tmp) / name
            folder.mkdir()
            (folder / "snapshot.json").write_bytes(body)
            (folder / "manifest.json").write_bytes(canonical({}))
            packs.append(str(folder))
        t3 = time.perf_counter()
        read_pack(packs[0])
        t4, c4 = time.perf_counter(), _cpu()
        sides = []
        for folder in packs:
            snap = read_pack(folder)
            assert snap is not None
            again = evaluate(
                snap.cluster, compute_flows(snap.cluster), scope, frameworks, as_of, snap.inputs
            )
            sides.append(DiffSide(folder, None, again))
        doc = diff(sides[0], sides[1])
        t5, c5 = time.perf_counter(), _cpu()
    return {
        "evaluation_s": t1 - t0,
        "evaluation_cpu_s": c1 - c0,
        "diff_cpu_s": c5 - c4,
        "snapshot_write_s": t2 - t1,
        "snapshot_bytes": len(data),
        "pack_read_s": t4 - t3,
        "diff_s": t5 - t4,
        "diff_policies": len(doc["policies"]),
    }


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (the evaluation's forked copy):
    steadier than wall time on a shared machine."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measure_snapshot(size: int, path: Path, errors: list[str]) -> bool:
    """Print the snapshot and diff figures; True when the diff missed its 3x target at
    TARGET_SIZE workloads (the issue states it there; other sizes are shown only)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure-snapshot", str(path)]
    proc = subprocess.run(cmd, cwd=ROOT, env=_child_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        errors.append(f"{size}: snapshot run failed: {_tail(proc.stderr)}")
        return True
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    ratio = r["diff_s"] / r["evaluation_s"]
    cpu_ratio = r["diff_cpu_s"] / r["evaluation_cpu_s"]
    print(
        f"snapshot {size:>6} workloads: evaluation {r['evaluation_s']:.2f} s, snapshot write "
        f"{r['snapshot_write_s']:.2f} s ({r['snapshot_bytes'] / 1e6:.1f} MB), pack read "
        f"{r['pack_read_s']:.2f} s, diff {r['diff_s']:.2f} s = {ratio:.1f}x the evaluation "
        f"(CPU {r['diff_cpu_s']:.1f} s / {r['evaluation_cpu_s']:.1f} s = {cpu_ratio:.1f}x; "
        f"target 3x: {'met' if ratio <= 3 else 'MISSED'})"
    )
    return size == TARGET_SIZE and ratio > 3


# -- cluster-wide guardrails ---------------------------------------------------------------


def ensure_admin_policies(cluster: Cluster, count: int, seed: int, regenerate: bool) -> Path:
    """`count` AdminNetworkPolicies and the BaselineAdminNetworkPolicy over the cluster's
    namespaces and workloads, in a file of their own beside it (regenerated like it)."""
    path = OUT / f"admin-policies-{cluster.size}-{count}.yaml"
    stamp = OUT / f".admin-policies-{cluster.size}-{count}.json"
    want = {"seed": seed, "generator_sha256": _generator_digest()}
    if not regenerate and path.is_file() and stamp.is_file():
        try:
            if json.loads(stamp.read_text(encoding="utf-8")) == want:
                return path
        except ValueError:
            pass
    generate = _generate_module()
    docs = generate.admin_policies(generate.generate(cluster.size, seed), count, seed)
    generate.write(docs, path)
    stamp.write_text(json.dumps(want, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def measure_admin(
    cluster: Cluster, admin_path: Path, count: int, runs: int, errors: list[str]
) -> list[str]:
    """compute_flows on the cluster alone and with the admin policies, each in a fresh
    interpreter, alternating, best of `runs`; prints the table and returns the target
    line. Guardrails change what is allowed, so the flows differ: the time per flow is
    printed too, which says whether the engine or the output grew."""
    best: dict[str, dict[str, Any]] = {}
    for _ in range(max(1, runs)):
        for variant, also in (("NetworkPolicy only", []), (f"+ {count} ANPs + BANP", [admin_path])):
            cmd = [sys.executable, str(Path(__file__).resolve()), "--measure-api"]
            cmd += [str(cluster.path), "--no-evaluation"]
            for extra in also:
                cmd += ["--also", str(extra)]
            proc = subprocess.run(cmd, cwd=ROOT, env=_child_env(), capture_output=True, text=True)
            if proc.returncode != 0:
                errors.append(f"admin policies, {variant}: API run failed: {_tail(proc.stderr)}")
                return []
            try:
                result = json.loads(proc.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                errors.append(f"admin policies, {variant}: no result: {_tail(proc.stdout)}")
                return []
            if variant not in best or result["flow_s"] < best[variant]["flow_s"]:
                best[variant] = result
    print(
        f"\nCluster-wide guardrails: compute_flows on {cluster.path.relative_to(ROOT)} "
        f"({cluster.workloads:,} workloads) alone and with {admin_path.relative_to(ROOT)}, "
        f"best of {max(1, runs)} runs each, alternating.\n"
    )
    print(
        f"  {'variant':<24} {'flows':>9} {'load s':>7} {'flow s':>7} {'us/flow':>8}  "
        "admin policies skipped"
    )
    for variant, r in best.items():
        per_flow = r["flow_s"] / r["flows"] * 1e6 if r["flows"] else None
        print(
            f"  {variant:<24} {r['flows']:>9} {r['load_s']:>7.2f} {r['flow_s']:>7.2f} "
            f"{_cell(per_flow, '.2f'):>8}  {r['admin_skipped']}"
        )
    (plain, guarded) = best.values()
    ratio = guarded["flow_s"] / plain["flow_s"] if plain["flow_s"] else None
    if plain["flows"] and guarded["flows"] and ratio is not None:
        flows_ratio = guarded["flows"] / plain["flows"]
        print(
            f"  with / without: flows {flows_ratio:.2f}x, flow s {ratio:.2f}x, time per flow "
            f"{ratio / flows_ratio:.2f}x"
        )
    if guarded["admin_skipped"]:
        print(
            "  the loader skipped the admin policies (not modelled): the ratio measures "
            "reading them, not evaluating them"
        )
    lines: list[str] = []
    text = f"flow s with / without {_cell(ratio, '.2f')} <= {TARGET_ADMIN_RATIO:.1f}"
    _verdict(lines, None if ratio is None else ratio <= TARGET_ADMIN_RATIO, text)
    return lines


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        msg = f"not a comma-separated list of integers: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not sizes or any(n < 3 for n in sizes):
        raise argparse.ArgumentTypeError("sizes must be integers >= 3")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark `compliance flows`, the control evaluation and `compliance "
        "report` on synthetic clusters of several sizes."
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=[200, 1000, 5000],
        help="comma-separated workload counts (default: 200,1000,5000)",
    )
    parser.add_argument(
        "--report-sizes",
        type=parse_report_sizes,
        default=REPORT_SIZES,
        metavar="N,...",
        help="workload counts of the clusters for the evidence pack table; 0 skips it "
        f"(default: {','.join(map(str, REPORT_SIZES))})",
    )
    parser.add_argument(
        "--scale-sizes",
        type=parse_report_sizes,
        default=SCALE_SIZES,
        metavar="N,...",
        help="workload counts of the scale clusters (flows only, no evaluation); 0 skips "
        f"them (default: {','.join(map(str, SCALE_SIZES))})",
    )
    parser.add_argument(
        "--startup",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time --version and flows on the 200-workload cluster (default: on)",
    )
    parser.add_argument(
        "--allowlist-sizes",
        type=parse_report_sizes,
        default=ALLOWLIST_SIZES,
        metavar="N,...",
        help="policies of the allowlist shape; 0 skips it "
        f"(default: {','.join(map(str, ALLOWLIST_SIZES))})",
    )
    parser.add_argument(
        "--long-text",
        type=parse_chars,
        default=LONG_TEXT_CHARS,
        metavar="N,...",
        help="characters per register text in the long-text shape; empty skips it "
        f"(default: {','.join(map(str, LONG_TEXT_CHARS))})",
    )
    parser.add_argument(
        "--admin-policies",
        type=int,
        default=ADMIN_POLICIES,
        metavar="N",
        help="compare compute_flows with and without N AdminNetworkPolicies and the "
        f"BaselineAdminNetworkPolicy; 0 skips it (default: {ADMIN_POLICIES})",
    )
    parser.add_argument(
        "--admin-size",
        type=int,
        default=ADMIN_SIZE,
        metavar="N",
        help=f"workloads of the cluster for that comparison (default: {ADMIN_SIZE}, the "
        "size the target is stated for)",
    )
    parser.add_argument(
        "--admin-runs",
        type=int,
        default=ADMIN_RUNS,
        metavar="N",
        help=f"timed runs of each variant, the best kept (default: {ADMIN_RUNS})",
    )
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default: 7)")
    parser.add_argument(
        "--regenerate", action="store_true", help="regenerate the clusters even when present"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help=f"exit 1 when a {TARGET_SIZE}-workload or an evidence pack target fails",
    )
    parser.add_argument(
        "--snapshot-sizes",
        type=parse_report_sizes,
        default=[5000],
        metavar="N,...",
        help="workload counts for snapshot writing, reading a pack and diff; 0 skips "
        "(default: 5000)",
    )
    parser.add_argument("--measure-api", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument(
        "--also", metavar="FILE", action="append", default=[], help=argparse.SUPPRESS
    )
    parser.add_argument("--no-evaluation", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure-snapshot", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.measure_api:  # child mode: one JSON line on stdout
        print(json.dumps(measure_api_here(args.measure_api, not args.no_evaluation, args.also)))
        return 0
    if args.measure_snapshot:
        print(json.dumps(measure_snapshot_here(args.measure_snapshot)))
        return 0

    by_size: dict[int, Cluster] = {}
    startup = [STARTUP_SIZE] if args.startup else []
    for size in [
        *startup,
        *args.sizes,
        *args.report_sizes,
        *args.scale_sizes,
        *args.snapshot_sizes,
        *([args.admin_size] if args.admin_policies else []),
    ]:
        if size in by_size:
            continue
        cluster = ensure_cluster(size, args.seed, args.regenerate)
        mb = cluster.path.stat().st_size / 1e6
        what = (
            "reused" if cluster.generated_s is None else f"generated in {cluster.generated_s:.1f} s"
        )
        print(f"{cluster.path.relative_to(ROOT)}: {what}, {mb:.2f} MB, seed {args.seed}")
        by_size[size] = cluster
    clusters = [by_size[size] for size in args.sizes]
    errors: list[str] = []
    # First, before the large clusters leave gigabytes of output to flush and memory to
    # return: start-up is a fraction of a second, and what it measures is the tool itself.
    startup_lines = measure_startup(by_size[STARTUP_SIZE], errors) if args.startup else []
    print()
    print(HEADER)
    print_line([name for name, _ in COLUMNS])
    print_line(["-" * width for _, width in COLUMNS])

    rows = []
    for cluster in clusters:
        row = Row(cluster)
        measure_api(row, errors)
        measure_cli(row, errors)
        if row.flows is not None and row.cli_flows is not None and row.flows != row.cli_flows:
            errors.append(
                f"{cluster.size}: the API found {row.flows} flows, the CLI printed {row.cli_flows}"
            )
        print_line(format_row(row))
        rows.append(row)

    print_evaluation(rows)

    scale_rows = []
    if args.scale_sizes:
        print("\nScale clusters: the flows alone (no evaluation), output counted by line.\n")
        print_line([name for name, _ in COLUMNS])
        print_line(["-" * width for _, width in COLUMNS])
        for size in args.scale_sizes:
            row = Row(by_size[size])
            measure_api(row, errors, evaluation=False)
            measure_cli(row, errors, parse=False)
            if row.flows is not None and row.cli_flows is not None and row.flows != row.cli_flows:
                errors.append(
                    f"{size}: the API found {row.flows} flows, the CLI printed {row.cli_flows}"
                )
            print_line(format_row(row))
            scale_rows.append(row)

    report_rows = []
    if args.report_sizes:
        print()
        print(REPORT_HEADER)
        print_report_line([name for name, _ in REPORT_COLUMNS])
        print_report_line(["-" * width for _, width in REPORT_COLUMNS])
        for size in args.report_sizes:
            report_row = ReportRow(by_size[size])
            measure_report(report_row, errors)
            print_report_line(format_report_row(report_row))
            report_rows.append(report_row)

    snapshot_missed = False
    if args.snapshot_sizes:
        print()
        for size in args.snapshot_sizes:
            snapshot_missed |= measure_snapshot(size, by_size[size].path, errors)

    admin_lines: list[str] = []
    if args.admin_policies:
        admin_path = ensure_admin_policies(
            by_size[args.admin_size], args.admin_policies, args.seed, args.regenerate
        )
        admin_lines = measure_admin(
            by_size[args.admin_size], admin_path, args.admin_policies, args.admin_runs, errors
        )

    allow_rows = [ShapeRow(n) for n in args.allowlist_sizes]
    text_rows = [ShapeRow(n) for n in args.long_text]
    for shape_row in allow_rows:
        measure_allowlist(shape_row, errors)
    for shape_row in text_rows:
        measure_long_text(shape_row, errors)
    if allow_rows or text_rows:
        print_shapes(allow_rows, text_rows)

    missed = snapshot_missed
    for shape_row in allow_rows:
        if shape_row.size == TARGET_ALLOWLIST:
            total = shape_row.total_s
            lines: list[str] = []
            text = f"allowlist total {_cell(total, '.2f')} s < {TARGET_ALLOWLIST_S:.0f} s"
            _verdict(lines, None if total is None else total < TARGET_ALLOWLIST_S, text)
            print(f"\nTarget for the allowlist of {TARGET_ALLOWLIST:,} policies:")
            print("\n".join(lines))
            missed = missed or any("MISSED" in line or "n/a" in line for line in lines)
    for row in rows:
        if row.cluster.size == TARGET_SIZE:
            print(f"\nTargets at {TARGET_SIZE:,} workloads:")
            lines = check_targets(row)
            print("\n".join(lines))
            missed = missed or any("MISSED" in line or "n/a" in line for line in lines)
    if admin_lines:
        print(f"\nTarget for {args.admin_policies} AdminNetworkPolicies:")
        print("\n".join(admin_lines))
        missed = missed or any("MISSED" in line or "n/a" in line for line in admin_lines)
    if startup_lines:
        print("\nStart-up targets:")
        print("\n".join(startup_lines))
        missed = missed or any("MISSED" in line for line in startup_lines)
    for row in scale_rows:
        if row.cluster.size == TARGET_SCALE:
            print(f"\nTargets at {TARGET_SCALE:,} workloads (scale):")
            lines = check_scale_targets(row)
            print("\n".join(lines))
            missed = missed or any("MISSED" in line or "n/a" in line for line in lines)
    for report_row in report_rows:
        print(f"\nEvidence pack targets at {report_row.cluster.workloads:,} workloads:")
        lines = check_report_targets(report_row)
        print("\n".join(lines))
        missed = missed or any("MISSED" in line or "n/a" in line for line in lines)
    if errors:
        print("\nErrors:")
        for message in errors:
            print(f"  {message}")
        return 1
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
