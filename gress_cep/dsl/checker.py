"""Semantic checks of a parsed program: names, variables, quantifiers, negation, types.

`check` records every problem it finds in a `Diagnostics` and never raises, so that
`gress check` can show all of them at once. The rules are those of docs/language.md; the
match structure rules live in match_structure.py, the expression rules in expression_checker.py.
"""

from __future__ import annotations

import re
from pathlib import Path

from gress_cep.dsl import ast, functions
from gress_cep.dsl.errors import Diagnostic, Diagnostics, did_you_mean
from gress_cep.dsl.expression_checker import Context, ExpressionChecker, refs
from gress_cep.dsl.joins import join_keys
from gress_cep.dsl.match_structure import Variable, elements, is_loop, trailing, variables_of
from gress_cep.dsl.record_types import (
    ANY,
    UNKNOWN_RECORD,
    Record,
    Type,
    describe,
    from_schema,
    output_name,
)
from gress_cep.dsl.source_text import SourceText
from gress_cep.runtime.event_time import TIME_UNITS

# the first line of a statement, to learn the names of statements that did not parse
_STATEMENT = re.compile(r"^[ \t]*(stream|model|view|pattern)[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)
_TIME_TYPES = ("timestamp", "int", "float")
_WINDOW_FIELDS: dict[str, Type] = {"window_start": "timestamp", "window_end": "timestamp"}
_WINDOW_FIELD_MEANINGS = {
    "window_start": "the start of the window",
    "window_end": "the end of the window",
}
# what every match record (and timed-out partial match) of a pattern carries besides its outputs
MATCH_METADATA = {
    "pattern": "the name of the pattern",
    "key": "the partition key",
    "start": "the time of the match's first event",
    "end": "the time of the match's last event",
}
# the numbers of `count N every M`, which the syntax tree keeps without their positions
_COUNT_WINDOW = re.compile(r"\bcount\s+(\d+)(?:\s+every\s+(\d+))?")
_MANY_OPEN_WINDOWS = 10_000  # per key: beyond this a window kind gets a warning


def check(program: ast.Program, diag: Diagnostics, *, base_dir: Path | None = None) -> None:
    """Record every semantic error and warning of `program` in `diag`.

    `base_dir` is the folder that model paths are relative to: with it, the model files are
    opened and checked against `inputs` and `output` too (gress_cep.models.check_model).
    """
    _Checker(program, diag).run()
    if base_dir is not None:
        models = program.of_type(ast.Model)
        if models:
            # imported here: onnxruntime loads only for files that declare models
            from gress_cep.models.check import check_model

            for model in models:
                check_model(model, base_dir, diag)
    _drop_repeats(diag)


def view_record_types(program: ast.Program) -> dict[str, Record]:
    """The record type of each view's output, as the checker derives it (for test files that
    expect a view's records: `gress test`). Call it on a program without errors."""
    checker = _Checker(program, Diagnostics(program.filename, program.source))
    checker.run()
    return {v.name.text: checker.view_record(v) for v in program.of_type(ast.View)}


def _drop_repeats(diag: Diagnostics) -> None:
    """A model scored in two views can report one mistake twice; keep it once."""
    seen: set[tuple] = set()
    unique: list[Diagnostic] = []
    for d in diag.items:
        key = (d.severity, d.message, d.span.line, d.span.column)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    diag.items[:] = unique


class _Checker:
    def __init__(self, program: ast.Program, diag: Diagnostics) -> None:
        self.program = program
        self.diag = diag
        self.text = SourceText(program.source)
        self.exprs = ExpressionChecker(diag, self.text)
        self.sources: dict[str, ast.Stream | ast.View] = {}  # streams and views: one namespace
        self.models: dict[str, ast.Model] = {}
        self.patterns: dict[str, ast.Pattern] = {}
        self.view_records: dict[int, Record] = {}
        self.views_in_progress: list[ast.View] = []
        self.scored: set[int] = set()  # the models some view scores
        parsed = {d.name.text for d in program.declarations}
        # names of statements with syntax errors: references to them are not reported again
        self.broken = {m.group(2) for m in _STATEMENT.finditer(program.source)} - parsed

    def run(self) -> None:
        self.declare()
        for d in self.program.declarations:
            if isinstance(d, ast.Stream):
                self.stream(d)
            elif isinstance(d, ast.Model):
                self.model(d)
            elif isinstance(d, ast.View):
                self.view_record(d)
            else:
                self.pattern(d)
        for model in self.program.of_type(ast.Model):
            if id(model) not in self.scored:
                self.model_use(model, UNKNOWN_RECORD)

    # ------------------------------------------------------------------ names
    def declare(self) -> None:
        for d in self.program.declarations:
            kind = type(d).__name__.lower()
            table: dict = (
                self.models
                if isinstance(d, ast.Model)
                else self.patterns
                if isinstance(d, ast.Pattern)
                else self.sources
            )
            name = d.name.text
            first = table.get(name)
            if first is None:
                table[name] = d
                continue
            first_kind = type(first).__name__.lower()
            line = first.name.span.line
            if first_kind == kind:
                self.diag.error(d.name.span, f"{kind} '{name}' is already declared on line {line}")
            else:
                self.diag.error(
                    d.name.span,
                    f"{kind} '{name}' has the name of the {first_kind} on line {line}",
                    hint="streams and views share one namespace: rename one of them",
                )

    def source_record(self, name: ast.Name, place: str) -> Record:
        """The record type of the stream or view `name` (read by a view or a pattern)."""
        text = name.text
        found = self.sources.get(text)
        if isinstance(found, ast.Stream):
            return from_schema(found.schema)
        if isinstance(found, ast.View):
            return self.view_record(found, reader=name)
        if text in self.broken:
            return UNKNOWN_RECORD
        if text in self.models:
            self.diag.error(name.span, f"'{text}' is a model, not a stream or view {place}")
        elif text in self.patterns:
            self.diag.error(name.span, f"'{text}' is a pattern, not a stream or view {place}")
        else:
            suggestion = did_you_mean(text, self.sources) or ""
            self.diag.error(name.span, f"unknown stream or view '{text}' {place}{suggestion}")
        return UNKNOWN_RECORD

    # ------------------------------------------------------------------ streams
    def stream(self, s: ast.Stream) -> None:
        name = s.name.text
        if s.schema is not None:
            seen: dict[str, ast.SchemaField] = {}
            for f in s.schema:
                if f.name.text in seen:
                    self.diag.error(
                        f.name.span,
                        f"field '{f.name.text}' appears twice in the schema of '{name}'",
                    )
                seen.setdefault(f.name.text, f)
                if f.type.text not in functions.TYPES:
                    suggestion = did_you_mean(f.type.text, functions.TYPES) or ""
                    self.diag.error(
                        f.type.span,
                        f"unknown type '{f.type.text}'{suggestion}",
                        hint="the types are "
                        + ", ".join(functions.TYPES)
                        + "; add '?' for a field that may be null",
                    )
        record = from_schema(s.schema)
        for clause, field in (("key", s.key), ("time", s.time)):
            if field is not None and s.schema is not None and record.get(field.text) is None:
                suggestion = did_you_mean(field.text, record.fields) or ""
                self.diag.error(
                    field.span,
                    f"{clause} field '{field.text}' is not in the schema of '{name}'{suggestion}",
                )
        if s.time is not None:
            t = record.get(s.time.text)
            if isinstance(t, str) and t in functions.TYPES and t not in _TIME_TYPES:
                self.diag.error(
                    s.time.span,
                    f"time field '{s.time.text}' is a {t}; it must be a timestamp, int or float",
                    hint="declare it as timestamp: epoch milliseconds, epoch seconds and "
                    "ISO-8601 text are all read as time",
                )
        unit = s.time_unit
        if unit is not None and unit.text not in TIME_UNITS:
            self.diag.error(
                unit.span,
                f"unknown time unit '{unit.text}'{did_you_mean(unit.text, TIME_UNITS) or ''}",
                hint="'time FIELD seconds' or 'time FIELD milliseconds' says what a number in "
                "the field is; without a unit, its size says it",
            )
        for clause, duration in (("lateness", s.lateness), ("idle", s.idle)):
            if duration is not None and s.time is None:
                self.diag.error(
                    duration.span,
                    f"'{clause}' needs a 'time' field: it is an event-time setting",
                    hint="add 'time FIELD' to the stream",
                )
        if s.idle is not None and s.idle.ms <= 0:
            self.diag.error(s.idle.span, "'idle' must be longer than 0")

    # ------------------------------------------------------------------ models
    def model(self, m: ast.Model) -> None:
        name = m.name.text
        if len(m.variants) > 1 and m.split_by is None:
            self.diag.error(
                m.variants[1].span,
                f"model '{name}' has several variants but no 'split by'",
                hint="add 'split by FIELD': each key is routed to one variant",
            )
        weighted = [v for v in m.variants if v.weight is not None]
        if weighted and len(weighted) < len(m.variants):
            missing = next(v for v in m.variants if v.weight is None)
            self.diag.error(
                missing.span,
                "this variant has no weight while others have one",
                hint="give every variant a weight, or none (then they share the keys equally)",
            )
        for v in weighted:
            if v.weight is not None and v.weight <= 0:
                self.diag.error(
                    v.span, f"a variant's weight must be greater than 0, not {v.weight:g}"
                )
        if not m.inputs:
            self.diag.error(
                m.name.span,
                f"model '{name}' has no 'inputs'",
                hint="list its features in the model's input order: 'inputs (amount, hour(ts))'",
            )

    def model_use(self, m: ast.Model, record: Record) -> None:
        """A model's `inputs` and `split by` read the record it scores."""
        ctx = Context(
            record,
            f"in the inputs of model '{m.name.text}'",
            no_aggregate_hint="a model scores one record at a time",
        )
        for expr in m.inputs:
            self.exprs.value(expr, ctx)
        if m.split_by is not None:
            self.exprs.field_type(record, m.split_by, f"in 'split by' of model '{m.name.text}'")

    # ------------------------------------------------------------------ views
    def view_record(self, v: ast.View, reader: ast.Name | None = None) -> Record:
        """The record type of a view's output; the view is checked the first time it is asked."""
        known = self.view_records.get(id(v))
        if known is not None:
            return known
        chain = [id(w) for w in self.views_in_progress]
        if id(v) in chain:
            cycle = [w.name.text for w in self.views_in_progress[chain.index(id(v)) :]]
            self.diag.error(
                reader.span if reader else v.name.span,
                f"view '{v.name.text}' reads from itself: " + " -> ".join([*cycle, v.name.text]),
            )
            return UNKNOWN_RECORD
        self.views_in_progress.append(v)
        try:
            record = self.view_ops(v)
        finally:
            self.views_in_progress.pop()
        self.view_records[id(v)] = record
        return record

    def view_ops(self, v: ast.View) -> Record:
        name = v.name.text
        place = f"in view '{name}'"
        if isinstance(v.source, ast.SourceRef):
            record = self.source_record(v.source.name, place)
        elif isinstance(v.source, ast.UnionSource):
            record = self.union(v.source, place)
        else:
            record = self.join(v.source, name)
        window: ast.WindowOp | None = None  # a window waiting for its aggregate
        interrupted: ast.WindowOp | None = None  # one reported without its aggregate
        previous: ast.ViewOp | None = None
        no_aggregates = (
            "aggregates belong after a window: '| window ... | aggregate sum(x) as total'"
        )
        ctx = Context(record, place, no_aggregate_hint=no_aggregates, models=self.models)
        for op in v.ops:
            if window is not None and not isinstance(op, ast.AggregateOp):
                self._window_without_aggregate(window)
                window, interrupted = None, window
            ctx.record = record
            if isinstance(op, ast.WhereOp):
                self.exprs.condition(op.condition, ctx, "'where'")
            elif isinstance(op, ast.SelectOp):
                record = self.outputs(op.items, ctx, "select")
            elif isinstance(op, ast.ScoreOp):
                record = self.score(op, record)
            elif isinstance(op, ast.WindowOp):
                self.window(op, record, place)
                window = op
            elif isinstance(op, ast.AggregateOp):
                # after an interrupted window, that window's error says it all
                key = self._stream_key(v)
                if key is not None and key not in record.fields and not record.open:
                    key = None  # dropped on the way (a `select` without it)
                record = self.aggregate(
                    op, window or interrupted, record, place, window is None, key
                )
                window = interrupted = None
            elif isinstance(op, ast.HavingOp):
                if not isinstance(previous, ast.AggregateOp):
                    self.diag.error(
                        op.span,
                        "'having' filters the output of 'aggregate' and must follow it",
                        hint="use 'where' to filter records",
                    )
                self.exprs.condition(op.condition, ctx, "'having'")
            else:
                record = self.lookup(op, record, place)
            previous = op
        if window is not None:
            self._window_without_aggregate(window)
        return record

    def _partition_fields(self, p: ast.Pattern) -> list[str]:
        """The fields a pattern's partition key is made of: `partition by`, else the key of
        the stream its records come from."""
        if p.partition_by is not None:
            return [f.text for f in p.partition_by]
        streams = [s for s in self.sources.values() if isinstance(s, ast.Stream)]
        source: ast.Stream | ast.View | None
        if p.source is None:
            source = streams[0] if len(streams) == 1 else None
        else:
            source = self.sources.get(p.source.text)
        if isinstance(source, ast.View):
            key = self._stream_key(source)
            return [key] if key else []
        if isinstance(source, ast.Stream) and source.key is not None:
            return [source.key.text]
        return []

    def _stream_key(self, v: ast.View) -> str | None:
        """The `key` of the stream a view's records come from (None for a join)."""
        seen: set[int] = set()
        while isinstance(v.source, ast.SourceRef) and id(v) not in seen:
            seen.add(id(v))
            found = self.sources.get(v.source.name.text)
            if isinstance(found, ast.Stream):
                return found.key.text if found.key else None
            if not isinstance(found, ast.View):
                return None
            v = found
        return None

    def _window_without_aggregate(self, window: ast.WindowOp) -> None:
        self.diag.error(
            window.span,
            "a 'window' must be followed by 'aggregate'",
            hint="e.g. '| window tumbling 1h by card_id | aggregate count() as n'",
        )

    def join(self, join: ast.JoinSource, view: str) -> Record:
        place = f"in view '{view}'"
        sides: dict[str, Type] = {}
        for side in (join.left, join.right):
            record = self.source_record(side.stream, place)
            alias = side.alias.text
            if alias in sides:
                self.diag.error(
                    side.alias.span,
                    f"both sides of the join are called '{alias}'",
                    hint="give each side its own alias: 'join payments as p, logins as l'",
                )
            sides.setdefault(alias, record)
        joined = Record(sides, joined=True)
        ctx = Context(joined, f"in the join condition of view '{view}'")
        self.exprs.condition(join.on, ctx, "the join condition")
        mentioned = {r.name for r in refs(join.on)}
        for side in (join.left, join.right):
            if side.alias.text not in mentioned:
                self.diag.error(
                    join.on.span,
                    f"the join condition does not mention '{side.alias.text}'",
                    hint="relate both sides, e.g. 'p.card_id == l.card_id'",
                )
                break
        else:
            if not join_keys(join):
                left, right = join.left.alias.text, join.right.alias.text
                self.diag.error(
                    join.on.span,
                    f"the join condition has no equality between '{left}' and '{right}': a "
                    "join matches records by a key",
                    hint=f"add one, e.g. '{left}.card_id == {right}.card_id and ...' (the rest "
                    "of the condition filters the pairs)",
                )
        if join.within.ms <= 0:
            self.diag.error(join.within.span, "a join's 'within' must be longer than 0")
        return joined

    def union(self, union: ast.UnionSource, place: str) -> Record:
        """`union A, B, ...`: the fields of all inputs; a field must have one type."""
        fields: dict[str, Type] = {}
        first: dict[str, str] = {}  # field -> the input that gave its type
        is_open = False
        for name in union.inputs:
            record = self.source_record(name, place)
            if record.joined:
                self.diag.error(
                    name.span,
                    f"'{name.text}' is a join view: its records are pairs",
                    hint="flatten it with '| select ...' in a view, and take the union of that",
                )
            is_open = is_open or record.open
            for field, kind in record.fields.items():
                known = fields.get(field)
                if known is None or known == ANY:
                    fields[field] = kind
                    first.setdefault(field, name.text)
                elif kind != ANY and kind != known:
                    self.diag.error(
                        name.span,
                        f"field '{field}' is {describe(kind)} in '{name.text}' but "
                        f"{describe(known)} in '{first[field]}': a union's field has one type",
                        hint=f"convert one of them in a view first ('| select ... as {field}')",
                    )
        return Record(fields, open=is_open)

    def score(self, op: ast.ScoreOp, record: Record) -> Record:
        """`score m as r` adds the float `r` (and the variant and shadow fields; see
        gress_cep/models/fields.py)."""
        model = self.models.get(op.model.text)
        fields = dict(record.fields)
        if model is None:
            if op.model.text not in self.broken:
                suggestion = did_you_mean(op.model.text, self.models) or ""
                self.diag.error(op.model.span, f"unknown model '{op.model.text}'{suggestion}")
            fields[op.alias.text] = "float"
            return Record(fields, record.open, record.joined)
        self.scored.add(id(model))
        self.model_use(model, record)
        # imported here: the models package loads onnxruntime
        from gress_cep.models.fields import score_fields

        fields.update(score_fields(op.alias.text, len(model.shadows)))
        return Record(fields, record.open, record.joined)

    def window(self, op: ast.WindowOp, record: Record, place: str) -> None:
        for duration in (op.size, op.every, op.gap):
            if duration is not None and duration.ms <= 0:
                self.diag.error(duration.span, "a window's duration must be longer than 0")
        if op.size is not None and op.every is not None and op.every.ms > op.size.ms > 0:
            self.diag.error(
                op.every.span,
                f"a sliding window's step ({op.every.text}) must not be longer than its size "
                f"({op.size.text})",
                hint="a longer step would skip records between windows",
            )
        if op.kind == "count":
            self.count_window(op)
        elif op.size is not None and op.every is not None and op.size.ms >= op.every.ms > 0:
            self.open_windows(
                op.every.span,
                -(-op.size.ms // op.every.ms),
                f"'sliding {op.size.text} every {op.every.text}'",
            )
        for key in op.by:
            self.exprs.field_type(record, key, place)

    def count_window(self, op: ast.WindowOp) -> None:
        """`count N every M`: the step must not be larger than the size (sizes of 0 are
        syntax errors already)."""
        found = _COUNT_WINDOW.search(self.text.text(op.span))
        if found is None or found.group(2) is None:
            return
        size, step = int(found.group(1)), int(found.group(2))
        offset = self.text.offset(op.span.line, op.span.column) + found.start(2)
        line, column = self.text.position(offset)
        span = ast.Span(line, column, line, column + len(found.group(2)))
        if step > size >= 1:
            self.diag.error(
                span,
                f"a count window's step ({step}) must not be larger than its size ({size})",
                hint="a larger step would skip records between windows",
            )
        elif size >= step >= 1:
            self.open_windows(span, -(-size // step), f"'count {size} every {step}'")

    def open_windows(self, span: ast.Span, windows: int, window: str) -> None:
        if windows > _MANY_OPEN_WINDOWS:
            self.diag.warning(
                span,
                f"{window} keeps up to {windows:,} windows open per key: every record is in "
                "each of them",
                hint="a longer step keeps fewer; a tumbling window keeps one",
            )

    def aggregate(
        self,
        op: ast.AggregateOp,
        window: ast.WindowOp | None,
        record: Record,
        place: str,
        misplaced: bool,
        stream_key: str | None = None,
    ) -> Record:
        """The windows' record: the group fields — the `by` fields, else the stream's key
        (`stream_key`, when the records still carry it) — the bounds and the items."""
        if misplaced and window is None:
            self.diag.error(
                op.span,
                "'aggregate' must come right after a 'window'",
                hint="e.g. '| window tumbling 1h by card_id | aggregate count() as n'",
            )
        if window is None:
            keys = list(record.fields)
        elif window.by:
            keys = [k.text for k in window.by]
        else:
            keys = [stream_key] if stream_key else []
        ctx = Context(
            record,
            place,
            aggregates="window",
            group_keys=keys if window else None,
            models=self.models,
        )
        reserved = dict(_WINDOW_FIELD_MEANINGS) if window else {}
        reserved.update({k: "a field the windows are grouped by" for k in keys} if window else {})
        out = self.outputs(op.items, ctx, "aggregate", reserved, set(keys) if window else None)
        fields: dict[str, Type] = {k: record.get(k) or ANY for k in keys} if window else {}
        fields.update(_WINDOW_FIELDS)
        fields.update(out.fields)
        return Record(fields)

    def lookup(self, op: ast.LookupOp, record: Record, place: str) -> Record:
        on_type = self.exprs.field_type(record, op.on, place)
        table = self.sources.get(op.table.text)
        if not isinstance(table, ast.Stream):
            if table is not None:
                self.diag.error(
                    op.table.span,
                    f"'{op.table.text}' is a view; 'lookup' reads a stream with a 'key'",
                )
            elif op.table.text not in self.broken:
                suggestion = did_you_mean(op.table.text, self.sources) or ""
                self.diag.error(
                    op.table.span, f"unknown stream '{op.table.text}' {place}{suggestion}"
                )
            return Record(dict(record.fields), open=True, joined=record.joined)
        if table.key is None:
            self.diag.error(
                op.table.span,
                f"stream '{op.table.text}' has no 'key' to look up by",
                hint=f"declare its key: 'stream {op.table.text}' followed by 'key FIELD'",
            )
        table_record = from_schema(table.schema)
        if table.key is not None:
            key_type = table_record.get(table.key.text)
            if (
                isinstance(on_type, str)
                and isinstance(key_type, str)
                and ANY not in (on_type, key_type)
                and on_type != key_type
            ):
                self.diag.error(
                    op.on.span,
                    f"'{op.on.text}' is {describe(on_type)} but the key '{table.key.text}' "
                    f"of '{op.table.text}' is {describe(key_type)}",
                )
        fields = dict(table_record.fields)
        fields.update(record.fields)  # the record's own fields win over the table's
        return Record(fields, record.open or table_record.open, record.joined)

    # ------------------------------------------------------------------ outputs
    def outputs(
        self,
        items: tuple[ast.SelectItem, ...],
        ctx: Context,
        clause: str,
        reserved: dict[str, str] | None = None,
        kept: set[str] | None = None,
    ) -> Record:
        """The record that `select`, `aggregate` or `emit` items make; names must be unique
        and must not be one of the `reserved` names the record already carries (name ->
        what it is), which the item would overwrite; a `kept` one may be repeated as it is
        (`aggregate k` for a `by k` field)."""
        fields: dict[str, Type] = {}
        spans: dict[str, ast.Span] = {}
        for item in items:
            t = self.exprs.value(item.expr, ctx)
            name = item.alias.text if item.alias else output_name(item.expr)
            span = item.alias.span if item.alias else item.expr.span
            if name is None:
                self.diag.error(
                    item.expr.span,
                    f"this {clause} item needs a name",
                    hint="add 'as NAME'",
                )
                continue
            keeps_it = isinstance(item.expr, ast.Ref) and item.expr.name == name
            if reserved and name in reserved and not (keeps_it and name in (kept or ())):
                written = self.text.snippet(item.expr.span) or "..."
                self.diag.error(
                    span,
                    f"output '{name}' of '{clause}' has the name of a field every record it "
                    f"makes carries ('{name}': {reserved[name]})",
                    hint=f"name it otherwise with 'as', e.g. '{written} as {name}_1'"
                    if item.alias is None
                    else "give it another name",
                )
                continue
            if name in spans:
                first = spans[name]
                self.diag.error(
                    span,
                    f"two outputs of '{clause}' are named '{name}' (the other at column "
                    f"{first.column} of line {first.line})",
                    hint="use 'as' to give one of them another name",
                )
                continue
            spans[name] = span
            fields[name] = t
        return Record(fields)

    # ------------------------------------------------------------------ patterns
    def pattern(self, p: ast.Pattern) -> None:
        errors = self.diag.error_count
        self.pattern_rules(p)
        if p.match is not None and self.diag.error_count == errors:
            self.automaton_size(p)

    def automaton_size(self, p: ast.Pattern) -> None:
        """A correct pattern is built once here, so that one whose unrolled counted loops and
        groups make more states than the limit is refused by every command that checks it,
        before anything runs (docs/language.md, "Limits")."""
        # imported here: the automaton is the nfa package's, which imports this one
        from gress_cep.nfa.compiler import MAX_NFA_STATES, NfaCompiler, TooManyStates

        try:
            NfaCompiler(p, self.program.source).compile()
        except TooManyStates as exc:
            self.diag.error(
                exc.span,
                f"pattern '{p.name.text}' is too large to build: its automaton would have "
                f"more than {MAX_NFA_STATES:,} states (each repetition of a counted loop or "
                "group, and each order of an '&', is states of its own)",
                hint="use smaller counts, or an open loop ('a+' takes any number of events "
                "in a few states) with a condition such as 'count(a) <= 1000'",
            )

    def pattern_rules(self, p: ast.Pattern) -> None:
        name = p.name.text
        record = self.pattern_source(p)
        if p.partition_by:
            for key in p.partition_by:
                self.exprs.field_type(record, key, "in 'partition by'")
        if p.within is not None and p.within.duration.ms <= 0:
            self.diag.error(p.within.duration.span, "a pattern's 'within' must be longer than 0")
        if p.ttl is not None and p.ttl.ms <= 0:
            self.diag.error(p.ttl.span, "a pattern's 'ttl' must be longer than 0")
        if p.match is None:
            self.diag.error(
                p.name.span,
                f"pattern '{name}' has no 'match'",
                hint="say which events to match, e.g. 'match a -> b'",
            )
            return
        variables = variables_of(p.match, self.diag, self.text)
        self.pattern_structure(p, variables)
        self.conditions(p, record, variables)
        self.skip(p, variables)
        for clause, items in (("emit", p.emit), ("on timeout emit", p.timeout_emit)):
            if items is not None:
                ctx = Context(
                    record, f"in '{clause}'", variables, aggregates="pattern", models=self.models
                )
                # `emit key` of a pattern partitioned by a field `key` is the partition key
                # itself: the same value as the metadata it would overwrite
                kept = {"key"} if self._partition_fields(p) == ["key"] else None
                self.outputs(items, ctx, clause, MATCH_METADATA, kept)
        if p.emit is None:
            self.default_output_names(variables)
        if p.timeout_emit is not None and p.within is None:
            self.diag.error(
                p.clause_spans.get("timeout_emit", p.name.span),
                "'on timeout emit' needs a pattern 'within': without one nothing times out",
                hint="add e.g. 'within 10m'",
            )

    def default_output_names(self, variables: dict[str, Variable]) -> None:
        """Without `emit`, a match record has one entry per variable beside its metadata:
        a variable named like a metadata field would overwrite it (or be overwritten)."""
        for var in variables.values():
            if var.negated or var.name not in MATCH_METADATA:
                continue
            self.diag.error(
                var.span,
                f"variable '{var.name}' has the name of a field every match record carries "
                f"('{var.name}': {MATCH_METADATA[var.name]}): without 'emit', its events "
                "would take that field's place",
                hint=f"rename the variable (e.g. '{var.name}_event'), or name the outputs "
                "with 'emit'",
            )

    def pattern_source(self, p: ast.Pattern) -> Record:
        if p.source is not None:
            return self.source_record(p.source, f"in pattern '{p.name.text}'")
        streams = [d for d in self.program.declarations if isinstance(d, ast.Stream)]
        if len(streams) == 1:
            return from_schema(streams[0].schema)
        if self.broken:
            return UNKNOWN_RECORD
        if streams:
            names = ", ".join(s.name.text for s in streams)
            self.diag.error(
                p.name.span,
                f"pattern '{p.name.text}' has no 'from' and the file declares "
                f"{len(streams)} streams ({names})",
                hint=f"add 'from {streams[0].name.text}' (or another stream or view)",
            )
        else:
            self.diag.error(
                p.name.span,
                f"pattern '{p.name.text}' has no 'from' and the file declares no stream",
                hint="declare the stream it reads: 'stream payments'",
            )
        return UNKNOWN_RECORD

    def pattern_structure(self, p: ast.Pattern, variables: dict[str, Variable]) -> None:
        assert p.match is not None
        timed = p.within is not None
        for contiguity, element in trailing(p.match):
            if element.negated and contiguity in ("relaxed", "any") and not timed:
                ref = element.atom
                assert isinstance(ref, ast.VarRef)
                self.diag.error(
                    element.span,
                    f"the match ends with the absence '!{ref.name}': it needs a pattern 'within'",
                    hint=f"add e.g. 'within 10m': the match is emitted when that time has passed "
                    f"without '{ref.name}'",
                )
        if p.within is not None and not p.within.between_events:
            return
        for contiguity, element in elements(p.match):
            q = element.quantifier
            if contiguity == "any":
                reason = "'->>' keeps a branch open for every later matching event"
            elif q is not None and q.high is None and q.until is None and not element.negated:
                shown = self.text.snippet(element.span) or "this loop"
                reason = f"'{shown}' can repeat without bound"
            else:
                continue
            self.diag.warning(
                element.span,
                f"{reason} and pattern '{p.name.text}' has no 'within': its state can grow "
                "without bound",
                hint="add a 'within' line (e.g. 'within 10m'), or end the loop with 'until(...)'",
            )
            return

    def conditions(self, p: ast.Pattern, record: Record, variables: dict[str, Variable]) -> None:
        seen: dict[str, ast.Condition] = {}
        for cond in p.conditions:
            name = cond.var.text
            var = variables.get(name)
            if var is None:
                suggestion = did_you_mean(name, variables) or ""
                self.diag.error(
                    cond.var.span,
                    f"'{name}' is not a variable of the match{suggestion}",
                    hint="the variables are " + ", ".join(variables) if not suggestion else None,
                )
                continue
            if name in seen:
                self.diag.error(
                    cond.var.span,
                    f"variable '{name}' has two conditions (the other on line "
                    f"{seen[name].var.span.line})",
                    hint="combine them with 'and'",
                )
                continue
            seen[name] = cond
            ctx = Context(
                record,
                f"in condition of '{name}'",
                variables,
                reader=var,
                aggregates="pattern",
                models=self.models,
            )
            self.exprs.condition(cond.expr, ctx, f"the condition of '{name}'")
        for var in variables.values():
            q = var.element.quantifier
            if q is not None and q.until is not None and is_loop(q):
                ctx = Context(
                    record,
                    f"in 'until' of '{var.name}'",
                    variables,
                    reader=var,
                    aggregates="pattern",
                    models=self.models,
                )
                self.exprs.condition(q.until, ctx, f"the 'until' of '{var.name}'")
        assert p.match is not None
        for _, element in elements(p.match):
            q = element.quantifier
            if isinstance(element.atom, ast.VarRef) or q is None or q.until is None:
                continue
            reader = self.group_reader(element, variables)
            if reader is None or not is_loop(q):
                continue
            ctx = Context(
                record,
                f"in 'until' of the group {reader.name}",
                variables,
                reader=reader,
                aggregates="pattern",
                models=self.models,
            )
            self.exprs.condition(q.until, ctx, f"the 'until' of the group {reader.name}")

    def group_reader(self, group: ast.Element, variables: dict[str, Variable]) -> Variable | None:
        """Who reads a group's `until`: it sees the variables before the group and those of
        the group (their events so far), like the condition of the group's last variable."""
        inside = [
            variables[e.atom.name]
            for _, e in elements(group)
            if isinstance(e.atom, ast.VarRef) and e.atom.name in variables and not e.negated
        ]
        if not inside:
            return None
        branches = inside[0].branches
        for v in inside[1:]:
            common = 0
            while (
                common < min(len(branches), len(v.branches))
                and branches[common] == v.branches[common]
            ):
                common += 1
            branches = branches[:common]
        snippet = self.text.snippet(group.atom.span)
        return Variable(
            name=f"({snippet})" if snippet else "(...)",
            span=group.span,
            index=max(v.index for v in inside),
            negated=False,
            repeats=True,
            optional=False,
            looping=True,
            branches=branches,
            element=group,
        )

    def skip(self, p: ast.Pattern, variables: dict[str, Variable]) -> None:
        if p.skip is None or p.skip.var is None:
            return
        target = p.skip.var
        var = variables.get(target.text)
        if var is None:
            suggestion = did_you_mean(target.text, variables) or ""
            self.diag.error(
                target.span,
                f"skip target '{target.text}' is not a variable of the match{suggestion}",
            )
        elif var.negated:
            self.diag.error(
                target.span,
                f"skip target '{target.text}' is negated: it never binds an event to skip to",
            )
