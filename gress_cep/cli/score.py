"""`gress score MODEL.onnx`: batch scoring of a file, with a progress bar and a summary.

The same machinery as `score` in a view: feature expressions compiled like conditions, the
score operator micro-batching rows into one inference call per `--batch` rows.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gress_cep.cli.console import err_console
from gress_cep.cli.options import format_option, output_format_option
from gress_cep.connectors import ConnectorConfig, open_sink, open_source
from gress_cep.connectors.base import DeadLetter, Sink
from gress_cep.dsl import ast
from gress_cep.dsl.errors import Diagnostic, Diagnostics, GressError
from gress_cep.dsl.expression_checker import Context, ExpressionChecker
from gress_cep.dsl.parser import parse_expression
from gress_cep.dsl.record_types import UNKNOWN_RECORD
from gress_cep.dsl.source_text import SourceText
from gress_cep.errors import UserError
from gress_cep.models.features import feature_from_expr
from gress_cep.models.scorer import Scorer
from gress_cep.models.session import OnnxModel
from gress_cep.models.stats import VariantStats
from gress_cep.operators.score import DEFAULT_BATCH, ScoreOperator

POLL = 4096  # records read per poll of the source
_OUTPUT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[\s*(\d+)\s*\])?\s*")


def split_features(text: str) -> list[tuple[int, str]]:
    """`amount, hour(ts), max(a, b)` -> its expressions with their offsets in `text`: commas
    split only at the top level, not inside (), [], strings or `quoted names`."""
    pieces: list[tuple[int, str]] = []
    depth, start, quote = 0, 0, ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in '"`':
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            pieces.append((start, text[start:i]))
            start = i + 1
        i += 1
    pieces.append((start, text[start:]))
    return pieces


def parse_features(text: str) -> list[ast.Expr]:
    """The feature expressions of `--features`, checked; errors point into the option's text."""
    origin = "--features"
    exprs: list[ast.Expr] = []
    syntax: list[Diagnostic] = []
    for start, piece in split_features(text):
        if not piece.strip():
            raise UserError(
                f"--features {text!r}: an empty feature at column {start + 1}",
                hint="separate feature expressions with single commas: amount,hour(ts)",
            )
        try:
            # padding keeps the columns of the whole option text in syntax errors
            exprs.append(parse_expression(" " * start + piece, origin))
        except GressError as err:
            syntax.extend(err.diagnostics)
    if syntax:
        raise GressError(syntax, origin, text)
    # the parser reports an expression's spans inside its own wrapper: measure the shift once
    shift = parse_expression("x").span.column - 1
    wrapped = " " * shift + text
    diag = Diagnostics(origin, wrapped)
    checker = ExpressionChecker(diag, SourceText(wrapped))
    context = Context(
        UNKNOWN_RECORD, "in --features", no_aggregate_hint="a model scores one record at a time"
    )
    for expr in exprs:
        checker.value(expr, context)
    if diag.has_errors:
        for d in diag.items:
            s = d.span
            d.span = ast.Span(s.line, s.column - shift, s.end_line, s.end_column - shift)
        raise GressError(diag.sorted(), origin, text)
    return exprs


def parse_model_output(text: str | None) -> tuple[str | None, int | None]:
    """`probabilities[1]` -> ("probabilities", 1); None -> the model's default output."""
    if text is None:
        return None, None
    m = _OUTPUT.fullmatch(text)
    if not m:
        raise UserError(
            f"--model-output {text!r}: expected NAME or NAME[COLUMN]",
            hint="e.g. --model-output probabilities[1]",
        )
    return m.group(1), int(m.group(2)) if m.group(2) is not None else None


@click.command("score")
@click.argument("model_path", metavar="MODEL.onnx", type=click.Path(path_type=Path))
@click.option(
    "-i",
    "--input",
    "source_spec",
    required=True,
    metavar="SOURCE",
    help="A file (.jsonl .json .csv .avro) or '-' for stdin.",
)
@click.option(
    "--features",
    required=True,
    metavar="EXPR,...",
    help="Feature expressions in the model's input order, e.g. amount,hour(ts),merchant_risk.",
)
@click.option(
    "-o",
    "--output",
    "sink_spec",
    default="-",
    show_default=True,
    metavar="SINK",
    help="'-' for JSON Lines on stdout, or a file (.jsonl .csv .avro).",
)
@click.option(
    "--model-output",
    metavar="NAME[COL]",
    help="The output tensor and column holding the score (default: the model's last output; "
    "column 1 of two, e.g. a binary classifier's probabilities).",
)
@click.option("--as", "field", default="score", show_default=True, help="The score field's name.")
@click.option(
    "--batch",
    default=DEFAULT_BATCH,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows per inference call.",
)
@click.option(
    "--threads", type=click.IntRange(min=1), help="onnxruntime intra-op threads (default 1)."
)
@format_option
@output_format_option
@click.option(
    "--dead-letter", metavar="SINK", help="Where rows whose inference failed go, with the error."
)
@click.option(
    "-q",
    "--quiet/--progress",
    default=None,
    help="-q: only errors (no progress bar, no summary); --progress: the progress bar on "
    "stderr (default: on a terminal).",
)
def command(
    model_path: Path,
    source_spec: str,
    features: str,
    sink_spec: str,
    model_output: str | None,
    field: str,
    batch: int,
    threads: int | None,
    fmt: str | None,
    output_format: str | None,
    dead_letter: str | None,
    quiet: bool | None,
) -> None:
    """Score every record of SOURCE with MODEL.onnx and write it with its score.

    Output records are the input records plus the score field (`--as`, default `score`); a
    record with a missing, non-numeric or out-of-range feature gets a null score. At the end a
    summary with throughput and inference latency goes to stderr (not with -q).

    \b
    Examples:
      gress score models/fraud.onnx -i payments.jsonl --features amount,hour(ts),merchant_risk \\
          -o scored.jsonl
      gress score model.onnx -i - --features "a, b, max(c, 0)" --model-output variable --as y
    """
    if source_spec.startswith("kafka:"):
        raise UserError(
            "gress score reads files or stdin",
            hint="to score a topic, declare the model in a .gress file and use gress detect",
        )
    exprs = parse_features(features)
    output_name, column = parse_model_output(model_output)
    model = OnnxModel.load(
        model_path, str(model_path), len(exprs), output_name, column, threads, "--features"
    )
    scorer = Scorer(model_path.stem, [feature_from_expr(e) for e in exprs], [model])
    dead = _DeadLetters()
    operator = ScoreOperator(scorer, field, batch=batch, dead_letter=dead.add, record_variant=False)

    config = ConnectorConfig(format=fmt, output_format=output_format)
    source = open_source(source_spec, None, config)
    sink: Sink | None = None
    try:
        sink = open_sink(sink_spec, config)
        if dead_letter:
            dead.sink = open_sink(dead_letter, config, role="dead-letter")
        show = err_console.is_terminal if quiet is None else not quiet
        size = os.path.getsize(source_spec) if source_spec != "-" else None
        started = time.perf_counter()
        rows = 0
        with _progress(show, size) as progress:
            task = progress.add_task("scoring", total=size, rows=0)
            while (polled := source.poll(POLL, 1.0)) is not None:
                for letter in polled.dead:
                    dead.add(letter)
                rows += len(polled.records)
                scored = operator.process([(0, r) for r in polled.records], time.monotonic())
                sink.write([r for _, r in scored])
                progress.update(task, completed=_bytes_read(source.position()), rows=rows)
            sink.write([r for _, r in operator.finish()])
        sink.flush()
        dead.flush()
        if not quiet:  # -q: only errors
            _summary(scorer, rows, time.perf_counter() - started, dead)
    finally:
        source.close()
        if sink is not None:
            sink.close()
        dead.close()


class _DeadLetters:
    """Records that could not be read or scored: written to --dead-letter, or counted and
    sampled for the summary."""

    def __init__(self) -> None:
        self.sink: Sink | None = None
        self.count = 0
        self.samples: list[DeadLetter] = []

    def add(self, letter: DeadLetter) -> None:
        self.count += 1
        if len(self.samples) < 3:
            self.samples.append(letter)
        if self.sink is not None:
            self.sink.write([letter.to_record()])

    def flush(self) -> None:
        if self.sink is not None:
            self.sink.flush()

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()


def _bytes_read(position: dict) -> int:
    """How far into its file a source is: JSONL and CSV say `offset`, Avro its `block`."""
    return int(position.get("offset", position.get("block", 0)))


def _progress(show: bool, size: int | None) -> Progress:
    """A bar over the input's bytes when its size is known, else a running row count."""
    bar = [BarColumn()] if size else []
    return Progress(
        TextColumn("{task.description}"),
        *bar,
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=err_console,
        disable=not show,
        transient=True,
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def stats_table(stats: list[VariantStats]) -> Table:
    """Rows, inference calls, failed rows and call latency per model file (each A/B variant and
    shadow): the models part of a run summary."""
    table = Table(show_edge=False, pad_edge=False)
    for column in ("model", "file", "role", "rows", "batches", "failed", "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column in ("model", "file", "role") else "right")
    for s in stats:
        table.add_row(
            s.model,
            s.variant,
            s.role,
            f"{s.rows:,}",
            f"{s.batches:,}",
            f"{s.failed_rows:,}",
            _ms(s.latency_ms(50)),
            _ms(s.latency_ms(99)),
        )
    return table


def _summary(scorer: Scorer, rows: int, elapsed: float, dead: _DeadLetters) -> None:
    err_console.print(
        f"[bold]done[/] in {elapsed:.2f}s: {rows:,} rows read ({rows / max(elapsed, 1e-9):,.0f}/s)",
        highlight=False,
    )
    err_console.print(stats_table(scorer.stats))
    err_console.print("    (latency: one inference call on one batch)", style="dim")
    if scorer.incomplete_rows:
        err_console.print(
            f"[yellow]note:[/] {scorer.incomplete_rows:,} rows had a missing, non-numeric or "
            "non-finite feature, or one too large for the model's input type: their score is null"
        )
    if dead.count:
        where = (
            "written to the dead-letter output"
            if dead.sink
            else "add --dead-letter FILE to keep them"
        )
        err_console.print(
            f"[yellow]warning:[/] {dead.count:,} rows could not be read or scored: {where}"
        )
        for letter in dead.samples:
            err_console.print(
                f"    {letter.origin}: {letter.reason}", highlight=False, markup=False
            )
