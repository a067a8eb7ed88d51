"""State values as bytes that hold data only: reading them back can never execute anything.

Checkpoints and savepoints are documented as portable between machines, so whoever restores
one may not have written it: pickle is out (a crafted `__reduce__` runs code on load). Values
are written with orjson, in one of two forms, marked by the first byte:

- `J` + plain JSON: the fast path, taken when the value is made of dicts with string keys,
  lists, tuples, strings, 64-bit ints, finite floats and booleans, with no null anywhere
  (orjson writes NaN and infinities as `null`, so a `null` in the output sends the value to
  the exact form). Read back, tuples are lists: operators that keep tuples in state convert
  their own structures back; a tuple inside a user's record comes back as a list.
- `T` + tagged JSON: exact for every type records carry. Every JSON array is a tag:
  `["l", items...]` a list, `["t", items...]` a tuple, `["i", "123..."]` an int beyond 64 bits,
  `["f", "nan"]` a non-finite float, `["b", base64]` bytes, `["dt", iso]` a datetime (aware or
  naive), `["da", iso]` a date, `["tm", iso]` a time, `["dec", text]` a Decimal, `["s", ...]` a
  set, `["fs", ...]` a frozenset, `["m", [k, v]...]` a dict whose keys are not all strings.

In both forms a UUID comes back as its text (orjson writes UUIDs natively, as text), and a
numpy scalar as the Python number it equals.

Any other type is a TypeError naming it: such a value cannot be kept in state.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import uuid
from decimal import Decimal
from typing import Any

import orjson

_PLAIN = b"J"
_TAGGED = b"T"
_INT64 = (-(2**63), 2**63 - 1)


class _NotPlain(Exception):
    """Raised inside orjson's `default`: the value needs the tagged form."""


def _refuse(value: Any) -> Any:
    raise _NotPlain


def dumps(value: Any) -> bytes:
    """`value` as bytes that `loads` turns back into it (see the module docstring)."""
    try:
        data = orjson.dumps(value, default=_refuse, option=orjson.OPT_PASSTHROUGH_DATETIME)
    except (TypeError, _NotPlain, orjson.JSONEncodeError):
        data = None
    if data is None or b"null" in data:
        return _TAGGED + orjson.dumps(_tag(value))
    return _PLAIN + data


def loads(data: bytes | memoryview) -> Any:
    mark = bytes(data[:1])
    if mark == _PLAIN:
        return orjson.loads(data[1:])
    if mark == _TAGGED:
        return _untag(orjson.loads(data[1:]))
    raise ValueError("not a gress state value (unknown format byte)")


def _tag(value: Any) -> Any:
    """The tagged form of `value` (see the module docstring)."""
    if value is None or value is True or value is False or type(value) is str:
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        value = int(value)
        return value if _INT64[0] <= value <= _INT64[1] else ["i", str(value)]
    if isinstance(value, float):
        value = float(value)
        return value if math.isfinite(value) else ["f", repr(value)]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        if all(type(k) is str for k in value):
            return {k: _tag(v) for k, v in value.items()}
        return ["m", *([_tag(k), _tag(v)] for k, v in value.items())]
    if isinstance(value, list):
        return ["l", *(_tag(v) for v in value)]
    if isinstance(value, tuple):
        return ["t", *(_tag(v) for v in value)]
    if isinstance(value, bytes | bytearray | memoryview):
        return ["b", base64.b64encode(bytes(value)).decode("ascii")]
    if isinstance(value, dt.datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, dt.date):
        return ["da", value.isoformat()]
    if isinstance(value, dt.time):
        return ["tm", value.isoformat()]
    if isinstance(value, Decimal):
        return ["dec", str(value)]
    if isinstance(value, frozenset):
        return ["fs", *(_tag(v) for v in value)]
    if isinstance(value, set):
        return ["s", *(_tag(v) for v in value)]
    if isinstance(value, uuid.UUID):
        return str(value)  # as orjson's fast path writes it
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and type(value).__module__ == "numpy":
        return _tag(item())
    raise TypeError(f"a value of type {type(value).__name__} cannot be kept in gress state")


def _untag(data: Any) -> Any:
    if type(data) is dict:
        return {k: _untag(v) for k, v in data.items()}
    if type(data) is not list:
        return data
    tag, *rest = data
    match tag:
        case "l":
            return [_untag(v) for v in rest]
        case "t":
            return tuple(_untag(v) for v in rest)
        case "m":
            return {_untag(k): _untag(v) for k, v in rest}
        case "i":
            return int(rest[0])
        case "f":
            return float(rest[0])
        case "b":
            return base64.b64decode(rest[0])
        case "dt":
            return dt.datetime.fromisoformat(rest[0])
        case "da":
            return dt.date.fromisoformat(rest[0])
        case "tm":
            return dt.time.fromisoformat(rest[0])
        case "dec":
            return Decimal(rest[0])
        case "s":
            return {_untag(v) for v in rest}
        case "fs":
            return frozenset(_untag(v) for v in rest)
    raise ValueError(f"not a gress state value (unknown tag {tag!r})")
