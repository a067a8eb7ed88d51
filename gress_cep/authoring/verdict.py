"""Run a test case through the engine and compare what came out with what it expects.

An expected record *matches* an output record when every field it names agrees (fields it does
not name are not compared): nested tables compare the same way, lists element by element,
floats to within a relative 1e-9 (sums of decimals are not exact), a TOML date-time with the
epoch milliseconds gress writes for times (a date-time without offset is UTC). Expected and
output records are compared as multisets: the records are paired one to one (as many pairs as
possible, whatever the order), and what is left on either side is a failure — missing or
unexpected.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from gress_cep.api import Program
from gress_cep.authoring.cases import Case
from gress_cep.connectors.base import DeadLetter
from gress_cep.errors import GressError, GressWarning
from gress_cep.runtime.event_time import to_epoch_ms

Record = dict[str, Any]


@dataclass(slots=True)
class Mismatch:
    output: str  # "pattern card_testing", "view spend", "timeouts of journey"
    missing: list[Record]  # expected, and nothing like it came out
    unexpected: list[Record]  # came out, and no expected record is like it


@dataclass(slots=True)
class Outcome:
    case: Case
    mismatches: list[Mismatch] = field(default_factory=list)
    error: str | None = None  # the case could not run (the engine's message)
    notes: list[str] = field(default_factory=list)  # dead letters, late records, warnings
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.error is None and not self.mismatches


def run_case(program: Program, case: Case) -> Outcome:
    """The case's input through all the file's patterns (and the views it expects), in memory,
    as `gress detect` runs them: event time, end of input closing windows and timing out
    partial matches."""
    outcome = Outcome(case)
    views = [name for name in case.expect if name in program.views]
    got: dict[str, list[Record]] = {name: [] for name in case.expect}
    timeouts: dict[str, list[Record]] = {name: [] for name in case.timeouts}
    dead: list[DeadLetter] = []
    late: list[Record] = []
    started = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GressWarning)
            for record in program.run(
                # a stream the case does not feed has no records (a join still has its input)
                {stream: case.inputs.get(stream, []) for stream in program.streams},
                patterns=program.patterns,
                views=views,
                on_timeout=lambda r: _collect(timeouts, r.get("pattern"), r),
                on_late=late.append,
                on_dead_letter=dead.append,
            ):
                _collect(got, _output_of(record, program, views), record)
    except GressError as err:
        outcome.error = err.message + (f"\n    hint: {err.hint}" if err.hint else "")
        return outcome
    finally:
        outcome.seconds = time.perf_counter() - started
    outcome.notes += [str(w.message) for w in caught if issubclass(w.category, GressWarning)]
    outcome.notes += [f"dead letter: {letter.reason} ({letter.origin})" for letter in dead]
    outcome.notes += [
        f"late record ({r['late_by_ms']:,} ms behind the watermark): {as_json(r['record'])}"
        for r in late
    ]
    for name, expected in case.expect.items():
        kind = "view" if name in views else "pattern"
        _compare(outcome, f"{kind} {name}", expected, got[name])
    for name, expected in case.timeouts.items():
        _compare(outcome, f"timeouts of {name}", expected, timeouts[name])
    return outcome


def as_json(value: Any) -> str:
    """A record or value as the test file's reader knows it: JSON, times in ISO-8601."""
    return json.dumps(value, ensure_ascii=False, default=_plain)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def _output_of(record: Record, program: Program, views: list[str]) -> str | None:
    """Which pattern or view wrote `record`: its `view` tag when several outputs run (a view's
    records carry it then), else the `pattern` every match names."""
    if views and not program.patterns and len(views) == 1:
        return views[0]  # the only output: untagged
    view = record.get("view")
    if view in views:
        return str(view)
    pattern = record.get("pattern")
    return pattern if isinstance(pattern, str) else None


def _collect(into: dict[str, list[Record]], name: Any, record: Record) -> None:
    if name in into:
        into[name].append(record)


def _compare(outcome: Outcome, output: str, expected: list[Record], got: list[Record]) -> None:
    pairs = pair_up(expected, got)
    missing = [e for i, e in enumerate(expected) if i not in pairs]
    taken = set(pairs.values())
    unexpected = [g for j, g in enumerate(got) if j not in taken]
    if missing or unexpected:
        outcome.mismatches.append(Mismatch(output, missing, unexpected))


def pair_up(expected: list[Record], got: list[Record]) -> dict[int, int]:
    """The most pairs (expected index -> output index) of records that agree: a maximum
    bipartite matching (Kuhn's augmenting paths), so that a loose expected record does not
    take the output a stricter one needed."""
    likes = [[j for j, g in enumerate(got) if agrees(e, g)] for e in expected]
    owner: dict[int, int] = {}  # output index -> expected index

    def place(i: int, seen: set[int]) -> bool:
        for j in likes[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or place(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(expected)):
        place(i, set())
    return {i: j for j, i in owner.items()}


def agrees(expected: Any, actual: Any) -> bool:
    """Whether an output value is what a test expects (the module's rules)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            name in actual and agrees(value, actual[name]) for name, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(expected)
            and all(agrees(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, datetime | date) and isinstance(actual, int | float):
        return to_epoch_ms(expected) == actual
    if isinstance(expected, float) or isinstance(actual, float):
        if isinstance(expected, int | float) and isinstance(actual, int | float):
            return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12)
        return False
    return bool(expected == actual)
