"""What the RocksDB backend adds to the contract: a state directory on disk, durable checkpoints
without a WAL, hard-linked checkpoints that restores never modify, bloom filters, one job per
directory."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest

from gress_cep.errors import UserError
from gress_cep.state.backend import WriteBatch
from gress_cep.state.durable_files import remove_tree
from gress_cep.state.rocksdb import RocksDbBackend
from gress_cep.state.state_dir import METADATA, StateDir

ROOT = Path(__file__).resolve().parents[2]


def fill(backend: RocksDbBackend, table: str, count: int, tag: bytes = b"v") -> None:
    batch = WriteBatch()
    for i in range(count):
        batch.put(table, b"key%06d" % i, tag + b"%d" % i)
    backend.write(batch)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_the_state_directory_layout(tmp_path: Path) -> None:
    backend = RocksDbBackend(tmp_path)
    fill(backend, "t", 10)
    backend.checkpoint(4, {"positions": {"in.jsonl": {"offset": 7}}})
    backend.close()
    assert {p.name for p in tmp_path.iterdir()} == {"gress.lock", "live", "checkpoints"}
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["chk-4"]
    metadata = orjson.loads((tmp_path / "checkpoints" / "chk-4" / METADATA).read_bytes())
    assert metadata["id"] == 4
    assert metadata["metadata"] == {"positions": {"in.jsonl": {"offset": 7}}}
    assert metadata["size_bytes"] > 0 and metadata["created_at"] > 0


def test_checkpoints_outlive_the_process_that_took_them(tmp_path: Path) -> None:
    backend = RocksDbBackend(tmp_path)
    fill(backend, "t", 100)
    backend.checkpoint(1, {"n": 1})
    backend.close()
    reopened = RocksDbBackend(tmp_path)
    info = reopened.restore()
    assert info is not None and info.metadata == {"n": 1}
    assert reopened.table("t").count() == 100
    reopened.close()


def test_a_checkpoint_is_durable_without_a_wal_even_after_sigkill(tmp_path: Path) -> None:
    result = run_python(
        f"""
        import os, signal
        from pathlib import Path
        from gress_cep.state.backend import WriteBatch
        from gress_cep.state.rocksdb import RocksDbBackend
        backend = RocksDbBackend(Path({str(tmp_path)!r}))
        for name in ("a", "b"):
            batch = WriteBatch()
            for i in range(1000):
                batch.put(name, b"%04d" % i, name.encode() * 50)
            backend.write(batch)
        backend.checkpoint(1, {{}})
        backend.table("a").put(b"after", b"not in the checkpoint")
        os.kill(os.getpid(), signal.SIGKILL)  # no close, no flush
        """
    )
    assert result.returncode == -9, result.stderr
    backend = RocksDbBackend(tmp_path)
    backend.restore()
    assert dict(backend.table("a").items()) == {b"%04d" % i: b"a" * 50 for i in range(1000)}
    assert dict(backend.table("b").items()) == {b"%04d" % i: b"b" * 50 for i in range(1000)}
    backend.close()


def test_a_checkpoint_hard_links_the_data_files(tmp_path: Path) -> None:
    backend = RocksDbBackend(tmp_path)
    fill(backend, "t", 1000)
    backend.checkpoint(1, {})
    ssts = list(StateDir(tmp_path).checkpoint_path(1).glob("*.sst"))
    assert ssts and all(p.stat().st_nlink >= 2 for p in ssts)
    backend.close()


def test_restore_and_later_writes_never_change_a_checkpoint(tmp_path: Path) -> None:
    backend = RocksDbBackend(tmp_path)
    fill(backend, "t", 2000)
    backend.checkpoint(1, {})
    folder = StateDir(tmp_path).checkpoint_path(1)
    before = digests(folder)
    for round_number in range(3):
        backend.restore(1)
        fill(backend, "t", 2000, tag=b"round%d" % round_number)
        backend.checkpoint(round_number + 2, {})
    backend.close()
    assert digests(folder) == before


def test_may_contain_answers_absent_from_the_bloom_filter(tmp_path: Path) -> None:
    backend = RocksDbBackend(tmp_path)
    fill(backend, "t", 20_000)
    backend.checkpoint(1, {})  # flushes the memtable: the keys are in SST files now
    table = backend.table("t")
    false_positives = sum(table.may_contain(b"absent%06d" % i) for i in range(20_000))
    assert false_positives < 20_000 * 0.03  # ~1% with 10 bits per key
    assert all(table.may_contain(b"key%06d" % i) for i in range(0, 20_000, 97))
    backend.close()


def test_a_second_backend_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    backend = RocksDbBackend(tmp_path)
    with pytest.raises(UserError, match="is in use by another gress job"):
        RocksDbBackend(tmp_path)
    backend.close()
    RocksDbBackend(tmp_path).close()  # free again once closed


def test_a_job_in_another_process_holds_the_directory(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib; from gress_cep.state.rocksdb import RocksDbBackend; "
            f"b = RocksDbBackend(pathlib.Path({str(tmp_path)!r})); print('open', flush=True); "
            "sys.stdin.read()",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(UserError, match=rf"in use by another gress job \(pid {holder.pid}\)"):
            RocksDbBackend(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    RocksDbBackend(tmp_path).close()  # the lock died with the process


def test_checkpoints_can_be_listed_while_a_job_holds_the_directory(tmp_path: Path) -> None:
    backend = RocksDbBackend(tmp_path)
    backend.checkpoint(1, {"n": 1})
    assert [i.checkpoint_id for i in StateDir(tmp_path).complete_checkpoints()] == [1]
    backend.close()


def test_leftovers_of_a_killed_restore_are_removed_on_open(tmp_path: Path) -> None:
    RocksDbBackend(tmp_path).close()
    folder = StateDir(tmp_path)
    for leftover in (folder.staging, folder.discarded, folder.checkpoints_dir / "chk-9.tmp"):
        leftover.mkdir()
        (leftover / "000001.sst").write_bytes(b"half")
    RocksDbBackend(tmp_path).close()
    assert {p.name for p in tmp_path.iterdir()} == {"gress.lock", "live", "checkpoints"}
    assert list(folder.checkpoints_dir.iterdir()) == []


def test_a_savepoint_is_a_copy_independent_of_the_state_directory(tmp_path: Path) -> None:
    backend = RocksDbBackend(tmp_path / "state")
    fill(backend, "t", 500)
    backend.checkpoint(1, {"n": 1})
    backend.savepoint(1, tmp_path / "sp")
    backend.close()
    for sst in (tmp_path / "state").rglob("*.sst"):
        sst.unlink()  # the savepoint must not share anything with the state directory
    moved = RocksDbBackend(tmp_path / "elsewhere")
    assert moved.restore_savepoint(tmp_path / "sp").metadata == {"n": 1}
    assert dict(moved.table("t").items()) == {b"key%06d" % i: b"v%d" % i for i in range(500)}
    moved.close()


def test_a_closed_backend_says_so(tmp_path: Path) -> None:
    backend = RocksDbBackend(tmp_path)
    table = backend.table("t")
    backend.close()
    with pytest.raises(RuntimeError, match="closed"):
        table.get(b"k")


def test_a_damaged_live_database_is_a_user_error_that_frees_the_lock(tmp_path: Path) -> None:
    RocksDbBackend(tmp_path).close()
    (tmp_path / "live" / "CURRENT").write_text("MANIFEST-999999\n")
    with pytest.raises(UserError, match="cannot open the live state database") as err:
        RocksDbBackend(tmp_path)
    assert "delete that folder" in (err.value.hint or "")
    remove_tree(tmp_path / "live")
    RocksDbBackend(tmp_path).close()
