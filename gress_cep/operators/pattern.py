"""A pattern as a pipeline stage: event-time ordering, partitioning, the NFA, output records.

Events arrive as (event time, record) in arrival order. They wait in a buffer until the
watermark passes them, then go to the matcher in event-time order (a stable sort: equal times
keep their arrival order). Matches and timed-out partial matches come out as output records
(DSL §3.5).
"""

from __future__ import annotations

import pickle
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from gress_cep.nfa.matcher import Completed, KeyState, Matcher, encode_key_state
from gress_cep.nfa.model import Nfa
from gress_cep.nfa.shared_buffer import events_by_variable
from gress_cep.operators.base import Timed
from gress_cep.runtime.watermarks import END_OF_TIME
from gress_cep.state.backend import StateBackend, WriteBatch
from gress_cep.state.cache import KeyedStateCache
from gress_cep.state.timers import TimerTable

Record = dict[str, Any]
MatchFn = Callable[[dict[str, list[Record]], Record], Any]
_TS = itemgetter(0)


@dataclass(slots=True)
class Projection:
    """`emit` items: output names and their compiled functions over a match."""

    names: list[str]
    functions: list[MatchFn]


@dataclass(slots=True)
class PatternCounters:
    processed: int = 0
    matches: int = 0
    timeouts: int = 0
    dropped: int = 0  # read but never matched: waiting when the pattern's input changed


@dataclass(slots=True)
class PatternOperator:
    nfa: Nfa
    key_of: Callable[[Record], Any]
    emit: Projection | None
    timeout_emit: Projection | None
    max_runs_per_key: int = 10_000
    ttl_ms: int | None = None
    matcher: Matcher = field(init=False)
    counters: PatternCounters = field(default_factory=PatternCounters)
    _buffer: list[Timed] = field(default_factory=list)
    _sorted: bool = True
    _last_ts: int = -(2**63)
    _seq: int = 0
    _cache: KeyedStateCache[KeyState] | None = None  # with a state backend (attach_state)
    _timers: TimerTable | None = None

    def __post_init__(self) -> None:
        self.matcher = Matcher(
            self.nfa,
            keep_timeouts=self.timeout_emit is not None,
            max_runs_per_key=self.max_runs_per_key,
            ttl_ms=self.ttl_ms,
        )

    def attach_state(self, backend: StateBackend, max_keys_in_memory: int) -> None:
        """Keyed state and timers in the job's state backend: checkpointed with it, and
        spilled to disk beyond `max_keys_in_memory` keys."""
        self._cache = KeyedStateCache(
            backend,
            f"keys:{self.nfa.name}",
            encode_value=encode_key_state,
            decode_value=self.matcher.decode,
            max_entries=max_keys_in_memory,
        )
        self._timers = TimerTable(backend, f"timers:{self.nfa.name}")
        self.matcher.use_storage(self._cache, self._timers)

    def maintain(self) -> None:
        """Between rounds: bring memory back within bounds."""
        if self._cache is not None and self._timers is not None:
            self._cache.maybe_evict()
            self._timers.maybe_spill()

    @property
    def name(self) -> str:
        return self.nfa.name

    def add(self, batch: list[Timed]) -> None:
        """Buffer events until the watermark passes them."""
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

    def held_events(self) -> int:
        return len(self._buffer)

    def on_watermark(self, watermark: int) -> tuple[list[Record], list[Record]]:
        """Process every buffered event at or before the watermark, then expire windows."""
        buffer = self._buffer
        matches: list[Completed] = []
        timeouts: list[Completed] = []
        if buffer:
            if not self._sorted:
                buffer.sort(key=_TS)  # stable: equal times keep arrival order
                self._sorted = True
                self._last_ts = buffer[-1][0]
            cut = bisect_right(buffer, watermark, key=_TS)
            if cut:
                ready = buffer[:cut] if cut < len(buffer) else buffer
                self._buffer = buffer[cut:] if cut < len(buffer) else []
                self._run(ready, matches, timeouts)
        if watermark < END_OF_TIME:  # the end of time is `finish`'s: it closes all at once
            m, t = self.matcher.advance(watermark)
            matches.extend(m)
            timeouts.extend(t)
        return self._records(matches, timeouts)

    def finish(self) -> tuple[list[Record], list[Record]]:
        """End of input: everything buffered is processed, every window closes."""
        matches: list[Completed] = []
        timeouts: list[Completed] = []
        if self._buffer:
            if not self._sorted:
                self._buffer.sort(key=_TS)
            ready, self._buffer = self._buffer, []
            self._run(ready, matches, timeouts)
        m, t = self.matcher.finish(self._cache.disk_only() if self._cache is not None else ())
        matches.extend(m)
        timeouts.extend(t)
        return self._records(matches, timeouts)

    def _run(self, ready: list[Timed], matches: list[Completed], timeouts: list[Completed]) -> None:
        self._seq = self.matcher.feed(ready, self.key_of, self._seq, matches, timeouts)
        self.counters.processed += len(ready)

    # ------------------------------------------------------------------ checkpoints
    def snapshot_into(self, batch: WriteBatch, table: str) -> None:
        """The keyed state that changed since the last checkpoint, the timers, and the rest:
        events waiting for the watermark, counters."""
        if self._cache is not None and self._timers is not None:
            self._cache.flush_into(batch)
            self._timers.flush_into(batch)
        c = self.counters
        meta = {
            "buffer": self._buffer,
            "sorted": self._sorted,
            "last_ts": self._last_ts,
            "seq": self._seq,
            "counters": [c.processed, c.matches, c.timeouts, c.dropped],
            "matcher": self.matcher.meta(),
        }
        batch.put(table, self.nfa.name.encode(), pickle.dumps(meta, protocol=5))

    def restore_from(self, meta: dict[str, Any]) -> None:
        self._buffer = list(meta["buffer"])
        self._sorted = meta["sorted"]
        self._last_ts = meta["last_ts"]
        self._seq = meta["seq"]
        self.counters = PatternCounters(*meta["counters"])
        self.matcher.restore_meta(meta["matcher"])
        if self._cache is not None and self._timers is not None:
            self._cache.after_restore()  # keyed state loads from disk as keys come back
            self._timers.after_restore()

    def start_afresh(self, meta: dict[str, Any], backend: StateBackend, same_input: bool) -> int:
        """Restore for a pattern that changed since the checkpoint: its counters, so that the
        run summary still adds up, and — when its input did not change — the events that were
        waiting for the watermark, which the new pattern matches. The keyed state and timers
        the checkpoint left in the live tables are deleted: they belong to the old pattern, and
        would otherwise come back when a key is read from disk after an eviction, or when one
        of their timers fires. Returns how many waiting events were dropped."""
        self.counters = PatternCounters(*meta["counters"])
        self.matcher.restore_stats(meta["matcher"])
        dropped = 0
        if same_input:
            self._buffer = list(meta["buffer"])
            self._sorted = meta["sorted"]
            self._last_ts = meta["last_ts"]
            self._seq = meta["seq"]
        else:
            dropped = len(meta["buffer"])
            self.counters.dropped += dropped
        if self._cache is not None and self._timers is not None:
            batch = WriteBatch()
            for table in (self._cache.table_name, self._timers.table_name):
                for key, _ in backend.table(table).items():
                    batch.delete(table, key)
            if batch:
                backend.write(batch)
        return dropped

    # ------------------------------------------------------------------ output records
    def _records(
        self, matches: list[Completed], timeouts: list[Completed]
    ) -> tuple[list[Record], list[Record]]:
        self.counters.matches += len(matches)
        self.counters.timeouts += len(timeouts)
        out = [self._record(m, self.emit) for m in matches]
        late = [self._record(t, self.timeout_emit) for t in timeouts] if self.timeout_emit else []
        return out, late

    def _record(self, done: Completed, projection: Projection | None) -> Record:
        by_var = events_by_variable(done.node)
        record: Record = {
            "pattern": self.nfa.name,
            "key": done.key,
            "start": done.start_ts,
            "end": done.end_ts,
        }
        if projection is None:
            lists = self.nfa.list_variables
            for var in self.nfa.variables:
                events = by_var.get(var)
                if events:
                    record[var] = events if var in lists else events[0]
            return record
        last = done.node.event if done.node is not None else {}
        for name, fn in zip(projection.names, projection.functions, strict=True):
            record[name] = fn(by_var, last)
        return record
