"""JSON Lines in and out: one JSON object per line, in a file or on stdin/stdout.

The source reads 1 MiB blocks, splits them into lines and decodes a batch of lines with one
`orjson.loads` pass (see `JsonDecoder`); a line that is not a JSON object becomes a dead letter
with its `file:line`, and blank lines are skipped. Its position is the byte offset after the last
returned line, so a run can resume there.

A `.json` file that holds one JSON array (`[{...}, {...}]`, on one line or pretty-printed) is
read whole, and each element is a record (`JsonArraySource`); an element that is not an object
is a dead letter with origin `FILE[INDEX]`.
"""

from __future__ import annotations

import os
import select
import sys
from typing import Any, BinaryIO

import orjson

from gress_cep.connectors.base import Batch, DeadLetter, Record, fsync_output, is_regular_file
from gress_cep.connectors.codec import JsonDecoder, encode_json, encode_json_line, json_kind
from gress_cep.connectors.dead_letter import file_form
from gress_cep.connectors.validation import Validator, set_aside_invalid
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
        if not lines and self._reader.at_end:
            # resumed at the end of the file: finished now, as the uninterrupted run was
            # (one round later, the watermarks of a join or a union would differ that round)
            return None
        first = self._line + 1
        self._line += len(lines)
        decoded = self._decoder.decode_all(lines)
        dead = [
            DeadLetter(lines[f.index], f.reason, f"{self.description}:{first + f.index}", f.record)
            for f in decoded.failures
            if f.record is not None or lines[f.index].strip()  # blank lines are no records
        ]
        kept, description = decoded.kept, self.description

        def origin(i: int) -> str:
            return f"{description}:{first + (kept[i] if kept is not None else i)}"

        return Batch(decoded.records, dead=dead, origin=origin)

    def position(self) -> dict[str, Any]:
        return {"offset": self._reader.offset, "line": self._line}

    def commit(self, position: dict[str, Any]) -> None:
        """Files keep no consumer state: the checkpoint stores the position."""

    def close(self) -> None:
        if self._owns_fd:
            os.close(self._reader.fd)
            self._owns_fd = False


def open_json_file(
    path: str, validator: Validator | None = None, start: dict[str, Any] | None = None
) -> JsonLinesSource | JsonArraySource:
    """A `.json` input: one JSON array of objects, or JSON Lines (one object per line)."""
    if start is None or "item" in start:
        with open(path, "rb") as file:
            head = file.read(_SNIFF).lstrip(b" \t\r\n\xef\xbb\xbf")
        if head.startswith(b"["):
            items = _json_array(path)
            if items is not None:
                return JsonArraySource(path, items, validator, start)
    return JsonLinesSource(os.open(path, os.O_RDONLY), path, validator, start)


_SNIFF = 4096


def _json_array(path: str) -> list[Any] | None:
    """The elements of the JSON array in `path`; None when the file is JSON Lines after all
    (its first line is a JSON value of its own, such as `[1, 2]`)."""
    with open(path, "rb") as file:
        data = file.read()
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        try:
            orjson.loads(data.split(b"\n", 1)[0])
        except orjson.JSONDecodeError:
            raise UserError(
                f"{path}:{err.lineno}:{err.colno}: not valid JSON ({err.msg})",
                hint="a .json input holds one JSON array of objects, or one object per line "
                "(JSON Lines)",
            ) from None
        return None
    return value if isinstance(value, list) else None


class JsonArraySource:
    """The elements of one JSON array, held in memory. Its position is the index of the next
    element, so a run can resume there."""

    def __init__(
        self,
        path: str,
        items: list[Any],
        validator: Validator | None = None,
        start: dict[str, Any] | None = None,
    ) -> None:
        self.description = path
        self._items = items
        self._next = int(start["item"]) if start else 0
        self._validator = validator

    def partitions(self) -> list[int]:
        return [0]

    def poll(self, max_records: int, timeout_s: float) -> Batch | None:
        if self._next >= len(self._items):
            return None
        first = self._next
        chunk = self._items[first : first + max_records]
        self._next += len(chunk)
        records: list[Record] = []
        indexes: list[int] = []
        dead: list[DeadLetter] = []
        for i, item in enumerate(chunk, first):
            if type(item) is dict:
                records.append(item)
                indexes.append(i)
            else:
                reason = f"a JSON {json_kind(item)}, not an object"
                dead.append(DeadLetter(encode_json(item), reason, self._origin(i)))
        if self._validator is not None:
            records, invalid = set_aside_invalid(
                self._validator,
                records,
                lambda j: encode_json(records[j]),
                lambda j: self._origin(indexes[j]),
            )
            dead += invalid
        return Batch(records, dead=dead)

    def _origin(self, index: int) -> str:
        return f"{self.description}[{index}]"

    def position(self) -> dict[str, Any]:
        return {"item": self._next}

    def commit(self, position: dict[str, Any]) -> None:
        """Files keep no consumer state: the checkpoint stores the position."""

    def close(self) -> None:
        self._items = []


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

    def prepare(self) -> dict[str, Any]:
        """Make the bytes written so far durable (a checkpoint relies on them)."""
        self.flush()
        if self._owns_file:
            fsync_output(self._file)
        return self.position()

    def commit(self, checkpoint_id: int) -> None:
        """Nothing to do: a file is final once prepared (a resumed run cuts it back to the
        position of the checkpoint it resumes from)."""

    def write(self, records: list[Record]) -> None:
        if self._dead_letters:
            records = [file_form(letter) for letter in records]
        # line by line into the file's buffer: joining many lines first kept orjson's larger
        # output buffers alive together, and freeing them made the heap shrink and grow again
        # (a page fault per line: 15% of a window job's time)
        self._file.writelines(map(encode_json_line, records))  # the loop in C

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self.flush()
        if self._owns_file:
            self._file.close()


def stdout_sink(role: str) -> JsonLinesSink:
    return JsonLinesSink(sys.stdout.buffer, "stdout", role, owns_file=False)
