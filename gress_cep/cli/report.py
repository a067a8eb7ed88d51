"""What `gress detect` shows a person: a live table of matches, a progress line, the summary."""

from __future__ import annotations

import time
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gress_cep.cli.console import console
from gress_cep.runtime.watermarks import END_OF_TIME, NO_WATERMARK

if TYPE_CHECKING:
    from gress_cep.runtime.pipeline import Pipeline
    from gress_cep.state.coordinator import CheckpointStats

_META = ("pattern", "view", "key", "start", "end", "window_end")


def format_time(ms: Any) -> str:
    if not isinstance(ms, int) or ms in (NO_WATERMARK, END_OF_TIME):
        return "-" if ms == NO_WATERMARK else "end" if ms == END_OF_TIME else str(ms)
    try:
        moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return str(ms)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}Z"


def _details(match: dict[str, Any]) -> str:
    parts = []
    for name, value in match.items():
        if name in _META:
            continue
        if isinstance(value, list):
            parts.append(f"{name}: {len(value)} events")
        elif isinstance(value, dict):
            parts.append(f"{name}: 1 event")
        else:
            parts.append(f"{name}={value}")
    return ", ".join(parts)


class LiveView:
    """The terminal form of `-o -`: the latest matches (and records of the views written with
    --view) as a table that updates in place. `source`: what to show in the `from` column for
    records that do not say (the only output of the run)."""

    def __init__(self, progress_console: Console, rows: int = 15, source: str = "") -> None:
        self.source = source
        self.rows: deque[dict[str, Any]] = deque(maxlen=rows)
        self.total = 0
        self.live = Live(self._render(), console=console, refresh_per_second=4, transient=False)
        self.live.start()

    def add(self, matches: list[dict[str, Any]]) -> None:
        self.total += len(matches)
        self.rows.extend(matches)
        self.live.update(self._render())

    def _render(self) -> Group:
        table = Table(title=f"matches ({self.total})", expand=False, title_justify="left")
        for column in ("end", "from", "key", "details"):
            table.add_column(column, overflow="fold")
        for m in self.rows:
            if "pattern" in m:
                source, end = str(m["pattern"]), m.get("end")
            else:
                source = f"view {m['view']}" if "view" in m else self.source
                end = m.get("window_end", m.get("end"))
            table.add_row(format_time(end), source, str(m.get("key", "")), _details(m))
        return Group(table)

    def close(self) -> None:
        self.live.update(self._render())
        self.live.stop()


class ProgressLine:
    """records, records/s, matches, watermark and open partial matches, on stderr.

    On a terminal: one line, updated in place four times a second. Otherwise (`--progress`
    into a log): a plain line at once and then every LOG_EVERY seconds.
    """

    LOG_EVERY = 5.0

    def __init__(self, err: Console, pipeline: Pipeline) -> None:
        self.err = err
        self.pipeline = pipeline
        self.started = time.monotonic()
        self.last = -float("inf")
        self.live: Live | None = None
        if err.is_terminal:
            self.live = Live(Text(""), console=err, refresh_per_second=4, transient=True)
            self.live.start()

    def update(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < (0.25 if self.live is not None else self.LOG_EVERY):
            return
        self.last = now
        rows = self.pipeline.summary()
        records = sum(node.counters.records_in for node in self.pipeline.streams.values())
        matches = sum(r.matches for r in rows)
        rate = records / max(now - self.started, 1e-9)
        marks = self.pipeline.watermarks().values()
        mark = format_time(min(marks)) if marks else "-"
        open_matches = self.pipeline.open_partial_matches()
        line = (
            f"{records:,} records · {rate:,.0f}/s · {matches:,} matches · "
            f"watermark {mark} · {open_matches:,} open partial matches"
        )
        if self.live is not None:
            self.live.update(Text(line, style="dim"))
        else:
            self.err.print(line, highlight=False, markup=False)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()


def print_summary(
    err: Console,
    pipeline: Pipeline,
    elapsed: float,
    sinks: Any,
    interrupted: bool,
    checkpoints: CheckpointStats | None = None,
) -> None:
    rows = pipeline.summary()
    title = "stopped" if interrupted else "done"
    records = sum(s.counters.records_in for s in pipeline.streams.values())
    err.print(
        f"[bold]{title}[/] in {elapsed:.2f}s: {records:,} records read "
        f"({records / max(elapsed, 1e-9):,.0f}/s)",
        highlight=False,
    )
    table = Table(show_edge=False, pad_edge=False)
    for column in (
        "pattern",
        "records in",
        "processed",
        "matches",
        "timeouts",
        "late",
        "dead-letter",
        "filtered",
    ):
        table.add_column(column, justify="right" if column != "pattern" else "left")
    for r in rows:
        table.add_row(
            r.name,
            f"{r.records_in:,}",
            f"{r.processed:,}",
            f"{r.matches:,}",
            f"{r.timeouts:,}",
            f"{r.late:,}",
            f"{r.dead_letters:,}",
            f"{r.filtered:,}",
        )
    if rows:
        err.print(table)
    _print_views(err, pipeline)
    for r in rows:
        unaccounted = (
            r.records_in - r.used - r.late - r.dead_letters - r.filtered - r.held - r.dropped
        )
        if unaccounted:
            err.print(f"[yellow]note:[/] pattern {r.name}: {unaccounted:,} records still in flight")
        if r.aggregated:  # the rest of `records in`: taken in upstream, never reaching it
            err.print(
                f"[dim]note:[/] pattern {r.name}: {r.aggregated:,} of its records in were taken "
                "in upstream (by a window, a join or a lookup's table) rather than processed",
                highlight=False,
            )
        if r.held:
            err.print(
                f"[yellow]note:[/] pattern {r.name}: {r.held:,} records were waiting "
                "for the watermark"
            )
        if r.dropped:
            err.print(
                f"[yellow]note:[/] pattern {r.name}: {r.dropped:,} records read before a restart "
                "were never matched: its input changed, or it is new since the checkpoint"
            )
        if r.ttl_expired:
            err.print(
                f"[dim]note:[/] pattern {r.name}: {r.ttl_expired:,} partial matches expired by ttl"
            )
        if r.dropped_partial_matches:
            err.print(
                f"[yellow]warning:[/] pattern {r.name}: "
                f"{r.dropped_partial_matches:,} partial matches "
                "dropped by --max-partial-matches (oldest first)"
            )
    if checkpoints is not None and checkpoints.taken:
        durations = sorted(checkpoints.durations)
        p50 = durations[len(durations) // 2] * 1000
        worst = durations[-1] * 1000
        err.print(
            f"checkpoints: {checkpoints.taken} (p50 {p50:.1f} ms, max {worst:.1f} ms)",
            highlight=False,
        )
    model_stats = [s for op in pipeline.operators() for s in getattr(op, "stats", [])]
    if model_stats:
        from gress_cep.cli.score import stats_table

        err.print(stats_table(model_stats))
    for what, count in sinks.unsaved.items():
        if count:
            flag = {
                "dead letters": "--dead-letter",
                "late records": "--late",
                "timeouts": "--timeouts",
            }[what]
            err.print(
                f"[yellow]warning:[/] {count:,} {what} were counted but not written: "
                f"add {flag} FILE to keep them"
            )
    for letter in sinks.dead_samples:
        err.print(
            f"    dead letter from {letter.origin}: {letter.reason}", highlight=False, markup=False
        )


def _print_views(err: Console, pipeline: Pipeline) -> None:
    """The views written with --view: records in, records out (windows, for a window view)."""
    rows = pipeline.view_summary()
    if not rows:
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("view", "records in", "records out", "late", "dead-letter", "filtered"):
        table.add_column(column, justify="right" if column != "view" else "left")
    for r in rows:
        table.add_row(
            r.name,
            f"{r.records_in:,}",
            f"{r.records_out:,}",
            f"{r.late:,}",
            f"{r.dead_letters:,}",
            f"{r.filtered:,}",
        )
    err.print(table)
    for r in rows:
        unaccounted = (
            r.records_in - r.used - r.late - r.dead_letters - r.filtered - r.held - r.dropped
        )
        if unaccounted:
            err.print(f"[yellow]note:[/] view {r.name}: {unaccounted:,} records still in flight")
        if r.aggregated is not None:
            if r.takers in ((), ("window",)):
                taken = f"aggregated into {r.records_out:,} windows"
            elif r.takers == ("join",):
                taken = f"joined into {r.records_out:,} pair{'' if r.records_out == 1 else 's'}"
            else:  # a lookup's table rows, or several kinds
                taken = "taken in by " + ", ".join(
                    {"lookup": "a lookup's table", "window": "windows", "join": "a join"}[t]
                    for t in r.takers
                )
            err.print(
                f"[dim]note:[/] view {r.name}: {r.aggregated:,} records {taken}", highlight=False
            )
        if r.held:
            err.print(
                f"[yellow]note:[/] view {r.name}: {r.held:,} records were still held "
                "(waiting for the watermark or a model)"
            )
        if r.dropped:
            err.print(
                f"[yellow]note:[/] view {r.name}: {r.dropped:,} records read before a restart "
                "were dropped because the view changed"
            )
