"""Checks one expression in its context: what each name means, which calls exist, the types.

The name rules (docs/language.md, "Names in expressions"; the compiler in expressions.py follows
the same ones):
- in a view, a model's `inputs` or `partition by`: a bare name is a field of the record;
- in the condition of pattern variable `v`: a bare name is a field of the candidate event,
  unless it is a variable (then only `b.field` and aggregates like `count(b)` use it); `a.f`
  is a field of variable `a`'s event; `x.y` with `x` no variable is a nested field;
- in `emit`: the same, where bare names are fields of the match's last event.

Types are known where a stream declares a `schema` and flow through views; elsewhere they
are "any" and every field name is accepted. Only what can be known before running is reported.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Literal

from gress_cep.dsl import ast, functions
from gress_cep.dsl.ast import Span
from gress_cep.dsl.errors import Diagnostics, did_you_mean
from gress_cep.dsl.match_structure import Variable, visibility
from gress_cep.dsl.record_types import (
    ANY,
    DURATION,
    LIST,
    NULL,
    UNKNOWN_RECORD,
    Record,
    Type,
    describe,
)
from gress_cep.dsl.source_text import SourceText

_NUMBERS = ("int", "float", "timestamp", DURATION)
_ORDERING = ("<", "<=", ">", ">=")
_LOGIC = ("and", "or")
_ACCEPTS = {
    "number": ("int", "float", "timestamp", DURATION),
    "int": ("int",),
    "string": ("string",),
    "timestamp": ("timestamp", "int", "float"),
}
_EXPECTED = {
    "number": "a number",
    "int": "an int",
    "string": "a string",
    "timestamp": "a timestamp",
}


@dataclass(slots=True)
class Context:
    """What names mean where an expression stands."""

    record: Record  # the record bare names read: the view's record, the candidate, the last event
    place: str  # for messages: "in condition of 'big'", "in view 'scored'"
    variables: dict[str, Variable] = field(default_factory=dict)
    reader: Variable | None = None  # a condition or until of this variable sees only earlier ones
    aggregates: Literal["pattern", "window"] | None = None
    group_keys: Collection[str] | None = None  # `aggregate` items: names usable outside aggregates
    no_aggregate_hint: str | None = None
    models: Collection[str] = ()


def family(t: Type) -> str | None:
    """Types that compare with each other share a family; None for unknown and null."""
    if isinstance(t, Record):
        return "record"
    if t in _NUMBERS:
        return "number"
    if t in (ANY, NULL):
        return None
    return t


def refs(expr: ast.Expr) -> Iterator[ast.Ref]:
    """Every bare name in an expression (the first part of `a.b` included)."""
    match expr:
        case ast.Ref():
            yield expr
        case ast.Attr(obj=obj):
            yield from refs(obj)
        case ast.Call(args=args) | ast.ListExpr(items=args):
            for a in args:
                yield from refs(a)
        case (
            ast.Unary(operand=operand) | ast.IsNull(operand=operand) | ast.Matches(operand=operand)
        ):
            yield from refs(operand)
        case ast.Binary(left=left, right=right):
            yield from refs(left)
            yield from refs(right)
        case ast.InList(operand=operand, items=items):
            yield from refs(operand)
            for item in items:
                yield from refs(item)
        case ast.Between(operand=operand, low=low, high=high):
            for part in (operand, low, high):
                yield from refs(part)


@dataclass(slots=True)
class _PatternAggregate:
    """While checking the argument of `sum(...)` & co. in a pattern: the variables it uses."""

    func: str
    variables: set[str] = field(default_factory=set)
    bare_names: bool = False  # a field without its variable was reported already


class ExpressionChecker:
    def __init__(self, diag: Diagnostics, text: SourceText) -> None:
        self.diag = diag
        self.text = text
        self._pattern_aggregate: _PatternAggregate | None = None
        self._in_window_aggregate = False

    # ------------------------------------------------------------------ entry points
    def condition(self, expr: ast.Expr, ctx: Context, what: str) -> None:
        """An expression that must be true or false (`where`, `having`, `until`, join `on`)."""
        t = self.value(expr, ctx)
        if family(t) not in (None, "bool"):
            self.diag.error(expr.span, f"{what} must be true or false, not {self._show(expr, t)}")

    def value(self, expr: ast.Expr, ctx: Context) -> Type:
        """The type of an expression used as a value; an event or record is not a value."""
        t = self._infer(expr, ctx)
        if isinstance(t, Record):
            if isinstance(expr, ast.Call):
                text = self.text.snippet(expr.span) or f"{expr.func}(...)"
                self.diag.error(
                    expr.span,
                    f"{text} is an event, not a value: write {text}.field",
                )
            else:
                text = self.text.snippet(expr.span) or "this"
                self.diag.error(expr.span, f"'{text}' is a record, not a value: write {text}.field")
            return ANY
        return t

    def field_type(self, record: Record, name: ast.Name, place: str) -> Type:
        """A field named in a clause (`key`, `partition by`, `window ... by`, `lookup ... on`)."""
        if record.joined and record.get(name.text) is None:
            alias = next(iter(record.fields), "p")
            self.diag.error(
                name.span,
                f"'{name.text}' is not a field {place}: a join view's records hold "
                + " and ".join(f"'{a}'" for a in record.fields),
                hint=f"select plain fields first: '| select {alias}.{name.text} as {name.text}'",
            )
            return ANY
        return self._field(record, name.text, name.span, Context(record, place))

    # ------------------------------------------------------------------ inference
    def _infer(self, expr: ast.Expr, ctx: Context) -> Type:
        match expr:
            case ast.Literal(value=value):
                return _literal_type(value)
            case ast.Duration():
                return DURATION
            case ast.ListExpr(items=items):
                for item in items:
                    self.value(item, ctx)
                return LIST
            case ast.Ref():
                return self._ref(expr, ctx)
            case ast.Attr():
                return self._attr(expr, ctx)
            case ast.Call():
                return self._call(expr, ctx)
            case ast.Unary(op="not", operand=operand):
                self._truth(operand, ctx, "'not'")
                return "bool"
            case ast.Unary(operand=operand):
                t = self.value(operand, ctx)
                if family(t) not in (None, "number"):
                    self.diag.error(expr.span, f"cannot negate {self._show(operand, t)}")
                    return ANY
                return t
            case ast.Binary(op=op) if op in _LOGIC:
                self._truth(expr.left, ctx, f"'{op}'")
                self._truth(expr.right, ctx, f"'{op}'")
                return "bool"
            case ast.Binary(op=op) if op in ("==", "!=", *_ORDERING):
                return self._compare(expr, ctx)
            case ast.Binary():
                return self._arithmetic(expr, ctx)
            case ast.InList(operand=operand, items=items):
                t = self.value(operand, ctx)
                for item in items:
                    self._comparable(operand, t, item, self.value(item, ctx), "list item")
                return "bool"
            case ast.Between(operand=operand, low=low, high=high):
                t = self.value(operand, ctx)
                if family(t) not in (None, "number", "string"):
                    self.diag.error(
                        expr.span,
                        f"'between' needs numbers or strings, not {self._show(operand, t)}",
                    )
                for bound in (low, high):
                    self._comparable(operand, t, bound, self.value(bound, ctx), "'between' bound")
                return "bool"
            case ast.IsNull(operand=operand):
                self.value(operand, ctx)
                return "bool"
            case ast.Matches(operand=operand):
                t = self.value(operand, ctx)
                if family(t) not in (None, "string"):
                    self.diag.error(
                        expr.span, f"'matches' needs a string, not {self._show(operand, t)}"
                    )
                self._regex(expr)
                return "bool"
        raise AssertionError(f"unexpected expression node {expr!r}")

    def _regex(self, expr: ast.Matches) -> None:
        """A regular expression that cannot be compiled is an error where it is written;
        Python's warnings about it (a possible nested set, ...) are warnings there too."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                re.compile(expr.regex)
            except re.error as exc:
                self.diag.error(expr.regex_span, f"invalid regular expression: {exc.msg}")
            except OverflowError:  # a{4294967296}
                self.diag.error(
                    expr.regex_span,
                    "invalid regular expression: a repetition count is too large",
                    hint="counts in a regular expression are at most 4294967294",
                )
            except RecursionError:
                self.diag.error(
                    expr.regex_span, "invalid regular expression: it is nested too deeply"
                )
        for warning in caught:
            self.diag.warning(expr.regex_span, f"regular expression: {warning.message}")

    def _truth(self, expr: ast.Expr, ctx: Context, what: str) -> None:
        t = self.value(expr, ctx)
        if family(t) not in (None, "bool"):
            self.diag.error(expr.span, f"{what} needs true or false, not {self._show(expr, t)}")

    def _compare(self, expr: ast.Binary, ctx: Context) -> Type:
        left = self.value(expr.left, ctx)
        right = self.value(expr.right, ctx)
        if expr.op in ("==", "!=") and NULL in (left, right):
            operand = expr.left if right == NULL else expr.right  # the side that is not null
            other = self.text.snippet(operand.span) or "x"
            negation = "not " if expr.op == "!=" else ""
            self.diag.warning(
                expr.span,
                "a comparison with null is always false",
                hint=f"write '{other} is {negation}null'",
            )
            return "bool"
        fl, fr = family(left), family(right)
        if fl and fr and fl != fr:
            self.diag.error(
                expr.span,
                f"cannot compare {self._show(expr.left, left)} "
                f"with {self._show(expr.right, right)}",
            )
        elif expr.op in _ORDERING and (fl or fr) not in (None, "number", "string"):
            self.diag.error(
                expr.span,
                f"'{expr.op}' needs numbers or strings, not {self._show(expr.left, left)}",
            )
        return "bool"

    def _comparable(self, operand: ast.Expr, t: Type, other: ast.Expr, u: Type, what: str) -> None:
        ft, fu = family(t), family(u)
        if ft and fu and ft != fu:
            self.diag.error(
                other.span,
                f"{what} {self._show(other, u)} cannot be compared with {self._show(operand, t)}",
            )

    def _arithmetic(self, expr: ast.Binary, ctx: Context) -> Type:
        left = self.value(expr.left, ctx)
        right = self.value(expr.right, ctx)
        bad = [
            (e, t)
            for e, t in ((expr.left, left), (expr.right, right))
            if family(t) not in (None, "number")
        ]
        if bad:
            operand, t = bad[0]
            hint = "there is no string concatenation" if t == "string" and expr.op == "+" else None
            self.diag.error(
                expr.span, f"cannot apply '{expr.op}' to {self._show(operand, t)}", hint=hint
            )
            return ANY
        return _arithmetic_type(expr.op, left, right)

    # ------------------------------------------------------------------ names
    def _ref(self, expr: ast.Ref, ctx: Context) -> Type:
        name = expr.name
        if name in ctx.variables:
            self.diag.error(
                expr.span,
                f"variable '{name}' is not a value: write {name}.field, or an aggregate "
                f"like count({name})",
            )
            return ANY
        agg = self._pattern_aggregate
        if agg is not None:
            example = next(iter(agg.variables), "b")
            agg.bare_names = True
            self.diag.error(
                expr.span,
                f"'{name}' in {agg.func}(...) must say whose field it is",
                hint=f"an aggregate ranges over one variable's events: write {example}.{name}",
            )
            return ANY
        if (
            ctx.group_keys is not None
            and not self._in_window_aggregate
            and name not in ctx.group_keys
        ):
            self.diag.error(
                expr.span,
                f"'{name}' is not a 'by' field of the window: use it inside an aggregate",
                hint=f"e.g. sum({name}), or add it to the window's 'by'",
            )
            return ANY
        return self._field(ctx.record, name, expr.span, ctx)

    def _field(self, record: Record, name: str, span: Span, ctx: Context) -> Type:
        t = record.get(name)
        if t is not None:
            return t
        if record.joined:
            sides = {a: side for a, side in record.fields.items() if isinstance(side, Record)}
            having = [a for a, side in sides.items() if side.get(name) is not None] or list(sides)
            self.diag.error(
                span,
                f"'{name}' must be qualified {ctx.place}: a join view's fields belong to "
                + " or ".join(f"'{a}'" for a in sides),
                hint="write " + " or ".join(f"{a}.{name}" for a in having),
            )
            return ANY
        fields = list(record.fields)
        suggestion = did_you_mean(name, [*fields, *ctx.variables])
        if suggestion and suggestion == did_you_mean(name, ctx.variables):
            # the closest name is a variable: most likely a misspelt one
            self.diag.error(span, f"unknown variable '{name}' {ctx.place}{suggestion}")
            return ANY
        hint = None
        if not suggestion and fields:
            shown = ", ".join(fields[:12]) + (", ..." if len(fields) > 12 else "")
            hint = f"the fields are: {shown}"
        self.diag.error(span, f"unknown field '{name}' {ctx.place}{suggestion or ''}", hint=hint)
        return ANY

    def _attr(self, expr: ast.Attr, ctx: Context) -> Type:
        obj = expr.obj
        if isinstance(obj, ast.Ref) and obj.name in ctx.variables:
            self._use(ctx.variables[obj.name], obj.span, ctx)
            return self._member(ctx.record, expr, ctx, owner=f"'{obj.name}'")
        if (
            isinstance(obj, ast.Ref)
            and ctx.variables
            and ctx.record.open
            and obj.name not in ctx.record.fields
        ):
            suggestion = did_you_mean(obj.name, ctx.variables)
            if suggestion:
                self.diag.warning(
                    obj.span,
                    f"'{obj.name}' is not a variable: '{obj.name}.{expr.name}' reads a nested "
                    f"field of the event{suggestion}",
                )
        t = self._infer(obj, ctx)
        if isinstance(t, Record):
            owner = self.text.snippet(obj.span)
            return self._member(t, expr, ctx, owner=f"'{owner}'" if owner else "the record")
        if family(t) is None:
            return ANY
        self.diag.error(
            expr.span, f"{self._show(obj, t)} has no fields: cannot read '.{expr.name}'"
        )
        return ANY

    def _member(self, record: Record, expr: ast.Attr, ctx: Context, owner: str) -> Type:
        t = record.get(expr.name)
        if t is not None:
            return t
        suggestion = did_you_mean(expr.name, record.fields) or ""
        self.diag.error(
            expr.span, f"unknown field '{expr.name}' of {owner} {ctx.place}{suggestion}"
        )
        return ANY

    def _use(self, var: Variable, span: Span, ctx: Context) -> None:
        """A reference to a pattern variable: it must be visible and not negated."""
        if var.negated and (ctx.reader is None or ctx.reader.name != var.name):
            self.diag.error(
                span,
                f"cannot reference the negated variable '{var.name}'",
                hint=f"'!{var.name}' never binds an event",
            )
        elif ctx.reader is not None:
            reason = visibility(ctx.reader, var)
            if reason:
                self.diag.error(span, reason)
        if self._pattern_aggregate is not None:
            self._pattern_aggregate.variables.add(var.name)

    # ------------------------------------------------------------------ calls
    def _call(self, expr: ast.Call, ctx: Context) -> Type:
        name, args = expr.func, expr.args
        name_span = Span(
            expr.span.line, expr.span.column, expr.span.line, expr.span.column + len(name)
        )
        if name in ("min", "max") and len(args) not in (1, 2):
            which = "smaller" if name == "min" else "larger"
            self.diag.error(
                name_span,
                f"'{name}' takes 1 argument (an aggregate) or 2 (the {which} of two values), "
                f"not {len(args)}",
            )
            return ANY
        if functions.is_scalar_call(name, len(args)):
            return self._scalar(expr, name_span, ctx)
        is_aggregate = name in functions.PATTERN_AGGREGATES or name in functions.WINDOW_AGGREGATES
        if is_aggregate:
            if self._pattern_aggregate is not None or self._in_window_aggregate:
                self.diag.error(
                    name_span, f"aggregates cannot be nested: '{name}' inside an aggregate"
                )
                return ANY
            if ctx.aggregates == "pattern":
                if name in functions.PATTERN_AGGREGATES:
                    return self._pattern_aggregate_call(expr, name_span, ctx)
                self.diag.error(
                    name_span,
                    f"'{name}' is a window aggregate, not available in patterns",
                    hint="patterns have " + ", ".join(functions.PATTERN_AGGREGATES),
                )
                return ANY
            if ctx.aggregates == "window":
                if name in functions.WINDOW_AGGREGATES:
                    return self._window_aggregate_call(expr, name_span, ctx)
                self.diag.error(
                    name_span,
                    f"'{name}' is not a window aggregate",
                    hint="windows have " + ", ".join(functions.WINDOW_AGGREGATES),
                )
                return ANY
            self.diag.error(
                name_span,
                f"aggregate '{name}' is not allowed {ctx.place}",
                hint=ctx.no_aggregate_hint,
            )
            return ANY
        if name in ctx.models:
            self.diag.error(
                name_span,
                f"'{name}' is a model, not a function",
                hint=f"score it in a view ('| score {name} as risk') and use the field it adds",
            )
        else:
            suggestion = did_you_mean(name, functions.all_function_names()) or ""
            self.diag.error(name_span, f"unknown function '{name}'{suggestion}")
        for a in args:
            self.value(a, ctx)
        return ANY

    def _scalar(self, expr: ast.Call, name_span: Span, ctx: Context) -> Type:
        fn = functions.scalar(expr.func)
        n = len(expr.args)
        if not fn.min_args <= n <= fn.max_args:
            if fn.min_args == fn.max_args:
                wanted = f"{fn.min_args} argument{'s' if fn.min_args != 1 else ''}"
            else:
                wanted = f"{fn.min_args} or {fn.max_args} arguments"
            self.diag.error(name_span, f"'{fn.name}' takes {wanted}, not {n}")
        types = []
        for i, arg in enumerate(expr.args):
            t = self.value(arg, ctx)
            types.append(t)
            expected = fn.arg_types[min(i, len(fn.arg_types) - 1)]
            if expected in _ACCEPTS and t not in (ANY, NULL) and t not in _ACCEPTS[expected]:
                self.diag.error(
                    arg.span,
                    f"argument {i + 1} of '{fn.name}' must be {_EXPECTED[expected]}, "
                    f"not {self._show(arg, t)}",
                )
        if fn.returns == "arg":
            return types[0] if types and family(types[0]) == "number" else ANY
        return fn.returns

    def _pattern_aggregate_call(self, expr: ast.Call, name_span: Span, ctx: Context) -> Type:
        name, args = expr.func, expr.args
        if name in ("count", *functions.EVENT_AGGREGATES):
            if len(args) != 1 or not isinstance(args[0], ast.Ref):
                self.diag.error(expr.span, f"'{name}' takes one pattern variable, e.g. {name}(b)")
                return "int" if name == "count" else UNKNOWN_RECORD
            ref = args[0]
            var = ctx.variables.get(ref.name)
            if var is None:
                suggestion = did_you_mean(ref.name, ctx.variables) or ""
                self.diag.error(ref.span, f"unknown variable '{ref.name}' {ctx.place}{suggestion}")
            else:
                self._use(var, ref.span, ctx)
                if name == "prev" and not var.repeats:
                    self.diag.error(
                        expr.span,
                        f"'prev' needs a variable that repeats; '{ref.name}' takes one event",
                        hint=f"quantify it, e.g. '{ref.name}+', or read {ref.name}.field",
                    )
            return "int" if name == "count" else ctx.record
        if len(args) != 1:
            self.diag.error(name_span, f"'{name}' takes one argument, not {len(args)}")
            return ANY
        (arg,) = args
        self._pattern_aggregate = _PatternAggregate(name)
        try:
            t = self.value(arg, ctx)
            used = self._pattern_aggregate.variables
            reported = self._pattern_aggregate.bare_names
        finally:
            self._pattern_aggregate = None
        if not used and not reported:
            self.diag.error(
                arg.span,
                f"the argument of '{name}' must use a variable's fields, e.g. {name}(b.amount)",
            )
        elif len(used) > 1:
            names = " and ".join(f"'{v}'" for v in sorted(used))
            self.diag.error(
                arg.span,
                f"'{name}' mixes variables {names}: an aggregate ranges over one variable",
            )
        return self._aggregate_type(name, arg, t)

    def _window_aggregate_call(self, expr: ast.Call, name_span: Span, ctx: Context) -> Type:
        name, args = expr.func, expr.args
        allowed = (0, 1) if name == "count" else (1,)
        if len(args) not in allowed:
            self.diag.error(name_span, f"'{name}' takes one argument, not {len(args)}")
            return ANY
        if not args:
            return "int"
        self._in_window_aggregate = True
        try:
            t = self.value(args[0], ctx)
        finally:
            self._in_window_aggregate = False
        if name in ("count", "distinct_count"):
            return "int"
        return self._aggregate_type(name, args[0], t)

    def _aggregate_type(self, name: str, arg: ast.Expr, t: Type) -> Type:
        """The result type of sum/avg/min/max/first/last over values of type `t`."""
        fam = family(t)
        if (name in ("sum", "avg") and fam not in (None, "number")) or (
            name == "sum" and t == "timestamp"
        ):
            self.diag.error(arg.span, f"'{name}' needs numbers, not {self._show(arg, t)}")
            return ANY
        if name in ("min", "max") and fam not in (None, "number", "string"):
            self.diag.error(
                arg.span, f"'{name}' needs numbers or strings, not {self._show(arg, t)}"
            )
            return ANY
        if name == "avg":
            return "float"
        return "int" if t == DURATION else t

    # ------------------------------------------------------------------ messages
    def _show(self, expr: ast.Expr, t: Type) -> str:
        """`'kind' (a string)`: the text as written and its type."""
        text = self.text.snippet(expr.span)
        if not text:
            return describe(t)
        if not isinstance(expr, ast.Literal | ast.Duration):
            text = f"'{text}'"
        return f"{text} ({describe(t)})"


def _literal_type(value: object) -> Type:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "string"


def _arithmetic_type(op: str, left: Type, right: Type) -> Type:
    if ANY in (left, right) or NULL in (left, right):
        return ANY
    if "timestamp" in (left, right):
        if op == "-" and left == right == "timestamp":
            return "int"  # milliseconds between two timestamps
        if op in ("+", "-"):
            return "timestamp"
        return "float"
    if op == "/" or "float" in (left, right):
        return "float"
    return "int"
