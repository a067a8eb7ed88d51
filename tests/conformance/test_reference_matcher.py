"""The reference matcher on its own: it must agree with every hand-written case in its subset.

These tests do not touch the engine, so they hold before it exists: a disagreement means a
wrong table entry or a wrong rule in the reference, and either must be fixed before the
property test can be trusted.
"""

import pytest

from . import (
    test_conditions,
    test_contiguity_and_quantifiers,
    test_emission_order,
    test_flink_docs,
    test_greedy,
    test_groups,
    test_negation,
    test_output,
    test_skip_strategies,
    test_time,
    test_until,
)
from .harness import Case, Outcome, case, check, expected_form
from .reference_matcher import (
    Condition,
    Element,
    Skip,
    Spec,
    Unsupported,
    matches,
    spec_from_source,
)

MODULES = [
    test_conditions,
    test_contiguity_and_quantifiers,
    test_emission_order,
    test_flink_docs,
    test_greedy,
    test_groups,
    test_negation,
    test_output,
    test_skip_strategies,
    test_time,
    test_until,
]
ALL_CASES = [c for module in MODULES for table in module.TABLES for c in table]


def run_reference(c: Case) -> Outcome:
    return Outcome(matches(spec_from_source(c.source()), c.event_dicts()))


def in_subset(c: Case) -> bool:
    """Cases the reference can judge: its pattern subset, in-order input, no other outputs."""
    if c.timeouts is not None or c.late is not None or expected_form(c.expected) == "record":
        return False
    timestamps = [e["ts"] for e in c.event_dicts()]
    if timestamps != sorted(timestamps):
        return False
    try:
        spec_from_source(c.source())
    except Unsupported:
        return False
    return True


SUBSET = [c for c in ALL_CASES if in_subset(c)]


def test_the_tables_hold_enough_cases_for_the_issue():
    assert len(ALL_CASES) >= 120
    assert len({c.id for c in ALL_CASES}) == len(ALL_CASES), "case ids must be unique"


def test_a_good_share_of_the_tables_is_checked_by_the_reference():
    assert len(SUBSET) >= 60


@pytest.mark.parametrize("c", SUBSET, ids=lambda c: c.id)
def test_reference_agrees_with_the_table(c):
    check(c, runner=run_reference)


# ------------------------------------------------------------------ the reference's own rules
A = Condition(frozenset({"a"}))
B = Condition(frozenset({"b"}))
C = Condition(frozenset({"c"}))


def _ids(spec: Spec, notation: str) -> list[str]:
    events = case("x", "match a", notation, []).event_dicts()
    found = []
    for match in matches(spec, events):
        taken = []
        for var, value in match.items():
            if var in ("pattern", "key", "start", "end"):
                continue
            taken.extend(value if isinstance(value, list) else [value])
        found.append(" ".join(e["id"] for e in sorted(taken, key=lambda e: e["ts"])))
    return found


def test_an_empty_assignment_is_not_a_match():
    spec = Spec((Element("a", A, optional=True, quantified=True),), ())
    assert _ids(spec, "x1 y1") == []


def test_the_connector_before_a_skipped_element_does_not_apply():
    # a , b? -> c: with b skipped, only `->` before c governs the gap
    spec = Spec(
        (Element("a", A), Element("b", B, optional=True, quantified=True), Element("c", C)),
        ("strict", "relaxed"),
        Skip("no"),
    )
    assert sorted(_ids(spec, "a1 x1 c1")) == ["a1 c1"]


def test_relaxed_contiguity_cannot_skip_an_event_the_element_accepts():
    spec = Spec((Element("a", A), Element("b", B)), ("relaxed",), Skip("no"))
    assert _ids(spec, "a1 b1 b2") == ["a1 b1"]


def test_until_forbids_its_events_inside_the_loop_but_not_before_it():
    loop = Element("b", B, high=None, until=Condition(frozenset({"u"})), quantified=True)
    spec = Spec((Element("a", A), loop), ("relaxed",), Skip("no"))
    assert sorted(_ids(spec, "a1 u1 b1 u2 b2")) == ["a1 b1"]


@pytest.mark.parametrize(
    ("skip", "expected"),
    [
        (Skip("no"), ["a1 b1", "a1 b1 b2", "a2 b2"]),
        (Skip("to_next"), ["a1 b1", "a2 b2"]),
        (Skip("past_last"), ["a1 b1", "a2 b2"]),
        (Skip("to_first", "b"), ["a1 b1", "a2 b2"]),
        (Skip("to_last", "a"), ["a1 b1", "a1 b1 b2", "a2 b2"]),
    ],
    ids=lambda v: v.text() if isinstance(v, Skip) else None,
)
def test_skip_strategies_prune_by_first_event_order(skip, expected):
    # a , b+ over a1 b1 a2 b2: (a1 b1), (a1 b1 b2) and (a2 b2)
    loop = Element("b", B, high=None, quantified=True)
    spec = Spec((Element("a", A), loop), ("strict",), skip)
    found = _ids(spec, "a1 b1 a2 b2")
    if skip.kind == "no":
        found, expected = sorted(found), sorted(expected)
    assert found == expected


def test_skip_to_a_variable_that_took_nothing_prunes_nothing():
    spec = Spec(
        (Element("a", A), Element("b", B, optional=True, quantified=True), Element("c", C)),
        ("strict", "strict"),
        Skip("to_first", "b"),
    )
    assert _ids(spec, "a1 c1") == ["a1 c1"]


@pytest.mark.parametrize(
    "element",
    [
        Element("b", B),
        Element("b", B, optional=True, quantified=True),
        Element("b", B, high=None, optional=True, quantified=True),
        Element("b", B, high=None, inner="strict", quantified=True),
        Element("b", B, low=2, high=2, inner="any", quantified=True),
        Element("b", B, low=2, high=None, optional=True, quantified=True),
        Element("b", B, low=1, high=3, inner="strict", quantified=True),
        Element("b", B, high=None, until=Condition(frozenset({"c", "d"})), quantified=True),
    ],
    ids=lambda e: e.text(),
)
def test_a_spec_survives_the_trip_through_pattern_text(element):
    spec = Spec((Element("a", A), element), ("any",), Skip("to_last", "b"))
    source = case("x", spec.pattern_text(), "a1", []).source()
    assert spec_from_source(source) == spec


@pytest.mark.parametrize(
    "pattern",
    [
        "match a -> b\nwithin 5s",
        "match a -> (b | c)",
        "match a -> !x -> b",
        "match a -> b+ greedy -> c",
        "match a -> b\nwhere b: amount > 3",
        "match a -> b\nemit a.id",
    ],
)
def test_patterns_outside_the_subset_are_refused(pattern):
    with pytest.raises(Unsupported):
        spec_from_source(case("x", pattern, "a1", []).source())
