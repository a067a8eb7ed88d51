"""Records a window cannot take: each is a dead letter with a reason, counted, in no window."""

from __future__ import annotations

import pytest

from gress_cep.connectors.base import DeadLetter

from .driver import HEADER, Run, rows, view

EVERY_KIND = ["tumbling 10ms", "sliding 10ms every 5ms", "session gap 10ms", "count 2"]


def refused(window: str, aggregate: str, *records: dict, header: str = HEADER) -> Run:
    run = Run(view(window, aggregate, header=header)).feed([(1, r) for r in records])
    run.finish()
    return run


def test_text_in_a_sum_names_the_view_the_aggregate_the_field_and_the_value() -> None:
    run = refused("tumbling 10ms by k", "sum(amount) as total", {"k": "a", "amount": "12.50"})
    assert run.dead == [
        DeadLetter(
            None,
            'view v: sum(amount) needs a number, but amount is string "12.50"',
            "view v",
            {"k": "a", "amount": "12.50"},
        )
    ]


def test_the_reason_names_an_expression_as_written() -> None:
    run = refused("tumbling 10ms by k", "avg(item.price) as m", {"k": "a", "item": {"price": "1"}})
    assert run.dead[0].reason == (
        'view v: avg(item.price) needs a number, but item.price is string "1"'
    )


def test_a_bool_is_not_a_number() -> None:
    run = refused("tumbling 10ms by k", "max(x) as top", {"k": "a", "x": True})
    assert run.dead[0].reason == ("view v: max(x) needs a number or a string, but x is bool true")


def test_a_list_cannot_be_counted_distinct() -> None:
    run = refused("tumbling 10ms by k", "distinct_count(x) as d", {"k": "a", "x": [1]})
    assert run.dead[0].reason == (
        "view v: distinct_count(x) needs a value that can be compared for equality, "
        "but x is list [1]"
    )


@pytest.mark.parametrize("window", EVERY_KIND)
def test_a_refused_record_is_in_no_window(window: str) -> None:
    run = Run(view(f"{window} by k", "count() as n, sum(x) as s, min(y) as lo"))
    run.feed(
        [
            (1, {"k": "a", "x": 1, "y": 5}),
            (2, {"k": "a", "x": "two", "y": 1}),  # refused by sum: min never sees its y
            (3, {"k": "a", "x": 3, "y": 7}),
        ]
    ).finish()
    assert [(r["n"], r["s"], r["lo"]) for r in run.records()][:1] == [(2, 4, 5)]
    assert run.op.counts()["dead_letters"] == len(run.dead) == 1
    assert run.op.counts()["aggregated"] == 2


@pytest.mark.parametrize("window", EVERY_KIND)
def test_a_record_without_its_by_field_is_refused(window: str) -> None:
    run = refused(f"{window} by k", "count() as n", {"x": 1})
    assert [d.reason for d in run.dead] == [
        "view v: the record has no 'k', which the window groups by"
    ]
    assert run.out == []


def test_a_record_without_the_stream_key_is_refused_when_the_window_has_no_by() -> None:
    run = refused("tumbling 10ms", "count() as n", {"x": 1})
    assert [d.reason for d in run.dead] == [
        "view v: the record has no 'k', which the window groups by"
    ]


def test_a_nullable_by_field_that_is_missing_groups_under_null() -> None:
    header = f"{HEADER}    schema {{ k: string?, ts: timestamp, x: int? }}\n"
    run = refused("tumbling 10ms by k", "count() as n", {"x": 1}, {"k": None}, header=header)
    assert run.dead == []
    assert run.records() == [{"k": None, "window_start": 0, "window_end": 10, "n": 2}]


def test_a_null_by_field_is_a_group() -> None:
    run = refused("tumbling 10ms by k", "count() as n", {"k": None}, {"k": "a"})
    assert [r["k"] for r in run.records()] == [None, "a"]


@pytest.mark.parametrize("value", [[1, 2], {"a": 1}])
def test_a_by_field_that_cannot_be_a_group_is_refused(value: object) -> None:
    run = refused("tumbling 10ms by k, g", "count() as n", {"k": "a", "g": value})
    assert len(run.dead) == 1
    assert run.dead[0].reason.startswith("view v: the window groups by 'g', which is ")
    assert run.dead[0].reason.endswith(": a group is a string, a number, a bool or null")


def test_a_refused_first_record_leaves_no_state() -> None:
    run = Run(view("tumbling 10ms by k", "sum(x) as s"))
    run.feed(rows((1, "a", "text")))
    assert run.op.keys.data == {}
    assert run.finish() == []
