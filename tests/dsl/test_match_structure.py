"""The shape of a match: what the structure rules accept, and the variable table they build."""

from __future__ import annotations

import pytest

from gress_cep.dsl import ast
from gress_cep.dsl.errors import Diagnostics
from gress_cep.dsl.match_structure import variables_of, visibility
from gress_cep.dsl.parser import parse
from gress_cep.dsl.source_text import SourceText

from .checking import errors


@pytest.mark.parametrize(
    "match",
    [
        "a -> b{3} consecutive -> c",
        "a -> b+ any -> c",
        "a -> b{2,4} greedy -> c",
        "a -> b* until(x > 1) -> c",
        "a -> (b -> c){2} optional consecutive -> d",
        "a -> (b | c -> d)+ any -> e",
        "a , !x -> b? -> !y -> c",
        "a -> (b & (c -> d)) -> e within 5s",
        "a{0,3} -> b{0,} -> c",
    ],
)
def test_a_well_formed_match_has_no_errors(match: str) -> None:
    assert errors(f"stream s\npattern p\n    match {match}\n    within 1m\n") == []


def table(match: str) -> dict:
    program = parse(f"stream s\npattern p\n    match {match}\n")
    pattern = program.of_type(ast.Pattern)[0]
    assert pattern.match is not None
    diag = Diagnostics("t.gress", program.source)
    variables = variables_of(pattern.match, diag, SourceText(program.source))
    assert diag.items == []
    return variables


def test_variables_are_listed_in_reading_order() -> None:
    assert list(table("a -> (b | c) -> (d & e) -> f")) == ["a", "b", "c", "d", "e", "f"]


def test_a_variable_inside_a_quantified_group_repeats() -> None:
    found = table("a -> (b -> c){2} -> d? -> e+")
    assert {name: v.repeats for name, v in found.items()} == {
        "a": False,
        "b": True,
        "c": True,
        "d": False,
        "e": True,
    }
    assert found["d"].optional and not found["e"].optional
    assert found["e"].looping and not found["b"].looping


def test_visibility_follows_the_order_and_the_branches() -> None:
    found = table("a -> (b | c) -> (d & e)")
    assert visibility(found["b"], found["a"]) is None
    assert visibility(found["b"], found["b"]) is None
    assert visibility(found["a"], found["b"]) == "variable 'b' is matched after 'a'"
    assert "another branch" in (visibility(found["c"], found["b"]) or "")
    assert "parts of one '&'" in (visibility(found["e"], found["d"]) or "")
    assert visibility(found["d"], found["c"]) is None
