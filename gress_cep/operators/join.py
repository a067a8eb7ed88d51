"""`[inner | left] join A as a, B as b on COND within D`: an interval join, as Flink's.

Every pair of records, one of each side, with the same join key (the equalities of COND
across the sides: gress_cep/dsl/joins.py), times at most D apart (|a.time - b.time| <= D)
and COND true makes one record `{a: {...}, b: {...}}` with event time max(a.time, b.time),
emitted when the second of the two arrives. Duplicates make pairs too, as in Flink.

State is keyed by the join key: per key, the records of each side that may still meet a
partner, in time order (a record finds its partners by bisection). A record at t can meet no
future record once the watermark W passes t + D (every record still to come is at W or
later); one timer per key, at its earliest record's t + D + 1, prunes the key. A `left join`
emits each A record that met no partner then, once, with b null; such a record leaves with
its own time, so the join holds the watermark downstream back to W - D (the earliest time a
pending A record can have).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any

from gress_cep.connectors.base import Record
from gress_cep.connectors.validation import describe
from gress_cep.dsl import ast
from gress_cep.dsl.expressions import compile_record_expression, compile_record_predicate
from gress_cep.dsl.joins import join_keys, only_keys
from gress_cep.dsl.source_text import SourceText
from gress_cep.operators.base import Timed
from gress_cep.operators.inputs import MultiInput
from gress_cep.runtime.watermarks import END_OF_TIME, NO_WATERMARK
from gress_cep.state import data_codec
from gress_cep.state.keys import encode_key
from gress_cep.state.operator_state import KeyedState, OperatorContext, Restored, StateCodec, Timers

_MISSING = object()
_KEY_TYPES = (str, int, float, bytes)  # what a key's parts may be (bool is an int)
LEFT, RIGHT = 0, 1
# A key's state: [left times, left entries, right times, right entries, armed]: each side's
# records in time order (times apart, so that bisection runs in C), an entry being
# [record, matched]; `armed` is the deadline of the key's one timer (its earliest record's
# time + D + 1; a timer found not equal to it was replaced by an earlier one).
TIMES, ENTRIES = (0, 2), (1, 3)
ARMED = 4
RECORD, MATCHED = 0, 1


class _KeyPart:
    """One side's half of an equality: how to read it from a record, and how to name it."""

    __slots__ = ("field", "read", "text")

    def __init__(self, alias: str, expr: ast.Expr, text: str) -> None:
        function = compile_record_expression(expr)
        self.read: Callable[[Record], Any] = lambda record: function({alias: record})
        # a plain `a.field`: a record without the field is a dead letter, not a null key
        plain = isinstance(expr, ast.Attr) and isinstance(expr.obj, ast.Ref)
        self.field = expr.name if isinstance(expr, ast.Attr) and plain else None
        self.text = text


class IntervalJoin(MultiInput):
    keys: KeyedState[list[Any]]
    timers: Timers

    def __init__(
        self,
        name: str,
        view: str,
        inputs: list[str],
        aliases: tuple[str, str],
        key_parts: tuple[list[_KeyPart], list[_KeyPart]],
        condition: Callable[[Record], bool] | None,  # None: the key says it all
        within_ms: int,
        left: bool,
    ) -> None:
        super().__init__(view, inputs)
        self.name = name
        self.aliases = aliases
        self.key_parts = key_parts
        # per side: the field a key of one plain `alias.field` is, read with dict.get
        self.fast_fields = tuple(parts[0].field if len(parts) == 1 else None for parts in key_parts)
        self.condition = condition
        self.within = within_ms
        self.left = left
        self.taken = [0, 0]  # records of each side taken into the join
        self.pairs = 0
        self.unmatched = 0  # left join: A records emitted without a partner
        self.null_keys = 0  # records whose key is null: they meet nothing

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)
        self.keys = ctx.keyed("sides", StateCodec(1, data_codec.dumps, data_codec.loads))
        self.timers = ctx.timers()

    # ------------------------------------------------------------------ records
    def process_input(self, port: int, batch: list[Timed], now: float) -> list[Timed]:
        batch = self.on_time(port, batch)
        out: list[Timed] = []
        keys, within, condition = self.keys, self.within, self.condition
        data = keys.data
        a, b = self.aliases
        own_times, own_entries = TIMES[port], ENTRIES[port]
        other_times, other_entries = TIMES[1 - port], ENTRIES[1 - port]
        fast = self.fast_fields[port]
        taken = 0
        for ts, record in batch:
            key = record.get(fast, _MISSING) if fast is not None else _MISSING
            if type(key) is not str and type(key) is not int:
                key = self._key(port, record)
                if key is _MISSING:
                    continue
                if key is None:  # null never equals anything (SQL): no partner, ever
                    taken += 1
                    self.null_keys += 1
                    if port == LEFT and self.left:
                        self.unmatched += 1
                        out.append((ts, {a: record, b: None}))
                    continue
            taken += 1
            sides = data.get(key)
            if sides is None and keys.spilled:
                sides = keys.load(key)
            if sides is None:
                sides = [[], [], [], [], None]
                keys.put(key, sides)
            else:
                keys.mark_dirty(key)
            entry = [record, False]
            times = sides[other_times]
            if times:
                lo = bisect_left(times, ts - within)
                hi = bisect_right(times, ts + within, lo)
                entries = sides[other_entries]
                for i in range(lo, hi):
                    partner = entries[i]
                    if port == LEFT:
                        pair = {a: record, b: partner[RECORD]}
                    else:
                        pair = {a: partner[RECORD], b: record}
                    if condition is not None and not condition(pair):
                        continue
                    self.pairs += 1
                    entry[MATCHED] = partner[MATCHED] = True
                    out.append((max(ts, times[i]), pair))
            times = sides[own_times]
            if not times or times[-1] <= ts:
                times.append(ts)
                sides[own_entries].append(entry)
            else:  # after equal times: arrival order among them
                at = bisect_right(times, ts)
                times.insert(at, ts)
                sides[own_entries].insert(at, entry)
            deadline = ts + within + 1
            armed = sides[ARMED]
            if armed is None or deadline < armed:
                sides[ARMED] = deadline
                self.timers.register(deadline, key)
        self.taken[port] += taken
        return out

    def _key(self, port: int, record: Record) -> Any:
        """The join key of a record of side `port`: None when a part is null; _MISSING (and a
        dead letter) when the record lacks it or it cannot be a key."""
        parts: list[Any] = []
        for part in self.key_parts[port]:
            field = part.field
            if field is not None:  # a plain field: read it straight from the record
                value = record.get(field, _MISSING)
                if type(value) is str or type(value) is int:
                    parts.append(value)
                    continue
            if field is not None and field not in record:
                self.dead(
                    record,
                    f"the record has no '{part.field}', which the join matches on ({part.text})",
                )
                return _MISSING
            value = part.read(record)
            if value is None:
                return None
            if not isinstance(value, _KEY_TYPES):
                self.dead(
                    record,
                    f"the join matches on {part.text}, which is {describe(value)}: a key is a "
                    "string, a number, a bool or null",
                )
                return _MISSING
            parts.append(value)
        return parts[0] if len(parts) == 1 else tuple(parts)

    # ------------------------------------------------------------------ time
    def on_watermark(self, watermark: int, now: float) -> list[Timed]:
        if watermark > self.watermark:
            self.watermark = watermark
        return self._prune(self.watermark)

    def finish(self) -> list[Timed]:
        """End of input: every record leaves (left join: the unmatched A records come out),
        all at once, in one order: slices of timers would depend on what was in memory, and
        interleave differently with the outputs of other views after a restart."""
        self.watermark = END_OF_TIME
        return self._prune(END_OF_TIME)

    def _prune(self, watermark: int) -> list[Timed]:
        """Records no future record can meet (time + D < W) leave; a left join emits its
        unmatched A records then, in time order, then key order, then arrival order —
        whatever the batches and restarts were."""
        keys, within, left = self.keys, self.within, self.left
        horizon = watermark - within - 1  # records at or before it leave
        unmatched: list[tuple[int, bytes, int, Record]] = []  # (time, key, arrival, record)
        for deadline, key in self.timers.pop_due(watermark):
            sides = keys.get(key)
            if sides is None or sides[ARMED] != deadline:
                continue  # armed again earlier since: this timer is stale
            for side in (LEFT, RIGHT):
                times, entries = sides[TIMES[side]], sides[ENTRIES[side]]
                cut = bisect_right(times, horizon)
                if not cut:
                    continue
                if side == LEFT and left:
                    encoded = encode_key(key)
                    unmatched += [
                        (times[n], encoded, n, e[RECORD])
                        for n, e in enumerate(entries[:cut])
                        if not e[MATCHED]
                    ]
                del times[:cut], entries[:cut]
            earliest = [t[0] for t in (sides[TIMES[LEFT]], sides[TIMES[RIGHT]]) if t]
            if earliest:
                sides[ARMED] = min(earliest) + within + 1
                self.timers.register(sides[ARMED], key)
                keys.mark_dirty(key)
            else:
                keys.remove(key)
        if not unmatched:
            return []
        unmatched.sort(key=lambda u: u[:3])
        self.unmatched += len(unmatched)
        a, b = self.aliases
        return [(ts, {a: record, b: None}) for ts, _, _, record in unmatched]

    def held_watermark(self) -> int | None:
        """A left join may still emit an A record as old as W - D."""
        if not self.left or self.watermark in (NO_WATERMARK, END_OF_TIME):
            return None
        return self.watermark - self.within

    # ------------------------------------------------------------------ counts, state
    def consumed(self, port: int) -> int | None:
        return self.taken[port]

    def extra_counts(self) -> dict[str, int]:
        return {"pairs": self.pairs, "unmatched": self.unmatched, "null_keys": self.null_keys}

    def extra_snapshot(self) -> Any:
        return [self.taken, self.pairs, self.unmatched, self.null_keys]

    def extra_restore(self, value: Any, restored: Restored) -> None:
        self.taken, self.pairs, self.unmatched, self.null_keys = value
        self.taken = list(self.taken)


def build_join(
    name: str, view: str, join: ast.JoinSource, inputs: list[str], source: str
) -> IntervalJoin:
    """The operator of a checked join (the checker made sure it has a key)."""
    text = SourceText(source)
    a, b = join.left.alias.text, join.right.alias.text
    left_parts, right_parts = [], []
    for key in join_keys(join):
        shown = " ".join(text.text(_span_of(key.left, key.right)).split())
        left_parts.append(_KeyPart(a, key.left, shown))
        right_parts.append(_KeyPart(b, key.right, shown))
    return IntervalJoin(
        name,
        view,
        inputs,
        (a, b),
        (left_parts, right_parts),
        None if only_keys(join) else compile_record_predicate(join.on),
        join.within.ms,
        join.kind == "left",
    )


def _span_of(x: ast.Expr, y: ast.Expr) -> ast.Span:
    """The span from the start of the earlier expression to the end of the later one."""
    first, last = sorted((x.span, y.span), key=lambda s: (s.line, s.column))
    return ast.Span(first.line, first.column, last.end_line, last.end_column)
