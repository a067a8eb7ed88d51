"""`gress detect --trace VALUE [--trace-output PATH]`: where the trace goes and how it reads.

The steps come from gress_cep.nfa.trace as dicts. On a terminal (stderr, no --trace-output)
each is one human-readable line; otherwise each is one JSON object per line (JSON Lines), on
stderr or in PATH — the format `gress explain FILE --trace-file PATH` reads back.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import click
import orjson
from rich.console import Console
from rich.markup import escape

from gress_cep.cli.console import err_console
from gress_cep.errors import UserError
from gress_cep.nfa.trace import PatternTracer, Step, attach, key_text, time_text
from gress_cep.runtime.job import JobSpec
from gress_cep.runtime.plan import Plan, _root_key


def start_trace(
    plan: Plan,
    spec: JobSpec,
    values: tuple[str, ...],
    output: Path | None,
    *,
    quiet: bool | None,
) -> None:
    """Trace the keys `values` name in the job's patterns. The trace file is closed, and a
    line per traced key summarised, when the command ends."""
    if not values:
        raise UserError(
            "--trace-output without --trace: which key should be traced?",
            hint="add --trace VALUE (the value of the patterns' partition key), or '*'",
        )
    if output is not None:
        protected = [src for _, src in spec.inputs] + [str(spec.file)]
        protected += [out for _, out in spec.outputs.items()]
        _check_output(output, protected)
    writer = TraceWriter.open(output)
    tracers, notes = attach(
        [(name, p.operator, _key_fields(plan, name)) for name, p in plan.patterns.items()],
        list(values),
        writer.write,
    )
    if not quiet:
        for note in notes:
            err_console.print(f"[dim]note: {escape(note)}[/]", highlight=False, soft_wrap=True)
    ctx = click.get_current_context()
    ctx.call_on_close(lambda: writer.close(tracers, list(values), quiet=bool(quiet)))


def _key_fields(plan: Plan, name: str) -> tuple[str, ...]:
    """The fields a pattern is partitioned by (as gress_cep.runtime.plan keys it)."""
    pattern = plan.patterns[name]
    if pattern.decl.partition_by is not None:
        return tuple(f.text for f in pattern.decl.partition_by)
    root = _root_key(plan, pattern.source)
    return (root,) if root else ()


def _check_output(output: Path, protected: list[str]) -> None:
    """The trace file is an output like the others: it must not overwrite what the job reads
    (an input, the pattern file) nor another output."""
    if not output.parent.is_dir():
        raise UserError(
            f"--trace-output {output}: no folder {output.parent}",
            hint="create the folder, or write the trace elsewhere",
        )
    if not output.exists() or not output.is_file():
        return
    for other in protected:
        if other == "-" or other.startswith("kafka:"):
            continue
        try:
            same = os.path.samefile(output, other)
        except OSError:
            continue
        if same:
            raise UserError(
                f"--trace-output {output} is also {other}: writing the trace would destroy it",
                hint="write the trace to a file of its own",
            )


@dataclass(slots=True)
class TraceWriter:
    """JSON Lines into a file or stderr, or lines for people on a terminal's stderr."""

    stream: IO[bytes] | None  # JSON Lines into this file
    path: Path | None = None
    lines: bool = False  # on the terminal: lines for people (else JSON Lines on stderr)
    console: Console = field(default_factory=lambda: err_console)
    steps: int = 0
    _last: tuple[Any, ...] | None = None  # the header last printed (pattern, key, event, time)

    @staticmethod
    def open(path: Path | None) -> TraceWriter:
        if path is not None:
            try:
                stream: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed by close()
            except OSError as err:
                raise UserError(f"--trace-output {path}: {err.strerror}") from None
            return TraceWriter(stream, path)
        return TraceWriter(None, lines=err_console.is_terminal)

    def write(self, step: Step) -> None:
        self.steps += 1
        if self.stream is not None:
            self.stream.write(orjson.dumps(step, default=str, option=_JSON) + b"\n")
        elif self.lines:
            self._line(step)
        else:  # stderr is a pipe or a file: for programs
            sys.stderr.write(orjson.dumps(step, default=str, option=_JSON).decode() + "\n")

    def close(self, tracers: list[PatternTracer], values: list[str], *, quiet: bool) -> None:
        if self.stream is not None:
            self.stream.close()
        if quiet:
            return
        for line in summary(tracers, values):
            err_console.print(f"trace: {escape(line)}", highlight=False, soft_wrap=True)
        if self.path is not None:
            err_console.print(
                f"trace: {self.steps:,} steps written to {escape(str(self.path))} "
                f"(gress explain FILE --trace-file {escape(str(self.path))})",
                highlight=False,
                soft_wrap=True,
            )

    # ------------------------------------------------------------------ the terminal
    def _line(self, step: Step) -> None:
        head = (step["pattern"], key_text(step["key"]), step["event"], step["time"])
        if head != self._last:
            self._last = head
            where = (
                f"event {step['event']}"
                if step["event"] is not None
                else "the watermark passes"
                if step["time"] is not None
                else "the input ends"
            )
            when = time_text(step["time"]) if step["time"] is not None else ""
            self.console.print(
                f"[bold]{escape(step['pattern'])}[/] key [bold]{escape(head[1])}[/] "
                f"{where} [dim]{when}[/]",
                highlight=False,
                soft_wrap=True,
            )
        text = render_step(step)
        if text is not None:
            self.console.print(text, highlight=False, soft_wrap=True)


_JSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def partial_text(events: dict[str, list[int | None]] | None) -> str:
    """`[small #1 #2, big #4]`, or `[new]` for a partial match not started yet."""
    if not events:
        return "[new]"
    parts = [
        f"{var} " + " ".join("#?" if n is None else f"#{n}" for n in numbers)
        for var, numbers in events.items()
    ]
    return "[" + ", ".join(parts) + "]"


def value_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=str).decode()
    return str(value)


def render_step(step: Step) -> str | None:
    """One step as a line for people (rich markup), or None for one the next line says."""
    kind = step["step"]
    partial = escape(partial_text(step.get("partial")))
    var = step.get("variable") or ""
    if kind == "event":
        record = orjson.dumps(step.get("record"), default=str).decode()
        return f"  [dim]{escape(record)}[/]"
    if kind == "tried":
        if step["result"] or step["edge"] == "ignore":
            # a true one: the taken/ignored/proceeded/killed line that follows says it; a
            # false ignore: the event was not skipped, which its take line says (JSON: all)
            return None
        what = {"kill": f"!{var}", "proceed": "proceed"}.get(step["edge"], var)
        return (
            f"  {partial} [red]✗[/] {escape(what)}: {escape(step['condition'])} → false"
            + escape(_values_suffix(step))
        )
    if kind in ("taken", "ignored", "proceeded"):
        verb = {"taken": "take", "ignored": "ignore", "proceeded": "proceed"}[kind]
        cond = (
            f": {escape(step['condition'])} → true{escape(_values_suffix(step))}"
            if "condition" in step
            else ""
        )
        target = (
            "· waits"
            if kind == "ignored" and step.get("to") == step.get("state")
            else f"→ state {step.get('to')} {escape(str(step.get('to_label', '')))}"
        )
        label = f" {escape(var)}" if var and kind != "proceeded" else ""
        return f"  {partial} [green]✓ {verb}{label}[/]{cond} {target}"
    if kind in ("started", "extended"):
        return (
            f"  [cyan]{kind}[/] {partial} [dim](state {step.get('state')} "
            f"{escape(str(step.get('label', '')))})[/]"
        )
    if kind == "killed":
        return (
            f"  {partial} [red]killed by !{escape(var)}[/]: "
            f"{escape(step['condition'])} → true{escape(_values_suffix(step))}"
        )
    if kind == "expired":
        return f"  {partial} [yellow]expired[/]: {escape(step['reason'])}"
    if kind == "dropped":
        return f"  {partial} [yellow]dropped[/]: {escape(step['reason'])}"
    if kind == "held":
        return f"  {partial} [blue]held[/]: {escape(step['reason'])}"
    if kind == "matched":
        return f"  [bold green]★ match[/] {partial}"
    return f"  {escape(kind)} {partial}"


def _values_suffix(step: Step) -> str:
    values = step.get("values") or {}
    if not values:
        return ""
    return " (" + ", ".join(f"{k} = {value_text(v)}" for k, v in values.items()) + ")"


def summary(tracers: list[PatternTracer], values: list[str]) -> list[str]:
    """A line per traced pattern and key, and one for each value no event of which came."""
    lines = []
    for tracer in tracers:
        if not tracer.reports:
            lines.append(
                f"pattern {tracer.name}: no event of key {' or '.join(values)} came to it "
                "(keys are compared as text, numbers as numbers: 42 names 42 and 42.0; "
                "a `where` upstream may have filtered them)"
            )
            continue
        for key, r in tracer.reports.items():
            lines.append(
                f"pattern {tracer.name} key {key_text(key)}: {r.events:,} events, "
                f"{r.started:,} partial matches started, {r.matched:,} "
                f"{'match' if r.matched == 1 else 'matches'} "
                f"({r.expired:,} expired, {r.killed:,} killed, {r.dropped:,} dropped)"
            )
    return lines
