"""State in RocksDB (rocksdict): one database per state directory, one column family per table.

Column families rather than key prefixes: a table maps to what RocksDB already has for it, so a
range scan or a key count stays inside one table, one `WriteBatch` still spans all tables
atomically, and a RocksDB checkpoint covers them together. Memory stays bounded however many
tables there are: the column families share one block cache and one write-buffer budget.

Durability: the live database is written without a WAL. Checkpoints are the durability boundary:
`checkpoint` flushes the memtables (atomically across column families) and then takes a RocksDB
checkpoint, so nothing a checkpoint covers lives only in memory. After a crash the live database
may hold writes newer than any checkpoint (or half of them): a job always starts with `restore`,
which replaces it with a checkpoint.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import rocksdict

from gress_cep.errors import UserError
from gress_cep.state.backend import CheckpointInfo, WriteBatch
from gress_cep.state.durable_files import fsync_dir, fsync_file, remove_tree, replace_dir, tree_size
from gress_cep.state.savepoint import (
    Savepoint,
    SavepointSummary,
    read_savepoint,
    write_savepoint,
)
from gress_cep.state.state_dir import METADATA, StateDir

BLOCK_CACHE_BYTES = 64 << 20
WRITE_BUFFER_BYTES = 64 << 20  # memtables of all column families together
_DEFAULT_CF = "default"
_IMMUTABLE_SUFFIXES = (".sst", ".blob")  # never modified once written: safe to hard-link
_LOAD_BATCH = 10_000


def _options(cache: rocksdict.Cache, buffers: rocksdict.WriteBufferManager) -> rocksdict.Options:
    """Options for a write-heavy workload with point reads."""
    table = rocksdict.BlockBasedOptions()
    # full bloom filters, ~1% false positives; kept in table-reader memory (not in the block
    # cache, where they could be evicted) so key_may_exist answers "absent" without a disk read
    table.set_bloom_filter(10, False)
    table.set_cache_index_and_filter_blocks(False)
    table.set_block_cache(cache)
    options = rocksdict.Options(raw_mode=True)
    options.create_if_missing(True)
    options.create_missing_column_families(True)
    options.set_block_based_table_factory(table)
    options.set_write_buffer_manager(buffers)
    options.set_write_buffer_size(16 << 20)
    options.set_max_write_buffer_number(3)
    options.set_max_background_jobs(2)
    options.set_atomic_flush(True)  # no WAL: column families must be flushed together
    options.set_compression_type(rocksdict.DBCompressionType.lz4())
    options.set_keep_log_file_num(2)
    options.set_max_log_file_size(4 << 20)
    return options


class RocksTable:
    """A column family of the live database; stays valid across `restore` (rebound to the new
    database) and raises once the backend is closed."""

    __slots__ = ("_cf", "name")

    def __init__(self, name: str, cf: rocksdict.Rdict | None) -> None:
        self.name = name
        self._cf = cf

    def rebind(self, cf: rocksdict.Rdict | None) -> None:
        """Point at the column family of a newly opened live database (None: closed)."""
        self._cf = cf

    @property
    def _family(self) -> rocksdict.Rdict:
        if self._cf is None:
            raise RuntimeError(f"state table {self.name!r}: the backend is closed")
        return self._cf

    def get(self, key: bytes) -> bytes | None:
        return self._family.get(key)

    def may_contain(self, key: bytes) -> bool:
        return bool(self._family.key_may_exist(key))

    def put(self, key: bytes, value: bytes) -> None:
        self._family.put(key, value)

    def delete(self, key: bytes) -> None:
        self._family.delete(key)

    def items(self, start: bytes = b"", end: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        read = rocksdict.ReadOptions()
        if end is not None:
            if end <= start:
                return
            read.set_iterate_upper_bound(end)
        yield from self._family.items(from_key=start, read_opt=read)

    def count(self) -> int:
        """RocksDB's estimate: exact for distinct puts, approximate after overwrites/deletes."""
        return self._family.property_int_value("rocksdb.estimate-num-keys") or 0


class RocksDbBackend:
    """The live state in STATE_DIR/live, checkpoints in STATE_DIR/checkpoints (see state_dir)."""

    def __init__(
        self,
        state_dir: Path,
        *,
        block_cache_bytes: int = BLOCK_CACHE_BYTES,
        write_buffer_bytes: int = WRITE_BUFFER_BYTES,
    ) -> None:
        self.dir = StateDir(Path(state_dir))
        self.dir.create()
        self._lock = self.dir.lock()
        self.dir.remove_leftovers()
        self._cache = rocksdict.Cache(block_cache_bytes)
        self._buffers = rocksdict.WriteBufferManager(write_buffer_bytes, False)
        self._options = _options(self._cache, self._buffers)
        self._write_options = rocksdict.WriteOptions()
        # a property in rocksdict, though its type stub declares a method
        self._write_options.disable_wal = True  # type: ignore[method-assign,assignment]
        self._tables: dict[str, RocksTable] = {}
        self._db: rocksdict.Rdict | None = None
        self._handles: dict[str, Any] = {}
        self._families: set[str] = set()  # column families of the open live database
        try:
            self._open_live()
        except Exception as err:  # rocksdict raises bare Exceptions with RocksDB's message
            self._lock.release()
            raise UserError(
                f"cannot open the live state database {self.dir.live}: {err}",
                hint="it holds nothing a checkpoint does not; delete that folder and start again",
            ) from None

    # -- the live database -------------------------------------------------------------------

    def _open_live(self) -> None:
        live = self.dir.live
        names = rocksdict.Rdict.list_cf(str(live)) if (live / "CURRENT").exists() else []
        families = {name: self._options for name in names if name != _DEFAULT_CF}
        self._db = rocksdict.Rdict(str(live), self._options, column_families=families)
        self._db.set_write_options(self._write_options)
        self._families = {_DEFAULT_CF, *families}
        for table in self._tables.values():
            table.rebind(self._family(table.name))

    def _close_live(self) -> None:
        # rocksdict keeps the database open while a column family or handle object lives
        for table in self._tables.values():
            table.rebind(None)
        self._handles.clear()
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def _live(self) -> rocksdict.Rdict:
        if self._db is None:
            raise RuntimeError(f"the state backend of {self.dir.root} is closed")
        return self._db

    def _family(self, name: str) -> rocksdict.Rdict:
        db = self._live
        if name in self._families:
            cf = db.get_column_family(name)
        else:
            cf = db.create_column_family(name, self._options)
            self._families.add(name)
        cf.set_write_options(self._write_options)
        return cf

    def _handle(self, name: str) -> Any:
        handle = self._handles.get(name)
        if handle is None:
            self.table(name)
            handle = self._handles[name] = self._live.get_column_family_handle(name)
        return handle

    def table(self, name: str) -> RocksTable:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = RocksTable(name, self._family(name))
        return table

    def write(self, batch: WriteBatch) -> None:
        """Puts, then deletes, in one atomic RocksDB write."""
        rocks_batch = rocksdict.WriteBatch(raw_mode=True)
        for name, key, value in batch.puts:
            rocks_batch.put(key, value, self._handle(name))
        for name, key in batch.deletes:
            rocks_batch.delete(key, self._handle(name))
        self._live.write(rocks_batch, self._write_options)

    # -- checkpoints -----------------------------------------------------------------------

    def checkpoint(self, checkpoint_id: int, metadata: dict[str, Any]) -> CheckpointInfo:
        """Flush, take a RocksDB checkpoint (hard links), fsync it, then write metadata.json."""
        if self.dir.checkpoint_info(checkpoint_id) is not None:
            raise ValueError(f"checkpoint {checkpoint_id} already exists in {self.dir.root}")
        target = self.dir.checkpoint_path(checkpoint_id)
        remove_tree(target)  # an incomplete one with this id, from a killed run
        remove_tree(target.with_name(target.name + ".tmp"))
        for table in self._tables.values():  # every table written through this backend
            table._family.flush(True)
        rocksdict.Checkpoint(self._live).create_checkpoint(str(target))
        for entry in target.iterdir():
            fsync_file(entry)
        fsync_dir(target)
        fsync_dir(target.parent)
        info = CheckpointInfo(checkpoint_id, time.time(), dict(metadata), tree_size(target))
        self.dir.mark_complete(info)
        return info

    def checkpoints(self) -> list[CheckpointInfo]:
        return self.dir.complete_checkpoints()

    def discard_older_than(self, checkpoint_id: int) -> None:
        self.dir.discard_older_than(checkpoint_id)

    def restore(self, checkpoint_id: int | None = None) -> CheckpointInfo | None:
        """Replace the live database with a copy of a checkpoint (an empty one when there is no
        checkpoint). A kill at any point leaves the checkpoint intact: restore again."""
        if checkpoint_id is None and not self.checkpoints():
            self._replace_live(lambda staging: None)
            return None
        info = self.dir.find_checkpoint(checkpoint_id)
        source = self.dir.checkpoint_path(info.checkpoint_id)
        self._replace_live(lambda staging: _copy_checkpoint(source, staging))
        return info

    def clear(self) -> None:
        self._replace_live(lambda staging: None)

    def savepoint(self, checkpoint_id: int, path: Path) -> None:
        info = self.dir.find_checkpoint(checkpoint_id)
        savepoint_from_checkpoint(self.dir.checkpoint_path(checkpoint_id), info, path)

    def restore_savepoint(self, path: Path) -> CheckpointInfo:
        """Load a savepoint into a new database beside the live one; swap only once every
        checksum matched, so a corrupt savepoint leaves the live state as it was."""
        savepoint = read_savepoint(path)
        self._replace_live(lambda staging: self._load_savepoint(savepoint, staging))
        return savepoint.info

    def _load_savepoint(self, savepoint: Savepoint, staging: Path) -> None:
        families = {t.name: self._options for t in savepoint.tables if t.name != _DEFAULT_CF}
        db = rocksdict.Rdict(str(staging), self._options, column_families=families)
        try:
            for table in savepoint.tables:
                handle = db.get_column_family_handle(table.name)
                batch = rocksdict.WriteBatch(raw_mode=True)
                for key, value in savepoint.entries(table):
                    batch.put(key, value, handle)
                    if batch.len() >= _LOAD_BATCH:
                        db.write(batch, self._write_options)
                        batch = rocksdict.WriteBatch(raw_mode=True)
                db.write(batch, self._write_options)
                del handle
            db.flush(True)
        finally:
            db.close()

    def _replace_live(self, build: Callable[[Path], None]) -> None:
        staging = self.dir.staging
        remove_tree(staging)
        staging.mkdir()
        try:
            build(staging)
            fsync_dir(staging)
        except BaseException:
            remove_tree(staging)
            raise
        self._close_live()
        replace_dir(staging, self.dir.live, self.dir.discarded)
        self._open_live()

    def close(self) -> None:
        self._close_live()
        self._lock.release()


def _copy_checkpoint(source: Path, target: Path) -> None:
    """Hard-link the immutable files of a checkpoint, copy the ones RocksDB may change (MANIFEST,
    CURRENT, OPTIONS, WAL), so that the live database never writes into the checkpoint."""
    for entry in source.iterdir():
        if entry.name == METADATA:
            continue
        destination = target / entry.name
        if entry.name.endswith(_IMMUTABLE_SUFFIXES):
            try:
                os.link(entry, destination)
                continue
            except OSError:  # another filesystem, or no hard links: copy instead
                pass
        shutil.copyfile(entry, destination)
        fsync_file(destination)


def read_checkpoint_tables(
    checkpoint_dir: Path,
) -> Iterator[tuple[str, Iterator[tuple[bytes, bytes]]]]:
    """Every table of a checkpoint folder, opened read-only (no lock needed, nothing written)."""
    options = rocksdict.Options(raw_mode=True)
    names = rocksdict.Rdict.list_cf(str(checkpoint_dir))
    families = {name: options for name in names if name != _DEFAULT_CF}
    db = rocksdict.Rdict(
        str(checkpoint_dir),
        options,
        column_families=families,
        access_type=rocksdict.AccessType.read_only(),
    )
    try:
        for name in names:
            cf = db.get_column_family(name)
            if name == _DEFAULT_CF and next(iter(cf.keys()), None) is None:
                del cf
                continue  # the column family RocksDB always has, unused by gress
            entries: Iterator[tuple[bytes, bytes]] = iter(cf.items())  # type: ignore[arg-type]
            yield name, entries
            del cf
    finally:
        db.close()


def savepoint_from_checkpoint(
    checkpoint_dir: Path, info: CheckpointInfo, path: Path
) -> SavepointSummary:
    """Write a complete checkpoint folder as a savepoint (used by the backend and the CLI)."""
    return write_savepoint(path, info, read_checkpoint_tables(checkpoint_dir))
