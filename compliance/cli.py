"""Command line: the only module that parses arguments, prints and picks exit codes.

Exit codes: 0 success, 1 a control fails (later commands), 2 bad input or
usage, 3 internal or rendering failure.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import click

from compliance import __version__
from compliance.errors import ComplianceError
from compliance.explain import Explanation
from compliance.explain import explain as explain_flow
from compliance.flows import compute_flows
from compliance.load import load_paths
from compliance.model import build_cluster
from compliance.render.flows import FORMATS, render

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class _State:
    debug = False


def one_line(text: str) -> str:
    """Escape control characters: values from an export must not break the one-line form."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _warn(message: str) -> None:
    click.echo(f"warning: {one_line(message)}", err=True)


EXPORT_COMMAND = (
    "kubectl get namespaces,pods,deployments,statefulsets,daemonsets,replicasets,jobs,"
    "cronjobs,networkpolicies -A -o yaml > export.yaml"
)
HELP = f"""Network segmentation evidence for PCI DSS, HIPAA and FedRAMP from a Kubernetes export.

Export the cluster, then list every allowed flow:

\b
  {EXPORT_COMMAND}
  compliance flows export.yaml

Exit codes: 0 success, 1 a control fails, 2 bad input or usage, 3 internal error.
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
    type=click.Choice(sorted(FORMATS)),
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
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
def flows(
    paths: tuple[str, ...],
    fmt: str,
    show_rules: bool,
    explain: tuple[str, str] | None,
    verbose: bool,
    debug: bool,
) -> None:
    """Compute every flow the NetworkPolicies allow, between workloads and to or from outside.

    EXPORT is a YAML or JSON file, a folder (read recursively: .yaml, .yml, .json) or -
    for standard input, as printed by `kubectl get ... -A -o yaml` or `-o json`.
    Addresses in ipBlock rules are treated as outside the cluster; hostNetwork pods are
    reported as not isolated.
    """
    _State.debug = _State.debug or debug
    started = time.perf_counter()
    loaded = load_paths(paths)
    cluster = build_cluster(loaded.objects)
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
        click.echo(_explanation_text(explain_flow(cluster, *explain)), nl=False)
        return
    graph = compute_flows(cluster)
    for message in graph.warnings:
        _warn(message)
    output = render(graph, fmt, show_rules)
    if verbose:
        click.echo(
            f"computed {len(graph.flows)} flows over {graph.classes} pod classes in "
            f"{time.perf_counter() - loaded_at:.2f}s",
            err=True,
        )
    click.echo(output, nl=False)


def _explanation_text(ex: Explanation) -> str:
    lines = [f"{ex.src} -> {ex.dst}", f"  {ex.egress_summary}", f"  {ex.ingress_summary}", ""]
    rows = []
    for s in ex.segments:
        ports = f"{s.protocol} {s.lo}" if s.lo == s.hi else f"{s.protocol} {s.lo}-{s.hi}"
        verdict = "ALLOWED" if s.allowed else "denied"
        eg = ", ".join(s.egress.reasons) if s.egress.allowed else "no egress rule allows"
        ing = ", ".join(s.ingress.reasons) if s.ingress.allowed else "no ingress rule allows"
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
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; turn errors into one line on stderr and the documented exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    sys.exit(run(cli.main, args))


def run(entry: Callable[..., Any], args: list[str]) -> int:
    """Run one command in-process and return its exit code (what `main` exits with)."""
    # Known before parsing, so that a failure while parsing can still show its traceback.
    _State.debug = "--debug" in args
    try:
        entry(args=args, prog_name="compliance", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_INTERNAL
    except click.ClickException as exc:
        exc.show()
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
    return EXIT_OK
