"""Where operator state lives between checkpoints, and how checkpoints are kept.

A backend holds named tables of bytes -> bytes. Writes land in the *live* state; a checkpoint
is a consistent, durable snapshot of the live state plus a small metadata document (source
positions, sink positions, the time). Restoring makes the live state equal to a checkpoint
again. Two implementations: in memory (tests, the Python API) and RocksDB (rocksdict) in a
state directory, where a checkpoint is a RocksDB checkpoint (hard links to immutable SST files).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(slots=True)
class CheckpointInfo:
    checkpoint_id: int
    created_at: float  # epoch seconds
    metadata: dict[str, Any]  # JSON-serializable: positions, sink lengths, job description
    size_bytes: int = 0


@dataclass(slots=True)
class WriteBatch:
    """Puts and deletes applied atomically by `StateBackend.write` (all puts, then all
    deletes: a batch never needs to put and delete one key)."""

    puts: list[tuple[str, bytes, bytes]] = field(default_factory=list)  # (table, key, value)
    deletes: list[tuple[str, bytes]] = field(default_factory=list)  # (table, key)

    def put(self, table: str, key: bytes, value: bytes) -> None:
        self.puts.append((table, key, value))

    def delete(self, table: str, key: bytes) -> None:
        self.deletes.append((table, key))

    def __len__(self) -> int:
        return len(self.puts) + len(self.deletes)


class Table(Protocol):
    """One named table of the live state."""

    def get(self, key: bytes) -> bytes | None: ...

    def may_contain(self, key: bytes) -> bool:
        """False only when the key is certainly absent (RocksDB: bloom filter, no disk read)."""
        ...

    def put(self, key: bytes, value: bytes) -> None: ...

    def delete(self, key: bytes) -> None: ...

    def items(self, start: bytes = b"", end: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Entries with start <= key < end, in key order."""
        ...

    def count(self) -> int:
        """Number of entries (may be an estimate for RocksDB)."""
        ...


class StateBackend(Protocol):
    def table(self, name: str) -> Table: ...

    def write(self, batch: WriteBatch) -> None:
        """Apply puts and deletes atomically to the live state."""
        ...

    def checkpoint(self, checkpoint_id: int, metadata: dict[str, Any]) -> CheckpointInfo:
        """Durably snapshot the live state with `metadata`; returns when it is complete."""
        ...

    def checkpoints(self) -> list[CheckpointInfo]:
        """Complete checkpoints, oldest first."""
        ...

    def restore(self, checkpoint_id: int | None = None) -> CheckpointInfo | None:
        """Make the live state equal to a checkpoint (the newest complete one when None).
        Returns None (and leaves an empty live state) when there is no checkpoint."""
        ...

    def clear(self) -> None:
        """Make the live state empty (a job that starts afresh); checkpoints stay."""
        ...

    def discard_older_than(self, checkpoint_id: int) -> None:
        """Delete complete checkpoints with a smaller id (they are no longer needed)."""
        ...

    def savepoint(self, checkpoint_id: int, path: Path) -> None:
        """Write a checkpoint as a portable, self-contained directory at `path`."""
        ...

    def restore_savepoint(self, path: Path) -> CheckpointInfo:
        """Make the live state equal to a savepoint written by `savepoint`."""
        ...

    def close(self) -> None: ...
