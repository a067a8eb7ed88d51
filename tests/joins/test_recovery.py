"""Joins, lookups and unions keep their state across a crash and through a savepoint: a real
`gress detect` killed with SIGKILL (at random moments, seeds printed, and inside checkpoints by
fault injection) and started again until it finishes writes what an uninterrupted run writes,
record for record; a job moved with a savepoint goes on where the old one stopped."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

RULES = """stream payments
    key card
    time ts
    lateness 100ms

stream logins
    key card
    time ts
    lateness 100ms

stream merchants
    key merchant
    time ts
    lateness 50ms

view joined = join payments as p, logins as l on p.card == l.card and p.amount > l.risk within 50ms
              | select p.card, p.ts, p.amount, l.ip
view maybe = left join payments as p, logins as l on p.card == l.card within 20ms
             | select p.card, p.ts as ts, l.ts as login_ts
view enriched = payments | lookup merchants on merchant | select card, ts, merchant, category
view both = union payments, logins | window tumbling 1s by card | aggregate count() as n

pattern after_login
    from joined
    partition by p_card
    match a -> b
    where a: p_amount > 500
          b: p_amount > a.p_amount
    within 2s
"""
VIEWS = ("joined", "maybe", "enriched", "both")
START = 1_700_000_000_000


def write_inputs(path: Path, seed: int = 5) -> None:
    rng = random.Random(seed)

    def times(n: int, step: int) -> list[int]:
        ts, out = START, []
        for _ in range(n):
            ts += rng.randint(0, step)
            jitter = -rng.randint(0, 90) if rng.random() < 0.2 else 0
            if rng.random() < 0.001:
                jitter = -2_000  # late
            out.append(ts + jitter)
        return out

    with open(path / "payments.jsonl", "w") as fh:
        for i, ts in enumerate(times(25_000, 4)):
            card, merchant = f"c{rng.randrange(300)}", f"m{rng.randrange(50)}"
            fh.write(
                json.dumps(
                    {
                        "card": card,
                        "ts": ts,
                        "amount": rng.randrange(1000),
                        "merchant": merchant,
                        "i": i,
                    }
                )
                + "\n"
            )
    with open(path / "logins.jsonl", "w") as fh:
        for ts in times(12_000, 8):
            fh.write(
                json.dumps(
                    {
                        "card": f"c{rng.randrange(300)}",
                        "ts": ts,
                        "ip": f"10.0.0.{rng.randrange(9)}",
                        "risk": rng.randrange(1000),
                    }
                )
                + "\n"
            )
        fh.write("{broken\n")
    with open(path / "merchants.jsonl", "w") as fh:
        for ts in times(2_000, 80):
            fh.write(
                json.dumps(
                    {"merchant": f"m{rng.randrange(50)}", "ts": ts, "category": rng.choice("abcd")}
                )
                + "\n"
            )


def detect(workdir: Path, state: str, out: str, *extra: str, env: dict | None = None) -> list[str]:
    return [
        sys.executable, "-m", "gress_cep.cli.main", "detect", str(workdir / "rules.gress"),
        *(f"-i{s}={workdir / s}.jsonl" for s in ("payments", "logins", "merchants")),
        "-o", str(workdir / f"{out}.jsonl"), "--late", str(workdir / f"{out}.late.jsonl"),
        "--dead-letter", str(workdir / f"{out}.dead.jsonl"), "--state-dir", str(workdir / state),
        "--checkpoint-interval", "50ms", "-q",
        *(f"--view={v}" for v in VIEWS), "--pattern=after_login", *extra,
    ]  # fmt: skip


def outputs(workdir: Path, name: str) -> dict[str, bytes]:
    return {s: (workdir / f"{name}{s}.jsonl").read_bytes() for s in ("", ".late", ".dead")}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    path = tmp_path_factory.mktemp("joins-crash")
    (path / "rules.gress").write_text(RULES)
    write_inputs(path)
    started = time.monotonic()
    done = subprocess.run(detect(path, "ref-state", "reference"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return path, time.monotonic() - started


def run_to_completion(args: list[str], env: dict[str, str] | None = None) -> None:
    for _ in range(30):
        done = subprocess.run(args, capture_output=True, text=True, env=env)
        if done.returncode == 0:
            return
        assert done.returncode == -signal.SIGKILL, done.stderr
    raise AssertionError("the job did not finish")


def test_the_reference_run_has_every_kind_of_output(workdir: tuple[Path, float]) -> None:
    ref = outputs(workdir[0], "reference")
    for source in (*(f'"view":"{v}"' for v in VIEWS), '"pattern":"after_login"'):
        assert source.encode() in ref[""], source
    assert b'"login_ts":null' in ref[""]  # unmatched payments of the left join
    assert b'"category":null' in ref[""]  # payments before their merchant's first row
    assert ref[".late"] and ref[".dead"]


def test_random_kills_lose_nothing_and_duplicate_nothing(workdir: tuple[Path, float]) -> None:
    path, seconds = workdir
    rng = random.Random(10)
    args = detect(path, "killed-state", "killed")
    running = 0  # kills that found the job still running (the others came after its end)
    for kill in range(3):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        delay = rng.uniform(0.3, max(0.4, 0.7 * seconds))
        time.sleep(delay)
        running += proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        print(f"kill {kill + 1} after {delay:.2f}s")
    assert running
    run_to_completion(args)
    assert outputs(path, "killed") == outputs(path, "reference")


def test_a_kill_inside_a_checkpoint_loses_nothing(workdir: tuple[Path, float]) -> None:
    """Killed in the middle of writing a checkpoint, then after another one completed."""
    path, _ = workdir
    point = "checkpoint"
    args = detect(path, "state-fault", point)
    for fault in ("checkpoint-2@2", "checkpoint-4@3"):
        env = {**os.environ, "GRESS_FAULT": fault}
        done = subprocess.run(args, capture_output=True, text=True, env=env)
        assert done.returncode == -signal.SIGKILL, done.stderr
    run_to_completion(args)
    assert outputs(path, point) == outputs(path, "reference")


def test_a_savepoint_carries_join_lookup_and_union_state_to_a_new_job(
    workdir: tuple[Path, float],
) -> None:
    path, _ = workdir
    env = {**os.environ, "GRESS_FAULT": "checkpoint-4@4"}
    before = subprocess.run(
        detect(path, "sp-state", "before"), capture_output=True, text=True, env=env
    )
    assert before.returncode == -signal.SIGKILL, before.stderr
    cli = [sys.executable, "-m", "gress_cep.cli.main"]
    saved = subprocess.run(
        [*cli, "savepoint", str(path / "sp-state"), "--to", str(path / "sp")],
        capture_output=True,
        text=True,
    )
    assert saved.returncode == 0, saved.stderr
    moved = subprocess.run(
        detect(path, "moved-state", "after", "--from-savepoint", str(path / "sp")),
        capture_output=True,
        text=True,
    )
    assert moved.returncode == 0, moved.stderr
    for suffix in ("", ".late", ".dead"):
        both = (path / f"before{suffix}.jsonl").read_bytes() + (
            path / f"after{suffix}.jsonl"
        ).read_bytes()
        assert both == (path / f"reference{suffix}.jsonl").read_bytes(), suffix
