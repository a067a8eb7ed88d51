"""`gress detect` with times and keys as real data has them (issue 11: B.7, B.8, D.20):
`--max-time-skew`, the warnings gress prints once, and `-q` keeping them quiet."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from gress_cep.cli.main import cli

RULES = """stream events
    key card
    time ts

pattern every
    match e
    emit card, ts
"""
T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z


def detect(tmp_path: Path, events: list[dict], *args: str) -> Result:
    (tmp_path / "rules.gress").write_text(RULES)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return CliRunner().invoke(
        cli,
        ["detect", str(tmp_path / "rules.gress"), "-i", f"events={path}",
         "-o", str(tmp_path / "out.jsonl"), "--dead-letter", str(tmp_path / "dead.jsonl"),
         "--checkpoint-interval", "off", *args],
    )  # fmt: skip


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_far_future_record_goes_to_the_dead_letters_with_origin_and_reason(
    tmp_path: Path,
) -> None:
    events = [
        {"card": "a", "ts": T0},
        {"card": "b", "ts": "9999-12-31T23:59:59Z"},
        {"card": "c", "ts": T0 + 1000},
    ]
    result = detect(tmp_path, events)
    assert result.exit_code == 0, result.output
    assert [m["card"] for m in lines(tmp_path / "out.jsonl")] == ["a", "c"]
    [dead] = lines(tmp_path / "dead.jsonl")
    assert dead["origin"] == f"{tmp_path / 'events.jsonl'}:2"
    assert dead["reason"] == (
        "time field 'ts' is 9999-12-31T23:59:59.000Z: more than 1d ahead of the stream's "
        "watermark (2025-01-01T00:00:00.000Z) and of the clock (--max-time-skew 1d)"
    )


def test_max_time_skew_is_an_option_and_off_turns_it_off(tmp_path: Path) -> None:
    events = [{"card": "a", "ts": T0}, {"card": "b", "ts": "9999-12-31T23:59:59Z"}]
    assert detect(tmp_path, events, "--max-time-skew", "off").exit_code == 0
    assert [m["card"] for m in lines(tmp_path / "out.jsonl")] == ["a", "b"]
    result = detect(tmp_path, events, "--max-time-skew", "soon")
    assert result.exit_code == 1
    assert "--max-time-skew 'soon' is not a duration" in result.stderr


def test_guessed_seconds_and_a_missing_key_are_said_once_and_not_with_q(tmp_path: Path) -> None:
    events = [{"user": "u", "ts": (T0 + i * 1000) // 1000} for i in range(10)]
    result = detect(tmp_path, events)
    assert result.exit_code == 0, result.output
    assert result.stderr.count("read as epoch seconds") == 1
    assert result.stderr.count("the key field 'card' is missing (or null) in all 10 records") == 1
    assert [m["ts"] for m in lines(tmp_path / "out.jsonl")] == [T0 + i * 1000 for i in range(10)]
    quiet = detect(tmp_path, events, "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""
