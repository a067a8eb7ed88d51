"""Checkpointed runs from the command line: resume, start afresh, savepoints (issue 6)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

RULES = """stream events
    key key
    time ts

pattern chain
    from events
    match a -> b -> c
    where a: kind == "A"
          b: kind == "B"
          c: kind == "C"
    within 5s
"""


@pytest.fixture
def job(tmp_path: Path) -> Path:
    (tmp_path / "rules.gress").write_text(RULES)
    rng = random.Random(3)
    with open(tmp_path / "events.jsonl", "w") as fh:
        for i in range(60_000):
            event = {"key": f"k{i % 97}", "ts": 10 * i, "kind": rng.choice("ABCD")}
            fh.write(json.dumps(event) + "\n")
    return tmp_path


def gress(job: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=job,
    )  # fmt: skip


def detect(
    job: Path, out: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    # a short interval: the kills below need a few checkpoints before the input ends
    return gress(
        job, "detect", "rules.gress", "-i", "events.jsonl", "-o", out,
        "--checkpoint-interval", "10ms", *extra, env=env,
    )  # fmt: skip


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_an_interrupted_run_resumes_where_its_last_checkpoint_was(job: Path) -> None:
    reference = detect(job, "reference.jsonl", "--state-dir", "ref-state")
    assert reference.returncode == 0
    killed = detect(job, "out.jsonl", "--state-dir", "state", env={"GRESS_FAULT": "checkpoint-4@3"})
    assert killed.returncode == -signal.SIGKILL
    resumed = detect(job, "out.jsonl", "--state-dir", "state")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from checkpoint 3 of an unfinished run" in resumed.stderr
    assert lines(job / "out.jsonl") == lines(job / "reference.jsonl")


def test_a_finished_run_is_not_resumed_the_next_run_starts_afresh(job: Path) -> None:
    first = detect(job, "out.jsonl")
    first_output = lines(job / "out.jsonl")
    second = detect(job, "out.jsonl")
    assert first.returncode == second.returncode == 0
    assert "resumed" not in second.stderr
    assert first_output  # the run found matches, and the next run finds them all again
    assert lines(job / "out.jsonl") == first_output


def test_fresh_discards_the_state_of_an_unfinished_run(job: Path) -> None:
    detect(job, "reference.jsonl")
    detect(job, "out.jsonl", "--state-dir", "state", env={"GRESS_FAULT": "checkpoint-4@2"})
    fresh = detect(job, "out.jsonl", "--state-dir", "state", "--fresh")
    assert fresh.returncode == 0
    assert "resumed" not in fresh.stderr
    assert lines(job / "out.jsonl") == lines(job / "reference.jsonl")


def test_a_state_directory_of_another_job_is_refused(job: Path) -> None:
    detect(job, "out.jsonl", "--state-dir", "state", env={"GRESS_FAULT": "checkpoint-4@2"})
    other = detect(job, "other.jsonl", "--state-dir", "state")
    assert other.returncode == 1
    assert "holds an unfinished run of another job" in other.stderr
    assert "Traceback" not in other.stderr


def test_checkpoints_lists_the_positions_of_an_unfinished_run(job: Path) -> None:
    detect(job, "out.jsonl", "--state-dir", "state", env={"GRESS_FAULT": "checkpoint-4@3"})
    listed = gress(job, "checkpoints", "state", "--json")
    assert listed.returncode == 0, listed.stderr
    entries = json.loads(listed.stdout)
    assert [e["id"] for e in entries][-1] == 3
    assert "events=events.jsonl" in entries[-1]["positions"]


def test_a_savepoint_moves_the_job_state_to_a_new_run(job: Path) -> None:
    detect(job, "reference.jsonl", "--state-dir", "ref-state")
    detect(job, "before.jsonl", "--state-dir", "state", env={"GRESS_FAULT": "checkpoint-4@3"})
    saved = gress(job, "savepoint", "state", "--to", "sp1")
    assert saved.returncode == 0, saved.stderr
    moved = detect(job, "after.jsonl", "--state-dir", "new-state", "--from-savepoint", "sp1")
    assert moved.returncode == 0, moved.stderr
    assert "started from the savepoint sp1" in moved.stderr
    # what the first run emitted up to the savepoint, then what the moved job emitted after it
    assert lines(job / "before.jsonl") + lines(job / "after.jsonl") == lines(
        job / "reference.jsonl"
    )


def summary_row(stderr: str) -> list[int]:
    """records in, processed, matches, timeouts, late, dead-letter, filtered of `chain`."""
    row = next(line for line in stderr.splitlines() if line.startswith("chain"))
    return [int(cell.strip().replace(",", "")) for cell in row.split("│")[1:]]


def test_a_changed_view_starts_afresh_and_the_summary_still_adds_up(job: Path) -> None:
    rules = job / "rules.gress"
    rules.write_text(
        RULES.replace("from events", "from active") + '\nview active = events | where kind != "D"\n'
    )
    killed = detect(job, "out.jsonl", "--state-dir", "state", env={"GRESS_FAULT": "checkpoint-4@2"})
    assert killed.returncode == -signal.SIGKILL
    rules.write_text(
        rules.read_text().replace('where kind != "D"', 'where kind != "D" | select key, ts, kind')
    )
    resumed = detect(job, "out.jsonl", "--state-dir", "state")
    assert resumed.returncode == 0, resumed.stderr
    assert "view active changed since that checkpoint: it starts afresh" in resumed.stderr
    assert "pattern chain changed since that checkpoint: it starts afresh" in resumed.stderr
    records_in, processed, _, _, late, dead, filtered = summary_row(resumed.stderr)
    assert records_in == 60_000
    assert records_in == processed + late + dead + filtered  # the old view's count carried over
    assert "still in flight" not in resumed.stderr


def test_when_only_the_pattern_changed_the_events_waiting_for_the_watermark_are_kept(
    job: Path,
) -> None:
    """Events read but still waiting for the watermark at the checkpoint were never matched:
    the changed pattern matches them (its input is the same)."""
    rules = job / "rules.gress"
    rules.write_text(RULES.replace("    time ts\n", "    time ts\n    lateness 2s\n"))
    killed = detect(job, "out.jsonl", "--state-dir", "state", env={"GRESS_FAULT": "checkpoint-4@2"})
    assert killed.returncode == -signal.SIGKILL
    rules.write_text(rules.read_text().replace("within 5s", "within 6s"))
    resumed = detect(job, "out.jsonl", "--state-dir", "state")
    assert resumed.returncode == 0, resumed.stderr
    assert "pattern chain changed since that checkpoint: it starts afresh\n" in resumed.stderr
    assert "dropped" not in resumed.stderr
    records_in, processed, *_ = summary_row(resumed.stderr)
    assert records_in == processed == 60_000


WINDOW_VIEWS = """
view per_second = events | window tumbling 1s | aggregate count() as n, last(kind) as closing
view visits = events | window session gap 25ms by kind | aggregate count() as n
"""


def test_a_savepoint_carries_window_state_to_a_new_run(job: Path) -> None:
    (job / "rules.gress").write_text(RULES + WINDOW_VIEWS)
    views = ["--view", "per_second", "--view", "visits"]
    detect(job, "reference.jsonl", "--state-dir", "ref-state", *views)
    before = detect(job, "before.jsonl", "--state-dir", "state", *views,
                    env={"GRESS_FAULT": "checkpoint-4@3"})  # fmt: skip
    assert before.returncode == -signal.SIGKILL, before.stderr
    assert gress(job, "savepoint", "state", "--to", "sp1").returncode == 0
    moved = detect(job, "after.jsonl", "--state-dir", "new-state", *views,
                   "--from-savepoint", "sp1")  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    reference = lines(job / "reference.jsonl")
    assert len(reference) > 100
    assert lines(job / "before.jsonl") + lines(job / "after.jsonl") == reference
