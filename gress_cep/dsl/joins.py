"""The key of a join: the equalities between its two sides in the join condition.

An interval join keeps its state per key (as Flink's does), so the condition must relate the
sides by at least one equality `a.X == b.Y` at its top level (`and`ed with anything else,
which then filters the pairs). The checker demands one; the join operator keys by them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gress_cep.dsl import ast
from gress_cep.dsl.expression_checker import refs


@dataclass(slots=True, frozen=True)
class JoinKey:
    """One equality of the condition: `left` reads only the left side, `right` the right."""

    left: ast.Expr
    right: ast.Expr


def join_keys(join: ast.JoinSource) -> list[JoinKey]:
    """The equalities across the sides at the top level of the condition, in order."""
    a, b = join.left.alias.text, join.right.alias.text
    keys = []
    for part in _conjuncts(join.on):
        if not (isinstance(part, ast.Binary) and part.op == "=="):
            continue
        left, right = _side(part.left, a, b), _side(part.right, a, b)
        if left == a and right == b:
            keys.append(JoinKey(part.left, part.right))
        elif left == b and right == a:
            keys.append(JoinKey(part.right, part.left))
    return keys


def only_keys(join: ast.JoinSource) -> bool:
    """The condition is its equalities across the sides and nothing else (no pair to filter)."""
    return len(join_keys(join)) == len(list(_conjuncts(join.on)))


def _conjuncts(expr: ast.Expr) -> Iterator[ast.Expr]:
    if isinstance(expr, ast.Binary) and expr.op == "and":
        yield from _conjuncts(expr.left)
        yield from _conjuncts(expr.right)
    else:
        yield expr


def _side(expr: ast.Expr, a: str, b: str) -> str | None:
    """The one alias an expression reads, or None (none, both, or another name)."""
    names = {r.name for r in refs(expr)}
    return names.pop() if len(names) == 1 and names <= {a, b} else None
