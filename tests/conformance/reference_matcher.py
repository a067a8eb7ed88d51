"""A brute-force reference matcher: Flink CEP semantics restated as a definition, for a core subset.

It shares no code with the engine. Instead of running an automaton it enumerates every way of
giving increasing event positions to the pattern's elements and keeps the assignments that the
rules below allow, so each rule can be read (and doubted) on its own:

- element i takes k events, low <= k <= high (k = 0 when it is optional); every taken event
  satisfies the element's condition and, for a loop with `until(u)`, does not satisfy u;
- the gap before the first event of element i > 0 follows the connector written before it,
  even when element i-1 took nothing: strict -> the gap is empty; relaxed -> no event in it
  satisfies element i's condition; any -> no constraint;
- the gap between two consecutive events of one loop follows the loop's inner contiguity the
  same way (against the loop's own condition); with `until(u)` no event in it satisfies u;
- nothing constrains the events before a match's first event, and a match is never empty;
- when matches come out (Flink's NFA, restated): a match is complete at its last event. The
  matches completed by one event are produced in order of their first event, then of their
  decisions: for each event from the first one, which element takes it, or which element the
  match waits for when it skips it (the element that takes its next event); an earlier element
  first, and a take before a skip. They join a queue ordered by first event only, kept as
  Java's PriorityQueue keeps it (ties come out as that binary heap moves them);
- a partial match is alive after an event when its events so far follow the rules and it can
  still wait: for more events of the element that took its last one (that element's inner
  contiguity and `until` allow the events since), or for a later element after optional ones
  (the connector before that element allows them). Under a skip strategy, the queue's first
  match comes out only when no partial match that started earlier is alive (at the end of the
  input all partial matches are dropped); under `skip no` every completed match comes out at
  once. Each match that comes out discards, by the strategy, the partial and queued matches
  that started before a bound (the skipped ones never complete).

Subset: sequences of single variables whose conditions are `kind == "x"` / `kind in [..]` (or
none), connectors `,` `->` `->>`, quantifiers `? * + {n} {n,} {n,m}` with `optional`, inner
`consecutive`/`any`, `until(...)`, the five skip strategies, finite input, no time windows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

from gress_cep.dsl import ast
from gress_cep.dsl.parser import parse

Contiguity = Literal["strict", "relaxed", "any"]
SkipKind = Literal["no", "to_next", "past_last", "to_first", "to_last"]
CONNECTOR_TEXT: dict[Contiguity, str] = {"strict": ",", "relaxed": "->", "any": "->>"}
INNER_TEXT: dict[Contiguity, str] = {"strict": " consecutive", "relaxed": "", "any": " any"}


class Unsupported(ValueError):
    """The pattern uses something outside the reference matcher's subset."""


@dataclass(slots=True, frozen=True)
class Condition:
    """`kind in kinds`; None matches every event (a variable without a condition)."""

    kinds: frozenset[str] | None

    def __call__(self, event: Mapping[str, Any]) -> bool:
        return self.kinds is None or event.get("kind") in self.kinds

    def text(self) -> str:
        if self.kinds is None:
            return "true"
        if len(self.kinds) == 1:
            return f'kind == "{next(iter(self.kinds))}"'
        return "kind in [" + ", ".join(f'"{k}"' for k in sorted(self.kinds)) + "]"


@dataclass(slots=True, frozen=True)
class Element:
    """One variable of the sequence with its quantifier.

    `quantified` is whether the pattern text quantifies it, which makes its output a list.
    """

    var: str
    condition: Condition
    low: int = 1
    high: int | None = 1
    optional: bool = False
    inner: Contiguity = "relaxed"
    until: Condition | None = None
    quantified: bool = False

    def counts(self, available: int) -> range | list[int]:
        top = available if self.high is None else min(self.high, available)
        taken = range(self.low, top + 1)
        return [0, *taken] if self.optional else taken

    def text(self) -> str:
        """The element as written in a pattern file."""
        if not self.quantified:
            return self.var
        if (self.low, self.high) == (1, 1) and self.optional:
            return f"{self.var}?"
        if (self.low, self.high) == (1, None):
            quantifier = "*" if self.optional else "+"
            optional = ""
        else:
            if self.high is None:
                quantifier = f"{{{self.low},}}"
            elif self.low == self.high:
                quantifier = f"{{{self.low}}}"
            else:
                quantifier = f"{{{self.low},{self.high}}}"
            optional = " optional" if self.optional else ""
        looping = self.high is None or self.high > 1
        inner = INNER_TEXT[self.inner] if looping else ""
        until = f" until({self.until.text()})" if self.until is not None else ""
        return f"{self.var}{quantifier}{optional}{inner}{until}"


@dataclass(slots=True, frozen=True)
class Skip:
    kind: SkipKind = "past_last"
    var: str | None = None

    def text(self) -> str:
        words = {
            "no": "no",
            "to_next": "to next",
            "past_last": "past last",
            "to_first": f"to first {self.var}",
            "to_last": f"to last {self.var}",
        }
        return words[self.kind]


@dataclass(slots=True, frozen=True)
class Spec:
    """A pattern of the subset: elements, the connector before each element after the first."""

    elements: tuple[Element, ...]
    connectors: tuple[Contiguity, ...]
    skip: Skip = Skip()

    def __post_init__(self) -> None:
        if len(self.connectors) != len(self.elements) - 1:
            raise ValueError("one connector goes between each two elements")

    def pattern_text(self) -> str:
        """The clauses of `pattern p` that express this spec (match, where, skip)."""
        match = self.elements[0].text()
        for connector, element in zip(self.connectors, self.elements[1:], strict=True):
            match += f" {CONNECTOR_TEXT[connector]} {element.text()}"
        where = [
            f"    {e.var}: {e.condition.text()}"
            for e in self.elements
            if e.condition.kinds is not None
        ]
        return "\n".join(
            [f"match {match}", *(["where", *where] if where else []), f"skip {self.skip.text()}"]
        )


# A match as positions: for each element, the positions of the events it took.
Assignment = tuple[tuple[int, ...], ...]


def matches(spec: Spec, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every match of `spec` over `events`, in emission order, in the default output form."""
    found = list(_assignments(spec, events))
    return [_output(spec, events, a) for a in _apply_skip(spec, found, events)]


def _assignments(spec: Spec, events: Sequence[Mapping[str, Any]]) -> Iterator[Assignment]:
    def extend(index: int, last: int | None, taken: Assignment) -> Iterator[Assignment]:
        if index == len(spec.elements):
            if last is not None:
                yield taken
            return
        element = spec.elements[index]
        connector = spec.connectors[index - 1] if index else None
        for count in element.counts(len(events)):
            for run in _runs(element, count, last, connector, events):
                yield from extend(index + 1, run[-1] if run else last, (*taken, run))

    yield from extend(0, None, ())


def _runs(
    element: Element,
    count: int,
    last: int | None,
    connector: Contiguity | None,
    events: Sequence[Mapping[str, Any]],
) -> Iterator[tuple[int, ...]]:
    """Position tuples for `count` events of `element` after position `last`."""
    if count == 0:
        yield ()
        return

    def takeable(position: int) -> bool:
        event = events[position]
        return element.condition(event) and not (element.until and element.until(event))

    def grow(run: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
        if len(run) == count:
            yield run
            return
        for position in range(run[-1] + 1, len(events)):
            gap = events[run[-1] + 1 : position]
            if takeable(position) and _gap_allows(gap, element.inner, element, inner=True):
                yield from grow((*run, position))

    first_from = 0 if last is None else last + 1
    for position in range(first_from, len(events)):
        if not takeable(position):
            continue
        # before the match's first event nothing is constrained
        if last is None or (
            connector is not None
            and _gap_allows(events[last + 1 : position], connector, element, inner=False)
        ):
            yield from grow((position,))


def _gap_allows(
    gap: Sequence[Mapping[str, Any]], contiguity: Contiguity, element: Element, *, inner: bool
) -> bool:
    if contiguity == "strict" and gap:
        return False
    if contiguity == "relaxed" and any(element.condition(e) for e in gap):
        return False
    return not (inner and element.until and any(element.until(e) for e in gap))


def _first(a: Assignment) -> int:
    return min(p for run in a for p in run)


def _last(a: Assignment) -> int:
    return max(p for run in a for p in run)


def _decisions(a: Assignment) -> tuple[tuple[int, int], ...]:
    """For each event from the first to the last: (element, 0) when that element takes it,
    (element that takes the next taken event, 1) when the match skips it."""
    taken = sorted((p, index) for index, run in enumerate(a) for p in run)
    out: list[tuple[int, int]] = []
    for (position, index), (following, next_index) in pairwise(taken):
        out.append((index, 0))
        out.extend((next_index, 1) for _ in range(position + 1, following))
    out.append((taken[-1][1], 0))
    return tuple(out)


def _apply_skip(
    spec: Spec, found: list[Assignment], events: Sequence[Mapping[str, Any]]
) -> list[Assignment]:
    """Flink's processMatchesAccordingToSkipStrategy, event by event."""
    by_end: dict[int, list[Assignment]] = {}
    for a in found:
        by_end.setdefault(_last(a), []).append(a)
    queue: list[tuple[int, int, Assignment]] = []  # (first event, arrival, match): a heap
    emitted: list[Assignment] = []
    alive_from = 0  # partial matches that started before this position were discarded
    arrivals = 0

    def release(position: int | None) -> None:
        nonlocal alive_from
        while queue:
            if spec.skip.kind != "no" and position is not None:
                earliest = _earliest_alive(spec, events, position, alive_from)
                if earliest is not None and earliest < queue[0][0]:
                    return
            match = _pq_poll(queue)[2]
            emitted.append(match)
            bound = _prune_bound(spec, match)
            if bound is not None:
                kind, limit = bound
                alive_from = max(alive_from, limit + 1 if kind == "at_or_before" else limit)
                _pq_remove_started_before(queue, alive_from)

    for position in range(len(events)):
        completed = [a for a in by_end.get(position, []) if _first(a) >= alive_from]
        for a in sorted(completed, key=lambda a: (_first(a), _decisions(a))):
            arrivals += 1
            _pq_offer(queue, (_first(a), arrivals, a))
        release(position)
    release(None)  # the end of the input: every partial match is dropped
    return emitted


def _earliest_alive(
    spec: Spec, events: Sequence[Mapping[str, Any]], position: int, alive_from: int
) -> int | None:
    """The first event of the earliest partial match alive after `position`."""
    seen = events[: position + 1]
    for start in range(alive_from, position + 1):
        if _alive_from(spec, seen, start):
            return start
    return None


def _alive_from(spec: Spec, seen: Sequence[Mapping[str, Any]], start: int) -> bool:
    """Is a partial match that starts at `start` alive after the last event of `seen`?"""
    elements = spec.elements
    end = len(seen) - 1

    def waits(index: int, run: tuple[int, ...], last: int) -> bool:
        element = elements[index]
        gap = seen[last + 1 :]
        more = element.high is None or len(run) < element.high
        if more and _gap_allows(gap, element.inner, element, inner=True):
            return True
        if len(run) < element.low:
            return False
        for later in range(index + 1, len(elements)):
            if _gap_allows(gap, spec.connectors[later - 1], elements[later], inner=False):
                return True
            if not elements[later].optional:
                break
        return False

    def extend(index: int, last: int | None) -> bool:
        if index == len(elements):
            return False
        element = elements[index]
        connector = spec.connectors[index - 1] if index else None
        for count in range(1, len(seen) + 1):
            if element.high is not None and count > element.high:
                break
            for run in _runs(element, count, last, connector, seen):
                if last is None and run[0] != start:
                    continue
                if waits(index, run, run[-1]):
                    return True
                if count >= element.low and extend(index + 1, run[-1]):
                    return True
        return element.optional and extend(index + 1, last)

    return extend(0, None) if start <= end else False


# Java's PriorityQueue, ordered by the entries' first item (as Flink's NFAState keeps its
# completed matches): the same steps, so that ties come out in the same order.
def _pq_offer(queue: list[Any], entry: Any) -> None:
    k = len(queue)
    queue.append(entry)
    while k > 0:
        parent = (k - 1) >> 1
        if entry[0] >= queue[parent][0]:
            break
        queue[k] = queue[parent]
        k = parent
    queue[k] = entry


def _pq_poll(queue: list[Any]) -> Any:
    top = queue[0]
    last = queue.pop()
    if queue:
        _pq_sift_down(queue, 0, last)
    return top


def _pq_sift_down(queue: list[Any], k: int, entry: Any) -> None:
    n = len(queue)
    while k < n >> 1:
        child = 2 * k + 1
        if child + 1 < n and queue[child][0] > queue[child + 1][0]:
            child += 1
        if entry[0] <= queue[child][0]:
            break
        queue[k] = queue[child]
        k = child
    queue[k] = entry


def _pq_remove_started_before(queue: list[Any], bound: int) -> None:
    kept = [entry for entry in queue if entry[0] >= bound]
    if len(kept) != len(queue):
        queue[:] = kept
        for i in range((len(queue) >> 1) - 1, -1, -1):
            _pq_sift_down(queue, i, queue[i])


def _prune_bound(spec: Spec, match: Assignment) -> tuple[str, int] | None:
    """Which remaining matches the emitted one discards: those starting at/before or before."""
    skip = spec.skip
    if skip.kind == "no":
        return None
    if skip.kind == "to_next":
        return ("at_or_before", _first(match))
    if skip.kind == "past_last":
        return ("at_or_before", _last(match))
    index = next(i for i, e in enumerate(spec.elements) if e.var == skip.var)
    run = match[index]
    if not run:  # the variable took nothing: Flink then skips nothing
        return None
    return ("before", run[0] if skip.kind == "to_first" else run[-1])


def _output(
    spec: Spec, events: Sequence[Mapping[str, Any]], assignment: Assignment
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "pattern": "p",
        "key": None,
        "start": events[_first(assignment)]["ts"],
        "end": events[_last(assignment)]["ts"],
    }
    for element, run in zip(spec.elements, assignment, strict=True):
        if not run:
            continue
        taken = [dict(events[p]) for p in run]
        record[element.var] = taken if element.quantified else taken[0]
    return record


# ------------------------------------------------------------------ from pattern text
def spec_from_source(source: str) -> Spec:
    """Read a whole pattern file into a Spec, or raise Unsupported outside the subset.

    Uses the project's parser only to read the text; the matching itself is all above.
    """
    program = parse(source)
    patterns = program.of_type(ast.Pattern)
    streams = program.of_type(ast.Stream)
    if len(patterns) != 1 or len(streams) != 1:
        raise Unsupported("one stream and one pattern")
    pattern = patterns[0]
    if pattern.within or pattern.emit or pattern.timeout_emit:
        raise Unsupported("time windows and emit are outside the subset")
    if pattern.partition_by != ():
        raise Unsupported("only `partition by none`")
    if not isinstance(pattern.match, ast.Sequence):
        raise Unsupported("only plain sequences")
    conditions = {c.var.text: c.expr for c in pattern.conditions}
    elements, connectors = [], []
    for step in pattern.match.steps:
        element = step.element
        if not isinstance(element.atom, ast.VarRef) or element.negated or element.within:
            raise Unsupported("only single, positive variables without per-step windows")
        if step.contiguity is not None:
            connectors.append(step.contiguity)
        elements.append(_element(element.atom.name, element.quantifier, conditions))
    skip = Skip() if pattern.skip is None else Skip(pattern.skip.kind, _skip_var(pattern.skip))
    return Spec(tuple(elements), tuple(connectors), skip)


def _skip_var(skip: ast.Skip) -> str | None:
    return None if skip.var is None else skip.var.text


def _element(
    var: str, quantifier: ast.Quantifier | None, conditions: dict[str, ast.Expr]
) -> Element:
    condition = _condition(conditions.get(var))
    if quantifier is None:
        return Element(var, condition)
    if quantifier.greedy:
        raise Unsupported("greedy")
    return Element(
        var,
        condition,
        low=quantifier.low,
        high=quantifier.high,
        optional=quantifier.optional,
        inner=quantifier.inner,
        until=None if quantifier.until is None else _condition(quantifier.until),
        quantified=True,
    )


def _condition(expr: ast.Expr | None) -> Condition:
    if expr is None:
        return Condition(None)
    if (
        isinstance(expr, ast.Binary)
        and expr.op == "=="
        and _is_kind(expr.left)
        and isinstance(expr.right, ast.Literal)
        and isinstance(expr.right.value, str)
    ):
        return Condition(frozenset([expr.right.value]))
    if isinstance(expr, ast.InList) and not expr.negated and _is_kind(expr.operand):
        values = [item.value for item in expr.items if isinstance(item, ast.Literal)]
        if len(values) == len(expr.items) and all(isinstance(v, str) for v in values):
            return Condition(frozenset(values))
    raise Unsupported('conditions must be `kind == "x"` or `kind in [...]`')


def _is_kind(expr: ast.Expr) -> bool:
    return isinstance(expr, ast.Ref) and expr.name == "kind"
