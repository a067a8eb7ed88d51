"""`gress explain`: the compiled plan — each view's operators, each pattern's automaton (states,
edges, conditions, window, skip)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson
from rich.tree import Tree

from gress_cep.cli.console import console
from gress_cep.dsl import ast, load_file
from gress_cep.dsl.errors import check_names
from gress_cep.dsl.source_text import SourceText
from gress_cep.nfa.compiler import compile_pattern
from gress_cep.nfa.describe import describe, skip_text, to_dot
from gress_cep.nfa.model import Nfa
from gress_cep.runtime.durations import format_duration


@click.command("explain")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pattern", "patterns", multiple=True, help="Only these patterns (repeatable).")
@click.option("--view", "views", multiple=True, help="Only these views (repeatable).")
@click.option("--dot", "as_dot", is_flag=True, help="Write Graphviz DOT instead of a tree.")
@click.option("--json", "as_json", is_flag=True, help="Write the plan as JSON.")
@click.option(
    "--trace-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Read a trace (gress detect --trace VALUE --trace-output PATH) against the automaton: "
    "per state, the conditions tried and how often they failed, and why there was no match.",
)
def command(
    file: Path,
    patterns: tuple[str, ...],
    views: tuple[str, ...],
    as_dot: bool,
    as_json: bool,
    trace_file: Path | None,
) -> None:
    """Show each view's operators and the automaton each pattern compiles to.

    \b
    Each state lists its edges: take (bind the event to the variable), ignore (skip it),
    proceed (move on without an event), kill (a forbidden event ends the partial match),
    with the condition each edge needs.

    \b
    Examples:
      gress explain examples/fraud/fraud.gress
      gress explain rules.gress --dot | dot -Tsvg > rules.svg
      gress explain rules.gress --json | jq '.[0].states'
      gress explain rules.gress --trace-file trace.jsonl --pattern card_testing
    """
    program, _ = load_file(file)
    all_patterns = program.of_type(ast.Pattern)
    all_views = program.of_type(ast.View)
    check_names("pattern", patterns, [p.name.text for p in all_patterns], file)
    check_names("view", views, [v.name.text for v in all_views], file)
    everything = not patterns and not views
    nfas = [
        compile_pattern(p, program.source)
        for p in all_patterns
        if everything or p.name.text in patterns
    ]
    chosen = [v for v in all_views if everything or v.name.text in views]
    text = SourceText(program.source)
    if trace_file is not None:
        _trace(trace_file, nfas, set(patterns), as_dot or as_json)
        return
    if as_dot:
        sys.stdout.write(to_dot(nfas))
    elif as_json:
        plan = [describe(n) for n in nfas]
        if views:  # only when asked: the JSON of patterns alone stays a list of automata
            plan += [_view_json(v, text) for v in chosen]
        sys.stdout.buffer.write(orjson.dumps(plan, option=orjson.OPT_INDENT_2))
        sys.stdout.write("\n")
    else:
        for view in chosen:
            console.print(_view_tree(view, text))
        for nfa in nfas:
            console.print(_tree(nfa))


def _trace(path: Path, nfas: list[Nfa], patterns: set[str], other_format: bool) -> None:
    """The trace's steps counted per pattern and key, against the automata (trace_report)."""
    from gress_cep.cli.trace_report import analyse, read_trace, render
    from gress_cep.errors import UserError

    if other_format:
        raise UserError(
            "--trace-file is shown as a tree: it takes neither --dot nor --json",
            hint="the trace file itself is JSON Lines (jq reads it)",
        )
    analyses = analyse(read_trace(path), patterns or None)
    if not analyses:
        which = f" of pattern {', '.join(sorted(patterns))}" if patterns else ""
        raise UserError(f"--trace-file {path}: no step{which} in it")
    by_name = {n.name: n for n in nfas}
    for analysis in analyses:
        console.print(render(analysis, by_name.get(analysis.pattern)))


def _view_source(view: ast.View, text: SourceText) -> str:
    if isinstance(view.source, ast.SourceRef):
        return view.source.name.text
    return " ".join(text.text(view.source.span).split())


def _view_tree(view: ast.View, text: SourceText) -> Tree:
    root = Tree(f"[bold]view {view.name.text}[/]  (from {_plain(_view_source(view, text))})")
    source = _source_meaning(view.source, text)
    if source:
        root.add(f"[dim]{_plain(source)}[/]")
    for op in view.ops:
        node = root.add(_plain(" ".join(text.text(op.span).split())))
        if isinstance(op, ast.LookupOp):
            node.add(
                f"[dim]each record waits until {op.table.text}'s watermark passes its time, "
                f"then gets the {op.table.text} row whose key is its {op.on.text}, as it was "
                "at that time (no row: null fields)[/]"
            )
    return root


def _source_meaning(
    source: ast.SourceRef | ast.JoinSource | ast.UnionSource, text: SourceText
) -> str:
    """What a join or a union does, in words (docs/language.md §4)."""
    if isinstance(source, ast.UnionSource):
        names = ", ".join(n.text for n in source.inputs)
        return f"the records of {names}, each once; a field one of them lacks is null"
    if not isinstance(source, ast.JoinSource):
        return ""
    from gress_cep.dsl.joins import join_keys

    a, b = source.left.alias.text, source.right.alias.text
    keys = " and ".join(
        f"{' '.join(text.text(k.left.span).split())} == {' '.join(text.text(k.right.span).split())}"
        for k in join_keys(source)
    )
    out = (
        f"pairs {{{a}, {b}}} with {keys} at most {source.within.text} apart for which the "
        "condition holds, each when its second record comes"
    )
    if source.kind == "left":
        out += (
            f"; each {a} record without a partner once the watermark passes its time + "
            f"{source.within.text}, with {b} null"
        )
    return out


def _view_json(view: ast.View, text: SourceText) -> dict[str, object]:
    return {
        "view": view.name.text,
        "from": _view_source(view, text),
        "operators": [" ".join(text.text(op.span).split()) for op in view.ops],
    }


def _tree(nfa: Nfa) -> Tree:
    window = (
        f"within {format_duration(nfa.within_ms)}" if nfa.within_ms is not None else "no window"
    )
    root = Tree(f"[bold]pattern {nfa.name}[/]  ({window}, {skip_text(nfa)})")
    for state in nfa.states:
        start = state is nfa.start
        kind: str = "start: a partial match may begin at every event" if start else state.kind
        if state.window_ms:
            kind += f", at most {format_duration(state.window_ms)} after the previous event"
        node = root.add(f"[cyan]state {state.id}[/] {_plain(state.label)} [dim]({kind})[/]")
        for action, items in (
            ("take", state.takes),
            ("ignore", state.ignores),
            ("proceed", state.proceeds),
        ):
            if start and action == "ignore":
                continue  # the start state never skips: it stays and waits for the next event
            for target, cond in items:
                when = "" if cond.fn is None else f" if {_plain(cond.text)}"
                node.add(f"[green]{action}[/] -> state {target.id} {_plain(target.label)}{when}")
        for var, cond in state.kills:
            node.add(f"[red]kill[/] (!{var}) if {_plain(cond.text)}")
    return root


def _plain(text: str) -> str:
    return text.replace("[", "\\[")
