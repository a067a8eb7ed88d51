"""Timing shared by the benchmarks: in-process runs, and whole processes (wait4)."""

from __future__ import annotations

import gc
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    """The best of `repeat` runs, each after a full garbage collection: the objects a run leaves
    behind would otherwise trigger a full collection inside whichever run comes next."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


class Failed(Exception):
    """A measured process exited with an error."""


@dataclass(slots=True)
class Measured:
    seconds: float  # wall clock, start to exit
    cpu: float  # user + system seconds of the process
    rss_mb: float  # its own peak RSS
    stdout: bytes = b""  # what it printed, when asked for


def run_measured(command: list[str], *, keep_stdout: bool = False) -> Measured:
    """Run a process to its end and measure it (wait4: its own CPU time and peak RSS)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=out if keep_stdout else subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            raise Failed(f"{' '.join(command)} failed ({code}):\n{err.read().decode()}")
        out.seek(0)
        return Measured(
            elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read()
        )


def best(runs: list[Measured]) -> Measured:
    """The fastest run's time, the least CPU time, the largest peak RSS (and the last output)."""
    return Measured(
        min(m.seconds for m in runs),
        min(m.cpu for m in runs),
        max(m.rss_mb for m in runs),
        runs[-1].stdout,
    )
