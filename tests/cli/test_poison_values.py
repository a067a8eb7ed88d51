"""A value that can be read can be written: no record stops `gress detect` at its output."""

from __future__ import annotations

import json
from pathlib import Path

import fastavro
import pytest
from click.testing import CliRunner

from gress_cep.cli.main import cli

RULES = """stream events
    key card
    time ts

pattern pair
    from events
    match a -> b
    where
        a: v > 0
        b: v > 0
    within 10s
    emit card, a.v as first, b.v as second
"""
BIG = 99999999999999999999999  # beyond 64 bits


@pytest.fixture
def job(tmp_path: Path) -> Path:
    (tmp_path / "rules.gress").write_text(RULES)
    (tmp_path / "events.csv").write_text(f"card,ts,v\nc1,1000,{BIG}\nc1,2000,3\n")
    return tmp_path


def detect(job: Path, output: str) -> object:
    args = ["detect", str(job / "rules.gress"), "-i", str(job / "events.csv")]
    args += ["-o", str(job / output), "--checkpoint-interval", "off", "-q"]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_an_integer_beyond_64_bits_is_written_exactly_to_json_lines(job: Path) -> None:
    result = detect(job, "out.jsonl")
    assert result.exit_code == 0, result.output
    (line,) = (job / "out.jsonl").read_text().splitlines()
    assert f'"first":{BIG}' in line
    assert json.loads(line)["first"] == BIG


def test_an_integer_beyond_64_bits_is_written_as_its_digits_to_avro(job: Path) -> None:
    result = detect(job, "out.avro")
    assert result.exit_code == 0, result.output
    with (job / "out.avro").open("rb") as f:
        (record,) = list(fastavro.reader(f))
    assert record["first"] == str(BIG)
