"""Fixtures every test module shares."""

from __future__ import annotations

import pytest

import compliance.cli as cli_module


@pytest.fixture(autouse=True)
def _fresh_debug_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--debug` is remembered on a class attribute; start every test from off."""
    monkeypatch.setattr(cli_module._State, "debug", False)


@pytest.fixture(scope="session")
def sample_pack(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The sample's PCI DSS evidence pack (and its zip), rendered once for every test that
    only reads it: rendering takes seconds."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = tmp_path_factory.mktemp("pack") / "evidence"
    args = [
        "report",
        str(root / "samples/shop-cluster"),
        "--scope",
        str(root / "samples/pci-dss.scope.yaml"),
        "--as-of",
        "2026-11-26T00:00:00Z",
        "--out",
        str(out),
        "--zip",
        "--exit-zero",
    ]
    assert cli_module.run(cli_module.cli.main, args) == 0
    return out
