"""Warnings point at likely mistakes but do not fail the check."""

from __future__ import annotations

import pytest

from gress_cep.dsl import load

from .checking import errors, warnings

UNBOUNDED = [
    (
        "a -> b+",
        "3:16: warning: 'b+' can repeat without bound and pattern 'p' has no 'within': "
        "its state can grow without bound",
    ),
    (
        "a -> b*",
        "3:16: warning: 'b*' can repeat without bound and pattern 'p' has no 'within': "
        "its state can grow without bound",
    ),
    (
        "a -> b{2,}",
        "3:16: warning: 'b{2,}' can repeat without bound and pattern 'p' has no 'within': "
        "its state can grow without bound",
    ),
    (
        "a -> (b -> c)+",
        "3:16: warning: '(b -> c)+' can repeat without bound and pattern 'p' has no 'within': "
        "its state can grow without bound",
    ),
    (
        "a ->> b",
        "3:17: warning: '->>' keeps a branch open for every later matching event and pattern "
        "'p' has no 'within': its state can grow without bound",
    ),
]


@pytest.mark.parametrize(("match", "expected"), UNBOUNDED, ids=[m for m, _ in UNBOUNDED])
def test_an_unbounded_pattern_without_within_gets_a_warning(match: str, expected: str) -> None:
    assert warnings(f"stream s\npattern p\n    match {match}\n") == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "stream s\npattern p\n    match a -> b+\n    within 10m\n",
        "stream s\npattern p\n    match a -> b+ until(x > 1)\n",
        "stream s\npattern p\n    match a -> b{2,5}\n",
        "stream s\npattern p\n    match a -> b? -> c{3}\n",
    ],
    ids=["within", "until", "bounded range", "no loop"],
)
def test_a_bounded_pattern_gets_no_warning(text: str) -> None:
    assert warnings(text) == []


def test_a_window_between_events_does_not_bound_a_loop() -> None:
    text = "stream s\npattern p\n    match a -> b+\n    within 1m between events\n"
    assert len(warnings(text)) == 1


def test_one_warning_per_pattern_is_enough() -> None:
    assert len(warnings("stream s\npattern p\n    match a+ -> b+ ->> c*\n")) == 1


def test_redundant_optional_is_a_warning() -> None:
    assert warnings("stream s\npattern p\n    match a -> b? optional -> c\n") == [
        "3:19: warning: 'optional' is redundant: '?' already allows zero events"
    ]


def test_zero_lower_bound_is_already_optional() -> None:
    assert warnings("stream s\npattern p\n    match a -> b{0,3} optional -> c\n") == [
        "3:23: warning: 'optional' is redundant: '{0,3}' already allows zero events"
    ]


def test_a_repeated_modifier_is_a_warning() -> None:
    text = "stream s\npattern p\n    match a -> b+ greedy greedy -> c\n    within 1m\n"
    assert warnings(text) == ["3:26: warning: 'greedy' is written twice"]


def test_contiguity_on_the_first_element_of_a_group_does_nothing() -> None:
    # as in Flink, the first element of a group loops with the group's inner contiguity
    text = "stream s\npattern p\n    match a -> (b+ consecutive) -> c\n    within 1m\n"
    assert warnings(text) == [
        "3:20: warning: 'consecutive' has no effect on 'b': the first element of a group "
        "repeats with the group's contiguity (relaxed), as in Flink"
    ]
    text = "stream s\npattern p\n    match a -> (b+ any -> c)+ consecutive -> d\n    within 1m\n"
    assert warnings(text) == [
        "3:20: warning: 'any' has no effect on 'b': the first element of a group repeats "
        "with the group's contiguity (consecutive), as in Flink"
    ]
    # the same contiguity as the group's, or an element that is not first, is fine
    for match in ("(b+ consecutive -> c)+ consecutive", "(x -> b+ consecutive)"):
        assert warnings(f"stream s\npattern p\n    match a -> {match} -> d\n    within 1m\n") == []


def test_comparing_with_null_is_a_warning() -> None:
    text = "stream s\npattern p\n    match a\n    where\n        a: x == null\n"
    assert warnings(text) == ["5:12: warning: a comparison with null is always false"]


def test_warnings_do_not_fail_loading() -> None:
    program, found = load("stream s\npattern p\n    match a -> b+\n", "t.gress")
    assert [d.severity for d in found] == ["warning"]
    assert program.declarations


def test_unused_streams_and_models_are_not_warnings() -> None:
    text = 'stream s\nstream t\nmodel m = onnx "m.onnx"\n    inputs (x)\n'
    assert warnings(text) == []
    assert errors(text) == []


@pytest.mark.parametrize(
    ("condition", "hint"),
    [
        ("x == null", "write 'x is null'"),
        ("null == x", "write 'x is null'"),
        ("a.amount != null", "write 'a.amount is not null'"),
    ],
)
def test_the_null_comparison_hint_names_the_field_not_null(condition: str, hint: str) -> None:
    from gress_cep.dsl import diagnose

    text = f"stream s\npattern p\n    match a\n    where\n        a: {condition}\n"
    _, diagnostics = diagnose(text, "t.gress")
    assert [d.hint for d in diagnostics if d.severity == "warning"] == [hint]
