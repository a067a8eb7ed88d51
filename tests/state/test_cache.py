"""KeyedStateCache: the hot path on a dict, the table touched only on a miss, an eviction or a
flush."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gress_cep.state.backend import StateBackend, WriteBatch
from gress_cep.state.cache import KeyedStateCache
from gress_cep.state.keys import decode_key, encode_key
from gress_cep.state.memory import MemoryBackend, MemoryTable
from gress_cep.state.rocksdb import RocksDbBackend


class CountingTable:
    """A memory table that counts the calls the cache makes."""

    def __init__(self, table: MemoryTable, calls: Counter[str]) -> None:
        self._table = table
        self.calls = calls

    def get(self, key: bytes) -> bytes | None:
        self.calls["get"] += 1
        return self._table.get(key)

    def may_contain(self, key: bytes) -> bool:
        self.calls["may_contain"] += 1
        return self._table.may_contain(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.calls["put"] += 1
        self._table.put(key, value)

    def delete(self, key: bytes) -> None:
        self.calls["delete"] += 1
        self._table.delete(key)

    def items(self, start: bytes = b"", end: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        self.calls["items"] += 1
        return self._table.items(start, end)

    def count(self) -> int:
        self.calls["count"] += 1
        return self._table.count()


class CountingBackend(MemoryBackend):
    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def table(self, name: str) -> CountingTable:  # type: ignore[override]
        return CountingTable(super().table(name), self.calls)

    def write(self, batch: WriteBatch) -> None:
        self.calls["write"] += 1
        self.calls["written entries"] += len(batch)
        super().write(batch)

    def stored(self, table: str = "t") -> dict[Any, int]:
        return {decode_key(k): int(v) for k, v in super().table(table).items()}


def make_cache(backend: StateBackend, max_entries: int = 1000) -> KeyedStateCache[int]:
    return KeyedStateCache(
        backend,
        "t",
        encode_value=lambda v: b"%d" % v,
        decode_value=int,
        max_entries=max_entries,
    )


def checkpoint(backend: StateBackend, cache: KeyedStateCache[int]) -> None:
    batch = WriteBatch()
    cache.flush_into(batch)
    backend.write(batch)


def test_hits_and_new_keys_touch_no_table() -> None:
    backend = CountingBackend()
    cache = make_cache(backend)
    for i in range(500):
        key = f"k{i % 50}"
        value = cache.data.get(key)
        if value is None:
            value = cache.load(key)
        cache.put(key, (value or 0) + 1)
        cache.maybe_evict()
    assert backend.calls == Counter()
    assert cache.data == {f"k{i}": 10 for i in range(50)}


def test_nothing_is_written_until_flush() -> None:
    backend = CountingBackend()
    cache = make_cache(backend)
    for i in range(100):
        cache.put(i, i)
    assert backend.stored() == {}
    checkpoint(backend, cache)
    assert backend.stored() == {i: i for i in range(100)}
    assert backend.calls["write"] == 1


def test_a_flush_writes_only_what_changed_since_the_last_one() -> None:
    backend = CountingBackend()
    cache = make_cache(backend)
    for i in range(100):
        cache.put(i, i)
    checkpoint(backend, cache)
    cache.data[7] += 1000
    cache.mark_dirty(7)
    batch = WriteBatch()
    cache.flush_into(batch)
    assert batch.puts == [("t", encode_key(7), b"1007")] and batch.deletes == []


def test_removed_keys_are_deleted_from_the_table_at_the_next_flush() -> None:
    backend = CountingBackend()
    cache = make_cache(backend)
    for i in range(10):
        cache.put(i, i)
    checkpoint(backend, cache)
    cache.remove(3)
    assert 3 not in cache.data and 3 in backend.stored()
    checkpoint(backend, cache)
    assert 3 not in backend.stored()


def test_a_key_removed_before_any_flush_costs_no_delete() -> None:
    cache = make_cache(CountingBackend())
    cache.put("k", 1)
    cache.remove("k")
    batch = WriteBatch()
    cache.flush_into(batch)
    assert len(batch) == 0


def test_a_removed_key_is_not_loaded_back_from_a_stale_copy() -> None:
    backend = CountingBackend()
    cache = make_cache(backend, max_entries=1)
    cache.put("a", 1)
    checkpoint(backend, cache)
    cache.put("b", 2)
    cache.maybe_evict()  # something is on disk only now: misses look at the table
    cache.remove("a")
    assert cache.load("a") is None


def test_a_key_removed_then_created_again_is_written_not_deleted() -> None:
    backend = CountingBackend()
    cache = make_cache(backend)
    cache.put("k", 1)
    checkpoint(backend, cache)
    cache.remove("k")
    cache.put("k", 2)
    checkpoint(backend, cache)
    assert backend.stored() == {"k": 2}


def test_eviction_keeps_at_most_max_entries_in_memory() -> None:
    backend = CountingBackend()
    cache = make_cache(backend, max_entries=100)
    for i in range(1000):
        cache.put(i, i)
        if i % 10 == 9:  # a batch of 10
            cache.maybe_evict()
            assert len(cache.data) <= 100
    assert len(cache) == 1000


def test_evicted_dirty_keys_are_written_to_the_table_in_one_batch() -> None:
    backend = CountingBackend()
    cache = make_cache(backend, max_entries=10)
    for i in range(30):
        cache.put(i, i)
    assert cache.maybe_evict() == 20
    assert backend.calls["write"] == 1 and backend.calls["written entries"] == 20
    assert backend.stored() == {i: i for i in range(20)}


def test_evicting_clean_keys_writes_nothing() -> None:
    backend = CountingBackend()
    cache = make_cache(backend, max_entries=10)
    for i in range(30):
        cache.put(i, i)
    checkpoint(backend, cache)
    writes = backend.calls["write"]
    cache.maybe_evict()
    assert backend.calls["write"] == writes


def test_the_least_recently_written_keys_leave_first() -> None:
    cache = make_cache(CountingBackend(), max_entries=3)
    for key in ("a", "b", "c"):
        cache.put(key, 1)
    cache.maybe_evict()
    cache.put("a", 2)  # a is now the most recent
    cache.put("d", 1)
    cache.maybe_evict()
    assert set(cache.data) == {"c", "a", "d"}


def test_spilled_keys_come_back_with_load() -> None:
    backend = CountingBackend()
    cache = make_cache(backend, max_entries=10)
    for i in range(100):
        cache.put(i, i * 2)
    cache.maybe_evict()
    assert cache.data.get(0) is None
    assert cache.load(0) == 0 and cache.load(5) == 10
    assert cache.data[5] == 10  # cached again
    assert cache.disk_loads == 2


def test_a_miss_checks_the_bloom_filter_before_reading() -> None:
    backend = CountingBackend()
    cache = make_cache(backend, max_entries=1)
    cache.put("a", 1)
    cache.put("b", 1)
    cache.maybe_evict()
    backend.calls.clear()
    assert cache.load("never") is None
    assert backend.calls == Counter({"may_contain": 1})


def test_state_survives_a_checkpoint_and_restore() -> None:
    backend = CountingBackend()
    cache = make_cache(backend, max_entries=50)
    for i in range(200):
        cache.put(i, i)
        cache.maybe_evict()
    cache.remove(7)
    checkpoint(backend, cache)
    backend.checkpoint(1, {})
    cache.put(0, -1)
    cache.put(1000, 1)
    backend.restore(1)
    cache.after_restore()
    assert cache.data == {}
    assert len(cache) == 199
    assert [cache.load(i) for i in (0, 7, 199, 1000)] == [0, None, 199, None]


def test_the_same_through_rocksdb(tmp_path: Path) -> None:
    backend = RocksDbBackend(tmp_path)
    cache = make_cache(backend, max_entries=100)
    for i in range(5000):
        cache.put(("card", i), i)
        if i % 100 == 99:
            cache.maybe_evict()
    checkpoint(backend, cache)
    backend.checkpoint(1, {})
    backend.restore(1)
    cache.after_restore()
    assert all(cache.load(("card", i)) == i for i in range(0, 5000, 7))
    assert cache.load(("card", 5000)) is None
    backend.close()


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        make_cache(MemoryBackend(), max_entries=0)
