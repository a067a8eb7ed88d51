"""The savepoint format: plain record files, a manifest with checksums, refused when damaged."""

from __future__ import annotations

import struct
from pathlib import Path

import orjson
import pytest

from gress_cep.errors import UserError
from gress_cep.state.backend import CheckpointInfo, StateBackend
from gress_cep.state.savepoint import FORMAT_VERSION, MANIFEST, read_savepoint, write_savepoint

INFO = CheckpointInfo(checkpoint_id=3, created_at=1700000000.5, metadata={"positions": {}})


@pytest.fixture
def savepoint(tmp_path: Path) -> Path:
    path = tmp_path / "sp"
    tables = [
        ("a", [(b"k%03d" % i, b"value %d" % i) for i in range(300)]),
        ("empty", []),
        ("b", [(b"", b""), (b"\xff" * 5, b"\x00" * 1000)]),
    ]
    write_savepoint(path, INFO, tables)
    return path


def manifest(path: Path) -> dict:
    return orjson.loads((path / MANIFEST).read_bytes())


def rewrite_manifest(path: Path, **changes: object) -> None:
    document = manifest(path)
    document.update(changes)
    (path / MANIFEST).write_bytes(orjson.dumps(document))


def test_the_manifest_names_each_table_with_its_checksum(savepoint: Path) -> None:
    document = manifest(savepoint)
    assert document["format"] == "gress-savepoint"
    assert document["version"] == FORMAT_VERSION
    assert document["checkpoint"] == {
        "id": 3,
        "created_at": 1700000000.5,
        "metadata": {"positions": {}},
    }
    tables = document["tables"]
    assert [t["name"] for t in tables] == ["a", "empty", "b"]
    assert [t["entries"] for t in tables] == [300, 0, 2]
    assert all(len(t["sha256"]) == 64 for t in tables)


def test_a_data_file_is_length_prefixed_records(savepoint: Path) -> None:
    """Readable without gress: u32 key length, u32 value length (big endian), key, value."""
    data = (savepoint / manifest(savepoint)["tables"][2]["file"]).read_bytes()
    records, pos = [], 0
    while pos < len(data):
        key_len, value_len = struct.unpack_from(">II", data, pos)
        pos += 8
        records.append((data[pos : pos + key_len], data[pos + key_len : pos + key_len + value_len]))
        pos += key_len + value_len
    assert records == [(b"", b""), (b"\xff" * 5, b"\x00" * 1000)]


def test_reading_gives_back_what_was_written(savepoint: Path) -> None:
    opened = read_savepoint(savepoint)
    assert opened.info.checkpoint_id == 3 and opened.info.metadata == {"positions": {}}
    read = {t.name: list(opened.entries(t)) for t in opened.tables}
    assert read["a"] == [(b"k%03d" % i, b"value %d" % i) for i in range(300)]
    assert read["empty"] == []
    assert read["b"] == [(b"", b""), (b"\xff" * 5, b"\x00" * 1000)]


def test_records_larger_than_a_read_chunk(tmp_path: Path) -> None:
    big = [(b"k%d" % i, bytes([i]) * 700_000) for i in range(4)]
    write_savepoint(tmp_path / "sp", INFO, [("t", big)])
    opened = read_savepoint(tmp_path / "sp")
    assert list(opened.entries(opened.tables[0])) == big


def test_a_target_that_is_not_empty_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sp").mkdir()
    (tmp_path / "sp" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="already exists and is not an empty folder"):
        write_savepoint(tmp_path / "sp", INFO, [])
    assert (tmp_path / "sp" / "notes.txt").read_text() == "mine"


def test_an_empty_target_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "sp").mkdir()
    write_savepoint(tmp_path / "sp", INFO, [("t", [(b"k", b"v")])])
    assert read_savepoint(tmp_path / "sp").info.checkpoint_id == 3


def test_nothing_is_left_beside_the_target(tmp_path: Path) -> None:
    write_savepoint(tmp_path / "sp", INFO, [("t", [(b"k", b"v")])])
    assert [p.name for p in tmp_path.iterdir()] == ["sp"]


def test_a_savepoint_cut_short_before_its_manifest_is_refused(savepoint: Path) -> None:
    (savepoint / MANIFEST).unlink()
    with pytest.raises(UserError, match="is not a savepoint"):
        read_savepoint(savepoint)


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        read_savepoint(tmp_path / "nowhere")


def test_an_unknown_format_version_is_refused(savepoint: Path) -> None:
    rewrite_manifest(savepoint, version=FORMAT_VERSION + 1)
    with pytest.raises(UserError, match=f"format version {FORMAT_VERSION + 1}") as err:
        read_savepoint(savepoint)
    assert "gress version that wrote it" in (err.value.hint or "")


def test_a_foreign_manifest_is_refused(savepoint: Path) -> None:
    rewrite_manifest(savepoint, format="something-else")
    with pytest.raises(UserError, match="not a gress manifest"):
        read_savepoint(savepoint)


def test_an_unreadable_manifest_is_corrupt(savepoint: Path) -> None:
    (savepoint / MANIFEST).write_bytes(b'{"format": "gress-savepoint", "vers')
    with pytest.raises(UserError, match="corrupt"):
        read_savepoint(savepoint)


def test_a_missing_data_file_is_refused(savepoint: Path) -> None:
    (savepoint / "table-0001.records").unlink()
    with pytest.raises(UserError, match=r"table-0001\.records .* is missing"):
        read_savepoint(savepoint)


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "flipped byte":
        data[len(data) // 2] ^= 0x01
    elif how == "truncated":
        del data[-3:]
    elif how == "appended":
        data += b"\x00\x00\x00\x01\x00\x00\x00\x01kv"
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flipped byte", "truncated", "appended"])
def test_a_damaged_data_file_is_refused(savepoint: Path, how: str) -> None:
    _damage(savepoint / "table-0000.records", how)
    opened = read_savepoint(savepoint)
    with pytest.raises(UserError, match=r"corrupt: table-0000.records \(table 'a'\)"):
        list(opened.entries(opened.tables[0]))


@pytest.mark.parametrize("how", ["flipped byte", "truncated"])
def test_a_damaged_savepoint_leaves_the_live_state_alone(
    backend: StateBackend, tmp_path: Path, how: str
) -> None:
    backend.table("a").put(b"k", b"live")
    backend.checkpoint(1, {})
    backend.savepoint(1, tmp_path / "sp")
    backend.table("a").put(b"k", b"live, changed")
    _damage(tmp_path / "sp" / "table-0000.records", how)
    with pytest.raises(UserError, match="corrupt"):
        backend.restore_savepoint(tmp_path / "sp")
    assert backend.table("a").get(b"k") == b"live, changed"
    backend.table("a").put(b"k2", b"still writable")
    assert backend.table("a").get(b"k2") == b"still writable"
