"""Crash anywhere, restart, lose nothing: file -> file (issues 6 and 10).

A real `gress detect` process is killed with SIGKILL at random moments (seeds printed) and
started again until it finishes; its output files must equal those of an uninterrupted run,
record for record. Fault injection (GRESS_FAULT) kills it inside each step of a checkpoint and
in the middle of a recovery, where a random kill would rarely land.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

RULES = """stream events
    key key
    time ts
    lateness 200ms

pattern chain
    from events
    match a -> b -> c
    where a: kind == "A"
          b: kind == "B"
          c: kind == "C"
    within 2s
    on timeout emit key, count(a) as started

pattern rising
    from events
    match a -> b+ -> c
    where a: kind == "A"
          b: kind == "B" and (count(b) == 1 or amount > prev(b).amount - 400)
          c: kind == "C"
    within 3s
    emit key, count(b) as steps, c.amount as amount

pattern quiet
    from events
    match big -> !d
    where big: kind == "A" and amount > 900
          d: kind == "D"
    within 300ms

view per_second = events | window tumbling 1s by key
                         | aggregate count() as n, sum(amount) as total, first(kind) as opening
                                     , distinct_count(kind) as kinds
view sliding = events | window sliding 2s every 500ms by key | aggregate avg(amount) as mean
view visits = events | window session gap 1s | aggregate count() as n, max(amount) as top
view tens = events | where kind == "A" | window count 10 every 5 | aggregate sum(amount) as total

pattern hot_seconds
    from per_second
    match a -> b
    where a: n >= 4
          b: n >= 4 and total > a.total
    within 3s
"""
VIEWS = ("per_second", "sliding", "visits", "tens")
PATTERNS = ("chain", "rising", "quiet", "hot_seconds")

EVENTS = 400_000
KILLS = 10


def write_events(path: Path, n: int, seed: int = 11) -> None:
    """Events with a little disorder (within the lateness) and a few late ones."""
    rng = random.Random(seed)
    ts = 1_700_000_000_000
    with open(path, "w") as fh:
        for i in range(n):
            ts += rng.randint(0, 4)
            jitter = -rng.randint(0, 150) if rng.random() < 0.2 else 0
            if rng.random() < 0.001:
                jitter = -2_000  # behind the watermark: late
            kind = rng.choices("ABCD", weights=(10, 10, 10, 70))[0]
            event = {
                "key": f"k{rng.randrange(200)}",
                "ts": ts + jitter,
                "kind": kind,
                "amount": rng.randrange(100_000) / 100,
                "i": i,
            }
            fh.write(json.dumps(event) + "\n")
        fh.write("not json\n")  # and one dead letter


def detect_args(workdir: Path, state: str, out: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gress_cep.cli.main",
        "detect",
        str(workdir / "rules.gress"),
        "-i",
        str(workdir / "events.jsonl"),
        "-o",
        str(workdir / f"{out}.jsonl"),
        "--timeouts",
        str(workdir / f"{out}.timeouts.jsonl"),
        "--late",
        str(workdir / f"{out}.late.jsonl"),
        "--dead-letter",
        str(workdir / f"{out}.dead.jsonl"),
        "--state-dir",
        str(workdir / state),
        "--checkpoint-interval",
        "100ms",
        "-q",
        *(f"--view={view}" for view in VIEWS),
        *(f"--pattern={pattern}" for pattern in PATTERNS),
    ]


@dataclass
class Workdir:
    path: Path
    startup_seconds: float  # the process starting, before it reads anything
    run_seconds: float  # an uninterrupted run, start to finish


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Workdir:
    path = tmp_path_factory.mktemp("crash")
    (path / "rules.gress").write_text(RULES)
    write_events(path / "events.jsonl", EVENTS)
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", "detect", "--help"],
        check=True,
        capture_output=True,
    )
    startup = time.monotonic() - started
    started = time.monotonic()
    done = subprocess.run(
        detect_args(path, "reference-state", "reference"), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return Workdir(path, startup, time.monotonic() - started)


def outputs(workdir: Path, name: str) -> dict[str, bytes]:
    return {
        suffix: (workdir / f"{name}{suffix}.jsonl").read_bytes()
        for suffix in ("", ".timeouts", ".late", ".dead")
    }


def run_to_completion(args: list[str], env: dict[str, str] | None = None, limit: int = 60) -> None:
    for _ in range(limit):
        done = subprocess.run(args, capture_output=True, text=True, env=env)
        if done.returncode == 0:
            return
        assert done.returncode == -signal.SIGKILL, done.stderr
    raise AssertionError("the job did not finish")


def test_the_reference_run_found_something(workdir: Workdir) -> None:
    ref = outputs(workdir.path, "reference")
    assert ref[""].count(b"\n") > 100
    for source in (*(f'"view":"{v}"' for v in VIEWS), *(f'"pattern":"{p}"' for p in PATTERNS)):
        assert source.encode() in ref[""], source
    assert ref[".timeouts"] and ref[".late"] and ref[".dead"]


@pytest.mark.parametrize("seed", [1, 2])
def test_random_kills_lose_nothing_and_duplicate_nothing(workdir: Workdir, seed: int) -> None:
    rng = random.Random(seed)
    name = f"killed{seed}"
    args = detect_args(workdir.path, f"state{seed}", name)
    # kill during start-up, recovery, processing and checkpoints alike, but early enough
    # that ten restarts do not finish the job (each resumes where its checkpoint was)
    work = workdir.run_seconds - workdir.startup_seconds
    latest = workdir.startup_seconds + 0.15 * work
    print(f"seed {seed}: kills within {latest:.2f}s of each start")
    for kill in range(1, KILLS + 1):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        delay = rng.uniform(0.05, latest)
        time.sleep(delay)
        assert proc.poll() is None, "the job finished before the kill: make the input larger"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        print(f"  kill {kill} after {delay:.2f}s")
    run_to_completion(args)
    assert outputs(workdir.path, name) == outputs(workdir.path, "reference")


@pytest.mark.parametrize("point", ["checkpoint-1", "checkpoint-2", "checkpoint-3", "checkpoint-4"])
def test_a_kill_inside_a_checkpoint_loses_nothing(workdir: Workdir, point: str) -> None:
    name = f"fault-{point}"
    args = detect_args(workdir.path, f"state-{point}", name)
    for nth in (1, 3, 6):  # the 1st, 3rd, 6th checkpoint of successive runs
        env = {**os.environ, "GRESS_FAULT": f"{point}@{nth}"}
        done = subprocess.run(args, capture_output=True, text=True, env=env)
        assert done.returncode == -signal.SIGKILL, done.stderr
    run_to_completion(args)
    assert outputs(workdir.path, name) == outputs(workdir.path, "reference")


def test_a_kill_during_recovery_loses_nothing(workdir: Workdir) -> None:
    args = detect_args(workdir.path, "state-recovery", "recovery")
    env = {**os.environ, "GRESS_FAULT": "checkpoint-4@4"}
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    assert done.returncode == -signal.SIGKILL
    for _ in range(3):  # each recovery killed after the state is restored
        env = {**os.environ, "GRESS_FAULT": "restore@1"}
        done = subprocess.run(args, capture_output=True, text=True, env=env)
        assert done.returncode == -signal.SIGKILL, done.stderr
    run_to_completion(args)
    assert outputs(workdir.path, "recovery") == outputs(workdir.path, "reference")
