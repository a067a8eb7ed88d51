"""Timers across keys that may be on disk: "which keys have a deadline <= T?".

An operator registers (deadline, key) when a key's state must be looked at again by a time
(a `within` window closing, a TTL running out), and asks `pop_due(watermark)` as the watermark
advances. Entries live in a table whose keys are `deadline (8 bytes, big endian, sign bit
flipped) | encoded key`, so byte order is deadline order and `items(end=...)` scans exactly the
due timers. Values are empty.

Like the keyed cache it is write-back: registrations and removals since the last flush stay in
memory (`_pending`, plus a heap for the due check) and reach the table in the checkpoint's batch,
or earlier, between batches, when more than `max_pending` of them pile up (`maybe_spill`).
Every table entry below `_scan_from` has been popped already, so each `pop_due` scans only the
range the watermark advanced over.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from gress_cep.state.backend import StateBackend, WriteBatch
from gress_cep.state.keys import decode_key, encode_key

_OFFSET = 1 << 63
_DEADLINE_BYTES = 8


def deadline_bytes(deadline: int) -> bytes:
    """An int64 deadline as 8 bytes whose byte order is numeric order."""
    try:
        return (deadline + _OFFSET).to_bytes(_DEADLINE_BYTES, "big")
    except OverflowError:
        raise ValueError(f"timer deadline {deadline} does not fit in 64 bits") from None


class TimerTable:
    def __init__(
        self,
        backend: StateBackend,
        table: str,
        *,
        max_pending: int = 100_000,
        encode_key: Callable[[Any], bytes] = encode_key,
        decode_key: Callable[[bytes], Any] = decode_key,
    ) -> None:
        self.table_name = table
        self.max_pending = max_pending
        self._backend = backend
        self._table = backend.table(table)
        self._encode_key = encode_key
        self._decode_key = decode_key
        self._pending: dict[bytes, bool] = {}  # entry -> registered (True) or removed (False)
        self._heap: list[bytes] = []  # registered entries not yet in the table (may be stale)
        self._scan_from = b""  # no live entry sorts below this
        self._on_disk = False

    def register(self, deadline: int, key: Any) -> None:
        entry = deadline_bytes(deadline) + self._encode_key(key)
        self._pending[entry] = True
        heapq.heappush(self._heap, entry)
        if entry < self._scan_from:  # a deadline already passed: due at the next pop_due
            self._scan_from = entry

    def cancel(self, deadline: int, key: Any) -> None:
        self._pending[deadline_bytes(deadline) + self._encode_key(key)] = False

    def pop_due(self, until: int) -> list[tuple[int, Any]]:
        """Remove and return every timer with deadline <= `until`, in deadline order."""
        bound = deadline_bytes(until + 1) if until + 1 < _OFFSET else None
        pending = self._pending
        due: list[bytes] = []
        if self._on_disk:
            for entry, _ in self._table.items(self._scan_from, bound):
                if pending.get(entry, True):  # not popped or cancelled since the last flush
                    due.append(entry)
                    pending[entry] = False
        heap = self._heap
        while heap and (bound is None or heap[0] < bound):
            entry = heapq.heappop(heap)
            if pending.get(entry) is True:
                due.append(entry)
                pending[entry] = False
        if bound is not None and bound > self._scan_from:
            self._scan_from = bound
        due.sort()
        return [(self._deadline(entry), self._decode_key(entry[_DEADLINE_BYTES:])) for entry in due]

    def next_deadline(self) -> int | None:
        """The earliest registered deadline (None when there is no timer)."""
        heap, pending = self._heap, self._pending
        while heap and pending.get(heap[0]) is not True:
            heapq.heappop(heap)
        candidates = [heap[0]] if heap else []
        if self._on_disk:
            for entry, _ in self._table.items(self._scan_from):
                if pending.get(entry, True):
                    candidates.append(entry)
                    break
        return self._deadline(min(candidates)) if candidates else None

    def maybe_spill(self) -> None:
        """Between batches: write pending changes to the table when too many are in memory."""
        if len(self._pending) > self.max_pending:
            batch = WriteBatch()
            self.flush_into(batch)
            self._backend.write(batch)

    def flush_into(self, batch: WriteBatch) -> None:
        """Add registrations and removals since the last flush to a checkpoint's batch."""
        name = self.table_name
        for entry, registered in self._pending.items():
            if registered:
                batch.put(name, entry, b"")
                self._on_disk = True
            else:
                batch.delete(name, entry)
        self._pending.clear()
        self._heap.clear()

    def after_restore(self) -> None:
        """The table now holds a checkpoint's timers."""
        self._pending.clear()
        self._heap.clear()
        self._scan_from = b""
        self._on_disk = True

    @staticmethod
    def _deadline(entry: bytes) -> int:
        return int.from_bytes(entry[:_DEADLINE_BYTES], "big") - _OFFSET
