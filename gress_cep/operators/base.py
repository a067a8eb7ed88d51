"""The contract between the pipeline and a view operator (where, select, score, window, ...).

Records travel as `Timed` pairs: (event time in epoch ms, record). Operators work on lists of
them — batches on the hot path. An operator that holds records back (micro-batching, windows)
also holds back the watermark: the pipeline never lets the watermark pass a record an operator
still holds, so nothing downstream sees it as late.
"""

from __future__ import annotations

from typing import Any, Protocol

from gress_cep.connectors.base import DeadLetter, Record

Timed = tuple[int, Record]


class Operator(Protocol):
    def process(self, batch: list[Timed], now: float) -> list[Timed]:
        """Records in, records out (maybe fewer, maybe later). `now` is wall-clock seconds."""
        ...

    def on_timer(self, now: float) -> list[Timed]:
        """Records released because time passed (a micro-batch's delay expired)."""
        ...

    def on_watermark(self, watermark: int) -> list[Timed]:
        """Records released because event time passed (a window closed)."""
        ...

    def held_watermark(self) -> int | None:
        """The earliest event time still held inside, or None when nothing is held."""
        ...

    def held_records(self) -> int:
        """How many records are held inside (a checkpoint's count of them)."""
        ...

    def flush(self) -> list[Timed]:
        """Release everything held (end of input)."""
        ...

    def snapshot(self) -> Any:
        """Operator state for a checkpoint (JSON/msgpack-friendly plain data)."""
        ...

    def restore(self, state: Any) -> None: ...


class DeadLetterCallback(Protocol):
    def __call__(self, letter: DeadLetter) -> None: ...


class StatelessOperator:
    """Base for operators that hold nothing: only `process` needs writing."""

    def process(self, batch: list[Timed], now: float) -> list[Timed]:
        raise NotImplementedError

    def on_timer(self, now: float) -> list[Timed]:
        return []

    def on_watermark(self, watermark: int) -> list[Timed]:
        return []

    def held_watermark(self) -> int | None:
        return None

    def held_records(self) -> int:
        return 0

    def flush(self) -> list[Timed]:
        return []

    def snapshot(self) -> Any:
        return None

    def restore(self, state: Any) -> None:
        return None
