"""Timers across keys that may be on disk: "which keys have a deadline <= T?".

An operator registers (deadline, key) when a key's state must be looked at again by a time
(a `within` window closing, a TTL running out), and asks `pop_due(watermark)` as the watermark
advances, or cancels it when the key needs it no more. Entries live in a table whose keys are
`deadline (8 bytes, big endian, sign bit flipped) | encoded key`, so byte order is deadline
order and `items(end=...)` scans exactly the due timers. Values are empty.

Like the keyed cache it is write-back: what changed since the last flush stays in
memory (`_pending`, plus a heap for the due check) and reach the table in the checkpoint's batch,
or earlier, between batches, when more than `max_pending` of them pile up (`maybe_spill`).
In memory a timer is a (deadline, key) pair: most are registered and popped between two
checkpoints (event time runs far ahead of the checkpoint interval), and such a timer costs no
encoding and leaves nothing in the batch. Every table entry below `_scan_from` has been popped
already, so each `pop_due` scans only the range the watermark advanced over.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from gress_cep.state.backend import StateBackend, WriteBatch
from gress_cep.state.keys import decode_key, encode_key
from gress_cep.state.keys import encode_key as _encode_key  # the default, recognised by sort_due

_OFFSET = 1 << 63
_DEADLINE = itemgetter(0)
_DEADLINE_BYTES = 8


def deadline_bytes(deadline: int) -> bytes:
    """An int64 deadline as 8 bytes whose byte order is numeric order."""
    try:
        return (deadline + _OFFSET).to_bytes(_DEADLINE_BYTES, "big")
    except OverflowError:
        raise ValueError(f"timer deadline {deadline} does not fit in 64 bits") from None


# what is known of a (deadline, key) pair since the last flush, as flags: REGISTERED and not
# popped (written to the table at the flush), ON_DISK (the table holds it: deleted at the flush
# unless registered). A pair not in `_pending` is as the table says.
REGISTERED = 1
ON_DISK = 2


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
        self._pending: dict[tuple[int, Any], int] = {}  # (deadline, key) -> flags
        self._heap: list[tuple[int, int, Any]] = []  # (deadline, order, key) registered since
        self._order = 0  # the last flush; the order breaks ties between keys of any type
        self._scan_from = b""  # no live entry sorts below this
        self._on_disk = False

    def register(self, deadline: int, key: Any) -> None:
        """A timer for `key` at `deadline`. Registering a pending pair again is a no-op while
        it is in memory; once a flush wrote it, register a pair again only after it fired
        (`cancel` would forget the new registration and leave the written one)."""
        state = self._pending.get((deadline, key), 0)
        if state & REGISTERED:
            return  # registered twice: one timer
        self._pending[(deadline, key)] = state | REGISTERED
        self._order += 1
        heapq.heappush(self._heap, (deadline, self._order, key))

    def cancel(self, deadline: int, key: Any) -> None:
        """Forget a registered timer that has not fired. (A pair registered again over a copy
        that a flush wrote keeps that copy, which fires once: callers check what fires.)"""
        timer = (deadline, key)
        state = self._pending.get(timer)
        if state == REGISTERED:
            del self._pending[timer]  # registered since the last flush: never on disk
        else:
            self._pending[timer] = ON_DISK  # flushed: deleted from the table at the next flush

    def pop_due(self, until: int, limit: int | None = None) -> list[tuple[int, Any]]:
        """Remove and return every timer with deadline <= `until`: in deadline order, equal
        deadlines in the order of their encoded keys (the table's order). With `limit`, only
        the earliest ones: at least `limit` (when there are), and every timer that shares a
        deadline with one of them — so that slices put together come in the same order."""
        if limit is not None:
            until = min(until, self._slice_end(until, limit))
        bound = deadline_bytes(until + 1) if until + 1 < _OFFSET else None
        pending = self._pending
        due: list[tuple[int, Any]] = []
        if self._on_disk:
            for entry, _ in self._table.items(self._scan_from, bound):
                timer = (self._deadline(entry), self._decode_key(entry[_DEADLINE_BYTES:]))
                if pending.get(timer, REGISTERED) & REGISTERED:  # not popped since the flush
                    due.append(timer)
                    pending[timer] = ON_DISK
        heap = self._heap
        while heap and heap[0][0] <= until:
            deadline, _, key = heapq.heappop(heap)
            state = pending.get((deadline, key), 0)
            if state & REGISTERED:
                due.append((deadline, key))
                if state & ON_DISK:
                    pending[(deadline, key)] = ON_DISK
                else:
                    # not in the table either (a copy there was due too, so the scan above
                    # found it and set ON_DISK): registered and popped in memory, forgotten
                    del pending[(deadline, key)]
        if bound is not None and bound > self._scan_from:
            self._scan_from = bound
        return sort_due(due, self._encode_key)

    def _slice_end(self, until: int, limit: int) -> int:
        """The deadline of the `limit`-th earliest live timer due by `until` (`until` when
        there are fewer)."""
        pending = self._pending
        deadlines: list[int] = []
        if self._on_disk:
            bound = deadline_bytes(until + 1) if until + 1 < _OFFSET else None
            for entry, _ in self._table.items(self._scan_from, bound):
                timer = (self._deadline(entry), self._decode_key(entry[_DEADLINE_BYTES:]))
                if pending.get(timer, REGISTERED) & REGISTERED:
                    deadlines.append(timer[0])
                    if len(deadlines) == limit:
                        break
        live = (
            (deadline, key)
            for deadline, _, key in heapq.nsmallest(limit, self._heap)
            if deadline <= until and pending.get((deadline, key), 0) & REGISTERED
        )
        deadlines += [deadline for deadline, _ in live]
        if len(deadlines) < limit:
            return until
        return sorted(deadlines)[limit - 1]

    def maybe_spill(self) -> None:
        """Between batches: write pending changes to the table when too many are in memory."""
        if len(self._pending) > self.max_pending:
            batch = WriteBatch()
            self.flush_into(batch)
            self._backend.write(batch)

    def flush_into(self, batch: WriteBatch) -> None:
        """Add registrations and pops since the last flush to a checkpoint's batch."""
        name = self.table_name
        for timer, state in self._pending.items():
            if state & REGISTERED:
                entry = self._entry(timer)
                batch.put(name, entry, b"")
                if entry < self._scan_from:  # a deadline already passed: due at the next pop
                    self._scan_from = entry
                self._on_disk = True
            elif state & ON_DISK:
                batch.delete(name, self._entry(timer))
        self._pending.clear()
        self._heap.clear()

    def after_restore(self) -> None:
        """The table now holds a checkpoint's timers."""
        self._pending.clear()
        self._heap.clear()
        self._scan_from = b""
        self._on_disk = True

    def _entry(self, timer: tuple[int, Any]) -> bytes:
        return deadline_bytes(timer[0]) + self._encode_key(timer[1])

    @staticmethod
    def _deadline(entry: bytes) -> int:
        return int.from_bytes(entry[:_DEADLINE_BYTES], "big") - _OFFSET


def sort_due(
    due: list[tuple[int, Any]], encode_key: Callable[[Any], bytes] = encode_key
) -> list[tuple[int, Any]]:
    """Due timers in deadline order, equal deadlines in encoded-key order: the table's order,
    so that what fires when does not depend on what was in memory. Keys are encoded only
    when two deadlines are equal."""
    if len(set(map(_DEADLINE, due))) == len(due):
        due.sort(key=_DEADLINE)  # mostly in order already: a linear pass
    elif encode_key is _encode_key and all(
        type(k) is str and len(k) < 0x80 and k.isascii() for _, k in due
    ):
        # short ASCII text keys (the common case, and many share a deadline: every key's
        # window closing at once): encoded as a one-byte length and the text, their order is
        # by length, then text (gress_cep.state.keys) — sorted in C, without encoding each one
        ordered = sorted([(d, len(k), k) for d, k in due])
        due[:] = [(d, k) for d, _, k in ordered]
    else:
        due.sort(key=lambda timer: (timer[0], encode_key(timer[1])))
    return due
