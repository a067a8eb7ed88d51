"""Reading the tables of docs/language.md that list what a pattern finds, and running them.

A table whose header starts `| match | clauses | events | matches |` has one example per row:
the pattern `match M`, every variable `v` meaning `kind == "v"` unless a clause of the row
gives its condition (`c: kind in ["b", "c"]`), `within 1m` unless the row has a `within`;
the events are words such as `b2`, an event of kind `b` at second 2; the matches are listed
in the order they come out, each as its events in time order, or `none`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gress_cep

LANGUAGE = Path(__file__).parents[2] / "docs" / "language.md"
HEADER = "| match | clauses | events | matches |"
METADATA = ("pattern", "key", "start", "end")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_QUOTED = re.compile(r"`([^`]+)`")
_STRING = re.compile(r'"[^"]*"')
_CONDITION = re.compile(r"^([A-Za-z_]\w*):\s*(.+)$")


@dataclass(frozen=True)
class Row:
    section: str
    line: int
    match: str
    clauses: tuple[str, ...]
    events: str
    matches: tuple[str, ...]

    @property
    def id(self) -> str:
        clauses = " ".join(self.clauses)
        return f"{self.section} line {self.line}: {self.match} {clauses} over {self.events}"

    def source(self) -> str:
        """The row as a pattern file."""
        variables = sorted(set(re.findall(r"\b([a-z])\b", _STRING.sub("", self.match))))
        conditions = {v: f'kind == "{v}"' for v in variables}
        clauses = []
        for clause in self.clauses:
            given = _CONDITION.match(clause)
            if given is None:
                clauses.append(clause)
            else:
                conditions[given.group(1)] = given.group(2)
        where = [f"        {v}: {c}" for v, c in conditions.items()]
        if not any(c.startswith("within ") for c in clauses):
            clauses.append("within 1m")
        return "\n".join(
            [
                "stream events",
                "    time ts",
                "pattern row",
                f"    match {self.match}",
                "    where",
                *where,
                *(f"    {c}" for c in clauses),
                "",
            ]
        )


def _cells(line: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(line)[1:-1]]


def pattern_rows(text: str | None = None) -> list[Row]:
    """Every row of every (match, clauses, events, matches) table of the language docs."""
    text = LANGUAGE.read_text() if text is None else text
    rows: list[Row] = []
    section = ""
    lines = text.splitlines()
    in_table = False
    for number, line in enumerate(lines, start=1):
        if line.startswith("#"):
            section = line.lstrip("# ").split(" ")[0]
        if line.startswith(HEADER):
            in_table = True
            continue
        if not in_table:
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        if set(line) <= set("|-: "):
            continue
        match, clauses, events, matches = _cells(line)[:4]
        found = () if matches == "none" else tuple(_QUOTED.findall(matches))
        rows.append(
            Row(
                section,
                number,
                _QUOTED.findall(match)[0],
                tuple(_QUOTED.findall(clauses)),
                _QUOTED.findall(events)[0],
                found,
            )
        )
    return rows


def events_of(notation: str) -> list[dict[str, Any]]:
    """`a1 b2 c5`: one event per word, its kind the letters, its time the number in seconds."""
    events = []
    for word in notation.split():
        kind, number = re.fullmatch(r"([a-z]+)(\d+)", word).groups()  # type: ignore[union-attr]
        events.append({"id": word, "kind": kind, "ts": int(number) * 1000})
    return events


def found(source: str, events: list[dict[str, Any]]) -> list[str]:
    """The matches of the one pattern in `source`, each as its events' ids in time order."""
    program = gress_cep.compile(source)
    (stream,) = re.findall(r"^stream (\w+)", source, re.MULTILINE)
    out = []
    for match in program.run({stream: events}):
        taken: list[dict[str, Any]] = []
        for name, value in match.items():
            if name not in METADATA:
                taken += value if isinstance(value, list) else [value]
        out.append(" ".join(e["id"] for e in sorted(taken, key=lambda e: e["ts"])))
    return out


WINDOW_HEADER = "| window | records | windows |"
_WINDOW = re.compile(r"\[(-?\d+), (-?\d+)[)\]]: ([\d ]+)")


@dataclass(frozen=True)
class WindowRow:
    line: int
    window: str
    records: tuple[int, ...]
    windows: tuple[tuple[int, int, tuple[int, ...]], ...]  # (start s, end s, record seconds)


def window_rows(text: str | None = None) -> list[WindowRow]:
    """Every row of every (window, records, windows) table of the language docs."""
    text = LANGUAGE.read_text() if text is None else text
    rows = []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.startswith(WINDOW_HEADER):
            continue
        for offset, row in enumerate(lines[number + 1 :], start=number + 2):
            if not row.startswith("|"):
                break
            window, records, windows = _cells(row)[:3]
            rows.append(
                WindowRow(
                    offset,
                    _QUOTED.findall(window)[0],
                    tuple(int(t) for t in _QUOTED.findall(records)[0].split()),
                    tuple(
                        (int(a), int(b), tuple(int(t) for t in ts.split()))
                        for a, b, ts in _WINDOW.findall(windows)
                    ),
                )
            )
    return rows


def windows_of(window: str, seconds: tuple[int, ...]) -> list[tuple[int, int, tuple[int, ...]]]:
    """The windows the engine gives for records of one key at `seconds`, in the docs' form
    (a window's records are consecutive in time: its count, first and last name them)."""
    source = (
        "stream events\n    key k\n    time ts\n"
        f"view w = events | window {window} | aggregate count() as n, first(t) as first"
        ", last(t) as last\n"
    )
    by_time = {t: i for i, t in enumerate(seconds)}
    records = [{"k": 1, "ts": t * 1000, "t": t} for t in seconds]
    out = []
    for w in gress_cep.compile(source).run({"events": records}, views=["w"]):
        members = seconds[by_time[w["first"]] : by_time[w["last"]] + 1]
        assert len(members) == w["n"], w
        out.append((w["window_start"] // 1000, w["window_end"] // 1000, members))
    return out
