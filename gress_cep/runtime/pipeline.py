"""The run loop: sources -> event time -> views -> patterns -> outputs (ARCHITECTURE.md, data flow).

One thread, batches on the hot path. Each round polls every source once, stamps the records with
their event time (late ones go to the late output, undecodable ones to the dead letters), pushes
them through the views into the patterns' buffers, then advances each stream's watermark and
lets the patterns process what the watermark released. `rounds()` yields what each round
produced; the CLI writes it to sinks, the Python API hands matches to the caller.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator
from dataclasses import astuple, dataclass, field
from typing import Any

from gress_cep.connectors.base import Batch, DeadLetter, Source
from gress_cep.operators.base import Timed
from gress_cep.operators.pattern import PatternOperator
from gress_cep.runtime.event_time import describe, to_epoch_ms
from gress_cep.runtime.gc_tuning import fewer_collections
from gress_cep.runtime.plan import Plan, StreamPlan, ViewPlan
from gress_cep.runtime.watermarks import NO_WATERMARK, WatermarkTracker
from gress_cep.state.backend import StateBackend, WriteBatch

Record = dict[str, Any]
NO_LIMIT = 2**64  # a lateness that never moves the watermark: ts - 2**64 < NO_WATERMARK

# state tables of a pipeline
STREAMS = "streams"
VIEWS = "views"
PATTERNS = "patterns"
FINGERPRINTS = "fingerprints"


@dataclass(slots=True)
class RoundOutput:
    """What one round produced, by output."""

    matches: list[Record] = field(default_factory=list)
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


class _Input:
    """One source of a stream, with its index in the stream's watermark tracker."""

    __slots__ = ("index", "source", "stream")

    def __init__(self, stream: _StreamNode, source: Source, index: int) -> None:
        self.stream = stream
        self.source = source
        self.index = index


class _StreamNode:
    """A stream at run time: event-time stamping, lateness, the watermark, its consumers."""

    def __init__(self, plan: StreamPlan) -> None:
        self.plan = plan
        self.tracker = WatermarkTracker(plan.lateness_ms, plan.idle_timeout_s)
        self.counters = StreamCounters()
        self.views: list[_ViewNode] = []
        self.patterns: list[PatternOperator] = []
        self.input_count = 0


@dataclass(slots=True)
class ViewCounts:
    filtered: int = 0
    dead_letters: int = 0
    dropped: int = 0  # held inside when a restart found the view changed


class _ViewNode:
    def __init__(self, plan: ViewPlan) -> None:
        self.plan = plan
        self.views: list[_ViewNode] = []
        self.patterns: list[PatternOperator] = []
        # what the view's operators counted before a restart that found the view changed
        self.carried = ViewCounts()

    def counts(self) -> ViewCounts:
        counts = ViewCounts(*astuple(self.carried))
        for op in self.plan.operators:
            counts.filtered += getattr(op, "filtered", 0)
            counts.dead_letters += getattr(op, "dead_letters", 0)
        return counts

    def held(self) -> int | None:
        marks = [m for op in self.plan.operators if (m := op.held_watermark()) is not None]
        return min(marks) if marks else None


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
        self.views: dict[str, _ViewNode] = {}
        self.inputs: list[_Input] = []
        self.stopping = False
        self._wire(inputs)
        if backend is not None:
            for pattern in plan.patterns.values():
                pattern.operator.attach_state(backend, max_keys_in_memory)

    # ------------------------------------------------------------------ wiring
    def _wire(self, inputs: dict[str, list[Source]]) -> None:
        needed = {p.root for p in self.plan.patterns.values()}
        for name in needed:
            self.streams[name] = _StreamNode(self.plan.streams[name])
        for name, view_plan in self.plan.views.items():
            self.views[name] = _ViewNode(view_plan)
        for node in self.views.values():
            parent = self.views.get(node.plan.source) or self.streams[node.plan.source]
            parent.views.append(node)
        for pattern in self.plan.patterns.values():
            parent = self.views.get(pattern.source) or self.streams[pattern.source]
            parent.patterns.append(pattern.operator)
        for name, sources in inputs.items():
            stream = self.streams.get(name)
            if stream is None:
                continue  # an input no selected pattern reads
            for source in sources:
                index = len(self.inputs)
                stream.tracker.add_input(index, source.partitions())
                stream.input_count += 1
                self.inputs.append(_Input(stream, source, index))

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
            yield out  # even when empty: the caller updates progress and commits between rounds
        out = RoundOutput()
        if not self.stopping:
            self._finish(out)
        yield out

    def stop(self) -> None:
        """Stop after the current round (Ctrl-C / SIGTERM): outputs so far are kept."""
        self.stopping = True

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
            self._push(stream, timed, time.monotonic())

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

    def _push(self, node: _StreamNode | _ViewNode, batch: list[Timed], now: float) -> None:
        for pattern in node.patterns:
            pattern.add(batch)
        for view in node.views:
            self._push_view(view, batch, now)

    def _push_view(self, view: _ViewNode, batch: list[Timed], now: float) -> None:
        for op in view.plan.operators:
            batch = op.process(batch, now)
            if not batch:
                return
        self._push(view, batch, now)

    def _tick(self, out: RoundOutput) -> None:
        """Timers, then watermarks, from the streams down to the patterns."""
        now = time.monotonic()
        for pattern in self.plan.patterns.values():
            pattern.operator.maintain()
        for stream in self.streams.values():
            self._drive(stream, now, lambda op: op.on_timer(now))
            if stream.plan.time_field is None and not stream.tracker.finished:
                # processing time: the watermark is the wall clock
                stream.tracker.observe_max(-1, 0, int(time.time() * 1000), now)
            watermark = stream.tracker.advance(now)
            self._watermark(stream, watermark, out, now)

    def _drive(self, node: _StreamNode | _ViewNode, now: float, release: Any) -> None:
        """Let every view operator below `node` release what it holds (`release(op)`), pass
        the released records through the rest of its chain and on downstream."""
        for view in node.views:
            out: list[Timed] = []
            for op in view.plan.operators:
                passed = op.process(out, now) if out else []
                out = passed + release(op)
            if out:
                self._push(view, out, now)
            self._drive(view, now, release)

    def _watermark(
        self, node: _StreamNode | _ViewNode, watermark: int, out: RoundOutput, now: float
    ) -> None:
        self._drive_watermark(node, watermark, now)
        self._patterns_at(node, watermark, out)

    def _drive_watermark(self, node: _StreamNode | _ViewNode, watermark: int, now: float) -> None:
        for view in node.views:
            released: list[Timed] = []
            for op in view.plan.operators:
                passed = op.process(released, now) if released else []
                released = passed + op.on_watermark(watermark)
            if released:
                self._push(view, released, now)
            self._drive_watermark(view, watermark, now)

    def _patterns_at(self, node: _StreamNode | _ViewNode, watermark: int, out: RoundOutput) -> None:
        """Patterns see the watermark minus whatever their views still hold."""
        for pattern in node.patterns:
            matches, timeouts = pattern.on_watermark(watermark)
            out.matches.extend(matches)
            out.timeouts.extend(timeouts)
        for view in node.views:
            held = view.held()
            self._patterns_at(view, watermark if held is None else min(watermark, held - 1), out)

    def _finish(self, out: RoundOutput) -> None:
        """End of input: operators release everything, patterns see the end of time (their
        `finish` processes what waits for the watermark and closes every window at once)."""
        now = time.monotonic()
        for stream in self.streams.values():
            self._drive(stream, now, lambda op: op.flush())
        for pattern in self.plan.patterns.values():
            matches, timeouts = pattern.operator.finish()
            out.matches.extend(matches)
            out.timeouts.extend(timeouts)

    # ------------------------------------------------------------------ accounting
    def summary(self) -> list[PatternSummary]:
        rows = []
        for pattern in self.plan.patterns.values():
            stream = self.streams[pattern.root].counters
            filtered = 0
            dead = stream.dead_letters
            dropped = pattern.operator.counters.dropped
            for view in self.plan.chain(pattern.source):
                counts = self.views[view.name].counts()
                filtered += counts.filtered
                dead += counts.dead_letters
                dropped += counts.dropped
            matching = pattern.operator
            rows.append(
                PatternSummary(
                    name=pattern.name,
                    records_in=stream.records_in,
                    processed=matching.counters.processed,
                    matches=matching.counters.matches,
                    timeouts=matching.counters.timeouts,
                    late=stream.late,
                    dead_letters=dead,
                    filtered=filtered,
                    held=matching.held_events(),
                    dropped=dropped,
                    dropped_partial_matches=matching.matcher.stats.dropped_runs,
                    ttl_expired=matching.matcher.stats.ttl_expired,
                )
            )
        return rows

    def operators(self) -> list[Any]:
        """Every view operator of the run (the summary asks score operators for their stats)."""
        return [op for view in self.plan.views.values() for op in view.operators]

    # ------------------------------------------------------------------ checkpoints
    def snapshot_into(self, batch: WriteBatch) -> None:
        """Every operator's state, as puts and deletes into `batch` (keyed pattern state:
        only the keys that changed since the last snapshot)."""
        for name, node in self.streams.items():
            state = {"tracker": node.tracker.snapshot(), "counters": astuple(node.counters)}
            batch.put(STREAMS, name.encode(), pickle.dumps(state, protocol=5))
        for name, view in self.views.items():
            saved = {
                "fingerprint": view.plan.fingerprint,
                "operators": [op.snapshot() for op in view.plan.operators],
                "carried": astuple(view.carried),
                "counts": astuple(view.counts()),
                "held": sum(op.held_records() for op in view.plan.operators),
            }
            batch.put(VIEWS, name.encode(), pickle.dumps(saved, protocol=5))
        for pattern in self.plan.patterns.values():
            pattern.operator.snapshot_into(batch, PATTERNS)
            prints = {"pattern": pattern.fingerprint, "source": pattern.source_fingerprint}
            batch.put(FINGERPRINTS, pattern.name.encode(), pickle.dumps(prints, protocol=5))

    def restore_from(self, backend: StateBackend) -> list[str]:
        """Operator state from the backend's live state (just restored from a checkpoint).

        A view or pattern whose declaration (or any declaration upstream of it) changed since
        the checkpoint starts afresh: its old state may not fit the new one. A pattern of which
        only the pattern itself changed keeps the events that were waiting for the watermark:
        they were read, not yet matched. Returns a note for the person for each change."""
        for name, node in self.streams.items():
            data = backend.table(STREAMS).get(name.encode())
            if data is not None:
                state = pickle.loads(data)
                node.tracker.restore(state["tracker"])
                node.counters = StreamCounters(*state["counters"])
        notes = []
        for name, view in self.views.items():
            data = backend.table(VIEWS).get(name.encode())
            if data is None:
                continue
            saved = pickle.loads(data)
            if saved["fingerprint"] == view.plan.fingerprint:
                view.carried = ViewCounts(*saved["carried"])
                for op, state in zip(view.plan.operators, saved["operators"], strict=True):
                    op.restore(state)
                continue
            # its old counts still belong in the summary; what it held is gone with it
            view.carried = ViewCounts(*saved["counts"])
            view.carried.dropped += saved["held"]
            note = f"view {name} changed since that checkpoint: it starts afresh"
            if saved["held"]:
                note += f" ({saved['held']:,} records it held are dropped with it)"
            notes.append(note)
        for name, pattern in self.plan.patterns.items():
            prints = backend.table(FINGERPRINTS).get(name.encode())
            data = backend.table(PATTERNS).get(name.encode())
            if data is None or prints is None:
                continue
            saved_prints = pickle.loads(prints)
            if saved_prints["pattern"] == pattern.fingerprint:
                pattern.operator.restore_from(pickle.loads(data))
                continue
            same_input = saved_prints["source"] == pattern.source_fingerprint
            dropped = pattern.operator.start_afresh(pickle.loads(data), backend, same_input)
            note = f"pattern {name} changed since that checkpoint: it starts afresh"
            if dropped:
                note += f" ({dropped:,} records it had not matched yet are dropped with it)"
            notes.append(note)
        return notes

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
