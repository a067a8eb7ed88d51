"""A window operator's state: spilled keys, checkpoints and restarts, memory that stays bounded."""

from __future__ import annotations

import pytest

from gress_cep.state.backend import WriteBatch
from gress_cep.state.memory import MemoryBackend
from gress_cep.state.operator_state import StateRegistry

from .driver import Run, build, rows, view
from .naive import EVERY_AGGREGATE

WINDOWS = [
    "tumbling 10ms",
    "sliding 10ms every 4ms",
    "session gap 5ms",
    "count 3 every 2",
]
RECORDS = rows(
    *((ts, key, x) for ts, key, x in zip(range(0, 60, 3), "abcabcbbca" * 2, range(20), strict=True))
)


def uninterrupted(window: str) -> list:
    run = Run(view(f"{window} by k", EVERY_AGGREGATE))
    for i in range(0, len(RECORDS), 4):
        run.feed(RECORDS[i : i + 4]).watermark(RECORDS[i][0])
    return run.finish()


@pytest.mark.parametrize("window", WINDOWS)
def test_keys_spilled_to_the_backend_change_nothing(window: str) -> None:
    run = Run(view(f"{window} by k", EVERY_AGGREGATE), backend=MemoryBackend(), max_keys=1)
    for i in range(0, len(RECORDS), 4):
        run.feed(RECORDS[i : i + 4]).watermark(RECORDS[i][0])
    assert run.finish() == uninterrupted(window)
    assert run.op.keys.evictions > 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("window", WINDOWS)
def test_a_job_resumed_from_a_checkpoint_emits_what_an_uninterrupted_one_does(window: str) -> None:
    run = Run(view(f"{window} by k", EVERY_AGGREGATE), backend=MemoryBackend(), max_keys=2)
    checkpoint = 0
    for i in range(0, len(RECORDS), 4):
        if i == 8:
            checkpoint = run.checkpoint()
        run.feed(RECORDS[i : i + 4]).watermark(RECORDS[i][0])
    run.resume(checkpoint)  # the job failed: what came after the checkpoint comes again
    for i in range(8, len(RECORDS), 4):
        run.feed(RECORDS[i : i + 4]).watermark(RECORDS[i][0])
    assert run.finish() == uninterrupted(window)


def test_records_a_count_window_holds_are_in_the_checkpoint() -> None:
    run = Run(view("count 2 by k"), backend=MemoryBackend())
    run.feed(rows((5, "a", None), (3, "a", None)))
    assert run.restart().op.held_records() == 2
    assert run.finish() == [(5, {"k": "a", "window_start": 3, "window_end": 5, "n": 2})]


def test_by_values_come_out_as_they_went_in_after_a_spill() -> None:
    text = view("tumbling 10ms by k, g", "count() as n")
    run = Run(text, backend=MemoryBackend(), max_keys=1)
    run.feed([(1, {"k": True, "g": 2.0}), (2, {"k": "b", "g": 1})]).restart()
    assert run.finish() == [
        (9, {"k": True, "g": 2.0, "window_start": 0, "window_end": 10, "n": 1}),
        (9, {"k": "b", "g": 1, "window_start": 0, "window_end": 10, "n": 1}),
    ]


@pytest.mark.parametrize("window", ["tumbling 10ms", "sliding 10ms every 4ms", "session gap 5ms"])
def test_closed_windows_leave_no_state(window: str) -> None:
    run = Run(view(f"{window} by k", EVERY_AGGREGATE)).feed(RECORDS).watermark(200)
    assert run.op.keys.data == {}
    assert run.op.timers.pop_due(2**63 - 1) == []


def test_a_tumbling_count_window_forgets_a_key_whose_window_closed() -> None:
    run = Run(view("count 2 by k")).feed(rows((1, "a", None), (2, "a", None))).watermark(2)
    assert len(run.out) == 1
    assert run.op.keys.data == {}


def test_a_sliding_window_keeps_one_accumulator_per_pane() -> None:
    """A record updates one pane (of gcd(size, step)), however many windows hold it."""
    run = Run(view("sliding 1h every 1m by k", "count() as n, sum(x) as s"))
    run.feed(rows(*((ts, "a", 1) for ts in range(0, 180_000, 1000))))  # 3 minutes
    [(key, _, panes)] = run.op.keys.data.values()
    assert key == "a" and sorted(panes) == [0, 1, 2]
    assert [acc[0] for _, acc in sorted(panes.items())] == [60, 60, 60]


def test_panes_no_window_covers_any_more_are_dropped() -> None:
    run = Run(view("sliding 10ms every 5ms by k")).feed(rows((1, "a", None), (7, "a", None)))
    run.watermark(10)  # [0, 10) closed: the pane [0, 5) is in no later window
    [(_, _, panes)] = run.op.keys.data.values()
    assert sorted(panes) == [1]


def test_a_changed_window_starts_afresh_and_keeps_its_counts() -> None:
    backend = MemoryBackend()
    registry = StateRegistry(backend)
    op = build(view("count 2 by k"))
    op.open(registry.context(op.name, "view v", fingerprint="old", source_fingerprint="in"))
    op.process(rows((1, "a", None), (2, "a", "held")), 0.0)
    op.on_watermark(1, 0.0)
    batch = WriteBatch()
    registry.snapshot_into(batch)
    backend.write(batch)
    backend.checkpoint(1, {})
    backend.restore(1)

    registry = StateRegistry(backend)
    changed = build(view("count 3 by k"))
    changed.open(registry.context(op.name, "view v", fingerprint="new", source_fingerprint="new"))
    assert registry.restore() == [
        "view v changed since that checkpoint: it starts afresh (1 records it had not processed "
        "yet are dropped with it)"
    ]
    assert changed.held_records() == 0
    assert changed.counts() == op.counts()
    assert changed.finish() == []


def test_a_changed_count_window_on_the_same_input_keeps_the_records_it_held() -> None:
    backend = MemoryBackend()
    registry = StateRegistry(backend)
    op = build(view("count 2 by k"))
    op.open(registry.context(op.name, "view v", fingerprint="old", source_fingerprint="in"))
    op.process(rows((1, "a", None), (2, "a", None)), 0.0)
    batch = WriteBatch()
    registry.snapshot_into(batch)
    backend.write(batch)
    backend.checkpoint(1, {})
    backend.restore(1)

    registry = StateRegistry(backend)
    changed = build(view("count 1 by k"))
    changed.open(registry.context(op.name, "view v", fingerprint="new", source_fingerprint="in"))
    registry.restore()
    assert [r["n"] for _, r in changed.finish()] == [1, 1]
