"""The state the runtime gives operators: named, versioned, data only, restored by the registry."""

from __future__ import annotations

import datetime as dt
import math
import os
import pickle
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gress_cep.errors import UserError
from gress_cep.state import data_codec
from gress_cep.state.backend import WriteBatch
from gress_cep.state.memory import MemoryBackend
from gress_cep.state.operator_state import DATA, Restored, StateCodec, StateRegistry

EXACT_VALUES = [
    {"card": "c1", "amount": 12.5, "n": 3, "ok": True, "items": [1, 2, 3]},
    {"note": None},
    {"x": math.inf, "y": -math.inf},
    {"big": 2**70, "small": -(2**70)},
    {1: "int key", (1, "a"): "tuple key"},
    (1, "a", None),
    [b"\x00bytes", bytearray(b"ba")],
    {"at": dt.datetime(2026, 12, 7, 18, 0, tzinfo=dt.UTC), "naive": dt.datetime(2026, 1, 1)},
    [dt.date(2026, 12, 7), dt.time(18, 30, 1)],
    {"price": Decimal("10.05")},
    [{1, 2}, frozenset({"a"})],
]


@pytest.mark.parametrize("value", EXACT_VALUES, ids=range(len(EXACT_VALUES)))
def test_state_values_come_back_exactly(value: Any) -> None:
    back = data_codec.loads(data_codec.dumps(value))
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        assert back == [bytes(v) for v in value]
    else:
        assert back == value
        assert type(back) is type(value)


def test_a_uuid_comes_back_as_its_text_in_both_forms() -> None:
    value = uuid.UUID(int=7)
    assert data_codec.loads(data_codec.dumps({"id": value})) == {"id": str(value)}
    assert data_codec.loads(data_codec.dumps({"id": value, "x": None}))["id"] == str(value)


def test_nan_comes_back_as_nan_not_null() -> None:
    back = data_codec.loads(data_codec.dumps({"x": math.nan}))
    assert math.isnan(back["x"])


def test_numpy_scalars_are_stored_as_python_numbers() -> None:
    np = pytest.importorskip("numpy")
    assert data_codec.loads(data_codec.dumps([np.int64(3), np.float32(0.5)])) == [3, 0.5]


def test_a_value_of_an_unknown_type_is_refused_with_its_name() -> None:
    with pytest.raises(TypeError, match="object"):
        data_codec.dumps({"x": object()})


class Exploit:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("touch pwned-by-state",))


def test_a_pickle_in_state_is_refused_and_never_runs(tmp_path: Path) -> None:
    os.chdir(tmp_path)
    with pytest.raises(ValueError, match="not a gress state value"):
        data_codec.loads(pickle.dumps(Exploit()))
    assert not (tmp_path / "pwned-by-state").exists()


# ---------------------------------------------------------------------- the registry
class Counter:
    """A tiny keyed operator: counts records per key, with a timer and an operator value."""

    def __init__(self, version: int = 1) -> None:
        self.version = version
        self.total = 0
        self.restored: Restored | None = None

    def open(self, registry: StateRegistry, fingerprint: str = "f1", source: str = "s1") -> None:
        ctx = registry.context("view:v/0:counter", "view v", fingerprint, source)
        self.keys = ctx.keyed("counts", StateCodec(self.version, DATA.encode, DATA.decode))
        self.timers = ctx.timers()
        ctx.value("total", lambda: self.total, self._restore)

    def _restore(self, value: Any, restored: Restored) -> None:
        self.restored = restored
        self.total = value

    def add(self, key: str, deadline: int) -> None:
        self.keys.put(key, (self.keys.get(key) or 0) + 1)
        self.timers.register(deadline, key)
        self.total += 1


def checkpoint(registry: StateRegistry, backend: MemoryBackend) -> None:
    batch = WriteBatch()
    registry.snapshot_into(batch)
    backend.write(batch)
    backend.checkpoint(1, {})


def test_keyed_state_timers_and_values_come_back_after_a_restart() -> None:
    backend = MemoryBackend()
    first = Counter()
    first.open(registry := StateRegistry(backend, max_keys_in_memory=1))
    first.add("a", 10)
    first.add("b", 20)
    first.add("a", 30)
    registry.maintain()  # one key in memory: the other is evicted to the table
    checkpoint(registry, backend)
    backend.restore(1)
    again = Counter()
    again.open(restart := StateRegistry(backend, max_keys_in_memory=1))
    assert restart.restore() == []
    assert again.keys.get("a") == 2 and again.keys.get("b") == 1
    assert again.timers.pop_due(25) == [(10, "a"), (20, "b")]
    assert again.total == 3
    assert again.restored == Restored(changed=False, same_input=True)


def test_state_in_another_codec_version_is_refused_naming_the_operator_and_state() -> None:
    backend = MemoryBackend()
    old = Counter(version=1)
    old.open(registry := StateRegistry(backend))
    old.add("a", 10)
    checkpoint(registry, backend)
    backend.restore(1)
    new = Counter(version=2)
    new.open(restart := StateRegistry(backend))
    with pytest.raises(UserError, match=r"view v's state 'counts' in format version 1.*version 2"):
        restart.restore()


def test_a_changed_operator_starts_afresh_and_is_told_so() -> None:
    backend = MemoryBackend()
    old = Counter()
    old.open(registry := StateRegistry(backend))
    old.add("a", 10)
    checkpoint(registry, backend)
    backend.restore(1)
    new = Counter()
    new.open(restart := StateRegistry(backend), fingerprint="f2")
    notes = restart.restore()
    assert notes == ["view v changed since that checkpoint: it starts afresh"]
    assert new.keys.get("a") is None  # the old keyed state is deleted, not reloaded later
    assert new.timers.pop_due(100) == []
    assert new.restored == Restored(changed=True, same_input=True)
    assert new.total == 1  # its values are offered: the operator keeps what still makes sense


def test_an_operator_that_is_new_since_the_checkpoint_starts_empty() -> None:
    backend = MemoryBackend()
    checkpoint(StateRegistry(backend), backend)
    backend.restore(1)
    op = Counter()
    op.open(restart := StateRegistry(backend))
    assert restart.restore() == []
    assert op.restored is None and op.keys.get("a") is None


def test_two_operators_with_one_name_are_refused() -> None:
    registry = StateRegistry(None)
    registry.context("pattern:p", "pattern p")
    with pytest.raises(ValueError, match="two operators named"):
        registry.context("pattern:p", "pattern p")


# ---------------------------------------------------------------------- issue 11 E.34
def test_state_of_an_operator_the_job_does_not_have_is_refused_naming_it() -> None:
    """A checkpoint (or savepoint) of another pattern file was restored silently."""
    backend = MemoryBackend()
    old = Counter()
    old.open(registry := StateRegistry(backend))
    old.add("a", 10)
    checkpoint(registry, backend)
    backend.restore(1)
    other = StateRegistry(backend)
    other.context("pattern:q", "pattern q")
    other.restored_from = "checkpoint 1"
    with pytest.raises(UserError) as refused:
        other.restore()
    assert refused.value.message == (
        "checkpoint 1 holds the state of view v, which is not in this job (new here: pattern q)"
    )
    assert "--allow-non-restored-state" in (refused.value.hint or "")
    assert "--fresh" in (refused.value.hint or "")


def test_allowed_non_restored_state_is_dropped_with_a_note_and_leaves_nothing_behind() -> None:
    backend = MemoryBackend()
    old = Counter()
    old.open(registry := StateRegistry(backend, max_keys_in_memory=1))
    old.add("a", 10)
    old.add("b", 20)
    registry.maintain()
    checkpoint(registry, backend)
    backend.restore(1)
    other = StateRegistry(backend)
    other.context("pattern:q", "pattern q")
    other.allow_non_restored = True
    assert other.restore() == ["the state of view v is dropped (--allow-non-restored-state)"]
    assert other.new_operators == {"pattern:q"}
    left = {name: list(backend.table(name).items()) for name in backend._tables}
    assert {name: items for name, items in left.items() if items} == {}
    # the next checkpoint of this job holds only its own operators
    batch = WriteBatch()
    other.snapshot_into(batch)
    backend.write(batch)
    backend.checkpoint(2, {})
    backend.restore(2)
    again = StateRegistry(backend)
    again.context("pattern:q", "pattern q")
    assert again.restore() == []


def test_a_changed_operator_of_the_same_name_is_not_unmapped_state() -> None:
    backend = MemoryBackend()
    old = Counter()
    old.open(registry := StateRegistry(backend))
    checkpoint(registry, backend)
    backend.restore(1)
    new = Counter()
    new.open(restart := StateRegistry(backend), fingerprint="f2")
    assert restart.restore() == ["view v changed since that checkpoint: it starts afresh"]
