"""`gress check FILE.gress`: parse and check a pattern file, report every problem at once."""

from __future__ import annotations

from pathlib import Path

import click

from gress_cep.dsl import ast, diagnose, read_source
from gress_cep.dsl.errors import Diagnostic

_COLOR = {"error": "red", "warning": "yellow"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(program: ast.Program) -> str:
    """`2 streams, 1 model, 3 views, 2 patterns`."""
    counts = (
        (ast.Stream, "stream"),
        (ast.Model, "model"),
        (ast.View, "view"),
        (ast.Pattern, "pattern"),
    )
    return ", ".join(_plural(len(program.of_type(kind)), word) for kind, word in counts)


def _show(d: Diagnostic, filename: str, source: str) -> None:
    first, _, rest = d.render(filename, source).partition("\n")
    click.echo(click.style(first, fg=_COLOR[d.severity], bold=True))
    if rest:
        click.echo(rest)


@click.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def command(file: Path) -> None:
    """Parse and check FILE.gress: every error and warning, with line, column and a hint.

    Exit status 0 when the file has no errors (warnings do not fail the check), 1 otherwise.

    \b
    Example:
      gress check examples/fraud/fraud.gress
    """
    source = read_source(file)
    name = str(file)
    program, diagnostics = diagnose(source, name, base_dir=file.parent)
    for d in diagnostics:
        _show(d, name, source)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    if errors:
        counts = _plural(errors, "error") + (
            f", {_plural(warnings, 'warning')}" if warnings else ""
        )
        click.echo(f"{name}: {counts}")
        raise click.exceptions.Exit(1)
    assert program is not None
    note = f" ({_plural(warnings, 'warning')})" if warnings else ""
    click.echo(f"{name}: {summary(program)}: ok{note}")
