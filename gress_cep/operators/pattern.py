"""A pattern as a pipeline stage: event-time ordering, partitioning, the NFA, output records.

Events arrive as (event time, record) in arrival order. They wait in a buffer until the
watermark passes them, then go to the matcher in event-time order (a stable sort: equal times
keep their arrival order); beyond --buffer-cache-events they wait on disk
(operators/ordering.py). Matches and timed-out partial matches come out as output records
(DSL §3.5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gress_cep.nfa.matcher import Matcher
from gress_cep.nfa.model import Nfa
from gress_cep.nfa.runs import Completed
from gress_cep.nfa.shared_buffer import events_by_variable
from gress_cep.operators.base import Timed
from gress_cep.operators.ordering import EventTimeBuffer
from gress_cep.runtime.watermarks import END_OF_TIME
from gress_cep.state.operator_state import KeyedState, OperatorContext, Restored

Record = dict[str, Any]
MatchFn = Callable[[dict[str, list[Record]], Record], Any]


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
    """A pattern on the operator contract: its main output is its matches, each at the time
    of its last event; timed-out partial matches go to the `timeouts` side output."""

    nfa: Nfa
    key_of: Callable[[Record], Any]
    emit: Projection | None
    timeout_emit: Projection | None
    max_runs_per_key: int = 10_000
    ttl_ms: int | None = None
    matcher: Matcher = field(init=False)
    name: str = field(init=False)  # its state is stored under it
    counters: PatternCounters = field(default_factory=PatternCounters)
    _buffer: EventTimeBuffer = field(default_factory=EventTimeBuffer)
    _seq: int = 0
    _finished: bool = False  # finish() ran: every key's state is done
    _finishing: Iterator[list[Timed]] | None = None  # finish(): the slices still to process
    _ctx: OperatorContext | None = None
    _keys: KeyedState[Any] | None = None
    # `gress detect --trace`: a gress_cep.nfa.trace.PatternTracer, which then takes the
    # events (its keys' it steps itself, the others it passes to the kernel); None: the
    # kernel takes them all, with no tracing code on the way
    tracer: Any = None

    def __post_init__(self) -> None:
        self.name = f"pattern:{self.nfa.name}"
        self.matcher = Matcher(
            self.nfa,
            keep_timeouts=self.timeout_emit is not None,
            max_runs_per_key=self.max_runs_per_key,
            ttl_ms=self.ttl_ms,
        )

    def open(self, ctx: OperatorContext) -> None:
        """Keyed NFA state and timers from the runtime; the events waiting for the
        watermark and the counters as an operator-wide value."""
        self._ctx = ctx
        self._keys = ctx.keyed("keys", self.matcher.codec)
        self.matcher.use_storage(self._keys, ctx.timers())
        # events waiting for the watermark beyond --buffer-cache-events wait on disk
        self._buffer.use_spill(ctx.spill("buffer"))
        ctx.value("meta", self._snapshot, self._restore)

    # ------------------------------------------------------------------ the contract
    def process(self, batch: list[Timed], now: float) -> list[Timed]:
        """Buffer events until the watermark passes them."""
        self._buffer.add(batch)
        return []

    def on_watermark(self, watermark: int, now: float) -> list[Timed]:
        """Process every buffered event at or before the watermark, then expire windows."""
        matches: list[Completed] = []
        timeouts: list[Completed] = []
        for ready in self._buffer.release_in_slices(watermark):
            self._run(ready, matches, timeouts)
        if watermark < END_OF_TIME:  # the end of time is `finish`'s: it closes all at once
            m, t = self.matcher.advance(watermark)
            matches.extend(m)
            timeouts.extend(t)
        return self._records(matches, timeouts)

    def on_timer(self, now: float) -> list[Timed]:
        return []

    def finish(self) -> list[Timed]:
        """End of input: everything buffered is processed, then every window closes. A
        buffer that spilled to disk is processed a slice per call (the runtime calls again
        until nothing comes), so that its matches are written as they are found instead of
        all being held at once."""
        if self._finished:
            return []
        matches: list[Completed] = []
        timeouts: list[Completed] = []
        if self._finishing is None:
            self._finishing = self._buffer.release_in_slices()
        for ready in self._finishing:
            self._run(ready, matches, timeouts)
            if matches or timeouts:
                return self._records(matches, timeouts)
        self._finished = True
        m, t = self.matcher.finish(self._keys.disk_only() if self._keys is not None else ())
        matches.extend(m)
        timeouts.extend(t)
        return self._records(matches, timeouts)

    def held_watermark(self) -> int | None:
        return None  # what it holds it releases in time order: never behind its watermark

    def held_records(self) -> int:
        return len(self._buffer)

    def counts(self) -> dict[str, int]:
        c, stats = self.counters, self.matcher.stats
        return {
            "processed": c.processed,
            "matches": c.matches,
            "timeouts": c.timeouts,
            "dropped": c.dropped,
            "held": len(self._buffer),
            "spilled": self._buffer.spilled_events,
            "dropped_partial_matches": stats.dropped_runs,
            "ttl_expired": stats.ttl_expired,
        }

    def _run(self, ready: list[Timed], matches: list[Completed], timeouts: list[Completed]) -> None:
        if self.tracer is None:  # once per slice of events, never per event
            self._seq = self.matcher.feed(ready, self.key_of, self._seq, matches, timeouts)
        else:
            self._seq = self.tracer.feed(ready, self.key_of, self._seq, matches, timeouts)
        self.counters.processed += len(ready)

    # ------------------------------------------------------------------ state
    def _snapshot(self) -> Any:
        c = self.counters
        return {
            "buffer": self._buffer.snapshot(),
            "seq": self._seq,
            "counters": [c.processed, c.matches, c.timeouts, c.dropped],
            "matcher": self.matcher.meta(),
        }

    def _restore(self, meta: Any, restored: Restored) -> None:
        """A changed pattern keeps its counts (the run summary still adds up) and, when its
        input did not change, the events that were waiting for the watermark: they were
        read, not matched yet. Everything else of it starts afresh."""
        self.counters = PatternCounters(*meta["counters"])
        if not restored.changed:
            self.matcher.restore_meta(meta["matcher"])
        else:
            self.matcher.restore_stats(meta["matcher"])
        if restored.same_input:
            self._buffer.restore(meta["buffer"])
            self._seq = meta["seq"]
        else:
            dropped = EventTimeBuffer.held_in(meta["buffer"])
            self.counters.dropped += dropped
            restored.dropped += dropped

    # ------------------------------------------------------------------ output records
    def _records(self, matches: list[Completed], timeouts: list[Completed]) -> list[Timed]:
        self.counters.matches += len(matches)
        self.counters.timeouts += len(timeouts)
        if timeouts and self.timeout_emit is not None:
            assert self._ctx is not None, "opened by the runtime before any record"
            self._ctx.timeouts([self._record(t, self.timeout_emit) for t in timeouts])
        return [(m.end_ts, self._record(m, self.emit)) for m in matches]

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
