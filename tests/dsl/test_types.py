"""Type errors that a `schema` makes knowable before running (and none where it does not)."""

from __future__ import annotations

import pytest

from .checking import errors, problems

HEAD = """\
stream payments
    time ts
    schema { ts: timestamp, amount: float, qty: int, kind: string, ok: bool, note: string? }
pattern p
    match a -> b
    where
        a: amount > 0
        b: {condition}
    within 1h
"""


def condition_errors(condition: str) -> list[str]:
    """The errors of a condition of `b`, as `col: message` (they are all on line 8)."""
    found = errors(HEAD.replace("{condition}", condition))
    assert all(e.startswith("8:") for e in found), found
    return [e.removeprefix("8:").replace(": error: ", ": ", 1) for e in found]


WELL_TYPED = [
    'amount > 1 and qty >= 2 and kind == "card" and ok',
    "amount + qty * 2 - 1 > a.amount / 3 and qty % 2 == 0",
    "ts > a.ts and ts - a.ts < 10m and hour(ts) between 8 and 18",
    'kind in ["a", "b"] and qty not in [1, 2, 3] and amount between 1 and 9.5',
    'note is null or note matches "^x" and lower(kind) != upper(note)',
    "len(kind) > 3 and abs(amount) < 10 and round(amount, 2) == floor(amount)",
    'startswith(kind, "c") and endswith(kind, "d") and contains(kind, "e")',
    "min(amount, 3) < max(qty, 1) and ceil(amount) > 0 and minute(ts) + dayofweek(ts) > 0",
    "not ok and not (amount > 1) and -amount < 0",
    'kind < "m" and ts <= ts',
]


@pytest.mark.parametrize("condition", WELL_TYPED)
def test_well_typed_condition_has_no_errors(condition: str) -> None:
    assert condition_errors(condition) == []


ILL_TYPED = [
    ("kind > 3", ["12: cannot compare 'kind' (a string) with 3 (an int)"]),
    ('amount == "1"', ["12: cannot compare 'amount' (a float) with \"1\" (a string)"]),
    ("ok == 1", ["12: cannot compare 'ok' (a bool) with 1 (an int)"]),
    ("ok < true", ["12: '<' needs numbers or strings, not 'ok' (a bool)"]),
    ('ts > "2024-01-01"', ["12: cannot compare 'ts' (a timestamp) with \"2024-01-01\" (a string)"]),
    ('kind + "x" == "y"', ["12: cannot apply '+' to 'kind' (a string)"]),
    ('-kind == "x"', ["12: cannot negate 'kind' (a string)"]),
    ("not amount", ["16: 'not' needs true or false, not 'amount' (a float)"]),
    ("amount and ok", ["12: 'and' needs true or false, not 'amount' (a float)"]),
    ('qty in [1, "2"]', ["23: list item \"2\" (a string) cannot be compared with 'qty' (an int)"]),
    (
        "ok between true and false",
        ["12: 'between' needs numbers or strings, not 'ok' (a bool)"],
    ),
    ('qty matches "1+"', ["12: 'matches' needs a string, not 'qty' (an int)"]),
    (
        'lower(amount) == "x"',
        ["18: argument 1 of 'lower' must be a string, not 'amount' (a float)"],
    ),
    ("hour(kind) > 1", ["17: argument 1 of 'hour' must be a timestamp, not 'kind' (a string)"]),
    ("round(amount, 1.5) > 1", ["26: argument 2 of 'round' must be an int, not 1.5 (a float)"]),
    ("amount", ["12: the condition of 'b' must be true or false, not 'amount' (a float)"]),
    ('"a" < 3', ['12: cannot compare "a" (a string) with 3 (an int)']),
    ("a.kind == 1.5", ["12: cannot compare 'a.kind' (a string) with 1.5 (a float)"]),
    ("amount.x > 1", ["12: 'amount' (a float) has no fields: cannot read '.x'"]),
]


@pytest.mark.parametrize(("condition", "expected"), ILL_TYPED, ids=[c for c, _ in ILL_TYPED])
def test_ill_typed_condition_is_reported(condition: str, expected: list[str]) -> None:
    assert condition_errors(condition) == expected


def test_without_a_schema_any_field_and_any_comparison_is_accepted() -> None:
    text = (
        "stream s\npattern p\n    match a\n    where\n"
        '        a: kind > 3 and amount == "x" and lower(amount) == kind + 1\n'
    )
    assert problems(text) == []


def test_window_aggregates_have_types() -> None:
    text = (
        "stream s\n    schema { k: string, x: float, name: string }\n"
        "view v = s | window tumbling 1h by k | aggregate sum(x) as total, avg(x) as mean\n"
        "             , count() as n, max(name) as last_name, distinct_count(name) as names\n"
        '           | having total > 1 and mean > 0.5 and n > 2 and last_name != "" and names > 1\n'
    )
    assert problems(text) == []


def test_having_sees_the_types_of_the_aggregates() -> None:
    text = (
        "stream s\n    schema { k: string, x: float }\n"
        'view v = s | window tumbling 1h by k | aggregate count() as n | having n == "many"\n'
    )
    assert errors(text) == ["3:72: error: cannot compare 'n' (an int) with \"many\" (a string)"]


def test_lookup_key_and_field_must_have_one_type() -> None:
    text = (
        "stream s\n    schema { m: int }\nstream t\n    key m\n    schema { m: string }\n"
        "view v = s | lookup t on m\n"
    )
    assert errors(text) == ["6:26: error: 'm' is an int but the key 'm' of 't' is a string"]
