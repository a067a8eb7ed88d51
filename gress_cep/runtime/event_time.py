"""Event time of a record: the `time` field's value as epoch milliseconds (DSL §2).

`to_epoch_ms` is the one conversion, for the runtime and for the time functions (`hour(ts)`):

- an integer is epoch milliseconds, except from 1,000,000,000 up to 99,999,999,999, which is
  epoch seconds (2001-09-09 .. 5138-11-16): as milliseconds those would be moments of
  January 1970 to March 1973, which real data does not have, while every epoch-seconds value
  since 2001 falls there. Smaller integers stay milliseconds (small test times: `ts: 1500`);
- a float is epoch seconds (`1735691950.238`), except from 1e11 on, which is epoch
  milliseconds (a millisecond column that went through a float, `1.735691950238e12`: as
  seconds it would be the year 56,970);
- text: ISO-8601 (a time without an offset is UTC), or a number written out (`"1735691950"`,
  `"1735691950238"`, `"1735691950.5"`), read as that number is;
- `datetime.datetime` (naive: UTC; pandas Timestamps too), `datetime.date` (midnight UTC),
  numpy integers and floats (as ints and floats), `numpy.datetime64`.

Anything else has no time (None): the record goes to the dead-letter output. `guessed_unit`
says when a value's unit was decided by its magnitude, so that the runtime can say so.
"""

from __future__ import annotations

import math
import numbers
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

SECONDS_FROM = 1_000_000_000  # an integer from here ...
MILLIS_FROM = 100_000_000_000  # ... to here is epoch seconds; a float from here is epoch ms
_CALENDAR_UNTIL = 100_000_000_000_000  # 5138 in epoch ms: beyond, no unit makes it a real time

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?")


def to_epoch_ms(value: Any) -> int | None:
    kind = type(value)
    if kind is int:
        return value * 1000 if SECONDS_FROM <= value < MILLIS_FROM else value
    if kind is float:
        return _from_float(value)
    if kind is str:
        return _from_text(value)
    return _from_object(value)


# `time ts seconds`: what a number in a stream's time field is, when the stream says it
TIME_UNITS = {"seconds": 1000, "milliseconds": 1}


def epoch_ms_in(value: Any, unit: str | None) -> int | None:
    """A time field's value as epoch ms, its numbers (and numbers written out) in `unit`, one
    of TIME_UNITS, instead of the unit their size suggests; other forms as `to_epoch_ms`."""
    if unit is None:
        return to_epoch_ms(value)
    number: Any = value
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        text = value.strip()
        number = int(text) if text.lstrip("+-").isdigit() else float(text)
    if isinstance(number, bool) or not isinstance(number, numbers.Real | Decimal):
        return to_epoch_ms(value)
    scale = TIME_UNITS[unit]
    if isinstance(number, numbers.Integral):
        return int(number) * scale
    exact = float(number) * scale
    return round(exact) if math.isfinite(exact) else None


def _from_float(value: float) -> int | None:
    ms = value if value >= MILLIS_FROM else value * 1000
    return round(ms) if math.isfinite(ms) else None  # a huge negative float overflows to -inf


def _from_text(text: str) -> int | None:
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return to_epoch_ms(int(text)) if text.lstrip("+-").isdigit() else _from_float(float(text))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return _from_datetime(moment)


def _from_datetime(moment: datetime) -> int | None:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return (moment - _EPOCH) // _MS  # exact: no float in between
    except (TypeError, ValueError, OverflowError):  # pandas NaT and the like
        return None


def _from_object(value: Any) -> int | None:
    """The less common kinds: datetimes, numpy scalars, Decimals. bool is not a time."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, datetime):
        return _from_datetime(value)
    if isinstance(value, date):
        return _from_datetime(datetime(value.year, value.month, value.day, tzinfo=UTC))
    if type(value).__name__ == "datetime64":  # numpy, without importing it
        if value != value:  # NaT
            return None
        return int(value.astype("datetime64[ms]").astype("int64"))
    if isinstance(value, numbers.Integral):  # numpy integers
        return to_epoch_ms(int(value))
    if isinstance(value, numbers.Real | Decimal):  # numpy floats, Decimal
        return _from_float(float(value))
    return None


def guessed_unit(value: Any) -> str | None:
    """The unit `to_epoch_ms` read `value` in when only its magnitude said so ("epoch
    seconds" for an integer, "epoch milliseconds" for a float); None when the form says it."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        text = value.strip()
        value = int(text) if text.lstrip("+-").isdigit() else float(text)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if isinstance(value, numbers.Integral):
        return "epoch seconds" if SECONDS_FROM <= int(value) < MILLIS_FROM else None
    # beyond any calendar the unit is moot: such a time is refused as too far ahead anyway
    number = float(value)
    return "epoch milliseconds" if MILLIS_FROM <= number < _CALENDAR_UNTIL else None


def iso_text(ms: int, value: Any = None) -> str:
    """An epoch-ms time as ISO-8601 UTC for messages; beyond any calendar (year 10000 on), the
    `value` it was read from, as JSON (`1e+300`), or the number of ms."""
    try:
        moment = _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        if value is not None:
            return json_text(value)
        return f"{ms} ms" if abs(ms) < 10**20 else f"{len(str(abs(ms)))}-digit ms"
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe(value: Any) -> str:
    """Why a time value was refused, for the dead-letter reason: the value as JSON."""
    if value is None:
        return "missing"
    return f"not a time: {json_text(value)}"


def json_text(value: Any, limit: int = 60) -> str:
    """A value as JSON for a message (what the input had, not a Python repr), cut at `limit`
    characters; integers beyond 64 bits, NaN and the infinities are written as JavaScript
    does, and values JSON has no form for as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    try:
        text = orjson.dumps(value, default=str).decode()
    except TypeError:  # an integer beyond 64 bits, or a dict with keys that are not text
        text = str(value) if isinstance(value, int) else orjson.dumps(str(value)).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"
