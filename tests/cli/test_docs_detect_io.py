"""`gress detect` inputs and outputs as docs/cli.md lists them: CSV and Avro files, `--format`,
naming the stream, repeatable `--pattern`, devices as outputs and the live table on a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gress_cep.cli.main import cli

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
    emit card, count(small) as probes, big.amount as amount
    on timeout emit card, count(small) as probes

pattern big_spender
    from events
    match big
    where big: amount > 1000

pattern tiny
    from events
    match t
    where t: amount < 0.1
"""

CSV = """card,ts,amount
c1,1000,1.0
c1,2000,1.5
c1,3000,500
c2,4000,1
c2,5000,1
c3,6000,5000
c1,500,1
"""
MATCH = {
    "pattern": "probe_then_big",
    "key": "c1",
    "start": 1000,
    "end": 3000,
    "card": "c1",
    "probes": 2,
    "amount": 500,
}


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "rules.gress").write_text(RULES)
    (tmp_path / "events.csv").write_text(CSV)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def detect(*args: str) -> Result:
    return CliRunner().invoke(cli, ["detect", "rules.gress", *args])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_csv_example_writes_matches_late_records_and_timeouts(job: Path) -> None:
    # gress detect rules.gress -i events.csv -o alerts.jsonl --late late.jsonl --timeouts ...
    result = detect(
        "-i", "events.csv", "-o", "alerts.jsonl",
        "--late", "late.jsonl", "--timeouts", "expired.jsonl",
        "--pattern", "probe_then_big",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read_jsonl(job / "alerts.jsonl") == [MATCH]
    assert read_jsonl(job / "late.jsonl") == [
        {
            "stream": "events",
            "origin": "events.csv:8",  # the header is line 1
            "late_by_ms": 4_500,
            "record": {"card": "c1", "ts": 500, "amount": 1},
        }
    ]
    expired = read_jsonl(job / "expired.jsonl")
    assert [(t["key"], t["probes"]) for t in expired] == [("c2", 2), ("c2", 1)]


def test_matches_can_be_written_as_csv(job: Path) -> None:
    result = detect("-i", "events.csv", "-o", "alerts.csv", "--pattern", "probe_then_big")
    assert result.exit_code == 0, result.output
    assert (job / "alerts.csv").read_text().splitlines() == [
        "pattern,key,start,end,card,probes,amount",
        "probe_then_big,c1,1000,3000,c1,2,500",
    ]


def test_matches_can_be_written_as_avro(job: Path) -> None:
    from fastavro import reader

    result = detect("-i", "events.csv", "-o", "alerts.avro", "--pattern", "probe_then_big")
    assert result.exit_code == 0, result.output
    with open(job / "alerts.avro", "rb") as fh:
        assert list(reader(fh)) == [MATCH]


def test_an_avro_file_is_an_input(job: Path) -> None:
    from fastavro import writer

    schema = {
        "type": "record",
        "name": "event",
        "fields": [
            {"name": "card", "type": "string"},
            {"name": "ts", "type": "long"},
            {"name": "amount", "type": "double"},
        ],
    }
    rows = [line.split(",") for line in CSV.splitlines()[1:]]
    with open(job / "events.avro", "wb") as fh:
        writer(fh, schema, [{"card": c, "ts": int(t), "amount": float(a)} for c, t, a in rows])
    result = detect("-i", "events.avro", "-o", "alerts.jsonl", "--pattern", "probe_then_big")
    assert result.exit_code == 0, result.output
    assert read_jsonl(job / "alerts.jsonl") == [dict(MATCH, amount=500.0)]


def test_format_names_the_format_of_a_file_without_a_known_extension(job: Path) -> None:
    (job / "events.txt").write_text(CSV)
    result = detect(
        "-i", "events.txt", "-o", "alerts.out", "--format", "csv", "--pattern", "probe_then_big"
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (job / "alerts.out").read_text().splitlines()[0] == (
        "pattern,key,start,end,card,probes,amount"
    )


def test_format_overrides_the_extension_of_inputs_only(job: Path) -> None:
    (job / "events.data.jsonl").write_text(CSV)  # CSV in a file named as JSON Lines
    result = detect(
        "-i", "events.data.jsonl", "-o", "alerts.jsonl", "--format", "csv",
        "--pattern", "probe_then_big",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read_jsonl(job / "alerts.jsonl") == [MATCH]  # the output follows its own extension


def test_output_format_overrides_the_extension_of_outputs(job: Path) -> None:
    result = detect(
        "-i", "events.csv", "-o", "alerts.jsonl", "--output-format", "csv",
        "--pattern", "probe_then_big",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (job / "alerts.jsonl").read_text().startswith("pattern,key,start,end,")


def test_without_format_an_unknown_extension_is_one_clear_error(job: Path) -> None:
    result = detect("-i", "events.csv", "-o", "alerts.out")
    assert result.exit_code == 1
    assert "cannot tell the format of alerts.out from its extension" in result.stderr
    assert "--output-format" in result.stderr


def test_with_several_streams_an_input_must_name_its_stream(job: Path) -> None:
    (job / "rules.gress").write_text(RULES.replace("pattern", "stream other\n\npattern", 1))
    result = detect("-i", "events.csv")
    assert result.exit_code == 1
    assert "-i events.csv: say which stream it feeds" in result.stderr
    assert "write -i STREAM=events.csv (streams: events, other)" in result.stderr


def test_pattern_is_repeatable(job: Path) -> None:
    result = detect(
        "-i", "events.csv", "-o", "alerts.jsonl",
        "--pattern", "probe_then_big", "--pattern", "big_spender",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(a["pattern"] for a in read_jsonl(job / "alerts.jsonl")) == [
        "big_spender",
        "probe_then_big",
    ]
    assert "tiny" not in result.stderr  # the summary has a row per pattern that ran


@pytest.mark.skipif(not os.path.exists(os.devnull), reason="needs a null device")
def test_the_null_device_is_an_output(job: Path) -> None:
    # a checkpointed job syncs its outputs; a device cannot be fsync-ed and must not fail
    result = detect("-i", "events.csv", "-o", os.devnull, "--timeouts", os.devnull)
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    assert "checkpoints: 1 " in result.stderr


@pytest.mark.skipif(not os.path.exists(os.devnull), reason="needs a null device")
def test_a_job_writing_to_the_null_device_resumes(job: Path) -> None:
    with open(job / "many.jsonl", "w") as fh:
        for i in range(5_000):
            fh.write(json.dumps({"card": f"c{i % 50}", "ts": 10 * i, "amount": 1 + i % 3}) + "\n")
    args = [
        sys.executable, "-m", "gress_cep.cli.main", "detect", "rules.gress", "-i", "many.jsonl",
        "-o", os.devnull, "--state-dir", "state",  # not -q: it keeps the notes off
    ]  # fmt: skip
    killed = subprocess.run(
        [*args, "--checkpoint-interval", "1ms"],  # the interval is not part of the job
        cwd=job, capture_output=True, env={**os.environ, "GRESS_FAULT": "checkpoint-4@2"},
    )  # fmt: skip
    assert killed.returncode < 0, killed.stderr  # killed after its 2nd checkpoint
    resumed = subprocess.run(args, cwd=job, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from checkpoint 2 of an unfinished run" in resumed.stderr


@pytest.mark.skipif(os.name != "posix", reason="a pseudo-terminal is POSIX")
def test_on_a_terminal_the_matches_are_a_live_table(job: Path) -> None:
    import pty

    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gress_cep.cli.main", "detect", "rules.gress", "-i", "events.csv"],
        cwd=job, stdout=terminal, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "160"},
    )  # fmt: skip
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal's other side closed: the process is done
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    text = shown.decode()
    assert "matches (2)" in text  # probe_then_big for c1, big_spender for c3
    # the `from` column names the pattern (or `view NAME` for records of --view)
    header = next(line for line in text.splitlines() if "from" in line and "details" in line)
    assert all(column in header for column in ("end", "from", "key", "details"))
    assert "probe_then_big" in text
    assert "card=c1, probes=2, amount=500" in text
    assert '{"pattern"' not in text  # a table, not JSON Lines
