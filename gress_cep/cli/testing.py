"""`gress test FILE.gress [TEST.toml ...]`: run the test cases written beside a pattern file.

The cases live in TOML files (`FILE.test.toml`, `FILE.tests/*.toml`; docs/testing.md); each
runs the file's patterns on its inline input, in memory, as `gress detect` would, and its
expected records are compared with what came out (gress_cep.authoring.verdict). Output is
pytest's: a line per case, a readable difference for each failure, then the counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gress_cep.api import compile as compile_program
from gress_cep.authoring.cases import checked_test_files, find_test_files
from gress_cep.authoring.junit import CaseReport, SuiteReport, write_junit
from gress_cep.authoring.verdict import Mismatch, Outcome, agrees, as_json, run_case
from gress_cep.errors import UserError


@click.command("test")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("tests", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-k",
    "keywords",
    multiple=True,
    metavar="WORD",
    help="Run only the cases whose name contains WORD (any case; repeatable: any of them).",
)
@click.option(
    "--junit",
    "junit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the results as JUnit XML to this path (for CI systems).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only failures and errors.")
def command(
    file: Path, tests: tuple[Path, ...], keywords: tuple[str, ...], junit: Path | None, quiet: bool
) -> None:
    """Run the test cases of FILE.gress: FILE.test.toml and FILE.tests/*.toml beside it, or
    the TESTS given.

    Exit status 0 when every case passes, 1 otherwise (a failed case, a test file with
    mistakes).

    \b
    Example:
      gress test examples/fraud/fraud.gress
      gress test rules.gress more_cases.toml -k card --junit results.xml
    """
    program = compile_program(file)
    paths = list(tests) or find_test_files(file)
    if not paths:
        raise UserError(
            f"no tests for {file}",
            hint=f"write them in {file.with_name(file.name.removesuffix('.gress') + '.test.toml')} "
            "(docs/testing.md shows how), or name a test file after the pattern file",
        )
    for path in paths:
        if junit is not None and path.resolve() == junit.resolve():
            raise UserError(f"--junit {junit} is one of the test files: it would be overwritten")
    suites: list[SuiteReport] = []
    passed = failed = errors = 0
    for test_file in checked_test_files(program.tree, paths):
        suite = SuiteReport(test_file.name, test_file.path.stem, [])
        suites.append(suite)
        if test_file.problems:
            text = test_file.render()
            click.echo(click.style(f"ERROR {test_file.name}", fg="red", bold=True), err=True)
            click.echo(text, err=True)
            suite.error = text
            errors += 1
            continue
        for case in test_file.cases:
            if keywords and not any(k.lower() in case.name.lower() for k in keywords):
                continue
            outcome = run_case(program, case)
            where = f"{test_file.name}:{case.line}"
            if outcome.passed:
                passed += 1
                if not quiet:
                    click.echo(f"{click.style('PASS', fg='green', bold=True)} {case.name}")
                    for note in outcome.notes:  # a dead letter is seldom what a case meant
                        click.echo(f"    note: {note}")
                suite.cases.append(CaseReport(case.name, outcome.seconds))
                continue
            text = _failure_text(outcome, where)
            summary = _summary(outcome)
            if outcome.error is not None:
                errors += 1
                suite.cases.append(CaseReport(case.name, outcome.seconds, summary, error=text))
            else:
                failed += 1
                suite.cases.append(CaseReport(case.name, outcome.seconds, summary, failure=text))
            click.echo(f"{click.style('FAIL', fg='red', bold=True)} {case.name}")
            click.echo(text)
    if junit is not None:
        write_junit(junit, suites)
    if not quiet or failed or errors:
        counts = [f"{passed} passed", f"{failed} failed"]
        if errors:
            counts.append(f"{errors} error{'s' if errors != 1 else ''}")
        if keywords and not (passed or failed or errors):
            counts.append(f"no case matches -k {' -k '.join(keywords)}")
        click.echo(", ".join(counts))
    if failed or errors:
        raise click.exceptions.Exit(1)


def _summary(outcome: Outcome) -> str:
    """One line: what went wrong (a JUnit failure's message)."""
    if outcome.error is not None:
        return "the case did not run: " + outcome.error.splitlines()[0]
    return "; ".join(
        f"{m.output}: {len(m.missing)} missing, {len(m.unexpected)} unexpected"
        for m in outcome.mismatches
    )


def _failure_text(outcome: Outcome, where: str) -> str:
    lines = [f"    {where}"]
    if outcome.error is not None:
        lines.append(f"    the case did not run: {outcome.error}")
    for mismatch in outcome.mismatches:
        lines += _mismatch_lines(mismatch)
    if outcome.notes:
        lines.append("    while it ran:")
        lines += [f"      {note}" for note in outcome.notes]
    return "\n".join(lines)


def _mismatch_lines(mismatch: Mismatch) -> list[str]:
    lines = [f"    {mismatch.output}:"]
    for expected in mismatch.missing:
        lines.append(f"      missing    {_show(expected)}")
        nearest = _nearest(expected, mismatch.unexpected)
        if nearest is not None:
            for name, (want, got) in _differences(expected, nearest).items():
                lines.append(f"        {name}: expected {_show(want)}, got {_show(got)}")
    for record in mismatch.unexpected:
        lines.append(f"      unexpected {_show(record)}")
    return lines


def _nearest(expected: dict[str, Any], candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The output record that agrees with most of the fields `expected` names (a near miss
    says more than a list), if any agrees with one."""
    best, score = None, 0
    for candidate in candidates:
        agreeing = sum(
            name in candidate and agrees(value, candidate[name]) for name, value in expected.items()
        )
        if agreeing > score:
            best, score = candidate, agreeing
    return best


def _differences(expected: dict[str, Any], got: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    missing = object()
    out = {}
    for name, value in expected.items():
        actual = got.get(name, missing)
        if actual is missing:
            out[name] = (value, "(no such field)")
        elif not agrees(value, actual):
            out[name] = (value, actual)
    return out


def _show(value: Any) -> str:
    if isinstance(value, str) and value == "(no such field)":
        return value
    return as_json(value)
