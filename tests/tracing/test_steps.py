"""What `gress detect --trace` reports, one behaviour per test (docs/cli.md, "Tracing a key")."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import detect, run, steps, write_job

CARD_TESTING = """pattern card_testing
    from events
    match small{2,} -> big
    where small: amount < 2
          big:   amount > 100 and kind == "web"
    within 10s
"""


def events(*rows: tuple[str, int, float, str]) -> list[dict[str, object]]:
    return [{"card": c, "ts": ts, "amount": a, "kind": k} for c, ts, a, k in rows]


PROBES = events(
    ("c1", 1_000, 1.0, "web"),
    ("c2", 1_500, 1.0, "web"),
    ("c1", 2_000, 1.5, "web"),
    ("c1", 3_000, 500.0, "shop"),  # big enough, but not online: no match
    ("c1", 30_000, 50.0, "web"),  # the window closed long ago
)


def traced(tmp_path: Path, patterns: str, rows: list[dict[str, object]], *extra: str) -> list:
    rules, data = write_job(tmp_path, patterns, rows)
    trace = tmp_path / "trace.jsonl"
    run(rules, data, tmp_path / "out.jsonl", "--trace-output", str(trace), *extra)
    return steps(trace)


def test_a_failed_condition_is_shown_with_the_values_it_read(tmp_path: Path) -> None:
    found = traced(tmp_path, CARD_TESTING, PROBES, "--trace", "c1")
    failed = [s for s in found if s["step"] == "tried" and s["variable"] == "big"]
    assert failed and not failed[0]["result"]
    assert failed[0]["condition"] == 'amount > 100 and kind == "web"'
    assert failed[0]["values"] == {"amount": 500.0, "kind": "shop"}
    assert failed[0]["event"] == 3 and failed[0]["time"] == 3_000  # c1's third event


def test_only_the_traced_key_is_in_the_trace(tmp_path: Path) -> None:
    found = traced(tmp_path, CARD_TESTING, PROBES, "--trace", "c1")
    assert {s["key"] for s in found} == {"c1"}
    assert [s["event"] for s in found if s["step"] == "event"] == [1, 2, 3, 4]


def test_every_step_has_the_documented_fields(tmp_path: Path) -> None:
    for step in traced(tmp_path, CARD_TESTING, PROBES, "--trace", "c1"):
        assert {"key", "pattern", "event", "time", "step"} <= step.keys()
        assert step["step"] in {
            "event", "tried", "taken", "ignored", "proceeded", "started", "extended",
            "killed", "expired", "dropped", "held", "matched",
        }  # fmt: skip


def test_partial_matches_started_and_extended_name_their_events(tmp_path: Path) -> None:
    found = traced(tmp_path, CARD_TESTING, PROBES, "--trace", "c1")
    started = [s["partial"] for s in found if s["step"] == "started"]
    extended = [s["partial"] for s in found if s["step"] == "extended"]
    assert {"small": [1]} in started
    assert {"small": [1, 2]} in extended


def test_an_expired_partial_match_says_which_window_closed_and_when(tmp_path: Path) -> None:
    found = traced(tmp_path, CARD_TESTING, PROBES, "--trace", "c1")
    expired = [s for s in found if s["step"] == "expired"]
    assert expired
    assert expired[0]["reason"].startswith("within 10s after small at 1970-01-01 00:00:01.000Z")
    assert expired[0]["deadline"] == 11_000


def test_a_match_is_reported_with_its_events(tmp_path: Path) -> None:
    rows = [*PROBES[:3], *events(("c1", 4_000, 300.0, "web"))]
    found = traced(tmp_path, CARD_TESTING, rows, "--trace", "c1")
    matched = [s for s in found if s["step"] == "matched"]
    assert [m["partial"] for m in matched] == [{"small": [1, 2], "big": [3]}]


def test_a_negation_that_holds_kills_the_partial_match(tmp_path: Path) -> None:
    rules = """pattern no_refund
    from events
    match a -> !x -> b
    where a: kind == "buy"
          x: kind == "refund"
          b: kind == "ship"
    within 1m
"""
    rows = events(("c1", 1_000, 1, "buy"), ("c1", 2_000, 1, "refund"), ("c1", 3_000, 1, "ship"))
    found = traced(tmp_path, rules, rows, "--trace", "c1")
    killed = [s for s in found if s["step"] == "killed"]
    assert killed == [
        {
            "key": "c1",
            "pattern": "no_refund",
            "event": 2,
            "time": 2_000,
            "step": "killed",
            "partial": {"a": [1]},
            "variable": "x",
            "condition": 'kind == "refund"',
            "values": {"kind": "refund"},
        }
    ]


def test_partial_matches_a_skip_strategy_discards_are_dropped_with_the_reason(
    tmp_path: Path,
) -> None:
    rows = [*PROBES[:3], *events(("c1", 4_000, 300.0, "web"))]
    found = traced(tmp_path, CARD_TESTING, rows, "--trace", "c1")
    dropped = [s for s in found if s["step"] == "dropped"]
    assert dropped and all(s["reason"].startswith("skip past last") for s in dropped)


def test_partial_matches_beyond_the_per_key_cap_are_dropped_with_the_reason(
    tmp_path: Path,
) -> None:
    rows = events(*((("c1", 1_000 * i, 1.0, "web")) for i in range(1, 6)))
    found = traced(tmp_path, CARD_TESTING, rows, "--trace", "c1", "--max-partial-matches", "2")
    reasons = [s["reason"] for s in found if s["step"] == "dropped"]
    assert reasons and "--max-partial-matches" in reasons[0]


def test_a_strict_contiguity_break_ends_the_partial_match_with_the_reason(
    tmp_path: Path,
) -> None:
    rules = """pattern two_in_a_row
    from events
    match a , b
    where a: kind == "a"
          b: kind == "b"
"""
    rows = events(("c1", 1_000, 1, "a"), ("c1", 2_000, 1, "c"))
    found = traced(tmp_path, rules, rows, "--trace", "c1")
    dropped = [s for s in found if s["step"] == "dropped"]
    assert dropped[0]["partial"] == {"a": [1]}
    assert "strict contiguity" in dropped[0]["reason"]


def test_a_held_match_says_what_it_waits_for(tmp_path: Path) -> None:
    rules = """pattern same_amount
    from events
    match a -> b
    where a: kind == "a"
          b: kind == "b" and amount == a.amount
    within 1m
"""
    # [a#2 b#3] completes while [a#1] (started earlier) may still complete first: held
    rows = events(("c1", 1_000, 1, "a"), ("c1", 2_000, 2, "a"), ("c1", 3_000, 2, "b"))
    found = traced(tmp_path, rules, rows, "--trace", "c1")
    held = [s for s in found if s["step"] == "held"]
    assert [h["partial"] for h in held] == [{"a": [2], "b": [3]}]
    assert "started earlier (at event 1)" in held[0]["reason"]
    # released when the earlier one's window closes (the end of input here)
    assert [s["partial"] for s in found if s["step"] == "matched"] == [{"a": [2], "b": [3]}]


def test_a_number_key_is_named_by_its_text(tmp_path: Path) -> None:
    rows = [{"card": 42, "ts": 1_000, "amount": 1.0, "kind": "web"}]
    for text in ("42", "42.0"):
        found = traced(tmp_path, CARD_TESTING, rows, "--trace", text)
        assert {s["key"] for s in found} == {42}, text


def test_a_key_of_several_fields_is_named_field_by_field_or_in_order(tmp_path: Path) -> None:
    rules = CARD_TESTING.replace("    match", "    partition by card, kind\n    match")
    for text in ("card=c1,kind=web", "kind=web,card=c1", "c1,web"):
        found = traced(tmp_path, rules, PROBES, "--trace", text)
        assert {tuple(s["key"]) for s in found} == {("c1", "web")}, text


def test_star_traces_every_key(tmp_path: Path) -> None:
    found = traced(tmp_path, CARD_TESTING, PROBES, "--trace", "*")
    assert {s["key"] for s in found} == {"c1", "c2"}


def test_a_pattern_reading_a_view_is_traced(tmp_path: Path) -> None:
    rules = 'view web = events | where kind == "web"\n\n' + CARD_TESTING.replace(
        "from events", "from web"
    )
    found = traced(tmp_path, rules, PROBES, "--trace", "c1")
    # the shop payment never reaches the pattern: the view filtered it
    assert [s["record"]["amount"] for s in found if s["step"] == "event"] == [1.0, 1.5, 50.0]


def test_without_trace_output_the_trace_is_json_lines_on_a_piped_stderr(tmp_path: Path) -> None:
    rules, data = write_job(tmp_path, CARD_TESTING, PROBES)
    args = [str(rules), "-i", str(data), "-o", str(tmp_path / "o.jsonl")]
    result = detect(*args, "--checkpoint-interval", "off", "-q", "--trace", "c1")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines and lines[0]["step"] == "event"


def test_a_key_no_event_of_which_came_is_said_at_the_end(tmp_path: Path) -> None:
    rules, data = write_job(tmp_path, CARD_TESTING, PROBES)
    args = [str(rules), "-i", str(data), "-o", str(tmp_path / "o.jsonl")]
    trace = str(tmp_path / "t.jsonl")
    result = detect(*args, "--checkpoint-interval", "off", "--trace", "c9", "--trace-output", trace)
    assert result.exit_code == 0, result.output
    assert "trace: pattern card_testing: no event of key c9 came to it" in result.stderr


def test_the_end_of_the_run_summarises_each_traced_key(tmp_path: Path) -> None:
    rules, data = write_job(tmp_path, CARD_TESTING, PROBES)
    args = [str(rules), "-i", str(data), "-o", str(tmp_path / "o.jsonl")]
    trace = str(tmp_path / "t.jsonl")
    result = detect(*args, "--checkpoint-interval", "off", "--trace", "c1", "--trace-output", trace)
    assert (
        "trace: pattern card_testing key c1: 4 events, 2 partial matches started, 0 matches "
        "(2 expired, 0 killed, 0 dropped)"
    ) in result.stderr
