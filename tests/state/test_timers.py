"""TimerTable: due timers across keys, in deadline order, write-back like the keyed cache."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gress_cep.state.backend import StateBackend, WriteBatch
from gress_cep.state.keys import encode_key
from gress_cep.state.memory import MemoryBackend
from gress_cep.state.rocksdb import RocksDbBackend
from gress_cep.state.timers import TimerTable, deadline_bytes


def flush(backend: StateBackend, timers: TimerTable) -> None:
    batch = WriteBatch()
    timers.flush_into(batch)
    backend.write(batch)


def test_pop_due_returns_timers_up_to_and_including_the_time_in_deadline_order() -> None:
    timers = TimerTable(MemoryBackend(), "timers")
    for deadline, key in [(300, "c"), (100, "a"), (200, "b"), (301, "d")]:
        timers.register(deadline, key)
    assert timers.pop_due(300) == [(100, "a"), (200, "b"), (300, "c")]
    assert timers.pop_due(300) == []
    assert timers.pop_due(10_000) == [(301, "d")]


def test_registering_a_timer_twice_fires_it_once() -> None:
    timers = TimerTable(MemoryBackend(), "timers")
    timers.register(5, "k")
    timers.register(5, "k")
    assert timers.pop_due(5) == [(5, "k")]


def test_a_cancelled_timer_does_not_fire() -> None:
    backend = MemoryBackend()
    timers = TimerTable(backend, "timers")
    timers.register(5, "in memory")
    timers.register(6, "on disk")
    flush(backend, timers)
    timers.register(7, "registered after the flush")
    timers.cancel(6, "on disk")
    timers.cancel(7, "registered after the flush")
    assert timers.pop_due(100) == [(5, "in memory")]
    flush(backend, timers)
    assert list(backend.table("timers").items()) == []


def test_a_timer_cancelled_in_memory_leaves_nothing_for_the_flush() -> None:
    backend = MemoryBackend()
    timers = TimerTable(backend, "timers")
    timers.register(5, "k")
    timers.cancel(5, "k")
    assert timers.pending == 0


def test_a_popped_timer_leaves_nothing_behind() -> None:
    backend = MemoryBackend()
    timers = TimerTable(backend, "timers")
    timers.register(6, "popped from disk")
    flush(backend, timers)
    timers.register(5, "popped in memory")
    assert timers.pop_due(7) == [(5, "popped in memory"), (6, "popped from disk")]
    timers.register(7, "registered again after a pop")
    assert timers.pop_due(7) == [(7, "registered again after a pop")]
    timers.register(7, "registered again after a pop")
    assert timers.pop_due(7) == [(7, "registered again after a pop")]
    flush(backend, timers)
    assert list(backend.table("timers").items()) == []
    assert timers.pending == 0


def test_a_timer_on_disk_registered_again_fires_once() -> None:
    backend = MemoryBackend()
    timers = TimerTable(backend, "timers")
    timers.register(5, "k")
    flush(backend, timers)
    timers.register(5, "k")
    assert timers.pop_due(5) == [(5, "k")]
    flush(backend, timers)
    assert list(backend.table("timers").items()) == []


def test_equal_deadlines_come_in_the_order_of_the_encoded_keys() -> None:
    backend = MemoryBackend()
    timers = TimerTable(backend, "timers")
    for key in ["bb", "a", 3, ("t", 1)]:
        timers.register(9, key)
    due = timers.pop_due(9)
    assert due == sorted(due, key=lambda t: encode_key(t[1]))


@pytest.mark.parametrize("deadline", [-(2**63), -1, 0, 1, 2**62, 2**63 - 1])
def test_deadline_bytes_sort_like_the_numbers(deadline: int) -> None:
    neighbours = [d for d in (deadline - 1, deadline + 1) if -(2**63) <= d < 2**63]
    for other in neighbours:
        assert (deadline_bytes(deadline) < deadline_bytes(other)) == (deadline < other)


def test_a_deadline_outside_64_bits_is_refused() -> None:
    with pytest.raises(ValueError, match="64 bits"):
        deadline_bytes(2**63)


def test_nothing_reaches_the_table_before_a_flush() -> None:
    backend = MemoryBackend()
    timers = TimerTable(backend, "timers")
    timers.register(10, "k")
    assert backend.table("timers").count() == 0
    flush(backend, timers)
    assert backend.table("timers").count() == 1


def test_flushed_timers_are_found_on_disk_and_deleted_at_the_next_flush() -> None:
    backend = MemoryBackend()
    timers = TimerTable(backend, "timers")
    timers.register(10, ("card", 1))
    flush(backend, timers)
    assert timers.pop_due(10) == [(10, ("card", 1))]
    flush(backend, timers)
    assert backend.table("timers").count() == 0


def test_a_late_registration_is_due_at_once() -> None:
    backend = MemoryBackend()
    timers = TimerTable(backend, "timers")
    timers.register(100, "a")
    flush(backend, timers)
    assert timers.pop_due(100) == [(100, "a")]
    timers.register(50, "late")
    flush(backend, timers)  # now on disk, below the range already scanned
    assert timers.pop_due(100) == [(50, "late")]


def test_spilling_bounds_the_pending_timers() -> None:
    backend = MemoryBackend()
    timers = TimerTable(backend, "timers", max_pending=100)
    for i in range(1000):
        timers.register(i, i)
        if i % 50 == 49:
            timers.maybe_spill()
            assert timers.pending <= 150
    assert [k for _, k in timers.pop_due(999)] == list(range(1000))


def test_timers_restore_with_the_checkpoint(tmp_path: Path) -> None:
    backend = RocksDbBackend(tmp_path)
    timers = TimerTable(backend, "timers")
    timers.register(10, "fired before the checkpoint")
    timers.register(20, "a")
    timers.register(30, "b")
    timers.pop_due(10)
    flush(backend, timers)
    backend.checkpoint(1, {})
    assert timers.pop_due(25) == [(20, "a")]
    timers.register(26, "after the checkpoint")
    backend.restore(1)
    timers.after_restore()
    assert timers.pop_due(100) == [(20, "a"), (30, "b")]
    backend.close()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_operations_agree_with_a_plain_set(seed: int) -> None:
    """Registrations (some already late), cancellations, pops, flushes and
    spills in random order, against a set. Equal deadlines come in the order of the encoded
    keys."""
    rng = random.Random(seed)
    backend = MemoryBackend()
    timers = TimerTable(backend, "timers", max_pending=20)
    model: set[tuple[int, int]] = set()
    now = 0
    for _ in range(2000):
        action = rng.random()
        if action < 0.5:
            timer = (now + rng.randint(-5, 50), rng.randint(-200, 200))
            if timer in model:
                continue  # the contract: a pair is registered again only once it fired
            timers.register(*timer)
            model.add(timer)
        elif action < 0.6 and model:
            timer = rng.choice(sorted(model))
            timers.cancel(*timer)
            model.discard(timer)
        elif action < 0.8:
            now += rng.randint(0, 10)
            due = timers.pop_due(now)
            assert due == sorted(due, key=lambda t: (t[0], encode_key(t[1])))
            assert sorted(due) == sorted(t for t in model if t[0] <= now)
            model -= set(due)
        elif action < 0.9:
            flush(backend, timers)
        else:
            timers.maybe_spill()
    assert sorted(timers.pop_due(now + 1000)) == sorted(model)
    flush(backend, timers)
    assert list(backend.table("timers").items()) == []  # nothing left behind


def test_keys_come_in_encoded_key_order_for_any_key() -> None:
    from gress_cep.state.keys import encode_key
    from gress_cep.state.timers import in_key_order

    keys = ["k10", "k9", "a", "bb", "é", "x" * 200, "x" * 129, 7, ("a", 1)]
    assert in_key_order(keys) == sorted(keys, key=encode_key)
    ascii_only = [k for k in keys if isinstance(k, str) and k.isascii()]
    assert in_key_order(ascii_only) == sorted(ascii_only, key=encode_key)


def test_short_ascii_keys_sorted_without_encoding_keep_the_encoded_order() -> None:
    from gress_cep.state.keys import encode_key
    from gress_cep.state.timers import in_key_order

    keys = [f"k{i}" for i in (100, 9, 10, 1, 55)] + ["a", "zz", ""]
    assert in_key_order(keys) == sorted(keys, key=encode_key)
