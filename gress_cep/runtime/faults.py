"""Fault injection for the crash tests: SIGKILL this process at a named point.

`GRESS_FAULT=checkpoint-3@2` kills the process the 2nd time it reaches the point
`checkpoint-3` (after the checkpoint is durable, before its commit). The points are the steps
of the checkpoint protocol (`checkpoint-1` .. `checkpoint-4`), `restore` (state restored,
nothing processed yet) and `reload` (a reload of the pattern file, --watch: the old rules
checkpointed and closed, the new ones not opened yet). Without the variable this costs one
dictionary lookup per point.
"""

from __future__ import annotations

import os
import signal

_SPEC = os.environ.get("GRESS_FAULT", "")
_POINT, _, _NTH = _SPEC.partition("@")
_seen = 0


def fault_point(name: str) -> None:
    global _seen
    if not _POINT or name != _POINT:
        return
    _seen += 1
    if _seen == int(_NTH or 1):
        os.kill(os.getpid(), signal.SIGKILL)
