"""The functions a pattern file may call: one table that the checker and the compiler share.

Scalar functions take values and return a value; a null (None) argument gives null, so that a
comparison with the result is false (DSL §3.2). Aggregates range over the events a variable
(or a window) has taken; they are compiled specially and only listed here for names, arity and
types.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gress_cep.runtime.event_time import to_epoch_ms

# value types of the language; "any" when unknown (records without a schema)
TYPES = ("string", "int", "float", "bool", "timestamp")
NUMERIC = ("int", "float", "timestamp")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True, frozen=True)
class Function:
    name: str
    min_args: int
    max_args: int
    arg_types: tuple[str, ...]  # "number", "string", "timestamp", "any" per position (last repeats)
    returns: str  # a type, "arg" (the first argument's type) or "any"
    impl: Callable[..., Any]
    doc: str


def _null_safe(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any) -> Any:
        for a in args:
            if a is None:
                return None
        try:
            return fn(*args)
        except (TypeError, ValueError, OverflowError):
            return None

    wrapped.__name__ = fn.__name__
    return wrapped


def _utc(value: Any) -> datetime:
    """A time in any form a `time` field may have (epoch ms or seconds, ISO-8601 text, a
    datetime: runtime.event_time.to_epoch_ms), as a UTC datetime. The declared time field is
    epoch ms already when an expression reads it; other fields (`created_at`) and `gress
    score` features are not, and give the same hour for every form of the same moment."""
    ms = to_epoch_ms(value)
    if ms is None:
        raise ValueError("not a time")  # null, through _null_safe
    return _EPOCH + timedelta(milliseconds=ms)


def _round(x: Any, digits: Any = 0) -> Any:
    result = round(x, int(digits))
    return result if digits else int(result)


def _contains(s: Any, part: Any) -> bool:
    return part in s


SCALARS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("abs", 1, 1, ("number",), "arg", _null_safe(abs), "absolute value"),
        Function("round", 1, 2, ("number", "int"), "arg", _null_safe(_round), "round(x[, digits])"),
        Function("floor", 1, 1, ("number",), "int", _null_safe(math.floor), "largest int <= x"),
        Function("ceil", 1, 1, ("number",), "int", _null_safe(math.ceil), "smallest int >= x"),
        Function("lower", 1, 1, ("string",), "string", _null_safe(str.lower), "lower case"),
        Function("upper", 1, 1, ("string",), "string", _null_safe(str.upper), "upper case"),
        Function("len", 1, 1, ("any",), "int", _null_safe(len), "length of a string or list"),
        Function(
            "startswith",
            2,
            2,
            ("string", "string"),
            "bool",
            _null_safe(str.startswith),
            "startswith(s, prefix)",
        ),
        Function(
            "endswith",
            2,
            2,
            ("string", "string"),
            "bool",
            _null_safe(str.endswith),
            "endswith(s, suffix)",
        ),
        Function(
            "contains",
            2,
            2,
            ("any", "any"),
            "bool",
            _null_safe(_contains),
            "contains(s, part): substring or list membership",
        ),
        Function(
            "hour",
            1,
            1,
            ("timestamp",),
            "int",
            _null_safe(lambda ms: _utc(ms).hour),
            "hour of day (UTC) of a timestamp",
        ),
        Function(
            "minute",
            1,
            1,
            ("timestamp",),
            "int",
            _null_safe(lambda ms: _utc(ms).minute),
            "minute of the hour (UTC)",
        ),
        Function(
            "dayofweek",
            1,
            1,
            ("timestamp",),
            "int",
            _null_safe(lambda ms: _utc(ms).isoweekday()),
            "ISO day of week (UTC): 1 = Monday .. 7 = Sunday",
        ),
    )
}

# two-argument min/max are scalars; one-argument min/max are aggregates
SCALAR_MINMAX = {
    "min": Function("min", 2, 2, ("number", "number"), "arg", _null_safe(min), "min(a, b)"),
    "max": Function("max", 2, 2, ("number", "number"), "arg", _null_safe(max), "max(a, b)"),
}

# aggregates over a pattern variable's events (DSL §3.2) or a window's records (DSL §4)
PATTERN_AGGREGATES = ("count", "sum", "avg", "min", "max", "first", "last", "prev")
WINDOW_AGGREGATES = ("count", "sum", "avg", "min", "max", "first", "last", "distinct_count")
# aggregates that yield an event (use with `.field`) rather than a value
EVENT_AGGREGATES = ("first", "last", "prev")


def is_scalar_call(name: str, nargs: int) -> bool:
    return name in SCALARS or (name in SCALAR_MINMAX and nargs == 2)


def scalar(name: str) -> Function:
    return SCALARS.get(name) or SCALAR_MINMAX[name]


def all_function_names() -> list[str]:
    return sorted(
        set(SCALARS) | set(SCALAR_MINMAX) | set(PATTERN_AGGREGATES) | set(WINDOW_AGGREGATES)
    )
