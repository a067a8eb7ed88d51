"""Driving a window operator the way the pipeline does, from the text of a view."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from gress_cep.connectors.base import DeadLetter
from gress_cep.dsl import ast, load
from gress_cep.operators.base import Timed
from gress_cep.operators.window import WindowOperator, build_window_operator
from gress_cep.state.backend import WriteBatch
from gress_cep.state.memory import MemoryBackend
from gress_cep.state.operator_state import StateRegistry

HEADER = "stream s\n    key k\n    time ts\n"


@functools.lru_cache(maxsize=256)
def parsed(text: str) -> tuple[ast.View, ast.Stream]:
    program, _ = load(text)
    return program.of_type(ast.View)[0], program.of_type(ast.Stream)[0]


def build(text: str, name: str = "view:v/0") -> WindowOperator:
    """The window operator of the first view of a pattern file (as runtime/plan.py builds it)."""
    view, stream = parsed(text)
    window, aggregate, *rest = view.ops
    assert isinstance(window, ast.WindowOp) and isinstance(aggregate, ast.AggregateOp)
    having = rest[0] if rest else None
    assert having is None or isinstance(having, ast.HavingOp)
    nullable = frozenset(f.name.text for f in stream.schema or () if f.nullable)
    default_key = stream.key.text if stream.key else None
    return build_window_operator(
        name, window, aggregate, having, default_key, nullable, view.name.text
    )


def view(window: str, aggregate: str = "count() as n", *, header: str = HEADER) -> str:
    """A file with one view: `s | window WINDOW | aggregate AGGREGATE`."""
    return f"{header}view v = s | window {window} | aggregate {aggregate}\n"


@dataclass
class Run:
    """One operator in a registry, fed like the pipeline feeds it."""

    text: str
    backend: MemoryBackend | None = None
    max_keys: int = 100_000
    out: list[Timed] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    checkpoints: int = 0
    _taken: dict[int, tuple[int, int, dict[str, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._start()

    def _start(self) -> None:
        self.registry = StateRegistry(self.backend, max_keys_in_memory=self.max_keys)
        self.op = build(self.text)
        self.op.open(self.registry.context(self.op.name, "view v"))

    def feed(self, batch: list[Timed]) -> Run:
        self.out += self.op.process(batch, 0.0)
        return self._round()

    def watermark(self, watermark: int) -> Run:
        self.out += self.op.on_watermark(watermark, 0.0)
        return self._round()

    def finish(self) -> list[Timed]:
        self.out += self.op.finish()
        self._round()
        return self.out

    def _round(self) -> Run:
        self.dead += self.registry.sides.dead_letters
        self.registry.sides.dead_letters = []
        self.registry.maintain()
        return self

    def checkpoint(self) -> int:
        """A checkpoint of the operator's state, as the job takes one between rounds."""
        assert self.backend is not None
        batch = WriteBatch()
        self.registry.snapshot_into(batch)
        self.backend.write(batch)
        self.checkpoints += 1
        self.backend.checkpoint(self.checkpoints, {})
        self._taken[self.checkpoints] = (len(self.out), len(self.dead), self.op.counts())
        return self.checkpoints

    def resume(self, checkpoint: int) -> Run:
        """Go on from `checkpoint` in a new registry and operator, as a restarted job does:
        what was emitted after it is emitted again."""
        assert self.backend is not None
        self.backend.restore(checkpoint)
        out, dead, counts = self._taken[checkpoint]
        del self.out[out:], self.dead[dead:]
        self._start()
        assert self.registry.restore() == []
        assert self.op.counts() == counts
        return self

    def restart(self) -> Run:
        return self.resume(self.checkpoint())

    def records(self) -> list[dict[str, Any]]:
        return [record for _, record in self.out]


def rows(*items: tuple[int, str, Any]) -> list[Timed]:
    """(ts, key, x) triples as records {"k", "ts", "x"}."""
    return [(ts, {"k": k, "ts": ts, "x": x}) for ts, k, x in items]
