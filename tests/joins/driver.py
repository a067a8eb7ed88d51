"""Running a join, lookup or union view through the real pipeline, with scripted inputs."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any

from gress_cep.connectors.base import Batch, DeadLetter
from gress_cep.dsl import ast, load
from gress_cep.runtime.pipeline import Pipeline
from gress_cep.runtime.plan import PlanOptions, build_plan

Record = dict[str, Any]


class ScriptSource:
    """An input whose polls are given: each element of `polls` is one poll's records (an empty
    list: nothing arrived this round); then the input ends."""

    def __init__(
        self, polls: list[list[Record]], description: str = "script", pause_s: float = 0.0
    ) -> None:
        self.description = description
        self._polls = list(polls)
        self._count = 0
        self._pause = pause_s  # slept at an empty poll: wall-clock time for the `idle` rule

    def partitions(self) -> list[int]:
        return [0]

    def poll(self, max_records: int, timeout_s: float) -> Batch | None:
        if not self._polls:
            return None
        records = self._polls.pop(0)
        if not records and self._pause:
            time.sleep(self._pause)
        start = self._count
        self._count += len(records)
        return Batch(records, origin=lambda i: f"{self.description}[{start + i}]")

    def position(self) -> dict[str, Any]:
        return {"records": self._count}

    def commit(self, position: dict[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None


@dataclass
class Output:
    records: list[Record] = field(default_factory=list)
    late: list[Record] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    pipeline: Pipeline | None = None


@functools.lru_cache(maxsize=64)
def program(text: str) -> ast.Program:
    tree, _ = load(text)
    return tree


def run(
    text: str,
    view: str,
    polls: dict[str, list[list[Record]]],
    pauses: dict[str, float] | None = None,
) -> Output:
    """The records of `view` (or the matches of a pattern of that name) for inputs that arrive
    poll by poll (one poll per round)."""
    tree = program(text)
    if view in [p.name.text for p in tree.of_type(ast.Pattern)]:
        options = PlanOptions(patterns=[view])
    else:
        options = PlanOptions(views=[view])
    plan = build_plan(tree, options)
    pauses = pauses or {}
    sources = {name: [ScriptSource(p, name, pauses.get(name, 0.0))] for name, p in polls.items()}
    pipeline = Pipeline(plan, sources)  # type: ignore[arg-type]
    out = Output(pipeline=pipeline)
    for round_out in pipeline.rounds():
        out.records += round_out.matches
        out.late += round_out.late
        out.dead += round_out.dead_letters
    return out


def run_api(text: str, view: str, inputs: dict[str, list[Record]]) -> list[Record]:
    """The records of `view` through the Python API (each input in one go)."""
    import gress_cep

    return list(gress_cep.compile(text).run(inputs, views=[view]))


def canonical(records: list[Record]) -> list[str]:
    """Records as sorted JSON text: outputs compared as multisets."""
    import json

    return sorted(json.dumps(r, sort_keys=True) for r in records)
