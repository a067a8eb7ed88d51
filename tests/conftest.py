"""Shared test setup."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _state_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`gress detect` keeps state under ./.gress/state by default; tests keep it in a temp dir."""
    root: Path = tmp_path_factory.mktemp("gress-state")
    monkeypatch.setenv("GRESS_STATE_ROOT", str(root))
