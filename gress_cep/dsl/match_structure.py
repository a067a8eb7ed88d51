"""The shape of a `match`: its variables and the rules its structure must follow (DSL §3.1).

`variables_of` lists every variable with what the rest of the front end needs to know about it:
its reading order, whether it is negated, whether it can take several events or none, and which
alternation or conjunction branches enclose it. The compiler uses the same table (which
variables hold lists in the output, which conditions may see which variables).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gress_cep.dsl import ast
from gress_cep.dsl.errors import Diagnostics
from gress_cep.dsl.source_text import SourceText

# one enclosing branch: (the alternation/conjunction node's number, branch index, "|" or "&")
Branch = tuple[int, int, str]


@dataclass(slots=True)
class Variable:
    """A variable of a match, in the order the match is read."""

    name: str
    span: ast.Span
    index: int
    negated: bool
    repeats: bool  # may take several events: quantified itself or inside a quantified group
    optional: bool  # may take no event
    looping: bool  # its own quantifier is a loop (b+, b*, b{n,}, b{n,m} with n < m)
    branches: tuple[Branch, ...]
    element: ast.Element


def is_loop(q: ast.Quantifier) -> bool:
    """`+ * {n,} {n,m}` with n < m; not `?` or `{n}` (greedy and until need one)."""
    return q.high is None or q.high > q.low


def repeats(q: ast.Quantifier) -> bool:
    """More than one event: `+ * {n} {n,} {n,m}` with n or m > 1 (inner contiguity needs one)."""
    return q.high is None or q.high > 1


def visibility(reader: Variable, target: Variable) -> str | None:
    """Why `target` cannot be referenced in the condition of `reader`, or None if it can.

    A condition sees its own variable and the variables matched before it; a variable of
    another branch of the same alternation is never bound together with it, and the parts of
    a conjunction come in any order.
    """
    if reader.name == target.name:
        return None
    for a, b in zip(reader.branches, target.branches, strict=False):
        if a == b:
            continue
        if a[0] == b[0]:
            if a[2] == "|":
                return (
                    f"variable '{target.name}' is in another branch of the alternation than "
                    f"'{reader.name}': they are never matched together"
                )
            return (
                f"variable '{target.name}' may be matched after '{reader.name}' "
                "(they are parts of one '&', which match in any order)"
            )
        break
    if target.index > reader.index:
        return f"variable '{target.name}' is matched after '{reader.name}'"
    return None


class _Walk:
    """One pass over a match: collects the variables and reports structural errors."""

    def __init__(self, diag: Diagnostics, text: SourceText) -> None:
        self.diag = diag
        self.text = text
        self.variables: dict[str, Variable] = {}
        self.nodes = 0

    def node(
        self, node: ast.MatchExpr, branches: tuple[Branch, ...], repeats: bool, kind: str
    ) -> None:
        if isinstance(node, ast.Sequence):
            self.sequence(node, branches, repeats, kind)
            return
        self.nodes += 1
        number = self.nodes
        mark, kind = ("|", "alternative") if isinstance(node, ast.Alternation) else ("&", "part")
        items = node.options if isinstance(node, ast.Alternation) else node.parts
        for i, item in enumerate(items):
            inner = (*branches, (number, i, mark))
            if isinstance(item, ast.Sequence):
                self.sequence(item, inner, repeats, kind=kind)
            else:
                self.node(item, inner, repeats, kind)

    def sequence(
        self, seq: ast.Sequence, branches: tuple[Branch, ...], repeats: bool, kind: str
    ) -> None:
        for i, step in enumerate(seq.steps):
            element = step.element
            if i == 0 and element.negated:
                if len(seq.steps) == 1 and kind in ("alternative", "part"):
                    where = "an alternative" if kind == "alternative" else "a part of '&'"
                    self.diag.error(
                        element.span,
                        f"{where} cannot be only a negation",
                        hint="a negation says what must not come between two events; "
                        "put it between them, e.g. 'a -> !x -> b'",
                    )
                else:
                    start = "a match" if kind == "match" else f"{_article(kind)} {kind}"
                    self.diag.error(
                        element.span,
                        f"{start} cannot start with a negation",
                        hint="a negation says what must not follow an event: "
                        "put that event first, e.g. 'a -> !x -> b'",
                    )
            if i == 0 and element.within is not None and kind == "match" and not branches:
                self.diag.error(
                    element.within.span,
                    "the first element cannot have its own 'within': there is no earlier "
                    "event to measure from",
                    hint="use a pattern 'within' line, or put it on the next element",
                )
            self.element(element, branches, repeats)

    def element(self, element: ast.Element, branches: tuple[Branch, ...], repeats: bool) -> None:
        q = element.quantifier
        if element.within is not None and element.within.ms <= 0:
            self.diag.error(element.within.span, "a step's 'within' must be longer than 0")
        atom = element.atom
        if element.negated and not isinstance(atom, ast.VarRef):
            self.diag.error(
                element.span,
                "a group cannot be negated",
                hint="negate single variables: '!x', with x's condition saying what must not occur",
            )
        if q is not None:
            self.quantifier(element, q, group=not isinstance(atom, ast.VarRef))
            if not isinstance(atom, ast.VarRef) and q.high is None and can_be_empty(atom):
                self.diag.error(
                    q.span,
                    "a repeating group must take an event in each repetition: every element "
                    "of this group may take none",
                    hint="make one of its elements required, e.g. '(a -> b?)+' instead of "
                    "'(a? -> b?)+'",
                )
        own_repeats = q is not None and (q.high is None or q.high > 1)
        if isinstance(atom, ast.VarRef):
            self.variable(atom, element, branches, repeats or own_repeats)
        else:
            self.group_heads(atom, q.inner if q is not None else "relaxed")
            self.node(atom, branches, repeats or own_repeats, "group")

    def group_heads(self, body: ast.MatchExpr, group_inner: str) -> None:
        """The first element of a group repeats with the group's inner contiguity, not its
        own (Flink's getInnerIgnoreCondition): a `consecutive` or `any` written on it does
        nothing, which deserves a word."""
        for head in body_heads(body):
            q = head.quantifier
            if not isinstance(head.atom, ast.VarRef) or q is None or not repeats(q):
                continue
            if q.inner == group_inner or q.inner == "relaxed":
                continue
            word = "consecutive" if q.inner == "strict" else "any"
            symbolic = self.text.text(q.span)[:1] in ("?", "*", "+", "{")
            spans = [
                span
                for w, span in self.text.words(q.span, head.span, from_start=not symbolic)
                if w == word
            ]
            group = {"strict": "consecutive", "any": "any"}.get(group_inner, "relaxed")
            self.diag.warning(
                spans[0] if spans else q.span,
                f"'{word}' has no effect on '{head.atom.name}': the first element of a group "
                f"repeats with the group's contiguity ({group}), as in Flink",
                hint=f"put '{head.atom.name}' before the group, or write '{word}' on a "
                "repeating group",
            )

    def variable(
        self, ref: ast.VarRef, element: ast.Element, branches: tuple[Branch, ...], repeats: bool
    ) -> None:
        first = self.variables.get(ref.name)
        if first is not None:
            self.diag.error(
                ref.span,
                f"variable '{ref.name}' occurs twice in the match (first at column "
                f"{first.span.column} of line {first.span.line})",
                hint="each variable names one step; give this one another name "
                "(two variables may have the same condition)",
            )
            return
        q = element.quantifier
        self.variables[ref.name] = Variable(
            name=ref.name,
            span=ref.span,
            index=len(self.variables),
            negated=element.negated,
            repeats=repeats,
            optional=q is not None and q.optional,
            looping=q is not None and is_loop(q),
            branches=branches,
            element=element,
        )

    def quantifier(self, element: ast.Element, q: ast.Quantifier, group: bool) -> None:
        q_text = self.text.text(q.span)
        symbolic = q_text[:1] in ("?", "*", "+", "{")
        words = list(self.text.words(q.span, element.span, from_start=not symbolic))
        if element.negated:
            self.diag.error(
                q.span,
                "a negation cannot be quantified or optional",
                hint="'!x' already means: no event matching x",
            )
            return
        seen: dict[str, ast.Span] = {}
        for word, span in words:
            if word == "within":
                continue
            if word in seen:
                self.diag.warning(span, f"'{word}' is written twice")
                continue
            seen[word] = span
            if (
                word == "optional"
                and symbolic
                and (q_text in ("?", "*") or q_text.startswith("{0"))
            ):
                self.diag.warning(
                    span, f"'optional' is redundant: '{q_text}' already allows zero events"
                )
            elif word == "greedy" and group:
                self.diag.error(span, "'greedy' is not allowed on a group (as in Flink)")
            elif word in ("consecutive", "any") and symbolic and not repeats(q):
                # contiguity between the events of a repetition: {n} has it too (Flink's
                # times(n).consecutive()), a single event has none
                self.diag.error(
                    span,
                    f"'{word}' applies to a repetition (+, *, {{n}}, {{n,}}, {{n,m}}), "
                    f"not to '{q_text}'",
                    hint=f"'{q_text}' matches one event at most",
                )
            elif word in ("greedy", "until") and symbolic and not is_loop(q):
                self.diag.error(
                    span,
                    f"'{word}' applies to a loop (+, *, {{n,}}, {{n,m}}), not to '{q_text}'",
                    hint=f"'{q_text}' matches a fixed number of events",
                )
        if "consecutive" in seen and "any" in seen:
            later = max(seen["consecutive"], seen["any"], key=lambda s: (s.line, s.column))
            self.diag.error(later, "a loop cannot be both 'consecutive' and 'any'")


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeiou" else "a"


def variables_of(match: ast.MatchExpr, diag: Diagnostics, text: SourceText) -> dict[str, Variable]:
    """The variables of a match in reading order; structural errors go to `diag`."""
    walk = _Walk(diag, text)
    walk.node(match, (), False, "match")
    return walk.variables


def elements(
    node: ast.MatchExpr | ast.Element,
) -> Iterator[tuple[ast.Contiguity | None, ast.Element]]:
    """Every element of a match, nested ones included, with the contiguity before it."""
    if isinstance(node, ast.Element):
        if not isinstance(node.atom, ast.VarRef):
            yield from elements(node.atom)
        return
    if isinstance(node, ast.Sequence):
        for step in node.steps:
            yield step.contiguity, step.element
            yield from elements(step.element)
        return
    items = node.options if isinstance(node, ast.Alternation) else node.parts
    for item in items:
        yield from elements(item)


def can_be_empty(node: ast.MatchExpr) -> bool:
    """Can this part of a match take no event at all (every element optional or negated)?"""
    if isinstance(node, ast.Sequence):
        return all(_element_can_be_empty(step.element) for step in node.steps)
    if isinstance(node, ast.Alternation):
        return any(can_be_empty(option) for option in node.options)
    return all(can_be_empty(part) for part in node.parts)


def _element_can_be_empty(element: ast.Element) -> bool:
    q = element.quantifier
    if element.negated or (q is not None and q.optional):
        return True
    return not isinstance(element.atom, ast.VarRef) and can_be_empty(element.atom)


def body_heads(node: ast.MatchExpr) -> Iterator[ast.Element]:
    """The elements a group's body starts with: its first, or each alternative's first."""
    if isinstance(node, ast.Sequence):
        yield node.steps[0].element
        return
    items = node.options if isinstance(node, ast.Alternation) else node.parts
    for item in items:
        yield from body_heads(item)


def trailing(node: ast.MatchExpr) -> Iterator[tuple[ast.Contiguity | None, ast.Element]]:
    """The elements a match can end with, with the contiguity before each."""
    if isinstance(node, ast.Sequence):
        step = node.steps[-1]
        if isinstance(step.element.atom, ast.VarRef):
            yield step.contiguity, step.element
        else:
            yield from trailing(step.element.atom)
        return
    items = node.options if isinstance(node, ast.Alternation) else node.parts
    for item in items:
        yield from trailing(item)
