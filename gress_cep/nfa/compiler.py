"""Pattern AST -> NFA, following the construction of Apache Flink CEP's NFACompiler.

The automaton is built backwards, from the final state to the start, one element at a time;
each element becomes states whose edges implement its quantifier and its contiguity with the
element before it (DSL §3.1):

- contiguity decides the IGNORE edge of an element's first state: none for `,` (strict), the
  negated take condition for `->` (skip events that do not match), always for `->>`; inside a
  loop the element's own inner contiguity (`consecutive`, relaxed, `any`) decides it;
- an optional element gets a PROCEED edge past itself, and a copy of itself without that edge
  for the branch that ignored an event (so that each way through is built exactly once);
- `{n,m}` is a chain of n mandatory and m-n optional states; `+`/`{n,}` ends in a looping state;
- `!x` after `,` is a state that kills the match if the next event is x; `!x` after `->` adds a
  KILL edge to the states of the following element (and through optional ones before it); as the
  last element it is a PENDING state that fires when the window closes;
- `greedy` forbids the next element to take what the loop could take; `until(c)` stops a loop;
- groups repeat the construction of their body per iteration; alternation is a split state with a
  PROCEED edge into each branch; conjunction `(b & c)` is the alternation of its orders. As in
  Flink, the first element of a group's body loops with the group's inner contiguity, a `-> !x`
  after the group reaches the body's last element, and a group's `until(u)` adds `not u` to
  every condition of its own elements' edges.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from gress_cep.dsl import ast
from gress_cep.dsl.expressions import (
    SlotTable,
    compile_condition,
    compile_condition_value,
    compile_slot_update,
    condition_reads,
    uses_aggregates,
)
from gress_cep.dsl.source_text import SourceText
from gress_cep.nfa.model import TRUE, Cond, Nfa, Read, State, cond_and, cond_any, cond_not

_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')

# docs/language.md, "Limits": counted loops and groups are unrolled into states (`a{1000}` is
# about a thousand), so a few characters can ask for millions of them; building stops here
MAX_NFA_STATES = 10_000


class TooManyStates(Exception):
    """The automaton of a pattern would have more than MAX_NFA_STATES states. `span` is the
    element of the `match` being built when the count crossed it (the whole match when it was
    no element's), so that `gress check` reports it there."""

    def __init__(self, span: ast.Span) -> None:
        super().__init__(f"more than {MAX_NFA_STATES:,} states")
        self.span = span


def condition_text(source: SourceText, span: ast.Span) -> str:
    """A condition as written, on one line: comments dropped, white space folded."""
    text = _STRING_OR_COMMENT.sub(
        lambda m: m.group() if m.group()[0] == '"' else "", source.text(span)
    )
    return " ".join(text.split())


@dataclass(slots=True)
class _Item:
    """One element of a sequence, with the contiguity it follows the previous element by."""

    strategy: str  # strict | relaxed | any
    element: ast.Element

    @property
    def var(self) -> str | None:
        atom = self.element.atom
        return atom.name if isinstance(atom, ast.VarRef) else None

    @property
    def is_group(self) -> bool:
        return not isinstance(self.element.atom, ast.VarRef)

    @property
    def quant(self) -> ast.Quantifier:
        return self.element.quantifier or _SINGLE

    @property
    def not_follow(self) -> bool:
        return self.element.negated and self.strategy in ("relaxed", "any")

    @property
    def not_next(self) -> bool:
        return self.element.negated and self.strategy == "strict"


_SINGLE = ast.Quantifier(1, 1)


@dataclass(slots=True)
class _Head:
    """How the first element of a group's body behaves: the group's contiguity (or its inner
    one on repeated iterations), the group's optionality, the group's inner contiguity (which,
    as in Flink's getInnerIgnoreCondition, is also the inner contiguity of that element's own
    loop), and a replacement ignore condition (for alternation: skip only events no branch
    could start with)."""

    strategy: str
    optional: bool
    inner: str = "relaxed"
    ignore: Cond | None = None
    use_ignore_override: bool = False


class NfaCompiler:
    def __init__(self, pattern: ast.Pattern, source: str) -> None:
        self.pattern = pattern
        self.source = SourceText(source)
        self.states: list[State] = []
        self._ids = itertools.count()
        self.slots = SlotTable()
        self.conditions = {c.var.text: c for c in pattern.conditions}
        self.variables = _variables(pattern.match) if pattern.match else []
        self.var_set = set(self.variables)
        self._take_conds: dict[str, Cond] = {}
        self._ungreedy: dict[int, State] = {}
        self._element_states: list[State] | None = None
        self._building: ast.Element | None = None  # the outermost element being built
        # the `until` of the innermost group being built: as in Flink, every condition of
        # the group's own elements also requires `not until` (nested groups have their own)
        self._group_until: Cond | None = None
        self.final = self._state("final", None, "$end")

    # ------------------------------------------------------------------ states and conditions
    def _state(self, kind: str, var: str | None, label: str) -> State:
        if len(self.states) >= MAX_NFA_STATES:
            assert self.pattern.match is not None
            raise TooManyStates((self._building or self.pattern.match).span)
        state = State(next(self._ids), kind, var, label)  # type: ignore[arg-type]
        self.states.append(state)
        if self._element_states is not None:
            self._element_states.append(state)
        return state

    def take_cond(self, var: str) -> Cond:
        """The condition of a variable (always true without one)."""
        if var not in self._take_conds:
            cond = self.conditions.get(var)
            if cond is None:
                self._take_conds[var] = TRUE
            else:
                fn = compile_condition(cond.expr, var, self.var_set, self.slots)
                needs = uses_aggregates(cond.expr, self.var_set)
                reads = self._reads(cond.expr, var, including_candidate=True)
                self._take_conds[var] = Cond(self.text(cond.expr), fn, needs, reads)
        return self._take_conds[var]

    def until_cond(self, quant: ast.Quantifier, var: str | None) -> Cond | None:
        if quant.until is None:
            return None
        owner = var or "$group"
        fn = compile_condition(
            quant.until, owner, self.var_set, self.slots, including_candidate=False
        )
        return Cond(
            f"until {self.text(quant.until)}",
            fn,
            uses_aggregates(quant.until, self.var_set),
            self._reads(quant.until, owner, including_candidate=False),
        )

    def _reads(self, expr: ast.Expr, var: str, including_candidate: bool) -> tuple[Read, ...]:
        """What a condition reads, each compiled only when a trace asks for it."""
        variables = frozenset(self.var_set)
        return tuple(
            Read(
                self.text(node),
                functools.partial(
                    compile_condition_value,
                    node,
                    var,
                    set(variables),
                    self.slots,
                    including_candidate=including_candidate,
                ),
            )
            for node in condition_reads(expr, self.var_set)
        )

    def text(self, node: ast.Expr) -> str:
        return condition_text(self.source, node.span)

    def _in_group(self, cond: Cond | None) -> Cond | None:
        """A condition built inside a group with `until(u)`: `not u and cond` (Flink
        extends every take, ignore and proceed condition of the group's elements so)."""
        until = self._group_until
        if until is None or cond is None:
            return cond
        return cond_and(cond_not(until), cond)

    def _take(self, var: str) -> Cond:
        """A variable's take condition where it stands (Flink's getTakeCondition)."""
        taken = self._in_group(self.take_cond(var))
        assert taken is not None
        return taken

    def _true(self) -> Cond:
        """An unconditional PROCEED where it stands (Flink's getTrueFunction)."""
        moved = self._in_group(TRUE)
        assert moved is not None
        return moved

    def _ignore_for(self, strategy: str, var: str | None) -> Cond | None:
        """The IGNORE condition of a state of `var` (a group: None) under a contiguity."""
        if strategy == "strict":
            return None
        if strategy == "any":
            return self._in_group(TRUE)
        return self._in_group(cond_not(self.take_cond(var) if var else TRUE))

    # ------------------------------------------------------------------ entry point
    def compile(self) -> Nfa:
        assert self.pattern.match is not None
        start = self._chain_or_alternatives(self.pattern.match, None, self.final, None)
        self._apply_windows()
        updates = {}
        for var in self.variables:
            update = compile_slot_update(self.slots, var)
            if update is not None:
                updates[var] = update
        skip = self.pattern.skip
        within = self.pattern.within
        return Nfa(
            name=self.pattern.name.text,
            start=start,
            final=self.final,
            states=self._reachable(start),
            variables=self.variables,
            list_variables=_list_variables(self.pattern.match),
            slots=self.slots,
            slot_updates=updates,
            within_ms=within.duration.ms if within and not within.between_events else None,
            skip=skip.kind if skip else "past_last",
            skip_var=skip.var.text if skip and skip.var else None,
            condition_texts={v: self.take_cond(v).text for v in self.variables},
        )

    def _apply_windows(self) -> None:
        within = self.pattern.within
        if within and within.between_events:
            for state in self.states:
                if not state.is_final and state.window_ms is None:
                    state.window_ms = within.duration.ms

    @staticmethod
    def _reachable(start: State) -> list[State]:
        """The states reachable from the start, numbered in breadth-first order from 0 (the
        start), so that `gress explain` reads from the beginning of the pattern."""
        order: list[State] = []
        seen: set[int] = set()
        queue = deque([start])
        while queue:
            s = queue.popleft()
            if id(s) in seen:
                continue
            seen.add(id(s))
            order.append(s)
            queue.extend(t for t, _ in s.takes + s.proceeds + s.ignores)
        for number, s in enumerate(order):
            s.id = number
        return order

    # ------------------------------------------------------------------ sequences
    def _items(self, node: ast.Sequence) -> list[_Item]:
        return [_Item(step.contiguity or "relaxed", step.element) for step in node.steps]

    def _chain_or_alternatives(
        self,
        node: ast.MatchExpr,
        items: list[_Item] | None,
        sink: State,
        head: _Head | None,
        follow: _Item | None = None,
    ) -> State:
        """A sequence, or a split into alternatives; `follow`: the `-> !x` after the group
        this is the body of (Flink's followingPattern reaches the body's last element)."""
        if isinstance(node, ast.Sequence):
            chain = items if items is not None else self._items(node)
            return self._chain(chain, sink, head, follow)
        split = self._state("normal", None, "(alternatives)")
        if head is not None and head.strategy == "relaxed":
            # skip only the events that no branch can start with
            union = cond_any([self._first_cond(s) for s in _starts(node)])
            ignore = self._in_group(cond_not(union))
            head = _Head(head.strategy, head.optional, head.inner, ignore, True)
        for branch in _branches(node):
            entry = self._chain(self._items(branch), sink, head, follow)
            split.proceeds.append((entry, self._true()))
        return split

    def _first_cond(self, seq: ast.Sequence) -> Cond:
        """The condition an event must meet to start this branch (its first element's)."""
        element = seq.steps[0].element
        if isinstance(element.atom, ast.VarRef):
            return self.take_cond(element.atom.name)
        return cond_any([self._first_cond(s) for s in _starts(element.atom)])

    def _chain(
        self, items: list[_Item], sink: State, head: _Head | None, follow: _Item | None = None
    ) -> State:
        """Flink's createMiddleStates + the start: build the elements from last to first."""
        last = sink
        for i in range(len(items) - 1, -1, -1):
            item = items[i]
            if item.not_follow:
                if last is self.final:
                    last = self._pending(item)
                continue
            if item.not_next:
                last = self._not_next(item, last)
                continue
            last = self._convert(items, i, last, head if i == 0 else None, follow)
        return last

    def _nots_before(self, items: list[_Item], i: int) -> list[tuple[str, Cond]]:
        """The `-> !x` conditions that still apply at element i: those right before it and
        before optional elements before it (Flink's getCurrentNotCondition)."""
        found = []
        j = i - 1
        while j >= 0 and (items[j].quant.optional or items[j].not_follow):
            if items[j].not_follow:
                var = items[j].var
                assert var is not None
                found.append((var, self._take(var)))
            j -= 1
        return found

    def _pending(self, item: _Item) -> State:
        var = item.var
        assert var is not None
        x = self._take(var)
        state = self._state("pending", var, f"!{var} (absence)")
        state.kills.append((var, x))
        state.ignores.append((state, cond_not(x)))
        if item.element.within is not None:
            state.window_ms = item.element.within.ms
        return state

    def _not_next(self, item: _Item, sink: State) -> State:
        var = item.var
        assert var is not None
        x = self._take(var)
        state = self._state("normal", var, f"!{var} (next)")
        if sink is self.final:
            # the next event is not x: the match ends before it, without it
            state.ignores.append((sink, cond_not(x)))
        else:
            state.proceeds.append((sink, cond_not(x)))
        state.kills.append((var, x))
        return state

    def _convert(
        self,
        items: list[_Item],
        i: int,
        sink: State,
        head: _Head | None,
        outer_follow: _Item | None = None,
    ) -> State:
        """Flink's convertPattern: one (non-negated) element. `outer_follow`: the `-> !x`
        after the group whose body `items` is, which applies to the body's last element."""
        item = items[i]
        nots = self._nots_before(items, i)
        if i + 1 < len(items):
            follow = items[i + 1] if items[i + 1].not_follow else None
        else:
            follow = outer_follow
        # the first element of a group body loops with the group's inner contiguity (Flink)
        inner = head.inner if head is not None else item.quant.inner
        outermost = self._building is None
        if outermost:
            self._building = item.element
        saved, self._element_states = self._element_states, []
        quant = item.quant
        if quant.looping:
            optional = _is_optional(item, head)
            loop_sink = self._without_nots(sink, nots) if optional and nots else sink
            looping = self._looping(item, loop_sink, follow, inner)
            entry = self._times(
                item, looping, sink, quant.low, quant.low, head, nots, follow, inner
            )
        elif quant.low != quant.high or quant.low > 1:
            entry = self._times(
                item, sink, sink, quant.low, quant.high or quant.low, head, nots, follow, inner
            )
        else:
            take = self._take(item.var) if item.var else TRUE
            entry = self._singleton(item, sink, sink, take, None, head, nots, follow, first=True)
        self._add_kills(entry, nots)
        created, self._element_states = self._element_states, saved
        if outermost:
            self._building = None
        if item.element.within is not None:
            for state in created:
                if state.window_ms is None:
                    state.window_ms = item.element.within.ms
        if saved is not None:
            saved.extend(created)
        return entry

    @staticmethod
    def _add_kills(state: State, nots: list[tuple[str, Cond]]) -> None:
        for var, cond in nots:
            if (var, cond) not in state.kills:
                state.kills.append((var, cond))

    def _add_follow_kill(self, state: State, follow: _Item | None) -> None:
        """A loop followed by `-> !x`: an x inside the loop's span kills it (Flink)."""
        if follow is not None and follow.var is not None:
            self._add_kills(state, [(follow.var, self._take(follow.var))])

    def _without_nots(self, state: State, nots: list[tuple[str, Cond]]) -> State:
        """A copy of `state` whose KILL edges for `nots` are gone (once an optional element
        took an event, the negations before it no longer apply): copyWithoutTransitiveNots."""
        names = {var for var, _ in nots}
        if not any(var in names for var, _ in state.kills) and not state.proceeds:
            return state
        copy = self._state(state.kind, state.var, state.label)
        copy.window_ms = state.window_ms
        copy.kills = [(v, c) for v, c in state.kills if v not in names]
        copy.takes = [(copy if t is state else t, c) for t, c in state.takes]
        copy.ignores = [(copy if t is state else t, c) for t, c in state.ignores]
        copy.proceeds = [(self._without_nots(t, nots), c) for t, c in state.proceeds]
        return copy

    def _copy(self, state: State) -> State:
        copy = self._state(state.kind, state.var, state.label)
        copy.window_ms = state.window_ms
        copy.kills = list(state.kills)
        copy.takes = [(copy if t is state else t, c) for t, c in state.takes]
        copy.ignores = [(copy if t is state else t, c) for t, c in state.ignores]
        copy.proceeds = list(state.proceeds)
        return copy

    def _make_greedy(self, state: State, loop_take: Cond) -> None:
        """`greedy`: the element after a loop may not take — nor skip, nor move past — an
        event the loop could take (Flink adds `not loop` to every edge of the next state)."""
        not_loop = cond_not(loop_take)
        state.takes = [(t, cond_and(c, not_loop)) for t, c in state.takes]
        state.ignores = [(t, cond_and(c, not_loop)) for t, c in state.ignores]
        state.proceeds = [(t, cond_and(c, not_loop)) for t, c in state.proceeds]
        state.kills = [(v, cond_and(c, not_loop)) for v, c in state.kills]

    # ------------------------------------------------------------------ quantified elements
    def _extend_until(self, cond: Cond | None, until: Cond | None, is_take: bool) -> Cond | None:
        if until is not None and cond is not None:
            return cond_and(cond_not(until), cond)
        if until is not None and is_take:
            return cond_not(until)
        return cond

    def _looping(self, item: _Item, sink: State, follow: _Item | None, inner: str) -> State:
        """Flink's createLooping: a state that takes its own events again and again."""
        if item.is_group:
            return self._looping_group(item, sink, follow)
        var = item.var
        assert var is not None
        quant = item.quant
        base = self._take(var)
        until = self.until_cond(quant, var)
        take = self._extend_until(base, until, True) or TRUE
        ignore = self._extend_until(self._ignore_for(inner, var), until, False)
        loop = self._state("normal", var, f"{var} (loop)")
        moved = self._true()
        if quant.greedy:
            if until is not None:
                self._ungreedy[sink.id] = self._copy(sink)
                loop.proceeds.append((self._ungreedy[sink.id], cond_and(moved, until)))
            loop.proceeds.append((sink, cond_and(moved, cond_not(until)) if until else moved))
            self._make_greedy(sink, base)
        else:
            loop.proceeds.append((sink, moved))
        loop.takes.append((loop, take))
        self._add_follow_kill(loop, follow)
        if ignore is not None:
            ignored = self._state("normal", var, f"{var} (loop, ignored)")
            ignored.takes.append((loop, take))
            ignored.ignores.append((ignored, ignore))
            loop.ignores.append((ignored, ignore))
            self._add_follow_kill(ignored, follow)
        return loop

    def _times(
        self,
        item: _Item,
        sink: State,
        proceed: State,
        low: int,
        high: int,
        head: _Head | None,
        nots: list[tuple[str, Cond]],
        follow: _Item | None,
        inner: str,
    ) -> State:
        """Flink's createTimesState: `low` mandatory states then `high - low` optional ones."""
        quant = item.quant
        var = item.var
        base = self._take(var) if var else TRUE
        until = self.until_cond(quant, var)
        take = self._extend_until(base, until, True) or TRUE
        inner_ignore = self._extend_until(self._ignore_for(inner, var), until, False)
        if quant.greedy and low != high and not item.is_group:
            if until is not None:
                self._ungreedy[sink.id] = self._copy(sink)
            self._make_greedy(sink, take)
        last = sink
        for _ in range(low, high):
            last = self._singleton(
                item, last, proceed, take, inner_ignore, None, nots, follow, optional=True
            )
            self._add_follow_kill(last, follow)
        for _ in range(low - 1):
            last = self._singleton(
                item, last, None, take, inner_ignore, None, nots, follow, optional=False
            )
            self._add_follow_kill(last, follow)
        return self._singleton(item, last, proceed, take, None, head, nots, follow, first=True)

    def _singleton(
        self,
        item: _Item,
        sink: State,
        proceed: State | None,
        take: Cond,
        ignore: Cond | None,
        head: _Head | None,
        nots: list[tuple[str, Cond]],
        follow: _Item | None,
        *,
        first: bool = False,
        optional: bool | None = None,
    ) -> State:
        """Flink's createSingletonState. `first`: the element's first state, whose ignore edge
        follows the contiguity with the previous element (or the group head's)."""
        if first:
            strategy = head.strategy if head else item.strategy
            optional = _is_optional(item, head)
        assert optional is not None
        if item.is_group:
            return self._group(
                item, sink, proceed, optional, first_of_loop=first, outer_head=head, follow=follow
            )
        var = item.var
        assert var is not None
        if first:
            if head is not None and head.use_ignore_override:
                ignore = head.ignore
            else:
                ignore = self._ignore_for(strategy, var)
        head_of_group = first and head is not None
        label = var if first else f"{var} (repeat)"
        state = self._state("normal", var, label)
        target = self._without_nots(sink, nots) if optional and nots else sink
        state.takes.append((target, take))
        # the head of an optional group gets its PROCEED edge from the group (_group)
        if optional and (not head_of_group or item.quant.optional) and proceed is not None:
            until = self.until_cond(item.quant, var)
            moved = self._true()
            if item.quant.greedy and until is not None and proceed.id in self._ungreedy:
                state.proceeds.append((self._ungreedy[proceed.id], cond_and(moved, until)))
                state.proceeds.append((proceed, cond_and(moved, cond_not(until))))
            else:
                state.proceeds.append((proceed, moved))
        if ignore is not None:
            if optional:
                ignored = self._state("normal", var, f"{label} (ignored)")
                ignored.takes.append((target, take))
                ignored.ignores.append((ignored, ignore))
                self._add_kills(ignored, nots)
                state.ignores.append((ignored, ignore))
            else:
                state.ignores.append((state, ignore))
        return state

    # ------------------------------------------------------------------ groups
    def _group(
        self,
        item: _Item,
        sink: State,
        proceed: State | None,
        optional: bool,
        *,
        first_of_loop: bool,
        outer_head: _Head | None,
        follow: _Item | None,
    ) -> State:
        """Flink's createGroupPatternState: one iteration of a group's body."""
        quant = item.quant
        if first_of_loop:
            strategy = outer_head.strategy if outer_head else item.strategy
            head = _Head(strategy, optional, quant.inner)
        else:
            head = _Head(quant.inner, False, quant.inner)
        moved = self._true()  # the group's own edges belong to where the group stands
        entry = self._body(item, sink, head, follow)
        if optional and proceed is not None:
            entry.proceeds.append((proceed, moved))
        return entry

    def _looping_group(self, item: _Item, sink: State, follow: _Item | None) -> State:
        """Flink's createLoopingGroupPatternState: after each iteration, loop back or leave."""
        moved = self._true()
        back = self._state("normal", None, "(repeat group)")
        inner = item.quant.inner
        entry = self._body(item, back, _Head(inner, False, inner), follow)
        entry.proceeds.append((sink, moved))
        back.proceeds.append((entry, moved))
        return entry

    def _body(self, item: _Item, sink: State, head: _Head, follow: _Item | None) -> State:
        """A group's body, its elements' conditions extended with the group's `until`."""
        body = item.element.atom
        assert not isinstance(body, ast.VarRef)
        saved = self._group_until
        self._group_until = self.until_cond(item.quant, None)
        try:
            return self._chain_or_alternatives(body, None, sink, head, follow)
        finally:
            self._group_until = saved


# ---------------------------------------------------------------------- structure helpers
def _is_optional(item: _Item, head: _Head | None) -> bool:
    """An element's first state may be skipped: it is optional itself, or it heads the body
    of an optional group."""
    return item.quant.optional or (head is not None and head.optional)


def _branches(node: ast.MatchExpr) -> Iterator[ast.Sequence]:
    """Alternation branches; a conjunction is the alternation of all orders of its parts
    (n parts have n! orders: they are generated as they are built, so that the state limit
    stops a large conjunction before its orders fill the memory)."""
    if isinstance(node, ast.Sequence):
        yield node
    elif isinstance(node, ast.Alternation):
        for option in node.options:
            yield from _branches(option)
    else:
        for perm in itertools.permutations(node.parts):
            steps: list[ast.Step] = []
            for k, part in enumerate(perm):
                for j, step in enumerate(part.steps):
                    contiguity = step.contiguity if j else (None if k == 0 else "relaxed")
                    steps.append(ast.Step(contiguity, step.element))
            yield ast.Sequence(tuple(steps), node.span)


def _starts(node: ast.MatchExpr) -> Iterator[ast.Sequence]:
    """The sequences a branch of `node` can start with: its alternatives, and every part of a
    conjunction (each part comes first in some order)."""
    if isinstance(node, ast.Sequence):
        yield node
    elif isinstance(node, ast.Alternation):
        for option in node.options:
            yield from _starts(option)
    else:
        yield from node.parts


def _elements(node: ast.MatchExpr, quantified: bool = False) -> Iterator[tuple[ast.Element, bool]]:
    """Every element of a match in reading order, with whether it repeats (it is quantified
    or stands inside a quantified group)."""
    if isinstance(node, ast.Alternation):
        parts: tuple[ast.MatchExpr, ...] = node.options
    elif isinstance(node, ast.Conjunction):
        parts = node.parts
    else:
        parts = (node,)
    for part in parts:
        if not isinstance(part, ast.Sequence):
            yield from _elements(part, quantified)
            continue
        for step in part.steps:
            element = step.element
            repeats = quantified or element.quantifier is not None
            if isinstance(element.atom, ast.VarRef):
                yield element, repeats
            else:
                yield from _elements(element.atom, repeats)


def _variables(node: ast.MatchExpr) -> list[str]:
    """Non-negated variables in match order (each once)."""
    out: list[str] = []
    for element, _ in _elements(node):
        name = element.atom.name  # type: ignore[union-attr]
        if not element.negated and name not in out:
            out.append(name)
    return out


def _list_variables(node: ast.MatchExpr) -> set[str]:
    """Variables that are lists in the default output: quantified, or in a quantified group."""
    return {
        e.atom.name  # type: ignore[union-attr]
        for e, repeats in _elements(node)
        if repeats and not e.negated
    }


def compile_pattern(pattern: ast.Pattern, source: str) -> Nfa:
    return NfaCompiler(pattern, source).compile()
