"""Issue 11 E.33: the ordering buffer (events waiting for the watermark) has a memory bound. Beyond
`max_in_memory` events they wait on disk, and come back exactly when and in the order they
would have without a bound; a checkpoint writes what changed (events held across checkpoints
are written once), and a restore — in the middle of any of it — continues identically."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gress_cep.operators.ordering import INLINE_MAX, EventTimeBuffer
from gress_cep.state import data_codec
from gress_cep.state.backend import WriteBatch
from gress_cep.state.memory import MemoryBackend
from gress_cep.state.operator_state import Restored, StateRegistry


class Holder:
    """What the pattern operator does with its buffer, alone."""

    def __init__(self, backend: MemoryBackend | None, max_in_memory: int) -> None:
        self.registry = StateRegistry(backend)
        self.registry.max_events_in_memory = max_in_memory
        ctx = self.registry.context("pattern:p", "pattern p", "f", "s")
        self.buffer = EventTimeBuffer()
        self.buffer.use_spill(ctx.spill("buffer"))
        ctx.value("meta", self.buffer.snapshot, self._restore)

    def _restore(self, value: Any, restored: Restored) -> None:
        self.buffer.restore(value)

    def release(self, watermark: int) -> list[Any]:
        return [e for part in self.buffer.release_in_slices(watermark) for e in part]


def checkpoint(holder: Holder, backend: MemoryBackend, number: int) -> int:
    """Take a checkpoint; returns the bytes the operator's snapshot value took."""
    batch = WriteBatch()
    holder.registry.snapshot_into(batch)
    backend.write(batch)
    backend.checkpoint(number, {})
    return len(data_codec.dumps(holder.buffer.snapshot()))


events_strategy = st.lists(
    st.lists(st.integers(min_value=0, max_value=60), min_size=0, max_size=40),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(
    batches=events_strategy,
    limit=st.integers(min_value=1, max_value=25),
    lags=st.lists(st.integers(min_value=0, max_value=30), min_size=30, max_size=30),
    restarts=st.sets(st.integers(min_value=0, max_value=29), max_size=4),
)
def test_spilling_releases_the_same_events_in_the_same_order(
    batches: list[list[int]], limit: int, lags: list[int], restarts: set[int]
) -> None:
    reference = EventTimeBuffer()  # no bound
    backend = MemoryBackend()
    holder = Holder(backend, limit)
    seq = 0
    expected: list[Any] = []
    got: list[Any] = []
    high = 0
    for round_, times in enumerate(batches):
        batch = []
        for ts in times:
            batch.append((ts, {"i": seq}))  # equal times: arrival order must be kept
            seq += 1
        high = max([high, *times])
        reference.add(batch)
        holder.buffer.add(batch)
        assert holder.buffer.in_memory() <= limit
        watermark = high - lags[round_]
        expected += reference.release(watermark)
        got += holder.release(watermark)
        if round_ in restarts:
            checkpoint(holder, backend, round_ + 1)
            backend.restore(round_ + 1)
            holder = Holder(backend, limit)
            assert holder.registry.restore() == []
    expected += reference.release_all()
    got += [e for part in holder.buffer.release_in_slices() for e in part]
    assert got == expected
    assert len(holder.buffer) == 0


def test_a_checkpoint_writes_what_changed_not_everything_held() -> None:
    """1,000,000 events held for a long lateness made each checkpoint serialize them all
    (3.5-6.4 s); now the snapshot holds at most INLINE_MAX events, and an event is written
    to disk once however many checkpoints it waits through."""
    backend = MemoryBackend()
    holder = Holder(backend, 1_000_000)
    writes: list[int] = []
    real_write = backend.write

    def counting_write(batch: WriteBatch) -> None:
        writes.append(len(batch.puts))
        real_write(batch)

    backend.write = counting_write  # type: ignore[method-assign]
    sizes = []
    for number in range(1, 6):
        base = number * 100_000
        holder.buffer.add([(base - i, {"n": i}) for i in range(30_000)])  # out of order
        writes.clear()
        sizes.append(checkpoint(holder, backend, number))
        spilled = sum(writes)
        assert spilled <= 30_000 + 10  # this checkpoint's new events (+ the manifest, meta)
    assert max(sizes) < 200  # only counts: every event is in the spill table
    assert len(holder.buffer) == 150_000
    assert holder.buffer.in_memory() == 0
    assert INLINE_MAX < 30_000


def test_without_a_backend_everything_stays_in_memory() -> None:
    holder = Holder(None, 10)
    holder.buffer.add([(i, {}) for i in range(100, 0, -1)])
    assert holder.buffer.in_memory() == 100
    assert [ts for ts, _ in holder.release(50)] == list(range(1, 51))


def test_a_changed_pattern_on_the_same_input_keeps_its_spilled_events() -> None:
    backend = MemoryBackend()
    holder = Holder(backend, 5)
    holder.buffer.add([(t, {"t": t}) for t in (9, 3, 7, 1, 5, 8, 2)])
    checkpoint(holder, backend, 1)
    backend.restore(1)
    changed = StateRegistry(backend)
    changed.max_events_in_memory = 5
    ctx = changed.context("pattern:p", "pattern p", "f-changed", "s")
    buffer = EventTimeBuffer()
    buffer.use_spill(ctx.spill("buffer"))
    ctx.value("meta", buffer.snapshot, lambda v, r: buffer.restore(v) if r.same_input else None)
    changed.restore()
    assert [ts for ts, _ in buffer.release_all()] == [1, 2, 3, 5, 7, 8, 9]


def test_a_pattern_whose_input_changed_drops_its_spilled_events_and_counts_them() -> None:
    backend = MemoryBackend()
    holder = Holder(backend, 5)
    holder.buffer.add([(t, {"t": t}) for t in range(20)])
    checkpoint(holder, backend, 1)
    snapshot = holder.buffer.snapshot()
    assert EventTimeBuffer.held_in(snapshot) == 20
    backend.restore(1)
    changed = StateRegistry(backend)
    ctx = changed.context("pattern:p", "pattern p", "f2", "s2")  # its input changed
    buffer = EventTimeBuffer()
    buffer.use_spill(ctx.spill("buffer"))
    ctx.value("meta", buffer.snapshot, lambda v, r: None)
    changed.restore()
    assert buffer.release_all() == []
    assert [v for _, v in backend.table("pattern:p/buffer.v1").items()] == []
