"""`gress diff`: two versions of a pattern file on the same history, compared alert by alert.

Both files run in one pass over the inputs: each input is read and decoded once, and a
`TeeSource` hands every batch to both pipelines (the second gets its own copies of the records,
so that nothing one pipeline does to a record can reach the other). The pipelines advance
round by round in turn, so a batch waits for at most one round of the other.

Two alerts are *the same* when their pattern, partition key and matched events are the same.
To see the events whatever a pattern's `emit` makes of them, both files run with `emit` left
out: an alert is then the pattern, the key and each variable's event(s), and that is what the
examples show (docs/testing.md).

When the two files differ in patterns only — the usual edit — there is no need for two
pipelines: `merged` makes one program of them, in which a pattern the files have alike runs
once and counts for both, and one that changed runs in both versions side by side.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from gress_cep.connectors.base import Batch, DeadLetter, Source
from gress_cep.dsl import ast
from gress_cep.runtime.pipeline import Pipeline, RoundOutput
from gress_cep.runtime.plan import Plan

Record = dict[str, Any]
_MATCH_TIMES = ("start", "end")  # follow from the events: not part of an alert's identity


class TeeSource:
    """One source read by two pipelines: `branches()` gives the two readers."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._queues: tuple[list[Batch | None], list[Batch | None]] = ([], [])
        self._closed = 0
        self.records_in = 0  # read from the source (dead letters included)

    def branch(self, side: int) -> Source:
        """The reader of pipeline `side` (0 or 1)."""
        return _Branch(self, side)

    def poll(self, side: int, max_records: int, timeout_s: float) -> Batch | None:
        queue = self._queues[side]
        if queue:
            return queue.pop(0)
        batch = self.source.poll(max_records, timeout_s)
        if batch is not None:
            self.records_in += len(batch.records) + len(batch.dead)
        self._queues[1 - side].append(_copied(batch) if side == 0 else batch)
        return batch

    def close(self) -> None:
        self._closed += 1
        if self._closed == 2:
            self.source.close()


def _copied(batch: Batch | None) -> Batch | None:
    """The batch for the second pipeline: records of its own (dicts copied)."""
    if batch is None:
        return None
    return dataclasses.replace(batch, records=[dict(r) for r in batch.records])


class _Branch:
    """What one pipeline reads of a TeeSource."""

    def __init__(self, tee: TeeSource, side: int) -> None:
        self.tee = tee
        self.side = side
        self.description = tee.source.description

    def partitions(self) -> list[int]:
        return self.tee.source.partitions()

    def poll(self, max_records: int, timeout_s: float) -> Batch | None:
        return self.tee.poll(self.side, max_records, timeout_s)

    def position(self) -> dict[str, Any]:
        return self.tee.source.position()

    def commit(self, position: dict[str, Any]) -> None:
        return None  # a backtest commits nothing: it must not move a group's offsets

    def close(self) -> None:
        self.tee.close()


def without_emit(program: ast.Program) -> ast.Program:
    """The program with each pattern's `emit` left out: its matches carry their events."""
    declarations = [
        dataclasses.replace(d, emit=None) if isinstance(d, ast.Pattern) else d
        for d in program.declarations
    ]
    return dataclasses.replace(program, declarations=declarations)


def alert_identity(match: Record) -> bytes:
    """What makes two alerts the same: pattern, key and matched events (canonical JSON)."""
    return orjson.dumps(
        {k: v for k, v in match.items() if k not in _MATCH_TIMES},
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
        default=str,
    )


@dataclass(slots=True)
class PatternDiff:
    """One pattern's alerts in the two versions."""

    old: Counter[bytes] = field(default_factory=Counter)
    new: Counter[bytes] = field(default_factory=Counter)
    examples: dict[bytes, Record] = field(default_factory=dict)  # an alert of each identity

    @property
    def both(self) -> int:
        return sum((self.old & self.new).values())

    def only(self, side: str) -> list[Record]:
        """The alerts only in `side` ("old" or "new"), each as many times as it is extra."""
        mine, theirs = (self.old, self.new) if side == "old" else (self.new, self.old)
        return [self.examples[k] for k, n in (mine - theirs).items() for _ in range(n)]

    def counts(self) -> dict[str, int]:
        return {
            "only_old": sum((self.old - self.new).values()),
            "only_new": sum((self.new - self.old).values()),
            "both": self.both,
        }


@dataclass(slots=True)
class Backtest:
    """The outcome: per pattern (of either file) its diff, and what the runs noticed."""

    patterns: dict[str, PatternDiff]
    only_in_old: list[str]  # patterns that NEW does not have
    only_in_new: list[str]
    records_in: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)  # of the old run
    late: int = 0
    notes: list[str] = field(default_factory=list)


def merged(
    old: ast.Program, new: ast.Program
) -> tuple[ast.Program, dict[str, tuple[str, tuple[str, ...]]]] | None:
    """Both files as one program, when they differ in patterns only (the usual edit): its
    streams, models and views are NEW's, a pattern the two files have alike is in it once, and
    one that differs is in it twice, as `old:NAME` and `new:NAME`. Also returns, per pattern
    of the program, the file's name for it and the sides its alerts count for. None when a
    stream, model or view differs (then each file needs its own pipeline)."""

    def shared(program: ast.Program) -> dict[str, ast.Declaration]:
        return {d.name.text: d for d in program.declarations if not isinstance(d, ast.Pattern)}

    if shared(old) != shared(new):
        return None
    old_patterns = {p.name.text: p for p in old.of_type(ast.Pattern)}
    new_patterns = {p.name.text: p for p in new.of_type(ast.Pattern)}
    declarations: list[ast.Declaration] = [
        d for d in new.declarations if not isinstance(d, ast.Pattern)
    ]
    sides: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name in dict.fromkeys([*old_patterns, *new_patterns]):
        before, after = old_patterns.get(name), new_patterns.get(name)
        if before is not None and before == after:  # spans do not take part in ==
            declarations.append(after)
            sides[name] = (name, ("old", "new"))
            continue
        for side, pattern in (("old", before), ("new", after)):
            if pattern is not None:
                label = f"{side}:{name}"
                renamed = dataclasses.replace(pattern.name, text=label)
                declarations.append(dataclasses.replace(pattern, name=renamed))
                sides[label] = (name, (side,))
    return dataclasses.replace(new, declarations=declarations), sides


def run_backtest(
    old: ast.Program,
    new: ast.Program,
    sources: dict[str, list[Source]],
    plan_of: Callable[[ast.Program, str], Plan],
    *,
    share: bool = True,
    keep: Callable[[Record], bool] | None = None,
    on_round: Callable[[Backtest], None] | None = None,
) -> Backtest:
    """Run both files over `sources` (read once) and compare their alerts. When they differ
        in patterns only (and `share`), one pipeline runs them both — one event time, and the
        patterns they have alike once; else each file gets a pipeline of its own behind a
        TeeSource. `plan_of(program, side)` builds the plan of a program ("old", "new", or "both"
    for the merged one); `keep` selects the alerts that count (a time
        range); `on_round` sees the outcome so far (a live table)."""
    old, new = without_emit(old), without_emit(new)
    old_names = [p.name.text for p in old.of_type(ast.Pattern)]
    new_names = [p.name.text for p in new.of_type(ast.Pattern)]
    result = Backtest(
        patterns={name: PatternDiff() for name in dict.fromkeys([*old_names, *new_names])},
        only_in_old=[n for n in old_names if n not in new_names],
        only_in_new=[n for n in new_names if n not in old_names],
    )

    def take(matches: list[Record], sides_of: Callable[[str], tuple[str, tuple[str, ...]]]) -> None:
        for match in matches:
            if keep is not None and not keep(match):
                continue
            name, sides = sides_of(match["pattern"])
            if match["pattern"] != name:
                match = {**match, "pattern": name}
            diff = result.patterns[name]
            identity = alert_identity(match)
            for side in sides:
                (diff.old if side == "old" else diff.new)[identity] += 1
            diff.examples.setdefault(identity, match)

    def noticed(out: RoundOutput) -> None:
        result.dead_letters += out.dead_letters
        result.late += len(out.late)
        result.notes += out.notes

    one = merged(old, new) if share else None
    if one is not None:
        program, sides = one
        plan = plan_of(program, "both")
        plan.check_inputs(sources, reader=program.filename)
        pipeline = Pipeline(plan, sources)
        for out in pipeline.rounds():
            take(out.matches, sides.__getitem__)
            noticed(out)
            result.records_in = sum(s.counters.records_in for s in pipeline.streams.values())
            if on_round is not None:
                on_round(result)
        return result
    tees = {stream: [TeeSource(s) for s in group] for stream, group in sources.items()}
    rounds = []
    for index, (program, side) in enumerate(((old, "old"), (new, "new"))):
        plan = plan_of(program, side)
        plan.check_inputs(sources, reader=program.filename)
        readers = {stream: [tee.branch(index) for tee in group] for stream, group in tees.items()}
        rounds.append(Pipeline(plan, readers).rounds())
    for old_out, new_out in _in_step(*rounds):
        if old_out is not None:
            take(old_out.matches, lambda name: (name, ("old",)))
            noticed(old_out)
        if new_out is not None:
            take(new_out.matches, lambda name: (name, ("new",)))
        result.records_in = sum(tee.records_in for group in tees.values() for tee in group)
        if on_round is not None:
            on_round(result)
    return result


def _in_step(
    first: Iterator[RoundOutput], second: Iterator[RoundOutput]
) -> Iterator[tuple[RoundOutput | None, RoundOutput | None]]:
    """Rounds of the two pipelines in turn until both end."""
    running = [first, second]
    done = [False, False]
    while not all(done):
        outs: list[RoundOutput | None] = [None, None]
        for i, rounds in enumerate(running):
            if not done[i]:
                outs[i] = next(rounds, None)
                done[i] = outs[i] is None
        yield outs[0], outs[1]
