"""`where` in a view: keep the records for which the condition is true."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gress_cep.operators.base import StatelessOperator, Timed


class WhereOperator(StatelessOperator):
    def __init__(self, predicate: Callable[[dict[str, Any]], bool]) -> None:
        self.predicate = predicate
        self.filtered = 0

    def process(self, batch: list[Timed], now: float) -> list[Timed]:
        keep = self.predicate
        out = [item for item in batch if keep(item[1])]
        self.filtered += len(batch) - len(out)
        return out
