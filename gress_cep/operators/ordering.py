"""Events in arrival order in, events in event-time order out, as the watermark allows.

Operators whose result depends on the order of events (patterns, count windows) keep what
arrives here until the watermark passes it; `release(watermark)` hands out every event at or
before the watermark in event-time order (a stable sort: equal times keep their arrival order).
Input that arrives in order — the common case — is never sorted.
"""

from __future__ import annotations

from bisect import bisect_right
from operator import itemgetter
from typing import Any

from gress_cep.operators.base import Timed

_TS = itemgetter(0)


class EventTimeBuffer:
    __slots__ = ("_buffer", "_last_ts", "_sorted")

    def __init__(self) -> None:
        self._buffer: list[Timed] = []
        self._sorted = True
        self._last_ts = -(2**63)

    def __len__(self) -> int:
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

    def release(self, watermark: int) -> list[Timed]:
        """Every event at or before `watermark`, in event-time order."""
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

    def release_all(self) -> list[Timed]:
        self._sort()
        ready, self._buffer = self._buffer, []
        return ready

    def _sort(self) -> None:
        if not self._sorted:
            self._buffer.sort(key=_TS)  # stable: equal times keep arrival order
            self._sorted = True
            self._last_ts = self._buffer[-1][0]

    # ------------------------------------------------------------------ state
    def snapshot(self) -> Any:
        """Plain data for a checkpoint (see gress_cep.state.data_codec)."""
        return [self._sorted, self._last_ts, self._buffer]

    def restore(self, data: Any) -> None:
        self._sorted, self._last_ts, events = data
        self._buffer = [(ts, record) for ts, record in events]
