"""Hot reload of a running job's pattern file (`gress detect FILE --watch`, and SIGHUP).

A reload is a restart without the process going away, so that it keeps the restart's
guarantees: the new file is parsed and checked first (a broken one is refused and the job goes
on with the rules it had), then the running job takes a checkpoint, closes, and a job of the
new rules resumes from that checkpoint. The state registry decides what survives, exactly as at
a restart: patterns and views whose declaration (and everything upstream) did not change keep
their state, changed ones start empty, new ones start at the checkpoint's positions (no
replay), and the state of removed ones is dropped. The outputs are reopened at the
checkpoint's positions, which are what was written, so nothing is lost or written twice. The
new job then takes a checkpoint at once: from there on a restart (with or without --watch)
resumes the new rules without any question about the removed ones.

The file is looked at between rounds only, at most every `interval_s` of wall time (a stat,
and a hash of its bytes when the stat changed): nothing is done per event. A change is acted on
once the file has stayed the same for one more look, so that a half-written file is not taken.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from gress_cep.dsl import ast, load, read_source
from gress_cep.errors import GressError, UserError
from gress_cep.runtime.faults import fault_point
from gress_cep.runtime.job import Job, JobSpec, check_files
from gress_cep.runtime.pipeline import RoundOutput
from gress_cep.runtime.plan import Plan
from gress_cep.state.backend import StateBackend

CHECK_EVERY_S = 0.5  # how often, at most, the file is looked at


@dataclass(slots=True)
class Loaded:
    """A version of the pattern file: its text's digest and what it compiled to."""

    digest: str
    program: ast.Program
    plan: Plan


@dataclass(slots=True)
class ReloadReport:
    """What one reload did, for the line on stderr and the metric."""

    ok: bool
    message: str
    kept: dict[str, int] = field(default_factory=dict)  # pattern -> its partial matches
    waiting: dict[str, int] = field(default_factory=dict)  # kept pattern -> events held
    restarted: dict[str, int] = field(default_factory=dict)  # pattern -> partial matches dropped
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    views: dict[str, list[str]] = field(default_factory=dict)  # restarted/added/removed -> names
    warnings: list[str] = field(default_factory=list)  # of the new file, rendered


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def partial_matches(plan: Plan, name: str) -> int:
    """The open partial matches of a pattern, in memory and on disk (a reload is rare: it may
    read every key)."""
    matcher = plan.patterns[name].operator.matcher
    count = sum(len(state.runs) for state in matcher.keys.values())
    store = matcher.store
    for _, _, raw in store.disk_only():
        count += len(store.decode(raw).runs)
    return count


def compare(
    old: Plan, new: Plan, counts: dict[str, int], held: dict[str, int] | None = None
) -> ReloadReport:
    """What a resume of `new` from a checkpoint of `old` keeps, restarts, adds and drops: the
    fingerprints decide, as they do for the state registry."""
    report = ReloadReport(ok=True, message="")
    for name, pattern in new.patterns.items():
        before = old.patterns.get(name)
        if before is None:
            report.added.append(name)
        elif before.fingerprint == pattern.fingerprint:
            report.kept[name] = counts.get(name, 0)
            if (held or {}).get(name):
                report.waiting[name] = (held or {})[name]
        else:
            report.restarted[name] = counts.get(name, 0)
    report.removed = [name for name in old.patterns if name not in new.patterns]
    views: dict[str, list[str]] = {"restarted": [], "added": [], "removed": []}
    for name, view in new.views.items():
        before_view = old.views.get(name)
        if before_view is None:
            views["added"].append(name)
        elif before_view.fingerprint != view.fingerprint:
            views["restarted"].append(name)
    views["removed"] = [name for name in old.views if name not in new.views]
    report.views = {what: names for what, names in views.items() if names}
    return report


def describe(file: str, report: ReloadReport) -> str:
    """`reloaded rules.gress: kept a (12 partial matches), restarted b (dropped 3 partial
    matches), added c, removed d` — views that changed after the patterns."""
    parts = []
    for name, n in report.kept.items():
        waiting = report.waiting.get(name, 0)
        also = f", {_n(waiting, 'event')} waiting for the watermark" if waiting else ""
        parts.append(f"kept {name} ({_n(n, 'partial match')}{also})")
    parts += [
        f"restarted {name} (dropped {_n(n, 'partial match')})"
        for name, n in report.restarted.items()
    ]
    parts += [f"added {name} (from the current position)" for name in report.added]
    parts += [f"removed {name}" for name in report.removed]
    for what, names in report.views.items():
        parts += [f"{what} view {name}" for name in names]
    return f"reloaded {file}: " + (", ".join(parts) if parts else "no pattern or view to run")


def _n(count: int, what: str) -> str:
    plural = "es" if what.endswith("ch") else "s"
    return f"{count:,} {what}{'' if count == 1 else plural}"


def check_watchable(spec: JobSpec) -> None:
    """A reload resumes the new rules from a checkpoint: a job without checkpoints cannot
    carry its state over, so --watch is refused at the start rather than at the first
    reload."""
    if spec.checkpoint_interval_s is None or any(source == "-" for _, source in spec.inputs):
        raise UserError(
            "--watch needs a job with checkpoints: a reload carries the state over through "
            "one (there are none with --checkpoint-interval off, nor with stdin as an input, "
            "which cannot be read again from a position)",
            hint="give the input as a file or a Kafka topic, and keep checkpoints on",
        )


class RuleFileWatch:
    """Whether the pattern file changed since it was loaded: a stat at most every
    `interval_s`, its bytes hashed only when the stat changed, and a change reported once the
    content stayed the same for one more look (an editor may be half-way through writing)."""

    def __init__(self, path: Path, digest: str, interval_s: float = CHECK_EVERY_S) -> None:
        self.path = path
        self.digest = digest  # of the text the job runs, or last refused
        self.interval_s = interval_s
        self._stat = self._stat_now()
        self._candidate: str | None = None
        self._next = time.monotonic() + interval_s

    def _stat_now(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None  # gone for a moment (an editor's rename): look again later
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def changed(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.interval_s
        stat = self._stat_now()
        if stat is None:
            return False
        if stat == self._stat and self._candidate is None:
            return False
        self._stat = stat
        try:
            digest = digest_of(read_source(self.path))
        except GressError:
            digest = "unreadable"  # the reload reports why
        if digest == self.digest:
            self._candidate = None
            return False
        if digest != self._candidate:
            self._candidate = digest  # act when it is still this at the next look
            return False
        self._candidate = None
        return True


class WatchedJob:
    """A job that swaps to a new version of its pattern file between rounds.

    `make_plan` builds a plan from a program with the options the job was started with;
    `raw_inputs` are the `-i` values, mapped to streams again for each new file (they must
    map as before: they are part of the job's identity). `request()` (SIGHUP) asks for a
    reload at the next round whatever the file's timestamps say. `on_reload(report, job)`
    is told of each attempt (job: the one running after it)."""

    def __init__(
        self,
        job: Job,
        program: ast.Program,
        plan: Plan,
        make_plan: Callable[[ast.Program], Plan],
        map_inputs: Callable[[ast.Program], list[tuple[str, str]]],
        open_backend: Callable[[Path | None], StateBackend],
        on_reload: Callable[[ReloadReport, Job], None] | None = None,
        *,
        interval_s: float = CHECK_EVERY_S,
    ) -> None:
        check_watchable(job.spec)
        self.job = job
        self.file = job.spec.file
        self.loaded = Loaded(digest_of(program.source), program, plan)
        self.make_plan = make_plan
        self.map_inputs = map_inputs
        self.open_backend = open_backend
        self.on_reload = on_reload
        self.watch = RuleFileWatch(self.file, self.loaded.digest, interval_s)
        self.requested = False
        self.stopped = False
        self.reloads = {"ok": 0, "refused": 0}
        self._warnings: list[str] = []

    def request(self) -> None:
        """Reload at the next round (SIGHUP: safe to call from a signal handler)."""
        self.requested = True

    def stop(self) -> None:
        self.stopped = True
        self.job.stop()

    def rounds(self) -> Iterator[RoundOutput]:
        """The current job's rounds; between two of them, a reload when one is due."""
        while True:
            rounds = cast(Generator[RoundOutput, None, None], self.job.rounds())
            due = False
            try:
                for out in rounds:
                    yield out
                    pipeline = self.job.pipeline
                    if pipeline.finishing or pipeline.stopping:
                        continue  # the run is ending: nothing left to reload into
                    if self.requested or self.watch.changed():
                        due = True
                        break
            finally:
                rounds.close()
            if not due:
                return
            self.requested = False
            self.reload()

    # ------------------------------------------------------------------ one reload
    def reload(self) -> ReloadReport:
        """Check the file, then swap to it at a checkpoint; a refusal leaves the job as it is."""
        try:
            text = read_source(self.file)
            digest = digest_of(text)
            self.watch.digest = digest  # one attempt per version of the file
            new = self._check(text, digest)
        except GressError as err:
            return self._refused(_render(err))
        running = self.job.pipeline.plan
        counts = {name: partial_matches(running, name) for name in running.patterns}
        held = {name: p.operator.counts()["held"] for name, p in running.patterns.items()}
        report = compare(running, new.plan, counts, held)
        report.warnings = self._warnings
        old = self.job
        spec = dataclasses.replace(
            old.spec, fresh=False, from_savepoint=None, allow_non_restored_state=True
        )
        old.coordinator.checkpoint()  # what the new rules resume from
        old.close()
        fault_point("reload")  # state safe, old rules closed, new ones not opened yet
        try:
            job = Job(spec, new.program, new.plan, self.open_backend)
        except GressError as err:
            # back to the rules it ran: the checkpoint just taken holds their state
            program = self.loaded.program
            self.job = self._carry(
                old, Job(spec, program, self.make_plan(program), self.open_backend)
            )
            self.job.coordinator.checkpoint()
            return self._refused(_render(err))
        self.job = self._carry(old, job)
        self.loaded = new
        # from here a restart resumes the new rules, removed ones no longer in its checkpoint
        self.job.coordinator.checkpoint()
        report.message = describe(str(self.file), report)
        self.reloads["ok"] += 1
        if self.on_reload is not None:
            self.on_reload(report, self.job)
        return report

    def _check(self, text: str, digest: str) -> Loaded:
        """Everything that can refuse the new file, before the running job is touched."""
        program, warnings = load(text, str(self.file), base_dir=self.file.parent)
        self._warnings = [w.render(str(self.file), program.source) for w in warnings]
        plan = self.make_plan(program)  # --pattern / --view names must still exist
        streams = self.map_inputs(program)
        if streams != self.job.spec.inputs:
            raise UserError(
                "the inputs would feed other streams than before "
                f"({', '.join(f'{s}={i}' for s, i in streams)} instead of "
                f"{', '.join(f'{s}={i}' for s, i in self.job.spec.inputs)})",
                hint="a reload keeps the job's inputs: restart the job to change them",
            )
        plan.check_inputs(name for name, _ in streams)
        check_files(self.job.spec, program)
        return Loaded(digest, program, plan)

    def _refused(self, why: str) -> ReloadReport:
        self.reloads["refused"] += 1
        report = ReloadReport(
            ok=False,
            message=f"reload of {self.file} refused, the job goes on with the rules it had:\n"
            + why,
        )
        if self.on_reload is not None:
            self.on_reload(report, self.job)
        return report

    def _carry(self, old: Job, new: Job) -> Job:
        """What belongs to the run rather than to one job: checkpoint statistics, counts of
        outputs not written, records read per input (metrics), a stop asked for meanwhile."""
        new.coordinator.stats = old.coordinator.stats
        new.sinks.unsaved = old.sinks.unsaved
        new.sinks.dead_samples = old.sinks.dead_samples
        read = {(i.stream.plan.name, i.source.description): i.records for i in old.pipeline.inputs}
        for inp in new.pipeline.inputs:
            inp.records += read.get((inp.stream.plan.name, inp.source.description), 0)
        if self.stopped:
            new.stop()
        return new

    def close(self) -> None:
        self.job.close()


def _render(err: GressError) -> str:
    """A pattern file's errors with file:line:col (their own rendering); others as one line
    with the hint."""
    if err.diagnostics:
        return err.render()
    text = err.message
    if err.hint:
        text += f"\n    hint: {err.hint}"
    return text
