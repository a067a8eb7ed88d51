"""File operations that survive a kill -9 or a power cut at any moment.

A file is durable once its data and the directory entry naming it are both on disk: write,
fsync the file, rename into place, fsync the folder. Readers then see the old file or the new
one, never a torn mix.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make the entries of a folder (created, renamed or removed files) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: a reader (or a restart) sees the whole old or new content."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)
    fsync_dir(path.parent)


def remove_tree(path: Path) -> None:
    """Delete a folder and everything in it; nothing happens when it does not exist."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def replace_dir(source: Path, target: Path, discarded: Path) -> None:
    """Put folder `source` in the place of `target` (which may be missing).

    Two renames, so a kill between them leaves `target` missing (and `source` or `discarded`
    behind): callers treat those leftovers as garbage and redo the whole operation.
    """
    remove_tree(discarded)
    if target.exists():
        os.replace(target, discarded)
    os.replace(source, target)
    fsync_dir(target.parent)
    remove_tree(discarded)


def tree_size(path: Path) -> int:
    """Bytes in the regular files of a folder (hard-linked files count fully)."""
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())
