"""A checked program turned into runnable parts: streams, view operator chains, patterns.

Only what the selected patterns and views need is built: a view nothing selected reads costs
nothing. Every operator gets a name unique in the job (its state is stored under it):
`view:NAME/INDEX:KIND` for a view's operators, `pattern:NAME` for a pattern.

A view reads one stream or view (`source`), except that a join, a union and a lookup's table
bring more: `ViewPlan.inputs` lists every input with the operator and port it feeds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gress_cep.dsl import ast
from gress_cep.dsl.errors import check_names
from gress_cep.dsl.expressions import (
    compile_match_expression,
    compile_record_expression,
    compile_record_predicate,
    output_name,
)
from gress_cep.dsl.source_text import SourceText
from gress_cep.errors import UserError
from gress_cep.nfa.compiler import compile_pattern
from gress_cep.nfa.model import Nfa
from gress_cep.operators.base import DeadLetterCallback, Operator
from gress_cep.operators.pattern import PatternOperator, Projection
from gress_cep.operators.select import SelectOperator
from gress_cep.operators.where import WhereOperator

Record = dict[str, Any]

DEFAULT_IDLE_TIMEOUT_S = 30.0
DEFAULT_MAX_TIME_SKEW_MS = 86_400_000  # 1d: see StreamPlan.max_skew_ms


@dataclass(slots=True)
class StreamPlan:
    decl: ast.Stream
    name: str
    time_field: str | None
    lateness_ms: int
    idle_timeout_s: float
    key_field: str | None
    nullable: frozenset[str] = frozenset()  # schema fields marked `T?`
    # a record whose time is more than this ahead of both the watermark and the wall clock is
    # a dead letter instead of moving the watermark there (None: no bound; --max-time-skew)
    max_skew_ms: int | None = DEFAULT_MAX_TIME_SKEW_MS


@dataclass(slots=True, frozen=True)
class ViewInput:
    """A stream or view feeding port `port` of the view's operator `op` (0, 0: the usual)."""

    op: int
    port: int
    name: str


@dataclass(slots=True)
class ViewPlan:
    decl: ast.View
    name: str
    source: str  # what feeds port 0 of its first operator (a join's left side)
    operators: list[Operator]
    fingerprint: str = ""  # changes when the view, the views before it or its stream change
    source_print: str = ""  # changes when the views before it or its stream change
    inputs: list[ViewInput] = field(default_factory=list)  # every input, `source` first


@dataclass(slots=True)
class PatternPlan:
    decl: ast.Pattern
    name: str
    source: str
    root: str  # the stream the pattern's records come from
    operator: PatternOperator
    fingerprint: str  # changes when the pattern, its views or its stream change
    source_fingerprint: str  # changes when its views or its stream change


@dataclass(slots=True)
class Plan:
    streams: dict[str, StreamPlan] = field(default_factory=dict)
    views: dict[str, ViewPlan] = field(default_factory=dict)
    patterns: dict[str, PatternPlan] = field(default_factory=dict)
    output_views: list[str] = field(default_factory=list)  # views whose records are an output
    source: str = ""  # the pattern file's text (messages quote it)

    def root_of(self, name: str) -> str:
        """The stream at the start of `name`'s first inputs (a join's left side)."""
        while name in self.views:
            name = self.views[name].source
        return name

    def roots(self, name: str) -> list[str]:
        """Every stream whose records reach `name` (a join's, a union's, a lookup's table)."""
        if name not in self.views:
            return [name]
        found = [r for i in self.views[name].inputs for r in self.roots(i.name)]
        return list(dict.fromkeys(found))

    def check_inputs(self, given: Iterable[str], reader: str | None = None) -> None:
        """A UserError naming the streams that the patterns and output views read but that
        have no input among `given` (`reader`: the file, when the message must say which)."""
        needed = {r for p in self.patterns.values() for r in self.roots(p.source)}
        needed |= {r for view in self.output_views for r in self.roots(view)}
        missing = sorted(needed - set(given))
        if missing:
            raise UserError(
                f"no input for stream {', '.join(repr(m) for m in missing)}"
                + (f" (read by {reader})" if reader else ""),
                hint=f"add -i {missing[0]}=PATH (or kafka:TOPIC)",
            )

    def upstream_views(self, name: str) -> list[ViewPlan]:
        """Every view whose records reach `name`, `name` included; inputs before readers."""
        if name not in self.views:
            return []
        view = self.views[name]
        found = [v for i in view.inputs for v in self.upstream_views(i.name)]
        return [*{id(v): v for v in found}.values(), view]

    def key_of(self, name: str) -> str | None:
        """The stream `key` that the records of `name` still carry: none after a join, or a
        union of inputs keyed by different fields; a `select` or a window may drop it."""
        if name in self.streams:
            return self.streams[name].key_field
        view = self.views[name]
        return _key_after(list(view.decl.ops), _input_key(self, view.decl))

    def chain(self, name: str) -> list[ViewPlan]:
        """The views from the root stream down to `name` (root first)."""
        out = []
        while name in self.views:
            out.append(self.views[name])
            name = self.views[name].source
        out.reverse()
        return out


@dataclass(slots=True)
class PlanOptions:
    patterns: list[str] | None = None  # run only these
    views: list[str] | None = None  # write the records of these views (then only the
    # patterns named in `patterns` run)
    max_runs_per_key: int = 10_000
    idle_timeout_s: float | None = None  # overrides the streams' default (not their `idle`)
    base_dir: Path = field(default_factory=Path.cwd)
    on_dead_letter: DeadLetterCallback | None = None
    max_time_skew_ms: int | None = DEFAULT_MAX_TIME_SKEW_MS  # None: off


def build_plan(program: ast.Program, options: PlanOptions | None = None) -> Plan:
    options = options or PlanOptions()
    plan = Plan(source=program.source)
    for stream in program.of_type(ast.Stream):
        plan.streams[stream.name.text] = _stream_plan(stream, options)
    views = {v.name.text: v for v in program.of_type(ast.View)}
    models = {m.name.text: m for m in program.of_type(ast.Model)}
    patterns = program.of_type(ast.Pattern)
    if options.patterns:
        check_names("pattern", options.patterns, [p.name.text for p in patterns], program.filename)
        patterns = [p for p in patterns if p.name.text in options.patterns]
    elif options.views:
        patterns = []  # --view alone: only the views
    for name in options.views or []:
        check_names("view", [name], list(views), program.filename)
        _build_views(name, views, models, plan, options)
        if name not in plan.output_views:
            plan.output_views.append(name)
    for pattern in patterns:
        source = _pattern_source(pattern, plan)
        _build_views(source, views, models, plan, options)
        root = plan.root_of(source)
        key_of = _key_function(pattern, _root_key(plan, source))
        nfa = compile_pattern(pattern, program.source)
        operator = PatternOperator(
            nfa=nfa,
            key_of=key_of,
            emit=_projection(pattern.emit, nfa),
            timeout_emit=_projection(pattern.timeout_emit, nfa),
            max_runs_per_key=options.max_runs_per_key,
            ttl_ms=pattern.ttl.ms if pattern.ttl is not None else None,
        )
        upstream = _upstream(plan, source)
        plan.patterns[pattern.name.text] = PatternPlan(
            pattern,
            pattern.name.text,
            source,
            root,
            operator,
            _fingerprint(program, [pattern, *upstream]),
            _fingerprint(program, upstream),
        )
    for name, view in plan.views.items():
        view.fingerprint = _fingerprint(program, _upstream(plan, name))
        view.source_print = _fingerprint(program, _upstream(plan, view.source))
    return plan


def _upstream(plan: Plan, name: str) -> list[Any]:
    """The declarations records pass through to reach `name`: its views and its streams."""
    views = [v.decl for v in plan.upstream_views(name)]
    return [*views, *(plan.streams[r].decl for r in plan.roots(name))]


def _input_key(plan: Plan, view: ast.View) -> str | None:
    """The stream `key` the records entering `view` carry: none from a join (pairs); a
    union's when all its inputs carry the same one."""
    match view.source:
        case ast.JoinSource():
            return None
        case ast.UnionSource(inputs=inputs):
            keys = {plan.key_of(i.text) for i in inputs}
            return keys.pop() if len(keys) == 1 else None
        case ast.SourceRef(name=name):
            return plan.key_of(name.text)
    return None


def _root_key(plan: Plan, name: str) -> str | None:
    """What a pattern without `partition by` reading `name` is keyed by: the key of the
    stream(s) its records come from (none through a join)."""
    while name in plan.views:
        view = plan.views[name]
        if not isinstance(view.decl.source, ast.SourceRef):
            return _input_key(plan, view.decl)
        name = view.source
    return plan.streams[name].key_field


def _fingerprint(program: ast.Program, decls: list[Any]) -> str:
    """A digest of the declarations' text (white space folded): a checkpoint's state of a
    pattern is reused only when none of them changed."""
    text = SourceText(program.source)
    digest = hashlib.sha256()
    for decl in decls:
        digest.update(" ".join(text.text(decl.span).split()).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _stream_plan(stream: ast.Stream, options: PlanOptions) -> StreamPlan:
    idle = options.idle_timeout_s if options.idle_timeout_s is not None else DEFAULT_IDLE_TIMEOUT_S
    if stream.idle is not None:
        idle = stream.idle.ms / 1000
    return StreamPlan(
        decl=stream,
        name=stream.name.text,
        time_field=stream.time.text if stream.time else None,
        lateness_ms=stream.lateness.ms if stream.lateness else 0,
        idle_timeout_s=idle,
        key_field=stream.key.text if stream.key else None,
        nullable=frozenset(f.name.text for f in stream.schema or () if f.nullable),
        max_skew_ms=options.max_time_skew_ms,
    )


def _pattern_source(pattern: ast.Pattern, plan: Plan) -> str:
    if pattern.source is not None:
        return pattern.source.text
    if len(plan.streams) == 1:  # the checker allows leaving `from` out only then
        return next(iter(plan.streams))
    raise UserError(f"pattern '{pattern.name.text}' needs a 'from' clause")


def _build_views(
    name: str,
    views: dict[str, ast.View],
    models: dict[str, ast.Model],
    plan: Plan,
    options: PlanOptions,
) -> None:
    if name in plan.views or name in plan.streams:
        return
    view = views[name]
    operators: list[Operator] = []
    match view.source:
        case ast.JoinSource(left=left, right=right):
            names = [left.stream.text, right.stream.text]
        case ast.UnionSource(inputs=union):
            names = [i.text for i in union]
        case ast.SourceRef(name=ref):
            names = [ref.text]
    inputs = [ViewInput(0, port, source) for port, source in enumerate(names)]
    for source in names:
        _build_views(source, views, models, plan, options)
    source = names[0]
    if len(names) > 1:
        operators.append(_input_operator(view, names, plan, plan.source))
    ops = list(view.ops)
    i = 0
    while i < len(ops):
        op = ops[i]
        if isinstance(op, ast.WindowOp):
            # `window | aggregate [| having]` is one operator: windows in, aggregates out
            from gress_cep.operators.window import build_window_operator

            aggregate = ops[i + 1]
            assert isinstance(aggregate, ast.AggregateOp), "the checker's rule"
            having = ops[i + 2] if i + 2 < len(ops) else None
            having = having if isinstance(having, ast.HavingOp) else None
            nullable = frozenset().union(*(plan.streams[r].nullable for r in plan.roots(source)))
            operator: Operator = build_window_operator(
                f"view:{name}/{len(operators)}:window",
                op,
                aggregate,
                having,
                _key_after(ops[:i], _input_key(plan, view)),
                nullable,
                name,
            )
            i += 3 if having is not None else 2
        elif isinstance(op, ast.LookupOp):
            operator = _lookup_operator(
                f"view:{name}/{len(operators)}:lookup", view, op, names, plan
            )
            inputs.append(ViewInput(len(operators), 1, op.table.text))
            i += 1
        else:
            operator = _operator(view, op, models, options)
            operator.name = f"view:{name}/{len(operators)}:{type(op).__name__[:-2].lower()}"
            i += 1
        operators.append(operator)
    plan.views[name] = ViewPlan(view, name, source, operators, inputs=inputs)


def _key_after(ops: list[ast.ViewOp], key: str | None) -> str | None:
    """The stream's key field if records still carry it after `ops` (a `select` without it,
    or a window grouped by other fields, drops it)."""
    for op in ops:
        if key is None:
            break
        if isinstance(op, ast.SelectOp):
            kept = {output_name(i) for i in op.items}
        elif isinstance(op, ast.WindowOp) and op.by:
            kept = {b.text for b in op.by}
        else:
            continue
        if key not in kept:
            key = None
    return key


def _operator(
    view: ast.View, op: ast.ViewOp, models: dict[str, ast.Model], options: PlanOptions
) -> Operator:
    match op:
        case ast.WhereOp(condition=cond):
            return WhereOperator(compile_record_predicate(cond))
        case ast.SelectOp(items=items):
            names = [output_name(i) for i in items]
            return SelectOperator(names, [compile_record_expression(i.expr) for i in items])
        case ast.ScoreOp(model=model, alias=alias):
            from gress_cep.operators.score import ScoreOperator

            return ScoreOperator.from_ast(
                models[model.text], alias.text, options.base_dir, options.on_dead_letter
            )
    raise UserError(f"view '{view.name.text}': unsupported operator")


def _input_operator(view: ast.View, names: list[str], plan: Plan, source: str) -> Operator:
    """The first operator of a join or a union view: it reads all of the view's inputs."""
    name = view.name.text
    if isinstance(view.source, ast.JoinSource):
        from gress_cep.operators.join import build_join

        return build_join(f"view:{name}/0:join", name, view.source, names, source)
    from gress_cep.operators.union import Union

    fields: dict[str, None] = {}
    for input_name in names:
        fields.update(dict.fromkeys(_declared_fields(plan, input_name)))
    return Union(f"view:{name}/0:union", name, names, list(fields))


def _declared_fields(plan: Plan, name: str) -> list[str]:
    """The fields a stream's schema declares (a view: those of its streams, when it only
    filters them; else none known)."""
    if name in plan.streams:
        return [f.name.text for f in plan.streams[name].decl.schema or ()]
    view = plan.views[name]
    if isinstance(view.decl.source, ast.SourceRef) and all(
        isinstance(op, ast.WhereOp) for op in view.decl.ops
    ):
        return _declared_fields(plan, view.source)
    return []


def _lookup_operator(
    name: str,
    view: ast.View,
    op: ast.LookupOp,
    names: list[str],
    plan: Plan,
) -> Operator:
    """A lookup of `op.table`; `names` are the view's inputs (their lateness bounds how long
    the table keeps old versions)."""
    from gress_cep.operators.lookup import TemporalLookup

    table = plan.streams.get(op.table.text)
    if table is None:  # the checker's rule: a stream
        raise UserError(f"view '{view.name.text}': '{op.table.text}' is not a stream")
    if table.key_field is None:  # the checker's rule too, for files that skip checking
        raise UserError(
            f"view '{view.name.text}': stream '{table.name}' has no 'key' to look up by",
            hint=f"declare its key: 'stream {table.name}' followed by 'key FIELD'",
        )
    lateness = max(plan.streams[r].lateness_ms for n in names for r in plan.roots(n))
    return TemporalLookup(
        name,
        view.name.text,
        [names[0], table.name],
        op.on.text,
        table.key_field,
        table.time_field,
        [f.name.text for f in table.decl.schema or ()],
        lateness,
    )


def _key_function(pattern: ast.Pattern, root_key: str | None) -> Callable[[Record], Any]:
    """The partition key of an event: `partition by` fields, else the stream's key, else none."""
    if pattern.partition_by is None:
        fields = [root_key] if root_key else []
    else:
        fields = [f.text for f in pattern.partition_by]
    if not fields:
        return lambda e: None
    if len(fields) == 1:
        return itemgetter_or_none(fields[0])
    names = tuple(fields)
    return lambda e: tuple(e.get(n) for n in names)


def itemgetter_or_none(name: str) -> Callable[[Record], Any]:
    """`record.get(name)` as a bound method call: the cheapest key function there is."""

    def get(e: Record) -> Any:
        return e.get(name)

    get.gress_field = name  # type: ignore[attr-defined]  # the NFA kernel inlines it
    return get


def _projection(items: tuple[ast.SelectItem, ...] | None, nfa: Nfa) -> Projection | None:
    if items is None:
        return None
    variables = set(nfa.variables)
    return Projection(
        names=[output_name(i) for i in items],
        functions=[compile_match_expression(i.expr, variables) for i in items],
    )
