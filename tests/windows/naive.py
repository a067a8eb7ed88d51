"""Windows computed the obvious way: each record assigned to its windows, each aggregate
computed from the window's list of records. The operator must agree with it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gress_cep.operators.base import Timed
from gress_cep.state.keys import encode_key

# every aggregate over `x`, by the names the tests give them
EVERY_AGGREGATE = (
    "count() as n, count(x) as nx, sum(x) as s, avg(x) as mean, min(x) as lo, max(x) as hi, "
    "first(x) as f, last(x) as l, distinct_count(x) as d"
)


@dataclass(frozen=True)
class Rec:
    ts: int
    seq: int  # arrival order
    key: Any
    x: Any


def aggregates(records: list[Rec]) -> dict[str, Any]:
    values = sorted((r for r in records if r.x is not None), key=lambda r: (r.ts, r.seq))
    xs = [r.x for r in values]
    total = sum(xs) if xs else None
    return {
        "n": len(records),
        "nx": len(xs),
        "s": total,
        "mean": total / len(xs) if xs else None,
        "lo": min(xs) if xs else None,
        "hi": max(xs) if xs else None,
        "f": xs[0] if xs else None,
        "l": xs[-1] if xs else None,
        "d": len(set(xs)),
    }


def _record(key: Any, start: int, end: int, records: list[Rec]) -> dict[str, Any]:
    return {"k": key, "window_start": start, "window_end": end, **aggregates(records)}


def _by_end_then_key(windows: list[Timed]) -> list[Timed]:
    return sorted(windows, key=lambda w: (w[0], encode_key(w[1]["k"])))


def sliding(records: list[Rec], size: int, step: int) -> list[Timed]:
    windows: dict[tuple[Any, int], list[Rec]] = defaultdict(list)
    for r in records:
        for k in range((r.ts - size) // step + 1, r.ts // step + 1):
            windows[(r.key, k * step)].append(r)
    return _by_end_then_key(
        [(s + size - 1, _record(key, s, s + size, rs)) for (key, s), rs in windows.items()]
    )


def tumbling(records: list[Rec], size: int) -> list[Timed]:
    return sliding(records, size, size)


def _per_key(records: list[Rec]) -> dict[Any, list[Rec]]:
    """Each key's records in event-time order, ties in arrival order."""
    keys: dict[Any, list[Rec]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.ts, r.seq)):
        keys[r.key].append(r)
    return keys


def sessions(records: list[Rec], gap: int) -> list[Timed]:
    windows = []
    for ordered in _per_key(records).values():
        current: list[Rec] = []
        for r in ordered:
            if current and r.ts > current[-1].ts + gap:
                windows.append(current)
                current = []
            current.append(r)
        windows.append(current)
    return _by_end_then_key(
        [(w[-1].ts + gap - 1, _record(w[0].key, w[0].ts, w[-1].ts + gap, w)) for w in windows]
    )


def count(records: list[Rec], size: int, step: int) -> list[Timed]:
    windows = []
    for ordered in _per_key(records).values():
        for start in range(0, len(ordered) - size + 1, step):
            windows.append(ordered[start : start + size])
    windows.sort(key=lambda w: (w[-1].ts, w[-1].seq))
    return [(w[-1].ts, _record(w[0].key, w[0].ts, w[-1].ts, w)) for w in windows]


KINDS: dict[str, Callable[..., list[Timed]]] = {
    "tumbling": tumbling,
    "sliding": sliding,
    "session": sessions,
    "count": count,
}
