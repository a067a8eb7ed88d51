"""A compiled NFA as plain data (for `gress explain --json`) and as Graphviz DOT (`--dot`)."""

from __future__ import annotations

from typing import Any

from gress_cep.nfa.model import Nfa, State

_SKIP_TEXT = {
    "no": "skip no",
    "to_next": "skip to next",
    "past_last": "skip past last",
    "to_first": "skip to first {var}",
    "to_last": "skip to last {var}",
}


def skip_text(nfa: Nfa) -> str:
    return _SKIP_TEXT[nfa.skip].format(var=nfa.skip_var)


def describe(nfa: Nfa) -> dict[str, Any]:
    def edges(state: State) -> list[dict[str, Any]]:
        out = []
        for action, items in (
            ("take", state.takes),
            ("ignore", state.ignores),
            ("proceed", state.proceeds),
        ):
            for target, cond in items:
                out.append({"action": action, "to": target.id, "condition": cond.text})
        for var, cond in state.kills:
            out.append({"action": "kill", "negated": var, "condition": cond.text})
        return out

    return {
        "pattern": nfa.name,
        "start": nfa.start.id,
        "variables": nfa.variables,
        "within_ms": nfa.within_ms,
        "skip": skip_text(nfa),
        "states": [
            {
                "id": s.id,
                "label": s.label,
                "kind": "start" if s is nfa.start else s.kind,
                "variable": s.var,
                "window_ms": s.window_ms,
                "edges": edges(s),
            }
            for s in nfa.states
        ],
    }


def to_dot(nfas: list[Nfa]) -> str:
    lines = ["digraph gress {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for nfa in nfas:
        lines.append(f'  subgraph "cluster_{nfa.name}" {{')
        lines.append(f'    label="{_esc(nfa.name)} ({_esc(skip_text(nfa))})";')
        for s in nfa.states:
            shape = "doublecircle" if s.is_final else "octagon" if s.is_pending else "circle"
            style = ',style="bold"' if s is nfa.start else ""
            lines.append(f'    "{nfa.name}:{s.id}" [label="{_esc(s.label)}",shape={shape}{style}];')
        for s in nfa.states:
            for action, items, color in (
                ("take", s.takes, "black"),
                ("ignore", s.ignores, "gray50"),
                ("proceed", s.proceeds, "blue"),
            ):
                for target, cond in items:
                    label = action if cond.fn is None else f"{action}: {cond.text}"
                    style = "solid" if action == "take" else "dashed"
                    lines.append(
                        f'    "{nfa.name}:{s.id}" -> "{nfa.name}:{target.id}" '
                        f'[label="{_esc(label)}",color={color},style={style}];'
                    )
            for var, cond in s.kills:
                lines.append(
                    f'    "{nfa.name}:kill:{var}" [label="✗ {_esc(var)}",shape=box,color=red];'
                )
                lines.append(
                    f'    "{nfa.name}:{s.id}" -> "{nfa.name}:kill:{var}" '
                    f'[label="kill: {_esc(cond.text)}",color=red];'
                )
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
