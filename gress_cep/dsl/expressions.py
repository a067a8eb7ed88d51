"""Checked expression AST -> Python functions.

Expressions are compiled once into real Python functions: the AST is turned into Python source
in which every user-supplied name or value appears only as a `repr()`'d constant (a field name
is always `e.get('amount')`, never an identifier), then `compile()`d. No user text is ever
evaluated; only nodes of gress_cep.dsl.ast reach the generator.

Null semantics (DSL §3.2): a missing field is None; arithmetic with None gives None; a
comparison with None is false. Each function is generated twice from the same generator: a fast
version with inline operators, and a safe version where every operator that can raise (a
string compared with a number, a division by zero) is a helper returning None/False. The fast
version runs; if it raises, the safe version answers for that record. The safe version has no
catch-all of its own: what it raises is not a value's fault but a bug, and must not become a
silent "false" (only a value nested too deeply to compare counts as null there). Constants
that have no Python literal (an infinite float: `1e309`) are names bound in the namespace.

Where names come from depends on the context, which a `Scope` decides:
- `RecordScope`: one record (views, model features): `amount` is `e.get('amount')`.
- `ConditionScope`: the condition of pattern variable `v`: bare names are the candidate event's
  fields, `a.f` the event bound to an earlier variable, aggregates read the partial match's
  running aggregate slots (DSL §3.2 running semantics).
- `MatchScope`: `emit` over a complete (or timed-out) match: variables' event lists.
- `WindowResultScope`: an `aggregate` item over a closed window: `by` fields and the window's
  aggregate results.
"""

from __future__ import annotations

import itertools
import math
import numbers
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gress_cep.dsl import ast
from gress_cep.dsl.functions import EVENT_AGGREGATES, is_scalar_call, scalar
from gress_cep.dsl.record_types import output_name as derived_name

Record = dict[str, Any]


# ---------------------------------------------------------------------- runtime helpers
# The safe versions of the operators: never raise, None/False instead.
# the values arithmetic takes, checked fast: `"ab" * 10**12` would build a string of a
# terabyte, `"a" + "b"` concatenate and `"%s" % x` format, where the docs promise null
_PLAIN_NUMBERS = frozenset((int, float))


def _is_number(x: Any) -> bool:
    """An int or a float (numpy's too), not a bool: what arithmetic takes."""
    kind = type(x)
    return kind in _PLAIN_NUMBERS or (kind is not bool and isinstance(x, numbers.Real))


def _arith(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """An arithmetic operator's safe version: numbers only, else None (null included)."""

    def run(a: Any, b: Any) -> Any:
        if not (_is_number(a) and _is_number(b)):
            return None
        try:
            return op(a, b)
        except (ValueError, ZeroDivisionError, OverflowError):
            return None

    return run


def _not_numbers() -> Any:
    """Raised by the fast version of arithmetic on anything but plain ints and floats, so
    that the safe version answers."""
    raise TypeError("arithmetic on values that are not numbers")


def _safe_cmp(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def run(a: Any, b: Any) -> bool:
        if a is None or b is None:
            return False
        try:
            return bool(op(a, b))
        except TypeError:
            return False

    return run


def _nested(value: Any, name: str) -> Any:
    """`x.y` on a record: the field of a nested record, None otherwise."""
    return value.get(name) if isinstance(value, dict) else None


def _between(x: Any, low: Any, high: Any) -> bool:
    if x is None or low is None or high is None:
        return False
    try:
        return bool(low <= x <= high)
    except TypeError:
        return False


def _in(x: Any, items: Any) -> bool:
    if x is None:
        return False
    try:
        return x in items
    except TypeError:
        return False


def _matches(x: Any, regex: re.Pattern[str]) -> bool:
    return isinstance(x, str) and regex.search(x) is not None


def _neg(x: Any) -> Any:
    return -x if _is_number(x) else None


def _sum_values(values: Any) -> Any:
    total = None
    for v in values:
        if v is None:
            continue
        try:
            total = v if total is None else total + v
        except TypeError:
            return None
    return total


def _avg_values(values: Any) -> Any:
    total: Any = None  # not None once n > 0: only non-null values are added
    n = 0
    for v in values:
        if v is None:
            continue
        try:
            total = v if total is None else total + v
        except TypeError:
            return None
        n += 1
    return _mean(total, n)


def _extreme(values: Any, better: Callable[[Any, Any], bool]) -> Any:
    """MIN/MAX over values: nulls skipped; incomparable values give null."""
    best = None
    for v in values:
        if v is not None:
            try:
                if best is None or better(v, best):
                    best = v
            except TypeError:
                return None
    return best


def _min_values(values: Any) -> Any:
    return _extreme(values, operator.lt)


def _max_values(values: Any) -> Any:
    return _extreme(values, operator.gt)


def _add_null(total: Any, value: Any) -> Any:
    """Running SUM: nulls are skipped (SQL)."""
    if value is None:
        return total
    if total is None:
        return value
    try:
        return total + value
    except TypeError:
        return None


def _min_null(best: Any, value: Any) -> Any:
    """Running MIN: the running best and one more value."""
    return _extreme((best, value), operator.lt)


def _max_null(best: Any, value: Any) -> Any:
    return _extreme((best, value), operator.gt)


def _mean(total: Any, n: int) -> Any:
    """total / n; null for no values, and for values that cannot be divided (strings)."""
    if not n or total is None:
        return None
    try:
        return total / n
    except (TypeError, OverflowError):
        return None


def _avg_pair(pair: Any) -> Any:
    total, n = pair
    return _mean(total, n)


def _avg_pair_with(pair: Any, value: Any) -> Any:
    total, n = pair
    if value is not None:
        total = _add_null(total, value)
        n += 1
    return _mean(total, n)


def _field(event: Any, name: str) -> Any:
    return event.get(name) if event is not None else None


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """A scalar function in the safe version: an argument it cannot take gives null (the
    functions do this themselves for the usual errors; this also covers the platform's, such
    as an OSError from a timestamp out of its range)."""
    try:
        return fn(*args)
    except (ArithmeticError, LookupError, TypeError, ValueError, OSError):
        return None


BASE_NAMESPACE: dict[str, Any] = {
    "_nested": _nested,
    "_between": _between,
    "_in": _in,
    "_matches": _matches,
    "_neg": _neg,
    "_sum_values": _sum_values,
    "_avg_values": _avg_values,
    "_min_values": _min_values,
    "_max_values": _max_values,
    "_add_null": _add_null,
    "_min_null": _min_null,
    "_max_null": _max_null,
    "_avg_pair": _avg_pair,
    "_avg_pair_with": _avg_pair_with,
    "_field": _field,
    "_call": _call,
    "_add": _arith(operator.add),
    "_sub": _arith(operator.sub),
    "_mul": _arith(operator.mul),
    "_div": _arith(operator.truediv),
    "_mod": _arith(operator.mod),
    "_NUMBERS": _PLAIN_NUMBERS,
    "_not_numbers": _not_numbers,
    "_lt": _safe_cmp(lambda a, b: a < b),
    "_le": _safe_cmp(lambda a, b: a <= b),
    "_gt": _safe_cmp(lambda a, b: a > b),
    "_ge": _safe_cmp(lambda a, b: a >= b),
    # the generated code needs only these builtins
    "__builtins__": {
        "bool": bool,
        "len": len,
        "Exception": Exception,
        "RecursionError": RecursionError,
    },
}

_ARITH = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod"}
_ORDER = {"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}


class CompileError(Exception):
    """An expression the checker should have rejected reached the compiler (a bug)."""


# ---------------------------------------------------------------------- scopes
class Scope:
    """Decides what names and aggregates mean in one context; returns Python source."""

    params: tuple[str, ...] = ("e",)

    def ref(self, gen: _Generator, node: ast.Ref) -> str:
        raise NotImplementedError

    def attr(self, gen: _Generator, node: ast.Attr) -> str:
        """`obj.name` — by default a nested record field."""
        return f"_nested({gen.expr(node.obj)}, {node.name!r})"

    def aggregate(self, gen: _Generator, node: ast.Call) -> str:
        raise CompileError(f"aggregate {node.func}() is not allowed here")


class RecordScope(Scope):
    """One record: bare names are its fields."""

    def ref(self, gen: _Generator, node: ast.Ref) -> str:
        return f"e.get({node.name!r})"


@dataclass(slots=True)
class AggregateSlot:
    """One running aggregate kept per partial match, updated when `var` takes an event.

    `kind` is count/sum/avg/min/max/first/last/prev; `arg` the per-event expression (sum/avg/
    min/max) as an AST over the variable's fields.
    """

    kind: str
    var: str
    arg: ast.Expr | None
    key: str


@dataclass(slots=True)
class SlotTable:
    """The aggregate slots of one pattern, shared by all its conditions."""

    slots: list[AggregateSlot] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)

    def slot(self, kind: str, var: str, arg: ast.Expr | None) -> int:
        if kind == "prev":
            self.slot("last", var, None)  # prev is the last event before the newest one
        key = f"{kind}:{var}:{_fingerprint(arg)}"
        if key not in self.index:
            self.index[key] = len(self.slots)
            self.slots.append(AggregateSlot(kind, var, arg, key))
        return self.index[key]

    def initial(self) -> tuple[Any, ...]:
        return tuple(
            (None, 0) if s.kind == "avg" else 0 if s.kind == "count" else None for s in self.slots
        )


def _fingerprint(node: ast.Expr | None) -> str:
    return "" if node is None else repr(node)


class _VariableScope(Scope):
    """A scope that sees pattern variables: `v.f` is a field of v's last event and
    `first(v).f`/`last(v).f`/`prev(v).f` of those events; subclasses say where events are."""

    variables: set[str]

    def event_of(self, var: str, which: str) -> str:
        """Source for the event `which` (first/last/prev) of `var`, or None."""
        raise NotImplementedError

    def attr(self, gen: _Generator, node: ast.Attr) -> str:
        if isinstance(node.obj, ast.Ref) and node.obj.name in self.variables:
            return f"_field({self.event_of(node.obj.name, 'last')}, {node.name!r})"
        if isinstance(node.obj, ast.Call) and node.obj.func in EVENT_AGGREGATES:
            var = _aggregate_var(node.obj)
            return f"_field({self.event_of(var, node.obj.func)}, {node.name!r})"
        return f"_nested({gen.expr(node.obj)}, {node.name!r})"


class ConditionScope(_VariableScope):
    """The condition of pattern variable `var` (or its `until`), evaluated on a candidate
    event `e` against partial match `r` (its `aggs` tuple holds the running aggregates).

    `including_candidate`: running semantics — aggregates over `var` include the candidate
    (the variable's condition); False inside `until(...)` (only the events already taken).
    """

    params = ("e", "r")

    def __init__(
        self, var: str, variables: set[str], slots: SlotTable, including_candidate: bool = True
    ) -> None:
        self.var = var
        self.variables = variables
        self.slots = slots
        self.including = including_candidate

    def ref(self, gen: _Generator, node: ast.Ref) -> str:
        if node.name in self.variables:
            raise CompileError(f"variable {node.name} used as a value")
        return f"e.get({node.name!r})"

    def event_of(self, var: str, which: str) -> str:
        own = var == self.var and self.including
        if which == "first":
            slot = self.slots.slot("first", var, None)
            return (
                f"(r.aggs[{slot}] if r.aggs[{slot}] is not None else e)"
                if own
                else f"r.aggs[{slot}]"
            )
        if which == "last":
            if own:
                return "e"
            return f"r.aggs[{self.slots.slot('last', var, None)}]"
        # prev: the loop's previous event — before the candidate in its own condition/until,
        # before the last taken event elsewhere
        if var == self.var:
            return f"r.aggs[{self.slots.slot('last', var, None)}]"
        return f"r.aggs[{self.slots.slot('prev', var, None)}]"

    def aggregate(self, gen: _Generator, node: ast.Call) -> str:
        kind = node.func
        var = _aggregate_var(node)
        own = var == self.var and self.including
        if kind in EVENT_AGGREGATES:
            raise CompileError(f"{kind}({var}) yields an event: use {kind}({var}).field")
        if kind == "count":
            slot = self.slots.slot("count", var, None)
            return f"(r.aggs[{slot}] + 1)" if own else f"r.aggs[{slot}]"
        arg = node.args[0]
        slot = self.slots.slot(kind, var, arg)
        if not own:
            return f"_avg_pair(r.aggs[{slot}])" if kind == "avg" else f"r.aggs[{slot}]"
        # the candidate's own value joins the running aggregate
        value = gen.sub(arg, _OwnEventScope(var))
        helper = {
            "sum": "_add_null",
            "min": "_min_null",
            "max": "_max_null",
            "avg": "_avg_pair_with",
        }
        return f"{helper[kind]}(r.aggs[{slot}], {value})"


class _OwnEventScope(Scope):
    """Inside an aggregate argument: `v.f` and bare `f` are fields of the event `e`."""

    def __init__(self, var: str) -> None:
        self.var = var

    def ref(self, gen: _Generator, node: ast.Ref) -> str:
        return f"e.get({node.name!r})"

    def attr(self, gen: _Generator, node: ast.Attr) -> str:
        if isinstance(node.obj, ast.Ref) and node.obj.name == self.var:
            return f"e.get({node.name!r})"
        return f"_nested({gen.expr(node.obj)}, {node.name!r})"


class MatchScope(_VariableScope):
    """`emit` over a match `m` (variable -> list of events) whose last event is `last`."""

    params = ("m", "last")

    def __init__(self, variables: set[str]) -> None:
        self.variables = variables

    def ref(self, gen: _Generator, node: ast.Ref) -> str:
        if node.name in self.variables:
            raise CompileError(f"variable {node.name} used as a value")
        return f"_field(last, {node.name!r})"

    def event_of(self, var: str, which: str) -> str:
        index = {"first": 0, "last": -1, "prev": -2}[which]
        need = 2 if which == "prev" else 1
        return f"(m[{var!r}][{index}] if len(m.get({var!r}, ())) >= {need} else None)"

    def aggregate(self, gen: _Generator, node: ast.Call) -> str:
        kind = node.func
        var = _aggregate_var(node)
        if kind == "count":
            return f"len(m.get({var!r}, ()))"
        if kind in EVENT_AGGREGATES:
            raise CompileError(f"{kind}({var}) yields an event: use {kind}({var}).field")
        value = gen.sub(node.args[0], _OwnEventScope(var))
        return f"_{kind}_values([{value} for e in m.get({var!r}, ())])"


class WindowAggregates:
    """The distinct aggregates of a window's `aggregate` items, in order of appearance: each is
    kept once per window (`sum(amount)` in two items is one running sum)."""

    def __init__(self) -> None:
        self.calls: list[ast.Call] = []
        self._index: dict[ast.Call, int] = {}  # nodes are equal without their spans

    def slot(self, node: ast.Call) -> int:
        if node not in self._index:
            self._index[node] = len(self.calls)
            self.calls.append(node)
        return self._index[node]


class WindowResultScope(Scope):
    """An `aggregate` item over a closed window: bare names are `by` fields of the output
    record `r` (the checker allows no others), aggregates the window's results `a`."""

    params = ("r", "a")

    def __init__(self, aggregates: WindowAggregates) -> None:
        self.aggregates = aggregates

    def ref(self, gen: _Generator, node: ast.Ref) -> str:
        return f"r.get({node.name!r})"

    def aggregate(self, gen: _Generator, node: ast.Call) -> str:
        return f"a[{self.aggregates.slot(node)}]"


def _aggregate_var(node: ast.Call) -> str:
    """The variable an aggregate ranges over (checked: exactly one)."""
    if not node.args:
        raise CompileError(f"{node.func}() needs an argument")
    found = _variables_in(node.args[0])
    if len(found) != 1:
        raise CompileError(f"{node.func}() must range over one variable")
    return found.pop()


def _variables_in(node: ast.Expr) -> set[str]:
    """Root names of an aggregate argument (`b` in `b.amount * b.qty`, or `b` itself)."""
    if isinstance(node, ast.Ref):
        return {node.name}
    if isinstance(node, ast.Attr):
        obj = node.obj
        while isinstance(obj, ast.Attr):
            obj = obj.obj
        return _variables_in(obj) if isinstance(obj, ast.Ref) else set()
    found: set[str] = set()
    for child in _children(node):
        found |= _variables_in(child)
    return found


def _children(node: ast.Expr) -> list[ast.Expr]:
    match node:
        case ast.Binary(left=l, right=r):
            return [l, r]
        case ast.Unary(operand=o) | ast.IsNull(operand=o) | ast.Matches(operand=o):
            return [o]
        case ast.Call(args=args):
            return list(args)
        case ast.InList(operand=o, items=items):
            return [o, *items]
        case ast.Between(operand=o, low=lo, high=hi):
            return [o, lo, hi]
        case ast.ListExpr(items=items):
            return list(items)
        case ast.Attr(obj=o):
            return [o]
    return []


def uses_aggregates(node: ast.Expr, variables: set[str]) -> bool:
    """Whether an expression needs the partial match (another variable or an aggregate)."""
    if isinstance(node, ast.Call) and not is_scalar_call(node.func, len(node.args)):
        return True
    if isinstance(node, ast.Attr) and isinstance(node.obj, ast.Ref) and node.obj.name in variables:
        return True
    return any(uses_aggregates(c, variables) for c in _children(node))


def condition_reads(node: ast.Expr, variables: set[str]) -> list[ast.Expr]:
    """The values a pattern condition reads, for `gress detect --trace` to show beside its
    result (`amount`, `a.amount`, `first(failed).ip`, `payload.kind`, `count(small)`):
    field references and pattern aggregates, each once, in the order they are written."""
    found: dict[str, ast.Expr] = {}

    def visit(n: ast.Expr) -> None:
        if isinstance(n, ast.Ref):
            if n.name not in variables:
                found.setdefault(expression_text(n), n)
            return
        if isinstance(n, ast.Attr):
            root: ast.Expr = n
            while isinstance(root, ast.Attr):
                root = root.obj
            if isinstance(root, ast.Ref) or (
                isinstance(root, ast.Call) and root.func in EVENT_AGGREGATES
            ):
                found.setdefault(expression_text(n), n)
                return
        if isinstance(n, ast.Call) and not is_scalar_call(n.func, len(n.args)):
            if n.func not in EVENT_AGGREGATES:
                found.setdefault(expression_text(n), n)
            return
        for child in _children(n):
            visit(child)

    visit(node)
    return list(found.values())


# ---------------------------------------------------------------------- the generator
class _Generator:
    """AST -> Python source. `safe` selects the never-raising operator helpers."""

    def __init__(self, scope: Scope, safe: bool, namespace: dict[str, Any], tag: int = 0) -> None:
        self.scope = scope
        self.safe = safe
        self.ns = namespace
        self.tag = tag  # makes temporaries and constants unique, so code can be inlined
        self._temps = itertools.count()

    def temp(self) -> str:
        return f"_t{self.tag}_{next(self._temps)}"

    def const(self, value: Any) -> str:
        name = f"_c{self.tag}_{len(self.ns)}"
        self.ns[name] = value
        return name

    def sub(self, node: ast.Expr, scope: Scope) -> str:
        saved = self.scope
        self.scope = scope
        try:
            return self.expr(node)
        finally:
            self.scope = saved

    def expr(self, node: ast.Expr) -> str:
        match node:
            case ast.Literal(value=v):
                return self.literal(v)
            case ast.Duration(ms=ms):
                return repr(ms)
            case ast.Ref():
                return self.scope.ref(self, node)
            case ast.Attr():
                return self.scope.attr(self, node)
            case ast.Call():
                return self.call(node)
            case ast.Unary(op="not", operand=o):
                return f"(not {self.expr(o)})"
            case ast.Unary(op="-", operand=o):
                return f"_neg({self.expr(o)})"
            case ast.Binary(op="and" | "or", left=l, right=r):
                return f"({self.expr(l)} {node.op} {self.expr(r)})"
            case ast.Binary(op=op, left=l, right=r) if op in _ARITH:
                return self.arith(op, l, r)
            case ast.Binary(op="==" | "!=", left=l, right=r):
                return self.equality(node.op, l, r)
            case ast.Binary(op=op, left=l, right=r) if op in _ORDER:
                return self.order(op, l, r)
            case ast.InList(operand=o, items=items, negated=neg):
                return self.in_list(o, items, neg)
            case ast.Between(operand=o, low=lo, high=hi, negated=neg):
                bounds = f"{self.expr(lo)}, {self.expr(hi)}"
                return self.test(o, neg, lambda x: f"_between({x}, {bounds})")
            case ast.IsNull(operand=ast.Literal(value=v) | ast.Duration(ms=v), negated=neg):
                return repr((v is None) != neg)  # `1 is None` would be a SyntaxWarning
            case ast.IsNull(operand=o, negated=neg):
                return f"({self.expr(o)} is {'not ' if neg else ''}None)"
            case ast.Matches(operand=o, regex=rx, negated=neg):
                regex = self.const(re.compile(rx))
                return self.test(o, neg, lambda x: f"_matches({x}, {regex})")
            case ast.ListExpr(items=items):
                return "[" + ", ".join(self.expr(i) for i in items) + "]"
        raise CompileError(f"cannot compile {type(node).__name__}")

    def literal(self, value: Any) -> str:
        """A constant in the source: its repr, or a name for a float that has no literal
        (inf, -inf and nan would read as undefined names)."""
        if isinstance(value, float) and not math.isfinite(value):
            return self.const(value)
        return repr(value)

    def test(self, operand: ast.Expr, negated: bool, build: Callable[[str], str]) -> str:
        """A predicate on `operand`; negated, it is still false when the operand is null
        (`x not between ..` is a comparison, and comparisons with null are false)."""
        x = self.expr(operand)
        if not negated:
            return build(x)
        t = self.temp()
        return f"(({t} := {x}) is not None and not {build(t)})"

    def call(self, node: ast.Call) -> str:
        if is_scalar_call(node.func, len(node.args)):
            fn = self.const(scalar(node.func).impl)
            args = [self.expr(a) for a in node.args]
            if self.safe:
                return f"_call({', '.join([fn, *args])})"
            return f"{fn}({', '.join(args)})"
        return self.scope.aggregate(self, node)

    def arith(self, op: str, left: ast.Expr, right: ast.Expr) -> str:
        a, b = self.expr(left), self.expr(right)
        if self.safe or op in "/%":
            return f"{_ARITH[op]}({a}, {b})"
        ta, tb = self.temp(), self.temp()
        numbers = f"{ta}.__class__ in _NUMBERS and {tb}.__class__ in _NUMBERS"
        return (
            f"(None if ({ta} := {a}) is None or ({tb} := {b}) is None "
            f"else {ta} {op} {tb} if {numbers} else _not_numbers())"
        )

    def equality(self, op: str, left: ast.Expr, right: ast.Expr) -> str:
        # a non-null literal on one side: `x == lit` is already false for a null x
        for this, other in ((left, right), (right, left)):
            if isinstance(other, ast.Literal) and other.value is not None:
                x = self.expr(this)
                value = self.literal(other.value)
                if op == "==":
                    return f"({x} == {value})"
                t = self.temp()
                return f"(({t} := {x}) is not None and {t} != {value})"
        a, b = self.expr(left), self.expr(right)
        ta, tb = self.temp(), self.temp()
        return f"(({ta} := {a}) is not None and ({tb} := {b}) is not None and {ta} {op} {tb})"

    def order(self, op: str, left: ast.Expr, right: ast.Expr) -> str:
        a, b = self.expr(left), self.expr(right)
        if self.safe:
            return f"{_ORDER[op]}({a}, {b})"
        if isinstance(right, ast.Literal) and isinstance(right.value, int | float):
            t = self.temp()
            return f"(({t} := {a}) is not None and {t} {op} {self.literal(right.value)})"
        ta, tb = self.temp(), self.temp()
        return f"(({ta} := {a}) is not None and ({tb} := {b}) is not None and {ta} {op} {tb})"

    def in_list(self, operand: ast.Expr, items: tuple[ast.Expr, ...], negated: bool) -> str:
        x = self.expr(operand)
        literals = [i for i in items if isinstance(i, ast.Literal) and i.value is not None]
        if len(literals) == len(items):
            values = [i.value for i in literals]
            try:
                container = self.const(frozenset(values))
            except TypeError:
                container = self.const(tuple(values))
        else:
            container = "(" + ", ".join(self.expr(i) for i in items) + ",)"
        if negated:
            t = self.temp()
            return f"(({t} := {x}) is not None and not _in({t}, {container}))"
        return f"_in({x}, {container})"


@dataclass(slots=True, frozen=True)
class InlineCode:
    """A compiled expression's fast source and the names it needs, for splicing it into
    generated code (the NFA kernel inlines start conditions); `fallback` is the whole
    function, to call when the fast source raises."""

    fast: str
    namespace: dict[str, Any]
    fallback: Callable[..., Any]


_TAGS = itertools.count(1)


def _build(node: ast.Expr, scope: Scope, name: str, as_bool: bool) -> Callable[..., Any]:
    """Generate the fast and safe versions and combine them into one function."""
    namespace = dict(BASE_NAMESPACE)
    params = ", ".join(scope.params)
    tag = next(_TAGS)
    fast = _Generator(scope, False, namespace, tag).expr(node)
    safe = _Generator(scope, True, namespace, tag).expr(node)
    if as_bool:
        fast, safe = f"bool({fast})", f"bool({safe})"
    # the safe version raises only for a bug (see the module docstring): never a silent false
    source = (
        f"def _safe_{name}({params}):\n"
        f"    try:\n"
        f"        return {safe}\n"
        f"    except RecursionError:  # a value nested too deeply to compare: as null\n"
        f"        return {'False' if as_bool else 'None'}\n"
        f"def {name}({params}):\n"
        f"    try:\n"
        f"        return {fast}\n"
        f"    except Exception:\n"
        f"        return _safe_{name}({params})\n"
    )
    code = compile(source, f"<gress expression {name}>", "exec")
    exec(code, namespace)  # the source is generated from validated AST nodes only
    fn = namespace[name]
    fn.__gress_source__ = source  # for tests and for reading what a condition became
    fn.__gress_inline__ = InlineCode(fast, namespace, fn)
    return fn


def inline_code(fn: Callable[..., Any]) -> InlineCode | None:
    """The inlinable form of a function made by this module (None for anything else)."""
    return getattr(fn, "__gress_inline__", None)


def compile_record_expression(expr: ast.Expr) -> Callable[[Record], Any]:
    """A function of one record (views, model features); a missing field gives None."""
    return _build(expr, RecordScope(), "record_expr", as_bool=False)


def compile_record_predicate(expr: ast.Expr) -> Callable[[Record], bool]:
    """A `where` condition over one record: true, or false (null counts as false)."""
    return _build(expr, RecordScope(), "record_pred", as_bool=True)


def compile_condition(
    expr: ast.Expr,
    var: str,
    variables: set[str],
    slots: SlotTable,
    *,
    including_candidate: bool = True,
) -> Callable[[Record, Any], bool]:
    """The condition of pattern variable `var`: f(candidate_event, partial_match) -> bool."""
    scope = ConditionScope(var, variables, slots, including_candidate)
    return _build(expr, scope, f"cond_{_identifier(var)}", as_bool=True)


def compile_condition_value(
    expr: ast.Expr,
    var: str,
    variables: set[str],
    slots: SlotTable,
    *,
    including_candidate: bool = True,
) -> Callable[[Record, Any], Any]:
    """A value inside the condition of `var` (one of its `condition_reads`), as the condition
    sees it: f(candidate_event, partial_match) -> value. For `--trace` only; `slots` must
    already hold every aggregate the expression uses (it is part of a compiled condition)."""
    scope = ConditionScope(var, variables, slots, including_candidate)
    return _build(expr, scope, f"value_{_identifier(var)}", as_bool=False)


def compile_match_expression(
    expr: ast.Expr, variables: set[str]
) -> Callable[[dict[str, list[Record]], Record], Any]:
    """An `emit` item: f(variable -> events, last event) -> value."""
    return _build(expr, MatchScope(variables), "emit_expr", as_bool=False)


def compile_window_item(
    expr: ast.Expr, aggregates: WindowAggregates
) -> Callable[[Record, list[Any]], Any]:
    """An `aggregate` item: f(output record so far, the window's aggregate results) -> value.
    The aggregates it uses are added to `aggregates`."""
    return _build(expr, WindowResultScope(aggregates), "window_item", as_bool=False)


def compile_slot_update(
    slots: SlotTable, var: str
) -> Callable[[tuple[Any, ...], Record], tuple[Any, ...]] | None:
    """The function that updates the aggregate slots when `var` takes event `e`; None when
    no slot ranges over `var` (nothing to do)."""
    mine = [i for i, s in enumerate(slots.slots) if s.var == var]
    if not mine:
        return None
    namespace = dict(BASE_NAMESPACE)
    parts = []
    by_kind = {s.kind: i for i, s in enumerate(slots.slots) if s.var == var}
    for i, s in enumerate(slots.slots):
        old = f"a[{i}]"
        if s.var != var:
            parts.append(old)
            continue
        gen = _Generator(_OwnEventScope(var), True, namespace)
        value = gen.expr(s.arg) if s.arg is not None else None
        match s.kind:
            case "count":
                parts.append(f"{old} + 1")
            case "sum":
                parts.append(f"_add_null({old}, {value})")
            case "min":
                parts.append(f"_min_null({old}, {value})")
            case "max":
                parts.append(f"_max_null({old}, {value})")
            case "avg":
                parts.append(
                    f"({old} if (_v{i} := {value}) is None "
                    f"else (_add_null({old}[0], _v{i}), {old}[1] + 1))"
                )
            case "first":
                parts.append(f"({old} if {old} is not None else e)")
            case "last":
                parts.append("e")
            case "prev":
                # the event before the new last one is the old last one (SlotTable.slot
                # always creates the last slot beside a prev slot)
                parts.append(f"a[{by_kind['last']}]")
    source = f"def update(a, e):\n    return ({', '.join(parts)},)\n"
    exec(compile(source, f"<gress aggregates of {var}>", "exec"), namespace)
    return namespace["update"]


def _identifier(text: str) -> str:
    return re.sub(r"\W", "_", text)


def expression_text(node: ast.Expr) -> str:
    """An expression written back in the language, for messages (`amount * qty`)."""
    match node:
        case ast.Literal(value=None):
            return "null"
        case ast.Literal(value=bool(v)):
            return "true" if v else "false"
        case ast.Literal(value=str(v)):
            return _quoted(v.replace("\\", "\\\\"))
        case ast.Literal(value=v):
            return repr(v)
        case ast.Duration(text=text):
            return text
        case ast.Ref(name=name):
            return name
        case ast.Attr(obj=obj, name=name):
            return f"{expression_text(obj)}.{name}"
        case ast.Call(func=func, args=args):
            return f"{func}({', '.join(map(expression_text, args))})"
        case ast.Unary(op="not", operand=o):
            return f"not {_operand_text(o)}"
        case ast.Unary(operand=o):
            return f"-{_operand_text(o)}"
        case ast.Binary(op=op, left=l, right=r):
            return f"{_operand_text(l)} {op} {_operand_text(r)}"
        case ast.InList(operand=o, items=items, negated=neg):
            listed = ", ".join(map(expression_text, items))
            return f"{_operand_text(o)} {'not in' if neg else 'in'} [{listed}]"
        case ast.Between(operand=o, low=lo, high=hi, negated=neg):
            word = "not between" if neg else "between"
            return f"{_operand_text(o)} {word} {_operand_text(lo)} and {_operand_text(hi)}"
        case ast.IsNull(operand=o, negated=neg):
            return f"{_operand_text(o)} is {'not ' if neg else ''}null"
        case ast.Matches(operand=o, regex=rx, negated=neg):
            word = "not matches" if neg else "matches"
            return f"{_operand_text(o)} {word} {_quoted(rx)}"
        case ast.ListExpr(items=items):
            return f"[{', '.join(map(expression_text, items))}]"
    return type(node).__name__


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def _operand_text(node: ast.Expr) -> str:
    """Operators inside operators are parenthesized: the message need not know precedence."""
    text = expression_text(node)
    compound = ast.Binary | ast.Unary | ast.InList | ast.Between | ast.IsNull | ast.Matches
    return f"({text})" if isinstance(node, compound) else text


def output_name(item: ast.SelectItem) -> str:
    """The name of an emitted/selected value: the alias, else the one the checker derived
    (`big.amount` -> `big_amount`, `count(small)` -> `count_small`; see record_types)."""
    if item.alias is not None:
        return item.alias.text
    name = derived_name(item.expr)
    if name is None:  # the checker requires `as` for these
        raise CompileError("an output without a natural name needs `as`")
    return name
