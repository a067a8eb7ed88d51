"""`gress detect ... --group ID`: run this process as one worker of a scale-out job
(gress_cep.runtime.worker), with its notes, graceful stop and summary."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from rich.markup import escape

from gress_cep.cli.console import err_console
from gress_cep.cli.stop_signals import StopSignals
from gress_cep.connectors.base import DeadLetter
from gress_cep.dsl import ast
from gress_cep.errors import UserError
from gress_cep.runtime.job import JobSpec, check_files
from gress_cep.runtime.plan import PlanOptions, build_plan
from gress_cep.runtime.worker import GroupWorker
from gress_cep.state.backend import StateBackend


def run_worker(
    spec: JobSpec,
    program: ast.Program,
    plan_options: PlanOptions,
    open_backend: Callable[[Path | None], StateBackend],
    pending_dead: list[DeadLetter],
    *,
    quiet: bool | None,
) -> None:
    if spec.checkpoint_interval_s is None:
        raise UserError(
            "--group needs checkpoints: a partition that moves takes its state along through them",
            hint="drop --checkpoint-interval off",
        )
    if spec.from_savepoint is not None:
        raise UserError("--from-savepoint does not apply to a --group job yet")
    check_files(spec, program)  # an output that is an input (a topic it would read back)

    def note(text: str) -> None:
        if not quiet:
            err_console.print(f"[dim]{escape(text)}[/]", highlight=False, soft_wrap=True)

    worker = GroupWorker(
        file=spec.file,
        source_text=program.source,
        program=program,
        inputs=spec.inputs,
        outputs=spec.outputs.items(),
        config=spec.config,
        selection={"patterns": spec.patterns, "views": spec.views},
        state_dir=spec.resolved_state_dir(),
        interval_s=spec.checkpoint_interval_s,
        build_plan=lambda: build_plan(program, plan_options),
        open_backend=open_backend,
        max_keys_in_memory=spec.max_keys_in_memory,
        max_events_in_memory=spec.max_events_in_memory,
        note=note,
    )
    note(f"worker of group {spec.config.group}: waiting for partitions")
    started = time.monotonic()
    signals = StopSignals(worker.stop)
    matches = 0
    try:
        for outputs in worker.rounds():
            running = [task for task in worker.tasks.values() if not task.finished]
            if pending_dead and running:  # model failures: dead letters of a running task,
                # written and committed with its next round
                running[0].pending_dead.extend(pending_dead)
                pending_dead.clear()
            matches += sum(len(out.matches) for out in outputs)
            for out in outputs:
                for text in [] if quiet else out.notes:
                    err_console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False)
    finally:
        worker.close()
        signals.close()
    if quiet:
        return
    stats = worker.stats
    summary = {
        "group": spec.config.group,
        "seconds": round(time.monotonic() - started, 3),
        "partitions_opened": stats.tasks_opened,
        "restores": [
            {"partition": p, "from": source, "changes": n, "seconds": round(s, 3)}
            for p, source, n, s in stats.restores
        ],
        "revoked": stats.revoked,
        "lost": stats.lost,
        "commits": stats.commits,
        "matches": matches,
        "patterns": {
            name: {
                "records_in": row.records_in,
                "matches": row.matches,
                "late": row.late,
                "dead_letters": row.dead_letters,
            }
            for name, row in stats.summaries.items()
        },
    }
    err_console.print(
        f"worker done: {matches:,} matches written, {stats.tasks_opened} partitions opened, "
        f"{stats.revoked} handed over, {stats.lost} lost, {stats.commits} commits",
        highlight=False,
    )
    err_console.print(escape(json.dumps(summary)), highlight=False, soft_wrap=True)
