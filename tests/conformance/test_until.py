"""`until(...)` stop conditions on loops (DSL 3.1), translated from Flink's UntilConditionITCase.

In Flink's cases every middle event is named "a"; the one with price 5 breaks the loop (it is
never taken by it, and nothing after it joins the same loop), and the pattern's last step
takes exactly that price-5 event.
"""

import pytest

from .harness import case, check

LOOP_UNTIL_PRICE_5 = """
    match c {connector} a{loop} until(price == 5) -> e
    where c: kind == "c"
          a: kind == "a"
          e: price == 5
    skip no
"""

LOOP_UNTIL_PRICE_5_AT_THE_END = """
    match c ->> a{loop} until(price == 5)
    where c: kind == "c"
          a: kind == "a"
    skip no
"""

THREE_BEFORE_THE_BREAK = "c1{price:1} a1{price:2} a2{price:3} a3{price:5} a4{price:6}"
FOUR_BEFORE_THE_BREAK = "c1{price:1} a1{price:2} a2{price:3} a3{price:4} a4{price:5} a5{price:6}"

FLINK_UNTIL = [
    case(
        "flink.UntilConditionITCase.testUntilConditionFollowedByOneOrMore",
        LOOP_UNTIL_PRICE_5.format(connector="->", loop="+"),
        THREE_BEFORE_THE_BREAK,
        ["c1 a1 a2 a3", "c1 a1 a3"],
    ),
    case(
        "flink.UntilConditionITCase.testUntilConditionFollowedByOneOrMoreCombinations",
        LOOP_UNTIL_PRICE_5.format(connector="->", loop="+ any"),
        FOUR_BEFORE_THE_BREAK,
        ["c1 a1 a2 a3 a4", "c1 a1 a2 a4", "c1 a1 a3 a4", "c1 a1 a4"],
    ),
    case(
        "flink.UntilConditionITCase.testUntilConditionFollowedByOneOrMoreConsecutive",
        LOOP_UNTIL_PRICE_5.format(connector="->", loop="+ consecutive"),
        THREE_BEFORE_THE_BREAK,
        ["c1 a1 a2 a3", "c1 a1 a3"],
    ),
    case(
        "flink.UntilConditionITCase.testUntilConditionFollowedByZeroOrMore",
        LOOP_UNTIL_PRICE_5.format(connector="->", loop="*"),
        THREE_BEFORE_THE_BREAK,
        ["c1 a1 a2 a3", "c1 a1 a3", "c1 a3"],
    ),
    case(
        "flink.UntilConditionITCase.testUntilConditionFollowedByZeroOrMoreCombinations",
        LOOP_UNTIL_PRICE_5.format(connector="->", loop="* any"),
        FOUR_BEFORE_THE_BREAK,
        ["c1 a1 a2 a3 a4", "c1 a1 a2 a4", "c1 a1 a3 a4", "c1 a1 a4", "c1 a4"],
    ),
    case(
        "flink.UntilConditionITCase.testUntilConditionFollowedByZeroOrMoreConsecutive",
        LOOP_UNTIL_PRICE_5.format(connector="->", loop="* consecutive"),
        THREE_BEFORE_THE_BREAK,
        ["c1 a1 a2 a3", "c1 a1 a3", "c1 a3"],
    ),
    case(
        "flink.UntilConditionITCase.testUntilConditionFollowedByAnyOneOrMore",
        LOOP_UNTIL_PRICE_5_AT_THE_END.format(loop="+"),
        THREE_BEFORE_THE_BREAK,
        # a loop may start after the breaking event, but never reach across it
        ["c1 a1 a2", "c1 a1", "c1 a2", "c1 a4"],
    ),
    case(
        "flink.UntilConditionITCase.testUntilConditionFollowedByAnyZeroOrMore",
        LOOP_UNTIL_PRICE_5_AT_THE_END.format(loop="*"),
        THREE_BEFORE_THE_BREAK,
        ["c1 a1 a2", "c1 a1", "c1 a2", "c1 a4", "c1"],
    ),
]

UNTIL = [
    case(
        "until_event_outside_the_loop_does_not_matter",
        """
        match c -> a+ until(kind == "u") -> e
        where c: kind == "c"
              a: kind == "a"
              e: kind == "e"
        skip no
        """,
        # u1 before the loop starts and u2 after it ended are not inside the loop
        "c1 u1 a1 a2 u2 e1",
        ["c1 a1 e1", "c1 a1 a2 e1"],
    ),
    case(
        "until_event_inside_the_loop_ends_it",
        """
        match c -> a+ until(kind == "u") -> e
        where c: kind == "c"
              a: kind == "a"
              e: kind == "e"
        skip no
        """,
        "c1 a1 u1 a2 e1",
        ["c1 a1 e1"],
    ),
]


@pytest.mark.parametrize("c", FLINK_UNTIL, ids=lambda c: c.id)
def test_flink_until_suite(c):
    check(c)


@pytest.mark.parametrize("c", UNTIL, ids=lambda c: c.id)
def test_until_bounds_only_the_loop(c):
    check(c)


TABLES = [FLINK_UNTIL, UNTIL]
