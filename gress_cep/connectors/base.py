"""What the runtime expects of inputs and outputs.

A `Source` yields `Batch`es of decoded records for one stream; records that cannot be decoded or
validated travel beside them as `DeadLetter`s, so that nothing is dropped silently. A `Sink`
writes records (matches, timeouts, late records, dead letters) somewhere.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

Record = dict[str, Any]


@dataclass(slots=True)
class DeadLetter:
    """A record that could not be used, with why and where it came from."""

    raw: bytes | str | None  # the original bytes/text (None when only the decoded record is left)
    reason: str
    origin: str  # "payments.jsonl:17", "kafka:payments[2]@1234"
    record: Record | None = None  # the decoded record when decoding worked but validation failed

    def to_record(self) -> Record:
        """The dead-letter output form: JSON-friendly (bytes as base64 by the file sinks)."""
        out: Record = {"reason": self.reason, "origin": self.origin}
        if self.record is not None:
            out["record"] = self.record
        if self.raw is not None:
            out["raw"] = self.raw
        return out


@dataclass(slots=True)
class Batch:
    """Decoded records of one poll, in arrival order.

    `partitions[i]` is the source partition of `records[i]` (per-partition watermarks); None means
    every record is from partition 0. `timestamps[i]` is the source's own timestamp of the record
    in epoch ms (Kafka record time), used when the stream declares no `time` field; None when the
    source has none. `origin(i)` says where `records[i]` came from, as dead letters do
    ("payments.jsonl:17", "kafka:payments[2]@1234"): asked only for the rare record that needs
    it (a late one), so that a batch costs nothing for it.
    """

    records: list[Record] = field(default_factory=list)
    partitions: list[int] | None = None
    timestamps: list[int] | None = None
    dead: list[DeadLetter] = field(default_factory=list)
    origin: Callable[[int], str] | None = None


class Source(Protocol):
    """One input of a stream (a file, stdin, a Kafka topic)."""

    description: str  # shown in progress and errors: "payments.jsonl", "kafka:payments"

    def partitions(self) -> list[int]:
        """The partitions currently read (Kafka: assigned ones; files: [0])."""
        ...

    def poll(self, max_records: int, timeout_s: float) -> Batch | None:
        """Up to `max_records` records, waiting at most `timeout_s` for the first one.

        Returns an empty Batch when nothing arrived in time, and None once the source is
        finished (end of file; Kafka with --stop-at-end once every partition reached its end).
        """
        ...

    def position(self) -> dict[str, Any]:
        """Where the source stands, JSON-serializable (file byte offset, Kafka offsets)."""
        ...

    def commit(self, position: dict[str, Any]) -> None:
        """Everything up to `position` is safely processed (Kafka: commit those offsets)."""
        ...

    def close(self) -> None: ...


class Sink(Protocol):
    """An output: matches, timeouts, late records or dead letters.

    Every sink takes part in exactly-once through the checkpoint protocol
    (gress_cep.state.coordinator): `prepare()` at step 1, `commit(id)` at step 4."""

    description: str

    def write(self, records: list[Record]) -> None: ...

    def flush(self) -> None:
        """Make everything written so far visible (Kafka: wait for delivery)."""
        ...

    def prepare(self) -> dict[str, Any]:
        """Make everything written so far durable (a file: flushed and fsynced; Kafka:
        delivered inside the job's open transaction) and return where the output ends: the
        position a resumed run cuts the output back to (`resume=` when it is opened)."""
        ...

    def commit(self, checkpoint_id: int) -> None:
        """The checkpoint that recorded the last `prepare` is durable."""
        ...

    def close(self) -> None: ...


def is_regular_file(target: int | str) -> bool:
    """A file descriptor or path of a regular file, not a device or a pipe (`/dev/null`, a
    FIFO, a terminal): only a regular file can be synced, cut back or rewritten."""
    return stat.S_ISREG(os.stat(target).st_mode)


def fsync_output(file: IO[Any]) -> None:
    """Make what was written to an output file durable (a checkpoint relies on it). A device
    or a pipe has no disk to sync to, and fsync refuses it with EINVAL."""
    file.flush()
    fd = file.fileno()
    if is_regular_file(fd):
        os.fsync(fd)
