"""`gress checkpoints DIR`: the complete checkpoints of a state directory.

Reads only the checkpoint metadata (no lock, no database opened), so it works beside a running
job.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson
from rich.table import Table

from gress_cep.cli.console import console
from gress_cep.state.backend import CheckpointInfo
from gress_cep.state.state_dir import StateDir


def format_age(seconds: float) -> str:
    """`42s`, `5m 3s`, `2h 10m`, `3d 4h`: the two largest units."""
    seconds = max(0, int(seconds))
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    parts: list[str] = []
    for name, size in units:
        if seconds >= size or (name == "s" and not parts):
            parts.append(f"{seconds // size}{name}")
            seconds %= size
        if len(parts) == 2:
            break
    return " ".join(parts)


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_positions(positions: Any) -> str:
    """`payments: p0=120 p1=98; big.jsonl: offset=1048576` from {input: {field: value}}."""
    if not isinstance(positions, dict) or not positions:
        return "-"
    parts = []
    for source, position in positions.items():
        if isinstance(position, dict):
            fields = " ".join(f"{name}={value}" for name, value in position.items())
        else:
            fields = str(position)
        parts.append(f"{source}: {fields}")
    return "; ".join(parts)


def _utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _as_json(info: CheckpointInfo, now: float) -> dict[str, Any]:
    return {
        "id": info.checkpoint_id,
        "created_at": datetime.fromtimestamp(info.created_at, tz=UTC).isoformat(),
        "age_seconds": round(now - info.created_at, 3),
        "size_bytes": info.size_bytes,
        "positions": info.metadata.get("positions", {}),
        "metadata": info.metadata,
    }


@click.command("checkpoints")
@click.argument("state_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON document (a list) on stdout.")
def command(state_dir: Path, as_json: bool) -> None:
    """List the complete checkpoints in the state directory DIR: id, time (UTC) and age, the
    input positions they resume from, and their size on disk. Oldest first. Given the folder
    that holds the jobs' state directories (by default ./.gress/state), lists every job's.

    \b
    Example:
      gress checkpoints .gress/state
      gress checkpoints .gress/state/3f2a9c1e7b40 --json
    """
    folders = _state_dirs(state_dir)
    now = time.time()
    if as_json:
        if len(folders) == 1 and folders[0].root == state_dir:
            listed: Any = [_as_json(i, now) for i in folders[0].complete_checkpoints()]
        else:
            listed = {
                str(f.root): [_as_json(i, now) for i in f.complete_checkpoints()] for f in folders
            }
        click.echo(orjson.dumps(listed).decode())
        return
    for folder in folders:
        _print(folder, now)


def _state_dirs(path: Path) -> list[StateDir]:
    """DIR itself, or the state directories inside it (one per job)."""
    folder = StateDir(path)
    if not folder.checkpoints_dir.is_dir() and path.is_dir():
        inside = [StateDir(p) for p in sorted(path.iterdir()) if (p / "checkpoints").is_dir()]
        if inside:
            return inside
    folder.require()
    return [folder]


def _print(folder: StateDir, now: float) -> None:
    infos = folder.complete_checkpoints()
    if not infos:
        click.echo(f"{folder.root}: no complete checkpoint yet")
        return
    job = infos[-1].metadata.get("job") or {}
    about = f" ({job['file']})" if isinstance(job, dict) and job.get("file") else ""
    table = Table(title=f"checkpoints in {folder.root}{about}", title_justify="left")
    table.add_column("id", justify="right")
    table.add_column("time (UTC)")
    table.add_column("age", justify="right")
    table.add_column("size", justify="right")
    table.add_column("positions", overflow="fold")
    for info in infos:
        table.add_row(
            str(info.checkpoint_id),
            _utc(info.created_at),
            format_age(now - info.created_at),
            format_size(info.size_bytes),
            format_positions(info.metadata.get("positions")),
        )
    console.print(table)
