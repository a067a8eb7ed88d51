"""Timing shared by the benchmarks."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


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
