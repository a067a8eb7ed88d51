"""Issue 11 E.33 end to end: a pattern holding far more events than --buffer-cache-events (a
long lateness) gives the output of a run without a bound, also when it is killed in the middle
and resumed; the events it holds wait on disk, not in memory."""

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
    lateness 1000d

pattern chain
    from events
    match a -> b+ -> c
    where a: kind == "A"
          b: kind == "B"
          c: kind == "C"
    within 2s
    on timeout emit count(b) as bs
"""


@pytest.fixture
def job(tmp_path: Path) -> Path:
    (tmp_path / "rules.gress").write_text(RULES)
    rng = random.Random(11)
    with open(tmp_path / "events.jsonl", "w") as fh:
        for i in range(40_000):
            ts = 10 * i + rng.randrange(-5_000, 5_000)  # out of order by up to 10 s
            fh.write(json.dumps({"key": f"k{i % 13}", "ts": ts, "kind": rng.choice("ABC")}) + "\n")
    return tmp_path


def detect(
    job: Path, out: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", "detect", "rules.gress", "-i", "events.jsonl",
         "-o", out, "--timeouts", f"timeouts-{out}", *extra],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=job,
    )  # fmt: skip


def outputs(job: Path, out: str) -> tuple[list[str], list[str]]:
    return (
        (job / out).read_text().splitlines(),
        (job / f"timeouts-{out}").read_text().splitlines(),
    )


def test_a_bounded_buffer_gives_the_unbounded_output_also_across_kills(job: Path) -> None:
    reference = detect(job, "ref.jsonl", "--checkpoint-interval", "off")
    assert reference.returncode == 0, reference.stderr
    expected = outputs(job, "ref.jsonl")
    assert expected[0] and expected[1]
    bounded = ["--buffer-cache-events", "500", "--checkpoint-interval", "10ms", "--state-dir", "st"]
    for kill in ("checkpoint-4@3", "checkpoint-2@2", "checkpoint-1@2"):
        killed = detect(job, "out.jsonl", *bounded, env={"GRESS_FAULT": kill})
        assert killed.returncode == -signal.SIGKILL, (kill, killed.stderr)
    resumed = detect(job, "out.jsonl", *bounded)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from checkpoint" in resumed.stderr
    assert outputs(job, "out.jsonl") == expected
    plain = detect(job, "plain.jsonl", "--buffer-cache-events", "500", "--state-dir", "st2")
    assert plain.returncode == 0, plain.stderr
    assert outputs(job, "plain.jsonl") == expected
