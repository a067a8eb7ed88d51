"""Scoring a list of records with a model declaration: features, A/B routing, shadows, stats.

This is the part of `score` that knows nothing about time: the score operator decides when a
batch is complete, the scorer scores it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gress_cep.connectors.base import Record
from gress_cep.dsl import ast
from gress_cep.errors import UserError
from gress_cep.models.features import Feature, feature_from_expr, feature_matrix
from gress_cep.models.routing import Router
from gress_cep.models.session import OnnxModel, error_text
from gress_cep.models.stats import VariantStats


@dataclass(slots=True)
class Failure:
    """An inference call that raised: the rows it held (indexes into the batch) and why."""

    rows: list[int]
    variant: str
    error: str


@dataclass(slots=True)
class ScoredRows:
    """The result for a batch of N records, row by row.

    A score is None when the row had a missing, non-numeric or non-finite feature, or one the
    model's input type cannot hold (it was not sent to the model), or when its inference failed
    (then it is also listed in `failures`); `variants[i]` is the file that scored row i, None
    when none did.
    """

    scores: list[Any]
    variants: list[str | None]
    shadows: list[list[Any]] = field(default_factory=list)  # per shadow model, per row
    failures: list[Failure] = field(default_factory=list)


class Scorer:
    """A model declaration made runnable: primary variants (one, or several split by a key) and
    shadow models, all fed the same features."""

    def __init__(
        self,
        name: str,
        features: Sequence[Feature],
        variants: Sequence[OnnxModel],
        router: Router | None = None,
        shadows: Sequence[OnnxModel] = (),
    ) -> None:
        if len(variants) > 1 and router is None:
            raise ValueError("several variants need a router")
        self.name = name
        self.features = list(features)
        self.variants = list(variants)
        self.router = router
        self.shadows = list(shadows)
        self.incomplete_rows = 0  # rows not scored: a feature was missing or not a number
        self.variant_stats = [VariantStats(name, m.label, "primary") for m in self.variants]
        self.shadow_stats = [VariantStats(name, m.label, "shadow") for m in self.shadows]

    @classmethod
    def from_ast(cls, model: ast.Model, base_dir: Path) -> Scorer:
        """Load every file of a (checked) model declaration; paths are relative to `base_dir`."""
        name = model.name.text
        features = [feature_from_expr(e) for e in model.inputs]
        output = model.output.text if model.output else None

        def load(variant: ast.ModelVariant) -> OnnxModel:
            return OnnxModel.load(
                base_dir / variant.path,
                variant.path,
                len(features),
                output,
                model.output_index,
                model.threads,
            )

        router = None
        if len(model.variants) > 1:
            if model.split_by is None:  # `gress check` says so first, with the position
                raise UserError(f"model {name} has several variants but no `split by FIELD`")
            try:
                router = Router(model.split_by.text, [v.weight for v in model.variants])
            except ValueError as exc:
                raise UserError(f"model {name}: {exc}") from exc
        return cls(
            name,
            features,
            [load(v) for v in model.variants],
            router,
            [load(v) for v in model.shadows],
        )

    @property
    def stats(self) -> list[VariantStats]:
        return self.variant_stats + self.shadow_stats

    def score(self, records: Sequence[Record]) -> ScoredRows:
        n = len(records)
        matrix, incomplete = feature_matrix(self.features, records)
        if incomplete is None:
            complete_rows = None  # every row: the common case, kept free of index juggling
        else:
            complete_rows = np.flatnonzero(~incomplete)
            matrix = matrix[complete_rows]
            self.incomplete_rows += n - len(complete_rows)
        result = ScoredRows([None] * n, [None] * n)

        groups: list[tuple[int, np.ndarray | None]]
        if self.router is None:
            groups = [(0, None)]
        else:
            routed = self.router.route(records)
            if complete_rows is not None:
                routed = routed[complete_rows]
            groups = [(v, np.flatnonzero(routed == v)) for v in range(len(self.variants))]

        for v, positions in groups:
            model, stats = self.variants[v], self.variant_stats[v]
            rows = matrix if positions is None else matrix[positions]
            if not len(rows):
                continue
            # the batch indexes of these rows (None: every row of the batch, in order)
            if positions is None:
                indexes = complete_rows
            else:
                indexes = positions if complete_rows is None else complete_rows[positions]
            fit = model.fits(rows)
            if fit is not None:  # values the model's input type cannot hold: as if missing
                self.incomplete_rows += int(np.count_nonzero(~fit))
                rows = rows[fit]
                indexes = (np.arange(n) if indexes is None else indexes)[fit]
                if not len(rows):
                    continue
            try:
                scores = _timed_run(model, rows, stats)
            except Exception as exc:  # any inference error: the rows go to dead letters
                stats.failed_rows += len(rows)
                failed = list(range(n)) if indexes is None else indexes.tolist()
                result.failures.append(Failure(failed, model.label, error_text(exc)))
                continue
            result.scores = _place(result.scores, indexes, scores)
            result.variants = _place(result.variants, indexes, [model.label] * len(scores))

        for model, stats in zip(self.shadows, self.shadow_stats, strict=True):
            shadow: list[Any] = [None] * n
            rows, indexes = matrix, complete_rows
            fit = model.fits(rows) if len(rows) else None
            if fit is not None:
                rows = rows[fit]
                indexes = (np.arange(n) if indexes is None else indexes)[fit]
            if len(rows):
                try:
                    shadow = _place(shadow, indexes, _timed_run(model, rows, stats))
                except Exception:  # a shadow never disturbs the stream: counted, not raised
                    stats.failed_rows += len(rows)
            result.shadows.append(shadow)
        return result


def _place(into: list[Any], indexes: np.ndarray | None, values: list[Any]) -> list[Any]:
    """`into` with `values` at `indexes`; with indexes None, `values` cover every row."""
    if indexes is None:
        return values
    for i, value in zip(indexes.tolist(), values, strict=True):
        into[i] = value
    return into


def _timed_run(model: OnnxModel, rows: np.ndarray, stats: VariantStats) -> list[Any]:
    start = time.perf_counter()
    scores = model.run(rows)
    stats.record(len(rows), time.perf_counter() - start)
    return scores
