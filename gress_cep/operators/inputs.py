"""What joins, lookups and unions share: several inputs, one watermark, late records.

The pipeline gives an operator with several inputs the minimum of their watermarks. A record
is behind that watermark only when its input was left out of the minimum for being idle and
then sent an old record: the records it should have met may be gone (a join's partners
pruned, a union's downstream windows closed). Such a record goes to the late output, as a
record behind its stream's watermark does, with the view as its origin.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from gress_cep.connectors.base import Record
from gress_cep.operators.base import Timed, view_dead_letter
from gress_cep.runtime.watermarks import NO_WATERMARK
from gress_cep.state.operator_state import OperatorContext, Restored

_time = itemgetter(0)


class MultiInput:
    """Base of the multi-input operators (operators/base.py, MultiInputOperator): the
    watermark they were given, late records, dead letters, counts that survive a restart.
    Subclasses keep their own counts in `extra_counts` and their state through `_ctx`."""

    name = ""

    def __init__(self, view: str, inputs: list[str]) -> None:
        self.view = view
        self.inputs = inputs
        self.watermark = NO_WATERMARK  # the minimum of the inputs' watermarks, so far
        self.late = 0
        self.dead_letters = 0
        self._ctx: OperatorContext | None = None

    def open(self, ctx: OperatorContext) -> None:
        self._ctx = ctx
        ctx.value("meta", self._snapshot, self._restore)

    # ------------------------------------------------------------------ the contract
    def process(self, batch: list[Timed], now: float) -> list[Timed]:
        return self.process_input(0, batch, now)

    def process_input(self, port: int, batch: list[Timed], now: float) -> list[Timed]:
        raise NotImplementedError

    def on_timer(self, now: float) -> list[Timed]:
        return []

    def held_watermark(self) -> int | None:
        return None

    def held_records(self) -> int:
        return 0

    def consumed(self, port: int) -> int | None:
        return None

    def counts(self) -> dict[str, int]:
        return {"late": self.late, "dead_letters": self.dead_letters, **self.extra_counts()}

    def extra_counts(self) -> dict[str, int]:
        return {}

    # ------------------------------------------------------------------ records
    def on_time(self, port: int, batch: list[Timed]) -> list[Timed]:
        """The records of `batch` not behind the watermark; the others go to the late output."""
        watermark = self.watermark
        if not batch or watermark == NO_WATERMARK or min(map(_time, batch)) >= watermark:
            return batch
        assert self._ctx is not None, "open() comes first"
        kept = []
        late = []
        for ts, record in batch:
            if ts >= watermark:
                kept.append((ts, record))
                continue
            late.append(
                {
                    "stream": self.inputs[port],
                    "origin": f"view {self.view}",
                    "late_by_ms": watermark - ts,
                    "record": record,
                }
            )
        self.late += len(late)
        self._ctx.late(late)
        return kept

    def dead(self, record: Record, reason: str) -> None:
        self.dead_letters += 1
        assert self._ctx is not None, "open() comes first"
        self._ctx.dead_letter(view_dead_letter(self.view, record, reason))

    # ------------------------------------------------------------------ state
    def _snapshot(self) -> Any:
        return {
            "watermark": self.watermark,
            "late": self.late,
            "dead_letters": self.dead_letters,
            "extra": self.extra_snapshot(),
        }

    def _restore(self, value: Any, restored: Restored) -> None:
        """Counts always come back (the summary goes on counting); the rest only when the
        view did not change (its keyed state is gone then, and so is what it held)."""
        self.late = value["late"]
        self.dead_letters = value["dead_letters"]
        if not restored.changed:
            self.watermark = value["watermark"]
        self.extra_restore(value["extra"], restored)

    def extra_snapshot(self) -> Any:
        return None

    def extra_restore(self, value: Any, restored: Restored) -> None:
        return None
