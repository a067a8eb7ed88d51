"""Incremental window aggregates: one flat list per open window (or pane, or session).

A window operator keeps, per open window, one *accumulator*: a list of plain values that a
record updates in place and that two windows' lists merge into one (panes of a sliding window,
sessions that a record bridges). Plain lists, because they are what the state codec stores
without any conversion, and what generated code indexes fastest. Slot 0 counts the records;
with `spans`, slots 1 and 2 hold the smallest and largest event time (session and count
windows take their bounds from them); then each aggregate's slots:

| aggregate | slots | result |
|---|---|---|
| `count()` | (slot 0) | the records |
| `count(x)` | non-null x seen | that count |
| `sum(x)` | running sum, null until a non-null x | the sum |
| `avg(x)` | running sum, non-null x seen | sum / count, null for none |
| `min(x)`, `max(x)` | best so far | it |
| `first(x)`, `last(x)` | value, its time, its arrival number | the value |
| `distinct_count(x)` | the set of values | its size |

Nulls are ignored as in SQL. `first`/`last` order by event time, ties by arrival (a record's
arrival number is larger than any already in its windows, so a tie in `add` keeps the earlier
value for `first` and takes the new one for `last`). `min`/`max` compare numbers with numbers
and strings with strings; a window holding both puts every number before every string.

The code that updates and merges accumulators is generated once per operator from these specs
(`add`, `merge`, `copy`); `values_source` and `update_source` give the per-record statements to
splice into an operator's own generated loop, so that a tumbling window pays no function call
per aggregate.
A value an aggregate cannot take (text in a `sum`) fails the record before any slot changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gress_cep.dsl import ast
from gress_cep.dsl.expressions import (
    compile_record_expression,
    expression_text,
    inline_code,
)

Acc = list[Any]
# (aggregate index, value) of a record an aggregate cannot take; None when it was added
Failure = tuple[int, Any] | None

TS_MIN, TS_MAX = 1, 2  # the span slots, when kept
_NO_TS_MIN, _NO_TS_MAX = 2**63 - 1, -(2**63)  # spans of an empty accumulator

_WIDTH = {
    "count": 1,
    "sum": 1,
    "avg": 2,
    "min": 1,
    "max": 1,
    "first": 3,
    "last": 3,
    "distinct_count": 1,
}
_INITIAL = {
    "count": "0",
    "sum": "None",
    "avg": "0, 0",
    "min": "None",
    "max": "None",
    "first": "None, None, None",
    "last": "None, None, None",
    "distinct_count": "set()",
}


@dataclass(slots=True, frozen=True)
class AggregateSpec:
    """One distinct aggregate of a window: `func` over the record expression `arg`."""

    func: str  # count, sum, avg, min, max, first, last, distinct_count
    arg: ast.Expr | None  # None for count()

    @property
    def text(self) -> str:
        return expression_text(ast.Call(ast.NOWHERE, self.func, (self.arg,) if self.arg else ()))


@dataclass(slots=True)
class _Argument:
    """A distinct argument expression: computed once per record into `var`, for `specs`."""

    fast: str  # the inlinable source (gress_cep.dsl.expressions.inline_code)
    fallback: str  # the name of the whole function, called when the fast source raises
    var: str
    specs: list[int] = field(default_factory=list)


# ---------------------------------------------------------------------- value checks and order
def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_orderable(value: Any) -> bool:
    return is_number(value) or isinstance(value, str)


def is_hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _rank(value: Any) -> int:
    return 1 if isinstance(value, str) else 0


def lesser(a: Any, b: Any) -> Any:
    """The smaller of two min/max values, either maybe null; numbers before strings."""
    if a is None:
        return b
    if b is None:
        return a
    try:
        return b if b < a else a
    except TypeError:
        return b if _rank(b) < _rank(a) else a


def greater(a: Any, b: Any) -> Any:
    """The larger of two min/max values, either maybe null; strings after numbers."""
    if a is None:
        return b
    if b is None:
        return a
    try:
        return b if b > a else a
    except TypeError:
        return b if _rank(b) > _rank(a) else a


def _sum(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else a + b


_EXPECTED = {
    "sum": ("a number", is_number),
    "avg": ("a number", is_number),
    "min": ("a number or a string", is_orderable),
    "max": ("a number or a string", is_orderable),
    "distinct_count": ("a value that can be compared for equality", is_hashable),
}
# the types that pass without a call: the fast check of the generated code
_FAST_TYPES = {
    "sum": ("float", "int"),  # the commonest first: the check stops at the first match
    "avg": ("float", "int"),
    "min": ("float", "int", "str"),
    "max": ("float", "int", "str"),
    "distinct_count": ("str", "int", "float"),
}


class Accumulators:
    """The accumulator layout of one window operator's aggregates, and its generated code."""

    def __init__(self, specs: list[AggregateSpec], spans: bool) -> None:
        self.specs = specs
        self.spans = spans
        self.offsets: list[int] = []  # first slot of each spec (0 for count())
        width = 3 if spans else 1
        for spec in specs:
            if spec.func == "count" and spec.arg is None:
                self.offsets.append(0)
            else:
                self.offsets.append(width)
                width += _WIDTH[spec.func]
        self.namespace: dict[str, Any] = {
            "_lesser": lesser,
            "_greater": greater,
            "_sum": _sum,
            "_NO_TS_MIN": _NO_TS_MIN,
            "_NO_TS_MAX": _NO_TS_MAX,
            # the builtins the generated code uses (argument code brings a restricted set)
            **{f.__name__: f for f in (type, int, float, str, set, len, Exception, TypeError)},
        }
        self._arguments: list[_Argument] = []
        self._compile_arguments()
        self.uses_arrival = any(s.func in ("first", "last") for s in specs)
        self.new: Callable[[], Acc] = self.compile("new", "", [f"return {self.initial()}"])
        body = [*self.values_source("return ({index}, {value})"), *self.update_source()]
        self.add: Callable[[Acc, dict[str, Any], int, int], Failure] = self.compile(
            "add", "a, e, ts, seq", [*body, "return None"]
        )
        self.merge: Callable[[Acc, Acc], None] = self.compile("merge", "a, b", self._merge_source())
        self.copy: Callable[[Acc], Acc] = self.compile("copy", "a", self._copy_source())
        every = ", ".join(self.result_source(i) for i in range(len(specs)))
        self.results: Callable[[Acc], list[Any]] = self.compile(
            "results", "a", [f"return [{every}]"]
        )

    # ------------------------------------------------------------------ generated code
    def initial(self) -> str:
        """Source of a new, empty accumulator."""
        parts = ["0", "_NO_TS_MIN", "_NO_TS_MAX"] if self.spans else ["0"]
        for spec, offset in zip(self.specs, self.offsets, strict=True):
            if offset:
                parts.append(_INITIAL[spec.func])
        return f"[{', '.join(parts)}]"

    def _compile_arguments(self) -> None:
        """One value variable per distinct argument expression (sum(x) and avg(x) share x)."""
        seen: dict[ast.Expr, _Argument] = {}  # nodes are equal without their spans
        for i, spec in enumerate(self.specs):
            if spec.arg is None:
                continue
            argument = seen.get(spec.arg)
            if argument is None:
                fn = compile_record_expression(spec.arg)
                code = inline_code(fn)
                assert code is not None
                n = len(self._arguments)
                self.namespace.update(code.namespace)
                self.namespace[f"_arg{n}"] = fn
                argument = seen[spec.arg] = _Argument(code.fast, f"_arg{n}", f"_v{n}")
                self._arguments.append(argument)
            argument.specs.append(i)

    def values_source(self, fail: str) -> list[str]:
        """Statements that compute the aggregates' arguments over the record `e`; a value an
        aggregate cannot take runs the statements `fail` (formatted with `index` and `value`:
        the spec's index and the variable holding the value)."""
        lines: list[str] = []
        for argument in self._arguments:
            var = argument.var
            lines += [
                "try:",
                f"    {var} = {argument.fast}",
                "except Exception:",
                f"    {var} = {argument.fallback}(e)",
            ]
            for i in argument.specs:
                func = self.specs[i].func
                if func not in _EXPECTED:
                    continue
                checker = f"_ok_{func}"
                self.namespace[checker] = _EXPECTED[func][1]
                fast_types = " and ".join(f"type({var}) is not {t}" for t in _FAST_TYPES[func])
                lines += [
                    f"if {fast_types} and {var} is not None and not {checker}({var}):",
                    *("    " + line for line in fail.format(index=i, value=var).split("\n")),
                ]
        return lines

    def update_source(self) -> list[str]:
        """Statements that add the record (time `ts`, arrival number `seq`), whose arguments
        `values_source` computed, to the accumulator `a`."""
        var_of = {i: a.var for a in self._arguments for i in a.specs}
        lines = ["a[0] += 1"]
        if self.spans:
            lines += ["if ts < a[1]:", "    a[1] = ts", "if ts > a[2]:", "    a[2] = ts"]
        for i, (spec, o) in enumerate(zip(self.specs, self.offsets, strict=True)):
            if not o:
                continue
            v = var_of[i]
            body = {
                "count": [f"a[{o}] += 1"],
                "sum": [f"_t = a[{o}]", f"a[{o}] = {v} if _t is None else _t + {v}"],
                "avg": [f"a[{o}] += {v}", f"a[{o + 1}] += 1"],
                "min": [
                    f"_t = a[{o}]",
                    "try:",
                    f"    if _t is None or {v} < _t:",
                    f"        a[{o}] = {v}",
                    "except TypeError:",
                    f"    a[{o}] = _lesser(_t, {v})",
                ],
                "max": [
                    f"_t = a[{o}]",
                    "try:",
                    f"    if _t is None or {v} > _t:",
                    f"        a[{o}] = {v}",
                    "except TypeError:",
                    f"    a[{o}] = _greater(_t, {v})",
                ],
                # arrival numbers only grow: a tie keeps the first, replaces the last
                "first": [
                    f"_t = a[{o + 1}]",
                    "if _t is None or ts < _t:",
                    f"    a[{o}] = {v}",
                    f"    a[{o + 1}] = ts",
                    f"    a[{o + 2}] = seq",
                ],
                "last": [
                    f"_t = a[{o + 1}]",
                    "if _t is None or ts >= _t:",
                    f"    a[{o}] = {v}",
                    f"    a[{o + 1}] = ts",
                    f"    a[{o + 2}] = seq",
                ],
                "distinct_count": [f"a[{o}].add({v})"],
            }[spec.func]
            lines.append(f"if {v} is not None:")
            lines += ["    " + line for line in body]
        return lines

    def _merge_source(self) -> list[str]:
        lines = ["a[0] += b[0]"]
        if self.spans:
            lines += ["if b[1] < a[1]:", "    a[1] = b[1]", "if b[2] > a[2]:", "    a[2] = b[2]"]
        for spec, o in zip(self.specs, self.offsets, strict=True):
            if not o:
                continue
            match spec.func:
                case "count":
                    lines.append(f"a[{o}] += b[{o}]")
                case "sum":
                    lines.append(f"a[{o}] = _sum(a[{o}], b[{o}])")
                case "avg":
                    lines += [f"a[{o}] += b[{o}]", f"a[{o + 1}] += b[{o + 1}]"]
                case "min":
                    lines.append(f"a[{o}] = _lesser(a[{o}], b[{o}])")
                case "max":
                    lines.append(f"a[{o}] = _greater(a[{o}], b[{o}])")
                case "first" | "last":
                    better = "<" if spec.func == "first" else ">"
                    mine, theirs = f"a[{o + 1}:{o + 3}]", f"b[{o + 1}:{o + 3}]"
                    lines += [
                        f"if b[{o + 1}] is not None and (a[{o + 1}] is None "
                        f"or {theirs} {better} {mine}):",
                        f"    a[{o}:{o + 3}] = b[{o}:{o + 3}]",
                    ]
                case "distinct_count":
                    lines.append(f"a[{o}] |= b[{o}]")
        return lines

    def _copy_source(self) -> list[str]:
        """A copy that merging into leaves the original alone (sets are copied too)."""
        specs = zip(self.specs, self.offsets, strict=True)
        sets = [o for s, o in specs if s.func == "distinct_count"]
        return ["c = a.copy()", *(f"c[{o}] = set(c[{o}])" for o in sets), "return c"]

    def compile(self, name: str, params: str, body: list[str]) -> Any:
        """A function made of generated statements, in the namespace they need."""
        source = f"def {name}({params}):\n" + "".join(f"    {line}\n" for line in body)
        exec(compile(source, f"<gress window {name}>", "exec"), self.namespace)
        fn = self.namespace[name]
        fn.__gress_source__ = source  # for reading what the aggregates became
        return fn

    # ------------------------------------------------------------------ results
    def result_source(self, index: int) -> str:
        """Source of aggregate `index`'s value over the window whose accumulator is `a`."""
        o = self.offsets[index]
        match self.specs[index].func:
            case "avg":
                return f"(a[{o}] / a[{o + 1}] if a[{o + 1}] else None)"
            case "distinct_count":
                return f"len(a[{o}])"
        return f"a[{o}]"

    def expected(self, index: int) -> str:
        """What aggregate `index` takes, for a dead letter's reason."""
        return _EXPECTED[self.specs[index].func][0]
