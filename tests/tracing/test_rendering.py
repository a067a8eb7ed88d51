"""The trace as people read it: a line per step on a terminal, and `gress explain
--trace-file` reading a trace against the automaton."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gress_cep.cli.main import cli
from gress_cep.cli.trace_output import render_step

from .helpers import run, write_job

STEP = {"key": "c1", "pattern": "p", "event": 3, "time": 3_000}


def test_a_failed_condition_reads_as_condition_arrow_false_and_its_values() -> None:
    line = render_step(
        {
            **STEP,
            "step": "tried",
            "partial": {"a": [1]},
            "state": 1,
            "label": "b",
            "edge": "take",
            "variable": "b",
            "result": False,
            "condition": "amount > 100",
            "values": {"amount": 50},
        }
    )
    assert line is not None
    assert "b: amount > 100 → false (amount = 50)" in line
    assert "\\[a #1]" in line  # the partial match, its bracket escaped for rich


def test_an_expiry_reads_with_its_reason() -> None:
    line = render_step(
        {**STEP, "step": "expired", "partial": {"a": [1]}, "reason": "within 10s after a"}
    )
    assert line is not None and "expired" in line and "within 10s after a" in line


RULES = """pattern card_testing
    from events
    match small{2,} -> big
    where small: amount < 2
          big:   amount > 100 and kind == "web"
    within 10s
"""

ROWS = [
    {"card": "c1", "ts": 1_000, "amount": 1.0, "kind": "web"},
    {"card": "c1", "ts": 2_000, "amount": 1.5, "kind": "web"},
    {"card": "c1", "ts": 3_000, "amount": 500.0, "kind": "shop"},
]


def explain(tmp_path: Path, *extra: str) -> str:
    rules, data = write_job(tmp_path, RULES, ROWS)
    trace = tmp_path / "trace.jsonl"
    run(rules, data, tmp_path / "o.jsonl", "--trace", "c1", "--trace-output", str(trace))
    result = CliRunner().invoke(
        cli, ["explain", str(rules), "--trace-file", str(trace), *extra], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return " ".join(result.stdout.split())


def test_explain_says_which_condition_stopped_the_furthest_partial_match(tmp_path: Path) -> None:
    out = explain(tmp_path)
    assert "no match: the furthest partial match [small #1 #2] waited in state" in out
    assert 'big: amount > 100 and kind == "web" was false for 1 event' in out
    assert '(last: amount = 500.0, kind = "shop")' in out


def test_explain_counts_each_condition_per_state(tmp_path: Path) -> None:
    out = explain(tmp_path)
    assert "state 0 small" in out
    assert "take small if amount < 2: true 2, false 1" in out


def test_explain_of_a_file_that_is_not_a_trace_is_an_error(tmp_path: Path) -> None:
    rules, _ = write_job(tmp_path, RULES, ROWS)
    bogus = tmp_path / "bogus.jsonl"
    bogus.write_text("{not json\n")
    result = CliRunner().invoke(cli, ["explain", str(rules), "--trace-file", str(bogus)])
    assert result.exit_code == 1
    assert "bogus.jsonl:1: not JSON" in result.stderr
