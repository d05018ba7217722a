"""Start-up cost: `--version` and `flows` must not import what only `report` and
`evaluate` use (WeasyPrint, openpyxl, jsonschema, the checks, the renderers), which
together cost most of a second."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from compliance import cli
from compliance.render.flows import FORMATS as FLOW_RENDERERS
from compliance.render.results import FORMATS as RESULT_RENDERERS

ROOT = Path(__file__).resolve().parent.parent
HEAVY = (
    "weasyprint",
    "openpyxl",
    "jsonschema",
    "jinja2",
    "compliance.checks",
    "compliance.evaluate",
    "compliance.pack",
    "compliance.render.results",
    "compliance.render.report",
    "compliance.render.workbook",
)


def _imported_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)


def test_importing_the_cli_imports_no_heavy_module() -> None:
    modules = _imported_after("import compliance.cli")
    assert "compliance.cli" in modules
    assert _heavy(modules) == []
    assert "compliance.flows" not in modules  # --version does not pay for the engine


ONLY_WHEN_NEEDED = ("compliance.adminpolicy", "compliance.collect", "zipfile", "csv")
"""What `flows --format json` of an export file without admin policies does not need: the
admin-policy parser, the collector (and its subprocess), zip reading (packs only) and the
csv writer (`--format csv` only)."""


def _flows(*inputs: str) -> str:
    return (
        "import contextlib, io\n"
        "from compliance.cli import cli, run\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        f"    assert run(cli.main, ['flows', *{list(inputs)!r}, '--format', 'json']) == 0"
    )


def test_flows_json_imports_no_heavy_module() -> None:
    modules = _imported_after(_flows("samples/shop-cluster"))
    assert "compliance.flows" in modules  # the probe really ran the command
    assert _heavy(modules) == []
    assert sorted(modules & set(ONLY_WHEN_NEEDED)) == []


def test_flows_imports_the_admin_policy_parser_when_the_export_has_admin_policies() -> None:
    modules = _imported_after(_flows("samples/shop-cluster", "samples/guardrails"))
    assert "compliance.adminpolicy" in modules
    assert _heavy(modules) == []


def test_format_names_match_the_registries() -> None:
    """The CLI lists the format names without importing the renderers."""
    assert sorted(cli.FLOW_FORMATS) == sorted(FLOW_RENDERERS)
    assert sorted(cli.RESULT_FORMATS) == sorted(RESULT_RENDERERS)
