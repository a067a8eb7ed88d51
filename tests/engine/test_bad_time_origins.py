"""Issue 11 B.10: a record whose time field is missing or not a time, in a stream without a
schema, is a dead letter that says where it came from (file:line, the Avro record's number,
the Python record's index), the field, and the value as JSON (never a Python repr)."""

from __future__ import annotations

import json
from pathlib import Path

import fastavro
import pytest
from click.testing import CliRunner

import gress_cep
from gress_cep.cli.main import cli
from gress_cep.connectors.base import DeadLetter

RULES = """stream events
    key k
    time ts

pattern p
    match a
    where
        a: x > 0
"""
GOOD = {"k": "u", "ts": 1_735_689_600_000, "x": 1}
BAD = [{"k": "u", "ts": "yesterday", "x": 1}, {"k": "u", "ts": [1, "a"], "x": 1}, {"k": "u"}]
REASONS = [
    "time field 'ts' not a time: \"yesterday\"",
    "time field 'ts' not a time: [1,\"a\"]",
    "time field 'ts' missing",
]


def write(path: Path, records: list[dict]) -> None:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    elif path.suffix == ".csv":
        lines = ["k,ts,x"] + [f"{r['k']},{r.get('ts', '')},{r.get('x', '')}" for r in records]
        path.write_text("\n".join(lines) + "\n")
    else:
        schema = {
            "type": "record",
            "name": "E",
            "fields": [
                {"name": "k", "type": "string"},
                {"name": "ts", "type": ["null", "string", "long"]},
                {"name": "x", "type": ["null", "long"]},
            ],
        }
        with path.open("wb") as f:
            fastavro.writer(f, fastavro.parse_schema(schema), records)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".avro"])
def test_a_bad_time_is_a_dead_letter_with_its_origin_field_and_value(
    tmp_path: Path, suffix: str
) -> None:
    rules = tmp_path / "rules.gress"
    rules.write_text(RULES)
    bad = BAD if suffix == ".jsonl" else [BAD[0], {"k": "u", "ts": "12x", "x": 1}]
    events = tmp_path / f"events{suffix}"
    write(events, [GOOD, *bad, GOOD])
    dead = tmp_path / "dead.jsonl"
    result = CliRunner().invoke(
        cli,
        ["detect", str(rules), "-i", str(events), "-o", str(tmp_path / "o.jsonl"),
         "--dead-letter", str(dead), "--checkpoint-interval", "off"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    letters = [json.loads(line) for line in dead.read_text().splitlines()]
    first = 2 if suffix == ".csv" else 1  # a CSV's first line is its header
    assert [d["origin"] for d in letters] == [f"{events}:{first + 1 + i}" for i in range(len(bad))]
    expected = (
        REASONS if suffix == ".jsonl" else [REASONS[0], "time field 'ts' not a time: \"12x\""]
    )
    assert [d["reason"] for d in letters] == expected


def test_from_python_the_origin_is_the_records_index() -> None:
    dead: list[DeadLetter] = []
    program = gress_cep.compile(RULES)
    list(program.run({"events": [GOOD, *BAD, GOOD]}, on_dead_letter=dead.append))
    assert [(d.origin, d.reason) for d in dead] == [
        (f"events[{i + 1}]", reason) for i, reason in enumerate(REASONS)
    ]


@pytest.mark.parametrize("ts", [10**30, 1e300, float("nan"), "1e400"])
def test_a_time_beyond_64_bits_or_any_calendar_is_a_dead_letter_not_a_crash(ts: object) -> None:
    """The reason shows the value as JSON; a 30-digit integer used to stop the job with an
    internal error (orjson cannot write integers beyond 64 bits)."""
    dead: list[DeadLetter] = []
    program = gress_cep.compile(RULES)
    matches = list(
        program.run({"events": [GOOD, {**GOOD, "ts": ts}, GOOD]}, on_dead_letter=dead.append)
    )
    assert len(matches) == 2
    assert [d.origin for d in dead] == ["events[1]"]
    assert "'ts'" in dead[0].reason
