"""The summary `gress detect` prints at the end (docs/cli.md): the first line, a row per pattern
whose numbers add up (filtered records included), the timeouts column, hints for what was
counted but not written, the checkpoints line, and the table of the models a job scores with."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gress_cep.cli.main import cli

FRAUD = Path(__file__).resolve().parents[2] / "examples" / "fraud"

RULES = """stream events
    key card
    time ts
    lateness 1s

pattern probe_then_big
    from events
    match small{2,} -> big
    where small: amount < 2
          big: amount > 100
    within 1m
    emit card, count(small) as probes
    on timeout emit card, count(small) as probes
"""
EVENTS = [
    {"card": "c1", "ts": 1000, "amount": 1.0},
    {"card": "c1", "ts": 2000, "amount": 1.5},
    {"card": "c1", "ts": 3000, "amount": 500.0},
    {"card": "c2", "ts": 4000, "amount": 1.0},
    {"card": "c2", "ts": 5000, "amount": 1.0},
    {"card": "c1", "ts": 500, "amount": 1.0},  # late
]


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "rules.gress").write_text(RULES)
    lines = [json.dumps(e) for e in EVENTS] + ["{not json", '"a string"']
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def detect(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["detect", *args])
    assert result.exit_code == 0, result.output
    return result


def rows(stderr: str) -> dict[str, dict[str, int]]:
    """The pattern table of the summary: {pattern: {column: number}}."""
    lines = stderr.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("pattern "))
    columns = [c.strip() for c in lines[header].split("┃")]
    out = {}
    for line in lines[header + 2 :]:
        if "│" not in line:
            break
        cells = [c.strip() for c in line.split("│")]
        numbers = zip(columns[1:], cells[1:], strict=True)
        out[cells[0]] = {col: int(v.replace(",", "")) for col, v in numbers}
    return out


def test_the_summary_starts_with_the_time_and_the_records_read(job: Path) -> None:
    result = detect("rules.gress", "-i", "events.jsonl", "-o", "alerts.jsonl")
    first = result.stderr.splitlines()[0]
    assert re.fullmatch(r"done in \d+\.\d\ds: 8 records read \([\d,]+/s\)", first), first


def test_the_summary_has_the_documented_columns(job: Path) -> None:
    result = detect("rules.gress", "-i", "events.jsonl", "-o", "alerts.jsonl")
    [row] = rows(result.stderr).values()
    assert list(row) == [
        "records in",
        "processed",
        "matches",
        "timeouts",
        "late",
        "dead-letter",
        "filtered",
    ]
    assert (row["records in"], row["processed"], row["matches"]) == (8, 5, 1)
    assert (row["late"], row["dead-letter"], row["filtered"]) == (1, 2, 0)


def test_the_timeouts_column_counts_the_timeouts_written(job: Path) -> None:
    result = detect(
        "rules.gress", "-i", "events.jsonl", "-o", "alerts.jsonl", "--timeouts", "t.jsonl"
    )
    written = (job / "t.jsonl").read_text().splitlines()
    assert len(written) == 2  # c2's two partial matches, from its first and its second probe
    assert rows(result.stderr)["probe_then_big"]["timeouts"] == len(written)


def test_late_records_that_are_not_written_are_reported_with_a_hint(job: Path) -> None:
    result = detect("rules.gress", "-i", "events.jsonl", "-o", "alerts.jsonl")
    assert (
        "warning: 1 late records were counted but not written: add --late FILE to keep them"
        in result.stderr
    )


def test_written_late_records_get_no_hint(job: Path) -> None:
    result = detect("rules.gress", "-i", "events.jsonl", "-o", "a.jsonl", "--late", "late.jsonl")
    assert "late records were counted but not written" not in result.stderr
    assert len((job / "late.jsonl").read_text().splitlines()) == 1


def test_unwritten_dead_letters_are_shown_with_their_origin_and_reason(job: Path) -> None:
    result = detect("rules.gress", "-i", "events.jsonl", "-o", "alerts.jsonl")
    samples = [line.strip() for line in result.stderr.splitlines() if "dead letter from" in line]
    assert samples == [
        "dead letter from events.jsonl:7: not valid JSON "
        "(unexpected character, expected a string key at column 2)",
        "dead letter from events.jsonl:8: a JSON string, not an object",
    ]


def test_only_the_first_few_dead_letters_are_shown(job: Path) -> None:
    (job / "events.jsonl").write_text("{bad\n" * 20)
    result = detect("rules.gress", "-i", "events.jsonl", "-o", "alerts.jsonl")
    assert "20 dead letters were counted but not written" in result.stderr
    shown = [line for line in result.stderr.splitlines() if "dead letter from" in line]
    assert 0 < len(shown) < 20


def test_the_checkpoints_line_counts_the_checkpoints(job: Path) -> None:
    result = detect("rules.gress", "-i", "events.jsonl", "-o", "alerts.jsonl")
    assert re.search(r"^checkpoints: 1 \(p50 [\d.]+ ms, max [\d.]+ ms\)$", result.stderr, re.M)


def test_without_checkpoints_there_is_no_checkpoints_line(job: Path) -> None:
    result = detect(
        "rules.gress", "-i", "events.jsonl", "-o", "alerts.jsonl", "--checkpoint-interval", "off"
    )
    assert "checkpoints:" not in result.stderr


@pytest.fixture(scope="module")
def fraud_run(tmp_path_factory: pytest.TempPathFactory) -> Result:
    """The fraud example: views that filter, and a model that scores."""
    out = tmp_path_factory.mktemp("fraud") / "alerts.jsonl"
    return detect(
        str(FRAUD / "fraud.gress"),
        "-i", f"payments={FRAUD / 'payments.jsonl'}",
        "-i", f"logins={FRAUD / 'logins.jsonl'}",
        "-o", str(out), "--checkpoint-interval", "off",
    )  # fmt: skip


def test_records_dropped_by_a_views_where_are_filtered_and_the_row_adds_up(
    fraud_run: Result,
) -> None:
    payments = len((FRAUD / "payments.jsonl").read_text().splitlines())
    online = sum(
        json.loads(line)["channel"] == "online"
        for line in (FRAUD / "payments.jsonl").read_text().splitlines()
    )
    row = rows(fraud_run.stderr)["card_testing"]
    assert row["records in"] == payments
    assert row["filtered"] == payments - online  # `where channel == "online"`
    accounted = row["processed"] + row["late"] + row["dead-letter"] + row["filtered"]
    assert row["records in"] == accounted


def test_a_job_that_scores_adds_a_row_per_model_file(fraud_run: Result) -> None:
    lines = fraud_run.stderr.splitlines()
    header = next(line for line in lines if line.startswith("model "))
    columns = [c.strip() for c in header.split("┃")]
    assert columns == ["model", "file", "role", "rows", "batches", "failed", "p50 ms", "p99 ms"]
    [row] = [line for line in lines if line.startswith("fraud ")]
    cells = [c.strip() for c in row.split("│")]
    assert cells[1] == "models/fraud.onnx"
    online_scored = rows(fraud_run.stderr)["card_testing"]["processed"]
    assert int(cells[3].replace(",", "")) == online_scored  # every online payment is scored
    assert int(cells[4]) >= 1 and int(cells[5]) == 0
    assert float(cells[6]) <= float(cells[7])
