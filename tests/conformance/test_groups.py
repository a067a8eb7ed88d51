"""Groups with quantifiers, nested groups, alternation `|` and conjunction `&` (DSL 3.1).

Variables inside a quantified group are lists in the default output, like quantified variables.
Relaxed contiguity before a group skips the events that cannot start it: for an alternation,
the first event that can start any of its options is the one taken (as a Flink pattern whose
condition is or-ed). Conjunction `(b & c)` is `(b -> c | c -> b)`.
"""

import pytest

from .harness import case, check

FLINK_GROUPS = [
    case(
        "flink.GroupITCase.testGroupFollowedByTimes",
        """
        match c -> (a -> b){2} -> d
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
              d: kind == "d"
        skip no
        """,
        "c a1 b1 a2 b2 d",
        ["c:c a:[a1,a2] b:[b1,b2] d:d"],
    ),
    case(
        "flink.GroupITCase.testGroupFollowedByOptional",
        """
        match c -> (a -> b)? -> d
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
              d: kind == "d"
        skip no
        """,
        "c a1 a2 b d",
        ["c:c d:d", "c:c a:[a1] b:[b] d:d"],
    ),
    case(
        "flink.GroupITCase.testFollowedByGroupTimesOptional",
        """
        match c -> (a -> b){2} optional -> d
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
              d: kind == "d"
        skip no
        """,
        "c a d",
        ["c d"],
    ),
    case(
        "flink.GroupITCase.testGroupFollowedByOneOrMore",
        """
        match c -> (a -> b)+ -> d
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
              d: kind == "d"
        skip no
        """,
        "c a1 b1 a2 b2 d",
        ["c a1 b1 d", "c a1 b1 a2 b2 d"],
    ),
    case(
        "flink.GroupITCase.testGroupFollowedByZeroOrMore",
        """
        match c -> (a -> b)* -> d
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
              d: kind == "d"
        skip no
        """,
        "c a1 b1 a2 b2 d",
        ["c d", "c a1 b1 d", "c a1 b1 a2 b2 d"],
    ),
    case(
        "flink.GroupITCase.testGroupFollowedByAnyTimesCombinations",
        """
        match c ->> (a -> b){2} any -> d
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
              d: kind == "d"
        skip no
        """,
        "c a1 b1 a2 b2 a3 b3 d",
        ["c a1 b1 a2 b2 d", "c a1 b1 a3 b3 d", "c a2 b2 a3 b3 d"],
    ),
    case(
        "flink.GroupITCase.testGroupFollowedByAnyTimesOptional",
        """
        match c ->> (a -> b){2} optional -> d
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
              d: kind == "d"
        skip no
        """,
        "c a1 b1 a2 b2 a3 b3 d",
        ["c d", "c a1 b1 a2 b2 d", "c a2 b2 a3 b3 d"],
    ),
]

GROUP_UNTIL = [
    case(
        "flink.GroupITCase.testGroupFollowedByOneOrMoreWithUntilCondition",
        """
        match c -> (a -> b)+ until(kind == "d") -> d
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
              d: kind == "d"
        skip no
        """,
        "c a1 b1 a2 b2 d",
        ["c a1 b1 d", "c a1 b1 a2 b2 d"],
    ),
    case(
        # d1 comes in the middle of the second repetition: that repetition ends there, and
        # nothing after d1 joins the group (without `until`, a1 b1 a2 b2 d2 matches too)
        "group_until.ends_a_repetition_in_progress",
        """
        match c -> (a -> b)+ until(kind == "d") -> d
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
              d: kind == "d"
        skip no
        """,
        "c1 a1 b1 a2 d1 b2 d2",
        ["c:c1 a:[a1] b:[b1] d:d1"],
    ),
    case(
        "group_until.sees_the_variables_of_the_group",
        """
        match c -> (a -> b)+ until(kind == "d" and tag == last(a).tag) -> d
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
              d: kind == "d"
        skip no
        """,
        # d1's tag is not a1's: the group goes on past it; d2's is a2's: it ends the group
        "c1 a1{tag:1} b1 d1{tag:2} a2{tag:2} b2 d2{tag:2}",
        [
            "c:c1 a:[a1] b:[b1] d:d1",
            "c:c1 a:[a1,a2] b:[b1,b2] d:d2",
            "c:c1 a:[a1] b:[b1] d:d2",  # `-> d` skips a2 and b2
        ],
    ),
]

# The first element of a group loops with the group's inner contiguity, not its own (Flink's
# NFACompiler.getInnerIgnoreCondition): `consecutive` or `any` on it does nothing.
GROUP_HEAD = [
    case(
        "group_head.consecutive_on_the_first_element_gives_way_to_the_group",
        """
        match a -> (b+ consecutive) -> z
        where a: kind == "a"
              b: kind == "a"
              z: kind == "c"
        skip no
        """,
        "a1 a2 b3 a4 c5",
        ["a:a1 b:[a2] z:c5", "a:a1 b:[a2,a4] z:c5", "a:a2 b:[a4] z:c5"],
    ),
    case(
        "group_head.any_on_the_first_element_gives_way_to_the_group",
        """
        match a -> (b+ any) -> z
        where a: kind == "a"
              b: kind == "a"
              z: kind == "c"
        skip no
        """,
        "a1 a2 b3 a4 a5 c6",
        [
            "a:a1 b:[a2,a4,a5] z:c6",
            "a:a1 b:[a2,a4] z:c6",
            "a:a1 b:[a2] z:c6",
            "a:a2 b:[a4,a5] z:c6",
            "a:a2 b:[a4] z:c6",
            "a:a4 b:[a5] z:c6",
        ],
    ),
]

NESTED = [
    case(
        "nested.loop_inside_a_repeated_group",
        """
        match (a -> b+){2} -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        skip no
        """,
        "a1 b1 b2 a2 b3 c1",
        ["a:[a1,a2] b:[b1,b3] c:c1", "a:[a1,a2] b:[b1,b2,b3] c:c1"],
    ),
    case(
        "nested.alternation_inside_a_repeated_group",
        """
        match x -> (y -> (a | b)){2} -> z
        where x: kind == "x"
              y: kind == "y"
              a: kind == "a"
              b: kind == "b"
              z: kind == "z"
        skip no
        """,
        "x1 y1 a1 y2 b1 z1",
        ["x:x1 y:[y1,y2] a:[a1] b:[b1] z:z1"],
    ),
    case(
        "nested.group_inside_a_group",
        """
        match s1 -> ((a , b) -> c){2}
        where s1: kind == "s"
              a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        skip no
        """,
        "s a1 b1 c1 a2 b2 x1 c2",
        ["s1:s a:[a1,a2] b:[b1,b2] c:[c1,c2]"],
    ),
]

ALTERNATION = [
    case(
        "alternation.the_option_that_matched_is_the_only_one_reported",
        """
        match a -> (b | c) -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 c1 d1",
        ["a:a1 c:c1 d:d1"],
    ),
    case(
        "alternation.relaxed_takes_the_first_event_of_any_option",
        """
        match a -> (b | c) -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 c1 d1",
        ["a:a1 b:b1 d:d1"],
    ),
    case(
        "alternation.strict_needs_an_option_right_after",
        """
        match a , (b | c) -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 x1 c1 d1 a2 c2 d2",
        ["a:a2 c:c2 d:d2"],
    ),
    case(
        "alternation.of_sequences",
        """
        match a -> (b -> c | e) -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              e: kind == "e"
              d: kind == "d"
        """,
        "a1 b1 c1 d1 a2 e1 d2",
        ["a1 b1 c1 d1", "a2 e1 d2"],
    ),
    case(
        "alternation.quantified",
        """
        match a -> (b | c){2} -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 c1 b1 d1",
        ["a:a1 c:[c1] b:[b1] d:d1"],
    ),
]

CONJUNCTION = [
    case(
        "conjunction.in_the_written_order",
        """
        match a -> (b & c) -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 c1 d1",
        ["a:a1 b:b1 c:c1 d:d1"],
    ),
    case(
        "conjunction.in_the_other_order",
        """
        match a -> (b & c) -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 c1 b1 d1",
        ["a:a1 c:c1 b:b1 d:d1"],
    ),
    case(
        "conjunction.needs_both",
        """
        match a -> (b & c) -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 d1 b2 d2",
        [],
    ),
    case(
        "conjunction.relaxed_inside",
        """
        match a -> (b & c) -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 b1 x1 c1 d1",
        ["a1 b1 c1 d1"],
    ),
    case(
        "conjunction.strict_before_the_group",
        """
        match a , (b & c) -> d
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a1 x1 b1 c1 d1 a2 c2 b2 d2",
        ["a2 c2 b2 d2"],
    ),
]


@pytest.mark.parametrize("c", FLINK_GROUPS, ids=lambda c: c.id)
def test_flink_group_suite(c):
    check(c)


@pytest.mark.parametrize("c", GROUP_UNTIL, ids=lambda c: c.id)
def test_until_on_a_group_ends_its_repetitions(c):
    check(c)


@pytest.mark.parametrize("c", GROUP_HEAD, ids=lambda c: c.id)
def test_the_first_element_of_a_group_loops_as_the_group_says(c):
    check(c)


@pytest.mark.parametrize("c", NESTED, ids=lambda c: c.id)
def test_nested_groups(c):
    check(c)


@pytest.mark.parametrize("c", ALTERNATION, ids=lambda c: c.id)
def test_alternation_matches_one_of_its_options(c):
    check(c)


@pytest.mark.parametrize("c", CONJUNCTION, ids=lambda c: c.id)
def test_conjunction_matches_both_in_any_order(c):
    check(c)


TABLES = [FLINK_GROUPS, GROUP_UNTIL, GROUP_HEAD, NESTED, ALTERNATION, CONJUNCTION]
