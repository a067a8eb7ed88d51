"""State given to operators by the runtime: keyed state, event-time timers, operator-wide values.

An operator asks its `OperatorContext` for what it keeps, by name:

    keys = ctx.keyed("windows", StateCodec(1, encode, decode))   # key -> value, spills to disk
    timers = ctx.timers()                                          # (deadline, key) pairs
    ctx.value("meta", snapshot=lambda: ..., restore=lambda value, restored: ...)
    spill = ctx.spill("buffer")     # events on disk in event-time order (None: no backend)

and the `StateRegistry` (one per job) does the rest: with a state backend, keyed state is a
write-back cache in front of a table (`gress_cep.state.cache`), timers a timer table, both
flushed into every checkpoint and restored from it; operator-wide values are taken with
`snapshot()` at each checkpoint and handed back to `restore` at a restart. Without a backend
(the Python API, stdin) the same handles are plain dicts and heaps.

Stored state is named by operator, state name and codec version — never positional — and is
data only (`gress_cep.state.data_codec`, or an operator's own codec of plain data), so restoring
a file can never execute anything. A checkpoint records a manifest of what it holds; at a
restart:
- an operator whose declaration (or anything upstream of it) changed starts afresh: its keyed
  state and timers are deleted, and its values are offered to `restore` with
  `restored.changed` set, so that it can keep what still makes sense (counts, records that were
  read but not processed when its input is the same) and count what it drops;
- a state stored in another codec version than the running code reads is refused, naming the
  operator and the state, instead of being misread;
- the state of an operator the job does not have (a pattern removed or renamed, a savepoint of
  another pattern file) is refused, naming the patterns and views that differ, as Flink refuses
  non-restored state; with `allow_non_restored` (--allow-non-restored-state) it is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from gress_cep.connectors.base import DeadLetter, Record
from gress_cep.errors import UserError
from gress_cep.state import data_codec
from gress_cep.state.backend import StateBackend, WriteBatch
from gress_cep.state.cache import KeyedStateCache
from gress_cep.state.timers import (
    DeadlineQueue,
    TimerTable,
    deadline_bytes,
    in_order,
    pairs,
    slice_end,
)

V = TypeVar("V")

MANIFEST = "state-manifest"  # operator name -> what state it stored, with versions
VALUES = "operator-state"  # operator + state name -> an operator-wide value


@dataclass(slots=True, frozen=True)
class StateCodec(Generic[V]):
    """How one state's values become bytes and back; `version` changes with the format."""

    version: int
    encode: Callable[[V], bytes]
    decode: Callable[[bytes], V]


DATA: StateCodec[Any] = StateCodec(1, data_codec.dumps, data_codec.loads)


class KeyedState(Protocol[V]):
    """Key -> value, for one operator and state name. The hot path reads `data` (a dict);
    a miss must call `load` when `spilled` (some keys are on disk only); after changing a
    value in place, `mark_dirty(key)`."""

    data: dict[Any, V]
    spilled: bool

    def get(self, key: Any) -> V | None: ...

    def load(self, key: Any) -> V | None: ...

    def put(self, key: Any, value: V) -> None: ...

    def mark_dirty(self, key: Any) -> None: ...

    def remove(self, key: Any) -> None: ...

    def mark_dirty_all(self, keys: list[Any]) -> None:
        """`mark_dirty` for many keys at once (per-window work: one call, not one per key)."""
        ...

    def remove_all(self, keys: list[Any]) -> None:
        """`remove` for many keys at once."""
        ...

    def disk_only(self) -> Iterator[tuple[bytes, Any, bytes]]:
        """(encoded key, key, encoded value) of keys on disk only, in encoded-key order."""
        ...

    def decode(self, raw: bytes) -> V: ...


class Timers(Protocol):
    """Event-time timers of one operator: (deadline, key) pairs."""

    def register(self, deadline: int, key: Any) -> None: ...

    def register_many(self, deadline: int, keys: Iterable[Any]) -> None:
        """`register` for many keys at one deadline (windows that end together)."""
        ...

    def cancel(self, deadline: int, key: Any) -> None: ...

    def pop_due(self, until: int, limit: int | None = None) -> list[tuple[int, Any]]:
        """Every timer with deadline <= until, in deadline order (ties: encoded-key order);
        with `limit`, the earliest (at least `limit`, and whole groups of equal deadlines)."""
        ...

    def pop_due_groups(self, until: int, limit: int | None = None) -> list[tuple[int, list[Any]]]:
        """What `pop_due` returns, as (deadline, keys) groups: per-window work without a pair
        per timer."""
        ...


@dataclass(slots=True)
class Restored:
    """What a restart tells an operator's `restore` about the state it hands back."""

    changed: bool  # the operator's declaration, or anything upstream, changed
    same_input: bool  # what reaches the operator did not change (its upstream is the same)
    dropped: int = 0  # the operator adds what it drops because of a change (for the note)


# ---------------------------------------------------------------------- without a backend
class MemoryKeyed(Generic[V]):
    """Keyed state of a run without checkpoints: just the dict."""

    spilled = False

    def __init__(self, codec: StateCodec[V]) -> None:
        self.data: dict[Any, V] = {}
        self._codec = codec

    def get(self, key: Any) -> V | None:
        return self.data.get(key)

    def load(self, key: Any) -> V | None:
        return None

    def put(self, key: Any, value: V) -> None:
        self.data[key] = value

    def mark_dirty(self, key: Any) -> None:
        return None

    def remove(self, key: Any) -> None:
        self.data.pop(key, None)

    def mark_dirty_all(self, keys: list[Any]) -> None:
        return None

    def remove_all(self, keys: list[Any]) -> None:
        pop = self.data.pop
        for key in keys:
            pop(key, None)

    def disk_only(self) -> Iterator[tuple[bytes, Any, bytes]]:
        return iter(())

    def decode(self, raw: bytes) -> V:
        return self._codec.decode(raw)


class MemoryTimers:
    """Timers of a run without checkpoints: the queue TimerTable keeps in memory, alone.
    Due timers come in TimerTable's order."""

    def __init__(self) -> None:
        self._queue = DeadlineQueue()

    def register(self, deadline: int, key: Any) -> None:
        self._queue.add(deadline, key)  # registered twice: one timer

    def register_many(self, deadline: int, keys: Iterable[Any]) -> None:
        self._queue.add_many(deadline, keys)

    def cancel(self, deadline: int, key: Any) -> None:
        self._queue.discard(deadline, key)

    def pop_due(self, until: int, limit: int | None = None) -> list[tuple[int, Any]]:
        return pairs(self.pop_due_groups(until, limit))

    def pop_due_groups(self, until: int, limit: int | None = None) -> list[tuple[int, list[Any]]]:
        if limit is not None:
            until = min(until, slice_end(self._queue.sizes_until(until), until, limit))
        return in_order(self._queue.pop_until(until))


class _CachedKeyed(KeyedStateCache[V]):
    """Keyed state in a backend table (see gress_cep.state.cache)."""

    def get(self, key: Any) -> V | None:
        value = self.data.get(key)
        if value is None and self.spilled:
            value = self.load(key)
        return value

    def decode(self, raw: bytes) -> V:
        return self._decode_value(raw)


class EventSpill:
    """Events (time, record) on disk in event-time order, for an operator that holds more of
    them than memory should (the ordering buffer: operators/ordering.py). Entries are
    `time (8 bytes, order-preserving) | sequence (8 bytes)`, so equal times come back in the
    order they were written. Writes and deletes go to the live table at once (as the keyed
    cache's evictions do): the table is always exactly what is spilled, a checkpoint's
    snapshot of the live state includes it at no further cost, and the counts that describe
    it (`state()`) belong in the operator's own snapshot, taken at the same moment.

    `max_in_memory` is how many events the operator keeps in memory before spilling
    (--buffer-cache-events, read when used: the job sets it after the operators opened)."""

    def __init__(self, registry: StateRegistry, backend: StateBackend, table: str) -> None:
        self._registry = registry
        self._backend = backend
        self.table_name = table
        self._table = backend.table(table)
        self.count = 0
        self._next = 0  # the sequence number of the next event written
        self.min_ts: int | None = None  # no event on disk is earlier (None: none is there)
        self._scan_from = b""  # every entry below this was popped

    @property
    def max_in_memory(self) -> int:
        return self._registry.max_events_in_memory

    def __len__(self) -> int:
        return self.count

    def write(self, events: list[tuple[int, Record]]) -> None:
        """Add events (in arrival order: equal times keep it)."""
        if not events:
            return
        batch, name, seq = WriteBatch(), self.table_name, self._next
        encode = data_codec.dumps
        low = events[0][0]
        for ts, record in events:
            batch.put(name, deadline_bytes(ts) + seq.to_bytes(8, "big"), encode(record))
            seq += 1
            if ts < low:
                low = ts
        self._backend.write(batch)
        self._next = seq
        self.count += len(events)
        self.min_ts = low if self.min_ts is None else min(self.min_ts, low)
        self._scan_from = min(self._scan_from, deadline_bytes(low))

    def pop_until(self, watermark: int, limit: int | None = None) -> list[tuple[int, Record]]:
        """Remove and return the events at or before `watermark`, in time order; with
        `limit`, only the earliest `limit` of them."""
        if self.min_ts is None or self.min_ts > watermark:
            return []
        bound = deadline_bytes(watermark + 1) if watermark + 1 < _INT64_END else None
        out: list[tuple[int, Record]] = []
        batch, name, decode = WriteBatch(), self.table_name, data_codec.loads
        last = b""
        for key, raw in self._table.items(self._scan_from, bound):
            out.append((int.from_bytes(key[:8], "big") - _INT64_END, decode(raw)))
            batch.delete(name, key)
            last = key
            if limit is not None and len(out) == limit:
                break
        if batch:
            self._backend.write(batch)
        self.count -= len(out)
        if not self.count:
            self.min_ts = None
            self._scan_from = b""
        elif limit is not None and len(out) == limit:
            self._scan_from = max(self._scan_from, last)  # deleted: the scan skips it
            self.min_ts = out[-1][0]
        elif bound is not None:
            self._scan_from = max(self._scan_from, bound)
            self.min_ts = watermark + 1
        return out

    def state(self) -> list[Any]:
        """What the operator's snapshot keeps of it (plain data)."""
        return [self.count, self._next, self.min_ts]

    def restore_state(self, state: list[Any] | None) -> None:
        """After a restore: the table holds the checkpoint's spilled events, `state` says what
        they are (None: nothing was spilled)."""
        self.count, self._next, self.min_ts = state if state else (0, 0, None)
        self._scan_from = b""


_INT64_END = 1 << 63


# ---------------------------------------------------------------------- the registry
@dataclass(slots=True)
class _Value:
    name: str
    version: int
    snapshot: Callable[[], Any]
    restore: Callable[[Any, Restored], None]


@dataclass(slots=True)
class _OperatorEntry:
    name: str
    label: str  # how a person knows it: "pattern card_testing", "view spend_1h"
    fingerprint: str  # changes when its declaration or anything upstream changes
    source_fingerprint: str  # changes when anything upstream changes
    keyed: dict[str, tuple[int, Any]] = field(default_factory=dict)  # name -> (version, handle)
    timers: dict[str, Any] = field(default_factory=dict)
    values: dict[str, _Value] = field(default_factory=dict)
    spills: dict[str, EventSpill] = field(default_factory=dict)

    def table(self, state: str, version: int) -> str:
        return f"{self.name}/{state}.v{version}"


class SideOutputs:
    """Where operators put what is not their main output; the pipeline takes it each round."""

    def __init__(self) -> None:
        self.timeouts: list[Record] = []
        self.dead_letters: list[DeadLetter] = []
        self.late: list[Record] = []  # in the late output's form (runtime/pipeline.py)


class OperatorContext:
    """One operator's view of the runtime (see the module docstring)."""

    def __init__(self, registry: StateRegistry, entry: _OperatorEntry) -> None:
        self._registry = registry
        self._entry = entry
        self.operator = entry.name
        self.sides = registry.sides

    def keyed(self, name: str, codec: StateCodec[V], max_in_memory: int | None = None) -> Any:
        """A KeyedState[V] named `name` (at most `max_in_memory` keys in memory; the job's
        --state-cache-keys when None)."""
        entry, backend = self._entry, self._registry.backend
        if name in entry.keyed or name in entry.timers:
            raise ValueError(f"{entry.name} asked twice for state {name!r}")
        handle: Any
        if backend is None:
            handle = MemoryKeyed(codec)
        else:
            handle = _CachedKeyed(
                backend,
                entry.table(name, codec.version),
                encode_value=codec.encode,
                decode_value=codec.decode,
                max_entries=max_in_memory or self._registry.max_keys_in_memory,
            )
        entry.keyed[name] = (codec.version, handle)
        return handle

    def timers(self, name: str = "timers") -> Timers:
        entry, backend = self._entry, self._registry.backend
        if name in entry.keyed or name in entry.timers:
            raise ValueError(f"{entry.name} asked twice for state {name!r}")
        handle: Any = (
            MemoryTimers() if backend is None else TimerTable(backend, entry.table(name, 1))
        )
        entry.timers[name] = handle
        return handle

    def spill(self, name: str) -> EventSpill | None:
        """A table of events in time order for what does not fit in memory; None without a
        state backend (then everything stays in memory)."""
        entry, backend = self._entry, self._registry.backend
        if name in entry.keyed or name in entry.timers or name in entry.spills:
            raise ValueError(f"{entry.name} asked twice for state {name!r}")
        if backend is None:
            return None
        handle = EventSpill(self._registry, backend, entry.table(name, 1))
        entry.spills[name] = handle
        return handle

    def value(
        self,
        name: str,
        snapshot: Callable[[], Any],
        restore: Callable[[Any, Restored], None],
        version: int = 1,
    ) -> None:
        """An operator-wide value: `snapshot()` is stored (as data: data_codec) at each
        checkpoint, and handed to `restore` at a restart."""
        if name in self._entry.values:
            raise ValueError(f"{self._entry.name} asked twice for state {name!r}")
        self._entry.values[name] = _Value(name, version, snapshot, restore)

    def dead_letter(self, letter: DeadLetter) -> None:
        self.sides.dead_letters.append(letter)

    def timeouts(self, records: list[Record]) -> None:
        self.sides.timeouts.extend(records)

    def late(self, records: list[Record]) -> None:
        self.sides.late.extend(records)


class StateRegistry:
    """Every operator's state handles in one job, and their checkpoints."""

    def __init__(self, backend: StateBackend | None, max_keys_in_memory: int = 100_000) -> None:
        self.backend = backend
        self.max_keys_in_memory = max_keys_in_memory
        self.max_events_in_memory = 100_000  # per ordering buffer (--buffer-cache-events)
        self.sides = SideOutputs()
        self._operators: dict[str, _OperatorEntry] = {}
        # set by the job before `restore`: drop the state of operators it does not have
        # (--allow-non-restored-state), and how to name what it restores from in messages
        self.allow_non_restored = False
        self.restored_from = "the checkpoint"
        self.fresh_hint = True  # whether --fresh is a way out (not with --from-savepoint)
        # operators without state in the restored checkpoint (new since it was taken)
        self.new_operators: set[str] = set()

    def context(
        self, name: str, label: str, fingerprint: str = "", source_fingerprint: str = ""
    ) -> OperatorContext:
        if name in self._operators:
            raise ValueError(f"two operators named {name!r}")
        entry = _OperatorEntry(name, label, fingerprint, source_fingerprint)
        self._operators[name] = entry
        return OperatorContext(self, entry)

    def maintain(self) -> None:
        """Between rounds: bring memory back within bounds (evict keys, spill timers)."""
        if self.backend is None:
            return
        for entry in self._operators.values():
            for _, handle in entry.keyed.values():
                handle.maybe_evict()
            for timers in entry.timers.values():
                timers.maybe_spill()

    def keys_in_memory(self) -> int:
        return sum(len(h.data) for e in self._operators.values() for _, h in e.keyed.values())

    # ------------------------------------------------------------------ checkpoints
    def snapshot_into(self, batch: WriteBatch) -> None:
        """Every state that changed since the last checkpoint, and the manifest."""
        for entry in self._operators.values():
            for _, handle in entry.keyed.values():
                handle.flush_into(batch)
            for timers in entry.timers.values():
                timers.flush_into(batch)
            for value in entry.values.values():
                data = data_codec.dumps([value.version, value.snapshot()])
                batch.put(VALUES, _value_key(entry.name, value.name), data)
            manifest = {
                "label": entry.label,
                "fingerprint": entry.fingerprint,
                "source": entry.source_fingerprint,
                "keyed": {name: version for name, (version, _) in entry.keyed.items()},
                "timers": sorted(entry.timers),
                "values": {name: v.version for name, v in entry.values.items()},
                "spills": {name: 1 for name in entry.spills},
            }
            batch.put(MANIFEST, entry.name.encode(), data_codec.dumps(manifest))

    def restore(self) -> list[str]:
        """Every operator's state from the backend's live state (a checkpoint just restored).
        Returns a note for the person for each operator that changed since."""
        backend = self.backend
        if backend is None:
            return []
        manifests = backend.table(MANIFEST)
        saved_all = {key.decode(): data_codec.loads(raw) for key, raw in manifests.items()}
        dropped_notes = self._unmapped(backend, saved_all)
        if saved_all:
            self.new_operators = {name for name in self._operators if name not in saved_all}
        notes: dict[str, int] = {}  # label of a changed operator -> records dropped
        for entry in self._operators.values():
            saved = saved_all.get(entry.name)
            if saved is None:
                continue  # new since the checkpoint
            changed = saved["fingerprint"] != entry.fingerprint
            restored = Restored(changed, saved["source"] == entry.source_fingerprint)
            if changed:
                # events spilled while waiting for the watermark are kept when the input is
                # the same (the operator's restore takes them back), like its in-memory ones
                self._delete_tables(backend, entry, saved, spills=not restored.same_input)
            else:
                self._check_versions(entry, saved)
                for _, handle in entry.keyed.values():
                    handle.after_restore()
                for timers in entry.timers.values():
                    timers.after_restore()
            values = backend.table(VALUES)
            for value in entry.values.values():
                data = values.get(_value_key(entry.name, value.name))
                if data is None:
                    continue
                version, stored = data_codec.loads(data)
                if version == value.version:
                    value.restore(stored, restored)
                elif not changed:
                    raise _version_error(entry, value.name, version, value.version)
            if changed:
                notes[entry.label] = notes.get(entry.label, 0) + restored.dropped
        out = dropped_notes
        for label, dropped in notes.items():
            note = f"{label} changed since that checkpoint: it starts afresh"
            if dropped:
                note += f" ({dropped:,} records it had not processed yet are dropped with it)"
            out.append(note)
        return out

    def _unmapped(self, backend: StateBackend, saved_all: dict[str, Any]) -> list[str]:
        """The state of operators this job does not have: an error naming them (and the ones
        new here), or with `allow_non_restored` deleted, with a note for each."""
        unmapped = {name: saved for name, saved in saved_all.items() if name not in self._operators}
        if not unmapped:
            return []
        labels = list(dict.fromkeys(saved.get("label", name) for name, saved in unmapped.items()))
        if not self.allow_non_restored:
            new = [e.label for name, e in self._operators.items() if name not in saved_all]
            new = [label for label in dict.fromkeys(new) if not label.startswith("stream ")]
            which = "which is" if len(labels) == 1 else "which are"
            message = (
                f"{self.restored_from} holds the state of {', '.join(labels)}, {which} not in "
                "this job"
            )
            if new:
                message += f" (new here: {', '.join(new)})"
            ways = [
                "start it with the pattern file (and --pattern, --view) the state was taken with",
                "or --allow-non-restored-state to drop that state",
            ]
            if self.fresh_hint:
                ways.append("or --fresh to start afresh")
            raise UserError(message, hint=", ".join(ways))
        batch = WriteBatch()
        for name, saved in unmapped.items():
            tables = [f"{name}/{state}.v{version}" for state, version in saved["keyed"].items()]
            tables += [f"{name}/{state}.v1" for state in saved["timers"]]
            tables += [f"{name}/{state}.v{v}" for state, v in saved.get("spills", {}).items()]
            for table in tables:
                for key, _ in backend.table(table).items():
                    batch.delete(table, key)
            for state in saved["values"]:
                batch.delete(VALUES, _value_key(name, state))
            batch.delete(MANIFEST, name.encode())
        backend.write(batch)
        return [f"the state of {label} is dropped (--allow-non-restored-state)" for label in labels]

    @staticmethod
    def _delete_tables(
        backend: StateBackend, entry: _OperatorEntry, saved: dict, *, spills: bool
    ) -> None:
        """The keyed state and timers the checkpoint left for an operator that changed: they
        belong to the old declaration, and would otherwise come back when a key is read from
        disk after an eviction, or when one of their timers fires. With `spills`, its spilled
        events too."""
        batch = WriteBatch()
        tables = [entry.table(n, v) for n, v in saved["keyed"].items()]
        tables += [entry.table(n, 1) for n in saved["timers"]]
        if spills:
            tables += [entry.table(n, v) for n, v in saved.get("spills", {}).items()]
        for table in tables:
            for key, _ in backend.table(table).items():
                batch.delete(table, key)
        if batch:
            backend.write(batch)

    @staticmethod
    def _check_versions(entry: _OperatorEntry, saved: dict) -> None:
        for name, (version, _) in entry.keyed.items():
            stored = saved["keyed"].get(name)
            if stored is not None and stored != version:
                raise _version_error(entry, name, stored, version)


def _value_key(operator: str, state: str) -> bytes:
    return f"{operator}\0{state}".encode()


def _version_error(entry: _OperatorEntry, state: str, stored: int, current: int) -> UserError:
    return UserError(
        f"the checkpoint holds {entry.label}'s state '{state}' in format version {stored}; "
        f"this gress reads version {current}",
        hint="resume it with the gress version that wrote it, or start afresh with --fresh",
    )
