"""What `gress check` says about window sizes, as in tests/dsl/test_broken_files.py: each broken
file reports exactly these errors (or warnings), at exactly these places."""

from __future__ import annotations

import pytest

from tests.dsl.checking import errors, warnings

ERRORS: list[tuple[str, str, list[str]]] = [
    (
        "count window of 0",
        "stream s\nview v = s | window count 0 | aggregate count() as n\n",
        ["2:27: error: a count window size must be at least 1, not 0"],
    ),
    (
        "count window step of 0",
        "stream s\nview v = s | window count 5 every 0 | aggregate count() as n\n",
        ["2:35: error: a count window step must be at least 1, not 0"],
    ),
    (
        "count window step larger than its size",
        "stream s\nview v = s | window count 5 every 7 | aggregate count() as n\n",
        ["2:35: error: a count window's step (7) must not be larger than its size (5)"],
    ),
    (
        "count window step larger than a size of 0: one error",
        "stream s\nview v = s | window count 0 every 7 | aggregate count() as n\n",
        ["2:27: error: a count window size must be at least 1, not 0"],
    ),
    (
        "count window step on the next line of a view",
        "stream s\nview v = s\n    | window count 2 every 3 by k\n    | aggregate count() as n\n",
        ["3:28: error: a count window's step (3) must not be larger than its size (2)"],
    ),
    (
        "tumbling window of 0",
        "stream s\nview v = s | window tumbling 0s | aggregate count() as n\n",
        ["2:30: error: a window's duration must be longer than 0"],
    ),
    (
        "sliding step of 0",
        "stream s\nview v = s | window sliding 1m every 0s | aggregate count() as n\n",
        ["2:38: error: a window's duration must be longer than 0"],
    ),
    (
        "session gap of 0",
        "stream s\nview v = s | window session gap 0ms | aggregate count() as n\n",
        ["2:33: error: a window's duration must be longer than 0"],
    ),
]

WARNINGS: list[tuple[str, str, list[str]]] = [
    (
        "a sliding window of a day every second",
        "stream s\nview v = s | window sliding 1d every 1s | aggregate count() as n\n",
        [
            "2:38: warning: 'sliding 1d every 1s' keeps up to 86,400 windows open per key: "
            "every record is in each of them"
        ],
    ),
    (
        "a count window of 20,001 records every 2",
        "stream s\nview v = s | window count 20001 every 2 | aggregate count() as n\n",
        [
            "2:39: warning: 'count 20001 every 2' keeps up to 10,001 windows open per key: "
            "every record is in each of them"
        ],
    ),
    (
        "10,000 windows are not too many",
        "stream s\nview v = s | window sliding 10000s every 1s | aggregate count() as n\n",
        [],
    ),
    (
        "a tumbling count window",
        "stream s\nview v = s | window count 50000 | aggregate count() as n\n",
        [],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in ERRORS], ids=[name for name, _, _ in ERRORS]
)
def test_broken_window_reports_exactly_these_errors(text: str, expected: list[str]) -> None:
    assert errors(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in WARNINGS], ids=[name for name, _, _ in WARNINGS]
)
def test_many_open_windows_are_a_warning(text: str, expected: list[str]) -> None:
    assert errors(text) == []
    assert warnings(text) == expected
