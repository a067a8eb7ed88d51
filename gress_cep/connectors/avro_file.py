"""Avro object container files in and out (fastavro).

Source: records are read block by block with the file's own schema (millisecond timestamps as
epoch-ms longs) and then checked against the stream's schema like every other source. The
position is the byte offset of the current block plus the records already taken from it: an Avro
block can only be entered at its start. Blocks are read here, not by fastavro, so that nothing a
file declares is believed: a block that declares more records than bytes, or expands beyond
MAX_BLOCK_BYTES, or is corrupt, is a dead letter and reading goes on after it (after the next
sync marker); a record that cannot be read loses the rest of its block, as a dead letter.
Declared array counts are checked by `CountGuard` (avro_guard.py).

Sink: the schema is inferred from the records (every field a union with null). When a record
does not fit, the file is rewritten once with the widened schema: a container file has one
schema, and a field is never dropped.
"""

from __future__ import annotations

import bz2
import itertools
import json
import lzma
import os
import zlib
from collections.abc import Callable
from io import BytesIO
from typing import Any, BinaryIO, cast

from fastavro import parse_schema, reader, schemaless_reader
from fastavro.read import HEADER_SCHEMA
from fastavro.write import Writer

from gress_cep.connectors.avro_schema import InferredSchema, avro_kind, read_plan
from gress_cep.connectors.base import Batch, DeadLetter, Record, fsync_output
from gress_cep.connectors.dead_letter import file_form
from gress_cep.connectors.validation import Validator, set_aside_invalid
from gress_cep.errors import UserError


class AvroFileSource:
    def __init__(
        self,
        path: str,
        validator: Validator | None = None,
        start: dict[str, Any] | None = None,
    ) -> None:
        self.description = path
        self._file = open(path, "rb")  # noqa: SIM115 -- closed by close()
        try:
            header = cast(dict[str, Any], schemaless_reader(self._file, HEADER_SCHEMA, None))
            if header["magic"] != MAGIC:
                raise ValueError("no Avro magic bytes at the start")
            meta = header["meta"]
            self._codec = meta.get("avro.codec", b"null").decode()
            if self._codec not in _DECOMPRESSORS:
                raise ValueError(
                    f"codec {self._codec!r} is not supported (use {', '.join(_DECOMPRESSORS)})"
                )
            writer_schema = json.loads(meta["avro.schema"])
            plan = read_plan(writer_schema, None)
        except Exception as err:  # fastavro raises ValueError, KeyError, EOFError, ...
            self._file.close()
            raise UserError(
                f"{path} is not a readable Avro container file ({type(err).__name__}: {err})",
                hint="a .avro input must be an Avro object container file",
            ) from None
        self._writer, self._guard = plan.writer, plan.guard
        self._sync: bytes = header["sync"]
        self._size = os.fstat(self._file.fileno()).st_size
        self._validator = validator
        self._block_offset = self._file.tell()  # where the block being read starts
        self._block = b""  # the block being read, decompressed
        self._data: BytesIO | None = None  # a reader over it
        self._left = 0  # records not yet read from it
        self._taken = 0  # records already read from it
        self._count = 0  # records read (or lost in a bad block) from the file
        self._dead: list[DeadLetter] = []  # bad blocks, for the next poll
        skip = 0
        if start:
            self._file.seek(int(start["block"]))
            self._block_offset, skip = int(start["block"]), int(start["record"])
            self._count = int(start["records"]) - skip
        if skip:
            self._read(skip)
            self._dead.clear()  # reported by the run that read them

    def partitions(self) -> list[int]:
        return [0]

    def poll(self, max_records: int, timeout_s: float) -> Batch | None:
        records, raws, numbers = self._read(max_records)
        dead, self._dead = self._dead, []
        if not records and not dead and self._data is None:
            return None
        if self._validator is None:
            return Batch(records, dead=dead, origin=lambda i: f"{self.description}:{numbers[i]}")
        records, invalid = set_aside_invalid(
            self._validator,
            records,
            raws.__getitem__,
            lambda i: f"{self.description}:{numbers[i]}",
        )
        return Batch(records, dead=dead + invalid)

    def _read(self, count: int) -> tuple[list[Record], list[bytes], list[int]]:
        """Up to `count` records, their numbers in the file (from 1) and, when a validator
        may need them, their encoded bytes."""
        records: list[Record] = []
        raws: list[bytes] = []
        numbers: list[int] = []
        keep_raw = self._validator is not None
        while len(records) < count:
            if not self._left and not self._next_block():
                break
            data = self._data
            assert data is not None
            while self._left and len(records) < count:
                begin = data.tell()
                try:
                    if self._guard is not None:
                        self._guard.check(self._block, begin)
                    record = schemaless_reader(data, self._writer, None)
                except Exception as err:
                    self._lose_rest_of_block(err)
                    break
                if type(record) is not dict:  # the file's schema is not a record
                    raise UserError(
                        f"{self.description}: record {self._count + 1} is an "
                        f"Avro {avro_kind(record)}, not a record",
                        hint="a .avro input must hold records (its schema a record type)",
                    )
                records.append(record)
                self._count += 1
                numbers.append(self._count)
                if keep_raw:
                    raws.append(self._block[begin : data.tell()])
                self._left -= 1
                self._taken += 1
        return records, raws, numbers

    def _lose_rest_of_block(self, err: Exception) -> None:
        """A record of the block cannot be read: neither can the ones after it (Avro records
        have no boundaries), so the rest of the block is one dead letter."""
        number, lost = self._count + 1, self._left
        self._dead.append(
            DeadLetter(
                None,
                _clip(
                    f"record {number} cannot be read ({type(err).__name__}: {err}); "
                    f"the {lost} records left in the block at byte {self._block_offset} "
                    "are skipped"
                ),
                f"{self.description}:{number}",
            )
        )
        self._count += lost
        self._taken += lost
        self._left = 0

    def _next_block(self) -> bool:
        """Move to the next block that holds records; False at the end of the file. A bad
        block becomes a dead letter and reading goes on after it."""
        while True:
            offset = self._file.tell()
            self._block_offset, self._taken = offset, 0
            if offset >= self._size:
                self._data = None
                return False
            try:
                count, block = self._block_at(offset)
            except _BadBlock as bad:
                self._dead.append(DeadLetter(None, bad.reason, f"{self.description}:byte {offset}"))
                continue
            if count == 0:
                continue
            self._block, self._data, self._left = block, BytesIO(block), count
            return True

    def _block_at(self, offset: int) -> tuple[int, bytes]:
        """The record count and decompressed bytes of the block at `offset`; the file is left
        at the next block (after the sync marker, or the next one found past a corrupt block)."""
        try:
            count, size = _read_long(self._file), _read_long(self._file)
            after = self._file.tell() + size + len(self._sync)
            if count < 0 or size < 0 or after > self._size:
                raise ValueError(f"it declares {count} records in {size} bytes")
            compressed = self._file.read(size)
            if self._file.read(len(self._sync)) != self._sync:
                raise ValueError("its sync marker does not match the file's")
        except (ValueError, EOFError) as err:
            resumed = self._seek_past_next_sync(offset + 1)
            where = f"reading goes on at byte {resumed}" if resumed else "it ends the file"
            raise _BadBlock(f"corrupt Avro block at byte {offset} ({err}); {where}") from None
        try:
            block = _DECOMPRESSORS[self._codec](compressed)
        except _TooLarge:
            raise _BadBlock(
                f"the Avro block at byte {offset} expands beyond {MAX_BLOCK_BYTES:,} bytes "
                f"({self._codec}); its {count} records are skipped"
            ) from None
        except Exception as err:  # zlib.error, OSError (bz2), lzma.LZMAError
            raise _BadBlock(
                f"the Avro block at byte {offset} cannot be decompressed ({self._codec}: {err}); "
                f"its {count} records are skipped"
            ) from None
        if count > len(block):
            raise _BadBlock(
                f"the Avro block at byte {offset} declares {count:,} records in {len(block):,} "
                "bytes (each record counts as at least one byte); it is skipped"
            )
        return count, block

    def _seek_past_next_sync(self, offset: int) -> int | None:
        """Put the file after the next sync marker found from `offset`; its offset, or None
        (the file is then at its end)."""
        self._file.seek(offset)
        tail = b""
        position = offset
        while chunk := self._file.read(1 << 20):
            window = tail + chunk
            found = window.find(self._sync)
            if found >= 0:
                resumed = position - len(tail) + found + len(self._sync)
                self._file.seek(resumed)
                return resumed
            tail = window[-(len(self._sync) - 1) :]
            position += len(chunk)
        return None

    def position(self) -> dict[str, Any]:
        if self._data is not None and not self._left:  # the next block starts where this ended
            return {"block": self._file.tell(), "record": 0, "records": self._count}
        return {"block": self._block_offset, "record": self._taken, "records": self._count}

    def commit(self, position: dict[str, Any]) -> None:
        """Files keep no consumer state: the checkpoint stores the position."""

    def close(self) -> None:
        self._file.close()


MAGIC = b"Obj\x01"
# A block may hold at most this many bytes once decompressed: writers make blocks of 16-64 KB,
# so more is a damaged or hostile file (a "zip bomb"), whose block becomes a dead letter.
MAX_BLOCK_BYTES = 64 << 20
_REASON_LIMIT = 300


class _BadBlock(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _TooLarge(Exception):
    pass


def _bounded(decompressor: Any, data: bytes) -> bytes:
    out = decompressor.decompress(data, MAX_BLOCK_BYTES + 1)
    if len(out) > MAX_BLOCK_BYTES:
        raise _TooLarge
    return bytes(out)


def _stored(data: bytes) -> bytes:
    if len(data) > MAX_BLOCK_BYTES:
        raise _TooLarge
    return data


_DECOMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "null": _stored,
    # raw deflate (no zlib header), as the Avro specification says
    "deflate": lambda data: _bounded(zlib.decompressobj(-15), data),
    "bzip2": lambda data: _bounded(bz2.BZ2Decompressor(), data),
    "xz": lambda data: _bounded(lzma.LZMADecompressor(), data),
}


def _read_long(file: BinaryIO) -> int:
    """A zig-zag varint from `file` (EOFError at the end, ValueError when it never ends)."""
    value = shift = 0
    while True:
        byte = file.read(1)
        if not byte:
            raise EOFError("the file ends inside a block header")
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return (value >> 1) ^ -(value & 1)
        shift += 7
        if shift > 63:
            raise ValueError("a count longer than an Avro long")


def _clip(reason: str) -> str:
    return reason if len(reason) <= _REASON_LIMIT else reason[: _REASON_LIMIT - 3] + "..."


class AvroFileSink:
    """Its position is the number of records written; a resumed run keeps that many records
    of the file (rewritten under the schema they had) and appends after them."""

    def __init__(
        self, path: str, role: str = "matches", resume: dict[str, Any] | None = None
    ) -> None:
        self.description = path
        self._path = path
        self._inferred = InferredSchema(os.path.splitext(os.path.basename(path))[0])
        self._dead_letters = role == "dead-letter"
        self._records = 0
        kept = self._committed(int(resume["records"])) if resume else []
        # BinaryIO: _rewrite reopens it for appending (a BufferedRandom, not a BufferedWriter)
        self._file: BinaryIO = open(path, "wb")  # noqa: SIM115 -- closed by close()
        self._writer: Writer | None = None
        if kept:
            self._write(kept)

    def _committed(self, count: int) -> list[Record]:
        with open(self._path, "rb") as old:
            # this sink wrote the file under a record schema: every value is a record
            kept = cast(list[Record], list(itertools.islice(reader(old), count)))
        if len(kept) < count:
            raise UserError(
                f"output {self._path} has fewer records than the checkpoint says ({count})",
                hint="it was changed since; start afresh with --fresh",
            )
        return kept

    def position(self) -> dict[str, Any]:
        return {"records": self._records}

    def prepare(self) -> dict[str, Any]:
        self.flush()
        fsync_output(self._file)
        return self.position()

    def commit(self, checkpoint_id: int) -> None:
        """Nothing to do: a file is final once prepared (a resumed run cuts it back to the
        position of the checkpoint it resumes from)."""

    def write(self, records: list[Record]) -> None:
        if self._dead_letters:
            records = [file_form(letter) for letter in records]
        self._write(records)

    def _write(self, records: list[Record]) -> None:
        ready, grew = self._inferred.observe(records)
        if self._writer is None:
            self._writer = self._new_writer()
        elif grew:
            self._rewrite()
        for record in ready:
            self._writer.write(record)
        self._records += len(records)

    def _new_writer(self) -> Writer:
        return Writer(self._file, parse_schema(self._inferred.schema), codec="deflate")

    def _rewrite(self) -> None:
        """Write the records so far again under the widened schema (a file has one schema)."""
        assert self._writer is not None
        self._writer.flush()
        self._file.close()
        temporary = f"{self._path}.gress-tmp"
        with open(self._path, "rb") as old, open(temporary, "wb") as new:
            self._file = new
            rewriter = self._new_writer()
            for record in reader(old):
                rewriter.write(record)
            rewriter.flush()
        os.replace(temporary, self._path)
        self._file = open(self._path, "a+b")  # noqa: SIM115
        self._writer = Writer(self._file, parse_schema(self._inferred.schema), codec="deflate")

    def flush(self) -> None:
        if self._writer is None:
            self._writer = self._new_writer()  # an empty output is still a valid Avro file
        self._writer.flush()
        self._file.flush()

    def close(self) -> None:
        self.flush()
        self._file.close()
