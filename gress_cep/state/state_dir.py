"""The layout of a state directory, shared by the RocksDB backend and the CLI commands.

```
STATE_DIR/
  gress.lock                the job that owns the folder holds an flock on it (and writes its pid)
  live/                     the live RocksDB database
  live.staging/             a restore being built; a leftover means a restore was killed
  live.discarded/           the previous live database during the swap of a restore
  checkpoints/chk-<id>/     a RocksDB checkpoint; complete once its metadata.json exists
```
`metadata.json` is written last and atomically, so a checkpoint killed half-way has none and is
ignored: readers (`gress checkpoints`, `gress savepoint`) never need the lock.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from gress_cep.errors import UserError
from gress_cep.state.backend import CheckpointInfo
from gress_cep.state.durable_files import fsync_dir, remove_tree, write_atomically

METADATA = "metadata.json"
METADATA_FORMAT = 1
_CHECKPOINT_NAME = re.compile(r"chk-(\d+)")


@dataclass(slots=True, frozen=True)
class StateDir:
    root: Path

    @property
    def live(self) -> Path:
        return self.root / "live"

    @property
    def staging(self) -> Path:
        return self.root / "live.staging"

    @property
    def discarded(self) -> Path:
        return self.root / "live.discarded"

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def lock_path(self) -> Path:
        return self.root / "gress.lock"

    def checkpoint_path(self, checkpoint_id: int) -> Path:
        return self.checkpoints_dir / f"chk-{checkpoint_id}"

    def create(self) -> None:
        self.checkpoints_dir.mkdir(parents=True, exist_ok=True)

    def require(self) -> None:
        """Refuse, in one clear line, a folder that is not a state directory (for the CLI)."""
        if not self.root.exists():
            raise UserError(f"{self.root} does not exist")
        if not self.checkpoints_dir.is_dir():
            raise UserError(
                f"{self.root} is not a gress state directory (it has no checkpoints/ folder)",
                hint="pass the folder given to `gress detect --state-dir`, or a job's folder "
                "under ./.gress/state (`gress checkpoints .gress/state` lists them)",
            )

    def lock(self) -> StateDirLock:
        return StateDirLock.acquire(self.lock_path)

    def checkpoint_ids(self) -> Iterator[int]:
        """Ids of every checkpoint folder, complete or not."""
        if not self.checkpoints_dir.is_dir():
            return
        for entry in self.checkpoints_dir.iterdir():
            found = _CHECKPOINT_NAME.fullmatch(entry.name)
            if found and entry.is_dir():
                yield int(found.group(1))

    def checkpoint_info(self, checkpoint_id: int) -> CheckpointInfo | None:
        """The checkpoint when it is complete, else None."""
        path = self.checkpoint_path(checkpoint_id) / METADATA
        try:
            document = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except orjson.JSONDecodeError:
            return None  # cannot happen through write_atomically; a damaged disk is not complete
        return CheckpointInfo(
            checkpoint_id=document["id"],
            created_at=document["created_at"],
            metadata=document["metadata"],
            size_bytes=document["size_bytes"],
        )

    def complete_checkpoints(self) -> list[CheckpointInfo]:
        """Complete checkpoints, oldest first."""
        infos = (self.checkpoint_info(i) for i in sorted(self.checkpoint_ids()))
        return [info for info in infos if info is not None]

    def find_checkpoint(self, checkpoint_id: int | None) -> CheckpointInfo:
        """A complete checkpoint by id (the newest when None), or a UserError saying what exists."""
        infos = self.complete_checkpoints()
        if checkpoint_id is None:
            if not infos:
                raise UserError(f"{self.root} has no complete checkpoint yet")
            return infos[-1]
        for info in infos:
            if info.checkpoint_id == checkpoint_id:
                return info
        known = ", ".join(str(info.checkpoint_id) for info in infos) or "none"
        raise UserError(
            f"{self.root} has no complete checkpoint {checkpoint_id} (complete: {known})"
        )

    def mark_complete(self, info: CheckpointInfo) -> None:
        """Write metadata.json: the last step of a checkpoint, the one that makes it count."""
        document = {
            "format": METADATA_FORMAT,
            "id": info.checkpoint_id,
            "created_at": info.created_at,
            "size_bytes": info.size_bytes,
            "metadata": info.metadata,
        }
        path = self.checkpoint_path(info.checkpoint_id) / METADATA
        write_atomically(path, orjson.dumps(document, option=orjson.OPT_INDENT_2))

    def remove_checkpoint(self, checkpoint_id: int) -> None:
        """Delete a checkpoint; its metadata goes first, so a kill half-way leaves it incomplete."""
        path = self.checkpoint_path(checkpoint_id)
        metadata = path / METADATA
        if metadata.exists():
            metadata.unlink()
            fsync_dir(path)
        remove_tree(path)

    def discard_older_than(self, checkpoint_id: int) -> None:
        for old in self.checkpoint_ids():
            if old < checkpoint_id:
                self.remove_checkpoint(old)

    def remove_leftovers(self) -> None:
        """Delete what killed operations left behind: a half-built restore, a swapped-out
        database, RocksDB's temporary checkpoint folders and incomplete checkpoints."""
        remove_tree(self.staging)
        remove_tree(self.discarded)
        if self.checkpoints_dir.is_dir():
            for entry in self.checkpoints_dir.iterdir():
                if entry.name.endswith(".tmp"):
                    remove_tree(entry)
        for checkpoint_id in self.checkpoint_ids():
            if self.checkpoint_info(checkpoint_id) is None:
                remove_tree(self.checkpoint_path(checkpoint_id))


class StateDirLock:
    """An exclusive flock on STATE_DIR/gress.lock: one job per state directory.

    flock locks go away with the process, so a killed job never leaves a stale lock behind.
    """

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle: IO[str] | None = handle

    @classmethod
    def acquire(cls, path: Path) -> StateDirLock:
        handle = open(path, "a+")  # noqa: SIM115 - held open for the life of the lock
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise UserError(
                f"state directory {path.parent} is in use by another gress job (pid {owner})",
                hint="stop that job first, or give this one its own --state-dir",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return cls(path, handle)

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file releases the flock
            self._handle = None
