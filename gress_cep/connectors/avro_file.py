"""Avro object container files in and out (fastavro).

Source: records are read block by block with the file's own schema (millisecond timestamps as
epoch-ms longs) and then checked against the stream's schema like every other source. The
position is the byte offset of the current block plus the records already taken from it: an Avro
block can only be entered at its start.

Sink: the schema is inferred from the records (every field a union with null). When a record
does not fit, the file is rewritten once with the widened schema: a container file has one
schema, and a field is never dropped.
"""

from __future__ import annotations

import itertools
import json
import os
from io import BytesIO
from typing import Any, BinaryIO, cast

from fastavro import block_reader, parse_schema, reader, schemaless_reader
from fastavro.write import Writer

from gress_cep.connectors.avro_schema import InferredSchema, avro_kind, read_plan
from gress_cep.connectors.base import Batch, Record, fsync_output
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
            blocks = block_reader(self._file)
            writer_schema = json.loads(blocks.metadata["avro.schema"])
            self._writer = read_plan(writer_schema, None).writer
        except Exception as err:  # fastavro raises ValueError, KeyError, EOFError, ...
            self._file.close()
            raise UserError(
                f"{path} is not a readable Avro container file ({type(err).__name__}: {err})",
                hint="a .avro input must be an Avro object container file",
            ) from None
        self._validator = validator
        self._block_offset = self._file.tell()  # where the block being read starts
        self._data: BytesIO | None = None  # the block being read, decompressed
        self._left = 0  # records not yet read from it
        self._taken = 0  # records already read from it
        self._count = 0  # records read from the file
        skip = 0
        if start:
            self._file.seek(int(start["block"]))
            self._block_offset, skip = int(start["block"]), int(start["record"])
            self._count = int(start["records"]) - skip
        self._blocks = iter(blocks)
        if skip:
            self._read(skip)

    def partitions(self) -> list[int]:
        return [0]

    def poll(self, max_records: int, timeout_s: float) -> Batch | None:
        first = self._count + 1
        records, raws = self._read(max_records)
        if not records and self._data is None:
            return None
        if self._validator is None:
            return Batch(records)
        records, dead = set_aside_invalid(
            self._validator, records, raws.__getitem__, lambda i: f"{self.description}:{first + i}"
        )
        return Batch(records, dead=dead)

    def _read(self, count: int) -> tuple[list[Record], list[bytes]]:
        """Up to `count` records, with their encoded bytes when a validator may need them."""
        records: list[Record] = []
        raws: list[bytes] = []
        keep_raw = self._validator is not None
        while len(records) < count:
            if not self._left and not self._next_block():
                break
            data = self._data
            assert data is not None
            while self._left and len(records) < count:
                begin = data.tell()
                try:
                    record = schemaless_reader(data, self._writer, None)
                except Exception as err:
                    raise self._corrupt(err) from None
                if type(record) is not dict:  # the file's schema is not a record
                    raise UserError(
                        f"{self.description}: record {self._count + len(records) + 1} is an "
                        f"Avro {avro_kind(record)}, not a record",
                        hint="a .avro input must hold records (its schema a record type)",
                    )
                records.append(record)
                if keep_raw:
                    with data.getbuffer() as block:
                        raws.append(bytes(block[begin : data.tell()]))
                self._left -= 1
                self._taken += 1
        self._count += len(records)
        return records, raws

    def _corrupt(self, err: Exception) -> UserError:
        return UserError(
            f"{self.description}: corrupt Avro block at byte {self._block_offset} "
            f"({type(err).__name__}: {err})"
        )

    def _next_block(self) -> bool:
        try:
            block = next(self._blocks)
        except StopIteration:
            self._data = None
            self._block_offset, self._taken = self._file.tell(), 0
            return False
        except Exception as err:
            raise self._corrupt(err) from None
        self._block_offset = block.offset
        # fastavro's stub of Block leaves out `bytes_` (the decompressed block, a BytesIO)
        self._data = block.bytes_  # type: ignore[attr-defined]
        self._left = block.num_records
        self._taken = 0
        return True

    def position(self) -> dict[str, Any]:
        if self._data is not None and not self._left:  # the next block starts where this ended
            return {"block": self._file.tell(), "record": 0, "records": self._count}
        return {"block": self._block_offset, "record": self._taken, "records": self._count}

    def commit(self, position: dict[str, Any]) -> None:
        """Files keep no consumer state: the checkpoint stores the position."""

    def close(self) -> None:
        self._file.close()


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

    def sync(self) -> None:
        self.flush()
        fsync_output(self._file)

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
