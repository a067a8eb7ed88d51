"""docs/language.md stays true: every table that lists what a pattern finds over some events
(§3.1 and any other with the same header) and every table of windows (§4.1) is run against the
engine, row by row. (§3.8's skip tables have their own test: tests/engine/test_docs_skip.py.)"""

from __future__ import annotations

import pytest

from tests.conformance.docs_tables import (
    Row,
    WindowRow,
    events_of,
    found,
    pattern_rows,
    window_rows,
    windows_of,
)

ROWS = pattern_rows()
WINDOWS = window_rows()


def test_the_tables_are_found() -> None:
    """Guard against a header edit that would silently run nothing."""
    assert len(ROWS) >= 30
    sections = {row.section for row in ROWS}
    assert "3.1" in sections
    constructs = " ".join(row.match for row in ROWS)
    for construct in (" , ", "->>", "!x", "?", "*", "+", "{2,3}", "consecutive", "any",
                      "greedy", "until", "|", "&", "within"):  # fmt: skip
        assert construct in constructs or any(construct in " ".join(r.clauses) for r in ROWS)
    assert {w.window.split()[0] for w in WINDOWS} == {"tumbling", "sliding", "session", "count"}


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_each_pattern_row_finds_what_the_docs_say(row: Row) -> None:
    assert found(row.source(), events_of(row.events)) == list(row.matches)


@pytest.mark.parametrize("row", WINDOWS, ids=lambda r: f"line {r.line}: {r.window}")
def test_each_window_row_gives_what_the_docs_say(row: WindowRow) -> None:
    assert windows_of(row.window, row.records) == list(row.windows)
