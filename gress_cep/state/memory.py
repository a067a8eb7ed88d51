"""State in Python dicts: for tests and the Python API, where nothing has to outlive the process.

A checkpoint is a copy of every table (bytes are immutable, so copying the dicts is enough).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gress_cep.errors import UserError
from gress_cep.state.backend import CheckpointInfo, WriteBatch
from gress_cep.state.savepoint import read_savepoint, write_savepoint


class MemoryTable:
    __slots__ = ("entries", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.entries: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.entries.get(key)

    def may_contain(self, key: bytes) -> bool:
        return key in self.entries

    def put(self, key: bytes, value: bytes) -> None:
        self.entries[key] = value

    def delete(self, key: bytes) -> None:
        self.entries.pop(key, None)

    def items(self, start: bytes = b"", end: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        entries = self.entries
        for key in sorted(k for k in entries if k >= start and (end is None or k < end)):
            value = entries.get(key)
            if value is not None:  # tolerate deletes while iterating, like a RocksDB iterator
                yield key, value

    def count(self) -> int:
        return len(self.entries)


def _size(tables: dict[str, dict[bytes, bytes]]) -> int:
    return sum(len(k) + len(v) for entries in tables.values() for k, v in entries.items())


class MemoryBackend:
    def __init__(self) -> None:
        self._tables: dict[str, MemoryTable] = {}
        self._checkpoints: dict[int, tuple[CheckpointInfo, dict[str, dict[bytes, bytes]]]] = {}

    def table(self, name: str) -> MemoryTable:
        return self._table(name)

    def _table(self, name: str) -> MemoryTable:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = MemoryTable(name)
        return table

    def write(self, batch: WriteBatch) -> None:
        for name, key, value in batch.puts:
            self._table(name).entries[key] = value
        for name, key in batch.deletes:
            self._table(name).entries.pop(key, None)

    def checkpoint(self, checkpoint_id: int, metadata: dict[str, Any]) -> CheckpointInfo:
        if checkpoint_id in self._checkpoints:
            raise ValueError(f"checkpoint {checkpoint_id} already exists")
        copy = {name: dict(table.entries) for name, table in self._tables.items()}
        info = CheckpointInfo(checkpoint_id, time.time(), dict(metadata), _size(copy))
        self._checkpoints[checkpoint_id] = (info, copy)
        return info

    def checkpoints(self) -> list[CheckpointInfo]:
        return [self._checkpoints[i][0] for i in sorted(self._checkpoints)]

    def restore(self, checkpoint_id: int | None = None) -> CheckpointInfo | None:
        if checkpoint_id is None and not self._checkpoints:
            self._replace_tables({})
            return None
        info, copy = self._find(checkpoint_id)
        self._replace_tables(copy)
        return info

    def clear(self) -> None:
        self._replace_tables({})

    def discard_older_than(self, checkpoint_id: int) -> None:
        for old in [i for i in self._checkpoints if i < checkpoint_id]:
            del self._checkpoints[old]

    def savepoint(self, checkpoint_id: int, path: Path) -> None:
        info, copy = self._find(checkpoint_id)
        write_savepoint(
            path, info, ((name, sorted(entries.items())) for name, entries in copy.items())
        )

    def restore_savepoint(self, path: Path) -> CheckpointInfo:
        savepoint = read_savepoint(path)
        # everything is read (and its checksum checked) before the live tables change
        loaded = {t.name: dict(savepoint.entries(t)) for t in savepoint.tables}
        self._replace_tables(loaded)
        return savepoint.info

    def close(self) -> None:
        pass

    def _find(
        self, checkpoint_id: int | None
    ) -> tuple[CheckpointInfo, dict[str, dict[bytes, bytes]]]:
        if checkpoint_id is None:
            checkpoint_id = max(self._checkpoints, default=-1)
        found = self._checkpoints.get(checkpoint_id)
        if found is None:
            known = ", ".join(map(str, sorted(self._checkpoints))) or "none"
            raise UserError(f"no checkpoint {checkpoint_id} in memory (complete: {known})")
        return found

    def _replace_tables(self, tables: dict[str, dict[bytes, bytes]]) -> None:
        """Make the live tables equal `tables`; Table objects handed out stay valid."""
        for name, table in self._tables.items():
            table.entries = dict(tables.get(name, {}))
        for name, entries in tables.items():
            self._table(name).entries = dict(entries)
