"""Event time of a record: the `time` field's value as epoch milliseconds (DSL §2).

Accepted: epoch milliseconds (int), epoch seconds (float), ISO-8601 strings (a naive time is
UTC), and strings of digits (epoch milliseconds). Anything else has no time: the record goes to
the dead-letter output.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def to_epoch_ms(value: Any) -> int | None:
    kind = type(value)
    if kind is int:
        return value
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
            return None
        return round(value * 1000)
    if kind is str:
        text = value.strip()
        if text.isdigit():
            return int(text)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return round(moment.timestamp() * 1000)
    return None


def describe(value: Any) -> str:
    """Why a time value was refused, for the dead-letter reason."""
    if value is None:
        return "missing"
    text = repr(value)
    return f"not a time: {text[:60]}"
