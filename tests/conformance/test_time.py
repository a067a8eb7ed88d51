"""Time (DSL 3.3): windows, per-step windows, timeouts, event-time order, lateness.

Timestamps are epoch milliseconds (`a1@4999`); `5s` in an event token means 5000 ms.
"""

import pytest

from .harness import case, check

A_THEN_B_WITHIN_5S = """
    match a -> b
    where a: kind == "a"
          b: kind == "b"
    within 5s
"""

WINDOWS = [
    case(
        "within.first_to_last_less_than_the_window",
        A_THEN_B_WITHIN_5S,
        "a1@0 b1@4999",
        ["a1 b1"],
    ),
    case(
        "within.first_to_last_equal_to_the_window_is_too_late",
        A_THEN_B_WITHIN_5S,
        "a1@0 b1@5000",
        [],
    ),
    case(
        "within.a_later_start_still_matches",
        A_THEN_B_WITHIN_5S,
        "a1@0 a2@3000 b1@7000",
        ["a2 b1"],
    ),
    case(
        "flink.NFAITCase.testSimplePatternWithTimeWindowNFA",
        """
        match st -> m -> e
        where st: kind == "st"
              m: kind == "m"
              e: kind == "e"
        within 10ms
        skip no
        """,
        "st1@1 st2@2 m1@3 f1@4 e1@11 e2@13",
        ["st2 m1 e1"],
    ),
    case(
        "per_step_within.bounds_only_its_own_step",
        """
        match a -> b within 2s -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        """,
        "a1@0 b1@1000 c1@9000",
        ["a1 b1 c1"],
    ),
    case(
        "per_step_within.too_slow_a_step_kills_the_partial_match",
        """
        match a -> b within 2s -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        """,
        "a1@0 b1@3000 c1@4000",
        [],
    ),
    case(
        "within_between_events.every_gap_is_bounded",
        """
        match a -> b -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        within 2s between events
        """,
        "a1@0 b1@1500 c1@3000",
        ["a1 b1 c1"],
    ),
    case(
        "within_between_events.one_long_gap_is_enough_to_fail",
        """
        match a -> b -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        within 2s between events
        """,
        "a1@0 b1@1500 c1@3600",
        [],
    ),
    case(
        "per_step_within.a_step_exactly_as_long_as_the_window_is_too_late",
        """
        match a -> b within 2s -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        """,
        "a1@0 b1@2000 c1@2500 a2@3000 b2@4999 c2@5000",
        ["a2 b2 c2"],
    ),
    case(
        "within_between_events.a_gap_exactly_as_long_as_the_window_is_too_late",
        """
        match a -> b -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        within 2s between events
        """,
        "a1@0 b1@1999 c1@3999 a2@5000 b2@6000 c2@7999",
        ["a2 b2 c2"],
    ),
    case(
        "within_first_to_last.same_input_fails_as_a_whole",
        """
        match a -> b -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        within 2s
        """,
        "a1@0 b1@1500 c1@3000",
        [],
    ),
]

WINDOW_AND_SKIP = """
    match a -> b+
    where a: kind == "a"
          b: kind == "b"
    within 3s
    skip {strategy}
"""

WINDOWS_WITH_SKIP = [
    case(
        "within_and_skip_no.every_match_inside_the_window",
        WINDOW_AND_SKIP.format(strategy="no"),
        "a1@0 b1@1000 b2@2000 b3@4000 a2@5000 b4@6000",
        ["a1 b1", "a1 b1 b2", "a2 b4"],
    ),
    case(
        "within_and_skip_past_last.first_match_of_each_window",
        WINDOW_AND_SKIP.format(strategy="past last"),
        "a1@0 b1@1000 b2@2000 b3@4000 a2@5000 b4@6000",
        ["a1 b1", "a2 b4"],
    ),
    case(
        "within_and_skip_to_last_a.loops_grow_until_the_window_closes",
        WINDOW_AND_SKIP.format(strategy="to last a"),
        "a1@0 b1@1000 b2@2000 b3@4000 a2@5000 b4@6000",
        ["a1 b1", "a1 b1 b2", "a2 b4"],
    ),
]

TIMEOUTS = [
    case(
        "timeout.expired_partial_matches_go_to_the_timeout_output",
        """
        match a -> b
        where a: kind == "a"
              b: kind == "b"
        within 5s
        on timeout emit a.id as a_id
        """,
        "a1@0 x1@1000 a2@6000 b1@7000 a3@20000",
        ["a2 b1"],
        timeouts=[
            # a1 expires when a2 arrives at 6000; a3 when the input ends
            {"pattern": "p", "key": None, "start": 0, "end": 0, "a_id": "a1"},
            {"pattern": "p", "key": None, "start": 20000, "end": 20000, "a_id": "a3"},
        ],
    ),
    case(
        "flink.NFAITCase.testSimplePatternWithTimeoutHandling",
        """
        match a ->> b ->> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        within 10ms
        skip no
        on timeout emit a.id as a_id, b.id as b_id
        """,
        "a1@1 a2@2 b1@3 f1@4 c1@11 c2@13",
        ["a2 b1 c1"],
        timeouts=[
            # with `->>` the partial match before each step stays alive, so it expires too
            {"pattern": "p", "key": None, "start": 1, "end": 1, "a_id": "a1", "b_id": None},
            {"pattern": "p", "key": None, "start": 1, "end": 3, "a_id": "a1", "b_id": "b1"},
            {"pattern": "p", "key": None, "start": 2, "end": 2, "a_id": "a2", "b_id": None},
            {"pattern": "p", "key": None, "start": 2, "end": 3, "a_id": "a2", "b_id": "b1"},
        ],
    ),
    case(
        "timeout.a_partial_match_waiting_in_two_states_times_out_once",
        """
        match a -> b* -> c* -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        within 10s
        on timeout emit a.id as a_id, count(b) as bs
        """,
        "a1 b1",
        [],
        timeouts=[
            # [a1 b1] waits for more b's; [a1] waits both for a c and for a d (two NFA
            # branches, which Flink reports twice): it is one partial match, reported once
            {"pattern": "p", "key": None, "start": 0, "end": 1000, "a_id": "a1", "bs": 1},
            {"pattern": "p", "key": None, "start": 0, "end": 0, "a_id": "a1", "bs": 0},
        ],
    ),
    case(
        "timeout.completed_matches_do_not_time_out",
        """
        match a -> b
        where a: kind == "a"
              b: kind == "b"
        within 5s
        on timeout emit a.id as a_id
        """,
        "a1@0 b1@1000 x1@9000",
        ["a1 b1"],
        timeouts=[],
    ),
]

EVENT_TIME_ORDER = [
    case(
        "out_of_order_input_is_sorted_within_the_lateness",
        """
        match a , b , c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        """,
        "a1@1000 c1@3000 b1@2000",
        ["a1 b1 c1"],
        stream="time ts\nlateness 5s",
        late=[],
    ),
    case(
        "events_behind_the_watermark_go_to_the_late_output",
        """
        match a -> b
        where a: kind == "a"
              b: kind == "b"
        """,
        # b0 arrives after b1@5000 moved the watermark to 4000: it is late, not matched
        "a1@0 b1@5000 b0@1000 c1@6000",
        ["a1 b1"],
        stream="time ts\nlateness 1s",
        late=["b0"],
    ),
    case(
        "equal_timestamps_keep_arrival_order",
        """
        match c , d , e
        where c: kind == "c"
              d: kind == "d"
              e: kind == "e"
        """,
        "e1@2000 c1@1000 d1@1000",
        ["c1 d1 e1"],
        stream="time ts\nlateness 5s",
    ),
    case(
        "equal_timestamps_keep_arrival_order.reversed",
        """
        match c , d , e
        where c: kind == "c"
              d: kind == "d"
              e: kind == "e"
        """,
        "e1@2000 d1@1000 c1@1000",
        [],
        stream="time ts\nlateness 5s",
    ),
    case(
        "equal_timestamps_without_lateness",
        """
        match a , b
        where a: kind == "a"
              b: kind == "b"
        """,
        "a1@1000 b1@1000",
        ["a1 b1"],
    ),
    case(
        "within_uses_event_time_not_arrival_order",
        """
        match a -> b
        where a: kind == "a"
              b: kind == "b"
        within 5s
        """,
        # b1 arrives first but happened after a1, 4s later
        "b1@4000 a1@0",
        ["a1 b1"],
        stream="time ts\nlateness 10s",
    ),
]


@pytest.mark.parametrize("c", WINDOWS, ids=lambda c: c.id)
def test_windows_bound_the_time_a_match_may_take(c):
    check(c)


@pytest.mark.parametrize("c", WINDOWS_WITH_SKIP, ids=lambda c: c.id)
def test_windows_and_skip_strategies_combine(c):
    check(c)


@pytest.mark.parametrize("c", TIMEOUTS, ids=lambda c: c.id)
def test_expired_partial_matches_are_reported(c):
    check(c)


@pytest.mark.parametrize("c", EVENT_TIME_ORDER, ids=lambda c: c.id)
def test_events_are_matched_in_event_time_order(c):
    check(c)


TABLES = [WINDOWS, WINDOWS_WITH_SKIP, TIMEOUTS, EVENT_TIME_ORDER]
