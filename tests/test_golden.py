"""Golden results: the sample evaluations, byte for byte.

The JSON an auditor receives must change only when we mean it to. When a change
is intended, regenerate with `UPDATE_GOLDEN=1 pytest tests/test_golden.py` and
review the diff like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compliance.cli import cli, run

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = {
    "pci-dss": "samples/pci-dss.scope.yaml",
    "hipaa": "samples/hipaa.scope.yaml",
    "fedramp": "samples/fedramp.scope.yaml",
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("fmt", ["json", "table"])
def test_sample_results_match_the_golden_file(
    name: str, fmt: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    args = ["evaluate", "samples/shop-cluster", "--scope", CASES[name]]
    code = run(cli.main, [*args, "--as-of", "2026-11-26", "--format", fmt])
    out = capsys.readouterr().out
    assert code == 1
    path = GOLDEN / f"{name}.{'results.json' if fmt == 'json' else 'table.txt'}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8"), f"{path.name} differs; see the module docstring"
