"""docs/language.md stays true: its examples check, its lists match the grammar and the
function table."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from gress_cep.dsl import diagnose, functions

from .checking import not_yet_runnable

DOCS = Path(__file__).parents[2] / "docs" / "language.md"
TEXT = DOCS.read_text()
EXAMPLES = re.findall(r"```gress\n(.*?)```", TEXT, re.DOTALL)


def table_after(header: str) -> list[str]:
    """The rows of the markdown table whose header line starts with `header`."""
    start = TEXT.index(header)
    rows = []
    for line in TEXT[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_the_docs_have_many_examples() -> None:
    assert len(EXAMPLES) >= 20


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[f"example {i + 1}" for i in range(len(EXAMPLES))]
)
def test_every_example_checks_without_errors_or_warnings(example: str) -> None:
    """(but the warning that a join or lookup view cannot run yet: §4 shows them)"""
    _, diagnostics = diagnose(example, "example.gress")
    shown = [d for d in diagnostics if not not_yet_runnable(d.message)]
    assert [d.render("example.gress", example) for d in shown] == []


def test_the_function_table_lists_every_scalar_function() -> None:
    rows = table_after("| function | arguments | result |")
    documented = {name for row in rows for name in re.findall(r"`(\w+)\(", row.split("|")[1])}
    assert documented == set(functions.SCALARS) | set(functions.SCALAR_MINMAX)


def test_the_aggregate_table_lists_every_pattern_aggregate() -> None:
    rows = table_after("| aggregate | argument | result |")
    documented = [re.match(r"\| `(\w+)\(", row).group(1) for row in rows]  # type: ignore[union-attr]
    assert documented == list(functions.PATTERN_AGGREGATES)


def test_the_window_aggregates_are_listed() -> None:
    line = next(line for line in TEXT.splitlines() if line.startswith("Window aggregates:"))
    paragraph = TEXT[TEXT.index(line) :].split("\n\n")[0]
    documented = set(re.findall(r"`(\w+)\(", paragraph))
    assert documented == set(functions.WINDOW_AGGREGATES)


def test_the_reserved_words_are_the_keywords_of_the_grammar() -> None:
    grammar = resources.files("gress_cep.dsl").joinpath("grammar.lark").read_text()
    keywords = set(re.findall(r'"([A-Za-z_]+)"', grammar))
    section = TEXT[TEXT.index("## Reserved words") :]
    listed = section.split("\n\n")[2]
    assert set(re.findall(r"`(\w+)`", listed)) == keywords
