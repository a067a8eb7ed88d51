"""JSON Lines in and out: one JSON object per line, in a file or on stdin/stdout.

The source reads 1 MiB blocks, splits them into lines and decodes a batch of lines with one
`orjson.loads` pass (see `JsonDecoder`); a line that is not a JSON object becomes a dead letter
with its `file:line`, and blank lines are skipped. Its position is the byte offset after the last
returned line, so a run can resume there.
"""

from __future__ import annotations

import os
import select
import sys
from typing import Any, BinaryIO

from gress_cep.connectors.base import Batch, DeadLetter, Record, fsync_output, is_regular_file
from gress_cep.connectors.codec import JsonDecoder, encode_json_line
from gress_cep.connectors.dead_letter import file_form
from gress_cep.connectors.validation import Validator
from gress_cep.errors import UserError

_BLOCK = 1 << 20


class LineReader:
    """Complete lines from a file descriptor, with the byte offset after each returned line.

    Regular files are read as fast as possible; pipes and terminals (stdin) are waited on with
    `select`, so that `poll(timeout)` returns when no line arrives in time.
    """

    def __init__(self, fd: int, offset: int = 0) -> None:
        self.fd = fd
        self.offset = offset  # byte offset after the last line handed out
        self.at_end = False  # every line has been handed out
        self._waits = not is_regular_file(fd)
        self._lines: list[bytes] = []
        self._next = 0
        self._tail = b""  # an incomplete line waiting for the rest of its bytes
        self._eof = False
        self._unterminated = False  # the last line of the input has no newline
        if offset:
            if self._waits:
                raise UserError("cannot resume a pipe or terminal from a position")
            os.lseek(fd, offset, os.SEEK_SET)

    def take(self, count: int, timeout_s: float) -> list[bytes]:
        """Up to `count` lines (without their newline); fewer when the input has no more yet."""
        while len(self._lines) - self._next < count and not self._eof:
            if not self._fill(timeout_s):
                break
        lines = self._lines[self._next : self._next + count]
        self._next += len(lines)
        self.offset += sum(map(len, lines)) + len(lines)
        if self._next == len(self._lines):
            self._lines, self._next = [], 0
            if self._eof:
                self.at_end = True
                if self._unterminated and lines:
                    self.offset -= 1
                    self._unterminated = False
        return lines

    def _fill(self, timeout_s: float) -> bool:
        """Read one block; False when nothing arrived within the timeout."""
        if self._waits and not select.select([self.fd], [], [], timeout_s)[0]:
            return False
        data = os.read(self.fd, _BLOCK)
        if not data:
            self._eof = True
            if self._tail:
                self._lines = [*self._lines[self._next :], self._tail]
                self._next = 0
                self._tail = b""
                self._unterminated = True
            return True
        parts = (self._tail + data).split(b"\n") if self._tail else data.split(b"\n")
        self._tail = parts.pop()
        if self._next:
            self._lines = self._lines[self._next :]
            self._next = 0
        self._lines += parts
        return True


class JsonLinesSource:
    def __init__(
        self,
        fd: int,
        description: str,
        validator: Validator | None = None,
        start: dict[str, Any] | None = None,
        owns_fd: bool = True,
    ) -> None:
        self.description = description
        self._reader = LineReader(fd, int(start["offset"]) if start else 0)
        self._line = int(start["line"]) if start else 0  # lines returned so far
        self._decoder = JsonDecoder(validator)
        self._owns_fd = owns_fd

    def partitions(self) -> list[int]:
        return [0]

    def poll(self, max_records: int, timeout_s: float) -> Batch | None:
        if self._reader.at_end:
            return None
        lines = self._reader.take(max_records, timeout_s)
        first = self._line + 1
        self._line += len(lines)
        decoded = self._decoder.decode_all(lines)
        dead = [
            DeadLetter(lines[f.index], f.reason, f"{self.description}:{first + f.index}", f.record)
            for f in decoded.failures
            if f.record is not None or lines[f.index].strip()  # blank lines are no records
        ]
        return Batch(decoded.records, dead=dead)

    def position(self) -> dict[str, Any]:
        return {"offset": self._reader.offset, "line": self._line}

    def commit(self, position: dict[str, Any]) -> None:
        """Files keep no consumer state: the checkpoint stores the position."""

    def close(self) -> None:
        if self._owns_fd:
            os.close(self._reader.fd)
            self._owns_fd = False


class JsonLinesSink:
    """One JSON object per line; `flush()` hands the bytes to the operating system.

    Its position is the length of the file after a flush; a resumed run truncates the file to
    the position of its checkpoint and appends, so that nothing is written twice.
    """

    def __init__(
        self, file: BinaryIO, description: str, role: str = "matches", owns_file: bool = True
    ) -> None:
        self.description = description
        self._file = file
        self._dead_letters = role == "dead-letter"
        self._owns_file = owns_file

    @classmethod
    def open(cls, path: str, role: str, resume: dict[str, Any] | None) -> JsonLinesSink:
        if resume is None:
            return cls(open(path, "wb"), path, role)
        file = open(path, "r+b")  # noqa: SIM115
        if not is_regular_file(file.fileno()):
            return cls(file, path, role)  # a device or a pipe (/dev/null): nothing to cut back
        length = int(resume["bytes"])
        if os.fstat(file.fileno()).st_size < length:
            file.close()
            raise UserError(
                f"output {path} is shorter than the checkpoint says ({length} bytes)",
                hint="it was changed since; start afresh with --fresh",
            )
        file.truncate(length)
        file.seek(length)
        return cls(file, path, role)

    def position(self) -> dict[str, Any]:
        return {"bytes": self._file.tell()} if self._owns_file else {}

    def sync(self) -> None:
        """Make the flushed bytes durable (a checkpoint relies on them)."""
        self._file.flush()
        if self._owns_file:
            fsync_output(self._file)

    def write(self, records: list[Record]) -> None:
        if self._dead_letters:
            records = [file_form(letter) for letter in records]
        self._file.write(b"".join(map(encode_json_line, records)))

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self.flush()
        if self._owns_file:
            self._file.close()


def stdout_sink(role: str) -> JsonLinesSink:
    return JsonLinesSink(sys.stdout.buffer, "stdout", role, owns_file=False)
