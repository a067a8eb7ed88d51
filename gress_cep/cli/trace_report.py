"""`gress explain FILE --trace-file TRACE.jsonl`: a trace read against the automaton.

For each traced pattern and key: how often each state's conditions were tried and with what
result (the last values of a failure beside it), how the partial matches ended, and — the
question a trace is for — why there was no match: where the partial match that got furthest
stopped, and which condition it kept failing; or, when none started, the start condition
that no event met.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.markup import escape
from rich.tree import Tree

from gress_cep.cli.trace_output import partial_text, value_text
from gress_cep.errors import UserError
from gress_cep.nfa.model import Nfa

ENDINGS = ("expired", "killed", "dropped")


def read_trace(path: Path) -> list[dict[str, Any]]:
    """The steps of a trace file (`gress detect --trace-output`), with a clear error for a
    file that is not one."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise UserError(f"--trace-file {path}: {err.strerror}") from None
    steps = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            step = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise UserError(
                f"--trace-file {path}:{n}: not JSON",
                hint="write a trace with gress detect ... --trace VALUE --trace-output PATH",
            ) from None
        if not isinstance(step, dict) or not {"pattern", "key", "step"} <= step.keys():
            raise UserError(
                f"--trace-file {path}:{n}: not a step of a trace (no pattern, key and step fields)",
                hint="write a trace with gress detect ... --trace VALUE --trace-output PATH",
            )
        steps.append(step)
    return steps


@dataclass(slots=True)
class EdgeCount:
    condition: str
    true: int = 0
    false: int = 0
    last_false: dict[str, Any] | None = None  # the values read by its last failure


@dataclass(slots=True)
class KeyAnalysis:
    """One pattern and key of a trace, counted."""

    pattern: str
    key: Any
    events: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    edges: dict[tuple[int, str, str], EdgeCount] = field(default_factory=dict)
    partials: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    waits: dict[str, int] = field(default_factory=dict)  # partial -> state tried last
    fates: dict[str, dict[str, Any]] = field(default_factory=dict)  # partial -> its ending
    failures: dict[str, Counter[tuple[int, str, str]]] = field(default_factory=dict)
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, step: dict[str, Any]) -> None:
        kind = step["step"]
        self.counts[kind] += 1
        if kind == "event":
            self.events += 1
            return
        partial = step.get("partial") or {}
        pid = orjson.dumps(partial).decode()
        if kind == "tried":
            edge = (step.get("state", -1), step.get("edge", ""), step.get("variable") or "")
            count = self.edges.setdefault(edge, EdgeCount(step.get("condition", "")))
            if step.get("result"):
                count.true += 1
            else:
                count.false += 1
                count.last_false = step.get("values") or {}
                if partial and edge[1] == "take":
                    self.failures.setdefault(pid, Counter())[edge] += 1
            if partial:
                self.partials.setdefault(pid, partial)
                self.waits[pid] = step.get("state", -1)
        elif kind in ("started", "extended"):
            self.partials.setdefault(pid, partial)
        elif kind in ENDINGS and partial:
            self.fates.setdefault(pid, step)
            self.reasons[f"{kind}: {_reason_kind(step)}"] += 1

    def furthest(self) -> str | None:
        """The partial match with the most events (the latest of equals)."""
        best: str | None = None
        size = -1
        for pid, partial in self.partials.items():
            n = sum(len(v) for v in partial.values())
            if n >= size:
                best, size = pid, n
        return best


def _reason_kind(step: dict[str, Any]) -> str:
    """A reason without its times and numbers, to count alike endings together."""
    reason = str(step.get("reason") or step.get("condition") or "")
    for cut in (" after ", " (", ": a "):
        if cut in reason:
            reason = reason.split(cut)[0]
    return reason


def analyse(steps: list[dict[str, Any]], patterns: set[str] | None) -> list[KeyAnalysis]:
    found: dict[tuple[str, str], KeyAnalysis] = {}
    for step in steps:
        if patterns and step["pattern"] not in patterns:
            continue
        ident = (step["pattern"], orjson.dumps(step["key"]).decode())
        analysis = found.get(ident)
        if analysis is None:
            analysis = found[ident] = KeyAnalysis(step["pattern"], step["key"])
        analysis.add(step)
    return list(found.values())


def render(analysis: KeyAnalysis, nfa: Nfa | None) -> Tree:
    c = analysis.counts
    key = value_text(analysis.key) if not isinstance(analysis.key, str) else analysis.key
    root = Tree(
        f"[bold]pattern {escape(analysis.pattern)}[/], key [bold]{escape(key)}[/]: "
        f"{analysis.events:,} events, {c['started']:,} partial matches started, "
        f"[bold]{c['matched']:,} {'match' if c['matched'] == 1 else 'matches'}[/]"
    )
    if nfa is None:
        root.add("[yellow]the file has no such pattern: the trace is of another version[/]")
    else:
        stale = _stale(analysis, nfa)
        if stale:
            root.add(f"[yellow]{escape(stale)}[/]")
    states = root.add("states")
    labels = {s.id: s.label for s in nfa.states} if nfa is not None else {}
    by_state: dict[int, list[tuple[tuple[int, str, str], EdgeCount]]] = {}
    for edge, count in analysis.edges.items():
        by_state.setdefault(edge[0], []).append((edge, count))
    for sid in sorted(by_state):
        node = states.add(f"[cyan]state {sid}[/] {escape(labels.get(sid, ''))}")
        for (_, action, var), count in by_state[sid]:
            what = f"!{var}" if action == "kill" else var or action
            line = (
                f"{action} {escape(what)} if {escape(count.condition)}: "
                f"[green]true {count.true:,}[/], [red]false {count.false:,}[/]"
            )
            if count.last_false:
                line += f" [dim](last false: {escape(_values(count.last_false))})[/]"
            node.add(line)
    if analysis.reasons:
        ends = root.add("partial matches that ended")
        for reason, n in analysis.reasons.most_common():
            ends.add(f"{escape(reason)}: {n:,}")
    root.add(_verdict(analysis, labels))
    return root


def _stale(analysis: KeyAnalysis, nfa: Nfa) -> str | None:
    """A warning when the trace's conditions are not the file's: another version of it."""
    known: dict[tuple[int, str], set[str]] = {}
    for s in nfa.states:
        for action, items in (("take", s.takes), ("ignore", s.ignores), ("proceed", s.proceeds)):
            known.setdefault((s.id, action), set()).update(c.text for _, c in items)
        known.setdefault((s.id, "kill"), set()).update(c.text for _, c in s.kills)
    for (sid, action, _), count in analysis.edges.items():
        if count.condition not in known.get((sid, action), set()):
            return (
                f"state {sid} of the file has no {action} edge `{count.condition}`: the trace "
                "was made with another version of the file; what follows is the trace's"
            )
    return None


def _values(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {value_text(v)}" for k, v in values.items())


def _verdict(analysis: KeyAnalysis, labels: dict[int, str]) -> str:
    """Why it did (not) fire, in a sentence."""
    matched = analysis.counts["matched"]
    if matched:
        return f"[green]matched {matched:,} {'time' if matched == 1 else 'times'}[/]"
    if analysis.events == 0:
        return "[red]no match[/]: no event of this key reached the pattern"
    pid = analysis.furthest()
    if pid is None:
        starts = [
            (edge, count)
            for edge, count in analysis.edges.items()
            if edge[1] == "take" and not count.true
        ]
        text = "[red]no match[/]: no partial match started"
        if starts:
            (_, _, var), count = starts[0]
            text += (
                f": the start condition {escape(var)}: {escape(count.condition)} was false for "
                f"every event ({count.false:,})"
            )
            if count.last_false:
                text += f", last: {escape(_values(count.last_false))}"
        return text
    partial = analysis.partials[pid]
    state = analysis.waits.get(pid)
    where = f" waited in state {state} {escape(labels.get(state, ''))}" if state is not None else ""
    text = f"[red]no match[/]: the furthest partial match {escape(partial_text(partial))}{where}"
    failures = analysis.failures.get(pid)
    if failures:
        # the condition it waited on: at the state it was tried in last, else the most failed
        edge, n = max(failures.items(), key=lambda item: (item[0][0] == state, item[1]))
        count = analysis.edges[edge]
        text += (
            f"; {escape(edge[2])}: {escape(count.condition)} was false for "
            f"{n:,} {'event' if n == 1 else 'events'}"
        )
        if count.last_false:
            text += f" (last: {escape(_values(count.last_false))})"
    fate = analysis.fates.get(pid)
    if fate is not None:
        text += f"; then {fate['step']}: {escape(str(fate.get('reason') or fate.get('condition')))}"
    else:
        text += "; it was still waiting when the trace ended"
    return text
