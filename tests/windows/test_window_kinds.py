"""Each window kind on small inputs whose windows are computed by hand.

A case is (what it shows, records as (ts, key) in arrival order, the windows expected at the
end of input as (key, window_start, window_end, records in the window)); the output's event time
is checked too: window_end - 1 for time windows, the last record's time for count windows.
"""

from __future__ import annotations

import pytest

from .driver import Run, rows, view

Case = tuple[str, list[tuple[int, str]], list[tuple[str, int, int, int]]]

TUMBLING: list[Case] = [
    (
        "aligned to epoch 0",
        [(0, "a"), (9, "a"), (10, "a"), (25, "a")],
        [("a", 0, 10, 2), ("a", 10, 20, 1), ("a", 20, 30, 1)],
    ),
    ("before epoch 0", [(-1, "a"), (-10, "a"), (-11, "a")], [("a", -20, -10, 1), ("a", -10, 0, 2)]),
    (
        "keys apart, ordered by end then key",
        [(15, "b"), (3, "b"), (4, "a"), (12, "a")],
        [("a", 0, 10, 1), ("b", 0, 10, 1), ("a", 10, 20, 1), ("b", 10, 20, 1)],
    ),
    ("out of order within a window", [(8, "a"), (1, "a"), (5, "a")], [("a", 0, 10, 3)]),
]

SLIDING: list[Case] = [
    (
        "step divides size",
        [(7, "a"), (12, "a")],
        [("a", 0, 10, 1), ("a", 5, 15, 2), ("a", 10, 20, 1)],
    ),
    (
        "no window between records far apart",
        [(0, "a"), (100, "a")],
        [("a", -5, 5, 1), ("a", 0, 10, 1), ("a", 95, 105, 1), ("a", 100, 110, 1)],
    ),
    (
        "an older pane after a newer one",
        [(12, "a"), (2, "a")],
        [("a", -5, 5, 1), ("a", 0, 10, 1), ("a", 5, 15, 1), ("a", 10, 20, 1)],
    ),
]

SLIDING_UNEVEN: list[Case] = [
    (
        "step does not divide size",
        [(9, "a"), (13, "a")],
        [("a", 0, 10, 1), ("a", 4, 14, 2), ("a", 8, 18, 2), ("a", 12, 22, 1)],
    ),
]

SESSIONS: list[Case] = [
    ("a gap of exactly G touches", [(0, "a"), (5, "a"), (15, "a")], [("a", 0, 25, 3)]),
    (
        "a gap longer than G splits",
        [(0, "a"), (5, "a"), (16, "a")],
        [("a", 0, 15, 2), ("a", 16, 26, 1)],
    ),
    ("a late record bridges two sessions", [(0, "a"), (20, "a"), (10, "a")], [("a", 0, 30, 3)]),
    ("an early record extends a session back", [(20, "a"), (12, "a")], [("a", 12, 30, 2)]),
    ("keys apart", [(0, "a"), (3, "b"), (8, "a")], [("b", 3, 13, 1), ("a", 0, 18, 2)]),
]

COUNT: list[Case] = [
    (
        "a short last window is not emitted",
        [(t, "a") for t in range(1, 8)],
        [("a", 1, 3, 3), ("a", 4, 6, 3)],
    ),
    (
        "records in event-time order, not arrival",
        [(5, "a"), (1, "a"), (3, "a"), (2, "a")],
        [("a", 1, 3, 3)],
    ),
    (
        "keys counted apart",
        [(1, "a"), (2, "b"), (3, "a"), (4, "b"), (5, "a")],
        [("a", 1, 5, 3)],
    ),
]

COUNT_SLIDING: list[Case] = [
    (
        "sliding by two",
        [(t, "a") for t in range(1, 8)],
        [("a", 1, 3, 3), ("a", 3, 5, 3), ("a", 5, 7, 3)],
    ),
]

KINDS = {
    "tumbling 10ms": TUMBLING,
    "sliding 10ms every 5ms": SLIDING,
    "sliding 10ms every 4ms": SLIDING_UNEVEN,
    "session gap 10ms": SESSIONS,
    "count 3": COUNT,
    "count 3 every 2": COUNT_SLIDING,
}
CASES = [(window, case) for window, cases in KINDS.items() for case in cases]


@pytest.mark.parametrize(("window", "case"), CASES, ids=[f"{w}: {c[0]}" for w, c in CASES])
def test_windows_computed_by_hand(window: str, case: Case) -> None:
    _, records, windows = case
    run = Run(view(f"{window} by k", "count() as n"))
    run.feed(rows(*((ts, k, None) for ts, k in records))).finish()
    got = [(r["k"], r["window_start"], r["window_end"], r["n"]) for r in run.records()]
    assert got == windows
    count = window.startswith("count")
    assert [ts for ts, _ in run.out] == [end if count else end - 1 for _, _, end, _ in windows]


def test_a_time_window_closes_when_the_watermark_reaches_its_end() -> None:
    run = Run(view("tumbling 10ms by k")).feed(rows((3, "a", None)))
    assert run.watermark(9).out == []
    assert run.watermark(10).records() == [{"k": "a", "window_start": 0, "window_end": 10, "n": 1}]


def test_a_sliding_window_closes_each_window_at_its_own_end() -> None:
    run = Run(view("sliding 10ms every 5ms by k")).feed(rows((7, "a", None)))
    assert [r["window_end"] for r in run.watermark(10).records()] == [10]
    assert [r["window_end"] for r in run.watermark(15).records()] == [10, 15]


def test_a_session_closes_once_the_watermark_passes_its_end() -> None:
    run = Run(view("session gap 10ms by k")).feed(rows((0, "a", None), (6, "a", None)))
    assert run.watermark(16).out == []  # a record at 16 may still come, and touch [0, 16)
    run.feed(rows((16, "a", None)))
    assert run.watermark(26).out == []
    assert run.watermark(27).records() == [{"k": "a", "window_start": 0, "window_end": 26, "n": 3}]


def test_a_count_window_closes_when_the_watermark_releases_its_last_record() -> None:
    run = Run(view("count 2 by k")).feed(rows((5, "a", None), (3, "a", None)))
    assert run.watermark(4).out == []
    assert run.op.held_records() == 1
    assert run.watermark(5).records() == [{"k": "a", "window_start": 3, "window_end": 5, "n": 2}]
    assert run.op.held_records() == 0


def test_count_windows_close_in_event_time_order_across_keys() -> None:
    run = Run(view("count 1 by k"))
    run.feed(rows((4, "b", None), (2, "a", None), (3, "b", None), (2, "c", None))).finish()
    assert [(ts, r["k"]) for ts, r in run.out] == [(2, "a"), (2, "c"), (3, "b"), (4, "b")]


def test_end_of_input_closes_every_time_window_in_end_then_key_order() -> None:
    run = Run(view("session gap 5ms by k"))
    run.feed(rows((10, "b", None), (1, "b", None), (10, "a", None), (30, "c", None))).finish()
    ends = [(r["window_end"], r["k"]) for r in run.records()]
    assert ends == [(6, "b"), (15, "a"), (15, "b"), (35, "c")]


def test_a_session_that_grew_past_its_timer_is_emitted_in_end_order() -> None:
    run = Run(view("session gap 10ms by k"))
    run.feed(rows((0, "a", None), (2, "b", None), (8, "a", None)))  # a's timer: 10, end 18
    ends = [(r["window_end"], r["k"]) for r in run.watermark(30).records()]
    assert ends == [(12, "b"), (18, "a")]
