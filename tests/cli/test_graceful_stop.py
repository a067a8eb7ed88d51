"""Ctrl-C and SIGTERM stop a job gracefully (issue 4, issue 6): the round in progress finishes,
outputs are flushed, a final checkpoint is taken and the summary printed, exit status 0; the
next run continues from that checkpoint as if nothing had happened."""

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
EVENTS = 300_000  # about a second of work: time to stop it half way


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("graceful")
    (path / "rules.gress").write_text(RULES)
    rng = random.Random(4)
    with open(path / "events.jsonl", "w") as fh:
        for i in range(EVENTS):
            kind = rng.choice("ABCD")
            fh.write(f'{{"key": "k{i % 97}", "ts": {10 * i}, "kind": "{kind}"}}\n')
    reference = subprocess.run(detect_args("reference", "ref-state"), cwd=path, capture_output=True)
    assert reference.returncode == 0, reference.stderr
    return path


def detect_args(name: str, state: str) -> list[str]:
    # no periodic checkpoint: the only one a stopped run takes is the one the stop takes
    return [
        sys.executable, "-m", "gress_cep.cli.main", "detect", "rules.gress",
        "-i", "events.jsonl", "-o", f"{name}.jsonl", "--state-dir", state,
        "--checkpoint-interval", "1h",
    ]  # fmt: skip


def stop_half_way(job: Path, name: str, signum: int) -> subprocess.CompletedProcess:
    args = detect_args(name, f"{name}-state")
    process = subprocess.Popen(args, cwd=job, stderr=subprocess.PIPE, text=True)
    output = job / f"{name}.jsonl"
    deadline = time.monotonic() + 30
    while not (output.exists() and output.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.005)  # the first matches are out: the job is running
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(args, process.returncode, "", stderr)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_job_checkpoints_and_its_restart_finishes_the_work(
    job: Path, signum: int
) -> None:
    name = signal.Signals(signum).name
    stopped = stop_half_way(job, name, signum)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stderr.startswith("stopped in"), "the job finished before the signal"
    assert "checkpoints: 1 " in stopped.stderr  # the stop's own
    processed = int(stopped.stderr.split(" records read")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert 0 < processed < EVENTS

    resumed = subprocess.run(
        detect_args(name, f"{name}-state"), cwd=job, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from checkpoint 1 of an unfinished run" in resumed.stderr
    assert (job / f"{name}.jsonl").read_text() == (job / "reference.jsonl").read_text()


def test_the_summary_of_a_stopped_job_adds_up(job: Path) -> None:
    """in = processed + late + dead-letter + filtered + what waits for the watermark (kept in
    the final checkpoint); every match counted is in the output."""
    stopped = stop_half_way(job, "summary", signal.SIGTERM)
    assert stopped.returncode == 0, stopped.stderr
    lines = stopped.stderr.splitlines()
    row = next(line for line in lines if line.startswith("chain"))
    records_in, processed, matches, _timeouts, late, dead, filtered = (
        int(cell.strip().replace(",", "")) for cell in row.split("│")[1:]
    )
    waiting = next(
        (line for line in lines if "were waiting for the watermark" in line), "note: 0 records"
    )
    held = int(waiting.split(": ")[-1].split(" records")[0].replace(",", ""))
    assert "still in flight" not in stopped.stderr
    assert 0 < records_in < EVENTS  # stopped half way
    assert records_in == processed + late + dead + filtered + held
    written = (job / "summary.jsonl").read_text().splitlines()
    assert len(written) == matches
    assert all(json.loads(line)["pattern"] == "chain" for line in written)


if os.name != "posix":  # pragma: no cover
    pytestmark = pytest.mark.skip("signals are POSIX")
