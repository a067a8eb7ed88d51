"""`union A, B, ...`: the records of all inputs as one stream, each record once.

The fields are the union of the inputs' fields: a record gets null for a field that only the
other inputs declare (the checker made sure a field has one type). Records pass on as they
come; the pipeline gives the union the minimum of its inputs' watermarks, so what reads it
(a window, a pattern's ordering buffer) sees them in event time.
"""

from __future__ import annotations

from typing import Any

from gress_cep.operators.base import Timed
from gress_cep.operators.inputs import MultiInput
from gress_cep.state.operator_state import Restored


class Union(MultiInput):
    def __init__(self, name: str, view: str, inputs: list[str], fields: list[str]) -> None:
        super().__init__(view, inputs)
        self.name = name
        self.fields = fields  # every field some input declares (empty: none declares any)

    def process_input(self, port: int, batch: list[Timed], now: float) -> list[Timed]:
        batch = self.on_time(port, batch)
        fields = self.fields
        if not fields:
            return batch
        out = []
        for ts, record in batch:
            if any(f not in record for f in fields):
                record = {**dict.fromkeys(fields), **record}
            out.append((ts, record))
        return out

    def on_watermark(self, watermark: int, now: float) -> list[Timed]:
        self.watermark = max(self.watermark, watermark)
        return []

    def finish(self) -> list[Timed]:
        return []

    def extra_restore(self, value: Any, restored: Restored) -> None:
        return None
