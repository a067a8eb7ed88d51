"""When and in which order matches come out.

With `skip no` a match is emitted as soon as its last event is processed; matches completed by
the same event come out in order of their first event. With any other strategy a completed
match is held back until no partial match that started earlier is alive, so matches come out
in order of their first event, and the strategy then prunes what overlaps (as Flink does).
"""

import pytest

from .harness import case, check

TAGGED = """
    match a -> b
    where a: kind == "a"
          b: kind == "b" and tag == a.tag
    skip {strategy}
"""

ORDER = [
    case(
        "skip_no.same_last_event_orders_by_first_event",
        """
        match a -> b
        where a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "a1 a2 b1",
        ["a1 b1", "a2 b1"],
        order="exact",
    ),
    case(
        "skip_no.a_match_is_emitted_when_it_completes",
        TAGGED.format(strategy="no"),
        "a1{tag:1} a2{tag:2} b2{tag:2} b1{tag:1}",
        ["a2 b2", "a1 b1"],
        order="exact",
    ),
    case(
        "skip_to_next.a_completed_match_waits_for_earlier_partial_matches",
        TAGGED.format(strategy="to next"),
        "a1{tag:1} a2{tag:2} b2{tag:2} b1{tag:1}",
        ["a1 b1", "a2 b2"],
    ),
    case(
        "skip_past_last.a_held_match_can_be_pruned_by_an_earlier_one",
        TAGGED.format(strategy="past last"),
        "a1{tag:1} a2{tag:2} b2{tag:2} b1{tag:1}",
        ["a1 b1"],
    ),
    case(
        "skip_to_next.a_held_match_is_released_when_the_earlier_partial_match_expires",
        """
        match a -> b
        where a: kind == "a"
              b: kind == "b" and tag == a.tag
        within 5s
        skip to next
        """,
        "a1@0{tag:1} a2@1000{tag:2} b2@2000{tag:2} x1@9000",
        ["a2 b2"],
    ),
    case(
        "skip_to_next.a_held_match_is_released_when_the_earlier_partial_match_dies",
        """
        match a -> !x -> b
        where a: kind == "a"
              x: kind == "x"
              b: kind == "b" and tag == a.tag
        skip to next
        """,
        # a2 b2 is complete first; a1's partial match dies at x1, so b1 comes too late for it
        "a1{tag:1} a2{tag:2} b2{tag:2} x1 b1{tag:1}",
        ["a2 b2"],
    ),
]


@pytest.mark.parametrize("c", ORDER, ids=lambda c: c.id)
def test_matches_come_out_in_a_defined_order(c):
    check(c)


TABLES = [ORDER]
