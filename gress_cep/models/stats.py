"""Per-variant scoring statistics for the run summary: rows, batches, failures, latency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

_SAMPLES = 4096  # latency samples kept (the most recent ones): bounded memory on endless streams


@dataclass(slots=True)
class VariantStats:
    """What one model file did. Latency is the wall time of one inference call (one batch)."""

    model: str  # the model declaration's name
    variant: str  # the file as written in the declaration
    role: Literal["primary", "shadow"]
    rows: int = 0  # rows scored
    batches: int = 0  # inference calls
    failed_rows: int = 0  # rows of batches whose inference raised
    _latencies: np.ndarray = field(default_factory=lambda: np.zeros(_SAMPLES), repr=False)
    _count: int = 0  # latency samples ever recorded

    def record(self, rows: int, seconds: float) -> None:
        self.rows += rows
        self.batches += 1
        self._latencies[self._count % _SAMPLES] = seconds
        self._count += 1

    def latencies_since(self, seen: int) -> tuple[list[float], int]:
        """The latencies (seconds) recorded after the first `seen` ones — those still kept —
        and how many were recorded in all (the `seen` of the next call)."""
        first = max(seen, self._count - _SAMPLES)
        samples = [float(self._latencies[i % _SAMPLES]) for i in range(first, self._count)]
        return samples, self._count

    def latency_ms(self, percentile: float) -> float | None:
        """A latency percentile over the recent batches, in milliseconds (None before any)."""
        if not self._count:
            return None
        samples = self._latencies[: min(self._count, _SAMPLES)]
        return float(np.percentile(samples, percentile)) * 1000.0

    def as_dict(self) -> dict[str, object]:
        """The summary form: plain JSON-friendly data."""
        return {
            "model": self.model,
            "variant": self.variant,
            "role": self.role,
            "rows": self.rows,
            "batches": self.batches,
            "failed_rows": self.failed_rows,
            "p50_ms": self.latency_ms(50),
            "p99_ms": self.latency_ms(99),
        }
