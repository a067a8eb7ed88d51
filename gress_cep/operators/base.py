"""The one contract between the pipeline and every operator: where, select, score, window,
pattern, join, lookup, union.

Records travel as `Timed` pairs: (event time in epoch ms, record), in lists — batches on the
hot path. An operator has three entry points, each returning the records it sends downstream:

- `process(batch, now)`: records in (in arrival order; `now` is wall-clock seconds — or, when
  no input is live (files, Python iterables), a logical clock on which each round of reads
  starts at 0 and ends at +inf, so that timing never changes the output: runtime/pipeline.py);
- `on_watermark(watermark, now)`: event time reached `watermark` (no record with an earlier
  time will come): windows close, partial matches time out, buffered events are released;
- `finish()`: the end of input: release and close everything. The runtime calls it again
  until it returns no record, so an operator holding much may hand it out in slices.

plus `on_timer(now)` for wall-clock deadlines (a micro-batch's `delay`). An operator with more
than one input (join, lookup, union) also has `process_input(port, batch, now)`: see
MultiInputOperator. Everything else an operator needs it gets from the runtime through its
`OperatorContext` (`open(ctx)`): keyed state that spills to disk, event-time timers,
operator-wide values, all checkpointed by the runtime with a versioned codec per state; and
side outputs (timeouts, dead letters, late records). An operator never pickles, never touches
RocksDB or Kafka, and has no checkpoint code.

An operator that holds records back (micro-batching) reports the earliest event time it
holds (`held_watermark`): the pipeline never lets the watermark of anything downstream pass a
record still held, so nothing downstream sees it as late.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from gress_cep.connectors.base import DeadLetter, Record

if TYPE_CHECKING:
    from gress_cep.state.operator_state import OperatorContext

Timed = tuple[int, Record]


class Operator(Protocol):
    name: str  # unique in the job: its state is stored under it

    def open(self, ctx: OperatorContext) -> None:
        """Take state handles and side outputs from the runtime (once, before any record)."""
        ...

    def process(self, batch: list[Timed], now: float) -> list[Timed]: ...

    def on_watermark(self, watermark: int, now: float) -> list[Timed]: ...

    def on_timer(self, now: float) -> list[Timed]: ...

    def finish(self) -> list[Timed]: ...

    def held_watermark(self) -> int | None:
        """The earliest event time still held inside, or None when nothing is held."""
        ...

    def held_records(self) -> int:
        """How many input records are held inside (not yet passed on or consumed)."""
        ...

    def counts(self) -> dict[str, int]:
        """What the summary reports of it: `filtered`, `dead_letters`, `dropped`, ..."""
        ...


class MultiInputOperator(Operator, Protocol):
    """An operator with more inputs than its chain's own records: a join (two), a lookup (its
    table), a union (any number). `process(batch, now)` takes input 0, `process_input(port,
    batch, now)` input `port` >= 1. The pipeline gives it the minimum of its inputs'
    watermarks (an idle input left out, as a stream's idle partitions are) and holds
    everything downstream back by its `held_watermark`, as for any operator."""

    inputs: list[str]  # the stream or view that feeds each port

    def process_input(self, port: int, batch: list[Timed], now: float) -> list[Timed]: ...

    def consumed(self, port: int) -> int | None:
        """Records of `port` it took in without passing them on (a join's pairs, a lookup's
        table rows: the summary counts them as used); None when it passes them on."""
        ...


def view_dead_letter(view: str, record: Record, reason: str) -> DeadLetter:
    """A record an operator of view `view` could not use: the reason names the view."""
    return DeadLetter(None, f"view {view}: {reason}", f"view {view}", record)


def is_multi_input(op: Operator) -> bool:
    return hasattr(op, "process_input")


class DeadLetterCallback(Protocol):
    def __call__(self, letter: DeadLetter) -> None: ...


class StatelessOperator:
    """Base for operators that hold nothing across records: `process` and `counts` are theirs
    to write; `filtered`/`dead_letters` are kept across restarts by the runtime."""

    name = ""
    filtered = 0
    dead_letters = 0

    def open(self, ctx: OperatorContext) -> None:
        ctx.value("counts", self._counts, self._restore_counts)

    def process(self, batch: list[Timed], now: float) -> list[Timed]:
        raise NotImplementedError

    def on_watermark(self, watermark: int, now: float) -> list[Timed]:
        return []

    def on_timer(self, now: float) -> list[Timed]:
        return []

    def finish(self) -> list[Timed]:
        return []

    def held_watermark(self) -> int | None:
        return None

    def held_records(self) -> int:
        return 0

    def counts(self) -> dict[str, int]:
        return {"filtered": self.filtered, "dead_letters": self.dead_letters}

    def _counts(self) -> Any:
        return [self.filtered, self.dead_letters]

    def _restore_counts(self, value: Any, restored: Any) -> None:
        self.filtered, self.dead_letters = value
