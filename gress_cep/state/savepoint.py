"""The savepoint format: a portable, self-contained copy of one checkpoint.

```
PATH/
  manifest.json         format name and version, the checkpoint (id, time, metadata), and per
                        table: name, data file, entry count, byte size, SHA-256
  table-0000.records    one file per table: records `key length | value length | key | value`,
  table-0001.records    lengths as unsigned 32-bit big endian, keys in ascending byte order
```
The data files do not depend on RocksDB (any version, any machine reads them, and the memory
backend writes the same format); the manifest is written last, so a savepoint cut short has
none and is refused. A reader checks the version, the sizes and the checksums before anything
reaches the live state.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from gress_cep.errors import UserError
from gress_cep.state.backend import CheckpointInfo
from gress_cep.state.durable_files import fsync_dir, remove_tree, write_atomically

FORMAT = "gress-savepoint"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_HEADER = struct.Struct(">II")  # key length, value length
_CHUNK = 1 << 20


@dataclass(slots=True)
class SavepointTable:
    name: str
    file: str
    entries: int
    size_bytes: int
    sha256: str


@dataclass(slots=True)
class SavepointSummary:
    """What `write_savepoint` wrote, for the command's report."""

    tables: int
    entries: int
    size_bytes: int


def write_savepoint(
    path: Path,
    info: CheckpointInfo,
    tables: Iterable[tuple[str, Iterable[tuple[bytes, bytes]]]],
) -> SavepointSummary:
    """Write `tables` (name, entries in key order) and `info` as a savepoint folder at `path`.

    `path` must not exist or be an empty folder. The savepoint is built next to it and renamed
    into place, so `path` never holds a partial savepoint.
    """
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UserError(
            f"{path} already exists and is not an empty folder",
            hint="choose a new path for the savepoint",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(f".{path.name}.partial-{os.getpid()}")
    remove_tree(building)
    building.mkdir()
    try:
        written = [
            _write_table(building / f"table-{number:04d}.records", name, entries)
            for number, (name, entries) in enumerate(tables)
        ]
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "saved_at": time.time(),
            "checkpoint": {
                "id": info.checkpoint_id,
                "created_at": info.created_at,
                "metadata": info.metadata,
            },
            "tables": [
                {
                    "name": t.name,
                    "file": t.file,
                    "entries": t.entries,
                    "size_bytes": t.size_bytes,
                    "sha256": t.sha256,
                }
                for t in written
            ],
        }
        write_atomically(building / MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        os.replace(building, path)  # replaces an empty folder too
        fsync_dir(path.parent)
    finally:
        remove_tree(building)
    return SavepointSummary(
        tables=len(written),
        entries=sum(t.entries for t in written),
        size_bytes=sum(t.size_bytes for t in written),
    )


def _write_table(path: Path, name: str, entries: Iterable[tuple[bytes, bytes]]) -> SavepointTable:
    digest = hashlib.sha256()
    count = size = 0
    chunk = bytearray()
    with open(path, "wb") as fh:
        for key, value in entries:
            chunk += _HEADER.pack(len(key), len(value))
            chunk += key
            chunk += value
            count += 1
            if len(chunk) >= _CHUNK:
                digest.update(chunk)
                fh.write(chunk)
                size += len(chunk)
                chunk.clear()
        digest.update(chunk)
        fh.write(chunk)
        size += len(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    return SavepointTable(name, path.name, count, size, digest.hexdigest())


@dataclass(slots=True)
class Savepoint:
    """A savepoint folder whose manifest has been read and checked (not yet its data)."""

    path: Path
    info: CheckpointInfo
    tables: list[SavepointTable]

    def entries(self, table: SavepointTable) -> Iterator[tuple[bytes, bytes]]:
        """The records of one table. The size and checksum are checked at the end: consume the
        iterator fully before trusting what it gave (a UserError means the file is corrupt)."""
        digest = hashlib.sha256()
        count = size = 0
        pending = b""
        with open(self.path / table.file, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                data = pending + chunk if pending else chunk
                pos = 0
                while len(data) - pos >= _HEADER.size:
                    key_len, value_len = _HEADER.unpack_from(data, pos)
                    end = pos + _HEADER.size + key_len + value_len
                    if end > len(data):
                        break
                    key_end = pos + _HEADER.size + key_len
                    yield data[pos + _HEADER.size : key_end], data[key_end:end]
                    count += 1
                    pos = end
                pending = data[pos:]
        if pending or size != table.size_bytes or count != table.entries:
            self._corrupt(table, "its size or record count does not match the manifest")
        if digest.hexdigest() != table.sha256:
            self._corrupt(table, "its SHA-256 checksum does not match the manifest")

    def _corrupt(self, table: SavepointTable, reason: str) -> None:
        raise UserError(
            f"savepoint {self.path} is corrupt: {table.file} (table {table.name!r}): {reason}",
            hint="take the savepoint again (`gress savepoint STATE_DIR --to PATH`)",
        )


def read_savepoint(path: Path) -> Savepoint:
    """Open a savepoint: refuse, with a UserError, a folder that is not one, an unknown format
    version, or a manifest that does not match the files next to it."""
    manifest_path = path / MANIFEST
    if not path.is_dir():
        raise UserError(f"savepoint {path} does not exist")
    if not manifest_path.is_file():
        raise UserError(
            f"{path} is not a savepoint (it has no {MANIFEST})",
            hint="a savepoint cut short has no manifest; take it again",
        )
    try:
        manifest: dict[str, Any] = orjson.loads(manifest_path.read_bytes())
        if manifest.get("format") != FORMAT:
            raise UserError(f"{path} is not a savepoint ({MANIFEST} is not a gress manifest)")
        version = manifest.get("version")
        if version != FORMAT_VERSION:
            raise UserError(
                f"savepoint {path} has format version {version}; "
                f"this gress reads version {FORMAT_VERSION}",
                hint="restore it with the gress version that wrote it",
            )
        checkpoint = manifest["checkpoint"]
        info = CheckpointInfo(
            checkpoint_id=int(checkpoint["id"]),
            created_at=float(checkpoint["created_at"]),
            metadata=dict(checkpoint["metadata"]),
        )
        tables = [
            SavepointTable(
                name=str(t["name"]),
                file=str(t["file"]),
                entries=int(t["entries"]),
                size_bytes=int(t["size_bytes"]),
                sha256=str(t["sha256"]),
            )
            for t in manifest["tables"]
        ]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise UserError(
            f"savepoint {path} is corrupt: {MANIFEST} cannot be read ({err})",
            hint="take the savepoint again (`gress savepoint STATE_DIR --to PATH`)",
        ) from None
    for table in tables:
        data = path / table.file
        if Path(table.file).name != table.file or not data.is_file():
            raise UserError(
                f"savepoint {path} is corrupt: {table.file} (table {table.name!r}) is missing",
                hint="copy the whole savepoint folder",
            )
    info.size_bytes = sum(t.size_bytes for t in tables)
    return Savepoint(path, info, tables)
