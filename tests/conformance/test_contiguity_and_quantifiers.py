"""Contiguity (`,` `->` `->>`) crossed with every quantifier, plus Flink's own cases for them.

Case ids starting with `flink.` translate a test of Flink's NFA test suite
(flink-libraries/flink-cep/src/test/java/org/apache/flink/cep/nfa/) into data: same events,
same pattern, same expected matches. All cases use `skip no`, as Flink's tests do.
"""

import pytest

from .harness import case, check

CONNECTORS = (",", "->", "->>")


def _matrix(events: str, rows: list[tuple[str, list[str], list[str], list[str]]]) -> list:
    """One case per quantifier and connector of `a <connector> b<quantifier> -> c`."""
    cases = []
    for quantifier, *by_connector in rows:
        for connector, expected in zip(CONNECTORS, by_connector, strict=True):
            cases.append(
                case(
                    f"matrix[{events}][a {connector} b{quantifier} -> c]",
                    f"""
                    match a {connector} b{quantifier} -> c
                    where a: kind == "a"
                          b: kind == "b"
                          c: kind == "c"
                    skip no
                    """,
                    events,
                    expected,
                )
            )
    return cases


# The b's are b1 b2 b3 with an unrelated x1 between b2 and b3: relaxed contiguity must take b1
# first, strict contiguity inside a loop cannot bridge x1, `->>` may start anywhere.
#          quantifier        strict `,`                   relaxed `->`              any `->>`
MATRIX = _matrix(
    "a1 b1 b2 x1 b3 c1",
    [
        (
            "?",
            ["a1 c1", "a1 b1 c1"],
            ["a1 c1", "a1 b1 c1"],
            ["a1 c1", "a1 b1 c1", "a1 b2 c1", "a1 b3 c1"],
        ),
        (
            "*",
            ["a1 c1", "a1 b1 c1", "a1 b1 b2 c1", "a1 b1 b2 b3 c1"],
            ["a1 c1", "a1 b1 c1", "a1 b1 b2 c1", "a1 b1 b2 b3 c1"],
            [
                "a1 c1",
                "a1 b1 c1",
                "a1 b1 b2 c1",
                "a1 b1 b2 b3 c1",
                "a1 b2 c1",
                "a1 b2 b3 c1",
                "a1 b3 c1",
            ],
        ),
        (
            "+",
            ["a1 b1 c1", "a1 b1 b2 c1", "a1 b1 b2 b3 c1"],
            ["a1 b1 c1", "a1 b1 b2 c1", "a1 b1 b2 b3 c1"],
            ["a1 b1 c1", "a1 b1 b2 c1", "a1 b1 b2 b3 c1", "a1 b2 c1", "a1 b2 b3 c1", "a1 b3 c1"],
        ),
        (
            "{2}",
            ["a1 b1 b2 c1"],
            ["a1 b1 b2 c1"],
            ["a1 b1 b2 c1", "a1 b2 b3 c1"],
        ),
        (
            "{2,}",
            ["a1 b1 b2 c1", "a1 b1 b2 b3 c1"],
            ["a1 b1 b2 c1", "a1 b1 b2 b3 c1"],
            ["a1 b1 b2 c1", "a1 b1 b2 b3 c1", "a1 b2 b3 c1"],
        ),
        (
            "{1,2}",
            ["a1 b1 c1", "a1 b1 b2 c1"],
            ["a1 b1 c1", "a1 b1 b2 c1"],
            ["a1 b1 c1", "a1 b1 b2 c1", "a1 b2 c1", "a1 b2 b3 c1", "a1 b3 c1"],
        ),
        (
            "{2} optional",
            ["a1 c1", "a1 b1 b2 c1"],
            ["a1 c1", "a1 b1 b2 c1"],
            ["a1 c1", "a1 b1 b2 c1", "a1 b2 b3 c1"],
        ),
        (
            "+ consecutive",
            ["a1 b1 c1", "a1 b1 b2 c1"],
            ["a1 b1 c1", "a1 b1 b2 c1"],
            ["a1 b1 c1", "a1 b1 b2 c1", "a1 b2 c1", "a1 b3 c1"],
        ),
        (
            "+ any",
            ["a1 b1 c1", "a1 b1 b2 c1", "a1 b1 b3 c1", "a1 b1 b2 b3 c1"],
            ["a1 b1 c1", "a1 b1 b2 c1", "a1 b1 b3 c1", "a1 b1 b2 b3 c1"],
            [
                "a1 b1 c1",
                "a1 b1 b2 c1",
                "a1 b1 b3 c1",
                "a1 b1 b2 b3 c1",
                "a1 b2 c1",
                "a1 b2 b3 c1",
                "a1 b3 c1",
            ],
        ),
        (
            '+ until(kind == "x")',
            ["a1 b1 c1", "a1 b1 b2 c1"],
            ["a1 b1 c1", "a1 b1 b2 c1"],
            ["a1 b1 c1", "a1 b1 b2 c1", "a1 b2 c1", "a1 b3 c1"],
        ),
    ],
)

# An unrelated x0 right after a: strict contiguity can only skip b entirely.
MATRIX_GAP_AFTER_A = _matrix(
    "a1 x0 b1 b2 c1",
    [
        (
            "+",
            [],
            ["a1 b1 c1", "a1 b1 b2 c1"],
            ["a1 b1 c1", "a1 b1 b2 c1", "a1 b2 c1"],
        ),
        (
            "*",
            ["a1 c1"],
            ["a1 c1", "a1 b1 c1", "a1 b1 b2 c1"],
            ["a1 c1", "a1 b1 c1", "a1 b1 b2 c1", "a1 b2 c1"],
        ),
    ],
)

AFTER_A_LOOP = [
    case(
        "strict_after_loop.gap_breaks_it",
        """
        match a -> b+ , c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        skip no
        """,
        "a1 b1 b2 x1 c1",
        [],
    ),
    case(
        "strict_after_loop.only_the_loop_ending_right_before_c",
        """
        match a -> b+ , c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        skip no
        """,
        "a1 b1 b2 c1",
        ["a1 b1 b2 c1"],
    ),
    case(
        "any_after_loop.every_later_c",
        """
        match a -> b+ ->> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        skip no
        """,
        "a1 b1 b2 c1 c2",
        ["a1 b1 c1", "a1 b1 c2", "a1 b1 b2 c1", "a1 b1 b2 c2"],
    ),
    case(
        "variables_without_condition_match_any_event",
        """
        match a -> b
        where a: kind == "a"
        skip no
        """,
        "a1 x1 y1",
        ["a1 x1"],
    ),
]

FLINK_NFA = [
    case(
        "flink.NFAITCase.testNoConditionNFA",
        """
        match u -> v
        skip no
        """,
        "a b c d e",
        ["a b", "b c", "c d", "d e"],
    ),
    case(
        "flink.NFAITCase.testAnyWithNoConditionNFA",
        """
        match u ->> v
        skip no
        """,
        "a b c d e",
        ["a b", "a c", "a d", "a e", "b c", "b d", "b e", "c d", "c e", "d e"],
    ),
    case(
        "flink.NFAITCase.testStrictContinuityWithResults",
        """
        match a , b
        where a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "a1 b1",
        ["a1 b1"],
    ),
    case(
        "flink.NFAITCase.testStrictContinuityNoResults",
        """
        match a , b
        where a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "a1 c1 b1",
        [],
    ),
    case(
        "flink.NFAITCase.testBranchingPattern",
        """
        match st ->> m ->> n ->> e
        where st: kind == "st"
              m: kind == "m"
              n: kind == "n"
              e: kind == "e"
        skip no
        """,
        "st1 m1 m2 m3 n1 n2 e1",
        [
            "st1 m1 n1 e1",
            "st1 m2 n1 e1",
            "st1 m3 n1 e1",
            "st1 m1 n2 e1",
            "st1 m2 n2 e1",
            "st1 m3 n2 e1",
        ],
    ),
    case(
        "flink.NFAITCase.testComplexBranchingAfterZeroOrMore",
        """
        match c ->> a* any ->> b ->> d ->> e
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
              d: kind == "d"
              e: kind == "e"
        skip no
        """,
        "c a1 a2 a3 b d1 d2 e",
        [
            f"c {loop}b {d} e"
            for d in ("d1", "d2")
            for loop in ("a1 a2 a3 ", "a1 a2 ", "a1 a3 ", "a2 a3 ", "a1 ", "a2 ", "a3 ", "")
        ],
    ),
    case(
        "flink.NFAITCase.testZeroOrMore",
        """
        match c ->> a* any -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c a1 a2 b",
        ["c a1 a2 b", "c a1 b", "c a2 b", "c b"],
    ),
    case(
        "flink.NFAITCase.testEagerZeroOrMore",
        """
        match c -> a* -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c a1 a2 d a3 b",
        ["c a1 a2 a3 b", "c a1 a2 b", "c a1 b", "c b"],
    ),
    case(
        "flink.NFAITCase.testBeginWithZeroOrMore",
        """
        match a* -> b
        where a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "a1 a2 a3 b",
        ["a1 a2 a3 b", "a1 a2 b", "a2 a3 b", "a1 b", "a2 b", "a3 b", "b"],
    ),
    case(
        "flink.NFAITCase.testZeroOrMoreAfterZeroOrMore",
        """
        match c ->> a* any -> d* any -> e
        where c: kind == "c"
              a: kind == "a"
              d: kind == "d"
              e: kind == "e"
        skip no
        """,
        "c a1 d1 d2 e",
        ["c a1 d1 d2 e", "c a1 d1 e", "c d1 d2 e", "c d1 e", "c a1 e", "c e"],
    ),
    case(
        "flink.NFAITCase.testZeroOrMoreAfterBranching",
        """
        match c ->> a ->> f ->> d* any -> e
        where c: kind == "c"
              a: kind == "a"
              f: kind == "f"
              d: kind == "d"
              e: kind == "e"
        skip no
        """,
        "c a1 a2 f d1 d2 e",
        [
            "c a1 f e",
            "c a1 f d1 e",
            "c a1 f d2 e",
            "c a1 f d1 d2 e",
            "c a2 f e",
            "c a2 f d1 e",
            "c a2 f d2 e",
            "c a2 f d1 d2 e",
        ],
    ),
    case(
        "flink.NFAITCase.testStrictContinuityNoResultsAfterZeroOrMore",
        """
        match d -> a* , b
        where d: kind == "d"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "d a1 a2 c b",
        [],
    ),
    case(
        "flink.NFAITCase.testStrictContinuityResultsAfterZeroOrMore",
        """
        match d ->> a* any , b
        where d: kind == "d"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "d a1 a2 b",
        ["d a1 a2 b", "d a2 b"],
    ),
    case(
        "flink.NFAITCase.testAtLeastOne",
        """
        match c ->> a+ any ->> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c a1 a2 b",
        ["c a1 a2 b", "c a1 b", "c a2 b"],
    ),
    case(
        "flink.NFAITCase.testBeginWithAtLeastOne",
        """
        match a+ any -> b
        where a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "a1 a2 a3 b",
        ["a1 a2 a3 b", "a1 a2 b", "a1 a3 b", "a2 a3 b", "a1 b", "a2 b", "a3 b"],
    ),
    case(
        "flink.NFAITCase.testNextZeroOrMore",
        """
        match st , m* consecutive -> e
        where st: kind == "st"
              m: kind == "m"
              e: kind == "e"
        skip no
        """,
        "st x m1 m2 m3 e",
        ["st e"],
    ),
    case(
        "flink.NFAITCase.testAtLeastOneEager",
        """
        match c ->> a+ ->> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c a1 a2 a3 b",
        ["c a1 a2 a3 b", "c a1 a2 b", "c a2 a3 b", "c a3 b", "c a2 b", "c a1 b"],
    ),
    case(
        "flink.NFAITCase.testOptional",
        """
        match c -> a? -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c a b",
        ["c a b", "c b"],
    ),
    case(
        "flink.NFAITCase.testTimes",
        """
        match c , a{2} any -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c a1 a2 a3 b",
        ["c a1 a2 b", "c a1 a3 b"],
    ),
    case(
        "flink.NFAITCase.testStartWithTimes",
        """
        match a{2} consecutive -> b
        where a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "a1 a2 a3 b",
        ["a1 a2 b", "a2 a3 b"],
    ),
    case(
        "flink.NFAITCase.testTimesNonStrictWithNext",
        """
        match c , a{2} any -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c a1 f1 a2 f2 a3 b",
        ["c a1 a2 b", "c a1 a3 b"],
    ),
    case(
        "flink.NFAITCase.testTimesNotStrictWithFollowedByEager",
        """
        match c -> a{2} -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c a1 a2 a3 b",
        ["c a1 a2 b"],
    ),
    case(
        "flink.NFAITCase.testTimesStrictWithNextAndConsecutive",
        """
        match c , a{2} consecutive -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c a1 f a2 a3 b",
        [],
    ),
    case(
        "flink.NFAITCase.testStartWithOptional",
        """
        match c? -> b
        where c: kind == "c"
              b: kind == "b"
        skip no
        """,
        "c b",
        ["c b", "b"],
    ),
    case(
        "flink.NFAITCase.testEndWithZeroOrMore",
        """
        match c -> a*
        where c: kind == "c"
              a: kind == "a"
        skip no
        """,
        "c a1 a2 a3",
        ["c a1 a2 a3", "c a1 a2", "c a1", "c"],
    ),
    case(
        "flink.NFAITCase.testStartAndEndWithZeroOrMore",
        """
        match a*
        where a: kind == "a"
        skip no
        """,
        "c a1 a2 a3 d1 d2 d3",
        ["a1 a2 a3", "a1 a2", "a1", "a2 a3", "a2", "a3"],
    ),
    case(
        "flink.NFAITCase.testEndWithOptional",
        """
        match c -> a?
        where c: kind == "c"
              a: kind == "a"
        skip no
        """,
        "c a1",
        ["c a1", "c"],
    ),
    case(
        "flink.NFAITCase.testEndWithOneOrMore",
        """
        match c -> a+
        where c: kind == "c"
              a: kind == "a"
        skip no
        """,
        "c a1 a2 a3",
        ["c a1 a2 a3", "c a1 a2", "c a1"],
    ),
    case(
        "flink.NFAITCase.testTimesNonStrictOptional1",
        """
        match c -> a{3} optional -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c f b",
        ["c b"],
    ),
    case(
        "flink.NFAITCase.testTimesNonStrictOptional2",
        """
        match c ->> a{2} any optional -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c f1 a1 f2 a2 a3 b",
        ["c a1 a2 b", "c a1 a3 b", "c a2 a3 b", "c b"],
    ),
]

FLINK_TIMES_OR_MORE = [
    case(
        "flink.TimesOrMoreITCase.testTimesOrMore",
        """
        match c -> a{2,} any -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c a1 a2 a3 b",
        ["c a1 a2 a3 b", "c a1 a2 b", "c a1 a3 b"],
    ),
    case(
        "flink.TimesOrMoreITCase.testTimesOrMoreNonStrict",
        """
        match c ->> a{2,} any -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c f1 a1 f2 a2 a3 b",
        ["c a1 a2 a3 b", "c a1 a2 b", "c a1 a3 b", "c a2 a3 b"],
    ),
    case(
        "flink.TimesOrMoreITCase.testTimesOrMoreStrict",
        """
        match c ->> a{2} consecutive -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c f1 a1 f2 a2 a3 b",
        ["c a2 a3 b"],
    ),
    case(
        "flink.TimesOrMoreITCase.testTimesOrMoreStrictOptional",
        """
        match c ->> a{2,} consecutive optional -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c f1 a1 f2 a2 a3 b",
        ["c a2 a3 b", "c b"],
    ),
    case(
        "flink.TimesOrMoreITCase.testTimesOrMoreStrictOptional2",
        """
        match c , a{2,} consecutive optional -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c a1 a2 a3 b",
        ["c a1 a2 a3 b", "c a1 a2 b", "c b"],
    ),
    case(
        "flink.TimesOrMoreITCase.testTimesOrMoreNonStrictOptional",
        """
        match c -> a{2,} optional -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c f b",
        ["c b"],
    ),
    case(
        "flink.TimesOrMoreITCase.testTimesOrMoreNonStrictOptional2",
        """
        match c ->> a{2,} any optional -> b
        where c: kind == "c"
              a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "c f1 a1 f2 a2 a3 b",
        ["c a1 a2 a3 b", "c a1 a2 b", "c a2 a3 b", "c b", "c a1 a3 b"],
    ),
]


@pytest.mark.parametrize("c", MATRIX + MATRIX_GAP_AFTER_A, ids=lambda c: c.id)
def test_every_quantifier_under_every_connector(c):
    check(c)


@pytest.mark.parametrize("c", AFTER_A_LOOP, ids=lambda c: c.id)
def test_contiguity_after_a_loop_and_unconditioned_variables(c):
    check(c)


@pytest.mark.parametrize("c", FLINK_NFA + FLINK_TIMES_OR_MORE, ids=lambda c: c.id)
def test_flink_nfa_suite(c):
    check(c)


TABLES = [MATRIX, MATRIX_GAP_AFTER_A, AFTER_A_LOOP, FLINK_NFA, FLINK_TIMES_OR_MORE]
