"""`gress detect`: run the patterns of a file over files, stdin or Kafka topics."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.markup import escape

from gress_cep.cli.config import load_config_file
from gress_cep.cli.console import err_console
from gress_cep.cli.options import format_option, input_option, input_specs, output_format_option
from gress_cep.cli.report import LiveView, ProgressLine, print_summary
from gress_cep.cli.stop_signals import StopSignals
from gress_cep.connectors import ConnectorConfig, parse_kafka_config
from gress_cep.connectors.base import DeadLetter
from gress_cep.dsl import load_file
from gress_cep.errors import UserError
from gress_cep.runtime.durations import parse_duration_s
from gress_cep.runtime.job import Job, JobSpec, Outputs
from gress_cep.runtime.pipeline import RoundOutput
from gress_cep.runtime.plan import PlanOptions, build_plan


@click.command("detect")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@input_option
@click.option(
    "-o",
    "--output",
    default="-",
    show_default=True,
    metavar="SINK",
    help="'-': a live table on a terminal, JSON Lines when piped; "
    "a path (.jsonl .csv .avro); or kafka:TOPIC.",
)
@click.option(
    "--pattern",
    "patterns",
    multiple=True,
    metavar="NAME",
    help="Run only these patterns (repeatable).",
)
@click.option(
    "--view",
    "views",
    multiple=True,
    metavar="NAME",
    help="Write the records of view NAME (repeatable; with --view, only the patterns named "
    "by --pattern run).",
)
@format_option
@output_format_option
@click.option(
    "--bootstrap-servers",
    envvar="GRESS_BOOTSTRAP_SERVERS",
    metavar="HOST:PORT",
    help="Kafka brokers [env GRESS_BOOTSTRAP_SERVERS].",
)
@click.option(
    "--kafka-config",
    multiple=True,
    metavar="KEY=VALUE",
    help="Passed to the Kafka client: security, tuning (repeatable).",
)
@click.option(
    "--schema-registry",
    envvar="GRESS_SCHEMA_REGISTRY",
    metavar="URL",
    help="Confluent Schema Registry [env GRESS_SCHEMA_REGISTRY].",
)
@click.option(
    "--group",
    envvar="GRESS_GROUP",
    metavar="ID",
    help="Kafka consumer group: workers with one group share the input.",
)
@click.option(
    "--from-beginning",
    is_flag=True,
    help="Kafka: start at the earliest offsets when no position is stored.",
)
@click.option(
    "--stop-at-end",
    is_flag=True,
    help="Kafka: stop once every partition reaches the end it had at start.",
)
@click.option(
    "--dead-letter",
    metavar="SINK",
    help="Where undecodable or invalid records go, with the reason.",
)
@click.option("--late", metavar="SINK", help="Where records behind the watermark go.")
@click.option(
    "--timeouts",
    metavar="SINK",
    help="Where expired partial matches go (patterns with 'on timeout emit').",
)
@click.option(
    "--idle-timeout",
    default="30s",
    show_default=True,
    metavar="DURATION",
    help="A quiet input partition stops holding event time back after this long.",
)
@click.option(
    "--max-time-skew",
    default="1d",
    show_default=True,
    metavar="DURATION|off",
    help="A record whose time is this far ahead of both the watermark and the clock is a "
    "dead letter (it would make every later record late); 'off': no bound.",
)
@click.option(
    "--max-partial-matches",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Per key and pattern; beyond it the oldest are dropped and counted.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    metavar="N",
    help="Serve Prometheus metrics on 127.0.0.1:N/metrics.",
)
@click.option(
    "--state-dir",
    envvar="GRESS_STATE_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="State and checkpoints [default: ./.gress/state/<job>; env GRESS_STATE_DIR].",
)
@click.option(
    "--checkpoint-interval",
    default="10s",
    show_default=True,
    metavar="DURATION",
    help="How often state, positions and outputs are committed together; 'off': no state, "
    "no checkpoints, nothing to resume.",
)
@click.option("--fresh", is_flag=True, help="Ignore the state of an unfinished earlier run.")
@click.option(
    "--allow-non-restored-state",
    is_flag=True,
    help="Resuming (or --from-savepoint): drop the state of patterns and views this job does "
    "not have, instead of refusing it.",
)
@click.option(
    "--state-cache-keys",
    default=100_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Keys per pattern kept in memory; the state of others waits on disk.",
)
@click.option(
    "--buffer-cache-events",
    default=100_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Events per pattern waiting for the watermark kept in memory; the rest wait on disk.",
)
@click.option(
    "--from-savepoint",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="PATH",
    help="Start from a savepoint (`gress savepoint`).",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Reload FILE when it changes (and on SIGHUP), keeping the state of unchanged "
    "patterns and views; a broken file is reported and the job goes on with the rules it had.",
)
@click.option(
    "--trace",
    "trace",
    multiple=True,
    metavar="VALUE",
    help="Show what each pattern's automaton did with every event of the key VALUE: the "
    "conditions tried and their values, partial matches started, expired, dropped, matches "
    "(repeatable; a=1,b=x for a key of several fields; '*': every key). Lines on a "
    "terminal's stderr, else JSON Lines.",
)
@click.option(
    "--trace-output",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Write the --trace as JSON Lines to PATH (read it with gress explain --trace-file).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    is_eager=True,
    expose_value=False,
    callback=load_config_file,
    help="gress.toml; precedence: flags > env GRESS_* > file > defaults.",
)
@click.option(
    "-q",
    "--quiet/--progress",
    default=None,
    help="-q: only errors (no progress, warnings or summary); --progress: the progress line "
    "on stderr (default: on a terminal).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check that the inputs exist, their schemas resolve and the topics and registry "
    "answer, then exit (0, with a short report) without reading or writing a record.",
)
def command(
    file: Path,
    inputs: tuple[str, ...],
    output: str,
    patterns: tuple[str, ...],
    views: tuple[str, ...],
    fmt: str | None,
    output_format: str | None,
    bootstrap_servers: str | None,
    kafka_config: tuple[str, ...],
    schema_registry: str | None,
    group: str | None,
    from_beginning: bool,
    stop_at_end: bool,
    dead_letter: str | None,
    late: str | None,
    timeouts: str | None,
    idle_timeout: str,
    max_time_skew: str,
    max_partial_matches: int,
    metrics_port: int | None,
    state_dir: Path | None,
    checkpoint_interval: str,
    fresh: bool,
    allow_non_restored_state: bool,
    state_cache_keys: int,
    buffer_cache_events: int,
    from_savepoint: Path | None,
    watch: bool,
    trace: tuple[str, ...],
    trace_output: Path | None,
    quiet: bool | None,
    dry_run: bool,
) -> None:
    """Run the patterns of FILE and write their matches (or the records of its views).

    \b
    Examples:
      gress detect rules.gress -i events.jsonl
      gress detect rules.gress -i events.jsonl --view spend_1h
      gress detect fraud.gress -i payments=payments.jsonl -o alerts.jsonl --late late.jsonl
      cat events.jsonl | gress detect rules.gress -i - | jq .
      gress detect fraud.gress -i payments=kafka:payments -o kafka:alerts \\
          --bootstrap-servers 127.0.0.1:9092 --schema-registry http://127.0.0.1:8081 \\
          --from-beginning

    At the end (or on Ctrl-C) a summary goes to stderr: per pattern the records in, matches,
    late, dead letters and filtered records — and the numbers add up.
    """
    program, warnings = load_file(file)
    for warning in [] if quiet else warnings:  # -q: only errors
        click.echo(warning.render(str(file), program.source), err=True)
    config = ConnectorConfig(
        bootstrap_servers=bootstrap_servers,
        kafka_config=parse_kafka_config(kafka_config),
        schema_registry=schema_registry,
        group=group,
        from_beginning=from_beginning,
        stop_at_end=stop_at_end,
        format=fmt,
        output_format=output_format,
    )
    pending_dead: list[DeadLetter] = []
    plan_options = PlanOptions(
        patterns=list(patterns) or None,
        views=list(views) or None,
        max_runs_per_key=max_partial_matches,
        idle_timeout_s=parse_duration_s(idle_timeout, "--idle-timeout"),
        max_time_skew_ms=(
            None
            if max_time_skew.strip() == "off"
            else round(parse_duration_s(max_time_skew, "--max-time-skew") * 1000)
        ),
        base_dir=file.parent,
        # not `pending_dead.append`: DeadLetterCallback may be called with `letter=`
        on_dead_letter=lambda letter: pending_dead.append(letter),
    )
    plan = build_plan(program, plan_options)
    streams = input_specs(program, inputs)
    plan.check_inputs(name for name, _ in streams)
    terminal = output == "-" and sys.stdout.isatty()
    spec = JobSpec(
        file=file,
        inputs=streams,
        outputs=Outputs(output, dead_letter, late, timeouts),
        config=config,
        patterns=list(patterns) or None,
        views=list(views) or None,
        state_dir=state_dir,
        checkpoint_interval_s=(
            None
            if checkpoint_interval == "off"
            else parse_duration_s(checkpoint_interval, "--checkpoint-interval")
        ),
        fresh=fresh,
        # --watch: a start after the file changed drops removed patterns' state, as a reload does
        allow_non_restored_state=allow_non_restored_state or watch,
        max_keys_in_memory=state_cache_keys,
        max_events_in_memory=buffer_cache_events,
        from_savepoint=from_savepoint,
        terminal_output=terminal,
    )
    from gress_cep.state import open_backend  # rocksdict loads only when a job runs

    if watch:
        from gress_cep.runtime.reload import check_watchable

        check_watchable(spec)

    if dry_run:  # the checks a run would make first, and a report instead of the run
        from gress_cep.runtime.preflight import preflight

        for line in preflight(spec, program, plan):
            if not quiet:
                err_console.print(line, highlight=False, soft_wrap=True)
        return
    if group is not None:  # scale-out: a worker of the group (cli/group.py, docs/operations.md)
        from gress_cep.cli.group import run_worker

        for flag, given in [("--trace", trace or trace_output), ("--watch", watch),
                            ("--metrics-port", metrics_port)]:  # fmt: skip
            if given:
                raise UserError(f"{flag} does not work with --group yet", hint=f"drop {flag}")

        run_worker(spec, program, plan_options, open_backend, pending_dead, quiet=quiet)
        return
    if trace or trace_output:  # `--trace`: gress_cep/cli/trace_output.py, docs/cli.md
        from gress_cep.cli.trace_output import start_trace

        start_trace(plan, spec, trace, trace_output, quiet=quiet)
    job = Job(spec, program, plan, open_backend)
    watched = None
    if watch:  # swaps `job` for one of the new rules between rounds (cli/watch.py)
        from gress_cep.cli.watch import Watch

        watched = Watch(
            job,
            program,
            plan,
            lambda new: build_plan(new, plan_options),
            lambda new: input_specs(new, inputs),
            open_backend,
            quiet=bool(quiet),
        )
    for note in [] if quiet else job.notes:
        err_console.print(f"[dim]{note}[/]", highlight=False)
    show_progress = err_console.is_terminal if quiet is None else not quiet
    only = [f"pattern {p}" for p in plan.patterns] + [f"view {v}" for v in plan.output_views]
    live = LiveView(err_console, source=only[0] if len(only) == 1 else "") if terminal else None
    progress = ProgressLine(err_console, job.pipeline) if show_progress and live is None else None
    metrics = None
    if metrics_port:
        from gress_cep.runtime.metrics import Metrics  # prometheus_client: only when asked

        metrics = Metrics(job.pipeline, metrics_port, job.coordinator if job.stateful else None)
    if watched is not None:
        watched.follow(progress, metrics)
    started = time.monotonic()
    # Ctrl-C / SIGTERM: graceful; a second: at once
    signals = StopSignals(watched.stop if watched is not None else job.stop)
    try:
        for out in watched.rounds() if watched is not None else job.rounds():
            if watched is not None:
                job = watched.job  # a reload swaps it
            if pending_dead:  # model failures: their records are dead letters too
                job.sinks.write(RoundOutput(dead_letters=list(pending_dead)))
                pending_dead.clear()
            for note in [] if quiet else out.notes:
                err_console.print(
                    f"[yellow]warning:[/] {escape(note)}", highlight=False, soft_wrap=True
                )
            if live is not None and out.matches:
                live.add(out.matches)
            if metrics is not None:
                metrics.update(out)
            if progress is not None:
                progress.update()
    finally:
        if progress is not None:
            progress.close()
        if live is not None:
            live.close()
        if metrics is not None:  # its last update reads the sources: before they close
            metrics.close()
        if watched is not None:
            job = watched.job  # the job of the rules that ran last
            watched.restore_signal()
        job.close()
        signals.close()
    if quiet:  # -q: only errors, no summary
        return
    print_summary(
        err_console,
        job.pipeline,
        time.monotonic() - started,
        job.sinks,
        interrupted=signals.received,
        checkpoints=job.coordinator.stats if job.stateful else None,
    )
