"""`score MODEL as FIELD`: the view operator that adds a model's score to each record.

Rows are micro-batched across keys: they wait until `batch` rows are there or the oldest has
waited `delay`, then one inference call scores them all. Records leave in the order they came
(so per-key order holds too). While rows wait, the operator holds the watermark at the earliest
of their event times, so nothing downstream sees them as late.

Each output record is a copy of the input with:
- `FIELD`: the score (None when a feature was missing or not a number);
- `FIELD_model`: the model file that scored it (the A/B variant; None when none did);
- `FIELD_shadow` (`FIELD_shadow_2`, ...): the score of each shadow model.
A batch whose inference fails goes to the dead-letter callback, with the error; the stream goes on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gress_cep.connectors.base import DeadLetter
from gress_cep.dsl import ast
from gress_cep.models.fields import shadow_fields, variant_field
from gress_cep.models.scorer import Scorer
from gress_cep.models.stats import VariantStats
from gress_cep.operators.base import DeadLetterCallback, Timed
from gress_cep.state.operator_state import OperatorContext, Restored

DEFAULT_BATCH = 512
DEFAULT_DELAY_MS = 0  # score what each input batch brings at once; a delay only helps trickles


class ScoreOperator:
    """The `score` view operator (see the module docstring for the output fields)."""

    def __init__(
        self,
        scorer: Scorer,
        alias: str,
        *,
        batch: int = DEFAULT_BATCH,
        delay_ms: int = DEFAULT_DELAY_MS,
        dead_letter: DeadLetterCallback | None = None,
        record_variant: bool = True,
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.scorer = scorer
        self.alias = alias
        self.batch = batch
        self.delay = delay_ms / 1000.0
        self.dead_letter = dead_letter
        self.variant_field = variant_field(alias) if record_variant else None
        self.shadow_fields = shadow_fields(alias, len(scorer.shadows))
        self.dead_letters = 0
        self.dropped = 0  # waiting to be scored when a restart found the view changed
        self.name = f"score:{alias}"
        self._pending: list[Timed] = []
        self._since: float | None = None  # wall-clock arrival of the oldest pending row

    @classmethod
    def from_ast(
        cls,
        model: ast.Model,
        alias: str,
        base_dir: Path,
        dead_letter: DeadLetterCallback | None = None,
    ) -> ScoreOperator:
        """The operator for `score MODEL as ALIAS` in a view, `model` being MODEL's declaration
        (model paths are relative to `base_dir`, the pattern file's folder)."""
        return cls(
            Scorer.from_ast(model, base_dir),
            alias,
            batch=model.batch or DEFAULT_BATCH,
            delay_ms=model.delay.ms if model.delay else DEFAULT_DELAY_MS,
            dead_letter=dead_letter,
        )

    # ---------------------------------------------------------------- Operator protocol
    def open(self, ctx: OperatorContext) -> None:
        ctx.value("pending", self._snapshot, self._restore)

    def process(self, batch: list[Timed], now: float) -> list[Timed]:
        if not batch:
            return self.on_timer(now)
        if not self._pending:
            self._since = now
        self._pending.extend(batch)
        out: list[Timed] = []
        while len(self._pending) >= self.batch:
            out += self._score(self._pending[: self.batch])
            del self._pending[: self.batch]
            self._since = now if self._pending else None
        return out + self.on_timer(now)

    def on_timer(self, now: float) -> list[Timed]:
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return []
        return self.finish()

    def deadline(self) -> float | None:
        """When (wall clock, seconds) `on_timer` must next be called; None when nothing waits."""
        if self._since is None:
            return None
        return self._since + self.delay

    def on_watermark(self, watermark: int, now: float) -> list[Timed]:
        return []

    def held_watermark(self) -> int | None:
        if not self._pending:
            return None
        return min(t for t, _ in self._pending)

    def held_records(self) -> int:
        return len(self._pending)

    def counts(self) -> dict[str, int]:
        return {"dead_letters": self.dead_letters, "dropped": self.dropped}

    def finish(self) -> list[Timed]:
        out: list[Timed] = []
        for start in range(0, len(self._pending), self.batch):
            out += self._score(self._pending[start : start + self.batch])
        self._pending = []
        self._since = None
        return out

    def _snapshot(self) -> Any:
        return {
            "pending": [[t, record] for t, record in self._pending],
            "dead_letters": self.dead_letters,
            "dropped": self.dropped,
        }

    def _restore(self, state: Any, restored: Restored) -> None:
        """Counts always come back; the rows that waited only when the view is unchanged
        (a changed view's rows are dropped, and counted)."""
        self.dead_letters = state["dead_letters"]
        self.dropped = state.get("dropped", 0)
        pending = [(t, record) for t, record in state["pending"]]
        if restored.changed:
            self.dropped += len(pending)
            restored.dropped += len(pending)
            return
        self._pending = pending
        # the restored rows have waited already: the next timer call scores them
        self._since = float("-inf") if self._pending else None

    # ---------------------------------------------------------------- scoring
    @property
    def stats(self) -> list[VariantStats]:
        """Rows, batches, failures and latency per model file, for the run summary."""
        return self.scorer.stats

    def _score(self, rows: list[Timed]) -> list[Timed]:
        scored = self.scorer.score([record for _, record in rows])
        columns = [(self.alias, scored.scores)]
        if self.variant_field:
            columns.append((self.variant_field, scored.variants))
        columns += zip(self.shadow_fields, scored.shadows, strict=True)
        if scored.failures:
            failed: set[int] = set()
            for failure in scored.failures:
                failed.update(failure.rows)
                reason = f"model {self.scorer.name} ({failure.variant}): {failure.error}"
                for i in failure.rows:
                    self._dead(rows[i][1], reason)
            keep = [i for i in range(len(rows)) if i not in failed]
            rows = [rows[i] for i in keep]
            columns = [(name, [values[i] for i in keep]) for name, values in columns]

        (alias, scores), *others = columns
        out: list[Timed] = []
        for (t, record), score in zip(rows, scores, strict=True):
            record = record.copy()  # the input may feed other views too
            record[alias] = score
            out.append((t, record))
        for name, values in others:
            for (_, record), value in zip(out, values, strict=True):
                record[name] = value
        return out

    def _dead(self, record: dict[str, Any], reason: str) -> None:
        self.dead_letters += 1
        if self.dead_letter is not None:
            self.dead_letter(DeadLetter(None, reason, f"score {self.scorer.name}", record))
