"""`gress diff OLD.gress NEW.gress -i SOURCE ...`: backtest a rule change on history.

Parses options and hands the two programs and the opened inputs to
gress_cep.authoring.backtest, which runs both in one pass; this module shows the result: a
table per pattern (live on a terminal), a few examples of each difference, `--json`, or the
differences as files with `-o DIR`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table

from gress_cep.authoring.backtest import Backtest, run_backtest
from gress_cep.cli.console import err_console
from gress_cep.cli.options import format_option, input_option, input_specs
from gress_cep.connectors import ConnectorConfig, open_source, parse_kafka_config
from gress_cep.connectors.base import Source
from gress_cep.dsl import ast, load_file
from gress_cep.errors import UserError
from gress_cep.runtime.event_time import to_epoch_ms
from gress_cep.runtime.plan import Plan, PlanOptions, build_plan


@click.command("diff")
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@input_option
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each pattern's differences to DIR/PATTERN/only_old.jsonl and only_new.jsonl.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON on stdout.")
@click.option(
    "--examples",
    default=3,
    show_default=True,
    metavar="N",
    help="How many alerts of each difference to show per pattern.",
)
@click.option(
    "--from",
    "since",
    metavar="TIME",
    help="Compare only alerts whose first event is at or after TIME (ISO-8601 or epoch ms).",
)
@click.option(
    "--until",
    metavar="TIME",
    help="Compare only alerts whose last event is before TIME (ISO-8601 or epoch ms).",
)
@format_option
@click.option("--bootstrap-servers", metavar="HOST:PORT,...", help="Kafka brokers.")
@click.option(
    "--kafka-config", multiple=True, metavar="KEY=VALUE", help="A librdkafka setting. Repeatable."
)
@click.option("--schema-registry", metavar="URL", help="Confluent Schema Registry URL.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the counts (and errors).")
def command(
    old: Path,
    new: Path,
    inputs: tuple[str, ...],
    out_dir: Path | None,
    as_json: bool,
    examples: int,
    since: str | None,
    until: str | None,
    fmt: str | None,
    bootstrap_servers: str | None,
    kafka_config: tuple[str, ...],
    schema_registry: str | None,
    quiet: bool,
) -> None:
    """Run OLD and NEW pattern files on the same input in one pass, and show per pattern the
    alerts only OLD raises, only NEW raises, and both.

    Two alerts are the same when their pattern, key and matched events are the same.

    \b
    Examples:
      gress diff fraud.gress fraud_v2.gress -i payments=payments.jsonl -i logins=logins.jsonl
      gress diff old.gress new.gress -i kafka:payments --bootstrap-servers 127.0.0.1:9092 --json
      gress diff old.gress new.gress -i events.jsonl -o changes/ --from 2024-05-01T00:00:00Z
    """
    programs = [load_file(path)[0] for path in (old, new)]
    window = (_time(since, "--from"), _time(until, "--until"))
    config = ConnectorConfig(
        bootstrap_servers=bootstrap_servers,
        kafka_config=parse_kafka_config(kafka_config),
        schema_registry=schema_registry,
        from_beginning=True,  # a backtest reads history: from the start, to the current end
        stop_at_end=True,
        format=fmt,
    )

    def plan_of(program: ast.Program, side: str) -> Plan:
        return _plan(program, old if side == "old" else new)  # "both": one folder

    streams = input_specs(programs[1], inputs)
    if out_dir is not None:
        _check_output(out_dir, streams)
    sources = _open(programs[1], streams, config)
    terminal = sys.stdout.isatty() and not as_json and not quiet

    def keep(match: dict[str, Any]) -> bool:
        start, end = match.get("start"), match.get("end")
        if window[0] is not None and (not isinstance(start, int) or start < window[0]):
            return False
        return window[1] is None or (isinstance(end, int) and end < window[1])

    started = time.monotonic()
    live = Live(console=Console(), auto_refresh=False, transient=True) if terminal else None
    last_refresh = 0.0

    def on_round(result: Backtest) -> None:
        nonlocal last_refresh
        if live is not None and time.monotonic() - last_refresh > 0.25:
            live.update(_table(result, f"{result.records_in:,} records read"), refresh=True)
            last_refresh = time.monotonic()

    try:
        if live is not None:
            live.start()
        result = run_backtest(
            programs[0],
            programs[1],
            sources,
            plan_of,
            share=old.parent.resolve() == new.parent.resolve(),  # models: one folder
            keep=keep if window != (None, None) else None,
            on_round=on_round,
        )
    finally:
        if live is not None:
            live.stop()
    seconds = time.monotonic() - started
    if as_json:
        click.echo(json.dumps({name: d.counts() for name, d in result.patterns.items()}))
    else:
        console = Console(highlight=False)
        console.print(_table(result, f"{result.records_in:,} records in {seconds:.1f} s"))
        if not quiet:
            _print_examples(console, result, examples)
    if not quiet:
        _print_notes(result, old, new)
    if out_dir is not None:
        _write(out_dir, result)


def _time(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    ms = to_epoch_ms(int(text) if text.strip().lstrip("-").isdigit() else text)
    if ms is None:
        raise UserError(
            f"{option} {text}: not a time",
            hint="write an ISO-8601 time (2024-05-01T10:00:00Z) or epoch milliseconds",
        )
    return ms


def _plan(program: ast.Program, path: Path) -> Plan:
    def no_model_failures(letter: Any) -> None:
        return None  # a model's failures are dead letters of the run; counted there

    return build_plan(program, PlanOptions(base_dir=path.parent, on_dead_letter=no_model_failures))


def _check_output(out_dir: Path, streams: list[tuple[str, str]]) -> None:
    """-o DIR holds only files gress writes: never one of the inputs."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"-o {out_dir} is a file, not a folder")
    root = out_dir.resolve()
    for _, spec in streams:
        if (
            spec != "-"
            and not spec.startswith("kafka:")
            and Path(spec).resolve().parent.parent == root
        ):
            raise UserError(
                f"-o {out_dir}: the input {spec} is inside it and could be overwritten",
                hint="write the differences to another folder",
            )


def _open(
    program: ast.Program, streams: list[tuple[str, str]], config: ConnectorConfig
) -> dict[str, list[Source]]:
    declared = {s.name.text: s for s in program.of_type(ast.Stream)}
    sources: dict[str, list[Source]] = {}
    for stream, spec in streams:
        sources.setdefault(stream, []).append(open_source(spec, declared[stream], config))
    return sources


def _table(result: Backtest, caption: str) -> Table:
    table = Table(caption=caption, caption_justify="left")
    table.add_column("pattern")
    table.add_column("only old", justify="right")
    table.add_column("only new", justify="right")
    table.add_column("both", justify="right")
    for name, diff in result.patterns.items():
        counts = diff.counts()
        marker = (
            " (old only)"
            if name in result.only_in_old
            else " (new only)"
            if name in result.only_in_new
            else ""
        )
        table.add_row(
            name + marker,
            f"{counts['only_old']:,}",
            f"{counts['only_new']:,}",
            f"{counts['both']:,}",
        )
    return table


def _print_examples(console: Console, result: Backtest, limit: int) -> None:
    for name, diff in result.patterns.items():
        for side in ("old", "new"):
            alerts = diff.only(side)
            if not alerts or limit <= 0:
                continue
            console.print(f"{name}: only in {side} ({len(alerts):,}), e.g.:")
            for alert in alerts[:limit]:
                console.print(
                    "  " + json.dumps(alert, ensure_ascii=False, default=str), soft_wrap=True
                )


def _print_notes(result: Backtest, old: Path, new: Path) -> None:
    if result.only_in_old:
        err_console.print(f"note: only in {old}: " + ", ".join(result.only_in_old), highlight=False)
    if result.only_in_new:
        err_console.print(f"note: only in {new}: " + ", ".join(result.only_in_new), highlight=False)
    for note in dict.fromkeys(result.notes):
        err_console.print(f"note: {note}", highlight=False)
    if result.dead_letters:
        err_console.print(
            f"note: {len(result.dead_letters):,} records could not be used (dead letters), "
            f"e.g. {result.dead_letters[0].origin}: {result.dead_letters[0].reason}",
            highlight=False,
        )
    if result.late:
        err_console.print(
            f"note: {result.late:,} records came behind the watermark (late)", highlight=False
        )


def _write(out_dir: Path, result: Backtest) -> None:
    for name, diff in result.patterns.items():
        folder = out_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for side in ("old", "new"):
            with open(folder / f"only_{side}.jsonl", "w", encoding="utf-8") as out:
                for alert in diff.only(side):
                    out.write(json.dumps(alert, ensure_ascii=False, default=str) + "\n")
