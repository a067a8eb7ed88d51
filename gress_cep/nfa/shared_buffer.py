"""The shared buffer: events of partial matches, stored once and shared between branches.

Every partial match points at the node of the last event it took; each node points at the
node before it. Branches that share a prefix (the many ways a loop can go on) share the
nodes of that prefix instead of copying it — the role of SASE+'s and Flink's SharedBuffer.
Flink tells paths apart with Dewey version numbers because its nodes are keyed by event;
here a path is simply the chain of parent pointers, which needs no versions. Nodes are freed
by the garbage collector when no partial match points into them anymore.
"""

from __future__ import annotations

from typing import Any

Record = dict[str, Any]


class Node:
    """One event taken by a variable: (variable, event, arrival seq, event time, parent)."""

    __slots__ = ("depth", "event", "parent", "seq", "ts", "var")

    def __init__(self, var: str, event: Record, seq: int, ts: int, parent: Node | None) -> None:
        self.var = var
        self.event = event
        self.seq = seq
        self.ts = ts
        self.parent = parent
        self.depth: int = 1 if parent is None else parent.depth + 1  # events in the match


def path(node: Node | None) -> list[Node]:
    """The nodes of a partial match, first event first."""
    out = []
    while node is not None:
        out.append(node)
        node = node.parent
    out.reverse()
    return out


def events_by_variable(node: Node | None) -> dict[str, list[Record]]:
    """variable -> its events in order, for output and `emit`."""
    out: dict[str, list[Record]] = {}
    for n in path(node):
        out.setdefault(n.var, []).append(n.event)
    return out


def snapshot_nodes(heads: list[Node | None]) -> tuple[list[list[Any]], list[int]]:
    """Serialize the nodes reachable from `heads` once each (shared prefixes stay shared).

    Returns (rows, head ids): rows are [var, event, seq, ts, parent id or -1]; ids index rows.
    """
    ids: dict[int, int] = {}
    rows: list[list[Any]] = []

    def visit(node: Node | None) -> int:
        chain = []
        while node is not None and id(node) not in ids:
            chain.append(node)
            node = node.parent
        parent_id = -1 if node is None else ids[id(node)]
        for n in reversed(chain):
            ids[id(n)] = len(rows)
            rows.append([n.var, n.event, n.seq, n.ts, parent_id])
            parent_id = ids[id(n)]
        return parent_id

    head_ids = [visit(h) for h in heads]
    return rows, head_ids


def restore_nodes(rows: list[list[Any]]) -> list[Node]:
    nodes: list[Node] = []
    for var, event, seq, ts, parent in rows:
        nodes.append(Node(var, event, seq, ts, nodes[parent] if parent >= 0 else None))
    return nodes
