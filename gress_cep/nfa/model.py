"""The compiled automaton of a pattern: states and edges, in Flink CEP's terms.

Each state has four kinds of edges, all guarded by a condition on the candidate event:
- TAKE: the event is bound to the state's variable; the partial match moves to the target.
- IGNORE: the event is skipped; the partial match moves to the target (often itself).
- PROCEED: an epsilon move, taken before the event is considered (optional and loop exits).
- KILL: the event is forbidden here (negation); the partial match dies. (Flink models this as
  a PROCEED into a "stop" state; an edge of its own says it more plainly.)

A partial match waiting in a FINAL state is a match; one in a PENDING state (a trailing
absence, `a -> !x`) becomes a match when its window closes with no forbidden event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from gress_cep.dsl.expressions import InlineCode, SlotTable, inline_code

Record = dict[str, Any]
CondFn = Callable[[Record, Any], bool]
StateKind = Literal["normal", "final", "pending"]


@dataclass(slots=True, frozen=True)
class Read:
    """A value a condition reads (`amount`, `a.amount`, `count(small)`), shown beside the
    condition's result by `gress detect --trace`. `value` compiles it on demand, so that a
    job without a trace compiles nothing more."""

    text: str
    value: Callable[[], Callable[[Record, Any], Any]]


@dataclass(slots=True, frozen=True)
class Cond:
    """An edge condition: f(event, partial_match) -> bool, with its text for `gress explain`.

    `fn` is None for the always-true condition. `needs_run` is False when the condition looks
    at the event only (no earlier variable, no aggregate). `reads`: the values it reads, for
    `--trace`.
    """

    text: str
    fn: CondFn | None
    needs_run: bool = False
    reads: tuple[Read, ...] = field(default=(), compare=False)

    def __call__(self, event: Record, run: Any) -> bool:
        return True if self.fn is None else self.fn(event, run)


TRUE = Cond("true", None)


def _with_inline(fn: CondFn, template: str, *parts: CondFn) -> CondFn:
    """Give a combined condition an inlinable form (`template` over the parts' fast
    sources) when every part has one, so that the NFA kernel can inline it too."""
    inlines = [inline_code(p) for p in parts]
    if all(i is not None for i in inlines):
        namespace: dict[str, Any] = {}
        for i in inlines:
            namespace.update(i.namespace)  # type: ignore[union-attr]
        fast = template.format(*(i.fast for i in inlines))  # type: ignore[union-attr]
        fn.__gress_inline__ = InlineCode(fast, namespace, fn)  # type: ignore[attr-defined]
    return fn


def cond_not(c: Cond) -> Cond:
    if c.fn is None:
        never: CondFn = lambda e, r: False  # noqa: E731
        return Cond("false", _with_inline(never, "False"))
    fn = c.fn
    negated: CondFn = lambda e, r: not fn(e, r)  # noqa: E731
    negated.__gress_negates__ = fn  # type: ignore[attr-defined]  # the kernel reuses fn's result
    return Cond(f"not ({c.text})", _with_inline(negated, "not ({})", fn), c.needs_run, c.reads)


def cond_and(a: Cond, b: Cond) -> Cond:
    if a.fn is None:
        return b
    if b.fn is None:
        return a
    fa, fb = a.fn, b.fn
    both: CondFn = lambda e, r: fa(e, r) and fb(e, r)  # noqa: E731
    return Cond(
        f"({a.text}) and ({b.text})",
        _with_inline(both, "({}) and ({})", fa, fb),
        a.needs_run or b.needs_run,
        _merge_reads(a, b),
    )


def cond_or(a: Cond, b: Cond) -> Cond:
    if a.fn is None or b.fn is None:
        return TRUE
    fa, fb = a.fn, b.fn
    either: CondFn = lambda e, r: fa(e, r) or fb(e, r)  # noqa: E731
    return Cond(
        f"({a.text}) or ({b.text})",
        _with_inline(either, "({}) or ({})", fa, fb),
        a.needs_run or b.needs_run,
        _merge_reads(a, b),
    )


def _merge_reads(a: Cond, b: Cond) -> tuple[Read, ...]:
    """Each read once (the same condition twice reads the same values)."""
    seen = {id(r) for r in a.reads}
    return a.reads + tuple(r for r in b.reads if id(r) not in seen)


def cond_any(conds: list[Cond]) -> Cond:
    """The `or` of several conditions (each once), as a balanced tree: a chain would nest as
    deep as it is long, and the kernel's inlined source with it."""
    unique = list({id(c): c for c in conds}.values())
    if not unique:
        return TRUE
    if len(unique) == 1:
        return unique[0]
    mid = len(unique) // 2
    return cond_or(cond_any(unique[:mid]), cond_any(unique[mid:]))


@dataclass(slots=True, eq=False)
class State:
    id: int
    kind: StateKind
    var: str | None  # the variable a TAKE from this state binds (None: final, split, loop-back)
    label: str  # for explain: "small", "small (loop)", "small (ignored)", "$end", ...
    takes: list[tuple[State, Cond]] = field(default_factory=list)
    ignores: list[tuple[State, Cond]] = field(default_factory=list)
    proceeds: list[tuple[State, Cond]] = field(default_factory=list)
    kills: list[tuple[str, Cond]] = field(default_factory=list)  # (negated variable, condition)
    window_ms: int | None = None  # per-step window: at most this long since the previous event

    @property
    def is_final(self) -> bool:
        return self.kind == "final"

    @property
    def is_pending(self) -> bool:
        return self.kind == "pending"

    def __repr__(self) -> str:
        return f"<State {self.id} {self.label}>"


SkipKind = Literal["no", "to_next", "past_last", "to_first", "to_last"]


@dataclass(slots=True)
class Nfa:
    """A compiled pattern automaton plus what its runtime needs."""

    name: str
    start: State
    final: State
    states: list[State]
    variables: list[str]  # in match order, negated ones excluded
    list_variables: set[str]  # quantified (or inside a quantified group): lists in the output
    slots: SlotTable
    slot_updates: dict[str, Callable[[tuple[Any, ...], Record], tuple[Any, ...]]]
    within_ms: int | None
    skip: SkipKind = "past_last"
    skip_var: str | None = None
    condition_texts: dict[str, str] = field(default_factory=dict)
