"""The run loop: sources -> event time -> operator chains -> outputs (ARCHITECTURE.md, data flow).

One thread, batches on the hot path. Each round polls every source once, stamps the records with
their event time (late ones go to the late output, undecodable ones to the dead letters), pushes
them through the operator chains below their stream — views (where, select, score, window) and
patterns, all on the one operator contract of gress_cep.operators.base — then advances each
stream's watermark down the same chains. `rounds()` yields what each round produced; the CLI
writes it to sinks, the Python API hands matches to the caller.

A chain's records may come from several inputs: a join's two sides, a union's inputs, a
lookup's table feed ports of its operators (`_Link`). Such an operator sees the minimum of its
inputs' watermarks, an idle input left out (as a stream leaves out its idle partitions), once
per round, after every input was advanced.

State belongs to the runtime: every operator gets its keyed state, timers and values from one
StateRegistry (gress_cep.state.operator_state), which checkpoints and restores them all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gress_cep.connectors.base import Batch, DeadLetter, Source
from gress_cep.errors import UserError
from gress_cep.operators.base import MultiInputOperator, Operator, Timed
from gress_cep.operators.lookup import TemporalLookup
from gress_cep.runtime.durations import format_duration
from gress_cep.runtime.event_time import (
    MILLIS_FROM,
    describe,
    epoch_ms_in,
    guessed_unit,
    iso_text,
    to_epoch_ms,
)
from gress_cep.runtime.gc_tuning import fewer_collections
from gress_cep.runtime.plan import Plan, StreamPlan, ViewInput
from gress_cep.runtime.watermarks import END_OF_TIME, NO_WATERMARK, WatermarkTracker
from gress_cep.state.backend import StateBackend, WriteBatch
from gress_cep.state.operator_state import Restored, StateRegistry

Record = dict[str, Any]
NO_LIMIT = 2**64  # a lateness that never moves the watermark: ts - 2**64 < NO_WATERMARK
KEY_NOTE_AFTER = 1000  # records of a stream that all miss its key field before gress says so
# In a run without a live input (files, stdin, Python iterables), operators see a logical
# clock: each round starts at ROUND_START and ends at ROUND_END, so a wall-clock deadline set
# during a round (a model's `delay`) falls due at its end, once every input has been read once.
# Where a record ends up never depends on how fast the machine was: the same inputs give the
# same output, order included. A live input (Kafka: a source with `live = True`) keeps the
# wall clock for the whole run: there a delay is what gathers a trickle of records into batches.
ROUND_START = 0.0
ROUND_END = math.inf


@dataclass(slots=True)
class RoundOutput:
    """What one round produced, by output."""

    matches: list[Record] = field(default_factory=list)  # and the records of selected views
    timeouts: list[Record] = field(default_factory=list)
    late: list[Record] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings for the person running the job

    def __bool__(self) -> bool:
        return bool(self.matches or self.timeouts or self.late or self.dead_letters or self.notes)


@dataclass(slots=True)
class StreamCounters:
    records_in: int = 0  # every record read, good or bad
    dead_letters: int = 0
    late: int = 0


@dataclass(slots=True)
class PatternSummary:
    """The per-pattern line of the summary: `records_in` = processed + filtered + late + dead
    + held + dropped."""

    name: str
    records_in: int
    processed: int
    matches: int
    timeouts: int
    late: int
    dead_letters: int
    filtered: int
    held: int  # still buffered (only non-zero when a run is interrupted)
    dropped: int  # never matched: waiting at a checkpoint when the pattern's input changed
    dropped_partial_matches: int
    ttl_expired: int
    aggregated: int | None = None  # records a window upstream turned into the ones it reads
    passes: bool = True  # what it reads are input records (not windows or join pairs)

    @property
    def used(self) -> int:
        """The records that reached the pattern, or a window, join or lookup table before it."""
        return (self.processed if self.passes else 0) + (self.aggregated or 0)


@dataclass(slots=True)
class ViewSummary:
    """The per-view line of the summary, for a view whose records are an output (--view):
    `records_in` = used + filtered + late + dead + held + dropped, where `used` is
    `records_out`, or for a window view the records aggregated into its windows."""

    name: str
    records_in: int
    records_out: int
    late: int
    dead_letters: int
    filtered: int
    held: int
    dropped: int
    aggregated: int | None = None  # records taken into windows, join pairs, lookup tables
    passes: bool = True  # its records are input records (not windows or join pairs)
    takers: tuple[str, ...] = ()  # what took records in: "window", "join", "lookup"

    @property
    def used(self) -> int:
        return (self.records_out if self.passes else 0) + (self.aggregated or 0)


@dataclass(slots=True)
class _Totals:
    """What became of the input records on their way to a chain's end (Pipeline._totals)."""

    records_in: int = 0
    late: int = 0
    dead_letters: int = 0
    filtered: int = 0
    dropped: int = 0
    held: int = 0
    aggregated: int | None = None  # taken in by a window, a join, a lookup's table
    passes: bool = True  # what comes out are input records
    takers: list[str] = field(default_factory=list)  # what took them: window, join, lookup

    def add(self, other: _Totals) -> None:
        self.records_in += other.records_in
        self.late += other.late
        self.dead_letters += other.dead_letters
        self.filtered += other.filtered
        self.dropped += other.dropped
        self.held += other.held
        if other.aggregated is not None:
            self.aggregated = (self.aggregated or 0) + other.aggregated
        self.takers += [t for t in other.takers if t not in self.takers]


def _earliest(marks: list[tuple[int, bool]]) -> tuple[int, bool]:
    """The watermark of an operator of several inputs: the minimum of its inputs' that are
    not idle (when all are, of all: it waits); idle when all are."""
    active = [watermark for watermark, idle in marks if not idle]
    if active:
        return min(active), False
    return min(watermark for watermark, _ in marks), True


class _Input:
    """One source of a stream, with its index in the stream's watermark tracker."""

    __slots__ = ("index", "records", "source", "stream")

    def __init__(self, stream: _StreamNode, source: Source, index: int) -> None:
        self.stream = stream
        self.source = source
        self.index = index
        self.records = 0  # read from this source this run, good or bad (metrics)


def _origins(inp: _Input, batch: Batch) -> Callable[[Record], str]:
    """Where a record of `batch` came from (`events.jsonl:8`, `kafka:events[2]@1234`), for a
    dead letter; the records' positions are looked up only when one is asked for."""
    origin_of = batch.origin
    if origin_of is None:
        description = inp.source.description
        return lambda record: description
    index: dict[int, int] = {}

    def origin(record: Record) -> str:
        if not index:
            index.update((id(r), i) for i, r in enumerate(batch.records))
        return origin_of(index[id(record)])

    return origin


def _read_time(plan: StreamPlan, value: Any) -> int | None:
    """A value of the stream's time field as epoch ms, in the unit the stream declares
    (`time ts seconds`) or, without one, the unit its form and size say."""
    unit = plan.decl.time_unit
    return to_epoch_ms(value) if unit is None else epoch_ms_in(value, unit.text)


class _Chain:
    """Operators in a row (a view's, or a pattern's one); what the last one sends on goes to
    the chains reading it and, when it is an output (`output` set), to the matches output."""

    __slots__ = (
        "children",
        "finished_links",
        "links",
        "marks",
        "name",
        "ops",
        "output",
        "records_out",
        "tag",
    )

    def __init__(self, name: str, ops: list[Operator]) -> None:
        self.name = name  # "view NAME", "pattern NAME"
        self.ops = ops
        self.children: list[_Link] = []
        self.output = False
        self.tag: tuple[str, str] | None = None  # (field, value) added to each output record
        self.records_out = 0
        self.links = 1  # its inputs: more than one for a join, a union, a lookup
        # with several inputs: (operator, port) -> (watermark, idle) of the inputs advanced
        # so far this round; the chain advances once every input has
        self.marks: dict[tuple[int, int], tuple[int, bool]] = {}
        self.finished_links = 0  # inputs that finished (end of input: Pipeline._finish)


# a reader of a stream or chain: the chain, and the operator and port its records go to
_Link = tuple[_Chain, int, int]


class _StreamNode:
    """A stream at run time: event-time stamping, lateness, the watermark, its readers."""

    def __init__(self, plan: StreamPlan) -> None:
        self.plan = plan
        self.tracker = WatermarkTracker(plan.lateness_ms, plan.idle_timeout_s)
        self.counters = StreamCounters()
        self.children: list[_Link] = []
        self.input_count = 0
        self.unit_noted = False  # said once that the time unit was guessed from a magnitude
        # key fields not yet seen in any record -> how many records so far all missed them;
        # None: not set up yet (Pipeline._watch_keys)
        self.key_watch: dict[str, int] | None = None
        self.first_times: tuple[int, int] | None = None  # (id of a batch, its median time)

    def snapshot(self) -> Any:
        c = self.counters
        return {
            "tracker": self.tracker.snapshot(),
            "counters": [c.records_in, c.dead_letters, c.late],
        }

    def restore(self, state: Any, restored: Restored) -> None:
        self.tracker.restore(state["tracker"])
        self.counters = StreamCounters(*state["counters"])


class Pipeline:
    def __init__(
        self,
        plan: Plan,
        inputs: dict[str, list[Source]],
        *,
        batch_size: int = 8192,
        poll_timeout_s: float = 0.05,
        backend: StateBackend | None = None,
        max_keys_in_memory: int = 100_000,
    ) -> None:
        self.plan = plan
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout_s
        self.streams: dict[str, _StreamNode] = {}
        self.chains: dict[str, _Chain] = {}  # "view NAME" / "pattern NAME" -> its chain
        self.inputs: list[_Input] = []
        self.stopping = False
        self.finishing = False  # the inputs ended: operators are releasing what they hold
        self.completed = False  # everything was released: the run is over
        self.registry = StateRegistry(backend, max_keys_in_memory)
        self._wire(inputs)
        self._live = any(getattr(i.source, "live", False) for i in self.inputs)
        self._open()

    # ------------------------------------------------------------------ wiring
    def _wire(self, inputs: dict[str, list[Source]]) -> None:
        plan = self.plan
        roots = [r for p in plan.patterns.values() for r in plan.roots(p.source)]
        roots += [r for name in plan.output_views for r in plan.roots(name)]
        for name in dict.fromkeys(roots):
            self.streams[name] = _StreamNode(plan.streams[name])
        for name, view in plan.views.items():
            self.chains[f"view {name}"] = _Chain(f"view {name}", list(view.operators))
        outputs = len(plan.patterns) + len(plan.output_views)
        for name in plan.output_views:
            chain = self.chains[f"view {name}"]
            chain.output = True
            if outputs > 1:
                chain.tag = ("view", name)
        for name, pattern in plan.patterns.items():
            chain = self.chains[f"pattern {name}"] = _Chain(f"pattern {name}", [pattern.operator])
            chain.output = True
            self._parent(pattern.source).children.append((chain, 0, 0))  # patterns first
        for name, view in plan.views.items():
            chain = self.chains[f"view {name}"]
            chain.links = len(view.inputs)
            for link in view.inputs:
                self._parent(link.name).children.append((chain, link.op, link.port))
        for name, sources in inputs.items():
            stream = self.streams.get(name)
            if stream is None:
                continue  # an input nothing selected reads
            for source in sources:
                index = len(self.inputs)
                stream.tracker.add_input(index, source.partitions())
                stream.input_count += 1
                self.inputs.append(_Input(stream, source, index))
        self._check_inputs()
        for view in plan.views.values():  # a lookup's table: a Kafka tombstone deletes a row
            for link in view.inputs:
                if isinstance(view.operators[link.op], TemporalLookup) and link.port:
                    for source in inputs.get(link.name, ()):
                        if hasattr(source, "deletes"):
                            source.deletes = True

    def _check_inputs(self) -> None:
        """A join, lookup or union waits for the watermark of each of its inputs: one without
        a source would hold it back to the end."""
        for name, view in self.plan.views.items():
            for link in view.inputs if len(view.inputs) > 1 else ():
                for root in self.plan.roots(link.name):
                    if self.streams[root].input_count == 0:
                        raise UserError(
                            f"no input for stream '{root}', which view {name} reads",
                            hint=f"add -i {root}=PATH (or kafka:TOPIC)",
                        )

    def _parent(self, name: str) -> _StreamNode | _Chain:
        return self.chains.get(f"view {name}") or self.streams[name]

    def _open(self) -> None:
        """Every operator gets its state from the registry; the streams keep their event
        time and counts there too."""
        registry = self.registry
        for name, stream in self.streams.items():
            ctx = registry.context(f"stream:{name}", f"stream {name}")
            ctx.value("event-time", stream.snapshot, stream.restore)
        for name, view in self.plan.views.items():
            for op in view.operators:
                op.open(
                    registry.context(op.name, f"view {name}", view.fingerprint, view.source_print)
                )
        for name, pattern in self.plan.patterns.items():
            ctx = registry.context(
                pattern.operator.name,
                f"pattern {name}",
                pattern.fingerprint,
                pattern.source_fingerprint,
            )
            pattern.operator.open(ctx)

    # ------------------------------------------------------------------ the loop
    def rounds(self) -> Iterator[RoundOutput]:
        with fewer_collections():
            yield from self._rounds()

    def _rounds(self) -> Iterator[RoundOutput]:
        active = list(self.inputs)
        while active and not self.stopping:
            out = RoundOutput()
            finished = []
            got_records = False
            for inp in active:
                batch = inp.source.poll(self.batch_size, 0.0 if got_records else self.poll_timeout)
                if batch is None:
                    finished.append(inp)
                    continue
                if batch.records or batch.dead:
                    got_records = True
                    self._ingest(inp, batch, out)
            for inp in finished:
                active.remove(inp)
                inp.stream.tracker.finish_input(inp.index)
                if inp.stream.tracker.finished:
                    self._end_of_stream(inp.stream, out)
            self._tick(out)
            self._take_side_outputs(out)
            yield out  # even when empty: the caller updates progress and commits between rounds
        if self.stopping:
            yield RoundOutput()
            return
        self.finishing = True
        yield from self._finish()
        self.completed = True
        out = RoundOutput()
        self._take_side_outputs(out)
        yield out

    def stop(self) -> None:
        """Stop after the current round (Ctrl-C / SIGTERM): outputs so far are kept."""
        self.stopping = True

    def _take_side_outputs(self, out: RoundOutput) -> None:
        sides = self.registry.sides
        if sides.timeouts:
            out.timeouts.extend(sides.timeouts)
            sides.timeouts.clear()
        if sides.dead_letters:
            out.dead_letters.extend(sides.dead_letters)
            sides.dead_letters.clear()
        if sides.late:
            out.late.extend(sides.late)
            sides.late.clear()

    def _ingest(self, inp: _Input, batch: Batch, out: RoundOutput) -> None:
        stream = inp.stream
        counters = stream.counters
        read = len(batch.records) + len(batch.dead)
        counters.records_in += read
        inp.records += read
        if batch.dead:
            counters.dead_letters += len(batch.dead)
            out.dead_letters.extend(batch.dead)
        if not batch.records:
            return
        timed = self._stamp(inp, batch, out)
        if timed:
            now = time.monotonic() if self._live else ROUND_START
            for link in stream.children:
                self._deliver(link, timed, now, out)

    def _stamp(
        self, inp: _Input, batch: Batch, out: RoundOutput, *, far_checked: bool = False
    ) -> list[Timed]:
        """Event time for each record; late, timeless and implausibly far-ahead records leave
        here."""
        stream = inp.stream
        field_name = stream.plan.time_field
        records = batch.records
        now = time.monotonic()
        if (stream.key_watch is None or stream.key_watch) and not far_checked:
            self._watch_keys(stream, records, out)
        if field_name is None:  # processing time: arrival order, wall clock
            now_ms = int(time.time() * 1000)
            stream.tracker.observe_max(inp.index, 0, now_ms, now)
            return [(now_ms, r) for r in records]
        tracker = stream.tracker
        watermark = tracker.current
        # exact per-record lateness when this input is the stream's only partition; with
        # several, the watermark moves between rounds (their relative order is arbitrary anyway)
        single = batch.partitions is None and stream.input_count == 1
        lateness = tracker.lateness if single else NO_LIMIT
        # what the loops' slow path may change, for `_drop_far` to undo
        marks = (len(out.dead_letters), len(out.notes), stream.counters.dead_letters)
        noted = stream.unit_noted
        late: list[tuple[Record, int, int]] = []  # (record, its time, the watermark)
        originals: dict[int, Record] = {}  # id of a stamped copy -> the record as read
        origin = _origins(inp, batch)
        if watermark < MILLIS_FROM:  # a stream's first records, or times before 1973
            timed, highs, watermark = self._stamp_each(
                stream, batch, out, watermark, lateness, late, originals, origin
            )
            high = max(highs.values(), default=NO_WATERMARK)
        else:
            timed = []
            append = timed.append
            event_time = partial(self._event_time, origin=origin)
            surely_ms = MILLIS_FROM
            # Two loops, one per input shape: this is per-record work on every event, and the
            # unpartitioned one (files, the Python API) keeps its high mark in a local. The
            # watermark is at least 1e11 here and only grows, so an integer below 1e11 (epoch
            # seconds, by the rule of event_time.to_epoch_ms) always takes the late branch:
            # it is read there, and records that are epoch ms already pay nothing for it.
            if batch.partitions is None:
                high = NO_WATERMARK
                for record in records:
                    ts = record.get(field_name)
                    if type(ts) is not int:
                        stamped = event_time(stream, record, ts, out, originals)
                        if stamped is None:
                            continue
                        ts, record = stamped
                    if ts < watermark:
                        if ts < surely_ms and id(record) not in originals:  # not read yet
                            stamped = event_time(stream, record, ts, out, originals)
                            if stamped is not None:  # an int always is a time
                                ts, record = stamped
                        if ts < watermark:
                            late.append((record, ts, watermark))
                            continue
                    if ts > high:
                        high = ts
                        if ts - lateness > watermark:  # never with several inputs (NO_LIMIT)
                            watermark = ts - lateness
                    append((ts, record))
                highs = {0: high}
            else:
                highs = {}
                for record, p in zip(records, batch.partitions, strict=True):
                    ts = record.get(field_name)
                    if type(ts) is not int:
                        stamped = event_time(stream, record, ts, out, originals)
                        if stamped is None:
                            continue
                        ts, record = stamped
                    if ts < watermark:
                        if ts < surely_ms and id(record) not in originals:
                            stamped = event_time(stream, record, ts, out, originals)
                            if stamped is not None:
                                ts, record = stamped
                        if ts < watermark:
                            late.append((record, ts, watermark))
                            continue
                    if ts > highs.get(p, NO_WATERMARK):
                        highs[p] = ts
                    append((ts, record))
                high = max(highs.values(), default=NO_WATERMARK)
        # --max-time-skew, checked once per batch rather than per record: only when a time is
        # beyond the clock's bound may a record be too far ahead of the watermark too; then
        # the batch is stamped again without those records (rare: a year 9999, or data that
        # lies in the future as a whole)
        if not far_checked and high > self._clock_bound(stream):
            del out.dead_letters[marks[0] :], out.notes[marks[1] :]
            stream.counters.dead_letters, stream.unit_noted = marks[2], noted
            return self._drop_far(inp, batch, out)
        for p, ts in highs.items():
            if ts != NO_WATERMARK:
                tracker.observe_max(inp.index, p, ts, now)
        if single and watermark > tracker.current:
            tracker.current = watermark
        if late:
            self._late(inp, batch, late, originals, out)
        return timed

    def _stamp_each(
        self,
        stream: _StreamNode,
        batch: Batch,
        out: RoundOutput,
        watermark: int,
        lateness: int,
        late: list[tuple[Record, int, int]],
        originals: dict[int, Record],
        origin: Callable[[Record], str],
    ) -> tuple[list[Timed], dict[int, int], int]:
        """`_stamp`'s loop while the stream's watermark is below 1e11 ms (before its first
        records, or for times before 1973): every integer below 1e11 is read by the rule of
        event_time.to_epoch_ms here, since the late branch does not catch it. The time, the
        high mark per partition, and the watermark after the batch."""
        field_name = stream.plan.time_field
        timed: list[Timed] = []
        highs: dict[int, int] = {}
        partitions = batch.partitions
        for i, record in enumerate(batch.records):
            ts = record.get(field_name)  # type: ignore[arg-type]  # a stream with `time`
            if type(ts) is not int or ts < MILLIS_FROM:
                stamped = self._event_time(stream, record, ts, out, originals, origin)
                if stamped is None:
                    continue
                ts, record = stamped
            if ts < watermark:
                late.append((record, ts, watermark))
                continue
            p = partitions[i] if partitions is not None else 0
            if ts > highs.get(p, NO_WATERMARK):
                highs[p] = ts
                if ts - lateness > watermark:  # never with several inputs (NO_LIMIT)
                    watermark = ts - lateness
            timed.append((ts, record))
        return timed, highs, watermark

    @staticmethod
    def _late(
        inp: _Input,
        batch: Batch,
        late: list[tuple[Record, int, int]],
        originals: dict[int, Record],
        out: RoundOutput,
    ) -> None:
        """The late output's form of records behind the watermark: where each came from, by
        how much it was late, the record (as read: `originals` has the records of which
        `_event_time` stamped a copy)."""
        inp.stream.counters.late += len(late)
        index = {id(r): i for i, r in enumerate(batch.records)} if batch.origin else {}
        for record, ts, watermark in late:
            record = originals.get(id(record), record)
            origin = batch.origin(index[id(record)]) if batch.origin else inp.source.description
            out.late.append(
                {
                    "stream": inp.stream.plan.name,
                    "origin": origin,
                    "late_by_ms": watermark - ts,
                    "record": record,
                }
            )

    @staticmethod
    def _clock_bound(stream: _StreamNode) -> int:
        """The time beyond which a record may be too far ahead (`_too_far`): the wall clock
        plus --max-time-skew; without the bound, the end of time."""
        skew = stream.plan.max_skew_ms
        if skew is None:
            return END_OF_TIME - 1
        return min(END_OF_TIME - 1, int(time.time() * 1000) + skew)

    def _drop_far(self, inp: _Input, batch: Batch, out: RoundOutput) -> list[Timed]:
        """A batch with a time beyond the clock's bound: the records too far ahead of the
        watermark go to the dead letters, the others are stamped as if they had never been
        there. The watermark is followed as `_stamp` moves it, record by record."""
        stream = inp.stream
        field_name = stream.plan.time_field
        assert field_name is not None, "called for streams with a time field"
        records, partitions = batch.records, batch.partitions
        beyond = self._clock_bound(stream)
        single = partitions is None and stream.input_count == 1
        lateness = stream.tracker.lateness if single else NO_LIMIT
        watermark = stream.tracker.current
        highs: dict[int, int] = {}
        far: list[tuple[int, int, int]] = []  # (index, its time, the watermark then)
        for i, record in enumerate(records):
            ts = _read_time(stream.plan, record.get(field_name))
            if ts is None or ts < watermark:
                continue
            p = partitions[i] if partitions is not None else 0
            if ts > highs.get(p, NO_WATERMARK):
                if ts > beyond and self._too_far(stream, records, ts, watermark):
                    far.append((i, ts, watermark))
                    continue
                highs[p] = ts
                if ts - lateness > watermark:
                    watermark = ts - lateness
        stream.counters.dead_letters += len(far)
        origin_of = batch.origin
        for i, ts, watermark in far:
            origin = origin_of(i) if origin_of else inp.source.description
            reason = self._far_reason(stream, records[i], ts, watermark)
            out.dead_letters.append(DeadLetter(None, reason, origin, records[i]))
        dropped = {i for i, _, _ in far}
        kept = [i for i in range(len(records)) if i not in dropped]
        rest = Batch(
            [records[i] for i in kept],
            [partitions[i] for i in kept] if partitions is not None else None,
            [batch.timestamps[i] for i in kept] if batch.timestamps is not None else None,
            origin=(lambda j: origin_of(kept[j])) if origin_of is not None else None,
        )
        return self._stamp(inp, rest, out, far_checked=True)

    @staticmethod
    def _too_far(stream: _StreamNode, records: list[Record], ts: int, watermark: int) -> bool:
        """`ts` (beyond the wall clock plus --max-time-skew, or at the end of time) is also
        that far ahead of the watermark: such a record would move the watermark to its time,
        and every later record would be late. Before the stream has a watermark, the median
        time of the batch stands in for it (one far-future first record cannot set the
        watermark; data whose times all lie in the future still runs)."""
        if ts >= END_OF_TIME:
            return True
        skew = stream.plan.max_skew_ms
        if skew is None:
            return False
        if watermark == NO_WATERMARK:
            if stream.first_times is None or stream.first_times[0] != id(records):
                field_name = stream.plan.time_field
                assert field_name is not None, "called for streams with a time field"
                times = sorted(
                    t
                    for t in (_read_time(stream.plan, r.get(field_name)) for r in records)
                    if t is not None
                )
                stream.first_times = (id(records), times[len(times) // 2])
            watermark = stream.first_times[1]
        return ts - skew > watermark

    @staticmethod
    def _far_reason(stream: _StreamNode, record: Record, ts: int, watermark: int) -> str:
        plan = stream.plan
        if ts >= END_OF_TIME:
            why = "at or beyond the end of time (2^63 - 1 ms)"
        else:
            assert plan.max_skew_ms is not None, "only then is a record too far ahead"
            skew = format_duration(plan.max_skew_ms)
            since = "" if watermark == NO_WATERMARK else f" ({iso_text(watermark)})"
            why = (
                f"more than {skew} ahead of the stream's watermark{since} and of the "
                f"clock (--max-time-skew {skew})"
            )
        shown = iso_text(ts, record.get(plan.time_field or ""))
        return f"time field '{plan.time_field}' is {shown}: {why}"

    @staticmethod
    def _event_time(
        stream: _StreamNode,
        record: Record,
        value: Any,
        out: RoundOutput,
        originals: dict[int, Record],
        origin: Callable[[Record], str],
    ) -> tuple[int, Record] | None:
        """A time field's `value` that is not epoch milliseconds for sure (ISO text, epoch
        seconds, a float, a datetime, ...): its time, and the record with the time field set
        to it; None (and a dead letter) when it is missing or not a time.

        Why the record: conditions (`ts - a.ts >= 2m`, `hour(ts)`), `emit`, views and model
        inputs read the time field from the record, and must all read the same epoch-ms int
        whatever form the input had. Converting it here costs nothing for records that hold
        epoch ms already (the loop's fast path never comes here) and one parse for the others,
        which this line needs anyway; converting at every read instead would repeat the parse
        in every expression, and a renamed field (`select ts as t`) could not be told from
        another. The record is a copy: the dicts of the Python API's caller stay as they were
        (`originals` maps it to the record as read, for the late output).
        """
        field_name = stream.plan.time_field
        assert field_name is not None, "called for streams with a time field"
        ts = _read_time(stream.plan, value)
        if ts is None:
            reason = f"time field '{field_name}' {describe(value)}"
            out.dead_letters.append(DeadLetter(None, reason, origin(record), record))
            stream.counters.dead_letters += 1
            return None
        if not stream.unit_noted and stream.plan.decl.time_unit is None:  # else it is declared
            unit = guessed_unit(value)
            if unit is not None:
                stream.unit_noted = True
                rule = (
                    "integers from 1e9 to 1e11 are seconds"
                    if unit == "epoch seconds"
                    else "floats from 1e11 on are milliseconds"
                )
                out.notes.append(
                    f"stream {stream.plan.name}: time field '{field_name}' holds numbers like "
                    f"{value!r}, read as {unit} ({iso_text(ts)}) by their size ({rule}; "
                    "docs/language.md §2)"
                )
        if ts == value and type(value) is int:
            return ts, record  # epoch ms already (a small one): nothing to convert
        stamped = record.copy()
        stamped[field_name] = ts
        originals[id(stamped)] = record
        return ts, stamped

    def _watch_keys(self, stream: _StreamNode, records: list[Record], out: RoundOutput) -> None:
        """Says once when a stream's key field (or a `partition by` field of a pattern reading
        the stream) is missing or null in all of its first KEY_NOTE_AFTER records: they all
        share one partition, which is rarely what was meant. Once a record has the field,
        it is never looked at again."""
        watch = stream.key_watch
        if watch is None:
            watch = stream.key_watch = dict.fromkeys(self._key_fields(stream), 0)
        for name in list(watch):
            if any(r.get(name) is not None for r in records):
                del watch[name]  # seen: never looked at again
                continue
            watch[name] += len(records)
            if watch[name] >= KEY_NOTE_AFTER:
                out.notes.append(self._key_note(stream, name, watch.pop(name), first=True))

    def _key_fields(self, stream: _StreamNode) -> list[str]:
        """The stream's `key` (what patterns without `partition by`, windows without `by` and
        lookups key by) and the `partition by` fields of the patterns that read the stream
        itself (through a view, a field may be made on the way)."""
        name = stream.plan.name
        fields = [stream.plan.key_field] if stream.plan.key_field else []
        for pattern in self.plan.patterns.values():
            if pattern.source == name and pattern.decl.partition_by is not None:
                fields += [f.text for f in pattern.decl.partition_by]
        return list(dict.fromkeys(fields))

    @staticmethod
    def _key_note(stream: _StreamNode, name: str, count: int, *, first: bool) -> str:
        which = f"all of the first {count:,}" if first else f"all {count:,}"
        return (
            f"stream {stream.plan.name}: the key field '{name}' is missing (or null) in "
            f"{which} records: they all go to one partition (key null); check the field name"
        )

    def _end_of_stream(self, stream: _StreamNode, out: RoundOutput) -> None:
        """A finished stream whose key field was never seen, in fewer records than the note
        waits for: said now."""
        for name, count in (stream.key_watch or {}).items():
            if count:
                out.notes.append(self._key_note(stream, name, count, first=False))
        stream.key_watch = {}

    def _deliver(self, link: _Link, batch: list[Timed], now: float, out: RoundOutput) -> None:
        chain, index, port = link
        if not index and not port:
            self._push(chain, batch, now, out)
            return
        first: MultiInputOperator = chain.ops[index]  # type: ignore[assignment]
        batch = first.process_input(port, batch, now)
        for op in chain.ops[index + 1 :]:
            if not batch:
                return
            batch = op.process(batch, now)
        if batch:
            self._emit(chain, batch, now, out)

    def _push(self, chain: _Chain, batch: list[Timed], now: float, out: RoundOutput) -> None:
        for op in chain.ops:
            batch = op.process(batch, now)
            if not batch:
                return
        self._emit(chain, batch, now, out)

    def _emit(self, chain: _Chain, batch: list[Timed], now: float, out: RoundOutput) -> None:
        """What a chain sends on: to the output when it is one, and to its readers."""
        if chain.output:
            chain.records_out += len(batch)
            if chain.tag is None:
                out.matches.extend([record for _, record in batch])
            else:
                name, value = chain.tag
                out.matches.extend([{name: value, **record} for _, record in batch])
        for link in chain.children:
            self._deliver(link, batch, now, out)

    def _tick(self, out: RoundOutput) -> None:
        """Wall-clock timers and the watermarks, from the streams down every chain."""
        now = time.monotonic()
        self.registry.maintain()
        for stream in self.streams.values():
            if stream.plan.time_field is None and not stream.tracker.finished:
                # processing time: the watermark is the wall clock
                stream.tracker.observe_max(-1, 0, int(time.time() * 1000), now)
            watermark = stream.tracker.advance(now)
            idle = stream.tracker.idle(now)
            for link in stream.children:
                self._advance_link(link, watermark, idle, now if self._live else ROUND_END, out)

    def _advance_link(
        self, link: _Link, watermark: int, idle: bool, now: float, out: RoundOutput
    ) -> None:
        """The watermark of one input of a chain: a chain of several inputs advances once
        every input has given its watermark this round."""
        chain, index, port = link
        if chain.links == 1:
            self._advance(chain, watermark, idle, now, out)
            return
        chain.marks[(index, port)] = (watermark, idle)
        if len(chain.marks) == chain.links:
            marks, chain.marks = chain.marks, {}
            self._advance(chain, watermark, idle, now, out, marks)

    def _advance(
        self,
        chain: _Chain,
        watermark: int,
        idle: bool,
        now: float,
        out: RoundOutput,
        marks: dict[tuple[int, int], tuple[int, bool]] | None = None,
    ) -> None:
        """Each operator sees the watermark, held back by what the operators before it still
        hold (a record held at time t keeps everything after it below t), and what the ones
        before it released; the chains reading this one see what is left of the watermark.
        An operator of several inputs (`marks`) sees the minimum of theirs."""
        carried: list[Timed] = []
        for index, op in enumerate(chain.ops):
            if marks is not None:
                inputs = [mark for (i, _), mark in marks.items() if i == index]
                if inputs:
                    if index:
                        inputs.append((watermark, idle))  # port 0: what the chain carries
                    watermark, idle = _earliest(inputs)
            released = op.process(carried, now) if carried else []
            released += op.on_timer(now)
            released += op.on_watermark(watermark, now)
            held = op.held_watermark()
            if held is not None and held - 1 < watermark:
                watermark = held - 1
            carried = released
        if carried:
            self._emit(chain, carried, now, out)
        for link in chain.children:
            self._advance_link(link, watermark, idle, now, out)

    def _finish(self) -> Iterator[RoundOutput]:
        """End of input: views release and close everything, top down; then every pattern
        sees the end of time (in the file's order of patterns). A round per slice that an
        operator releases, so that the outputs take them one by one."""
        now = time.monotonic()
        for stream in self.streams.values():
            for chain, _, _ in stream.children:
                yield from self._finish_views(chain, now)
        for name in self.plan.patterns:
            yield from self._drain(self.chains[f"pattern {name}"], 0, now)

    def _finish_views(self, chain: _Chain, now: float) -> Iterator[RoundOutput]:
        if not chain.name.startswith("view "):
            return
        chain.finished_links += 1
        if chain.finished_links < chain.links:
            return  # an input is still releasing what it holds: it comes back here
        for index in range(len(chain.ops)):
            yield from self._drain(chain, index, now)
        for child, _, _ in chain.children:
            yield from self._finish_views(child, now)

    def _drain(self, chain: _Chain, index: int, now: float) -> Iterator[RoundOutput]:
        """Everything operator `index` of `chain` still holds, slice by slice, through the
        rest of the chain and on downstream."""
        while True:
            out = RoundOutput()
            self.registry.maintain()
            batch = chain.ops[index].finish()
            released = bool(batch)
            for op in chain.ops[index + 1 :]:
                if not batch:
                    break
                batch = op.process(batch, now)
            if batch:
                self._emit(chain, batch, now, out)
            self._take_side_outputs(out)
            if out:
                yield out
            if not released:
                return

    # ------------------------------------------------------------------ accounting
    def _totals(self, name: str) -> _Totals:
        """What became of the input records on their way to the end of `name` (a stream or a
        view): filtered, dead letters, late, dropped and held by the views between, up to a
        window, a join or a lookup's table, which take records in (`aggregated`) and send
        on other records (windows, pairs), which are not counted again."""
        if name not in self.plan.views:
            c = self.streams[name].counters
            return _Totals(c.records_in, c.late, c.dead_letters)
        view = self.plan.views[name]
        totals = _Totals()
        for index, op in enumerate(view.operators):
            branches = [link for link in view.inputs if link.op == index]
            if index and branches:  # a lookup: the records so far feed port 0
                branches.append(ViewInput(index, 0, ""))
            passes = []
            for link in branches:
                branch = self._totals(link.name) if link.name else _Totals(passes=totals.passes)
                consumed = getattr(op, "consumed", None)
                taken = consumed(link.port) if consumed is not None else None
                if taken is not None and branch.passes:
                    branch.aggregated = (branch.aggregated or 0) + taken
                    branch.takers.append(op.name.rsplit(":", 1)[-1])
                    branch.passes = False
                passes.append(branch.passes)
                if link.name:
                    totals.add(branch)
            if branches:
                totals.passes = any(passes)
            counts = op.counts()
            totals.late += counts.get("late", 0)
            totals.dead_letters += counts.get("dead_letters", 0)
            if not totals.passes and not hasattr(op, "consumed"):
                continue  # after a window or a join: its records are not input records
            totals.filtered += counts.get("filtered", 0)
            totals.dropped += counts.get("dropped", 0)
            totals.held += op.held_records()
            if "aggregated" in counts and totals.passes:
                totals.aggregated = (totals.aggregated or 0) + counts["aggregated"]
                totals.takers.append("window")
                totals.passes = False
        return totals

    def summary(self) -> list[PatternSummary]:
        rows = []
        for pattern in self.plan.patterns.values():
            upstream = self._totals(pattern.source)
            counts = pattern.operator.counts()
            passes = upstream.passes
            rows.append(
                PatternSummary(
                    name=pattern.name,
                    records_in=upstream.records_in,
                    processed=counts["processed"],
                    matches=counts["matches"],
                    timeouts=counts["timeouts"],
                    late=upstream.late,
                    dead_letters=upstream.dead_letters,
                    filtered=upstream.filtered,
                    held=upstream.held + (counts["held"] if passes else 0),
                    dropped=upstream.dropped + (counts["dropped"] if passes else 0),
                    dropped_partial_matches=counts["dropped_partial_matches"],
                    ttl_expired=counts["ttl_expired"],
                    aggregated=upstream.aggregated,
                    passes=passes,
                )
            )
        return rows

    def view_summary(self) -> list[ViewSummary]:
        """The views whose records are an output (--view)."""
        rows = []
        for name in self.plan.output_views:
            upstream = self._totals(name)
            rows.append(
                ViewSummary(
                    name=name,
                    records_in=upstream.records_in,
                    records_out=self.chains[f"view {name}"].records_out,
                    late=upstream.late,
                    dead_letters=upstream.dead_letters,
                    filtered=upstream.filtered,
                    held=upstream.held,
                    dropped=upstream.dropped,
                    aggregated=upstream.aggregated,
                    passes=upstream.passes,
                    takers=tuple(upstream.takers),
                )
            )
        return rows

    def operators(self) -> list[Any]:
        """Every view operator of the run (the summary asks score operators for their stats)."""
        return [op for view in self.plan.views.values() for op in view.operators]

    # ------------------------------------------------------------------ checkpoints
    def snapshot_into(self, batch: WriteBatch) -> None:
        """Every operator's state that changed since the last checkpoint (the registry's)."""
        self.registry.snapshot_into(batch)

    def restore_from(self, backend: StateBackend) -> list[str]:
        """Operator state from the backend's live state (just restored from a checkpoint).

        A view or pattern whose declaration (or any declaration upstream of it) changed since
        the checkpoint starts afresh: its old state may not fit the new one. A pattern of which
        only the pattern itself changed keeps the events that were waiting for the watermark:
        they were read, not yet matched. Returns a note for the person for each change."""
        assert backend is self.registry.backend
        return self.registry.restore()

    def watermarks(self) -> dict[str, int]:
        return {name: s.tracker.current for name, s in self.streams.items()}

    def open_partial_matches(self) -> int:
        return sum(
            len(ks.runs)
            for p in self.plan.patterns.values()
            for ks in p.operator.matcher.keys.values()
        )

    def close(self) -> None:
        for inp in self.inputs:
            inp.source.close()
