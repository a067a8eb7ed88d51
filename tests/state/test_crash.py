"""SIGKILL during a checkpoint or a restore: the newest complete checkpoint stays usable.

A worker process (crash_worker.py) takes checkpoints of known states, or restores one, in a
loop; the test kills it with SIGKILL, either at a random moment (seeded: the seed is in the test
id and printed) or at the k-th file operation gress makes, then opens the state directory again
and checks that every complete checkpoint restores exactly the state it was taken of.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gress_cep.state.rocksdb import RocksDbBackend
from gress_cep.state.state_dir import METADATA, StateDir

from .crash_worker import expected_state, write_state

ROOT = Path(__file__).resolve().parents[2]


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.state.crash_worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(worker: subprocess.Popen[str], wanted: str) -> None:
    assert worker.stdout is not None
    while line := worker.stdout.readline():
        if line.strip() == wanted:
            return
    raise AssertionError(f"the worker ended before {wanted!r}:\n{worker.communicate()[1]}")


def kill(worker: subprocess.Popen[str], *, wait: float = 0.0) -> list[str]:
    """SIGKILL the worker unless it killed itself within `wait` seconds; its output lines."""
    try:
        worker.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        worker.send_signal(signal.SIGKILL)
    out, err = worker.communicate(timeout=30)
    assert worker.returncode == -signal.SIGKILL, f"the worker failed on its own:\n{err}"
    return out.splitlines()


def read_state(backend: RocksDbBackend) -> dict[str, dict[bytes, bytes]]:
    state = {name: dict(backend.table(name).items()) for name in ("values", "marker", "junk")}
    return {name: entries for name, entries in state.items() if entries}


def check_recovery(state_dir: Path, lines: list[str]) -> int:
    """Every complete checkpoint restores its state and none that returned was lost; then the
    newest is restored. Returns its id (0 when there is none)."""
    acknowledged = [int(line.split()[1]) for line in lines if line.startswith("done")]
    backend = RocksDbBackend(state_dir)
    try:
        complete = [info.checkpoint_id for info in backend.checkpoints()]
        if acknowledged:
            assert complete and complete[-1] >= acknowledged[-1], (complete, acknowledged)
        for checkpoint_id in complete:
            info = backend.restore(checkpoint_id)
            assert info is not None and info.metadata == {"n": checkpoint_id}
            assert read_state(backend) == expected_state(checkpoint_id)
        newest = backend.restore()
        newest_id = newest.checkpoint_id if newest else 0
        assert read_state(backend) == expected_state(newest_id)
        return newest_id
    finally:
        backend.close()


def two_checkpoints(state_dir: Path) -> None:
    backend = RocksDbBackend(state_dir)
    for n in (1, 2):
        write_state(backend, n)
        backend.checkpoint(n, {"n": n})
    backend.close()


@pytest.mark.parametrize("seed", [11, 23, 37, 41, 59, 61])
def test_checkpoint_killed_at_a_random_moment(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    state_dir = tmp_path / "state"
    newest = 0
    for round_number in range(2):  # the second run resumes from what the first one left
        worker = start("checkpoints", str(state_dir))
        wait_for_line(worker, f"done {newest + 1}")
        delay = rng.uniform(0.0, 0.3)
        time.sleep(delay)
        lines = kill(worker)
        print(f"seed {seed} run {round_number}: killed {delay:.3f}s after a checkpoint")
        newest = check_recovery(state_dir, [f"done {newest + 1}", *lines])


# one steady-state cycle: checkpoint 3 (fsync of each file, metadata.json written and renamed),
# then the discard of checkpoint 1 (metadata removed, folder deleted file by file)
@pytest.mark.parametrize("operation", range(1, 31, 2))
def test_checkpoint_killed_at_each_file_operation(tmp_path: Path, operation: int) -> None:
    state_dir = tmp_path / "state"
    lines = kill(start("checkpoints", str(state_dir), str(operation)), wait=20)
    print(f"killed at file operation {operation} after checkpoint 2: {lines[-1]}")
    assert check_recovery(state_dir, lines) >= 2


def test_a_checkpoint_without_metadata_is_ignored(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    two_checkpoints(state_dir)
    folder = StateDir(state_dir)
    (folder.checkpoint_path(2) / METADATA).unlink()  # as if killed right before writing it
    assert check_recovery(state_dir, []) == 1
    assert not folder.checkpoint_path(2).exists()  # removed when the folder was opened again


@pytest.mark.parametrize("seed", [5, 17, 29, 43])
def test_restore_killed_at_a_random_moment_can_be_retried(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    state_dir = tmp_path / "state"
    two_checkpoints(state_dir)
    for round_number in range(3):  # killed during recovery, again and again
        worker = start("restore", str(state_dir), "1")
        wait_for_line(worker, "restored")
        delay = rng.uniform(0.0, 0.2)
        time.sleep(delay)
        kill(worker)
        print(f"seed {seed} run {round_number}: restore killed after {delay:.3f}s")
    assert check_recovery(state_dir, ["done 2"]) == 2


# one restore: the checkpoint's files linked or copied into live.staging, the two renames of
# the swap, the removal of the old database
@pytest.mark.parametrize("operation", range(1, 19))
def test_restore_killed_at_each_file_operation_can_be_retried(
    tmp_path: Path, operation: int
) -> None:
    state_dir = tmp_path / "state"
    two_checkpoints(state_dir)
    lines = kill(start("restore", str(state_dir), "1", str(operation)), wait=20)
    print(f"restore killed at file operation {operation}: {lines[-1]}")
    assert check_recovery(state_dir, ["done 2"]) == 2
