"""Timers across keys that may be on disk: "which keys have a deadline <= T?".

An operator registers (deadline, key) when a key's state must be looked at again by a time
(a `within` window closing, a window's end, a TTL running out), and asks `pop_due(watermark)`
as the watermark advances, or cancels it when the key needs it no more. Entries live in a
table whose keys are `deadline (8 bytes, big endian, sign bit flipped) | encoded key`, so byte
order is deadline order and `items(end=...)` scans exactly the due timers. Values are empty.

Like the keyed cache it is write-back: timers registered since the last flush stay in memory
(a `DeadlineQueue`) and reach the table in the checkpoint's batch, or earlier, between
batches, when more than `max_pending` of them pile up (`maybe_spill`). Most timers are
registered and popped between two checkpoints (event time runs far ahead of the checkpoint
interval), and such a timer costs no encoding and leaves nothing in the batch. Every table
entry below `_scan_from` has been popped already, so each `pop_due` scans only the range the
watermark advanced over.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from gress_cep.state.backend import StateBackend, WriteBatch
from gress_cep.state.keys import decode_key, encode_key
from gress_cep.state.keys import encode_key as _encode_key  # the default, recognised below

_OFFSET = 1 << 63
_DEADLINE_BYTES = 8


def deadline_bytes(deadline: int) -> bytes:
    """An int64 deadline as 8 bytes whose byte order is numeric order."""
    try:
        return (deadline + _OFFSET).to_bytes(_DEADLINE_BYTES, "big")
    except OverflowError:
        raise ValueError(f"timer deadline {deadline} does not fit in 64 bits") from None


class DeadlineQueue:
    """Timers in memory, grouped by deadline: a heap of deadlines and the keys of each.

    Timers come in crowds that share a deadline (every key with a record in a tumbling window
    has a timer at its end), so registering one is a dict insert; only a new deadline costs a
    heap push, and popping costs a heap pop per deadline, not per timer."""

    __slots__ = ("_groups", "_heap", "size")

    def __init__(self) -> None:
        self._groups: dict[int, dict[Any, None]] = {}  # deadline -> its keys
        self._heap: list[int] = []  # deadlines; one of an emptied group stays until popped
        self.size = 0  # timers

    def add(self, deadline: int, key: Any) -> None:
        """One timer (a pair that is here already stays one timer)."""
        self.add_many(deadline, (key,))

    def add_many(self, deadline: int, keys: Iterable[Any]) -> None:
        """A timer at `deadline` for each of `keys` (the crowd of windows that end together
        is one dict update, in C)."""
        group = self._groups.get(deadline)
        if group is None:
            group = self._groups[deadline] = {}
            heapq.heappush(self._heap, deadline)
        before = len(group)
        group.update(dict.fromkeys(keys))
        self.size += len(group) - before

    def discard(self, deadline: int, key: Any) -> None:
        """Forget a pair (if it is here)."""
        group = self._groups.get(deadline)
        if group is None or key not in group:
            return
        del group[key]
        if not group:
            del self._groups[deadline]
        self.size -= 1

    def __contains__(self, timer: tuple[int, Any]) -> bool:
        group = self._groups.get(timer[0])
        return group is not None and timer[1] in group

    def pop_until(self, until: int) -> list[tuple[int, dict[Any, None]]]:
        """Remove the groups with deadline <= `until`: (deadline, keys), in deadline order."""
        heap, groups = self._heap, self._groups
        due = []
        while heap and heap[0] <= until:
            deadline = heapq.heappop(heap)
            group = groups.pop(deadline, None)
            if group is not None:
                due.append((deadline, group))
                self.size -= len(group)
        return due

    def sizes_until(self, until: int) -> list[tuple[int, int]]:
        """(deadline, number of timers) of the groups due by `until`."""
        return [(d, len(g)) for d, g in self._groups.items() if d <= until]

    def items(self) -> Iterable[tuple[int, Any]]:
        for deadline, group in self._groups.items():
            for key in group:
                yield deadline, key

    def clear(self) -> None:
        self._groups.clear()
        self._heap.clear()
        self.size = 0


def slice_end(sizes: Iterable[tuple[int, int]], until: int, limit: int) -> int:
    """The deadline by which at least `limit` of the timers (deadline, count) are due
    (`until` when there are fewer): a slice of whole deadlines."""
    seen = 0
    for deadline, count in sorted(sizes):
        seen += count
        if seen >= limit:
            return deadline
    return until


def in_key_order(keys: Iterable[Any], encode_key: Callable[[Any], bytes] = encode_key) -> list[Any]:
    """Keys in the order of their encodings (the table's order), so that what fires when does
    not depend on what was in memory."""
    keys = list(keys)
    if len(keys) < 2:
        return keys
    if (
        encode_key is _encode_key
        and set(map(type, keys)) == {str}
        and max(map(len, keys)) < 0x80
        and "".join(keys).isascii()
    ):
        # short ASCII text keys (the common case): encoded as a one-byte length and the text,
        # their order is by length, then text (gress_cep.state.keys) — two sorts in C (the
        # second is stable), without encoding each key
        keys.sort()
        keys.sort(key=len)
        return keys
    keys.sort(key=encode_key)
    return keys


def in_order(
    groups: Iterable[tuple[int, Iterable[Any]]], encode_key: Callable[[Any], bytes] = encode_key
) -> list[tuple[int, list[Any]]]:
    """(deadline, keys) groups in deadline order, each group's keys in the table's order."""
    return [(d, in_key_order(keys, encode_key)) for d, keys in groups]


def pairs(groups: list[tuple[int, list[Any]]]) -> list[tuple[int, Any]]:
    """Groups of due timers as (deadline, key) pairs."""
    return [(d, key) for d, keys in groups for key in keys]


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
        self._registered = DeadlineQueue()  # since the last flush, not popped: written then
        self._deleted: set[tuple[int, Any]] = set()  # table entries popped or cancelled since
        self._scan_from = b""  # no live entry sorts below this
        self._on_disk = False

    @property
    def pending(self) -> int:
        """Changes held in memory until the next flush."""
        return self._registered.size + len(self._deleted)

    def register(self, deadline: int, key: Any) -> None:
        """A timer for `key` at `deadline`. Registering a pending pair again is a no-op while
        it is in memory; once a flush wrote it, register a pair again only after it fired
        (`cancel` would forget the new registration and leave the written one)."""
        self._registered.add(deadline, key)

    def register_many(self, deadline: int, keys: Iterable[Any]) -> None:
        self._registered.add_many(deadline, keys)

    def cancel(self, deadline: int, key: Any) -> None:
        """Forget a registered timer that has not fired. (A pair registered again over a copy
        that a flush wrote keeps that copy, which fires once: callers check what fires.)"""
        self._registered.discard(deadline, key)
        if self._on_disk:  # the table may hold it: deleted from it at the next flush
            self._deleted.add((deadline, key))

    def pop_due(self, until: int, limit: int | None = None) -> list[tuple[int, Any]]:
        """Remove and return every timer with deadline <= `until`: in deadline order, equal
        deadlines in the order of their encoded keys (the table's order). With `limit`, only
        the earliest ones: at least `limit` (when there are), and every timer that shares a
        deadline with one of them — so that slices put together come in the same order."""
        return pairs(self.pop_due_groups(until, limit))

    def pop_due_groups(self, until: int, limit: int | None = None) -> list[tuple[int, list[Any]]]:
        """What `pop_due` returns, as (deadline, keys) groups (no pair per timer)."""
        if limit is not None:
            until = min(until, self._slice_end(until, limit))
        bound = deadline_bytes(until + 1) if until + 1 < _OFFSET else None
        in_memory = self._registered.pop_until(until)
        if self._on_disk:
            from_disk = self._scan(bound)
            if from_disk:
                self._deleted.update(from_disk)
                merged: dict[int, dict[Any, None]] = {d: dict(g) for d, g in in_memory}
                for deadline, key in from_disk:
                    merged.setdefault(deadline, {})[key] = None
                in_memory = sorted(merged.items(), key=lambda group: group[0])
        if bound is not None and bound > self._scan_from:
            self._scan_from = bound
        return in_order(in_memory, self._encode_key)

    def _scan(self, bound: bytes | None, limit: int | None = None) -> list[tuple[int, Any]]:
        """Live table entries from `_scan_from` below `bound` (the earliest `limit`)."""
        found = []
        deleted = self._deleted
        for entry, _ in self._table.items(self._scan_from, bound):
            timer = (self._deadline(entry), self._decode_key(entry[_DEADLINE_BYTES:]))
            if timer not in deleted:
                found.append(timer)
                if len(found) == limit:
                    break
        return found

    def _slice_end(self, until: int, limit: int) -> int:
        """The deadline of the `limit`-th earliest live timer due by `until` (`until` when
        there are fewer)."""
        sizes = self._registered.sizes_until(until)
        if self._on_disk:
            bound = deadline_bytes(until + 1) if until + 1 < _OFFSET else None
            sizes += [(d, 1) for d, _ in self._scan(bound, limit)]
        return slice_end(sizes, until, limit)

    def maybe_spill(self) -> None:
        """Between batches: write pending changes to the table when too many are in memory."""
        if self.pending > self.max_pending:
            batch = WriteBatch()
            self.flush_into(batch)
            self._backend.write(batch)

    def flush_into(self, batch: WriteBatch) -> None:
        """Add registrations and pops since the last flush to a checkpoint's batch."""
        name = self.table_name
        registered = self._registered
        for timer in registered.items():
            entry = self._entry(timer)
            batch.put(name, entry, b"")
            if entry < self._scan_from:  # a deadline already passed: due at the next pop
                self._scan_from = entry
            self._on_disk = True
        for timer in self._deleted:
            if timer not in registered:  # a batch never puts and deletes one key
                batch.delete(name, self._entry(timer))
        registered.clear()
        self._deleted.clear()

    def after_restore(self) -> None:
        """The table now holds a checkpoint's timers."""
        self._registered.clear()
        self._deleted.clear()
        self._scan_from = b""
        self._on_disk = True

    def _entry(self, timer: tuple[int, Any]) -> bytes:
        return deadline_bytes(timer[0]) + self._encode_key(timer[1])

    @staticmethod
    def _deadline(entry: bytes) -> int:
        return int.from_bytes(entry[:_DEADLINE_BYTES], "big") - _OFFSET
