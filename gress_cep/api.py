"""The Python API: compile a pattern file once, run it over any iterables of dicts.

program = gress_cep.compile("rules.gress")          # a path, or the text itself
for match in program.run({"payments": events}):    # events: any iterable of dicts
    print(match["pattern"], match["key"])
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from gress_cep.connectors.base import DeadLetter, Source
from gress_cep.connectors.memory import IterableSource
from gress_cep.dsl import ast, load, load_file
from gress_cep.dsl.errors import Diagnostic
from gress_cep.errors import GressWarning, UserError
from gress_cep.runtime.pipeline import Pipeline
from gress_cep.runtime.plan import DEFAULT_MAX_TIME_SKEW_MS, PlanOptions, build_plan

Record = dict[str, Any]


class Program:
    """A checked pattern file, ready to run (as many times as you like)."""

    def __init__(self, tree: ast.Program, warnings: list[Diagnostic], base_dir: Path) -> None:
        self.tree = tree
        self.warnings = warnings
        self.base_dir = base_dir

    @property
    def patterns(self) -> list[str]:
        return [p.name.text for p in self.tree.of_type(ast.Pattern)]

    @property
    def views(self) -> list[str]:
        return [v.name.text for v in self.tree.of_type(ast.View)]

    @property
    def streams(self) -> list[str]:
        return [s.name.text for s in self.tree.of_type(ast.Stream)]

    def run(
        self,
        inputs: Mapping[str, Iterable[Record]],
        *,
        patterns: list[str] | None = None,
        views: list[str] | None = None,
        on_timeout: Callable[[Record], None] | None = None,
        on_late: Callable[[Record], None] | None = None,
        on_dead_letter: Callable[[DeadLetter], None] | None = None,
        max_partial_matches: int = 10_000,
        max_time_skew_ms: int | None = DEFAULT_MAX_TIME_SKEW_MS,
    ) -> Iterator[Record]:
        """Run over finite or endless iterables; yields matches as they happen (and, for
        `views`, the records of those views; then only the `patterns` named run).

        At the end of finite inputs the watermark moves to the end of time: absences fire and
        partial matches with a window time out (DSL §3.3). A record whose time is more than
        `max_time_skew_ms` ahead of both the watermark and the clock is a dead letter (None:
        no bound). What gress has to say while it runs (a time unit read from the size of the
        numbers, a key field no record has, dead letters or late records without a callback
        to take them) comes as a `GressWarning` through `warnings`.
        """
        dead: list[DeadLetter] = []
        unseen = {"dead letters": 0, "late records": 0}
        options = PlanOptions(
            patterns=patterns,
            views=views,
            max_runs_per_key=max_partial_matches,
            max_time_skew_ms=max_time_skew_ms,
            base_dir=self.base_dir,
            # not `dead.append`: DeadLetterCallback may be called with `letter=` (a keyword)
            on_dead_letter=lambda letter: dead.append(letter),
        )
        plan = build_plan(self.tree, options)
        sources: dict[str, list[Source]] = {}
        for name, records in inputs.items():
            if name not in plan.streams:
                raise UserError(
                    f"no stream named '{name}'",
                    hint="streams in the file: " + ", ".join(self.streams),
                )
            sources[name] = [IterableSource(records, description=name)]
        pipeline = Pipeline(plan, sources)
        for out in pipeline.rounds():
            for note in out.notes:
                warnings.warn(note, GressWarning, stacklevel=2)
            if on_dead_letter is not None:
                for letter in [*out.dead_letters, *dead]:
                    on_dead_letter(letter)
            else:
                unseen["dead letters"] += len(out.dead_letters) + len(dead)
            dead.clear()
            if on_late is not None:
                for record in out.late:
                    on_late(record)
            else:
                unseen["late records"] += len(out.late)
            if on_timeout is not None:
                for record in out.timeouts:
                    on_timeout(record)
            yield from out.matches
        for what, count in unseen.items():
            if count:
                callback = "on_dead_letter" if what == "dead letters" else "on_late"
                warnings.warn(
                    f"{count:,} {what} were left out of the matching, and no {callback}= "
                    "callback took them: pass one to see them",
                    GressWarning,
                    stacklevel=2,
                )


def compile(source: str | Path) -> Program:
    """Parse and check a pattern file (a path, or the text itself); raise PatternError (a
    GressError) on errors."""
    if isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and source.endswith(".gress")
    ):
        path = Path(source)
        tree, warnings = load_file(path)
        return Program(tree, warnings, path.parent)
    tree, warnings = load(source, "<text>", base_dir=Path.cwd())
    return Program(tree, warnings, Path.cwd())
