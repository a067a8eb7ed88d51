"""Negation (DSL 3.1): notNext `, !x`, notFollowedBy `-> !x ->`, and trailing absence.

`-> !x ->` forbids x between the last event before it and the first event after it; after a
loop the span starts at the loop's first event, so an x inside the loop kills the partial
match (Flink's NotPatternITCase). Negated variables never appear in a match.
"""

import pytest

from .harness import case, check

NOT_NEXT = [
    case(
        "not_next.kills_when_the_very_next_event_matches",
        """
        match a , !x -> b
        where a: kind == "a"
              x: kind == "x"
              b: kind == "b"
        skip no
        """,
        "a1 x1 b1 a2 y1 b2",
        ["a:a2 b:b2"],
    ),
    case(
        "not_next.only_the_very_next_event_counts",
        """
        match a , !x -> b
        where a: kind == "a"
              x: kind == "x"
              b: kind == "b"
        skip no
        """,
        "a1 y1 x1 b1",
        ["a:a1 b:b1"],
    ),
    case(
        "not_next.at_the_end_of_the_pattern",
        """
        match a , !x
        where a: kind == "a"
              x: kind == "x"
        skip no
        """,
        "a1 x1 a2 y1",
        ["a:a2"],
    ),
    case(
        "flink.NotPatternITCase.testNotNext",
        """
        match a , !b ->> c -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 c1 b1 c2 d",
        ["a1 c1 d", "a1 c2 d"],
    ),
    case(
        "flink.NotPatternITCase.testNotNextNoMatches",
        """
        match a , !b -> c -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 c1 c2 d",
        [],
    ),
    case(
        "flink.NotPatternITCase.testNotNextNoMatchesAtTheEnd",
        """
        match a ->> c ->> d , !b
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 c1 c2 d b1",
        [],
    ),
    case(
        "flink.NotPatternITCase.testNotNextAfterOneOrMoreSkipTillNext",
        """
        match a -> b+ , !c -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 c1 b2 d1",
        [],
    ),
    case(
        "flink.NotPatternITCase.testNotNextAfterOneOrMoreSkipTillAny",
        """
        match a ->> b+ , !c -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 c1 b2 d1",
        ["a1 b2 d1"],
    ),
]

NOT_FOLLOWED_BY = [
    case(
        "not_followed_by.between_two_steps",
        """
        match a -> !x -> b
        where a: kind == "a"
              x: kind == "x"
              b: kind == "b"
        skip no
        """,
        "a1 x1 b1 a2 b2",
        ["a:a2 b:b2"],
    ),
    case(
        "not_followed_by.only_until_the_next_step",
        """
        match a -> !x -> b -> c
        where a: kind == "a"
              x: kind == "x"
              b: kind == "b"
              c: kind == "c"
        skip no
        """,
        "a1 b1 x1 c1",
        ["a1 b1 c1"],
    ),
    case(
        "not_followed_by.after_a_loop.inside_the_loop_span",
        """
        match a -> b+ -> !x -> c
        where a: kind == "a"
              b: kind == "b"
              x: kind == "x"
              c: kind == "c"
        skip no
        """,
        "a1 b1 x1 b2 c1",
        [],
    ),
    case(
        "not_followed_by.after_a_loop.before_the_next_step",
        """
        match a -> b+ -> !x -> c
        where a: kind == "a"
              b: kind == "b"
              x: kind == "x"
              c: kind == "c"
        skip no
        """,
        "a1 b1 b2 x1 c1",
        [],
    ),
    case(
        "not_followed_by.after_a_loop.before_the_loop_is_fine",
        """
        match a -> b+ -> !x -> c
        where a: kind == "a"
              b: kind == "b"
              x: kind == "x"
              c: kind == "c"
        skip no
        """,
        "a1 x1 b1 b2 c1",
        ["a1 b1 c1", "a1 b1 b2 c1"],
    ),
    case(
        "flink.NotPatternITCase.testNotFollowedBy",
        """
        match a -> !b ->> c -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 c1 b1 c2 d",
        ["a1 c1 d"],
    ),
    case(
        "flink.NotPatternITCase.testNotFollowedByBeforeOptional",
        """
        match a -> !b ->> c? -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 c1 b1 c2 d",
        ["a1 c1 d"],
    ),
    case(
        "flink.NotPatternITCase.testTimesWithNotFollowedBy",
        """
        match a ->> b{2} -> !c -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 c1 b2 d1",
        [],
    ),
    case(
        "flink.NotPatternITCase.testNotFollowedByBeforeOptionalTimes",
        """
        match a -> !b ->> c{2} optional -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 c1 b1 c2 d",
        ["a1 c1 c2 d"],
    ),
    case(
        "flink.NotPatternITCase.testNotFollowedByWithBranchingAtStart",
        """
        match a -> !b -> c -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 c1 a2 c2 d",
        ["a2 c2 d"],
    ),
    case(
        "flink.NotPatternITCase.testNotFollowedByNextAfterOneOrMoreEager",
        """
        match a -> b+ -> !c -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 b2 b3 c1 b4 b5 b6 d1",
        [],
    ),
    case(
        "flink.NotPatternITCase.testNotFollowedByAnyAfterOneOrMoreEager",
        """
        match a ->> b+ -> !c -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 b2 b3 c1 b4 b5 b6 d1",
        [
            "a1 b4 b5 b6 d1",
            "a1 b4 b5 d1",
            "a1 b4 d1",
            "a1 b5 b6 d1",
            "a1 b5 d1",
            "a1 b6 d1",
        ],
    ),
    case(
        "flink.NotPatternITCase.testNotFollowedByAnyAfterOneOrMoreCombinations",
        """
        match a ->> b+ any -> !c -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 b2 b3 c1 b4 b5 b6 d1",
        [
            "a1 b4 b5 b6 d1",
            "a1 b4 b5 d1",
            "a1 b4 b6 d1",
            "a1 b4 d1",
            "a1 b5 b6 d1",
            "a1 b5 d1",
            "a1 b6 d1",
        ],
    ),
    case(
        "flink.NotPatternITCase.testNotFollowedByBeforeOneOrMoreEager",
        """
        match a -> !c -> b+ -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 c1 b4 b5 b6 d1",
        ["a1 b1 b4 b5 b6 d1", "a1 b1 b4 b5 d1", "a1 b1 b4 d1", "a1 b1 d1"],
    ),
    case(
        "flink.NotPatternITCase.testNotFollowedByBeforeOneOrMoreCombinations",
        """
        match a -> !c -> b+ any -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 c1 b4 b5 b6 d1",
        [
            "a1 b1 b4 b5 b6 d1",
            "a1 b1 b4 b5 d1",
            "a1 b1 b4 b6 d1",
            "a1 b1 b4 d1",
            "a1 b1 b5 b6 d1",
            "a1 b1 b5 d1",
            "a1 b1 b6 d1",
            "a1 b1 d1",
        ],
    ),
    case(
        "flink.NotPatternITCase.testNotFollowedByAnyBeforeOneOrMoreEager",
        """
        match a -> !c ->> b+ -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 c1 b4 b5 b6 d1",
        ["a1 b1 b4 b5 b6 d1", "a1 b1 b4 b5 d1", "a1 b1 b4 d1", "a1 b1 d1"],
    ),
    case(
        "flink.NotPatternITCase.testNotFollowedByBeforeZeroOrMoreEagerSkipTillNext",
        """
        match a -> !c -> b* -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 c1 b4 b5 b6 d1",
        ["a1 b1 b4 b5 b6 d1", "a1 b1 b4 b5 d1", "a1 b1 b4 d1", "a1 b1 d1"],
    ),
]

ABSENCE = [
    case(
        "absence.fires_when_the_input_ends",
        """
        match a -> !x
        where a: kind == "a"
              x: kind == "x"
        within 5s
        skip no
        """,
        "a1@0 x1@2000 a2@10000",
        ["a:a2"],
    ),
    case(
        "absence.an_x_after_the_window_does_not_count",
        """
        match a -> !x
        where a: kind == "a"
              x: kind == "x"
        within 5s
        skip no
        """,
        "a1@0 y1@6000 x1@7000",
        ["a:a1"],
    ),
    case(
        # the window is [a, a + 5s): at ts - start >= 5s the partial match is already over
        "absence.an_x_exactly_at_the_window_end_is_outside",
        """
        match a -> !x
        where a: kind == "a"
              x: kind == "x"
        within 5s
        skip no
        """,
        "a1@0 x1@5000",
        ["a:a1"],
    ),
    case(
        "flink.NotPatternITCase.testNotFollowedByWithinFirstAndLastAtEnd",
        """
        match a -> !b
        where a: kind == "a"
              b: kind == "b"
        within 3ms
        skip no
        """,
        "a1@1 b1@2 a2@4 c1@5 b2@10 a3@11 b3@13",
        ["a2"],
    ),
    case(
        "flink.NotPatternITCase.testNotFollowedByWithinPreviousAndCurrentAtEnd",
        """
        match a -> !b
        where a: kind == "a"
              b: kind == "b"
        within 3ms between events
        skip no
        """,
        "a1@1 b1@2 a2@4 c1@5 b2@10 a3@11 b3@13",
        ["a2"],
    ),
    case(
        # Flink's followingPattern reaches into the group: a c inside the loop kills it
        "absence.after_a_group_ending_in_a_loop_is_enforced_inside_the_loop",
        """
        match (a{2,}) -> !c
        where a: kind in ["a", "c"]
              c: kind == "c"
        within 2500ms
        on timeout emit first(a).id as first_a, count(a) as n
        """,
        "a1 c2 a3 a4",
        ["a:[c2,a3]"],
        timeouts=[
            {"pattern": "p", "key": None, "start": 1000, "end": 3000, "first_a": "c2", "n": 3},
            {"pattern": "p", "key": None, "start": 2000, "end": 3000, "first_a": "a3", "n": 2},
            {"pattern": "p", "key": None, "start": 3000, "end": 3000, "first_a": "a4", "n": 1},
        ],
    ),
    case(
        "absence.after_two_steps",
        """
        match a -> b -> !x
        where a: kind == "a"
              b: kind == "b"
              x: kind == "x"
        within 10s
        skip no
        """,
        "a1@0 b1@1000 a2@2000 b2@3000 x1@4000 a3@20000 b3@21000",
        ["a:a3 b:b3"],
    ),
]


@pytest.mark.parametrize("c", NOT_NEXT, ids=lambda c: c.id)
def test_not_next_checks_only_the_following_event(c):
    check(c)


@pytest.mark.parametrize("c", NOT_FOLLOWED_BY, ids=lambda c: c.id)
def test_not_followed_by_forbids_events_in_between(c):
    check(c)


@pytest.mark.parametrize("c", ABSENCE, ids=lambda c: c.id)
def test_trailing_absence_fires_when_the_window_closes(c):
    check(c)


TABLES = [NOT_NEXT, NOT_FOLLOWED_BY, ABSENCE]
