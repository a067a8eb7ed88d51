"""`-q` means only errors: no progress, no warnings, no summary (docs/cli.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gress_cep.cli.main import cli

RULES = """stream events
    key card
    time ts

pattern big
    from events
    match b+
    where b: amount > 100
"""  # `b+` without `within`: a warning


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.gress").write_text(RULES)
    (tmp_path / "events.jsonl").write_text(json.dumps({"card": "c1", "ts": 1, "amount": 500}))
    return tmp_path


def test_detect_quiet_prints_nothing_on_stderr(job: Path) -> None:
    args = ["detect", "rules.gress", "-i", "events.jsonl", "-o", "out.jsonl", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (job / "out.jsonl").read_text().count("\n") == 1
