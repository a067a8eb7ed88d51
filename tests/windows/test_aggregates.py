"""What each window aggregate computes, nulls, order and ties; items, `by` fields, `having`."""

from __future__ import annotations

from typing import Any

from .driver import HEADER, Run, rows, view


def one_window(aggregate: str, *values: Any, window: str = "tumbling 1h by k") -> dict[str, Any]:
    """The single output record of one key's values, given at times 1, 2, 3, ..."""
    run = Run(view(window, aggregate))
    run.feed(rows(*((ts, "a", x) for ts, x in enumerate(values, start=1)))).finish()
    [record] = run.records()
    return record


def test_count_of_a_field_ignores_nulls() -> None:
    assert one_window("count() as n, count(x) as nx", 1, None, 3) == {
        "k": "a",
        "window_start": 0,
        "window_end": 3_600_000,
        "n": 3,
        "nx": 2,
    }


def test_aggregates_of_only_nulls_are_null_and_their_count_zero() -> None:
    record = one_window(
        "count(x) as nx, sum(x) as s, avg(x) as m, min(x) as lo, max(x) as hi, "
        "first(x) as f, last(x) as l, distinct_count(x) as d",
        None,
        None,
    )
    assert record == {
        "k": "a",
        "window_start": 0,
        "window_end": 3_600_000,
        "nx": 0,
        "s": None,
        "m": None,
        "lo": None,
        "hi": None,
        "f": None,
        "l": None,
        "d": 0,
    }


def test_sum_avg_min_max_skip_nulls() -> None:
    record = one_window("sum(x) as s, avg(x) as m, min(x) as lo, max(x) as hi", 4, None, 1, 7)
    assert (record["s"], record["m"], record["lo"], record["hi"]) == (12, 4.0, 1, 7)


def test_avg_of_ints_is_a_float() -> None:
    assert one_window("avg(x) as m", 1, 2)["m"] == 1.5


def test_first_and_last_follow_event_time_not_arrival() -> None:
    run = Run(view("tumbling 1h by k", "first(x) as f, last(x) as l"))
    run.feed(rows((30, "a", "late"), (10, "a", "early"), (20, "a", "middle"))).finish()
    assert run.records()[0] == {
        "k": "a",
        "window_start": 0,
        "window_end": 3_600_000,
        "f": "early",
        "l": "late",
    }


def test_first_and_last_break_ties_by_arrival() -> None:
    run = Run(view("tumbling 1h by k", "first(x) as f, last(x) as l"))
    run.feed(rows((10, "a", "one"), (10, "a", "two"))).feed(rows((10, "a", "three"))).finish()
    assert (run.records()[0]["f"], run.records()[0]["l"]) == ("one", "three")


def test_first_and_last_break_ties_by_arrival_across_panes() -> None:
    run = Run(view("sliding 10ms every 5ms by k", "first(x) as f, last(x) as l"))
    run.feed(rows((7, "a", "b-first"), (2, "a", "a-first"), (2, "a", "a-last"))).finish()
    window = next(r for r in run.records() if r["window_start"] == 0)
    assert (window["f"], window["l"]) == ("a-first", "b-first")


def test_first_and_last_skip_nulls() -> None:
    record = one_window("first(x) as f, last(x) as l", None, 5, 6, None)
    assert (record["f"], record["l"]) == (5, 6)


def test_distinct_count_counts_equal_values_once() -> None:
    assert one_window("distinct_count(x) as d", 1, 1.0, "1", None, 2, 1)["d"] == 3


def test_min_and_max_compare_strings() -> None:
    record = one_window("min(x) as lo, max(x) as hi", "pear", "apple", "zucchini")
    assert (record["lo"], record["hi"]) == ("apple", "zucchini")


def test_min_and_max_put_numbers_before_strings() -> None:
    record = one_window("min(x) as lo, max(x) as hi", "b", 10, "a", 3)
    assert (record["lo"], record["hi"]) == (3, "b")


def test_an_aggregate_of_an_expression() -> None:
    assert one_window("sum(x * 2 + 1) as s", 1, 2)["s"] == 8


def test_items_combine_aggregates_and_by_fields() -> None:
    record = one_window("k, sum(x) / count() as mean, upper(k) as shout", 1, 2, 6)
    assert (record["mean"], record["shout"]) == (3.0, "A")


def test_an_aggregate_used_twice_is_kept_once() -> None:
    run = Run(view("tumbling 1h by k", "sum(x) as s, sum(x) / count() as m, count() as n"))
    assert [(s.func, s.arg is not None) for s in run.op.acc.specs] == [
        ("sum", True),
        ("count", False),
    ]


def test_items_are_named_as_in_emit() -> None:
    assert list(one_window("count(), sum(x), max(x) as top, first(x)", 1)) == [
        "k",
        "window_start",
        "window_end",
        "count",
        "sum_x",
        "top",
        "first_x",
    ]


def test_the_output_holds_by_fields_then_window_bounds_then_items() -> None:
    text = view("tumbling 10ms by k, g", "count() as n")
    run = Run(text).feed([(3, {"k": "a", "g": 1}), (4, {"k": "a", "g": 2})])
    assert run.finish() == [
        (9, {"k": "a", "g": 1, "window_start": 0, "window_end": 10, "n": 1}),
        (9, {"k": "a", "g": 2, "window_start": 0, "window_end": 10, "n": 1}),
    ]


def test_without_by_the_stream_key_groups_and_is_an_output() -> None:
    run = Run(view("tumbling 10ms", "count() as n"))
    run.feed(rows((1, "a", None), (2, "b", None), (3, "a", None))).finish()
    assert run.records() == [
        {"k": "a", "window_start": 0, "window_end": 10, "n": 2},
        {"k": "b", "window_start": 0, "window_end": 10, "n": 1},
    ]


def test_without_by_or_stream_key_one_group_takes_every_record() -> None:
    run = Run(view("tumbling 10ms", "count() as n", header="stream s\n    time ts\n"))
    run.feed(rows((1, "a", None), (2, "b", None))).finish()
    assert run.records() == [{"window_start": 0, "window_end": 10, "n": 2}]


def test_having_drops_windows_and_counts_them() -> None:
    text = (
        f"{HEADER}view v = s | window tumbling 10ms by k | aggregate count() as n\n"
        "    | having n > 1\n"
    )
    run = Run(text)
    run.feed(rows((1, "a", None), (2, "a", None), (3, "b", None))).finish()
    assert run.records() == [{"k": "a", "window_start": 0, "window_end": 10, "n": 2}]
    assert run.op.counts() == {
        "filtered_windows": 1,
        "dead_letters": 0,
        "windows": 1,
        "aggregated": 3,
    }
