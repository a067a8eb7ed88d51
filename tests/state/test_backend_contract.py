"""The StateBackend contract (gress_cep/state/backend.py), the same for memory and RocksDB."""

from pathlib import Path

import pytest

from gress_cep.errors import UserError
from gress_cep.state.backend import StateBackend, WriteBatch


def batch(
    *puts: tuple[str, bytes, bytes], deletes: tuple[tuple[str, bytes], ...] = ()
) -> WriteBatch:
    b = WriteBatch()
    for table, key, value in puts:
        b.put(table, key, value)
    for table, key in deletes:
        b.delete(table, key)
    return b


def contents(backend: StateBackend, table: str) -> dict[bytes, bytes]:
    return dict(backend.table(table).items())


def test_a_new_table_is_empty(backend: StateBackend) -> None:
    table = backend.table("t")
    assert table.get(b"k") is None
    assert list(table.items()) == []
    assert table.count() == 0


def test_put_get_delete(backend: StateBackend) -> None:
    table = backend.table("t")
    table.put(b"k", b"v1")
    assert table.get(b"k") == b"v1"
    table.put(b"k", b"v2")
    assert table.get(b"k") == b"v2"
    table.delete(b"k")
    assert table.get(b"k") is None


def test_tables_are_separate(backend: StateBackend) -> None:
    backend.table("a").put(b"k", b"in a")
    backend.table("b").put(b"k", b"in b")
    assert backend.table("a").get(b"k") == b"in a"
    assert backend.table("b").get(b"k") == b"in b"


def test_a_table_name_gives_the_same_table(backend: StateBackend) -> None:
    backend.table("t").put(b"k", b"v")
    assert backend.table("t").get(b"k") == b"v"


def test_may_contain_is_true_for_every_present_key(backend: StateBackend) -> None:
    table = backend.table("t")
    for i in range(100):
        table.put(b"key%d" % i, b"v")
    assert all(table.may_contain(b"key%d" % i) for i in range(100))


def test_may_contain_is_false_for_a_key_never_written(backend: StateBackend) -> None:
    table = backend.table("t")
    table.put(b"present", b"v")
    assert not table.may_contain(b"absent")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (b"", None, [b"a", b"b", b"ba", b"c"]),
        (b"b", None, [b"b", b"ba", b"c"]),
        (b"b", b"c", [b"b", b"ba"]),
        (b"", b"b", [b"a"]),
        (b"bb", b"c", []),
        (b"c", b"b", []),
    ],
)
def test_items_are_the_range_in_key_order(
    backend: StateBackend, start: bytes, end: bytes | None, expected: list[bytes]
) -> None:
    table = backend.table("t")
    for key in (b"c", b"a", b"ba", b"b"):
        table.put(key, key.upper())
    assert list(table.items(start, end)) == [(k, k.upper()) for k in expected]


def test_items_compare_bytes_unsigned(backend: StateBackend) -> None:
    table = backend.table("t")
    for key in (b"\xff", b"\x00", b"\x7f\xff", b"\x80"):
        table.put(key, b"")
    assert [k for k, _ in table.items()] == [b"\x00", b"\x7f\xff", b"\x80", b"\xff"]


def test_count_of_distinct_keys(backend: StateBackend) -> None:
    table = backend.table("t")
    backend.write(batch(*(("t", b"%05d" % i, b"v") for i in range(500))))
    assert table.count() == 500


def test_write_applies_puts_and_deletes_across_tables(backend: StateBackend) -> None:
    backend.table("a").put(b"old", b"x")
    backend.write(batch(("a", b"k", b"1"), ("b", b"k", b"2"), deletes=(("a", b"old"),)))
    assert contents(backend, "a") == {b"k": b"1"}
    assert contents(backend, "b") == {b"k": b"2"}


def test_write_applies_puts_before_deletes(backend: StateBackend) -> None:
    backend.write(batch(("t", b"k", b"v"), deletes=(("t", b"k"),)))
    assert backend.table("t").get(b"k") is None


def test_deleting_an_absent_key_is_harmless(backend: StateBackend) -> None:
    backend.write(batch(deletes=(("t", b"never"),)))
    assert contents(backend, "t") == {}


def test_restore_without_checkpoints_empties_the_live_state(backend: StateBackend) -> None:
    backend.table("t").put(b"k", b"v")
    assert backend.restore() is None
    assert contents(backend, "t") == {}


def test_restore_brings_back_the_checkpointed_state(backend: StateBackend) -> None:
    backend.write(batch(("a", b"k", b"1"), ("b", b"k", b"2")))
    backend.checkpoint(1, {"positions": {"in.jsonl": {"offset": 42}}})
    backend.write(batch(("a", b"k", b"changed"), ("a", b"new", b"x"), deletes=(("b", b"k"),)))
    info = backend.restore(1)
    assert info is not None
    assert info.checkpoint_id == 1
    assert info.metadata == {"positions": {"in.jsonl": {"offset": 42}}}
    assert contents(backend, "a") == {b"k": b"1"}
    assert contents(backend, "b") == {b"k": b"2"}


def test_restore_drops_a_table_created_after_the_checkpoint(backend: StateBackend) -> None:
    backend.table("a").put(b"k", b"1")
    backend.checkpoint(1, {})
    backend.table("later").put(b"k", b"x")
    backend.restore(1)
    assert contents(backend, "later") == {}


def test_restore_none_takes_the_newest_checkpoint(backend: StateBackend) -> None:
    for checkpoint_id in (1, 2, 3):
        backend.table("t").put(b"k", b"%d" % checkpoint_id)
        backend.checkpoint(checkpoint_id, {"n": checkpoint_id})
    backend.table("t").put(b"k", b"after")
    info = backend.restore()
    assert info is not None and info.checkpoint_id == 3
    assert backend.table("t").get(b"k") == b"3"


def test_restore_an_older_checkpoint(backend: StateBackend) -> None:
    for checkpoint_id in (1, 2):
        backend.table("t").put(b"k", b"%d" % checkpoint_id)
        backend.checkpoint(checkpoint_id, {})
    backend.restore(1)
    assert backend.table("t").get(b"k") == b"1"


def test_table_objects_stay_valid_across_restore(backend: StateBackend) -> None:
    table = backend.table("t")
    table.put(b"k", b"1")
    backend.checkpoint(1, {})
    table.put(b"k", b"2")
    backend.restore(1)
    assert table.get(b"k") == b"1"
    table.put(b"k", b"3")
    assert backend.table("t").get(b"k") == b"3"


def test_restore_an_unknown_checkpoint_is_a_user_error(backend: StateBackend) -> None:
    backend.checkpoint(1, {})
    with pytest.raises(UserError, match=r"no .*checkpoint 9 .*complete: 1"):
        backend.restore(9)


def test_checkpoints_are_listed_oldest_first_with_their_metadata(backend: StateBackend) -> None:
    backend.table("t").put(b"k", b"v" * 100)
    for checkpoint_id in (1, 2, 3):
        backend.checkpoint(checkpoint_id, {"n": checkpoint_id})
    infos = backend.checkpoints()
    assert [i.checkpoint_id for i in infos] == [1, 2, 3]
    assert [i.metadata for i in infos] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert infos[0].created_at <= infos[1].created_at <= infos[2].created_at
    assert all(i.size_bytes >= 100 for i in infos)


def test_a_checkpoint_id_cannot_be_reused(backend: StateBackend) -> None:
    backend.checkpoint(1, {})
    with pytest.raises(ValueError, match="already exists"):
        backend.checkpoint(1, {})


def test_a_checkpoint_does_not_change_with_later_writes(backend: StateBackend) -> None:
    backend.table("t").put(b"k", b"before")
    backend.checkpoint(1, {})
    backend.table("t").put(b"k", b"after")
    backend.checkpoint(2, {})
    backend.restore(1)
    assert backend.table("t").get(b"k") == b"before"
    backend.restore(2)
    assert backend.table("t").get(b"k") == b"after"


def test_discard_older_than_keeps_that_checkpoint_and_newer(backend: StateBackend) -> None:
    for checkpoint_id in (1, 2, 3, 4):
        backend.checkpoint(checkpoint_id, {})
    backend.discard_older_than(3)
    assert [i.checkpoint_id for i in backend.checkpoints()] == [3, 4]


def test_a_discarded_checkpoint_cannot_be_restored(backend: StateBackend) -> None:
    backend.checkpoint(1, {})
    backend.checkpoint(2, {})
    backend.discard_older_than(2)
    with pytest.raises(UserError):
        backend.restore(1)


def test_savepoint_round_trip(backend: StateBackend, tmp_path: Path) -> None:
    backend.write(batch(*(("a", b"%04d" % i, b"value %d" % i) for i in range(1000))))
    backend.table("b").put(b"\x00binary\xff", b"\x00" * 300)
    backend.checkpoint(7, {"positions": {"payments": {"p0": 120}}})
    backend.table("a").put(b"0000", b"changed after the checkpoint")
    backend.savepoint(7, tmp_path / "sp")
    backend.table("a").put(b"0001", b"changed after the savepoint")
    info = backend.restore_savepoint(tmp_path / "sp")
    assert info.checkpoint_id == 7
    assert info.metadata == {"positions": {"payments": {"p0": 120}}}
    assert contents(backend, "a") == {b"%04d" % i: b"value %d" % i for i in range(1000)}
    assert contents(backend, "b") == {b"\x00binary\xff": b"\x00" * 300}


def test_a_savepoint_restores_into_the_other_backend(backend: StateBackend, tmp_path: Path) -> None:
    from gress_cep.state.memory import MemoryBackend
    from gress_cep.state.rocksdb import RocksDbBackend

    backend.write(batch(("a", b"k", b"v"), ("b", b"x", b"y")))
    backend.checkpoint(1, {"n": 1})
    backend.savepoint(1, tmp_path / "sp")
    other: StateBackend = (
        RocksDbBackend(tmp_path / "other")
        if isinstance(backend, MemoryBackend)
        else MemoryBackend()
    )
    try:
        assert other.restore_savepoint(tmp_path / "sp").metadata == {"n": 1}
        assert contents(other, "a") == {b"k": b"v"}
        assert contents(other, "b") == {b"x": b"y"}
    finally:
        other.close()


def test_a_savepoint_of_an_unknown_checkpoint_is_a_user_error(
    backend: StateBackend, tmp_path: Path
) -> None:
    with pytest.raises(UserError):
        backend.savepoint(3, tmp_path / "sp")
    assert not (tmp_path / "sp").exists()
