"""gress.toml: every key and table is a setting gress knows, or an error with the closest name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gress_cep.cli.main import cli

RULES = """stream events
    key card
    time ts

pattern big
    from events
    match b
    where b: amount > 100
"""


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.gress").write_text(RULES)
    (tmp_path / "events.jsonl").write_text(json.dumps({"card": "c1", "ts": 1, "amount": 500}))
    return tmp_path


def detect_with(job: Path, toml: str) -> Result:
    (job / "gress.toml").write_text(toml)
    args = ["detect", "rules.gress", "-i", "events.jsonl", "--config", "gress.toml"]
    return CliRunner().invoke(cli, args)


def test_an_unknown_section_is_an_error_with_did_you_mean(job: Path) -> None:
    result = detect_with(job, '[detct]\noutput = "x.jsonl"\n')
    assert result.exit_code == 1
    assert "gress.toml: unknown section [detct] (did you mean 'detect'?)" in result.stderr


def test_a_table_inside_the_detect_section_is_an_error(job: Path) -> None:
    result = detect_with(job, '[detect]\nfresh = true\n[detect.extra]\noutput = "x.jsonl"\n')
    assert result.exit_code == 1
    assert "gress.toml: unknown section [detect.extra]" in result.stderr


def test_a_misspelt_setting_gets_did_you_mean(job: Path) -> None:
    result = detect_with(job, '[detect]\nbootstrap-server = "h:9092"\n')
    assert result.exit_code == 1
    assert (
        "unknown setting 'bootstrap-server' in [detect] (did you mean 'bootstrap-servers'?)"
        in result.stderr
    )


def test_top_level_settings_apply_next_to_a_detect_section(job: Path) -> None:
    result = detect_with(job, 'output = "top.jsonl"\n[detect]\ncheckpoint-interval = "off"\n')
    assert result.exit_code == 0, result.output
    assert (job / "top.jsonl").read_text().count("\n") == 1


def test_a_setting_given_at_the_top_level_and_in_detect_is_an_error(job: Path) -> None:
    result = detect_with(job, 'output = "a.jsonl"\n[detect]\noutput = "b.jsonl"\n')
    assert result.exit_code == 1
    assert "'output' is set both at the top level and in [detect]" in result.stderr
