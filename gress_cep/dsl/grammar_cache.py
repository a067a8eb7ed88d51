"""Where Lark may keep the grammar's parse tables between runs: a folder only this user can write.

Lark's `cache=True` keeps the tables as a pickle in the shared temp folder (/tmp) under a name
anyone can predict, and reads it with `pickle.load` before checking anything: another user of
the machine could put a pickle there first, and every gress command would run their code as
ours. gress keeps the cache in the user's own cache folder instead ($XDG_CACHE_HOME/gress, or
~/.cache/gress), created 0700, and uses it only while that folder is a real directory owned
by this user that nobody else may write to; otherwise it does without (start-up is then about
90 ms slower, nothing else changes).
"""

from __future__ import annotations

import hashlib
import os
import stat


def private_cache_file(grammar: str) -> str | None:
    """The cache file for `grammar`'s tables, or None when there is no safe place for it."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "gress")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return None
    if (
        not stat.S_ISDIR(info.st_mode)  # a symlink could lead anywhere
        or info.st_uid != os.getuid()
        or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        return None
    digest = hashlib.sha256(grammar.encode()).hexdigest()[:16]
    return os.path.join(folder, f"grammar-{digest}.lark")
