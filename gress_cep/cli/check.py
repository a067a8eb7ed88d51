"""`gress check FILE.gress`: parse and check a pattern file, report every problem at once.

The test files beside FILE (`FILE.test.toml`, `FILE.tests/*.toml`: `gress test`) are checked
too. `--json` prints the diagnostics as one JSON object (editors, CI); `--strict` makes warnings
fail the check; `-q` prints only errors. Exit status: 0 ok, 1 errors (or warnings with
--strict), 2 a usage mistake.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from gress_cep.authoring.cases import checked_test_files, find_test_files
from gress_cep.dsl import ast, diagnose, read_source
from gress_cep.dsl.errors import Diagnostic
from gress_cep.errors import GressError

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


def diagnostic_record(d: Diagnostic, filename: str) -> dict[str, Any]:
    """One diagnostic for `--json`: where (1-based line and column, null when the problem
    has no place in the file), how bad, what, and the hint."""
    span = d.span
    placed = span.line > 0
    return {
        "file": filename,
        "line": span.line if placed else None,
        "col": span.column if placed else None,
        "end_line": span.end_line if placed and span.end_line else None,
        "end_col": span.end_column if placed and span.end_line else None,
        "severity": d.severity,
        "message": d.message,
        "hint": d.hint,
    }


@click.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object on stdout: the diagnostics (file, line, col, severity, "
    "message, hint) and the counts, for editors and CI.",
)
@click.option("--strict", is_flag=True, help="Warnings fail the check too (exit status 1).")
@click.option(
    "-q", "--quiet", is_flag=True, help="Print only errors (no warnings, no summary line)."
)
def command(file: Path, as_json: bool, strict: bool, quiet: bool) -> None:
    """Parse and check FILE.gress: every error and warning, with line, column and a hint.

    Exit status 0 when the file has no errors (warnings do not fail the check unless
    --strict), 1 otherwise; 2 for a usage mistake.

    \b
    Examples:
      gress check examples/fraud/fraud.gress
      gress check rules.gress --strict --json | jq '.diagnostics[]'
    """
    name = str(file)
    try:
        source = read_source(file)
    except GressError as err:
        if not as_json:
            raise
        records = [diagnostic_record(d, name) for d in err.diagnostics] or [_unplaced(err, name)]
        _print_json(name, None, records, strict)
        raise click.exceptions.Exit(1) from None
    program, diagnostics = diagnose(source, name, base_dir=file.parent)
    located = [(d, name, source) for d in diagnostics]  # with the file each one is about
    tests = []
    if program is not None and not any(d.severity == "error" for d in diagnostics):
        # the test cases beside the file (gress test): their names and fields must fit it
        tests = checked_test_files(program, find_test_files(file))
        located += [(d, t.name, t.source) for t in tests for d in t.problems]
    errors = sum(d.severity == "error" for d, _, _ in located)
    warnings = len(located) - errors
    failed = bool(errors or (strict and warnings))
    if as_json:
        records = [diagnostic_record(d, where) for d, where, _ in located]
        _print_json(name, program if not errors else None, records, strict)
        if failed:
            raise click.exceptions.Exit(1)
        return
    for d, where, text in located:
        if not quiet or d.severity == "error" or strict:
            _show(d, where, text)
    if failed:
        counts = [_plural(errors, "error")] if errors else []
        counts += [_plural(warnings, "warning")] if warnings else []
        note = " (--strict: warnings fail)" if strict and warnings else ""
        click.echo(f"{name}: {', '.join(counts)}{note}")
        raise click.exceptions.Exit(1)
    assert program is not None
    if quiet:
        return
    for test_file in tests:
        click.echo(f"{test_file.name}: {_plural(len(test_file.cases), 'test case')}: ok")
    note = f" ({_plural(warnings, 'warning')})" if warnings else ""
    click.echo(f"{name}: {summary(program)}: ok{note}")


def _unplaced(err: GressError, filename: str) -> dict[str, Any]:
    return {
        "file": filename,
        "line": None,
        "col": None,
        "end_line": None,
        "end_col": None,
        "severity": "error",
        "message": err.message,
        "hint": err.hint,
    }


def _print_json(
    filename: str, program: ast.Program | None, records: list[dict[str, Any]], strict: bool
) -> None:
    errors = sum(r["severity"] == "error" for r in records)
    warnings = len(records) - errors
    click.echo(
        json.dumps(
            {
                "file": filename,
                "ok": not errors and not (strict and warnings),
                "errors": errors,
                "warnings": warnings,
                "strict": strict,
                "summary": summary(program) if program is not None else None,
                "diagnostics": records,
            }
        )
    )
