"""Feature extraction: records (dicts) -> a float matrix [N, k], the overhead to fight.

The matrix is built column by column with `np.fromiter` over a C-level getter (`itemgetter` for a
plain field), which keeps the per-row Python work to a minimum. A column that does not convert
cleanly (a missing field, a string that is not a number) is rebuilt the slow way, value by
value, so that only that column pays. Null and unconvertible values become NaN, and the rows
holding one, or an infinity (`x * 1e308`), are reported as incomplete: they are not sent to the
model. A bool is the number it stands for: true 1.0, false 0.0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np

from gress_cep.connectors.base import Record
from gress_cep.dsl import ast
from gress_cep.dsl.expressions import compile_record_expression


@dataclass(slots=True, frozen=True)
class Feature:
    """One feature column. `fast` may raise on odd input (then `value` is used for that column);
    `value` never raises: None for a missing or unusable value."""

    fast: Callable[[Record], Any]
    value: Callable[[Record], Any]

    @classmethod
    def field(cls, name: str) -> Feature:
        """A plain record field: the fast path."""
        return cls(itemgetter(name), lambda record: record.get(name))

    @classmethod
    def computed(cls, fn: Callable[[Record], Any]) -> Feature:
        """A compiled expression (it already yields None for a missing field)."""
        return cls(fn, fn)


def feature_from_expr(expr: ast.Expr) -> Feature:
    """A feature for one expression of a model's `inputs (...)` clause."""
    if isinstance(expr, ast.Ref):
        return Feature.field(expr.name)
    return Feature.computed(compile_record_expression(expr))


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def feature_matrix(
    features: Sequence[Feature], records: Sequence[Record], dtype: type[np.generic] = np.float64
) -> tuple[np.ndarray, np.ndarray | None]:
    """The matrix [N, k] of `records` (NaN where a value is missing or not a number), and a
    boolean mask of the incomplete rows: a value missing, not a number, or not finite (None
    when every row is complete)."""
    n = len(records)
    matrix = np.empty((n, len(features)), dtype=dtype)
    for j, feature in enumerate(features):
        try:
            matrix[:, j] = np.fromiter(map(feature.fast, records), dtype, n)
        except (KeyError, TypeError, ValueError, OverflowError):
            matrix[:, j] = np.array([_number(feature.value(r)) for r in records], dtype=dtype)
    incomplete = np.asarray(~np.isfinite(matrix).all(axis=1))
    return matrix, incomplete if incomplete.any() else None
