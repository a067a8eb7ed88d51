"""`window ... | aggregate ... [| having ...]` in a view: records in, one record per closed window.

The semantics are Flink's DataStream windows in event time (docs/language.md §4, "Window
semantics"): a time window [start, end) closes when the watermark reaches `end` (no record
before `end` can come any more) and is emitted with event time `end - 1`; a count window closes
with its N-th record in event-time order. Every window kind keeps one accumulator
(operators/aggregates.py) per open window, so a record costs O(1) whatever the window's length:

- tumbling and sliding windows keep *panes* of gcd(size, step): a record updates one pane, and
  a window merges its size/gcd panes when it closes (a sliding window costs per record what a
  tumbling one does). A timer per window end says which key has a window to close; a pane
  leaves once the last window that covers it closed, a key once it has no pane left.
- session windows keep a key's open sessions; a record merges every session it touches, so the
  result does not depend on the order in which records arrive. A session closes once the
  watermark has passed its end. One timer per key, at its earliest session's close, is armed
  again when it fires early.
- count windows number a key's records in event-time order (an EventTimeBuffer holds them until
  the watermark passes them) and keep panes of gcd(N, M) records.

Output is ordered by window end, then by the key's encoding (count windows: by their last
record), whatever the batches and watermarks were: an uninterrupted run, a resumed one and any
split of the input into batches give the same records in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gress_cep.connectors.base import Record
from gress_cep.connectors.validation import describe
from gress_cep.dsl import ast
from gress_cep.dsl.expressions import (
    WindowAggregates,
    compile_record_predicate,
    compile_window_item,
    expression_text,
    output_name,
)
from gress_cep.dsl.functions import WINDOW_AGGREGATES, is_scalar_call
from gress_cep.operators.aggregates import (
    TS_MAX,
    TS_MIN,
    Acc,
    Accumulators,
    AggregateSpec,
)
from gress_cep.operators.base import Timed, view_dead_letter
from gress_cep.operators.ordering import EventTimeBuffer
from gress_cep.state import data_codec
from gress_cep.state.keys import encode_key
from gress_cep.state.operator_state import (
    KeyedState,
    OperatorContext,
    Restored,
    StateCodec,
    Timers,
)

MAX_WATERMARK = 2**63 - 1  # end of input: every time window closes
FINISH_SLICE = 10_000  # timers whose windows close in one slice at the end of input
_MISSING = object()  # a `by` field absent from a record
_KEY_TYPES = (str, int, float, bytes)  # what a group key's parts may be (bool is an int)
_NO_PANE = -(2**63)  # the head of a time window's key before its first pane (not None: a
# value without nulls takes data_codec's fast form)

# A key's state is a list [key, head, windows]: the key as its first record gave it (so that
# the `by` fields come out as they went in, also after a spill, where keys are re-decoded),
# an int or None whose meaning depends on the window kind, and its open windows.
KEY, HEAD, WINDOWS = 0, 1, 2


@dataclass(slots=True)
class _Item:
    """One `aggregate` item: its output name, and either the index of the aggregate it is, or
    the function that computes it from the window's results and `by` fields."""

    name: str
    index: int
    compute: Callable[[Record, list[Any]], Any] | None


def _record_source(acc: Accumulators, key_fields: tuple[str, ...], items: list[_Item]) -> list[str]:
    """Statements that make a closed window's output record `r` from its group `g` (as the
    key's first record gave it), bounds `start` and `end` and accumulator `a`: the `by`
    fields, the bounds, then the items (an item that is an aggregate reads its slots
    directly; one computed from the record sees the fields before it)."""
    if len(key_fields) == 1:
        group = [f"{key_fields[0]!r}: g"]
    else:
        group = [f"{field!r}: g[{i}]" for i, field in enumerate(key_fields)]
    literal = [*group, "'window_start': start", "'window_end': end"]
    assigned: list[str] = []  # from the first computed item on: one by one, in order
    for n, item in enumerate(items):
        if item.compute is None:
            value = acc.result_source(item.index)
        else:
            acc.namespace[f"_item{n}"] = item.compute
            value = f"_item{n}(r, x)"
            if not assigned:
                acc.namespace["results"] = acc.results
                assigned.append("x = results(a)")
        if assigned:
            assigned.append(f"r[{item.name!r}] = {value}")
        else:
            literal.append(f"{item.name!r}: {value}")
    return ["r = {" + ", ".join(literal) + "}", *assigned]


class WindowOperator:
    """What every window kind shares: keys, dead letters, the output record, counts, state.
    Subclasses place records into windows and close them."""

    keys: KeyedState[list[Any]]  # group key -> [key, head, windows] (see KEY, HEAD, WINDOWS)
    timers: Timers

    def __init__(
        self,
        name: str,
        view: str,
        key_fields: tuple[str, ...],
        nullable: frozenset[str],
        accumulators: Accumulators,
        items: list[_Item],
        having: Callable[[Record], bool] | None,
    ) -> None:
        self.name = name
        self.view = view
        self.key_fields = key_fields
        self.nullable = nullable
        self.acc = accumulators
        self._record_lines = _record_source(accumulators, key_fields, items)
        self._record: Callable[[Any, int, int, Acc], Record] = accumulators.compile(
            "make_record", "g, start, end, a", [*self._record_lines, "return r"]
        )
        self.having = having
        self.windows = 0  # emitted
        self.filtered_windows = 0  # closed, but `having` was false
        self.dead_letters = 0
        self.aggregated = 0  # records added to windows
        self.seq = 0  # arrival number of the next record (first/last break ties with it)
        self._ctx: OperatorContext | None = None

    # ------------------------------------------------------------------ the contract
    def open(self, ctx: OperatorContext) -> None:
        self._ctx = ctx
        self.keys = ctx.keyed("windows", StateCodec(1, self._encode, self._decode))
        self.timers = ctx.timers()
        ctx.value("meta", self._snapshot, self._restore)

    def process(self, batch: list[Timed], now: float) -> list[Timed]:
        raise NotImplementedError

    def on_watermark(self, watermark: int, now: float) -> list[Timed]:
        # the end of time (an input that ended) closes every window: in slices, as finish()
        return self._close(watermark, FINISH_SLICE if watermark >= MAX_WATERMARK else None)

    def on_timer(self, now: float) -> list[Timed]:
        return []

    def finish(self) -> list[Timed]:
        """End of input: every window closes, the windows of FINISH_SLICE timers at a time
        (the runtime calls again until nothing is left), so that a million windows still
        open at the end are not all in memory at once."""
        return self._close(MAX_WATERMARK, FINISH_SLICE)

    def _close(self, watermark: int, limit: int | None) -> list[Timed]:
        """The windows the watermark closes (with `limit`: those of the earliest timers)."""
        raise NotImplementedError

    def held_watermark(self) -> int | None:
        return None  # what a window emits is never older than what it holds

    def held_records(self) -> int:
        return 0

    def counts(self) -> dict[str, int]:
        return {
            "filtered_windows": self.filtered_windows,
            "dead_letters": self.dead_letters,
            "windows": self.windows,
            "aggregated": self.aggregated,
        }

    # ------------------------------------------------------------------ keys
    def _group(self, batch: Iterable[Timed]) -> dict[Any, list[Timed]]:
        """The batch's records by group key, each group in arrival order; a record without a
        usable key goes to the dead letters."""
        groups: dict[Any, list[Timed]] = {}
        fields = self.key_fields
        if not fields:
            groups[None] = list(batch)
            return groups
        key_of = self._key
        if len(fields) > 1:
            for item in batch:
                key = key_of(item[1])
                if key is not _MISSING:
                    groups.setdefault(key, []).append(item)
            return groups
        field = fields[0]
        get = groups.get
        for item in batch:
            key = item[1].get(field, _MISSING)
            if type(key) is not str and type(key) is not int:  # the common keys pass at once
                key = key_of(item[1])
                if key is _MISSING:
                    continue
            group = get(key)
            if group is None:
                groups[key] = [item]
            else:
                group.append(item)
        return groups

    def _key(self, record: Record) -> Any:
        """The group key of `record`, or _MISSING (and a dead letter) when it has none."""
        parts = []
        for field in self.key_fields:
            value = record.get(field, _MISSING)
            if value is _MISSING:
                if field not in self.nullable:
                    self._dead(record, f"the record has no '{field}', which the window groups by")
                    return _MISSING
                value = None
            elif value is not None and not isinstance(value, _KEY_TYPES):
                self._dead(
                    record,
                    f"the window groups by '{field}', which is {describe(value)}: a group is "
                    "a string, a number, a bool or null",
                )
                return _MISSING
            parts.append(value)
        return parts[0] if len(parts) == 1 else tuple(parts)

    # ------------------------------------------------------------------ output
    def _emit(self, key: Any, start: int, end: int, acc: Acc, ts: int, out: list[Timed]) -> None:
        """The output record of a closed window, unless `having` drops it."""
        record = self._record(key, start, end, acc)
        if self.having is not None and not self.having(record):
            self.filtered_windows += 1
            return
        self.windows += 1
        out.append((ts, record))

    def _merged(self, windows: dict[int, Acc], lo: int, hi: int) -> Acc | None:
        """The panes lo..hi-1 (those that hold records) merged, for reading only: a window of
        one pane is that pane."""
        if hi - lo <= len(windows):
            present = [windows[p] for p in range(lo, hi) if p in windows]
        else:
            present = [windows[p] for p in sorted(windows) if lo <= p < hi]
        if len(present) < 2:
            return present[0] if present else None
        merged = self.acc.copy(present[0])
        merge = self.acc.merge
        for other in present[1:]:
            merge(merged, other)
        return merged

    # ------------------------------------------------------------------ dead letters
    def _dead(self, record: Record, reason: str) -> None:
        self.dead_letters += 1
        assert self._ctx is not None, "open() comes first"
        self._ctx.dead_letter(view_dead_letter(self.view, record, reason))

    def _rejected(self, record: Record, index: int, value: Any) -> None:
        """A record whose value aggregate `index` cannot take."""
        spec = self.acc.specs[index]
        assert spec.arg is not None  # count() takes every record
        argument = expression_text(spec.arg)
        self._dead(
            record,
            f"{spec.text} needs {self.acc.expected(index)}, but {argument} is {describe(value)}",
        )

    # ------------------------------------------------------------------ state
    def _encode(self, value: list[Any]) -> bytes:
        key, head, windows = value
        if isinstance(windows, dict):
            windows = list(windows.items())
        return data_codec.dumps([key, head, windows])

    def _decode(self, raw: bytes) -> list[Any]:
        key, head, windows = data_codec.loads(raw)  # a tuple key comes back as a list: it
        return [key, head, self._windows_from(windows)]  # is only zipped with the `by` names

    def _windows_from(self, stored: list[Any]) -> Any:
        """A key's windows as `_encode` stored them (panes: a list of pairs)."""
        return {pane: acc for pane, acc in stored}

    def _snapshot(self) -> Any:
        return {
            "seq": self.seq,
            "windows": self.windows,
            "filtered_windows": self.filtered_windows,
            "dead_letters": self.dead_letters,
            "aggregated": self.aggregated,
            "pending": self._pending_snapshot(),
        }

    def _restore(self, value: Any, restored: Restored) -> None:
        """Counts and the arrival number always come back (also when the declaration changed:
        the summary goes on counting); records held back only as long as they make sense."""
        self.seq = value["seq"]
        self.windows = value["windows"]
        self.filtered_windows = value["filtered_windows"]
        self.dead_letters = value["dead_letters"]
        self.aggregated = value["aggregated"]
        pending = value["pending"]
        if pending is not None:
            if restored.changed and not (restored.same_input and self._keeps_pending()):
                restored.dropped += len(pending[2])
            else:
                self._restore_pending(pending)

    def _pending_snapshot(self) -> Any:
        """Records read but not yet in a window (count windows hold them), or None."""
        return None

    def _keeps_pending(self) -> bool:
        return False

    def _restore_pending(self, data: Any) -> None:
        raise AssertionError("only count windows hold records back")


class TimeWindows(WindowOperator):
    """`tumbling D` and `sliding D every S`: windows [k*S, k*S + D), in panes of gcd(D, S).

    A key's head is its highest pane so far (tumbling windows leave it alone): the windows of
    a newer pane that an older one shares are registered already, so an in-order pane
    registers only the S/gcd windows it opens. A window's end is its timer; it fires when the
    watermark reaches it."""

    def __init__(self, size: int, step: int, **common: Any) -> None:
        super().__init__(**common)
        self.size = size
        self.step = step
        self.pane = math.gcd(size, step)
        self._feed = self._compile_feed()
        self._close_tumbling = self._compile_close() if step == size else None

    def _compile_feed(self) -> Callable[..., int]:
        """The per-record loop over a batch: key, pane, checks and updates inline."""
        acc = self.acc
        values = acc.values_source("bad.append((e, {index}, {value}))\ncontinue")
        fields = self.key_fields
        if not fields:
            key = ["k = None"]
        elif len(fields) == 1:
            key = [
                f"k = e.get({fields[0]!r}, _MISSING)",
                "if type(k) is not str and type(k) is not int:",  # the common keys pass at once
                "    k = key_of(e)",
                "    if k is _MISSING:",
                "        continue",
            ]
        else:
            key = ["k = key_of(e)", "if k is _MISSING:", "    continue"]
        acc.namespace["_MISSING"] = _MISSING
        body = [
            "for ts, e in batch:",
            *("    " + line for line in key),
            "    panes = states.get(k)",
            "    if panes is None:",
            "        panes = open_key(k)",
            *("    " + line for line in values),
            f"    p = ts // {self.pane}",
            "    a = panes.get(p)",
            "    if a is None:",
            f"        a = panes[p] = {acc.initial()}",
            # a new pane: tumbling, its key by the end of its window; else what _schedule needs
            *(
                [
                    f"        d = {self.pane} * (p + 1)",
                    "        ending = new.get(d)",
                    "        if ending is None:",
                    "            new[d] = [k]",
                    "        else:",
                    "            ending.append(k)",
                ]
                if self.step == self.size
                else ["        new.append((k, p))"]
            ),
            *("    " + line for line in acc.update_source()),
            *(["    seq += 1"] if acc.uses_arrival else []),
            "return seq",
        ]
        return acc.compile("feed", "batch, states, open_key, key_of, seq, bad, new", body)

    def _compile_close(self) -> Callable[..., int]:
        """Closing due tumbling windows, inline (a window is one pane; this is per-window
        work, as much of a run as adding the records when windows are thin): the key's
        state (from the cache's dict, as the feed reads it; only a key not in memory costs
        a call, of KeyedState.get), its pane, the output record and `having`. Returns the
        windows `having` drops."""
        having = self.having is not None
        self.acc.namespace["_having"] = self.having
        body = [
            "filtered = 0",
            "for end, group in due:",
            f"  start = end - {self.size}",
            f"  lo = start // {self.pane}",
            "  for k in group:",
            "    v = in_memory(k)",
            "    if v is None:",
            "      v = get(k)",
            "      if v is None:",
            "        continue",
            "    panes = v[2]",
            "    a = panes.pop(lo, None)",
            "    if panes:",
            "        dirty(k)",
            "    else:",
            "        gone(k)",
            "    if a is None:",
            "        continue",
            "    g = v[0]",
            *("    " + line for line in self._record_lines),
            *(
                ["    if not _having(r):", "        filtered += 1", "        continue"]
                if having
                else []
            ),
            "    append((end - 1, r))",
            "return filtered",
        ]
        return self.acc.compile("close", "due, in_memory, get, dirty, gone, append", body)

    def process(self, batch: list[Timed], now: float) -> list[Timed]:
        if not batch:
            return []
        keys = self.keys
        opened: dict[Any, list[Any]] = {}  # the keys of this batch: their state
        states: dict[Any, dict[int, Acc]] = {}  # ... and their panes

        def open_key(key: Any) -> dict[int, Acc]:
            value = self.keys.get(key)
            if value is None:
                value = [key, _NO_PANE, {}]
                keys.put(key, value)
            else:
                keys.mark_dirty(key)
            opened[key] = value
            panes = states[key] = value[WINDOWS]
            return panes

        bad: list[tuple[Record, int, Any]] = []
        dead_before = self.dead_letters
        if self.step == self.size:  # tumbling: window end -> the keys of its new windows
            ending: dict[int, list[Any]] = {}
            self.seq = self._feed(batch, states, open_key, self._key, self.seq, bad, ending)
            for end, ended in ending.items():
                self.timers.register_many(end, ended)
        else:
            new: list[tuple[Any, int]] = []
            self.seq = self._feed(batch, states, open_key, self._key, self.seq, bad, new)
            for key, pane in new:
                self._schedule(key, opened[key], pane)
        for key, value in opened.items():
            if not value[WINDOWS]:  # every record of a new key was refused
                keys.remove(key)
        for record, index, bad_value in bad:
            self._rejected(record, index, bad_value)
        self.aggregated += len(batch) - (self.dead_letters - dead_before)
        return []

    def _schedule(self, key: Any, value: list[Any], p: int) -> None:
        """Timers for the windows that the new pane `p` opens."""
        size, step, pane, register = self.size, self.step, self.pane, self.timers.register
        top = value[HEAD]
        x = p * pane
        first = (x - size) // step + 1  # the windows k*step <= x < k*step + size
        if p > top:
            first = max(first, top * pane // step + 1)  # the older windows have timers
            value[HEAD] = p
        for k in range(first, x // step + 1):
            register(k * step + size, key)

    def _close(self, watermark: int, limit: int | None) -> list[Timed]:
        out: list[Timed] = []
        keys, size, pane = self.keys, self.size, self.pane
        if self._close_tumbling is not None:
            dirty: list[Any] = []
            gone: list[Any] = []
            filtered = self._close_tumbling(
                self.timers.pop_due_groups(watermark, limit),
                keys.data.get,
                keys.get,
                dirty.append,
                gone.append,
                out.append,
            )
            keys.mark_dirty_all(dirty)  # a key's panes only shrink here: a removal comes last
            keys.remove_all(gone)
            self.filtered_windows += filtered
            self.windows += len(out)
            return out
        per_window = size // pane
        for end, key in self.timers.pop_due(watermark, limit):
            value = self.keys.get(key)
            if value is None:
                continue
            panes = value[WINDOWS]
            start = end - size
            lo = start // pane
            if per_window == 1:
                acc = panes.pop(lo, None)
            else:
                acc = self._merged(panes, lo, lo + per_window)
                for p in range(lo, (start + self.step) // pane):  # covered by no later window
                    panes.pop(p, None)
            if panes:
                keys.mark_dirty(key)
            else:
                keys.remove(key)
            if acc is not None:
                self._emit(value[KEY], start, end, acc, end - 1, out)
        return out


class SessionWindows(WindowOperator):
    """`session gap G`: a record at t is the window [t, t + G); windows that overlap or touch
    merge (Flink's TimeWindow.intersects). A session [start, end) closes once the watermark
    passes `end` (W > end), not when it reaches it: a record at `end` still touches it, and
    whether it came before the watermark must not decide whether the session is one or two.
    A key's head is the deadline of its armed timer."""

    def __init__(self, gap: int, **common: Any) -> None:
        super().__init__(**common)
        self.gap = gap
        self.reach = gap + 1  # a session closes at its last record's time + reach

    def _windows_from(self, stored: list[Any]) -> Any:
        return stored

    def process(self, batch: list[Timed], now: float) -> list[Timed]:
        if not batch:
            return []
        keys, gap, acc = self.keys, self.gap, self.acc
        add, merge, new = acc.add, acc.merge, acc.new
        seq = self.seq
        for key, items in self._group(batch).items():
            value = self.keys.get(key)
            if value is None:
                value = [key, None, []]
                keys.put(key, value)
            sessions: list[Acc] = value[WINDOWS]
            for ts, record in items:
                touching = [
                    i
                    for i, s in enumerate(sessions)
                    if s[TS_MIN] <= ts + gap and s[TS_MAX] + gap >= ts
                ]
                target = sessions[touching[0]] if touching else new()
                failure = add(target, record, ts, seq)
                seq += 1
                if failure is not None:
                    self._rejected(record, *failure)
                    continue
                self.aggregated += 1
                if not touching:
                    sessions.append(target)
                for i in reversed(touching[1:]):  # the record bridges them
                    merge(target, sessions.pop(i))
            if not sessions:
                keys.remove(key)
                continue
            keys.mark_dirty(key)
            earliest = min(s[TS_MAX] for s in sessions) + self.reach
            if value[HEAD] is None or earliest < value[HEAD]:
                self.timers.register(earliest, key)
                value[HEAD] = earliest
        self.seq = seq
        return []

    def _close(self, watermark: int, limit: int | None) -> list[Timed]:
        closed: list[tuple[Any, Timed]] = []  # (key, window)
        keys, gap, reach = self.keys, self.gap, self.reach
        for deadline, key in self.timers.pop_due(watermark, limit):
            value = self.keys.get(key)
            if value is None or value[HEAD] != deadline:
                continue  # armed again earlier since: this timer is stale
            out: list[Timed] = []
            remaining = []
            for s in value[WINDOWS]:
                if s[TS_MAX] + reach <= watermark:
                    end = s[TS_MAX] + gap
                    self._emit(value[KEY], s[TS_MIN], end, s, end - 1, out)
                else:
                    remaining.append(s)
            closed += [(key, timed) for timed in out]
            if remaining:
                value[WINDOWS] = remaining
                value[HEAD] = min(s[TS_MAX] for s in remaining) + reach
                self.timers.register(value[HEAD], key)
                keys.mark_dirty(key)
            else:
                keys.remove(key)
        if len(closed) > 1:  # a session may have grown past its timer: order by end, then key
            closed.sort(key=lambda c: (c[1][0], encode_key(c[0])))
        return [timed for _, timed in closed]


class CountWindows(WindowOperator):
    """`count N every M`: a key's records i*M .. i*M + N - 1 in event-time order (ties by
    arrival), in panes of gcd(N, M) records. A key's head is how many records it has had."""

    def __init__(self, size: int, step: int, **common: Any) -> None:
        super().__init__(**common)
        self.size = size
        self.step = step
        self.pane = math.gcd(size, step)
        self.buffer = EventTimeBuffer()
        self._finishing: Iterator[list[Timed]] | None = None

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)
        self.buffer.use_spill(ctx.spill("buffer"))  # records waiting beyond memory: on disk

    def process(self, batch: list[Timed], now: float) -> list[Timed]:
        self.buffer.add(batch)
        return []

    def on_watermark(self, watermark: int, now: float) -> list[Timed]:
        out: list[Timed] = []
        for ready in self.buffer.release_in_slices(watermark):
            out += self._count(ready)
        return out

    def finish(self) -> list[Timed]:
        """What waits, a slice per call (windows short of N are not emitted)."""
        if self._finishing is None:
            self._finishing = self.buffer.release_in_slices()
        for ready in self._finishing:
            out = self._count(ready)
            if out:
                return out
        return []

    def held_records(self) -> int:
        return len(self.buffer)

    def _count(self, released: list[Timed]) -> list[Timed]:
        """Released records, in event-time order, one at a time: windows close in that order."""
        out: list[Timed] = []
        keys, size, step, pane = self.keys, self.size, self.step, self.pane
        add, new = self.acc.add, self.acc.new
        for ts, record in released:
            key = self._key(record) if self.key_fields else None
            if key is _MISSING:
                continue
            value = self.keys.get(key)
            if value is None:
                value = [key, 0, {}]
            n, panes = value[HEAD], value[WINDOWS]
            acc = panes.get(n // pane)
            fresh = acc is None
            if fresh:
                acc = new()
            failure = add(acc, record, ts, self.seq)
            self.seq += 1
            if failure is not None:
                self._rejected(record, *failure)
                continue
            self.aggregated += 1
            if fresh:
                panes[n // pane] = acc
            n = value[HEAD] = n + 1
            if n >= size and (n - size) % step == 0:
                start = n - size
                window = self._merged(panes, start // pane, n // pane)
                for p in range(start // pane, (start + step) // pane):
                    panes.pop(p, None)
                assert window is not None
                self._emit(value[KEY], window[TS_MIN], window[TS_MAX], window, window[TS_MAX], out)
            if panes:
                keys.put(key, value)
            else:  # a tumbling count window just closed: as good as a new key
                keys.remove(key)
        return out

    def _pending_snapshot(self) -> Any:
        return self.buffer.snapshot()

    def _keeps_pending(self) -> bool:
        return True

    def _restore_pending(self, data: Any) -> None:
        self.buffer.restore(data)


# ---------------------------------------------------------------------- building
def build_window_operator(
    name: str,
    window: ast.WindowOp,
    aggregate: ast.AggregateOp,
    having: ast.HavingOp | None,
    default_key: str | None,
    nullable: frozenset[str],
    view: str,
) -> WindowOperator:
    """The operator of a checked `window | aggregate [| having]` (`name` is unique in the job;
    `default_key` is the stream's `key`, the group when the window has no `by`)."""
    table = WindowAggregates()
    items = []
    for item in aggregate.items:
        expr = item.expr
        if isinstance(expr, ast.Call) and _is_aggregate(expr):
            items.append(_Item(output_name(item), table.slot(expr), None))
        else:
            items.append(_Item(output_name(item), -1, compile_window_item(expr, table)))
    specs = [AggregateSpec(c.func, c.args[0] if c.args else None) for c in table.calls]
    by = tuple(f.text for f in window.by)
    key_fields = by or ((default_key,) if default_key else ())
    common: dict[str, Any] = {
        "name": name,
        "view": view,
        "key_fields": key_fields,
        "nullable": nullable,
        "accumulators": Accumulators(specs, spans=window.kind in ("session", "count")),
        "items": items,
        "having": compile_record_predicate(having.condition) if having else None,
    }
    match window.kind:
        case "tumbling":
            assert window.size is not None
            return TimeWindows(window.size.ms, window.size.ms, **common)
        case "sliding":
            assert window.size is not None and window.every is not None
            return TimeWindows(window.size.ms, window.every.ms, **common)
        case "session":
            assert window.gap is not None
            return SessionWindows(window.gap.ms, **common)
    assert window.count is not None
    return CountWindows(window.count, window.count_every or window.count, **common)


def _is_aggregate(call: ast.Call) -> bool:
    return call.func in WINDOW_AGGREGATES and not is_scalar_call(call.func, len(call.args))
