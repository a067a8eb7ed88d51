"""A source over Python objects: any iterable of dicts (the Python API, notebooks, tests)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from gress_cep.connectors.base import Batch, DeadLetter

Record = dict[str, Any]


class IterableSource:
    def __init__(self, records: Iterable[Any], description: str = "<python>") -> None:
        self.description = description
        self._records: Iterator[Any] = iter(records)
        self._count = 0

    def partitions(self) -> list[int]:
        return [0]

    def poll(self, max_records: int, timeout_s: float) -> Batch | None:
        chunk = list(islice(self._records, max_records))
        if not chunk:
            return None
        batch = Batch()
        start = self._count
        self._count += len(chunk)
        if set(map(type, chunk)) == {dict}:
            batch.records = chunk  # the common case, without a per-record append
            batch.origin = lambda i: f"{self.description}[{start + i}]"
            return batch
        numbers: list[int] = []
        batch.origin = lambda i: f"{self.description}[{numbers[i]}]"
        for i, item in enumerate(chunk, start):
            if isinstance(item, dict):
                batch.records.append(item)
                numbers.append(i)
            else:
                batch.dead.append(
                    DeadLetter(
                        repr(item),
                        f"not a record (a dict): {type(item).__name__}",
                        f"{self.description}[{i}]",
                    )
                )
        return batch

    def position(self) -> dict[str, Any]:
        return {"records": self._count}

    def commit(self, position: dict[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None
