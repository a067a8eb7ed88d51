"""The two rich consoles: stdout for results, stderr for diagnostics, progress and summaries.

When a stream is not a terminal (CI logs, pipes), rich would wrap at 80 columns; tables and
messages stay readable at a wider fixed width instead.
"""

from __future__ import annotations

import sys

from rich.console import Console


def _console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, width=width)


console = _console(stderr=False)
err_console = _console(stderr=True)
