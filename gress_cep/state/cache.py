"""A write-back cache of keyed state: the hot path works on a dict, RocksDB sees batches.

Keyed operators read `cache.data` directly (`cache.data.get(key)` in the generated loop) and
call `mark_dirty` after changing a key's state. RocksDB is touched only:
- on a miss, and only once something may be on disk that is not in memory (after a restore or
  an eviction); a bloom-filter check (`may_contain`) comes before any read;
- between batches, when the cache holds more than `max_entries` keys: the least recently used
  ones leave memory, the dirty ones among them written to the live table first (state larger
  than memory spills to RocksDB);
- at a checkpoint: `flush_into` adds every dirty and removed key to the checkpoint's batch.

Recency is the order of loads and writes: a key read on the hot path without `mark_dirty` keeps
its place. Keys are ordered at batch granularity (`maybe_evict` moves the keys written since the
last call to the back), which is all eviction between batches can use — and only once the cache
is more than half full: below that, nothing is evicted soon, and `mark_dirty` (called for every
event of a key with state) is one set insertion instead of two.

Invariant: a key in `data` and not dirty has the same value in the live table, so evicting it
costs no write; a removed key is remembered until the next flush so that a stale value on disk
is never loaded back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any, Generic, TypeVar

from gress_cep.state.backend import StateBackend, WriteBatch
from gress_cep.state.keys import decode_key, encode_key

V = TypeVar("V")


class KeyedStateCache(Generic[V]):
    def __init__(
        self,
        backend: StateBackend,
        table: str,
        *,
        encode_value: Callable[[V], bytes],
        decode_value: Callable[[bytes], V],
        max_entries: int,
        encode_key: Callable[[Any], bytes] = encode_key,
        decode_key: Callable[[bytes], Any] = decode_key,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.table_name = table
        self.max_entries = max_entries
        self.data: dict[Any, V] = {}
        self.evictions = 0  # keys moved out of memory, for metrics
        self.disk_loads = 0  # misses answered from the table
        self._backend = backend
        self._table = backend.table(table)
        self._encode_key = encode_key
        self._decode_key = decode_key
        self._encode_value = encode_value
        self._decode_value = decode_value
        self._dirty: set[Any] = set()
        self._deleted: set[Any] = set()
        self._touched: set[Any] = set()  # written since the last maybe_evict
        # the table may hold keys that are not in `data` (after an eviction or a restore); a
        # plain attribute, read by the engine's generated loop on every miss
        self.spilled = False
        self._written = False  # the table may hold keys at all
        self._on_disk_only = 0  # estimate of the keys in the table and not in `data`
        self._tracking = False  # whether `_touched` is kept (see _track_recency)
        self._track_recency()

    def __len__(self) -> int:
        """Keys in memory plus keys only on disk (an estimate after a restore)."""
        return len(self.data) + self._on_disk_only

    def disk_only(self) -> Iterator[tuple[bytes, Any, bytes]]:
        """(encoded key, key, encoded value) of the keys whose state is only on disk, in
        encoded-key order, without loading them."""
        if not self.spilled:
            return
        data, deleted = self.data, self._deleted
        for raw_key, value in self._table.items():
            key = self._decode_key(raw_key)
            if key not in data and key not in deleted:
                yield raw_key, key, value

    def load(self, key: Any) -> V | None:
        """The miss path: the key's state from disk (now cached in `data`), or None."""
        if not self.spilled or key in self._deleted:
            return None
        encoded = self._encode_key(key)
        if not self._table.may_contain(encoded):
            return None
        raw = self._table.get(encoded)
        if raw is None:
            return None
        value = self._decode_value(raw)
        self.data[key] = value
        self.disk_loads += 1
        if self._on_disk_only:
            self._on_disk_only -= 1
        return value

    def put(self, key: Any, value: V) -> None:
        self.data[key] = value
        self.mark_dirty(key)

    def mark_dirty(self, key: Any) -> None:
        """The state of `key` (in `data`) changed: write it at the next flush."""
        self._dirty.add(key)
        if self._tracking:
            self._touched.add(key)

    def mark_dirty_all(self, keys: list[Any]) -> None:
        self._dirty.update(keys)
        if self._tracking:
            self._touched.update(keys)

    def _track_recency(self) -> None:
        """Keep the eviction order only when eviction may come soon (see the module doc)."""
        self._tracking = len(self.data) > self.max_entries // 2

    def remove(self, key: Any) -> None:
        """Forget `key`: gone from memory now, deleted from the table at the next flush."""
        self.data.pop(key, None)
        self._dirty.discard(key)
        if self._written:
            self._deleted.add(key)

    def remove_all(self, keys: list[Any]) -> None:
        pop = self.data.pop
        for key in keys:
            pop(key, None)
        self._dirty.difference_update(keys)
        if self._written:
            self._deleted.update(keys)

    def maybe_evict(self) -> int:
        """Between batches: bring `data` back to `max_entries` keys, and write the deletes of
        removed keys once more than `max_entries` wait (a million windows closing at the end
        of input). Returns how many keys left memory."""
        if len(self._deleted) > self.max_entries:
            batch = WriteBatch()
            for key in self._deleted:
                batch.delete(self.table_name, self._encode_key(key))
            self._backend.write(batch)
            self._deleted.clear()
        touched, self._touched = self._touched, set()
        excess = len(self.data) - self.max_entries
        self._track_recency()
        if excess <= 0:
            return 0
        data = self.data
        for key in touched:  # most recently written: to the back of the eviction order
            if key in data:
                data[key] = data.pop(key)
        batch = WriteBatch()
        for key in list(islice(data, excess)):
            value = data.pop(key)
            if key in self._dirty:
                self._dirty.discard(key)
                self._deleted.discard(key)
                batch.put(self.table_name, self._encode_key(key), self._encode_value(value))
        if batch:
            self._backend.write(batch)
            self._written = True
        self.spilled = True
        self._on_disk_only += excess
        self.evictions += excess
        return excess

    def flush_into(self, batch: WriteBatch) -> None:
        """Add what changed since the last flush (dirty keys, removed keys) to a checkpoint's
        batch. Afterwards the live table agrees with `data` once `batch` is written."""
        name, encode_key, encode_value, data = (
            self.table_name,
            self._encode_key,
            self._encode_value,
            self.data,
        )
        for key in self._dirty:
            batch.put(name, encode_key(key), encode_value(data[key]))
        for key in self._deleted - self._dirty:
            batch.delete(name, encode_key(key))
        if self._dirty:
            self._written = True
        self._dirty.clear()
        self._deleted.clear()

    def after_restore(self) -> None:
        """The live table now holds a checkpoint's state: forget memory, look on disk."""
        self.data.clear()
        self._dirty.clear()
        self._deleted.clear()
        self._touched.clear()
        self._on_disk_only = self._table.count()
        self.spilled = self._written = True
