"""The run loop: sources -> event time -> operator chains -> outputs (ARCHITECTURE.md, data flow).

One thread, batches on the hot path. Each round polls every source once, stamps the records with
their event time (late ones go to the late output, undecodable ones to the dead letters), pushes
them through the operator chains below their stream — views (where, select, score, window) and
patterns, all on the one operator contract of gress_cep.operators.base — then advances each
stream's watermark down the same chains. `rounds()` yields what each round produced; the CLI
writes it to sinks, the Python API hands matches to the caller.

State belongs to the runtime: every operator gets its keyed state, timers and values from one
StateRegistry (gress_cep.state.operator_state), which checkpoints and restores them all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gress_cep.connectors.base import Batch, DeadLetter, Source
from gress_cep.operators.base import Operator, Timed
from gress_cep.runtime.event_time import describe, to_epoch_ms
from gress_cep.runtime.gc_tuning import fewer_collections
from gress_cep.runtime.plan import Plan, StreamPlan
from gress_cep.runtime.watermarks import NO_WATERMARK, WatermarkTracker
from gress_cep.state.backend import StateBackend, WriteBatch
from gress_cep.state.operator_state import Restored, StateRegistry

Record = dict[str, Any]
NO_LIMIT = 2**64  # a lateness that never moves the watermark: ts - 2**64 < NO_WATERMARK


@dataclass(slots=True)
class RoundOutput:
    """What one round produced, by output."""

    matches: list[Record] = field(default_factory=list)  # and the records of selected views
    timeouts: list[Record] = field(default_factory=list)
    late: list[Record] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.matches or self.timeouts or self.late or self.dead_letters)


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

    @property
    def used(self) -> int:
        """The records that reached the pattern, or the window before it."""
        return self.processed if self.aggregated is None else self.aggregated


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
    aggregated: int | None = None

    @property
    def used(self) -> int:
        return self.records_out if self.aggregated is None else self.aggregated


class _Input:
    """One source of a stream, with its index in the stream's watermark tracker."""

    __slots__ = ("index", "source", "stream")

    def __init__(self, stream: _StreamNode, source: Source, index: int) -> None:
        self.stream = stream
        self.source = source
        self.index = index


class _Chain:
    """Operators in a row (a view's, or a pattern's one); what the last one sends on goes to
    the chains reading it and, when it is an output (`output` set), to the matches output."""

    __slots__ = ("children", "name", "ops", "output", "records_out", "tag")

    def __init__(self, name: str, ops: list[Operator]) -> None:
        self.name = name  # "view NAME", "pattern NAME"
        self.ops = ops
        self.children: list[_Chain] = []
        self.output = False
        self.tag: tuple[str, str] | None = None  # (field, value) added to each output record
        self.records_out = 0


class _StreamNode:
    """A stream at run time: event-time stamping, lateness, the watermark, its readers."""

    def __init__(self, plan: StreamPlan) -> None:
        self.plan = plan
        self.tracker = WatermarkTracker(plan.lateness_ms, plan.idle_timeout_s)
        self.counters = StreamCounters()
        self.children: list[_Chain] = []
        self.input_count = 0

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
        self._open()

    # ------------------------------------------------------------------ wiring
    def _wire(self, inputs: dict[str, list[Source]]) -> None:
        plan = self.plan
        roots = [p.root for p in plan.patterns.values()]
        roots += [plan.root_of(name) for name in plan.output_views]
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
            self._parent(pattern.source).children.append(chain)  # patterns first (see _tick)
        for name, view in plan.views.items():
            self._parent(view.source).children.append(self.chains[f"view {name}"])
        for name, sources in inputs.items():
            stream = self.streams.get(name)
            if stream is None:
                continue  # an input nothing selected reads
            for source in sources:
                index = len(self.inputs)
                stream.tracker.add_input(index, source.partitions())
                stream.input_count += 1
                self.inputs.append(_Input(stream, source, index))

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

    def _ingest(self, inp: _Input, batch: Batch, out: RoundOutput) -> None:
        stream = inp.stream
        counters = stream.counters
        counters.records_in += len(batch.records) + len(batch.dead)
        if batch.dead:
            counters.dead_letters += len(batch.dead)
            out.dead_letters.extend(batch.dead)
        if not batch.records:
            return
        timed = self._stamp(inp, batch, out)
        if timed:
            now = time.monotonic()
            for chain in stream.children:
                self._push(chain, timed, now, out)

    def _stamp(self, inp: _Input, batch: Batch, out: RoundOutput) -> list[Timed]:
        """Event time for each record; late and timeless records leave here."""
        stream = inp.stream
        field_name = stream.plan.time_field
        records = batch.records
        now = time.monotonic()
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
        timed: list[Timed] = []
        append = timed.append
        late = out.late
        # two loops, one per input shape: this is per-record work on every event, and the
        # unpartitioned one (files, the Python API) keeps its high mark in a local
        if batch.partitions is None:
            high = NO_WATERMARK
            for record in records:
                ts = record.get(field_name)
                if type(ts) is not int:
                    ts = self._event_time(stream, record, ts, out)
                    if ts is None:
                        continue
                if ts < watermark:
                    late.append(record)
                    stream.counters.late += 1
                    continue
                if ts > high:
                    high = ts
                    if ts - lateness > watermark:  # never with several inputs (NO_LIMIT)
                        watermark = ts - lateness
                append((ts, record))
            if high != NO_WATERMARK:
                tracker.observe_max(inp.index, 0, high, now)
            if single and watermark > tracker.current:
                tracker.current = watermark
            return timed
        highs: dict[int, int] = {}
        for record, p in zip(records, batch.partitions, strict=True):
            ts = record.get(field_name)
            if type(ts) is not int:
                ts = self._event_time(stream, record, ts, out)
                if ts is None:
                    continue
            if ts < watermark:
                late.append(record)
                stream.counters.late += 1
                continue
            if ts > highs.get(p, NO_WATERMARK):
                highs[p] = ts
            append((ts, record))
        for p, ts in highs.items():
            tracker.observe_max(inp.index, p, ts, now)
        return timed

    @staticmethod
    def _event_time(
        stream: _StreamNode, record: Record, value: Any, out: RoundOutput
    ) -> int | None:
        """A time field's `value` that is not epoch milliseconds already; None (and a dead
        letter) when it is missing or not a time."""
        field_name = stream.plan.time_field
        ts = to_epoch_ms(value)
        if ts is None:
            out.dead_letters.append(
                DeadLetter(
                    None, f"time field '{field_name}' {describe(value)}", stream.plan.name, record
                )
            )
            stream.counters.dead_letters += 1
        return ts

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
        for child in chain.children:
            self._push(child, batch, now, out)

    def _tick(self, out: RoundOutput) -> None:
        """Wall-clock timers and the watermarks, from the streams down every chain."""
        now = time.monotonic()
        self.registry.maintain()
        for stream in self.streams.values():
            if stream.plan.time_field is None and not stream.tracker.finished:
                # processing time: the watermark is the wall clock
                stream.tracker.observe_max(-1, 0, int(time.time() * 1000), now)
            watermark = stream.tracker.advance(now)
            for chain in stream.children:
                self._advance(chain, watermark, now, out)

    def _advance(self, chain: _Chain, watermark: int, now: float, out: RoundOutput) -> None:
        """Each operator sees the watermark, held back by what the operators before it still
        hold (a record held at time t keeps everything after it below t), and what the ones
        before it released; the chains reading this one see what is left of the watermark."""
        carried: list[Timed] = []
        for op in chain.ops:
            released = op.process(carried, now) if carried else []
            released += op.on_timer(now)
            released += op.on_watermark(watermark, now)
            held = op.held_watermark()
            if held is not None and held - 1 < watermark:
                watermark = held - 1
            carried = released
        if carried:
            self._emit(chain, carried, now, out)
        for child in chain.children:
            self._advance(child, watermark, now, out)

    def _finish(self) -> Iterator[RoundOutput]:
        """End of input: views release and close everything, top down; then every pattern
        sees the end of time (in the file's order of patterns). A round per slice that an
        operator releases, so that the outputs take them one by one."""
        now = time.monotonic()
        for stream in self.streams.values():
            for chain in stream.children:
                yield from self._finish_views(chain, now)
        for name in self.plan.patterns:
            yield from self._drain(self.chains[f"pattern {name}"], 0, now)

    def _finish_views(self, chain: _Chain, now: float) -> Iterator[RoundOutput]:
        if not chain.name.startswith("view "):
            return
        for index in range(len(chain.ops)):
            yield from self._drain(chain, index, now)
        for child in chain.children:
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
    def _upstream_counts(self, source: str) -> dict[str, Any]:
        """filtered, dead letters, dropped and held records of the views from a stream to
        `source`, up to the first window: after it, records are windows, not input records
        (`aggregated`: how many input records the window took, None without a window)."""
        totals: dict[str, Any] = {"filtered": 0, "dead_letters": 0, "dropped": 0, "held": 0}
        totals["aggregated"] = None
        for view in self.plan.chain(source):
            for op in view.operators:
                counts = op.counts()
                for name in ("filtered", "dead_letters", "dropped"):
                    totals[name] += counts.get(name, 0)
                totals["held"] += op.held_records()
                if "aggregated" in counts:
                    totals["aggregated"] = counts["aggregated"]
                    return totals
        return totals

    def summary(self) -> list[PatternSummary]:
        rows = []
        for pattern in self.plan.patterns.values():
            stream = self.streams[pattern.root].counters
            upstream = self._upstream_counts(pattern.source)
            counts = pattern.operator.counts()
            window = upstream["aggregated"] is not None
            rows.append(
                PatternSummary(
                    name=pattern.name,
                    records_in=stream.records_in,
                    processed=counts["processed"],
                    matches=counts["matches"],
                    timeouts=counts["timeouts"],
                    late=stream.late,
                    dead_letters=stream.dead_letters + upstream["dead_letters"],
                    filtered=upstream["filtered"],
                    held=upstream["held"] + (0 if window else counts["held"]),
                    dropped=upstream["dropped"] + (0 if window else counts["dropped"]),
                    dropped_partial_matches=counts["dropped_partial_matches"],
                    ttl_expired=counts["ttl_expired"],
                    aggregated=upstream["aggregated"],
                )
            )
        return rows

    def view_summary(self) -> list[ViewSummary]:
        """The views whose records are an output (--view)."""
        rows = []
        for name in self.plan.output_views:
            stream = self.streams[self.plan.root_of(name)].counters
            upstream = self._upstream_counts(name)
            rows.append(
                ViewSummary(
                    name=name,
                    records_in=stream.records_in,
                    records_out=self.chains[f"view {name}"].records_out,
                    late=stream.late,
                    dead_letters=stream.dead_letters + upstream["dead_letters"],
                    filtered=upstream["filtered"],
                    held=upstream["held"],
                    dropped=upstream["dropped"],
                    aggregated=upstream["aggregated"],
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
