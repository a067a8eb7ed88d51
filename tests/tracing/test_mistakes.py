"""`--trace` mistakes get one clear message, never a traceback."""

from __future__ import annotations

from pathlib import Path

from .helpers import detect, write_job

KEYED = """pattern probes
    from events
    match a -> b
    where a: amount < 2
          b: amount > 100
"""

UNKEYED = """stream plain
    time ts

pattern anywhere
    from plain
    match a -> b
    where a: amount < 2
          b: amount > 100
"""

ROWS = [{"card": "c1", "ts": 1_000, "amount": 1.0}, {"card": "c1", "ts": 2_000, "amount": 500}]


def test_a_value_for_a_pattern_without_a_partition_key_is_an_error_with_a_hint(
    tmp_path: Path,
) -> None:
    rules, data = write_job(tmp_path, UNKEYED, ROWS)
    result = detect(
        str(rules), "-i", f"plain={data}", "--checkpoint-interval", "off", "--trace", "c1"
    )
    assert result.exit_code == 1
    assert "no pattern of the job has such a key" in result.stderr
    assert "--trace '*' traces it" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_star_traces_a_pattern_without_a_partition_key(tmp_path: Path) -> None:
    rules, data = write_job(tmp_path, UNKEYED, ROWS)
    trace = tmp_path / "t.jsonl"
    result = detect(
        str(rules), "-i", f"plain={data}", "-o", str(tmp_path / "o.jsonl"),
        "--checkpoint-interval", "off", "--trace", "*", "--trace-output", str(trace),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert '"key":null' in trace.read_text()


def test_a_pattern_the_value_cannot_name_is_left_out_with_a_note(tmp_path: Path) -> None:
    rules, data = write_job(tmp_path, KEYED + "\n" + UNKEYED, ROWS)
    result = detect(
        str(rules), "-i", f"events={data}", "-i", f"plain={data}", "-o", str(tmp_path / "o.jsonl"),
        "--checkpoint-interval", "off", "--trace", "c1", "--trace-output", str(tmp_path / "t"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "note: pattern anywhere has no partition key" in result.stderr


def test_a_trace_file_may_not_overwrite_an_input(tmp_path: Path) -> None:
    rules, data = write_job(tmp_path, KEYED, ROWS)
    result = detect(
        str(rules), "-i", str(data), "--checkpoint-interval", "off",
        "--trace", "c1", "--trace-output", str(data),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "writing the trace would destroy it" in result.stderr
    assert data.read_text().count("\n") == 2  # untouched


def test_trace_output_without_trace_is_an_error(tmp_path: Path) -> None:
    rules, data = write_job(tmp_path, KEYED, ROWS)
    result = detect(str(rules), "-i", str(data), "--trace-output", str(tmp_path / "t.jsonl"))
    assert result.exit_code == 1
    assert "--trace-output without --trace" in result.stderr


def test_trace_with_only_views_is_an_error(tmp_path: Path) -> None:
    rules, data = write_job(tmp_path, "view web = events | where amount > 1\n", ROWS)
    result = detect(str(rules), "-i", str(data), "--view", "web", "--trace", "c1")
    assert result.exit_code == 1
    assert "--trace traces patterns, and this job runs none" in result.stderr
