"""The data of a running pattern: partial matches (`Run`), a state's edges as plain tuples
(`StatePlan`), a key's state (`KeyState`) and finished matches (`Completed`).

Both the matcher (gress_cep.nfa.matcher) and its generated event loop (gress_cep.nfa.kernel)
work on these; they live here so that neither has to import the other's module for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gress_cep.nfa.model import State
from gress_cep.nfa.shared_buffer import Node

Record = dict[str, Any]
CondFn = Callable[[Record, Any], bool] | None
NEVER = float("inf")


class Run:
    """A partial match: where it stands, its last event, when it started, its aggregates."""

    __slots__ = ("aggs", "deadline", "node", "prev_ts", "start_seq", "start_ts", "state")

    def __init__(
        self,
        state: StatePlan,
        node: Node | None,
        start_ts: int,
        prev_ts: int,
        start_seq: int,
        aggs: tuple[Any, ...],
    ) -> None:
        self.state = state
        self.node = node
        self.start_ts = start_ts
        self.prev_ts = prev_ts
        self.start_seq = start_seq
        self.aggs = aggs
        self.deadline = NEVER


class StatePlan:
    """A state's edges as plain tuples of (target plan, condition function or None)."""

    __slots__ = (
        "final",
        "id",
        "ignores",
        "kills",
        "label",
        "pending",
        "proceeds",
        "simple",
        "takes",
        "update",
        "var",
        "window",
    )

    def __init__(self, state: State) -> None:
        self.id = state.id
        self.label = state.label
        self.var = state.var
        self.final = state.is_final
        self.pending = state.is_pending
        self.window = state.window_ms
        self.takes: list[tuple[StatePlan, CondFn]] = []
        self.ignores: list[tuple[StatePlan, CondFn]] = []
        self.proceeds: list[tuple[StatePlan, CondFn]] = []
        self.kills: list[CondFn] = []
        self.update: Callable[[tuple[Any, ...], Record], tuple[Any, ...]] | None = None
        self.simple = False  # no PROCEED and no KILL edges (set once the edges are known)


@dataclass(slots=True)
class Completed:
    """A match (or timed-out partial match) ready for output."""

    key: Any
    node: Node | None
    start_ts: int
    end_ts: int
    start_seq: int
    timed_out: bool = False


@dataclass(slots=True)
class KeyState:
    key: Any = None
    runs: list[Run] = field(default_factory=list)
    held: list[tuple[Any, ...]] = field(default_factory=list)  # heap for skip strategies
    timer: int | None = None  # the deadline this key is registered for with the timers
    last_ts: int = 0  # time of the key's latest event (state TTL)
