"""A/B routing: each key goes to one variant, chosen by weight, the same one in every process.

Python's `hash()` is salted per process, so it cannot route: a key must land on the same variant
after a restart and on every worker of a consumer group. The bucket of a key is the first 8
bytes of its BLAKE2b digest read as a fraction of 2**64; the variant is the one whose share of the
cumulative weights holds that fraction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from gress_cep.connectors.base import Record

_CACHE_LIMIT = 1 << 16  # keys whose bucket is remembered (cleared when full)


def normalized_weights(weights: Sequence[float | None]) -> list[float]:
    """Weights as shares summing to 1. No weight at all means equal shares; a mix of weighted
    and unweighted variants, a negative weight or all-zero weights raise ValueError."""
    if all(w is None for w in weights):
        return [1.0 / len(weights)] * len(weights)
    if any(w is None for w in weights):
        raise ValueError("give every variant a weight, or none of them")
    given = [float(w) for w in weights]  # type: ignore[arg-type]
    if any(w < 0 for w in given):
        raise ValueError("a weight cannot be negative")
    total = sum(given)
    if total <= 0:
        raise ValueError("the weights add up to zero: no variant would get any row")
    return [w / total for w in given]


def key_text(key: Any) -> bytes:
    """The bytes hashed for a key. Numbers that compare equal hash alike (1, 1.0 and True), so
    that a key routes the same whether it came from JSON, CSV or Avro."""
    if isinstance(key, str):
        return key.encode()
    if isinstance(key, int) or (isinstance(key, float) and key.is_integer()):
        return str(int(key)).encode()
    if isinstance(key, float):
        return repr(key).encode()
    return orjson.dumps(key, option=orjson.OPT_SORT_KEYS, default=str)


def bucket(key: Any) -> float:
    """Where a key falls in [0, 1): stable across processes, platforms and restarts."""
    digest = hashlib.blake2b(key_text(key), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


class Router:
    """Routes records to variants by the value of their split field."""

    def __init__(self, field: str, weights: Sequence[float | None]) -> None:
        self.field = field
        shares = normalized_weights(weights)
        self.bounds = np.cumsum(shares)
        self.bounds[-1] = 1.0  # no row may fall past the last variant by rounding
        self._buckets: dict[Any, float] = {}

    def variant_of(self, key: Any) -> int:
        return int(np.searchsorted(self.bounds, self._bucket(key), side="right"))

    def _bucket(self, key: Any) -> float:
        try:
            b = self._buckets.get(key)
        except TypeError:  # an unhashable key (a list, a nested record): no caching
            return bucket(key)
        if b is None:
            if len(self._buckets) >= _CACHE_LIMIT:
                self._buckets.clear()
            b = self._buckets[key] = bucket(key)
        return b

    def route(self, records: Sequence[Record]) -> np.ndarray:
        """The variant index of each record."""
        field = self.field
        buckets = np.fromiter(
            (self._bucket(r.get(field)) for r in records), np.float64, len(records)
        )
        return np.searchsorted(self.bounds, buckets, side="right")
