"""The harness itself: event notation, case files, and how matches are compared.

A harness that compared nothing, or compared the wrong thing, would let every case pass; these
tests pin down what it reads and what it rejects, with a fake runner standing in for the engine.
"""

import pytest

from gress_cep.dsl import load

from .harness import Case, Outcome, case, check, parse_events
from .test_reference_matcher import ALL_CASES


@pytest.mark.parametrize(
    ("notation", "expected"),
    [
        ("a1", [{"id": "a1", "kind": "a", "ts": 0}]),
        ("a b", [{"id": "a", "kind": "a", "ts": 0}, {"id": "b", "kind": "b", "ts": 1000}]),
        ("ab12@5000", [{"id": "ab12", "kind": "ab", "ts": 5000}]),
        ("x@7s", [{"id": "x", "kind": "x", "ts": 7000}]),
        ("x@250ms", [{"id": "x", "kind": "x", "ts": 250}]),
        (
            'b3{amount:3,price:-1.5,name:"a b",ok:true,none:null,word:k1}',
            [
                {
                    "id": "b3",
                    "kind": "b",
                    "ts": 0,
                    "amount": 3,
                    "price": -1.5,
                    "name": "a b",
                    "ok": True,
                    "none": None,
                    "word": "k1",
                }
            ],
        ),
        ("c1@2s{kind:d}", [{"id": "c1", "kind": "d", "ts": 2000}]),
    ],
)
def test_event_notation(notation, expected):
    assert parse_events(notation) == expected


@pytest.mark.parametrize("notation", ["a1{tag:1}@0", "a1 a1", "1a", "a1{x}"])
def test_bad_event_notation_is_refused(notation):
    with pytest.raises(ValueError):
        parse_events(notation)


def test_a_case_is_a_whole_pattern_file():
    c = case("x", 'match a\nwhere a: kind == "a"', "a1", [], stream="time ts\nlateness 2s")
    assert c.source() == (
        "stream s\n"
        "    time ts\n"
        "    lateness 2s\n"
        "pattern p\n"
        "    from s\n"
        "    partition by none\n"
        "    match a\n"
        '    where a: kind == "a"\n'
    )


@pytest.mark.parametrize(
    ("pattern", "ordered"),
    [("match a", True), ("match a\nskip no", False), ("match a\nskip to first a", True)],
)
def test_only_skip_no_compares_as_a_multiset(pattern, ordered):
    assert case("x", pattern, "a1", []).ordered() is ordered


@pytest.mark.parametrize("c", ALL_CASES, ids=lambda c: c.id)
def test_every_case_is_a_valid_pattern_file(c):
    load(c.source())


# ------------------------------------------------------------------ comparing, with a fake engine
def _match(*events: dict, **variables: object) -> dict:
    return {"pattern": "p", "key": None, "start": events[0]["ts"], "end": events[-1]["ts"]} | (
        variables
    )


EVENTS = parse_events("a1 b1 b2")
A1, B1, B2 = EVENTS


def _runs(matches: list[dict]):
    return lambda _case: Outcome(matches)


def _case(expected: list, pattern: str = "match a -> b+\nskip no") -> Case:
    return case("fake", pattern, "a1 b1 b2", expected)


def test_ids_form_accepts_the_same_matches_in_any_order_under_skip_no():
    matches = [_match(A1, B1, B2, a=A1, b=[B1, B2]), _match(A1, B1, a=A1, b=[B1])]
    check(_case(["a1 b1", "a1 b1 b2"]), runner=_runs(matches))


def test_a_missing_match_fails():
    with pytest.raises(AssertionError, match="matches differ"):
        check(_case(["a1 b1", "a1 b1 b2"]), runner=_runs([_match(A1, B1, a=A1, b=[B1])]))


def test_an_extra_match_fails():
    matches = [_match(A1, B1, a=A1, b=[B1]), _match(A1, B1, a=A1, b=[B1])]
    with pytest.raises(AssertionError, match="matches differ"):
        check(_case(["a1 b1"]), runner=_runs(matches))


def test_order_matters_under_other_strategies():
    matches = [_match(A1, B1, B2, a=A1, b=[B1, B2]), _match(A1, B1, a=A1, b=[B1])]
    with pytest.raises(AssertionError, match="in this order"):
        check(_case(["a1 b1", "a1 b1 b2"], "match a -> b+\nskip to last a"), runner=_runs(matches))


def test_vars_form_checks_lists_versus_objects():
    with pytest.raises(AssertionError):
        check(_case(["a:a1 b:b1"]), runner=_runs([_match(A1, B1, a=A1, b=[B1])]))
    check(_case(["a:a1 b:[b1]"]), runner=_runs([_match(A1, B1, a=A1, b=[B1])]))


def test_vars_form_refuses_variables_not_written():
    with pytest.raises(AssertionError):
        check(_case(["a:a1"]), runner=_runs([_match(A1, B1, a=A1, b=[B1])]))


@pytest.mark.parametrize(
    ("field", "value"),
    [("start", 5), ("end", 0), ("pattern", "q"), ("key", "k")],
)
def test_wrong_metadata_fails(field, value):
    wrong = _match(A1, B1, a=A1, b=[B1]) | {field: value}
    with pytest.raises(AssertionError, match=field):
        check(_case(["a1 b1"]), runner=_runs([wrong]))


def test_a_changed_event_fails():
    changed = _match(A1, B1, a=A1, b=[B1 | {"kind": "z"}])
    with pytest.raises(AssertionError, match="changed"):
        check(_case(["a1 b1"]), runner=_runs([changed]))


def test_keys_are_part_of_the_comparison_when_partitioned():
    keyed = _match(A1, B1, a=A1, b=[B1]) | {"key": "x"}
    c = case("fake", "match a -> b+\nskip no", "a1 b1 b2", ["key=x a1 b1"], partition="card")
    check(c, runner=_runs([keyed]))
    other = case("fake", "match a -> b+\nskip no", "a1 b1 b2", ["key=y a1 b1"], partition="card")
    with pytest.raises(AssertionError):
        check(other, runner=_runs([keyed]))


def test_records_are_compared_whole():
    record = {"pattern": "p", "key": None, "start": 0, "end": 1000, "a_id": "a1"}
    check(_case([record]), runner=_runs([record]))
    with pytest.raises(AssertionError):
        check(_case([record]), runner=_runs([record | {"extra": 1}]))


def test_timeouts_and_late_events_are_compared():
    timeout = {"pattern": "p", "key": None, "start": 0, "end": 0, "a_id": "a1"}
    c = case("fake", "match a -> b+\nskip no", "a1 b1 b2", [], timeouts=[timeout], late=["b2"])
    late = {"stream": "s", "origin": "s[2]", "late_by_ms": 1, "record": B2}  # the late form
    check(c, runner=lambda _c: Outcome([], [timeout], [late]))
    with pytest.raises(AssertionError, match="timeouts"):
        check(c, runner=lambda _c: Outcome([], [], [late]))
    with pytest.raises(AssertionError, match="late"):
        check(c, runner=lambda _c: Outcome([], [timeout], []))
