"""What joins, lookups and unions must give, computed the obvious way: nested loops over
every record, no watermarks, no state (the models the property tests compare with)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Record = dict[str, Any]


def interval_join(
    left: list[Record],
    right: list[Record],
    key: str,
    within: int,
    condition: Callable[[Record, Record], bool] = lambda a, b: True,
    *,
    outer: bool = False,
    aliases: tuple[str, str] = ("x", "y"),
) -> list[Record]:
    """Every pair with equal non-null keys, times at most `within` apart and `condition`
    true; with `outer`, each left record without a partner once, with the right side null.
    Records without the key field are dead letters (left out)."""
    a, b = aliases
    out = []
    for x in left:
        if key not in x:
            continue
        matched = False
        for y in right:
            if key not in y or x[key] is None or y[key] is None or x[key] != y[key]:
                continue
            if abs(x["ts"] - y["ts"]) <= within and condition(x, y):
                out.append({a: x, b: y})
                matched = True
        if outer and not matched:
            out.append({a: x, b: None})
    return out


def lookup(
    records: list[Record], table: list[Record], on: str, key: str, fields: list[str]
) -> list[Record]:
    """Each record with the table row valid at its time: the version with the greatest time
    <= the record's, the last to arrive among equal times; a version whose other fields are all
    null deletes the row; no row: the table's fields null."""
    out = []
    for record in records:
        if on not in record:
            continue
        best: Record | None = None
        for version in table:  # arrival order: a later equal time replaces an earlier one
            if version.get(key) != record[on] or version["ts"] > record["ts"]:
                continue
            if best is None or version["ts"] >= best["ts"]:
                best = version
        row: Record = {}
        if best is not None and any(v is not None for f, v in best.items() if f not in (key, "ts")):
            row = best
        out.append({**dict.fromkeys(fields), **row, **record})
    return out


def union(inputs: list[list[Record]], fields: list[str]) -> list[Record]:
    return [{**dict.fromkeys(fields), **r} for records in inputs for r in records]
