"""Command line: the only module that parses arguments, prints and picks exit codes.

Exit codes: 0 success, 1 a control fails (later commands), 2 bad input or
usage, 3 internal or rendering failure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from compliance import __version__
from compliance.errors import ComplianceError
from compliance.limits import DEFAULT_MAX_FILE_BYTES, size_text
from compliance.text import visible

# Imported where used: WeasyPrint, openpyxl, jsonschema, the checks and the renderers
# cost most of a second, and the flow engine a tenth, which `--version` must not pay
# and `flows` pays only for the engine.
if TYPE_CHECKING:
    from compliance.chain import Link
    from compliance.controls import Framework
    from compliance.diff import DiffSide
    from compliance.evaluate import Evaluation
    from compliance.evidence_inputs import Evidence
    from compliance.explain import Explanation
    from compliance.flowchanges import Baseline
    from compliance.load import InputFile
    from compliance.model import Cluster
    from compliance.pack import PackRef
    from compliance.provenance import ExportTime
    from compliance.snapshot import Snapshot

FLOW_FORMATS = ("csv", "json", "md", "txt")
RESULT_FORMATS = ("json", "table")
DIFF_FORMATS = ("json", "md", "txt")
HISTORY_FORMATS = ("json", "md", "txt")
"""The names of `compliance.render.flows.FORMATS` and `compliance.render.results.FORMATS`
(a test keeps them equal), known without importing the engine or the renderers."""

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
THIS_PACK = "this pack"
"""The new side of a pack's `changes`: its digest cannot be known inside it."""
WRAP = 88


class _State:
    debug = False


def one_line(text: str) -> str:
    """Escape control and format characters: values from an export must not break the
    one-line form, move the cursor or reverse the text on a terminal."""
    return visible(text)


def _say(text: str = "") -> None:
    """Print lines that hold text from input files (a user's control files), each line
    with its control and format characters escaped."""
    click.echo("\n".join(one_line(line) for line in text.split("\n")))


def _warn(message: str) -> None:
    click.echo(f"warning: {one_line(message)}", err=True)


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class _Size(click.ParamType):  # type: ignore[type-arg]
    """A size in bytes: `1048576`, `64K`, `512M`, `2G` (powers of 1024)."""

    name = "SIZE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removesuffix("B").removesuffix("I")
        number, unit = text.rstrip("KMGT"), text[len(text.rstrip("KMGT")) :]
        if not number.isdigit() or len(number) > 15 or unit not in _UNITS or int(number) < 1:
            self.fail(f"{value!r} is not a size such as 64K, 512M or 2G", param, ctx)
        return int(number) * _UNITS[unit]


def _size_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--max-file-size`: the bound on every input read (exports, scope, control files)."""
    return click.option(
        "--max-file-size",
        "max_bytes",
        type=_Size(),
        default=DEFAULT_MAX_FILE_BYTES,
        envvar="COMPLIANCE_MAX_FILE_SIZE",
        show_envvar=True,
        metavar="SIZE",
        help=f"Refuse any input file larger than SIZE (e.g. 64K, 512M, 2G; default "
        f"{size_text(DEFAULT_MAX_FILE_BYTES)}). Only regular files are read.",
    )(command)


EXPORT_COMMAND = (
    "kubectl get namespaces,nodes,pods,deployments,statefulsets,daemonsets,replicasets,"
    "replicationcontrollers,jobs,cronjobs,networkpolicies -A -o json > export.json"
)
HELP = f"""Network segmentation evidence for PCI DSS, HIPAA and FedRAMP from a Kubernetes export.

Export the cluster, list every allowed flow, then evaluate the controls for a scope:

\b
  compliance collect --out export.json
  compliance flows export.json
  compliance evaluate export.json --scope scope.yaml
  compliance report export.json --scope scope.yaml --out evidence
  compliance verify evidence
  compliance controls list

Without access to the cluster from here, export by hand (no capture record then):

\b
  {EXPORT_COMMAND}

Exit codes: 0 success, 1 a control fails (verify: the pack was altered), 2 bad input or
usage, 3 internal or rendering error.
"""


@click.group(
    help=HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="compliance")
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
def cli(debug: bool) -> None:
    _State.debug = _State.debug or debug


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="EXPORT...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FLOW_FORMATS),
    default="txt",
    show_default=True,
    help="txt: one line per flow; json: the stable flows contract; csv, md: tables.",
)
@click.option(
    "--show-rules",
    is_flag=True,
    help="Add the policy rules that allow each flow on the egress and ingress side.",
)
@click.option(
    "--explain",
    nargs=2,
    metavar="SRC DST",
    default=None,
    help="Explain, port range by port range, why SRC may or may not reach DST "
    "(namespace/name, namespace/name[Kind] or an IP address).",
)
@click.option("-v", "--verbose", is_flag=True, help="Report skipped kinds and timings on stderr.")
@_size_option
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
def flows(
    paths: tuple[str, ...],
    fmt: str,
    show_rules: bool,
    explain: tuple[str, str] | None,
    verbose: bool,
    max_bytes: int,
    debug: bool,
) -> None:
    """Compute every flow the NetworkPolicies allow, between workloads and to or from outside.

    EXPORT is a YAML or JSON file, a folder (read recursively: .yaml, .yml, .json) or -
    for standard input, as printed by `kubectl get ... -A -o yaml` or `-o json`; or an
    evidence pack (folder or zip), whose snapshot.json gives the same flows.
    Addresses in ipBlock rules are treated as outside the cluster; hostNetwork pods are
    reported as not isolated.
    """
    from compliance.flows import compute_flows
    from compliance.render.flows import stream
    from compliance.snapshot import load_input

    _State.debug = _State.debug or debug
    started = time.perf_counter()
    given = load_input(paths, max_bytes)
    loaded, cluster = given.loaded, given.cluster
    loaded_at = time.perf_counter()
    for message in (*loaded.warnings, *cluster.warnings):
        _warn(message)
    if verbose:
        for kind, count in loaded.skipped_kinds:
            click.echo(one_line(f"skipped {count} {kind} (not used)"), err=True)
        click.echo(
            f"loaded {len(loaded.objects)} objects from {len(loaded.inputs)} file(s): "
            f"{len(cluster.namespaces)} namespaces, {len(cluster.workloads)} workloads, "
            f"{len(cluster.policies)} policies in {loaded_at - started:.2f}s",
            err=True,
        )
    if explain is not None:
        from compliance.explain import explain as explain_flow

        click.echo(_explanation_text(explain_flow(cluster, *explain)), nl=False)
        return
    graph = compute_flows(cluster)
    for message in graph.warnings:
        _warn(message)
    if verbose:
        click.echo(
            f"computed {len(graph.flows)} flows over {graph.classes} pod classes in "
            f"{time.perf_counter() - loaded_at:.2f}s",
            err=True,
        )
    written_from = time.perf_counter()
    for piece in stream(graph, fmt, show_rules):  # millions of flows: never one whole text
        click.echo(piece, nl=False)
    if verbose:
        click.echo(f"wrote {fmt} in {time.perf_counter() - written_from:.2f}s", err=True)


AS_OF_RANGE = (
    dt.datetime(1980, 1, 1, tzinfo=dt.UTC),
    dt.datetime(2107, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
)
"""What a pack can represent: a zip stores timestamps from 1980 to 2107."""


def _parse_as_of(value: str | None) -> dt.datetime:
    """ISO-8601; a date means its midnight and a time without zone means UTC. Whole
    seconds, within AS_OF_RANGE: every file of the pack states the moment the same way,
    and the results and manifest schemas (which `verify` checks) allow no fraction."""
    if value is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    low, high = (m.strftime("%Y-%m-%dT%H:%M:%SZ") for m in AS_OF_RANGE)
    try:
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        moment = parsed.astimezone(dt.UTC)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO-8601 date or time (e.g. 2026-11-26 or 2026-11-26T09:00:00Z)",
            param_hint="'--as-of'",
        ) from None
    except OverflowError:
        moment = None
    if moment is None or not AS_OF_RANGE[0] <= moment <= AS_OF_RANGE[1]:
        raise click.BadParameter(
            f"{value!r} is outside what an evidence pack can represent ({low} to {high})",
            param_hint="'--as-of'",
        )
    if moment.microsecond:
        raise click.BadParameter(
            f"{value!r} has a fraction of a second; give whole seconds",
            param_hint="'--as-of'",
        )
    return moment


def _catalog(controls: tuple[str, ...], max_bytes: int) -> dict[str, Framework]:
    from compliance.checks import CHECKS
    from compliance.controls import load_catalog

    return load_catalog(controls, CHECKS, max_bytes=max_bytes)


def _evaluation_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The inputs `evaluate` and `report` share."""
    options = [
        click.argument("paths", nargs=-1, required=True, metavar="EXPORT..."),
        click.option(
            "--scope",
            "scope_path",
            required=True,
            metavar="FILE",
            help="Scope file: zones, approved flows, waivers (see samples/*.scope.yaml).",
        ),
        click.option(
            "--framework",
            "framework_ids",
            multiple=True,
            metavar="ID",
            help="Framework to evaluate (repeatable; `all` for every one). "
            "Default: the frameworks the scope file's zones name.",
        ),
        click.option(
            "--as-of",
            "as_of",
            metavar="ISO-8601",
            help="The moment the evaluation speaks for: decides which waivers and approved "
            "flows have expired. Default: now. Refused when earlier than the export "
            "(its capture start, or the newest time stamped on an object).",
        ),
        click.option(
            "--controls",
            "controls_dirs",
            multiple=True,
            metavar="DIR",
            help="Also read framework files (*.yaml) from DIR; "
            "a file named like a shipped one replaces it.",
        ),
        click.option(
            "--probe-plan",
            "probe_plan",
            metavar="FILE",
            help="The plan.json of `compliance probe-plan` that --probe-results ran (SEG-28).",
        ),
        click.option(
            "--probe-results",
            "probe_results",
            multiple=True,
            metavar="FILE",
            help="Segmentation-test results: run-probes.sh's probe-results.csv or netassert's "
            "TAP results.tap (repeatable; needs --probe-plan).",
        ),
        click.option(
            "--flow-log",
            "flow_logs",
            multiple=True,
            metavar="FILE",
            help="A Hubble JSON or Calico flow log, read line by line "
            "(repeatable; SEG-22, SEG-21).",
        ),
        click.option(
            "--flow-log-lenient",
            is_flag=True,
            help="Count and report flow-log lines of no known format instead of refusing them.",
        ),
    ]
    command = _size_option(command)
    for option in reversed(options):
        command = option(command)
    return command


def _run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """How `evaluate` and `report` run: exit code, progress, tracebacks."""
    options = [
        click.option("--exit-zero", is_flag=True, help="Exit 0 even when a requirement fails."),
        click.option(
            "-v", "--verbose", is_flag=True, help="Report progress and timings on stderr."
        ),
        click.option("--debug", is_flag=True, help="Show a traceback when something fails."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@_evaluation_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(RESULT_FORMATS),
    default="table",
    show_default=True,
    help="table: a summary for people; json: results for machines (results.schema.json).",
)
@_run_options
def evaluate(
    paths: tuple[str, ...],
    scope_path: str,
    framework_ids: tuple[str, ...],
    as_of: str | None,
    fmt: str,
    controls_dirs: tuple[str, ...],
    max_bytes: int,
    exit_zero: bool,
    verbose: bool,
    debug: bool,
    probe_plan: str | None,
    probe_results: tuple[str, ...],
    flow_logs: tuple[str, ...],
    flow_log_lenient: bool,
) -> None:
    """Evaluate PCI DSS, HIPAA and FedRAMP segmentation controls for the scoped workloads.

    Reads the export(s) and the scope file, computes the allowed flows, runs every check
    the chosen frameworks map, and prints each requirement's status with the failing
    findings. Exit codes: 0 nothing fails, 1 a requirement fails (unless --exit-zero),
    2 bad input or usage, 3 internal error.
    """
    from compliance.render.results import FORMATS as RESULT_RENDERERS

    _State.debug = _State.debug or debug
    started = time.perf_counter()
    extra = _Extra(probe_plan, probe_results, flow_logs, flow_log_lenient)
    result = _evaluation(
        paths, scope_path, framework_ids, as_of, controls_dirs, verbose, max_bytes, extra
    )
    output = RESULT_RENDERERS[fmt](result)
    if verbose:
        click.echo(f"evaluated in {time.perf_counter() - started:.2f}s", err=True)
    click.echo(output, nl=False)
    if result.failed and not exit_zero:
        click.get_current_context().exit(EXIT_FAIL)


@cli.command()
@_evaluation_options
@click.option(
    "--out",
    "out",
    required=True,
    metavar="DIR",
    help="Folder to write the pack into (created; must be empty unless --force).",
)
@click.option("--zip", "make_zip", is_flag=True, help="Also write DIR.zip, the pack in one file.")
@click.option("--title", metavar="TEXT", help="Title on the report's cover.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing pack in DIR (and DIR.zip); only a pack this tool wrote.",
)
@click.option(
    "--templates",
    "templates_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, exists=True),
    help="Use your own report templates (a copy of report_templates/) instead of the shipped ones.",
)
@click.option(
    "--sign",
    "sign_key",
    metavar="KEY",
    help="Sign manifest.json with this OpenSSH private key (ssh-keygen -Y sign), writing "
    "manifest.json.sig into the pack and the zip.",
)
@click.option(
    "--baseline",
    "baseline_path",
    metavar="PACK",
    help="The previous evidence pack (folder or zip): the pack records its seal and digest, "
    "results.json gets what changed since, and SEG-19 judges those changes.",
)
@click.option(
    "--allow-different-clusters",
    is_flag=True,
    help="Accept a --baseline captured from another cluster (kube-system UID).",
)
@_run_options
def report(
    paths: tuple[str, ...],
    scope_path: str,
    framework_ids: tuple[str, ...],
    as_of: str | None,
    controls_dirs: tuple[str, ...],
    max_bytes: int,
    exit_zero: bool,
    verbose: bool,
    debug: bool,
    out: str,
    make_zip: bool,
    title: str | None,
    force: bool,
    templates_dir: str | None,
    sign_key: str | None,
    probe_plan: str | None,
    probe_results: tuple[str, ...],
    flow_logs: tuple[str, ...],
    flow_log_lenient: bool,
    baseline_path: str | None = None,
    allow_different_clusters: bool = False,
) -> None:
    """Write the evidence pack for an assessor: report.pdf, evidence.xlsx, results.json and
    manifest.json (sha256 of every file and input, and the digest the PDF's cover shows).
    It prints the seal, the sha256 of manifest.json: record it where the pack cannot
    change it. --sign KEY adds manifest.json.sig (not listed in the manifest it signs).

    The pack is built next to DIR and moved into place only when complete, one run at a
    time per DIR; the same inputs and --as-of give byte-identical files. Check a pack
    with `compliance verify`. --baseline PACK (the previous pack, which must be intact)
    adds what changed since it and records its seal, so packs chain. Exit codes: 0
    nothing fails, 1 a requirement fails (unless --exit-zero; the pack is written either
    way), 2 bad input or usage, 3 rendering failure.
    """
    from compliance.destination import MANIFEST, open_destination
    from compliance.pack import build_pack
    from compliance.render.results import framework_line
    from compliance.signing import NAMESPACE as SIGNING_NAMESPACE

    _State.debug = _State.debug or debug
    started = time.perf_counter()
    show = verbose or sys.stderr.isatty()
    _parse_as_of(as_of)  # a bad --as-of is refused before DIR is locked or looked at
    extra = _Extra(probe_plan, probe_results, flow_logs, flow_log_lenient)
    prior = _Prior.read(baseline_path, max_bytes) if baseline_path is not None else None
    inputs = [
        *paths,
        scope_path,
        *controls_dirs,
        *([templates_dir] if templates_dir else []),
        *extra.paths(),
        *([baseline_path] if baseline_path else []),
    ]
    with open_destination(out, make_zip=make_zip, force=force, inputs=inputs) as dest:
        for message in dest.warnings:
            _warn(message)
        result = _evaluation(
            paths,
            scope_path,
            framework_ids,
            as_of,
            controls_dirs,
            verbose,
            max_bytes,
            extra,
            prior.baseline() if prior is not None else None,
            prior.same_cluster(allow_different_clusters) if prior is not None else None,
        )
        if prior is not None:
            result = prior.compare(result, THIS_PACK)

        def progress(message: str) -> None:
            if show:
                click.echo(f"{time.perf_counter() - started:7.2f}s  {one_line(message)}", err=True)

        progress("evaluated; writing the evidence pack")
        pack = build_pack(
            result,
            dest,
            title=title,
            templates=Path(templates_dir) if templates_dir else None,
            progress=progress,
            sign_key=sign_key,
            baseline=prior.ref() if prior is not None else None,
        )
    for message in pack.warnings:
        _warn(message)
    where = one_line(str(pack.folder))
    signature = [f"{MANIFEST}.sig"] if pack.signed else []
    names = sorted([*(f.path for f in pack.files), MANIFEST, *signature])
    click.echo(f"evidence pack written to {where}/ ({', '.join(names)})")
    if pack.zip_path is not None:
        click.echo(f"zipped to {one_line(str(pack.zip_path))}")
    click.echo(f"report.pdf: {pack.pages} pages; content digest (sha256): {pack.digest}")
    click.echo(f"seal (sha256 of manifest.json): {pack.seal}; record it with the pack")
    if pack.signed:
        click.echo(f"signed: {MANIFEST}.sig (ssh-keygen -Y sign, namespace {SIGNING_NAMESPACE})")
    for fw in result.frameworks:
        click.echo(one_line(framework_line(fw)))
    click.echo(f"check it with: compliance verify {where}")
    if result.failed and not exit_zero:
        click.get_current_context().exit(EXIT_FAIL)


@cli.command()
@click.option(
    "--context", metavar="NAME", help="kubectl context to export (default: the current one)."
)
@click.option(
    "--out",
    "out_path",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write the export here (default: standard output).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "yaml"]),
    default="json",
    show_default=True,
    help="JSON loads several times faster than YAML; every command reads both.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
def collect(context: str | None, out_path: str | None, fmt: str, quiet: bool, debug: bool) -> None:
    """Export the cluster with kubectl, recording when and where.

    Reads every kind the tool uses (namespaces, nodes, pods, the workload kinds,
    NetworkPolicies) and, when the API serves them, AdminNetworkPolicy,
    BaselineAdminNetworkPolicy, ClusterNetworkPolicy, Calico and Cilium policies, into one
    `List`. Its annotations record the context, server version, cluster identity (the
    kube-system namespace UID), capture start and end, and the kinds collected and not
    served. Environment values, secret volumes, managedFields and annotations are left
    out; nodes keep only name, labels and addresses.

    Exit codes: 0 written, 2 bad context or no kubectl, 3 a kubectl call failed. A failed
    run leaves no file behind.
    """
    from compliance import collect as collector

    _State.debug = _State.debug or debug
    progress = None if quiet else (lambda message: click.echo(one_line(message), err=True))
    document = collector.collect(
        collector.kubectl_runner(),
        context=context,
        progress=progress,
        tool=f"compliance {__version__}",
    )
    data = collector.serialise(document, fmt)
    if out_path is None:
        sys.stdout.buffer.write(data)
        return
    collector.write_atomically(Path(out_path), data)
    if not quiet:
        notes = document["metadata"]["annotations"]
        click.echo(
            one_line(
                f"{out_path}: {len(document['items'])} objects from cluster "
                f"{notes[collector.CLUSTER_ID]} (context {notes[collector.CONTEXT] or 'unknown'}), "
                f"captured {notes[collector.CAPTURE_START]} to {notes[collector.CAPTURE_END]}"
            ),
            err=True,
        )


@cli.command("probe-plan")
@click.argument("paths", nargs=-1, required=True, metavar="EXPORT...")
@click.option("--scope", "scope_path", required=True, metavar="FILE", help="Scope file: the zones.")
@click.option(
    "--out",
    required=True,
    metavar="DIR",
    help="Folder for plan.json, netassert.yaml and run-probes.sh (created; must be empty).",
)
@click.option(
    "--framework",
    "framework_ids",
    multiple=True,
    metavar="ID",
    help="Only the zones that list this framework (repeatable). Default: every zone.",
)
@click.option(
    "--max-probes",
    type=click.IntRange(1, 100_000),
    default=200,
    show_default=True,
    help="Most probes in the plan; one per zone boundary comes first.",
)
@click.option(
    "--as-of", "as_of", metavar="ISO-8601", help="Date the plan speaks for (default: now)."
)
@_size_option
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
def probe_plan(
    paths: tuple[str, ...],
    scope_path: str,
    out: str,
    framework_ids: tuple[str, ...],
    max_probes: int,
    as_of: str | None,
    max_bytes: int,
    debug: bool,
) -> None:
    """Plan a segmentation test: which connections to try in the live cluster.

    Chooses probes from the flow graph that cover every zone boundary: each allowed flow
    crossing a boundary (expected open), and the denied flows that matter most (expected
    blocked): out-of-scope namespaces into cde and datastore workloads, the CDE to an
    internet address (203.0.113.10:443), tenant to tenant, and an out-of-scope workload
    on a port the CDE admits from others. Writes plan.json (each probe's reason and the
    rules deciding it on each side), netassert.yaml (controlplaneio/netassert v2) and
    run-probes.sh (kubectl only; writes probe-results.csv).
    """
    from compliance.checks import CHECKS
    from compliance.flows import compute_flows
    from compliance.load import load_paths
    from compliance.model import build_cluster
    from compliance.probeplan import plan_probes
    from compliance.provenance import check_as_of
    from compliance.render import probes as probe_files
    from compliance.scope import place, read_scope

    _State.debug = _State.debug or debug
    moment = _parse_as_of(as_of)
    catalog = _catalog((), max_bytes)
    scope = read_scope(scope_path, catalog, CHECKS, max_bytes=max_bytes)
    unknown = sorted(set(framework_ids) - set(scope.frameworks))
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)}: no zone of {scope_path} lists it "
            f"(zones list: {', '.join(scope.frameworks) or 'none'})",
            param_hint="'--framework'",
        )
    zones = [
        z.name
        for z in scope.zones
        if not framework_ids or any(f in z.frameworks for f in framework_ids)
    ]
    destination = Path(out)
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise click.BadParameter(f"{out} exists and is not an empty folder", param_hint="'--out'")
    loaded = load_paths(paths, max_bytes=max_bytes)
    if as_of is not None:
        check_as_of(moment, loaded.objects, loaded.captures)
    for message in loaded.warnings:
        _warn(message)
    cluster = build_cluster(loaded.objects)
    graph = compute_flows(cluster)
    placement = place(scope, cluster)
    for message in placement.warnings:
        _warn(message)
    plan = plan_probes(cluster, graph, scope, placement, zones, moment, max_probes)
    document = probe_files.plan_document(plan, loaded.inputs, scope_path, scope.sha256)
    files = {
        "plan.json": probe_files.plan_json(document),
        "netassert.yaml": probe_files.netassert_yaml(plan),
        "run-probes.sh": probe_files.probe_script(plan, cluster),
    }
    probe_files.write_folder(destination, files)
    cov = plan.coverage
    expect = {e: sum(p.expect == e for p in plan.probes) for e in ("open", "blocked")}
    click.echo(
        f"probe plan written to {one_line(out)}: {len(plan.probes)} probes "
        f"({expect['open']} expected open, {expect['blocked']} expected blocked); "
        f"zone boundaries covered {cov.boundaries_covered}/{cov.boundaries_total}"
    )
    if cov.cut:
        click.echo(
            f"--max-probes {max_probes} cut the plan: {cov.candidates} candidate probes; "
            f"uncovered: {one_line(', '.join(str(b) for b in cov.uncovered)) or 'none'}"
        )
    if cov.from_outside:
        click.echo(
            "crossed only from outside the cluster (test these from outside): "
            + one_line(", ".join(str(b) for b in cov.from_outside))
        )
    if cov.from_host_network:
        click.echo(
            "crossed only by hostNetwork pods (not testable from the pod; review node access): "
            + one_line(", ".join(str(b) for b in cov.from_host_network))
        )
    script = one_line(str(destination / "run-probes.sh"))
    click.echo(f"run it with: sh {script} (writes probe-results.csv)")


def _seal_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and re.fullmatch(r"[0-9a-fA-F]{64}", value) is None:
        raise click.BadParameter("a seal is 64 hex digits (the sha256 of manifest.json)")
    return value.lower() if value is not None else None


@cli.command()
@click.argument("pack_path", metavar="DIR|ZIP")
@click.option(
    "--expect",
    metavar="SEAL",
    callback=_seal_option,
    help="The seal recorded when the pack was handed over; a different seal is a failure.",
)
@click.option(
    "--allowed-signers",
    metavar="FILE",
    help="Check manifest.json.sig against this ssh-keygen allowed-signers file.",
)
@click.option(
    "--identity",
    metavar="ID",
    help="The signer's identity in the allowed-signers file (default: whichever it names).",
)
@click.option(
    "--recompute",
    is_flag=True,
    help="Also re-run the evaluation from snapshot.json and compare with results.json.",
)
@click.option(
    "--baseline",
    "baseline_path",
    metavar="PACK",
    help="With --recompute: the baseline pack the pack names (made with report --baseline).",
)
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
def verify(
    pack_path: str,
    expect: str | None,
    allowed_signers: str | None,
    identity: str | None,
    recompute: bool,
    debug: bool,
    baseline_path: str | None = None,
) -> None:
    """Check an evidence pack: recompute the sha256 of every file against manifest.json and
    the content digest from the manifest's entries, and print the seal (the sha256 of
    manifest.json).

    Prints the first file that was changed, added or removed and exits 1, or says the pack
    is intact and exits 0 (2: not a pack folder or zip). Only the seal covers everything,
    report.pdf included: give the one recorded at hand-over with --expect (exit 1 when it
    differs). A signed pack's manifest.json.sig is checked against manifest.json (exit 1
    when it does not match) and its key named; --allowed-signers also checks who signed.
    """
    from compliance.destination import MANIFEST
    from compliance.pack import verify_pack
    from compliance.signing import check_unvalidated
    from compliance.signing import verify as verify_signature

    _State.debug = _State.debug or debug
    if identity is not None and allowed_signers is None:
        raise click.BadParameter("needs --allowed-signers", param_hint="'--identity'")
    verdict = verify_pack(pack_path)
    if verdict.manifest is None or not verdict.intact:
        click.echo(one_line(f"{pack_path}: NOT INTACT: {verdict.message}"))
        click.get_current_context().exit(EXIT_FAIL)
        return
    m = verdict.manifest
    if expect is not None and verdict.seal != expect:
        click.echo(
            one_line(
                f"{pack_path}: NOT INTACT: {MANIFEST}: changed: seal {verdict.seal}, "
                f"expected {expect} (the files match this manifest, but it is not the "
                "manifest that was sealed)"
            )
        )
        click.get_current_context().exit(EXIT_FAIL)
        return
    signed = ""
    if allowed_signers is not None:
        if verdict.signature is None or verdict.manifest_bytes is None:
            click.echo(one_line(f"{pack_path}: NOT INTACT: {MANIFEST}.sig: removed (not signed)"))
            click.get_current_context().exit(EXIT_FAIL)
            return
        check = verify_signature(
            verdict.manifest_bytes, verdict.signature, allowed_signers, identity
        )
        if not check.valid:
            click.echo(one_line(f"{pack_path}: NOT INTACT: {MANIFEST}.sig: {check.message}"))
            click.get_current_context().exit(EXIT_FAIL)
            return
        signed = f"; {check.message}"
    elif verdict.signature is not None and verdict.manifest_bytes is not None:
        unvalidated = check_unvalidated(verdict.manifest_bytes, verdict.signature)
        if unvalidated is None:
            signed = "; signed (ssh-keygen not found: the signature was not checked)"
        elif not unvalidated.valid:
            click.echo(one_line(f"{pack_path}: NOT INTACT: {MANIFEST}.sig: {unvalidated.message}"))
            click.get_current_context().exit(EXIT_FAIL)
            return
        else:
            signed = f"; {unvalidated.message}"
    expected = "; the seal is the one expected" if expect is not None else ""
    click.echo(
        one_line(
            f"{pack_path}: {verdict.message}{expected}{signed} (cluster {m['cluster']}, "
            f"as of {m['as_of']}, {m['tool']['name']} {m['tool']['version']})"
        )
    )
    if baseline_path is not None and not recompute:
        raise click.BadParameter("needs --recompute", param_hint="'--baseline'")
    if recompute and not _recomputed(pack_path, m, baseline_path):
        click.get_current_context().exit(EXIT_FAIL)


def _recomputed(pack_path: str, manifest: dict[str, Any], baseline_path: str | None) -> bool:
    """Re-run the evaluation from the pack's snapshot, with its own scope, control files
    and as-of, and say whether results.json comes out byte for byte. A pack made with
    --baseline needs that pack again: SEG-19 and the changes are computed against it."""
    from compliance.checks import CHECKS
    from compliance.errors import InputError
    from compliance.evaluate import evaluate as run_evaluation
    from compliance.evidence_snapshot import evidence_of
    from compliance.flows import compute_flows
    from compliance.paths import recorded_evaluation
    from compliance.render.results import render_json as render_results_json
    from compliance.snapshot import (
        admin_policy_kinds_of,
        first_difference,
        read_pack,
        snapshot_scope,
    )
    from compliance.snapshot import export_time_of as snapshot_export_time

    snap = read_pack(pack_path)
    if snap is None:
        raise InputError("not an evidence pack with snapshot.json", source=pack_path)
    if snap.results is None:
        raise InputError("no results.json to compare with", source=pack_path)
    catalog = _catalog((), DEFAULT_MAX_FILE_BYTES)
    scope = snapshot_scope(snap, catalog, CHECKS)
    recorded = {c["id"]: c for c in snap.document["controls"]}
    unknown = [i for i in recorded if i not in catalog]
    if unknown:
        raise InputError(
            f"control file {unknown[0]!r} is not shipped with this tool", source=pack_path
        )
    for fid, entry in recorded.items():
        if catalog[fid].sha256 != entry["sha256"]:
            click.echo(one_line(f"note: control file {fid} differs from the one the pack used"))
    version = snap.document["tool"]["version"]
    if version != __version__:
        click.echo(one_line(f"note: the pack was made by version {version}, this is {__version__}"))
    named = manifest.get("baseline")
    prior = None
    if named is not None:
        if baseline_path is None:
            raise InputError(
                f"the pack was made against the baseline sealed {named['seal']} (as of "
                f"{named['as_of']}): give that pack with --baseline to recompute",
                source=pack_path,
            )
        prior = _Prior.read(baseline_path, DEFAULT_MAX_FILE_BYTES)
        if prior.link.seal != named["seal"]:
            raise InputError(
                f"{pack_path} names baseline {named['seal']} but {baseline_path} has seal "
                f"{prior.link.seal}",
                field="--baseline",
            )
    elif baseline_path is not None:
        raise InputError("the pack names no baseline", source=pack_path, field="--baseline")
    graph = compute_flows(snap.cluster)
    chosen = [catalog[i] for i in recorded]
    ev = run_evaluation(
        snap.cluster,
        graph,
        scope,
        chosen,
        snap.as_of,
        snap.inputs,
        evidence=evidence_of(snap.document, snap.inputs),
        admin_policies=admin_policy_kinds_of(snap),
        baseline=prior.baseline() if prior is not None else None,
    )
    results = json.loads(snap.results)
    stated = bool(results.get("export", {}).get("as_of_stated"))
    ev = dataclasses.replace(ev, export_time=snapshot_export_time(snap, stated))
    if prior is not None:
        sides = (
            (results.get("changes") or {}).get("old", {}),
            (results.get("changes") or {}).get("new", {}),
        )
        ev = prior.compare(
            recorded_evaluation(ev),
            str(sides[1].get("source", THIS_PACK)),
            str(sides[0].get("source", prior.link.source)),
        )
    again = render_results_json(recorded_evaluation(ev)).encode()
    problem = first_difference(snap.results, again)
    if problem is None:
        click.echo("recomputed from snapshot.json: results.json reproduced byte for byte")
        return True
    click.echo(one_line(f"recomputed from snapshot.json: results.json differs: {problem}"))
    return False


def _evaluation(
    paths: tuple[str, ...],
    scope_path: str,
    framework_ids: tuple[str, ...],
    as_of: str | None,
    controls_dirs: tuple[str, ...],
    verbose: bool,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    extra: _Extra | None = None,
    baseline: Baseline | None = None,
    loaded_check: Callable[[ExportTime], None] | None = None,
) -> Evaluation:
    """Load, compute flows, evaluate: what `evaluate` prints and `report` packs.
    `loaded_check` sees the export's time facts before anything is evaluated or said."""
    from compliance.checks import CHECKS
    from compliance.cni_support import admin_policy_kinds
    from compliance.evaluate import evaluate as run_evaluation
    from compliance.flows import compute_flows
    from compliance.paths import recorded_evaluation
    from compliance.provenance import check_as_of
    from compliance.provenance import export_time as export_time_of
    from compliance.scope import read_scope
    from compliance.snapshot import admin_policy_kinds_of, check_snapshot_as_of, load_input
    from compliance.snapshot import export_time_of as snapshot_export_time

    moment = _parse_as_of(as_of)
    started = time.perf_counter()
    catalog = _catalog(controls_dirs, max_bytes)
    scope = read_scope(scope_path, catalog, CHECKS, max_bytes=max_bytes)
    chosen = _frameworks(catalog, framework_ids, scope.frameworks)
    given = load_input(paths, max_bytes)
    loaded, cluster = given.loaded, given.cluster
    export_time = export_time_of(loaded.objects, loaded.captures, as_of is not None)
    if given.snapshot is not None:  # a pack keeps what its export said about its time
        export_time = snapshot_export_time(given.snapshot, as_of is not None) or export_time
    if as_of is not None:
        check_as_of(moment, loaded.objects, loaded.captures, export_time.newest)
        if given.snapshot is not None:
            check_snapshot_as_of(moment, given.snapshot)
    if loaded_check is not None:
        loaded_check(export_time)
    for message in loaded.warnings:
        _warn(message)
    graph = compute_flows(cluster)
    if verbose:
        click.echo(
            f"{len(cluster.workloads)} workloads, {len(graph.flows)} flows in "
            f"{time.perf_counter() - started:.2f}s; evaluating {', '.join(f.id for f in chosen)}",
            err=True,
        )

    def progress(message: str) -> None:
        click.echo(f"{time.perf_counter() - started:7.2f}s  {one_line(message)}", err=True)

    extra = extra or _Extra()
    evidence = extra.read(cluster, loaded.inputs)
    if given.snapshot is not None and not extra.paths():
        from compliance.evidence_snapshot import evidence_of

        evidence = evidence_of(given.snapshot.document, given.snapshot.inputs)
    if given.snapshot is not None:
        admin = admin_policy_kinds_of(given.snapshot)
    else:
        admin = admin_policy_kinds(loaded)
    result = run_evaluation(
        cluster,
        graph,
        scope,
        chosen,
        moment,
        loaded.inputs,
        progress if verbose else None,
        evidence=evidence,
        admin_policies=admin,
        baseline=baseline,
    )
    for message in result.warnings:
        _warn(message)
    return recorded_evaluation(dataclasses.replace(result, export_time=export_time))


@dataclass(frozen=True)
class _Extra:
    """Evidence of enforcement given beside the export: probe results and flow logs."""

    probe_plan: str | None = None
    probe_results: tuple[str, ...] = ()
    flow_logs: tuple[str, ...] = ()
    lenient: bool = False

    def paths(self) -> list[str]:
        return [
            *([self.probe_plan] if self.probe_plan else []),
            *self.probe_results,
            *self.flow_logs,
        ]

    def read(self, cluster: Cluster, inputs: Sequence[InputFile]) -> Evidence:
        from compliance.evidence_inputs import (
            Evidence,
            evidence_files,
            probe_evidence,
            read_observed,
        )
        from compliance.proberesults import read_results

        if self.probe_results and not self.probe_plan:
            raise click.BadParameter(
                "needs --probe-plan (the plan.json the probes ran)", param_hint="'--probe-results'"
            )
        if self.probe_plan and not self.probe_results:
            raise click.BadParameter(
                "needs --probe-results (what the probes observed)", param_hint="'--probe-plan'"
            )
        probes = None
        if self.probe_plan:
            probes = probe_evidence(read_results(self.probe_plan, list(self.probe_results)), inputs)
        observed = None
        if self.flow_logs:
            observed = read_observed(self.flow_logs, cluster, self.lenient)
            for report in observed.reports:
                if report.skipped:
                    _warn(
                        f"{report.source}: skipped {len(report.skipped)} line(s) of no known "
                        f"flow-log format (first: line {report.skipped[0]})"
                    )
        files = evidence_files(self.probe_plan, self.probe_results, observed)
        return Evidence(probes, observed, files)


def _pack_evaluation(snap: Snapshot, catalog: dict[str, Framework]) -> Evaluation:
    """A pack evaluated again from its snapshot, with its own scope and as-of: one side of
    a diff, or the baseline of a report."""
    from compliance.checks import CHECKS
    from compliance.evaluate import evaluate as run_evaluation
    from compliance.flows import compute_flows
    from compliance.paths import recorded_evaluation
    from compliance.snapshot import snapshot_scope

    scope = snapshot_scope(snap, catalog, CHECKS)
    chosen = _frameworks(catalog, (), scope.frameworks)
    graph = compute_flows(snap.cluster)
    return recorded_evaluation(
        run_evaluation(
            snap.cluster, graph, scope, chosen, snap.as_of, snap.inputs, **_recorded_facts(snap)
        )
    )


def _named_baseline(snap: Snapshot | None, earlier: list[DiffSide]) -> Baseline | None:
    """The OLD side of a diff as NEW's baseline, when NEW is a pack that names OLD (by
    content digest) as the baseline it was made against: NEW's SEG-19 is then judged as
    its own results.json judged it, rather than as not applicable."""
    if snap is None or not earlier or earlier[0].digest is None:
        return None
    named = snap.manifest.get("baseline")
    if not isinstance(named, dict) or named.get("digest") != earlier[0].digest:
        return None
    from compliance.flowchanges import Baseline

    old = earlier[0].ev
    return Baseline(old.as_of, old.graph, old.placement)


def _recorded_facts(snap: Snapshot | None) -> dict[str, Any]:
    """What a pack's snapshot keeps besides the cluster and the scope, as `evaluate`
    takes it: the enforcement evidence and the cluster-wide policy kinds the pack judged
    (none for an export, whose evidence a diff is not given)."""
    if snap is None:
        return {}
    from compliance.evidence_snapshot import evidence_of
    from compliance.snapshot import admin_policy_kinds_of

    return {
        "evidence": evidence_of(snap.document, snap.inputs),
        "admin_policies": admin_policy_kinds_of(snap),
    }


@dataclass(frozen=True)
class _Prior:
    """The pack given with `report --baseline`, verified and evaluated again."""

    link: Link
    ev: Evaluation

    @classmethod
    def read(cls, path: str, max_bytes: int) -> _Prior:
        from compliance.chain import open_link

        link = open_link(path)
        return cls(link, _pack_evaluation(link.snapshot, _catalog((), max_bytes)))

    def baseline(self) -> Baseline:
        from compliance.flowchanges import Baseline

        return Baseline(self.ev.as_of, self.ev.graph, self.ev.placement)

    def ref(self) -> PackRef:
        from compliance.pack import PackRef

        return PackRef(self.link.as_of, self.link.digest, self.link.seal)

    def same_cluster(self, allow_different: bool) -> Callable[[ExportTime], None]:
        """A check of the export about to be evaluated: refuses one captured from another
        cluster than this pack (kube-system UIDs) unless allowed."""
        from compliance.chain import cluster_ids

        old_ids = cluster_ids(self.link.snapshot)

        def check(export_time: ExportTime) -> None:
            new_ids = {
                c.cluster_id for c in export_time.captures if c.cluster_id not in ("", "unknown")
            }
            if old_ids and new_ids and not old_ids & new_ids and not allow_different:
                raise click.BadParameter(
                    f"the baseline was captured from cluster {', '.join(sorted(old_ids))} and "
                    f"this export from {', '.join(sorted(new_ids))} (kube-system UIDs): "
                    "different clusters; pass --allow-different-clusters to compare them anyway",
                    param_hint="'--baseline'",
                )

        return check

    def compare(self, ev: Evaluation, source: str, old_source: str | None = None) -> Evaluation:
        """`ev` with the changes since this pack; warns when the baseline is the newer of
        the two. `source` and `old_source` name the two sides in the changes (default for
        the old side: the path given)."""
        from compliance.diff import DiffSide
        from compliance.diff import diff as diff_sides
        from compliance.paths import recorded_path

        if self.ev.as_of > ev.as_of:
            _warn(
                f"the baseline {self.link.source} (as of {self.link.as_of}) is newer than this "
                "run's as-of: the changes read backwards in time"
            )
        old_name = old_source if old_source is not None else recorded_path(self.link.source)
        old = DiffSide(old_name, self.link.digest, self.ev)
        new = DiffSide(source, None, ev)
        return dataclasses.replace(ev, changes=diff_sides(old, new))


def _frameworks(
    catalog: dict[str, Framework], wanted: tuple[str, ...], named: tuple[str, ...]
) -> list[Framework]:
    if "all" in wanted:
        return list(catalog.values())
    ids = list(dict.fromkeys(wanted)) or list(named) or list(catalog)
    unknown = [i for i in ids if i not in catalog]
    if unknown:
        raise click.BadParameter(
            f"unknown framework {unknown[0]!r} (known: {', '.join(catalog)})",
            param_hint="'--framework'",
        )
    return [catalog[i] for i in ids]


@cli.command()
@click.argument("old_path", metavar="OLD")
@click.argument("new_path", metavar="NEW")
@click.option(
    "--scope",
    "scope_path",
    metavar="FILE",
    help="Scope file for both sides (default: each pack's own; an export takes a pack's).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(DIFF_FORMATS),
    default="txt",
    show_default=True,
    help="txt or md for people; json for machines (diff.schema.json).",
)
@click.option(
    "--as-of", "as_of", metavar="ISO-8601", help="As-of time of a side that is an export."
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when flows touching a zone changed.")
@click.option(
    "--allow-different-clusters",
    is_flag=True,
    help="Compare sides whose capture records name different clusters (kube-system UIDs).",
)
@_size_option
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
def diff(
    old_path: str,
    new_path: str,
    scope_path: str | None,
    fmt: str,
    as_of: str | None,
    exit_zero: bool,
    allow_different_clusters: bool,
    max_bytes: int,
    debug: bool,
) -> None:
    """Show what changed between two evaluations: per-zone segmentation verdicts, flows,
    policies (each with its own effect on flows), workloads and zone membership,
    requirement statuses, findings, register entries and waivers.

    OLD and NEW are each an evidence pack (folder or zip) or an export; an export is
    evaluated with --scope, or with the pack's scope when the other side is a pack.
    Sides collected by `compliance collect` from different clusters (their kube-system
    namespace UIDs differ) are refused unless --allow-different-clusters.
    Exit codes: 0 no flow touching a zone changed, 1 one did (unless --exit-zero),
    2 bad input, 3 internal error.
    """
    from compliance.checks import CHECKS
    from compliance.diff import DiffSide, zone_flows_changed
    from compliance.diff import diff as diff_sides
    from compliance.evaluate import evaluate as run_evaluation
    from compliance.flows import compute_flows
    from compliance.paths import recorded_evaluation
    from compliance.render.diff import FORMATS as DIFF_RENDERERS
    from compliance.scope import read_scope
    from compliance.snapshot import export_time_of as snapshot_export_time
    from compliance.snapshot import load_input, snapshot_scope

    _State.debug = _State.debug or debug
    catalog = _catalog((), max_bytes)
    old_in = load_input((old_path,), max_bytes)
    new_in = load_input((new_path,), max_bytes)

    def identities(given: Any) -> set[str]:
        """The cluster identities the side's capture records name (none: not collected)."""
        captures = given.loaded.captures
        if given.snapshot is not None:
            recorded = snapshot_export_time(given.snapshot, False)
            captures = recorded.captures if recorded is not None else ()
        return {c.cluster_id for c in captures if c.cluster_id not in ("", "unknown")}

    old_ids, new_ids = identities(old_in), identities(new_in)
    if old_ids and new_ids and not old_ids & new_ids and not allow_different_clusters:
        raise click.BadParameter(
            f"OLD was captured from cluster {', '.join(sorted(old_ids))} and NEW from "
            f"{', '.join(sorted(new_ids))} (kube-system UIDs): different clusters; pass "
            "--allow-different-clusters to compare them anyway",
            param_hint="'OLD NEW'",
        )
    scope = read_scope(scope_path, catalog, CHECKS, max_bytes=max_bytes) if scope_path else None
    packs = [given.snapshot for given in (old_in, new_in) if given.snapshot is not None]
    sides: list[DiffSide] = []
    for path, given in ((old_path, old_in), (new_path, new_in)):
        snap = given.snapshot
        side_scope = scope
        if side_scope is None:
            source = snap if snap is not None else (packs[0] if packs else None)
            if source is None:
                raise click.BadParameter(
                    "is required when OLD and NEW are both exports", param_hint="'--scope'"
                )
            side_scope = snapshot_scope(source, catalog, CHECKS)
        if snap is not None:
            moment = snap.as_of
        elif as_of is not None:
            moment = _parse_as_of(as_of)
        else:
            moment = max(p.as_of for p in packs) if packs else _parse_as_of(None)
        chosen = _frameworks(catalog, (), side_scope.frameworks)
        graph = compute_flows(given.cluster)
        ev = recorded_evaluation(
            run_evaluation(
                given.cluster,
                graph,
                side_scope,
                chosen,
                moment,
                given.loaded.inputs,
                baseline=_named_baseline(snap, sides),
                **_recorded_facts(snap),
            )
        )
        digest = snap.manifest.get("digest", {}).get("value") if snap is not None else None
        sides.append(DiffSide(path, digest if isinstance(digest, str) else None, ev))
    document = diff_sides(sides[0], sides[1])
    click.echo(DIFF_RENDERERS[fmt](document), nl=False)
    if zone_flows_changed(document) and not exit_zero:
        click.get_current_context().exit(EXIT_FAIL)


@cli.command()
@click.argument("pack_paths", nargs=-1, required=True, metavar="PACK...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(HISTORY_FORMATS),
    default="txt",
    show_default=True,
    help="txt or md for people; json for machines (history.schema.json).",
)
@click.option(
    "--chart",
    "chart_path",
    metavar="FILE.svg",
    help="Also draw each framework's failing and passing requirements per pack (SVG).",
)
@click.option(
    "--allow-different-clusters",
    is_flag=True,
    help="List packs whose capture records name different clusters (kube-system UIDs).",
)
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
def history(
    pack_paths: tuple[str, ...],
    fmt: str,
    chart_path: str | None,
    allow_different_clusters: bool,
    debug: bool,
) -> None:
    """Show a series of evidence packs (folders or zips, in any order) oldest first: per
    pack its requirement counts per status and framework, the findings opened and closed
    since the previous pack, and the flows crossing a zone boundary.

    Every pack is verified first (one that is not intact is refused), and each pack after
    the first must name the previous one as its baseline (`report --baseline`): its
    recorded seal and digest must be the previous pack's. Exit codes: 0 the chain holds,
    1 it is broken (named), 2 bad input (not a pack, not intact, different clusters).
    """
    from compliance.chain import cluster_ids, open_link
    from compliance.history import PackFacts, trend
    from compliance.history import history as build_history
    from compliance.render.history import FORMATS as HISTORY_RENDERERS

    _State.debug = _State.debug or debug
    links = [open_link(path) for path in dict.fromkeys(pack_paths)]
    identities = {link.source: cluster_ids(link.snapshot) for link in links}
    named = [(source, ids) for source, ids in identities.items() if ids]
    for source, ids in named[1:]:
        first, first_ids = named[0]
        if not ids & first_ids and not allow_different_clusters:
            raise click.BadParameter(
                f"{first} was captured from cluster {', '.join(sorted(first_ids))} and "
                f"{source} from {', '.join(sorted(ids))} (kube-system UIDs): different "
                "clusters; pass --allow-different-clusters to list them anyway",
                param_hint="'PACK...'",
            )
    facts = [
        PackFacts(
            link.source,
            link.as_of,
            link.seal,
            link.digest,
            str(link.manifest.get("cluster", "")),
            link.baseline,
            link.results,
        )
        for link in links
    ]
    document = build_history(facts)
    if chart_path is not None:
        from compliance.errors import RenderError
        from compliance.render.diagram import trend_chart_svg

        svg = trend_chart_svg(trend(document))
        try:
            Path(chart_path).write_text(svg + "\n", encoding="utf-8")
        except OSError as exc:
            raise RenderError(f"{chart_path}: cannot write: {exc.strerror or exc}") from exc
    click.echo(HISTORY_RENDERERS[fmt](document), nl=False)
    if not document["chain"]["intact"]:
        click.get_current_context().exit(EXIT_FAIL)


@cli.group()
def controls() -> None:
    """List the frameworks and show their requirements and checks."""


@controls.command("list")
@click.option(
    "--controls", "controls_dirs", multiple=True, metavar="DIR", help="Also read DIR/*.yaml."
)
@_size_option
def controls_list(controls_dirs: tuple[str, ...], max_bytes: int) -> None:
    """List every framework: ID, title, requirement counts by automation."""
    from compliance.checks import CHECKS

    catalog = _catalog(controls_dirs, max_bytes)
    width = max(len(i) for i in catalog)
    for fw in catalog.values():
        counts = {
            a: sum(r.automation == a for r in fw.requirements)
            for a in ("full", "partial", "manual")
        }
        _say(
            f"{fw.id:<{width}}  {fw.title} ({fw.version}): {len(fw.requirements)} requirements, "
            f"{counts['full']} full, {counts['partial']} partial, {counts['manual']} manual"
        )
    _say("")
    _say("checks:")
    for spec in CHECKS.values():
        _say(f"  {spec.id}  {spec.title}")


@controls.command("show")
@click.argument("framework_id", metavar="FRAMEWORK")
@click.argument("requirement_id", metavar="[REQUIREMENT]", required=False)
@click.option(
    "--controls", "controls_dirs", multiple=True, metavar="DIR", help="Also read DIR/*.yaml."
)
@_size_option
def controls_show(
    framework_id: str, requirement_id: str | None, controls_dirs: tuple[str, ...], max_bytes: int
) -> None:
    """Show a framework's requirements, or one requirement with its checks' documentation."""
    from compliance.checks import CHECKS

    catalog = _catalog(controls_dirs, max_bytes)
    (fw,) = _frameworks(catalog, (framework_id,), ())
    if requirement_id is None:
        _say(f"{fw.title} ({fw.version}) [{fw.id}]")
        _say(f"source: {fw.source}")
        _say(f"scope: {fw.scope}")
        _say("")
        width = max(len(r.id) for r in fw.requirements)
        for r in fw.requirements:
            checks = ", ".join(r.checks) or "-"
            _say(f"  {r.id:<{width}}  {r.automation:<7}  {r.title}  [{checks}]")
        return
    req = fw.requirement(requirement_id)
    if req is None:
        raise click.BadParameter(
            f"{fw.id} has no requirement {requirement_id!r}", param_hint="'REQUIREMENT'"
        )
    _say(f"{fw.title} {req.id}: {req.title}")
    if req.designation:
        _say(f"designation: {req.designation}")
    _say(f"automation: {req.automation}")
    _say(f"applies to: {req.applicability}")
    _say("")
    _say(textwrap.fill(req.intent, WRAP))
    if req.note:
        _say("")
        _say(textwrap.fill(f"note: {req.note}", WRAP))
    if req.evidence:
        _say("\nevidence an assessor should ask for:")
        for item in req.evidence:
            _say(textwrap.fill(item, WRAP, initial_indent="  - ", subsequent_indent="    "))
    for cid in req.checks:
        spec = CHECKS[cid]
        _say(f"\n{spec.id} {spec.title}")
        _say(textwrap.indent(spec.description, "  "))


def _explanation_text(ex: Explanation) -> str:
    lines = [f"{ex.src} -> {ex.dst}", f"  {ex.egress_summary}", f"  {ex.ingress_summary}", ""]
    rows = []
    for s in ex.segments:
        ports = f"{s.protocol} {s.lo}" if s.lo == s.hi else f"{s.protocol} {s.lo}-{s.hi}"
        verdict = "ALLOWED" if s.allowed else "denied"
        eg = ", ".join(s.egress.reasons) or "no egress rule allows"
        ing = ", ".join(s.ingress.reasons) or "no ingress rule allows"
        rows.append((ports, verdict, f"egress: {eg}", f"ingress: {ing}"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        lines.append(
            f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip()
        )
    allowed = ex.allowed
    lines.append("")
    lines.append(
        f"verdict: allowed on {allowed.describe()}" if allowed else "verdict: denied on every port"
    )
    return "\n".join(one_line(line) for line in lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; turn errors into one line on stderr and the documented exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    sys.exit(run(cli.main, args))


def run(entry: Callable[..., Any], args: list[str]) -> int:
    """Run one command in-process and return its exit code (what `main` exits with)."""
    # Known before parsing, so that a failure while parsing can still show its traceback.
    _State.debug = "--debug" in args
    try:
        code = entry(args=args, prog_name="compliance", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_INTERNAL
    except click.ClickException as exc:
        # One line, like every other error; `--help` is where the usage lives.
        click.echo(f"error: {one_line(exc.format_message())}", err=True)
        return exc.exit_code
    except ComplianceError as exc:
        if _State.debug:
            traceback.print_exc()
        click.echo(f"error: {one_line(str(exc))}", err=True)
        return exc.exit_code
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:
        if _State.debug:
            traceback.print_exc()
        message = f"internal error: {type(exc).__name__}: {exc}"
        click.echo(f"{one_line(message)} (run with --debug for a traceback)", err=True)
        return EXIT_INTERNAL
    # `ctx.exit(code)` comes back as the return value when not in standalone mode.
    return code if isinstance(code, int) else EXIT_OK
