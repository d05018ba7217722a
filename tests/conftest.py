"""Fixtures every test module shares."""

from __future__ import annotations

import pytest

import compliance.cli as cli_module


@pytest.fixture(autouse=True)
def _fresh_debug_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--debug` is remembered on a class attribute; start every test from off."""
    monkeypatch.setattr(cli_module._State, "debug", False)
