"""`select` in a view: new records made of the listed expressions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gress_cep.operators.base import StatelessOperator, Timed


class SelectOperator(StatelessOperator):
    def __init__(self, names: list[str], functions: list[Callable[[dict[str, Any]], Any]]) -> None:
        self.columns = list(zip(names, functions, strict=True))

    def process(self, batch: list[Timed], now: float) -> list[Timed]:
        columns = self.columns
        return [(ts, {name: fn(record) for name, fn in columns}) for ts, record in batch]
