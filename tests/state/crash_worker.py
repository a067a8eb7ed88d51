"""A process for the crash tests to SIGKILL: `python -m tests.state.crash_worker MODE DIR [...]`.

checkpoints DIR [KILL_AT]   restore the newest checkpoint, then take checkpoints 1, 2, ... (each
                            one a known state, `expected_state(n)`) until killed; prints
                            `done N` after each
restore DIR ID [KILL_AT]    restore checkpoint ID over and over, printing `restored`

With KILL_AT = k the process kills itself with SIGKILL at the k-th file operation (fsync,
rename, link, copy, unlink, rmtree) Python makes after the second checkpoint (checkpoints) or
after opening the backend (restore), so that every step of gress's own sequences is reached
deterministically; without it the test kills it at a random moment.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gress_cep.state.backend import WriteBatch
from gress_cep.state.rocksdb import RocksDbBackend

KEYS = 300


def expected_state(n: int) -> dict[str, dict[bytes, bytes]]:
    """The live state right before checkpoint n (n = 0: empty)."""
    if n == 0:
        return {}
    return {
        "values": {b"key%05d" % i: b"%d:%d:" % (n, i) + b"x" * 180 for i in range(KEYS)},
        "marker": {b"checkpoint": b"%d" % n},
    }


def write_state(backend: RocksDbBackend, n: int) -> None:
    batch = WriteBatch()
    for table, entries in expected_state(n).items():
        for key, value in entries.items():
            batch.put(table, key, value)
    batch.delete("junk", b"junk")  # written after the previous checkpoint, see main
    backend.write(batch)


def _kill_at(calls: int) -> None:
    """Replace the file operations Python makes with ones that SIGKILL at the calls-th call."""
    count = 0

    def wrap(module: Any, name: str) -> None:
        original: Callable[..., Any] = getattr(module, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal count
            count += 1
            if count == calls:
                print(f"killed at {name}{args}", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kwargs)

        setattr(module, name, counted)

    for module, name in (
        (os, "fsync"),
        (os, "replace"),
        (os, "link"),
        (os, "unlink"),
        (shutil, "copyfile"),
        (shutil, "rmtree"),
    ):
        wrap(module, name)


def main(argv: list[str]) -> None:
    mode, state_dir = argv[0], Path(argv[1])
    if mode == "checkpoints":
        backend = RocksDbBackend(state_dir)
        info = backend.restore()
        n = first = (info.checkpoint_id if info else 0) + 1
        while True:
            write_state(backend, n)
            backend.checkpoint(n, {"n": n})
            backend.discard_older_than(n - 1)
            print(f"done {n}", flush=True)
            if n == first + 1 and len(argv) > 2:  # count from the end of the second one
                _kill_at(int(argv[2]))
            # writes after the checkpoint: must never show up in a restored state
            backend.table("values").put(b"key00000", b"not checkpointed")
            backend.table("junk").put(b"junk", b"%d" % n)
            n += 1
    elif mode == "restore":
        checkpoint_id = int(argv[2])
        backend = RocksDbBackend(state_dir)
        if len(argv) > 3:
            _kill_at(int(argv[3]))
        while True:
            backend.restore(checkpoint_id)
            backend.table("values").put(b"key00000", b"written after restore")
            print("restored", flush=True)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
