"""The runtime through the Python API: outputs, accounting, bounds (DSL §3.3, §3.5, §4)."""

import gress_cep
from gress_cep.connectors.memory import IterableSource
from gress_cep.runtime.pipeline import Pipeline
from gress_cep.runtime.plan import build_plan

STREAM = """stream payments
    key card
    time ts
    lateness 1s
"""
PATTERN = """
pattern probe_then_big
    from payments
    match small{2,} -> big
    where small: amount < 2
          big: amount > 100
    within 10s
"""


def pay(card, ts, amount, **extra):
    return {"card": card, "ts": ts, "amount": amount, **extra}


def run(text, events, **kw):
    return list(gress_cep.compile(text).run({"payments": events}, **kw))


def test_the_default_output_form_has_metadata_and_the_events_of_each_variable():
    [m] = run(STREAM + PATTERN, [pay("c1", 0, 1), pay("c1", 1000, 1.5), pay("c1", 2000, 500)])
    assert m["pattern"] == "probe_then_big"
    assert m["key"] == "c1"
    assert (m["start"], m["end"]) == (0, 2000)
    assert [e["amount"] for e in m["small"]] == [1, 1.5]  # quantified: a list
    assert m["big"]["amount"] == 500  # single: one event


def test_partition_by_the_stream_key_keeps_cards_apart():
    events = [
        pay("c1", 0, 1),
        pay("c2", 500, 1),
        pay("c1", 1000, 1),
        pay("c2", 1500, 500),
        pay("c1", 2000, 500),
    ]
    matches = run(STREAM + PATTERN, events)
    assert [m["key"] for m in matches] == ["c1"]


def test_partition_by_none_is_one_global_partition():
    text = STREAM + PATTERN.replace(
        "    from payments\n", "    from payments\n    partition by none\n"
    )
    events = [pay("c1", 0, 1), pay("c2", 500, 1), pay("c2", 1500, 500)]
    [m] = run(text, events)
    assert m["key"] is None


def test_partition_by_several_fields():
    text = STREAM + PATTERN.replace(
        "    from payments\n", "    from payments\n    partition by card, shop\n"
    )
    events = [
        pay("c1", 0, 1, shop="s"),
        pay("c1", 500, 1, shop="t"),
        pay("c1", 900, 1, shop="s"),
        pay("c1", 1500, 500, shop="s"),
    ]
    [m] = run(text, events)
    assert m["key"] == ("c1", "s")


def test_emit_projects_named_values():
    text = STREAM + PATTERN + "    emit card, count(small) as probes, big.amount\n"
    [m] = run(text, [pay("c1", 0, 1), pay("c1", 1, 1), pay("c1", 2, 1), pay("c1", 3, 900)])
    assert m == {
        "pattern": "probe_then_big",
        "key": "c1",
        "start": 0,
        "end": 3,
        "card": "c1",
        "probes": 3,
        "big_amount": 900,
    }


def test_expired_partial_matches_go_to_on_timeout_with_their_projection():
    text = STREAM + PATTERN + "    on timeout emit card, count(small) as probes\n"
    timeouts = []
    matches = run(
        text,
        [pay("c1", 0, 1), pay("c1", 1000, 1), pay("c1", 20_000, 50)],
        on_timeout=timeouts.append,
    )
    assert matches == []
    # every expired partial match, oldest first: from the first probe, then from the second
    assert [(t["start"], t["probes"]) for t in timeouts] == [(0, 2), (1000, 1)]
    assert {t["pattern"] for t in timeouts} == {"probe_then_big"}


def test_late_records_go_to_on_late_and_are_not_matched():
    late = []
    events = [pay("c1", 5000, 1), pay("c1", 6000, 1), pay("c1", 1000, 500), pay("c1", 7000, 500)]
    matches = run(STREAM + PATTERN, events, on_late=late.append)
    assert [e["record"]["ts"] for e in late] == [1000]
    assert late[0]["origin"] == "payments[2]" and late[0]["late_by_ms"] == 4000
    assert [m["end"] for m in matches] == [7000]


def test_out_of_order_records_within_the_lateness_are_matched_in_event_time_order():
    events = [pay("c1", 1000, 1), pay("c1", 1500, 500), pay("c1", 1200, 1)]
    [m] = run(STREAM + PATTERN, events)
    assert [e["ts"] for e in m["small"]] == [1000, 1200]


def test_records_without_a_usable_time_go_to_the_dead_letters():
    dead = []
    events = [pay("c1", 0, 1), {"card": "c1", "amount": 1}, pay("c1", "not a time", 1), "garbage"]
    run(STREAM + PATTERN, events, on_dead_letter=dead.append)
    reasons = sorted(d.reason for d in dead)
    assert reasons == [
        "not a record (a dict): str",
        "time field 'ts' missing",
        "time field 'ts' not a time: \"not a time\"",
    ]


def test_a_stream_without_time_uses_arrival_order():
    text = "stream payments\n    key card\n" + PATTERN.replace("    within 10s\n", "")
    [m] = run(text, [pay("c1", 9, 1), pay("c1", 1, 1), pay("c1", 5, 500)])
    assert [e["ts"] for e in m["small"]] == [9, 1]  # arrival order, whatever `ts` says


def test_views_filter_and_project_before_the_pattern():
    text = (
        STREAM
        + """
view cleaned = payments | where amount >= 0 | select card, ts, amount * 100 as cents
pattern p
    from cleaned
    match a -> b
    where a: cents < 200
          b: cents > 10000
"""
    )
    [m] = run(text, [pay("c1", 0, -5), pay("c1", 1, 1), pay("c1", 2, 500)])
    assert m["a"] == {"card": "c1", "ts": 1, "cents": 100}


def test_counts_add_up():
    text = (
        STREAM
        + """
view positive = payments | where amount > 0
pattern p
    from positive
    match a -> b
    where a: amount < 2
          b: amount > 100
"""
    )
    events = [
        pay("c1", 5000, 1),
        pay("c1", 1000, 2),
        {"card": "c1"},
        pay("c1", 6000, -1),
        pay("c1", 7000, 300),
    ]
    program = gress_cep.compile(text)
    plan = build_plan(program.tree)
    pipeline = Pipeline(plan, {"payments": [IterableSource(events)]})
    for _ in pipeline.rounds():
        pass
    [row] = pipeline.summary()
    assert (row.records_in, row.late, row.dead_letters, row.filtered, row.processed) == (
        5,
        1,
        1,
        1,
        2,
    )
    assert row.records_in == row.processed + row.late + row.dead_letters + row.filtered
    assert row.matches == 1


def test_the_partial_match_cap_drops_the_oldest_and_counts_them():
    text = """stream s
    time ts
pattern p
    from s
    partition by none
    match a ->> b
    where a: kind == "a"
          b: kind == "b"
    skip no
"""
    program = gress_cep.compile(text)
    events = [{"kind": "a", "ts": i} for i in range(10)] + [{"kind": "b", "ts": 10}]
    matches = list(program.run({"s": events}, max_partial_matches=3))
    assert sorted(m["a"]["ts"] for m in matches) == [7, 8, 9]


def test_running_a_program_twice_gives_the_same_matches():
    program = gress_cep.compile(STREAM + PATTERN)
    events = [pay("c1", 0, 1), pay("c1", 1000, 1.5), pay("c1", 2000, 500)]
    assert list(program.run({"payments": events})) == list(program.run({"payments": events}))


def test_held_matches_are_released_at_the_end_of_input():
    # skip past last holds a match back while an earlier partial match lives; without a
    # window that partial match never ends, so the end of input must release the match
    text = """stream s
    time ts
pattern p
    from s
    partition by none
    match a -> b -> c
    where a: kind == "a"
          b: kind == "b" and x == 2
          c: kind == "c"
"""
    events = [
        {"kind": "a", "x": 1, "ts": 0},
        {"kind": "a", "x": 2, "ts": 1},
        {"kind": "b", "x": 2, "ts": 2},
        {"kind": "c", "ts": 3},
    ]
    [m] = list(gress_cep.compile(text).run({"s": events}))
    assert m["a"]["ts"] == 0
