"""Watermarks: how far event time has certainly progressed on one stream (DSL §3.3).

Per input partition the watermark is `max(event time seen) - lateness`; the stream's watermark
is the minimum over its partitions, so a slow partition holds it back. A partition that has
sent nothing for `idle_timeout` seconds (wall clock) stops holding it back until it sends again;
a finished input stops holding it back for good. Watermarks only move forward.
"""

from __future__ import annotations

import time
from typing import Any

NO_WATERMARK = -(2**63)
END_OF_TIME = 2**63 - 1


class WatermarkTracker:
    def __init__(self, lateness_ms: int = 0, idle_timeout_s: float = 30.0) -> None:
        self.lateness = lateness_ms
        self.idle_timeout = idle_timeout_s
        self._max: dict[tuple[int, int], int] = {}  # (input, partition) -> max event time
        self._active: dict[tuple[int, int], float] = {}  # -> wall clock of its last record
        self._known: set[tuple[int, int]] = set()
        self._finished_inputs: set[int] = set()
        self._inputs: set[int] = set()
        self._created = time.monotonic()
        self.current = NO_WATERMARK

    def add_input(self, index: int, partitions: list[int]) -> None:
        self._inputs.add(index)
        now = time.monotonic()
        for p in partitions:
            if (index, p) not in self._known:
                self._known.add((index, p))
                self._active[(index, p)] = now

    def finish_input(self, index: int) -> None:
        self._finished_inputs.add(index)

    @property
    def finished(self) -> bool:
        return bool(self._inputs) and self._inputs <= self._finished_inputs

    def observe(self, index: int, partition: int, ts: int, now: float) -> None:
        slot = (index, partition)
        if slot not in self._known:
            self._known.add(slot)
        if ts > self._max.get(slot, NO_WATERMARK):
            self._max[slot] = ts
        self._active[slot] = now

    def observe_max(self, index: int, partition: int, max_ts: int, now: float) -> None:
        """Several records of one partition at once: only their largest time matters."""
        self.observe(index, partition, max_ts, now)

    def snapshot(self) -> dict[str, Any]:
        return {"max": list(self._max.items()), "current": self.current}

    def restore(self, state: dict[str, Any]) -> None:
        """Event time seen before the checkpoint; partitions start active again (their idle
        clocks restart with the job)."""
        for slot, mark in state["max"]:
            self._max[tuple(slot)] = mark
        self.current = state["current"]

    def idle(self, now: float) -> bool:
        """Every partition not finished has been idle for `idle_timeout` (and one is): what
        reads this stream together with others (a join, a union) stops waiting for it."""
        if self.finished:
            return False
        slots = [s for s in self._known if s[0] not in self._finished_inputs]
        timeout, created = self.idle_timeout, self._created
        return bool(slots) and all(now - self._active.get(s, created) >= timeout for s in slots)

    def advance(self, now: float | None = None) -> int:
        """Recompute the stream watermark (monotonic) and return it."""
        if self.finished:
            self.current = END_OF_TIME
            return self.current
        now = time.monotonic() if now is None else now
        lowest: int | None = None
        for slot in self._known:
            if slot[0] in self._finished_inputs:
                continue
            if now - self._active.get(slot, self._created) >= self.idle_timeout:
                continue  # idle: does not hold the watermark back
            mark = self._max.get(slot)
            mark = NO_WATERMARK if mark is None else mark - self.lateness
            if lowest is None or mark < lowest:
                lowest = mark
        if lowest is None:
            # every partition idle or finished (or none yet): the watermark follows the data
            # seen, a finished input's too; else its records would wait for the idle ones
            seen = list(self._max.values())
            lowest = max(seen) - self.lateness if seen else self.current
        if lowest > self.current:
            self.current = lowest
        return self.current
