"""A stream `schema` decides which records go on and which go to the dead-letter output."""

from __future__ import annotations

import pytest

from gress_cep.connectors.validation import Validator, describe
from gress_cep.errors import UserError

from .streams import PAYMENTS, declared_stream

GOOD = {"card_id": "c1", "ts": 1_700_000_000_000, "amount": 12.5, "merchant": "m1"}


@pytest.fixture
def validator() -> Validator:
    return Validator(declared_stream(PAYMENTS))


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"amount": 12},  # an int is a fine float
        {"ts": 1_700_000_000.25},  # epoch seconds
        {"ts": "2024-03-01T12:00:00Z"},
        {"ts": "2024-03-01 12:00:00.123+01:00"},
        {"merchant": None},  # nullable
        {"extra": [1, 2]},  # fields beyond the schema pass through
        {"ts": 1_700_000_000},  # integer epoch seconds
        {"ts": "1700000000000"},  # a number written out, as the engine reads it (B.7)
        {"ts": "1700000000.5"},
    ],
    ids=[
        "plain", "int-for-float", "epoch-s", "iso-z", "iso-offset", "null-nullable", "extra",
        "epoch-s-int", "ms-digits", "s-digits",
    ],
)  # fmt: skip
def test_valid_records_pass(validator: Validator, change: dict) -> None:
    assert validator.check([GOOD | change]) == []


def test_a_nullable_field_may_be_missing(validator: Validator) -> None:
    record = {k: v for k, v in GOOD.items() if k != "merchant"}
    assert validator.check([record]) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount": "abc"}, "field 'amount': expected float, got string \"abc\""),
        ({"amount": True}, "field 'amount': expected float, got bool true"),
        ({"card_id": 7}, "field 'card_id': expected string, got int 7"),
        (
            {"card_id": None},
            "field 'card_id': expected string, got null (declare it `string?` to allow null)",
        ),
        (
            {"ts": "yesterday"},
            "field 'ts': expected timestamp, got string \"yesterday\" "
            "(not epoch ms, epoch seconds or ISO-8601)",
        ),
        ({"ts": [1]}, "field 'ts': expected timestamp, got list [1]"),
    ],
    ids=["string-for-float", "bool-for-float", "int-for-string", "null", "bad-iso", "list"],
)
def test_wrong_values_are_named_in_the_reason(
    validator: Validator, change: dict, reason: str
) -> None:
    assert validator.check([GOOD | change]) == [(0, reason)]


def test_a_missing_required_field_is_named(validator: Validator) -> None:
    record = {k: v for k, v in GOOD.items() if k != "amount"}
    assert validator.check([record]) == [(0, "field 'amount' is missing (expected float)")]


def test_check_reports_only_the_failing_indexes_in_order(validator: Validator) -> None:
    batch = [GOOD, GOOD | {"amount": "x"}, GOOD, {"card_id": "c"}, GOOD | {"ts": "nope"}]
    assert [i for i, _ in validator.check(batch)] == [1, 3, 4]


def test_the_reason_names_the_first_failing_field_in_schema_order(validator: Validator) -> None:
    (failure,) = validator.check([{"amount": "x"}])
    assert failure[1].startswith("field 'card_id' is missing")


@pytest.mark.parametrize(
    ("schema", "record"),
    [
        ("n: int", {"n": 3}),
        ("ok: bool", {"ok": False}),
        ("n: int?", {"n": None}),
    ],
)
def test_each_declared_type_accepts_its_values(schema: str, record: dict) -> None:
    assert Validator(declared_stream(schema)).check([record]) == []


@pytest.mark.parametrize(
    ("schema", "record"),
    [("n: int", {"n": 3.0}), ("n: int", {"n": True}), ("ok: bool", {"ok": 1})],
)
def test_types_are_not_mixed_up(schema: str, record: dict) -> None:
    assert len(Validator(declared_stream(schema)).check([record])) == 1


def test_an_unknown_type_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown type 'money'"):
        Validator(declared_stream("amount: money"))


def test_long_values_are_shortened_in_reasons() -> None:
    assert describe("x" * 100) == 'string "' + "x" * 36 + "..."
