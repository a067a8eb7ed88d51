"""Events in arrival order in, events in event-time order out, as the watermark allows.

Operators whose result depends on the order of events (patterns, count windows) keep what
arrives here until the watermark passes it; `release(watermark)` hands out every event at or
before the watermark in event-time order (a stable sort: equal times keep their arrival order).
Input that arrives in order — the common case — is never sorted.

Memory is bounded when the runtime gives a spill table (`use_spill`: a job with a state
backend): beyond `max_in_memory` events (--buffer-cache-events) every event in memory moves to
disk, in one batch, and comes back when the watermark passes it. Nothing is released early or
dropped: a spilled event is released exactly when it would have been. Because memory always
moves to disk as a whole, every event on disk arrived before every event in memory, so a release
merges the two (disk first among equal times) and keeps the arrival order of equal times.

Checkpoints cost what changed: a checkpoint that finds more than `INLINE_MAX` events in memory
spills them first, so its snapshot holds at most that many, and an event held across many
checkpoints is written once (to the spill table), not at each of them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from heapq import merge
from operator import itemgetter
from typing import Any

from gress_cep.operators.base import Timed
from gress_cep.state.operator_state import EventSpill

_TS = itemgetter(0)
END = (1 << 63) - 1  # the end of time: release everything
INLINE_MAX = 10_000  # events a checkpoint keeps in the operator's snapshot; more are spilled


class EventTimeBuffer:
    __slots__ = ("_buffer", "_last_ts", "_sorted", "_spill", "spilled_events")

    def __init__(self) -> None:
        self._buffer: list[Timed] = []
        self._sorted = True
        self._last_ts = -(2**63)
        self._spill: EventSpill | None = None
        self.spilled_events = 0  # events that went to disk, for the summary and metrics

    def use_spill(self, spill: EventSpill | None) -> None:
        """Spill to this table beyond its `max_in_memory` events (None: keep all in memory)."""
        self._spill = spill

    def __len__(self) -> int:
        spill = self._spill
        return len(self._buffer) + (spill.count if spill is not None else 0)

    def in_memory(self) -> int:
        return len(self._buffer)

    def add(self, batch: list[Timed]) -> None:
        if not batch:
            return
        if self._sorted:
            last = self._last_ts
            for ts, _ in batch:
                if ts < last:
                    self._sorted = False  # sort once, when the watermark releases events
                    break
                last = ts
            else:
                self._last_ts = last
        self._buffer.extend(batch)
        spill = self._spill
        if spill is not None and len(self._buffer) > spill.max_in_memory:
            self._move_to_disk(spill)

    def release(self, watermark: int) -> list[Timed]:
        """Every event at or before `watermark`, in event-time order."""
        spill = self._spill
        if spill is not None and spill.count:
            return self._merged(spill.pop_until(watermark), self._release(watermark))
        return self._release(watermark)

    def release_all(self) -> list[Timed]:
        self._sort()
        ready, self._buffer = self._buffer, []
        spill = self._spill
        if spill is not None and spill.count:
            return self._merged(spill.pop_until(END), ready)
        return ready

    def release_in_slices(self, watermark: int = END) -> Iterator[list[Timed]]:
        """What `release(watermark)` returns, in slices of at most `max_in_memory` events
        when events wait on disk (so that releasing a large backlog does not bring it all
        into memory at once); slices come in time order."""
        spill = self._spill
        if spill is None or not spill.count:
            ready = self._release(watermark)
            if ready:
                yield ready
            return
        self._move_to_disk(spill)  # all in one place: slices from disk are in time order
        while True:
            ready = spill.pop_until(watermark, spill.max_in_memory)
            if not ready:
                return
            yield ready

    def _release(self, watermark: int) -> list[Timed]:
        buffer = self._buffer
        if not buffer:
            return []
        self._sort()
        cut = bisect_right(buffer, watermark, key=_TS)
        if cut == len(buffer):
            self._buffer = []
            return buffer
        self._buffer = buffer[cut:]
        return buffer[:cut]

    @staticmethod
    def _merged(from_disk: list[Timed], from_memory: list[Timed]) -> list[Timed]:
        """Both in time order; on disk arrived first, so it goes first among equal times
        (heapq.merge is stable)."""
        if not from_disk:
            return from_memory
        if not from_memory:
            return from_disk
        return list(merge(from_disk, from_memory, key=_TS))

    def _move_to_disk(self, spill: EventSpill) -> None:
        if not self._buffer:
            return
        spill.write(self._buffer)
        self.spilled_events += len(self._buffer)
        self._buffer = []
        self._sorted = True
        self._last_ts = -(2**63)

    def _sort(self) -> None:
        if not self._sorted:
            self._buffer.sort(key=_TS)  # stable: equal times keep arrival order
            self._sorted = True
            self._last_ts = self._buffer[-1][0]

    # ------------------------------------------------------------------ state
    def snapshot(self) -> Any:
        """Plain data for a checkpoint (see gress_cep.state.data_codec): what is in memory —
        at most INLINE_MAX events, the rest is spilled first — and what is on disk."""
        spill = self._spill
        if spill is not None and len(self._buffer) > INLINE_MAX:
            self._move_to_disk(spill)
        state = spill.state() if spill is not None and spill.count else None
        return [self._sorted, self._last_ts, self._buffer, state]

    def restore(self, data: Any) -> None:
        self._sorted, self._last_ts, events = data[:3]
        self._buffer = [(ts, record) for ts, record in events]
        state = data[3] if len(data) > 3 else None
        if self._spill is not None:
            self._spill.restore_state(state)

    @staticmethod
    def held_in(data: Any) -> int:
        """How many events a snapshot holds (in memory and on disk)."""
        state = data[3] if len(data) > 3 else None
        return len(data[2]) + (state[0] if state else 0)
