"""`gress detect FILE --watch`: reload FILE when it changes, and on SIGHUP.

The work is done by gress_cep.runtime.reload.WatchedJob; this is what the command line adds:
SIGHUP (its handler only sets a flag, acted on between rounds), a line on stderr for each
reload (a refusal is an error: it is shown even with -q), the gress_reloads_total metric, and
the progress line and metrics following the job that runs after a swap.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from rich.markup import escape

from gress_cep.cli.console import err_console
from gress_cep.dsl import ast
from gress_cep.runtime.job import Job
from gress_cep.runtime.plan import Plan
from gress_cep.runtime.reload import ReloadReport, WatchedJob
from gress_cep.state.backend import StateBackend


class Watch(WatchedJob):
    """A WatchedJob with SIGHUP installed (from the main thread); `restore_signal()` undoes it."""

    def __init__(
        self,
        job: Job,
        program: ast.Program,
        plan: Plan,
        make_plan: Callable[[ast.Program], Plan],
        map_inputs: Callable[[ast.Program], list[tuple[str, str]]],
        open_backend: Callable[[Path | None], StateBackend],
        *,
        quiet: bool,
    ) -> None:
        super().__init__(
            job, program, plan, make_plan, map_inputs, open_backend, on_reload=self._reported
        )
        self.quiet = quiet
        self.followers: list[Any] = []  # objects with a `pipeline` (progress line, metrics)
        self.metrics: Any = None
        self._previous = signal.signal(signal.SIGHUP, self._hangup) or signal.SIG_DFL

    def follow(self, progress: Any, metrics: Any) -> None:
        """Point the progress line and the metrics at each new job; count reloads there."""
        self.followers = [f for f in (progress, metrics) if f is not None]
        self.metrics = metrics
        if metrics is not None:
            metrics.reloads = self.reloads

    def _hangup(self, signum: int, frame: FrameType | None) -> None:
        self.request()

    def _reported(self, report: ReloadReport, job: Job) -> None:
        for follower in self.followers:
            follower.pipeline = job.pipeline
        if self.metrics is not None:
            self.metrics.checkpoints = job.coordinator
        if not report.ok:
            err_console.print(
                f"[red]error:[/] {escape(report.message)}", highlight=False, soft_wrap=True
            )
            return
        if self.quiet:
            return
        for warning in report.warnings:
            err_console.print(escape(warning), highlight=False, soft_wrap=True)
        err_console.print(escape(report.message), highlight=False, soft_wrap=True)

    def restore_signal(self) -> None:
        """SIGHUP's handler as it was before (the job itself is closed by its caller)."""
        signal.signal(signal.SIGHUP, self._previous)
