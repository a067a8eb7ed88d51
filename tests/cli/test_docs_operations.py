"""docs/operations.md for file jobs: how often checkpoints are taken and how many are kept, stdin
without checkpoints, the keyed state cache, a state directory in use, damaged savepoints, and
exactly-once output to CSV and Avro files across kills."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
from pathlib import Path

import fastavro
import pytest

from gress_cep.state.rocksdb import RocksDbBackend

RULES = """stream events
    key key
    time ts

pattern first
    from events
    match a -> b
    where a: kind == "A"
          b: kind == "B"
    within 5s
    emit key, b.i as first_at

pattern second
    from events
    match c -> d
    where c: kind == "C"
          d: kind == "D"
    within 5s
    emit key, d.i as second_at
"""
BATCH = 8192  # lines a file source returns per round


@pytest.fixture
def job(tmp_path: Path) -> Path:
    """Three rounds of events over 300 keys; `second` matches only from the second round on
    (its field `second_at` first appears in an output there)."""
    (tmp_path / "rules.gress").write_text(RULES)
    rng = random.Random(1)
    with open(tmp_path / "events.jsonl", "w") as fh:
        for i in range(3 * BATCH):
            kind = rng.choice("AB" if i < BATCH else "ABCD")
            fh.write(json.dumps({"key": f"k{rng.randrange(300)}", "ts": i, "kind": kind, "i": i}))
            fh.write("\n")
    return tmp_path


def gress(
    job: Path, *args: str, stdin: str | None = None, fault: str | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, **({"GRESS_FAULT": fault} if fault else {})}
    return subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", *args],
        capture_output=True, text=True, cwd=job, env=env, input=stdin, timeout=120,
    )  # fmt: skip


def detect(
    job: Path, out: str, *extra: str, fault: str | None = None
) -> subprocess.CompletedProcess:
    return gress(job, "detect", "rules.gress", "-i", "events.jsonl", "-o", out, *extra, fault=fault)


def checkpoint_ids(job: Path, state: str) -> list[int]:
    listed = gress(job, "checkpoints", state, "--json")
    assert listed.returncode == 0, listed.stderr
    return [entry["id"] for entry in json.loads(listed.stdout)]


def checkpoints_taken(stderr: str) -> int:
    found = re.search(r"^checkpoints: (\d+) ", stderr, re.M)
    assert found, stderr
    return int(found.group(1))


def test_the_checkpoint_interval_sets_how_often_checkpoints_are_taken(job: Path) -> None:
    rarely = detect(job, "a.jsonl", "--state-dir", "a", "--checkpoint-interval", "1h")
    often = detect(job, "b.jsonl", "--state-dir", "b", "--checkpoint-interval", "0s")
    assert rarely.returncode == often.returncode == 0
    assert checkpoints_taken(rarely.stderr) == 1  # only the one taken when the job finishes
    assert checkpoints_taken(often.stderr) >= 3  # one per round of the three, and the last


def test_only_the_two_newest_checkpoints_are_kept(job: Path) -> None:
    done = detect(job, "out.jsonl", "--state-dir", "state", "--checkpoint-interval", "0s")
    assert done.returncode == 0, done.stderr
    taken = checkpoints_taken(done.stderr)
    assert taken >= 3
    assert checkpoint_ids(job, "state") == [taken - 1, taken]


def test_reading_stdin_takes_no_checkpoints(job: Path) -> None:
    events = (job / "events.jsonl").read_text()
    piped = gress(job, "detect", "rules.gress", "-i", "-", "-o", "out.jsonl",
                  "--state-dir", "state", "--checkpoint-interval", "0s", stdin=events)  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert "checkpoints:" not in piped.stderr
    assert not (job / "state").exists()
    reference = detect(job, "ref.jsonl", "--checkpoint-interval", "off")
    assert reference.returncode == 0
    assert (job / "out.jsonl").read_text() == (job / "ref.jsonl").read_text()


def test_a_resumed_run_with_a_small_state_cache_gives_the_uninterrupted_output(job: Path) -> None:
    """--state-cache-keys: the keys beyond it wait on disk and come back when their key does,
    across a kill and a restore too."""
    reference = detect(job, "ref.jsonl", "--checkpoint-interval", "off")
    assert reference.returncode == 0
    small = ("--state-dir", "state", "--checkpoint-interval", "0s", "--state-cache-keys", "5")
    killed = detect(job, "out.jsonl", *small, fault="checkpoint-4@2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = detect(job, "out.jsonl", *small)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from checkpoint 2" in resumed.stderr
    assert (job / "out.jsonl").read_text() == (job / "ref.jsonl").read_text()


def test_a_job_on_a_state_directory_in_use_stops_with_one_line(job: Path) -> None:
    holder = RocksDbBackend(job / "state")  # this process holds the directory's lock
    try:
        refused = detect(job, "out.jsonl", "--state-dir", "state")
    finally:
        holder.close()
    assert refused.returncode == 1
    assert f"state directory state is in use by another gress job (pid {os.getpid()})" in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("manifest", "is not a savepoint (it has no manifest.json)"),
        ("data", "is corrupt: table-0000.records"),
    ],
)
def test_a_damaged_savepoint_stops_the_job_with_one_line(
    job: Path, damage: str, message: str
) -> None:
    killed = detect(job, "out.jsonl", "--state-dir", "state", "--checkpoint-interval", "0s",
                    fault="checkpoint-4@2")  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    assert gress(job, "savepoint", "state", "--to", "sp").returncode == 0
    if damage == "manifest":
        (job / "sp" / "manifest.json").unlink()
    else:
        with open(job / "sp" / "table-0000.records", "r+b") as fh:
            fh.write(b"\xff")
    started = detect(job, "new.jsonl", "--state-dir", "new-state", "--from-savepoint", "sp")
    assert started.returncode == 1
    assert message in started.stderr
    assert "Traceback" not in started.stderr


def kill_then_finish(job: Path, out: str) -> None:
    """Kills before the second checkpoint is durable (its outputs already written: they must
    be cut back), then after a commit, then the run that finishes."""
    args = ("--state-dir", "state", "--checkpoint-interval", "0s")
    for fault in ("checkpoint-2@2", "checkpoint-4@1"):
        killed = detect(job, out, *args, fault=fault)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
    finished = detect(job, out, *args)
    assert finished.returncode == 0, finished.stderr
    assert "resumed from checkpoint" in finished.stderr


def test_csv_output_after_kills_is_the_uninterrupted_output(job: Path) -> None:
    """The first kill lands after the CSV header was widened for `second_at` and before the
    checkpoint that covers it: the resumed file must not keep the wider rows."""
    assert detect(job, "ref.csv", "--checkpoint-interval", "off").returncode == 0
    kill_then_finish(job, "out.csv")
    assert (job / "ref.csv").read_text().startswith("pattern,key,start,end,first_at,second_at\n")
    assert (job / "out.csv").read_text() == (job / "ref.csv").read_text()


def avro_records(path: Path) -> list[dict]:
    with open(path, "rb") as fh:
        return list(fastavro.reader(fh))


def test_avro_output_after_kills_is_the_uninterrupted_output(job: Path) -> None:
    assert detect(job, "ref.avro", "--checkpoint-interval", "off").returncode == 0
    kill_then_finish(job, "out.avro")
    reference = avro_records(job / "ref.avro")
    assert any(r["second_at"] is not None for r in reference)
    assert avro_records(job / "out.avro") == reference
