"""Random records, out of order within their stream's lateness, random polls (one side lagging
or silent for rounds, one side empty or ending early), random D and lateness: the pipeline's
join, lookup and union give exactly what the nested loops of naive.py give (as multisets),
records are never lost or duplicated, and the summary adds up."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import naive
from .driver import canonical, run

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Record = dict[str, Any]


@st.composite
def records(
    draw: st.DrawFn, lateness: int, fields: st.SearchStrategy[Record], step: int = 15
) -> list[Record]:
    """Records in arrival order, out of order by at most `lateness` (never late)."""
    out = []
    high = 0
    for _ in range(draw(st.integers(0, 25))):
        if draw(st.booleans()):
            ts = high + draw(st.integers(0, step))
        else:
            ts = max(0, high - draw(st.integers(0, lateness)))
        high = max(high, ts)
        out.append({"ts": ts, **draw(fields)})
    return out


@st.composite
def polls(draw: st.DrawFn, items: list[Record]) -> list[list[Record]]:
    """`items` in random polls, with rounds where nothing arrives (the side lags)."""
    out: list[list[Record]] = []
    i = 0
    while i < len(items):
        if draw(st.integers(0, 3)) == 0:
            out.append([])
            continue
        size = draw(st.integers(1, len(items) - i))
        out.append(items[i : i + size])
        i += size
    return out + [[] for _ in range(draw(st.integers(0, 3)))]


KEYS = st.one_of(st.sampled_from([1, 2, 3]), st.just(None))
JOIN_FIELDS = st.fixed_dictionaries({"k": KEYS, "v": st.integers(0, 5)})
# one in ten records lacks the key: a dead letter
JOIN_RECORD = st.one_of(JOIN_FIELDS, JOIN_FIELDS.map(lambda r: {"v": r["v"]}))


def join_text(kind: str, within: int, lateness: tuple[int, int], condition: str) -> str:
    return f"""stream a
    key k
    time ts
    lateness {lateness[0]}ms
stream b
    key k
    time ts
    lateness {lateness[1]}ms
view j = {kind} a as x, b as y on x.k == y.k{condition} within {within}ms
"""


@st.composite
def join_case(draw: st.DrawFn) -> tuple[str, Any, list[Record], list[Record], int, bool, bool]:
    within = draw(st.integers(1, 20))
    lateness = (draw(st.integers(0, 10)), draw(st.integers(0, 10)))
    left = draw(records(lateness[0], JOIN_RECORD))
    right = draw(records(lateness[1], JOIN_RECORD))
    outer = draw(st.booleans())
    filtered = draw(st.booleans())
    text = join_text(
        "left join" if outer else draw(st.sampled_from(["join", "inner join"])),
        within,
        lateness,
        " and x.v <= y.v" if filtered else "",
    )
    return text, draw(polls(left)), left, right, within, outer, filtered


@given(join_case(), st.data())
@SETTINGS
def test_interval_joins_give_every_pair_the_nested_loops_give(case: Any, data: Any) -> None:
    text, left_polls, left, right, within, outer, filtered = case
    right_polls = data.draw(polls(right))
    out = run(text, "j", {"a": left_polls, "b": right_polls})
    expected = naive.interval_join(
        left,
        right,
        "k",
        within,
        (lambda x, y: x["v"] <= y["v"]) if filtered else (lambda x, y: True),
        outer=outer,
    )
    assert canonical(out.records) == canonical(expected)
    assert out.late == []
    missing_key = sum("k" not in r for r in left + right)
    assert len(out.dead) == missing_key
    assert all("which the join matches on (x.k == y.k)" in d.reason for d in out.dead)
    assert out.pipeline is not None
    (row,) = out.pipeline.view_summary()
    assert row.records_in == len(left) + len(right)
    assert row.records_in == row.used + row.late + row.dead_letters + row.filtered + row.held


TABLE_FIELDS = st.one_of(
    st.fixed_dictionaries({"m": st.sampled_from(["p", "q"]), "c": st.integers(0, 9)}),
    st.fixed_dictionaries({"m": st.sampled_from(["p", "q"])}),  # deletes the row
)
MAIN_FIELDS = st.fixed_dictionaries(
    {"id": st.integers(0, 99), "m": st.sampled_from(["p", "q", "r"])}
)

LOOKUP = """stream main
    key id
    time ts
    lateness {0}ms
stream table
    key m
    time ts
    lateness {1}ms
    schema {{ m: string, ts: timestamp, c: int? }}
view e = main | lookup table on m | where id >= 0
"""


@given(st.integers(0, 4), st.integers(0, 4), st.data())
@SETTINGS
def test_a_lookup_gives_each_record_the_row_valid_at_its_time(
    main_lateness: int, table_lateness: int, data: Any
) -> None:
    main = data.draw(records(main_lateness, MAIN_FIELDS, step=3))
    table = data.draw(records(table_lateness, TABLE_FIELDS, step=3))
    text = LOOKUP.format(main_lateness, table_lateness)
    out = run(text, "e", {"main": data.draw(polls(main)), "table": data.draw(polls(table))})
    expected = naive.lookup(main, table, "m", "m", ["m", "ts", "c"])
    assert canonical(out.records) == canonical(expected)
    assert out.late == [] and out.dead == []
    assert out.pipeline is not None
    (row,) = out.pipeline.view_summary()
    assert row.records_in == len(main) + len(table) == row.used


UNION = """stream a
    key k
    time ts
    lateness {0}ms
    schema {{ k: int, ts: timestamp, x: int }}
stream b
    key k
    time ts
    lateness {1}ms
    schema {{ k: int, ts: timestamp, y: string }}
stream c
    key k
    time ts
view u = union a, b, c
"""


@given(st.integers(0, 10), st.integers(0, 10), st.data())
@SETTINGS
def test_a_union_gives_every_record_of_every_input_once(la: int, lb: int, data: Any) -> None:
    a = data.draw(records(la, st.fixed_dictionaries({"k": st.integers(0, 3), "x": st.integers()})))
    b = data.draw(records(lb, st.fixed_dictionaries({"k": st.integers(0, 3), "y": st.text()})))
    c = data.draw(records(0, st.fixed_dictionaries({"z": st.booleans()})))
    polls_of = {name: data.draw(polls(r)) for name, r in (("a", a), ("b", b), ("c", c))}
    out = run(UNION.format(la, lb), "u", polls_of)
    assert canonical(out.records) == canonical(naive.union([a, b, c], ["k", "ts", "x", "y"]))
    assert out.late == [] and out.dead == []
