"""Joins, lookups and unions, case by case: the view's text, the inputs poll by poll, the
records it must give (docs/language.md §4.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from .driver import run

Record = dict[str, Any]

TWO = """stream a
    key k
    time ts
stream b
    key k
    time ts
"""


@dataclass
class Case:
    view: str  # the view `v` (after TWO)
    a: list[list[Record]]
    b: list[list[Record]]
    expected: list[Record]


def r(k: Any, ts: int, **fields: Any) -> Record:
    return {"k": k, "ts": ts, **fields}


JOINS = {
    "the bound is inclusive: D apart join, D + 1 apart do not": Case(
        "join a as x, b as y on x.k == y.k within 10ms",
        [[r(1, 100), r(2, 100)]],
        [[r(1, 90), r(1, 110), r(2, 111)]],
        [{"x": r(1, 100), "y": r(1, 90)}, {"x": r(1, 100), "y": r(1, 110)}],
    ),
    "records of other keys never pair": Case(
        "join a as x, b as y on x.k == y.k within 1s",
        [[r(1, 100)]],
        [[r(2, 100)]],
        [],
    ),
    "duplicates make pairs, as in Flink": Case(
        "inner join a as x, b as y on x.k == y.k within 10ms",
        [[r(1, 100), r(1, 100)]],
        [[r(1, 105)]],
        [{"x": r(1, 100), "y": r(1, 105)}] * 2,
    ),
    "the rest of the condition filters pairs": Case(
        "join a as x, b as y on x.k == y.k and x.v < y.v within 10ms",
        [[r(1, 100, v=5)]],
        [[r(1, 101, v=4), r(1, 102, v=6)]],
        [{"x": r(1, 100, v=5), "y": r(1, 102, v=6)}],
    ),
    "a pair comes when its second record arrives, whichever side": Case(
        "join a as x, b as y on x.k == y.k within 10ms",
        [[], [r(1, 100)]],
        [[r(1, 95)], []],
        [{"x": r(1, 100), "y": r(1, 95)}],
    ),
    "select flattens the sides": Case(
        "join a as x, b as y on x.k == y.k within 10ms | select x.k, y.v as w",
        [[r(1, 100)]],
        [[r(1, 100, v=7)]],
        [{"x_k": 1, "w": 7}],
    ),
    "a null key meets nothing": Case(
        "join a as x, b as y on x.k == y.k within 10ms",
        [[r(None, 100)]],
        [[r(None, 100)]],
        [],
    ),
    "a composite key: every equality across the sides": Case(
        "join a as x, b as y on x.k == y.k and y.g == x.g within 10ms",
        [[r(1, 100, g="p"), r(1, 100, g="q")]],
        [[r(1, 100, g="q")]],
        [{"x": r(1, 100, g="q"), "y": r(1, 100, g="q")}],
    ),
    "left join: each unmatched A record once, with b null, in time order": Case(
        "left join a as x, b as y on x.k == y.k within 10ms",
        [[r(1, 100), r(2, 105)], [r(1, 130)]],
        [[r(1, 108)], [], [r(1, 300)]],
        [
            {"x": r(1, 100), "y": r(1, 108)},
            {"x": r(2, 105), "y": None},
            {"x": r(1, 130), "y": None},
        ],
    ),
    "left join: a null key is unmatched at once": Case(
        "left join a as x, b as y on x.k == y.k within 10ms",
        [[r(None, 100)]],
        [[]],
        [{"x": r(None, 100), "y": None}],
    ),
}


@pytest.mark.parametrize("case", JOINS.values(), ids=list(JOINS))
def test_joins(case: Case) -> None:
    out = run(TWO + f"view v = {case.view}\n", "v", {"a": case.a, "b": case.b})
    assert out.records == case.expected
    assert out.late == [] and out.dead == []


def test_a_left_join_emits_an_unmatched_record_once_the_watermark_passes_its_time_plus_d() -> None:
    """In the round where both sides' watermarks passed 110, not at the end of input."""
    text = TWO + "view v = left join a as x, b as y on x.k == y.k within 10ms\n"
    out = run(
        text,
        "v",
        {
            "a": [[r(1, 100)], [r(2, 110)], [r(2, 111)], [r(2, 200)]],
            "b": [[r(2, 0)], [r(2, 110)], [r(2, 111)], [r(2, 200)]],
        },
    )
    unmatched = out.records.index({"x": r(1, 100), "y": None})
    assert out.records.index({"x": r(2, 111), "y": r(2, 111)}) < unmatched
    assert unmatched < out.records.index({"x": r(2, 200), "y": r(2, 200)})
    assert out.records.count({"x": r(1, 100), "y": None}) == 1


def test_the_join_holds_back_what_reads_it_until_an_unmatched_record_can_come() -> None:
    """A pattern over a left join: the unmatched A record (time 100) comes out a round after the
    pair of time 105, but the pattern sees it first: the join held the pattern's watermark
    back by D (without that, the pattern would have taken the pair at a watermark of 130)."""
    text = TWO + (
        "view v = left join a as x, b as y on x.k == y.k and x.v == y.v within 50ms\n"
        "    | select x.k, x.ts, y.ts as b_ts\n"
        "pattern p\n    from v\n    partition by x_k\n    match first -> second\n"
        "    where\n        first: b_ts is null\n        second: b_ts is not null\n"
        "    within 10ms\n"
    )
    a = [[r(1, 100, v=1), r(1, 105, v=2), r(1, 130, v=3)], [r(1, 400, v=9)]]
    b = [[r(1, 105, v=2), r(1, 130, v=4)], [r(1, 400, v=9)], []]
    out = run(text, "p", {"a": a, "b": b})
    assert [(m["first"]["x_ts"], m["second"]["x_ts"]) for m in out.records] == [(100, 105)]


LOOKUP = """stream main
    key id
    time ts
stream table
    key m
    time ts
    schema { m: string, ts: timestamp, c: int? }
view v = main | lookup table on m
"""


def row(m: str, ts: int, c: int | None) -> Record:
    return {"m": m, "ts": ts, "c": c}


LOOKUPS = {
    "the version valid at the record's time": (
        [[{"id": 1, "m": "p", "ts": 150}, {"id": 2, "m": "p", "ts": 250}]],
        [[row("p", 100, 1), row("p", 200, 2)]],
        [{"m": "p", "ts": 150, "c": 1, "id": 1}, {"m": "p", "ts": 250, "c": 2, "id": 2}],
    ),
    "a version at exactly the record's time is valid": (
        [[{"id": 1, "m": "p", "ts": 200}]],
        [[row("p", 100, 1), row("p", 200, 2)]],
        [{"m": "p", "ts": 200, "c": 2, "id": 1}],
    ),
    "equal times: the last to arrive wins, also when it arrives after the record": (
        [[{"id": 1, "m": "p", "ts": 10}]],
        [[row("p", 10, 1)], [row("p", 10, 2)]],
        [{"m": "p", "ts": 10, "c": 2, "id": 1}],
    ),
    "no row yet: the table's fields are null (left semantics)": (
        [[{"id": 1, "m": "p", "ts": 50}, {"id": 2, "m": "zz", "ts": 150}]],
        [[row("p", 100, 1)]],
        [{"m": "p", "ts": 50, "c": None, "id": 1}, {"m": "zz", "ts": 150, "c": None, "id": 2}],
    ),
    "a record whose other fields are null deletes the row from its time on": (
        [[{"id": 1, "m": "p", "ts": 150}, {"id": 2, "m": "p", "ts": 250}]],
        [[row("p", 100, 1), {"m": "p", "ts": 200}]],
        [{"m": "p", "ts": 150, "c": 1, "id": 1}, {"m": "p", "ts": 250, "c": None, "id": 2}],
    ),
    "the record's own fields win on a clash": (
        [[{"id": 1, "m": "p", "ts": 150, "c": 99}]],
        [[row("p", 100, 1)]],
        [{"m": "p", "ts": 150, "c": 99, "id": 1}],
    ),
}


@pytest.mark.parametrize("case", LOOKUPS.values(), ids=list(LOOKUPS))
def test_lookups(case: tuple[Any, Any, list[Record]]) -> None:
    main, table, expected = case
    out = run(LOOKUP, "v", {"main": main, "table": table})
    assert out.records == expected
    assert out.late == [] and out.dead == []


def test_a_lookup_waits_for_the_tables_watermark() -> None:
    """The table lags: the record waits for it, and sees the version that came late."""
    out = run(
        LOOKUP,
        "v",
        {
            "main": [[{"id": 1, "m": "p", "ts": 500}], [], []],
            "table": [[], [row("p", 400, 7)], [row("p", 600, 8)]],
        },
    )
    assert out.records == [{"m": "p", "ts": 500, "c": 7, "id": 1}]


def test_union_fills_the_fields_an_input_lacks_with_null() -> None:
    text = """stream a
    time ts
    schema { ts: timestamp, x: int }
stream b
    time ts
    schema { ts: timestamp, y: string }
view v = union a, b | where ts >= 0
"""
    out = run(text, "v", {"a": [[{"ts": 1, "x": 5}]], "b": [[{"ts": 2, "y": "s"}]]})
    assert sorted(out.records, key=lambda r: r["ts"]) == [
        {"ts": 1, "x": 5, "y": None},
        {"ts": 2, "x": None, "y": "s"},
    ]


def test_a_pattern_reads_a_union_in_event_time() -> None:
    text = """stream a
    key k
    time ts
stream b
    key k
    time ts
view v = union a, b
pattern p
    from v
    match first -> second
    where
        first: kind == "A"
        second: kind == "B"
"""
    out = run(
        text,
        "p",
        {"a": [[r(1, 100, kind="A"), r(1, 300, kind="A")]], "b": [[], [r(1, 200, kind="B")]]},
    )
    assert [(m["first"]["ts"], m["second"]["ts"]) for m in out.records] == [(100, 200)]


def test_an_idle_side_does_not_hold_the_join_back_and_its_old_records_are_late() -> None:
    text = """stream a
    key k
    time ts
stream b
    key k
    time ts
    idle 1ms
view v = left join a as x, b as y on x.k == y.k within 10ms
"""
    out = run(
        text,
        "v",
        {
            "a": [[r(1, 100)], [r(1, 200)], [r(1, 300)], [], []],
            "b": [[r(1, 50)], [], [], [r(1, 150)]],
        },
        pauses={"b": 0.01},
    )
    assert out.records[:2] == [{"x": r(1, 100), "y": None}, {"x": r(1, 200), "y": None}]
    assert out.late == [
        {
            "stream": "b",
            "origin": "view v",
            "late_by_ms": out.late[0]["late_by_ms"],
            "record": r(1, 150),
        }
    ]
    assert out.late[0]["late_by_ms"] > 0
    assert out.pipeline is not None
    (summary,) = out.pipeline.view_summary()
    assert summary.late == 1
    assert summary.records_in == summary.used + summary.late


def test_records_without_the_join_key_are_dead_letters_with_the_reason() -> None:
    out = run(
        TWO + "view v = join a as x, b as y on x.k == y.k within 10ms\n",
        "v",
        {"a": [[{"ts": 100}]], "b": [[r(1, 100)]]},
    )
    assert [d.reason for d in out.dead] == [
        "view v: the record has no 'k', which the join matches on (x.k == y.k)"
    ]
    assert out.dead[0].origin == "view v"


def test_lookup_dead_letters() -> None:
    out = run(
        LOOKUP.replace("schema { m: string, ts: timestamp, c: int? }\n", ""),
        "v",
        {"main": [[{"id": 1, "ts": 100}]], "table": [[{"ts": 100, "c": 1}]]},
    )
    assert sorted(d.reason for d in out.dead) == [
        "view v: the record has no 'm', which it looks up by",
        "view v: the table record has no 'm', its key",
    ]


def test_a_join_keeps_only_the_records_that_may_still_meet_a_partner() -> None:
    """After every round, each record kept is within D of the watermark (state is pruned as
    the watermark moves, not at the end)."""
    from gress_cep.operators.join import IntervalJoin
    from gress_cep.runtime.pipeline import Pipeline
    from gress_cep.runtime.plan import PlanOptions, build_plan

    from .driver import ScriptSource, program

    text = TWO + "view v = join a as x, b as y on x.k == y.k within 10ms\n"
    plan = build_plan(program(text), PlanOptions(views=["v"]))
    a = [[r(i % 3, 10 * n + i) for i in range(10)] for n in range(20)]
    b = [[r(i % 3, 10 * n + i + 5) for i in range(10)] for n in range(20)]
    pipeline = Pipeline(plan, {"a": [ScriptSource(a)], "b": [ScriptSource(b)]})  # type: ignore[list-item]
    join = plan.views["v"].operators[0]
    assert isinstance(join, IntervalJoin)
    largest = 0
    for _ in pipeline.rounds():
        kept = [ts for sides in join.keys.data.values() for ts in sides[0] + sides[2]]
        assert all(ts + 10 >= join.watermark for ts in kept)
        largest = max(largest, len(kept))
    assert 0 < largest <= 60
    assert join.keys.data == {}
