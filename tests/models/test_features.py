"""Feature extraction: records -> float matrix, with incomplete rows flagged, never raised."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gress_cep.dsl.parser import parse_expression
from gress_cep.models.features import Feature, feature_from_expr, feature_matrix


def test_plain_fields_become_the_columns_in_feature_order() -> None:
    records = [{"a": 1, "b": 2.5}, {"a": -3, "b": 0}]
    matrix, incomplete = feature_matrix([Feature.field("b"), Feature.field("a")], records)
    assert matrix.tolist() == [[2.5, 1.0], [0.0, -3.0]]
    assert incomplete is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("not a number", None),
        ({"nested": 1}, None),
        ([1, 2], None),
        ("3.5", 3.5),
        (True, 1.0),
        (7, 7.0),
    ],
)
def test_a_value_becomes_a_number_or_marks_its_row_incomplete(value, expected) -> None:
    records = [{"a": 1.0, "b": 2.0}, {"a": value, "b": 2.0}]
    matrix, incomplete = feature_matrix([Feature.field("a"), Feature.field("b")], records)
    if expected is None:
        assert incomplete is not None and incomplete.tolist() == [False, True]
        assert math.isnan(matrix[1, 0])
    else:
        assert incomplete is None
        assert matrix[1, 0] == expected
    assert matrix[:, 1].tolist() == [2.0, 2.0]  # the other column keeps its values


def test_a_missing_field_marks_only_its_row_incomplete() -> None:
    records = [{"a": 1}, {"b": 2}, {"a": 3}]
    matrix, incomplete = feature_matrix([Feature.field("a")], records)
    assert incomplete is not None and incomplete.tolist() == [False, True, False]
    assert matrix[[0, 2], 0].tolist() == [1.0, 3.0]


def test_a_computed_feature_calls_its_function_per_record() -> None:
    feature = Feature.computed(lambda r: r["a"] * 10 if "a" in r else None)
    matrix, incomplete = feature_matrix([feature], [{"a": 1}, {}, {"a": 2}])
    assert matrix[[0, 2], 0].tolist() == [10.0, 20.0]
    assert incomplete is not None and incomplete.tolist() == [False, True, False]


def test_the_matrix_can_be_built_in_float32() -> None:
    matrix, _ = feature_matrix([Feature.field("a")], [{"a": 0.1}], np.float32)
    assert matrix.dtype == np.float32 and matrix[0, 0] == np.float32(0.1)


def test_a_plain_field_expression_uses_the_fast_field_path() -> None:
    feature = feature_from_expr(parse_expression("amount"))
    matrix, _ = feature_matrix([feature], [{"amount": 4.0}])
    assert matrix.tolist() == [[4.0]]
    with pytest.raises(KeyError):
        feature.fast({})  # the fast getter raises; the matrix falls back to `value`
    assert feature.value({}) is None


def test_an_expression_feature_is_compiled_like_a_condition() -> None:
    hour_of = feature_from_expr(parse_expression("hour(ts)"))
    ratio = feature_from_expr(parse_expression("amount / 2"))
    records = [{"ts": 1_700_000_000_000, "amount": 5}, {"amount": "x"}]
    matrix, incomplete = feature_matrix([hour_of, ratio], records)
    assert matrix[0].tolist() == [22.0, 2.5]  # 2023-11-14T22:13:20Z
    assert incomplete is not None and incomplete.tolist() == [False, True]
