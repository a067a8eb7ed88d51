"""`gress checkpoints` and `gress savepoint` as a user runs them (CLI.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gress_cep.cli.checkpoints import format_age, format_positions, format_size
from gress_cep.cli.main import cli as gress
from gress_cep.state.backend import WriteBatch
from gress_cep.state.memory import MemoryBackend
from gress_cep.state.rocksdb import RocksDbBackend
from gress_cep.state.state_dir import StateDir

POSITIONS = {
    "payments=kafka:payments": {"0": 120, "1": 98},
    "big.jsonl": {"offset": 1048576},
}


def run(*args: str) -> Result:
    return CliRunner().invoke(gress, list(args), catch_exceptions=False)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    backend = RocksDbBackend(folder)
    batch = WriteBatch()
    for i in range(1000):
        batch.put("pattern:fraud", b"card%04d" % i, b"x" * 200)
    backend.write(batch)
    backend.checkpoint(1, {"positions": POSITIONS})
    backend.table("pattern:fraud").put(b"card9999", b"y")
    backend.checkpoint(2, {"positions": {"big.jsonl": {"offset": 2000000}}})
    backend.close()
    return folder


def test_checkpoints_lists_id_time_age_positions_and_size(state_dir: Path) -> None:
    result = run("checkpoints", str(state_dir))
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.startswith("│")]
    assert len(lines) == 2
    first = lines[0]
    assert "│  1 │" in first and "Z │" in first and "s │" in first and "KiB" in first
    assert "payments=kafka:payments: 0=120 1=98; big.jsonl: offset=1048576" in first
    assert "offset=2000000" in lines[1]


def test_checkpoints_as_json(state_dir: Path) -> None:
    result = run("checkpoints", str(state_dir), "--json")
    assert result.exit_code == 0
    listed = json.loads(result.output)
    assert [c["id"] for c in listed] == [1, 2]
    assert listed[0]["positions"] == POSITIONS
    assert listed[0]["size_bytes"] > 1000 * 200 // 10  # compressed, but there
    assert listed[0]["created_at"].endswith("+00:00") and listed[0]["age_seconds"] >= 0


def test_checkpoints_ignores_an_incomplete_checkpoint(state_dir: Path) -> None:
    (StateDir(state_dir).checkpoint_path(2) / "metadata.json").unlink()
    listed = json.loads(run("checkpoints", str(state_dir), "--json").output)
    assert [c["id"] for c in listed] == [1]


def test_checkpoints_of_a_state_dir_without_any(tmp_path: Path) -> None:
    RocksDbBackend(tmp_path / "state").close()
    result = run("checkpoints", str(tmp_path / "state"))
    assert result.exit_code == 0
    assert result.output.strip() == f"{tmp_path / 'state'}: no complete checkpoint yet"


@pytest.mark.parametrize("command", ["checkpoints", "savepoint"])
def test_a_folder_that_is_not_a_state_dir_is_one_clear_line(tmp_path: Path, command: str) -> None:
    args = [command, str(tmp_path)] + (
        ["--to", str(tmp_path / "sp")] if command == "savepoint" else []
    )
    result = CliRunner().invoke(gress, args)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"gress: error: {tmp_path} is not a gress state directory (it has no checkpoints/ folder)"
    )
    assert "Traceback" not in result.output


def test_a_missing_folder_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(gress, ["checkpoints", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert result.output.strip() == f"gress: error: {tmp_path / 'nope'} does not exist"


def test_savepoint_writes_the_newest_checkpoint_by_default(state_dir: Path, tmp_path: Path) -> None:
    result = run("savepoint", str(state_dir), "--to", str(tmp_path / "sp"))
    assert result.exit_code == 0
    assert result.output.strip() == (
        f"savepoint of checkpoint 2 written to {tmp_path / 'sp'}: "
        "1 table, 1,001 entries, 211.0 KiB"  # 1,000 x (8 + 8 + 200) + (8 + 8 + 1) bytes
    )
    backend = MemoryBackend()
    info = backend.restore_savepoint(tmp_path / "sp")
    assert info.checkpoint_id == 2 and backend.table("pattern:fraud").count() == 1001


def test_savepoint_of_a_chosen_checkpoint(state_dir: Path, tmp_path: Path) -> None:
    assert (
        run(
            "savepoint", str(state_dir), "--to", str(tmp_path / "sp"), "--checkpoint", "1"
        ).exit_code
        == 0
    )
    info = MemoryBackend().restore_savepoint(tmp_path / "sp")
    assert info.checkpoint_id == 1 and info.metadata == {"positions": POSITIONS}


def test_savepoint_of_an_unknown_checkpoint(state_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        gress, ["savepoint", str(state_dir), "--to", str(tmp_path / "sp"), "--checkpoint", "9"]
    )
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"gress: error: {state_dir} has no complete checkpoint 9 (complete: 1, 2)"
    )


def test_savepoint_while_a_job_holds_the_state_dir(state_dir: Path, tmp_path: Path) -> None:
    job = RocksDbBackend(state_dir)
    try:
        assert run("savepoint", str(state_dir), "--to", str(tmp_path / "sp")).exit_code == 0
    finally:
        job.close()


def test_savepoint_refuses_a_target_that_is_not_empty(state_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "sp").mkdir()
    (tmp_path / "sp" / "x").write_text("")
    result = CliRunner().invoke(gress, ["savepoint", str(state_dir), "--to", str(tmp_path / "sp")])
    assert result.exit_code == 1
    assert "already exists and is not an empty folder" in result.output


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (42.9, "42s"),
        (303, "5m 3s"),
        (7800, "2h 10m"),
        (3 * 86400 + 4 * 3600 + 5, "3d 4h"),
    ],
)
def test_format_age(seconds: float, text: str) -> None:
    assert format_age(seconds) == text


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0 B"), (1023, "1023 B"), (2048, "2.0 KiB"), (5 << 30, "5.0 GiB")]
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


@pytest.mark.parametrize(
    ("positions", "text"),
    [(None, "-"), ({}, "-"), ({"in": {"offset": 3}}, "in: offset=3"), ({"a": 5}, "a: 5")],
)
def test_format_positions(positions: object, text: str) -> None:
    assert format_positions(positions) == text
