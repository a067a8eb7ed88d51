"""The golden examples of Flink's CEP documentation (docs/content/docs/libs/cep.md), reproduced.

Flink's default skip strategy is NO_SKIP, gress's is `skip past last`, so every example names
its strategy. Where Flink later corrected an example, the corrected text is used (noted per case).
"""

import pytest

from .harness import case, check

CONTIGUITY = [
    # "a b" over a, c, b1, b2 -- section "Combining Patterns"
    case(
        "docs.combining.strict",
        """
        match a , b
        where a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "a c b1 b2",
        [],
    ),
    case(
        "docs.combining.relaxed",
        """
        match a -> b
        where a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "a c b1 b2",
        ["a b1"],
    ),
    case(
        "docs.combining.nondeterministic_relaxed",
        """
        match a ->> b
        where a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "a c b1 b2",
        ["a b1", "a b2"],
    ),
]

LOOP_CONTIGUITY = [
    # "a b+ c" with a followed-by-any b+ over a b1 d1 b2 d2 b3 c -- "Contiguity within looping
    # patterns". The strict result is the one corrected by FLINK-28880 ({a b3 c} alone was wrong).
    case(
        "docs.looping.consecutive",
        """
        match a ->> b+ consecutive -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        skip no
        """,
        "a b1 d1 b2 d2 b3 c",
        ["a b1 c", "a b2 c", "a b3 c"],
    ),
    case(
        "docs.looping.relaxed",
        """
        match a ->> b+ -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        skip no
        """,
        "a b1 d1 b2 d2 b3 c",
        ["a b1 c", "a b1 b2 c", "a b1 b2 b3 c", "a b2 c", "a b2 b3 c", "a b3 c"],
    ),
    case(
        "docs.looping.any",
        """
        match a ->> b+ any -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        skip no
        """,
        "a b1 d1 b2 d2 b3 c",
        ["a b1 c", "a b1 b2 c", "a b1 b3 c", "a b1 b2 b3 c", "a b2 c", "a b2 b3 c", "a b3 c"],
    ),
    # `consecutive()` and `allowCombinations()` over C D A1 A2 A3 D A4 B; the combinations list is
    # the current one (an older text also listed loops starting at A2, A3, A4 -- impossible with
    # followedBy before the loop, which must take A1).
    case(
        "docs.consecutive.with",
        """
        match c -> a+ consecutive -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c d1 a1 a2 a3 d2 a4 b",
        ["c a1 b", "c a1 a2 b", "c a1 a2 a3 b"],
    ),
    case(
        "docs.consecutive.without",
        """
        match c -> a+ -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c d1 a1 a2 a3 d2 a4 b",
        ["c a1 b", "c a1 a2 b", "c a1 a2 a3 b", "c a1 a2 a3 a4 b"],
    ),
    case(
        "docs.allowCombinations.with",
        """
        match c -> a+ any -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c d1 a1 a2 a3 d2 a4 b",
        [
            "c a1 b",
            "c a1 a2 b",
            "c a1 a3 b",
            "c a1 a4 b",
            "c a1 a2 a3 b",
            "c a1 a2 a4 b",
            "c a1 a3 a4 b",
            "c a1 a2 a3 a4 b",
        ],
    ),
]

STOP_CONDITION = [
    # "(a+ until b)" over a1 c a2 b a3 gives {a1 a2} {a1} {a2} {a3} -- section "Conditions"
    case(
        "docs.until",
        """
        match a+ until(kind == "b")
        where a: kind == "a"
        skip no
        """,
        "a1 c1 a2 b1 a3",
        ["a1 a2", "a1", "a2", "a3"],
    ),
]

# "b+ c" over b1 b2 b3 c -- the skip-strategy table. AfterMatchSkipITCase's "Example from docs"
# tests spell the pattern as oneOrMore().consecutive().greedy().next(c).
SKIP_TABLE_PATTERN = """
    match b+ consecutive greedy , c
    where b: kind == "b"
          c: kind == "c"
    skip {strategy}
"""

SKIP_TABLE = [
    case(
        "docs.skip.NO_SKIP",
        SKIP_TABLE_PATTERN.format(strategy="no"),
        "b1 b2 b3 c",
        ["b1 b2 b3 c", "b2 b3 c", "b3 c"],
        # all three end at c: matches completed by one event come out in order of first event
        order="exact",
    ),
    case(
        "docs.skip.SKIP_TO_NEXT",
        SKIP_TABLE_PATTERN.format(strategy="to next"),
        "b1 b2 b3 c",
        ["b1 b2 b3 c", "b2 b3 c", "b3 c"],
    ),
    case(
        "docs.skip.SKIP_PAST_LAST_EVENT",
        SKIP_TABLE_PATTERN.format(strategy="past last"),
        "b1 b2 b3 c",
        ["b1 b2 b3 c"],
    ),
    case(
        "docs.skip.SKIP_TO_FIRST[b]",
        SKIP_TABLE_PATTERN.format(strategy="to first b"),
        "b1 b2 b3 c",
        ["b1 b2 b3 c", "b2 b3 c", "b3 c"],
    ),
    case(
        "docs.skip.SKIP_TO_LAST[b]",
        SKIP_TABLE_PATTERN.format(strategy="to last b"),
        "b1 b2 b3 c",
        ["b1 b2 b3 c", "b3 c"],
    ),
    # "(a | b | c) (b | c) c+.greedy d" over a b c1 c2 c3 d: NO_SKIP vs SKIP_TO_FIRST[c]
    # (AfterMatchSkipITCase.testSkipToFirstDiscarding writes the alternatives as or-conditions)
    case(
        "docs.skip.greedy_example.NO_SKIP",
        """
        match head -> second -> c+ greedy -> d
        where head: kind in ["a", "b", "c"]
              second: kind in ["b", "c"]
              c: kind == "c"
              d: kind == "d"
        skip no
        """,
        "a b c1 c2 c3 d",
        ["a b c1 c2 c3 d", "b c1 c2 c3 d", "c1 c2 c3 d"],
    ),
    case(
        "docs.skip.greedy_example.SKIP_TO_FIRST[c]",
        """
        match head -> second -> c+ greedy -> d
        where head: kind in ["a", "b", "c"]
              second: kind in ["b", "c"]
              c: kind == "c"
              d: kind == "d"
        skip to first c
        """,
        "a b c1 c2 c3 d",
        ["a b c1 c2 c3 d", "c1 c2 c3 d"],
    ),
    # "a b+" over a b1 b2 b3: NO_SKIP vs SKIP_TO_NEXT (AfterMatchSkipITCase QuantifierAtEndOfPattern
    # uses next() before the loop)
    case(
        "docs.skip.a_b+.NO_SKIP",
        """
        match a , b+
        where a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "a b1 b2 b3",
        ["a b1", "a b1 b2", "a b1 b2 b3"],
    ),
    case(
        "docs.skip.a_b+.SKIP_TO_NEXT",
        """
        match a , b+
        where a: kind == "a"
              b: kind == "b"
        skip to next
        """,
        "a b1 b2 b3",
        ["a b1"],
    ),
]


@pytest.mark.parametrize("c", CONTIGUITY, ids=lambda c: c.id)
def test_contiguity_between_two_events(c):
    check(c)


@pytest.mark.parametrize("c", LOOP_CONTIGUITY, ids=lambda c: c.id)
def test_contiguity_inside_a_loop(c):
    check(c)


@pytest.mark.parametrize("c", STOP_CONDITION, ids=lambda c: c.id)
def test_until_stops_a_loop(c):
    check(c)


@pytest.mark.parametrize("c", SKIP_TABLE, ids=lambda c: c.id)
def test_after_match_skip_strategies(c):
    check(c)


TABLES = [CONTIGUITY, LOOP_CONTIGUITY, STOP_CONDITION, SKIP_TABLE]
