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
# A key's state: [left times, left records, right times, right records, armed, left matched]:
# each side's records in time order (times apart, so that bisection runs in C); `armed` is
# the deadline of the key's one timer (its earliest record's time + D + 1; a timer found not
# equal to it was replaced by an earlier one); `left matched` is, in a left join only, a flag
# per left record (it met a partner), parallel to its records: an inner join keeps no flag
# (version 1 kept [record, matched] per record of both sides: a list each).
TIMES, RECORDS = (0, 2), (1, 3)
ARMED, MATCHED = 4, 5
STATE_VERSION = 2


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
        self.keys = ctx.keyed(
            "sides", StateCodec(STATE_VERSION, data_codec.dumps, data_codec.loads)
        )
        self.timers = ctx.timers()

    # ------------------------------------------------------------------ records
    def process_input(self, port: int, batch: list[Timed], now: float) -> list[Timed]:
        batch = self.on_time(port, batch)
        out: list[Timed] = []
        append = out.append
        keys, within, condition = self.keys, self.within, self.condition
        register = self.timers.register
        data = keys.data
        a, b = self.aliases
        own_times, own_records = TIMES[port], RECORDS[port]
        other_times, other_records = TIMES[1 - port], RECORDS[1 - port]
        is_left = port == LEFT
        flags = self.left  # a left join: keep whether each left record met a partner
        fast = self.fast_fields[port]
        # the keys of this batch: their state, looked up once per batch (and marked dirty
        # once, at the end: nothing reads the dirty marks before the batch is done)
        seen: dict[Any, list[Any]] = {}
        taken = pairs = 0
        for ts, record in batch:
            key = record.get(fast, _MISSING) if fast is not None else _MISSING
            if type(key) is not str and type(key) is not int:
                key = self._key(port, record)
                if key is _MISSING:
                    continue
                if key is None:  # null never equals anything (SQL): no partner, ever
                    taken += 1
                    self.null_keys += 1
                    if is_left and flags:
                        self.unmatched += 1
                        append((ts, {a: record, b: None}))
                    continue
            taken += 1
            sides = seen.get(key)
            if sides is None:
                sides = data.get(key)
                if sides is None and keys.spilled:
                    sides = keys.load(key)
                if sides is None:
                    sides = [[], [], [], [], None, []]
                    keys.put(key, sides)
                seen[key] = sides
            met = False
            times = sides[other_times]
            if times:
                lo = bisect_left(times, ts - within)
                hi = bisect_right(times, ts + within, lo)
                if lo < hi:
                    partners = sides[other_records]
                    for i in range(lo, hi):
                        if is_left:
                            pair = {a: record, b: partners[i]}
                        else:
                            pair = {a: partners[i], b: record}
                        if condition is not None and not condition(pair):
                            continue
                        met = True
                        if flags and not is_left:
                            sides[MATCHED][i] = True
                        t = times[i]
                        append((t if t > ts else ts, pair))
                        pairs += 1
            times = sides[own_times]
            if times and times[-1] <= ts:  # in order (the common case): it is not the earliest
                times.append(ts)
                sides[own_records].append(record)
                if flags and is_left:
                    sides[MATCHED].append(met)
                continue
            at = bisect_right(times, ts)  # after equal times: arrival order among them
            times.insert(at, ts)
            sides[own_records].insert(at, record)
            if flags and is_left:
                sides[MATCHED].insert(at, met)
            if at == 0:  # its side's earliest record: maybe the key's, whose timer is armed
                deadline = ts + within + 1
                armed = sides[ARMED]
                if armed is None or deadline < armed:
                    sides[ARMED] = deadline
                    register(deadline, key)
        keys.mark_dirty_all(list(seen))
        self.taken[port] += taken
        self.pairs += pairs
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
        get, register = keys.get, self.timers.register
        horizon = watermark - within - 1  # records at or before it leave
        unmatched: list[tuple[int, bytes, int, Record]] = []  # (time, key, arrival, record)
        kept: list[Any] = []  # keys that still hold records: dirty
        gone: list[Any] = []  # ... and keys that hold none any more
        for deadline, group in self.timers.pop_due_groups(watermark):
            for key in group:
                sides = get(key)
                if sides is None or sides[ARMED] != deadline:
                    continue  # armed again earlier since: this timer is stale
                left_times, right_times = sides[0], sides[2]
                cut = bisect_right(left_times, horizon)
                if cut:
                    if left:
                        encoded = encode_key(key)
                        flags = sides[MATCHED]
                        unmatched += [
                            (left_times[n], encoded, n, sides[1][n])
                            for n in range(cut)
                            if not flags[n]
                        ]
                        del flags[:cut]
                    del left_times[:cut], sides[1][:cut]
                cut = bisect_right(right_times, horizon)
                if cut:
                    del right_times[:cut], sides[3][:cut]
                if left_times or right_times:
                    if not right_times or (left_times and left_times[0] < right_times[0]):
                        earliest = left_times[0]
                    else:
                        earliest = right_times[0]
                    sides[ARMED] = earliest + within + 1
                    register(earliest + within + 1, key)
                    kept.append(key)
                else:
                    gone.append(key)
        keys.mark_dirty_all(kept)
        keys.remove_all(gone)
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
