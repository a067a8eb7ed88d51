"""`gress detect --view NAME` and `gress explain --view NAME` (docs/cli.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gress_cep.cli.main import cli

RULES = """stream payments
    key card
    time ts

view positive = payments | where amount > 0 | select card, ts, amount
view per_minute = payments | window tumbling 1m by card
                           | aggregate count() as n, sum(amount) as total
                           | having n >= 2

pattern rich_minute
    from per_minute
    match a
    where a: total > 100
"""

PAYMENTS = [
    {"card": "c1", "ts": 1_000, "amount": 60.0},
    {"card": "c2", "ts": 2_000, "amount": -5.0},
    {"card": "c1", "ts": 30_000, "amount": 50.0},
    {"card": "c2", "ts": 40_000, "amount": 1.0},
    {"card": "c1", "ts": 70_000, "amount": 1.0},  # the second minute: one record, no window
]


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.gress").write_text(RULES)
    (tmp_path / "payments.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PAYMENTS))
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_view_writes_the_records_of_a_where_select_view(job: Path) -> None:
    result = run("detect", "rules.gress", "-i", "payments.jsonl", "--view", "positive",
                 "-o", "out.jsonl")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert lines(job / "out.jsonl") == [
        {"card": "c1", "ts": 1_000, "amount": 60.0},
        {"card": "c1", "ts": 30_000, "amount": 50.0},
        {"card": "c2", "ts": 40_000, "amount": 1.0},
        {"card": "c1", "ts": 70_000, "amount": 1.0},
    ]


def test_view_writes_the_windows_of_a_window_view(job: Path) -> None:
    result = run("detect", "rules.gress", "-i", "payments.jsonl", "--view", "per_minute",
                 "-o", "out.jsonl")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert lines(job / "out.jsonl") == [
        {"card": "c1", "window_start": 0, "window_end": 60_000, "n": 2, "total": 110.0},
        {"card": "c2", "window_start": 0, "window_end": 60_000, "n": 2, "total": -4.0},
    ]
    assert "5 records aggregated into 2 windows" in result.output


def test_view_alone_runs_no_pattern(job: Path) -> None:
    result = run("detect", "rules.gress", "-i", "payments.jsonl", "--view", "per_minute",
                 "-o", "out.jsonl")  # fmt: skip
    assert all("pattern" not in record for record in lines(job / "out.jsonl"))
    assert "rich_minute" not in result.output


def test_views_and_patterns_in_one_output_say_where_each_record_came_from(job: Path) -> None:
    result = run("detect", "rules.gress", "-i", "payments.jsonl", "--view", "per_minute",
                 "--view", "positive", "--pattern", "rich_minute", "-o", "out.jsonl")  # fmt: skip
    assert result.exit_code == 0, result.output
    records = lines(job / "out.jsonl")
    sources = {r.get("view") or f"pattern {r['pattern']}" for r in records}
    assert sources == {"per_minute", "positive", "pattern rich_minute"}
    (match,) = [r for r in records if "pattern" in r]
    assert match["key"] == "c1" and match["a"]["total"] == 110.0


def test_a_pattern_over_a_window_view_reads_windows_at_their_end(job: Path) -> None:
    result = run("detect", "rules.gress", "-i", "payments.jsonl", "--pattern", "rich_minute",
                 "-o", "out.jsonl")  # fmt: skip
    assert result.exit_code == 0, result.output
    (match,) = lines(job / "out.jsonl")
    assert match["start"] == match["end"] == 59_999  # window_end - 1 ms, as Flink
    assert "still in flight" not in result.output


def test_an_unknown_view_is_an_error_with_did_you_mean(job: Path) -> None:
    result = run("detect", "rules.gress", "-i", "payments.jsonl", "--view", "per_minut")
    assert result.exit_code == 1
    assert "no view named 'per_minut'" in result.output
    assert "did you mean 'per_minute'" in result.output


def test_explain_shows_a_views_operators(job: Path) -> None:
    result = run("explain", "rules.gress", "--view", "per_minute")
    assert result.exit_code == 0, result.output
    assert "view per_minute" in result.output and "(from payments)" in result.output
    assert "window tumbling 1m by card" in result.output
    assert "aggregate count() as n, sum(amount) as total" in result.output
    assert "having n >= 2" in result.output
    assert "pattern rich_minute" not in result.output


def test_explain_json_lists_the_views_asked_for(job: Path) -> None:
    result = run("explain", "rules.gress", "--view", "positive", "--json")
    assert json.loads(result.output) == [
        {
            "view": "positive",
            "from": "payments",
            "operators": ["where amount > 0", "select card, ts, amount"],
        }
    ]


def test_explain_of_an_unknown_pattern_is_an_error(job: Path) -> None:
    result = run("explain", "rules.gress", "--pattern", "rich_minutes")
    assert result.exit_code == 1
    assert "did you mean 'rich_minute'" in result.output
