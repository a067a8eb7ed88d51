"""docs/language.md §3.8 stays true: its tables of what each skip strategy gives are run
against the engine, row by row, in the order the docs list the matches."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.docs_tables import found

TEXT = (Path(__file__).parents[2] / "docs" / "language.md").read_text()
SECTION = TEXT[TEXT.index("### 3.8 After-match skip") : TEXT.index("### 3.9 Output")]
EXAMPLE = re.findall(r"```gress\n(.*?)```", SECTION, re.DOTALL)[0]
EVENTS = re.search(r"over the events `([^`]+)`", SECTION).group(1)  # type: ignore[union-attr]
TABLE_HEADER = "| clause | matches, in the order they come out | why |"


def table_rows() -> list[tuple[str, list[str]]]:
    """(skip clause, matches) for each row of the example's table."""
    rows = []
    for line in SECTION[SECTION.index(TABLE_HEADER) :].splitlines()[2:]:
        if not line.startswith("|"):
            break
        clause, matches = (cell.strip() for cell in line.split("|")[1:3])
        rows.append((clause.strip("`"), re.findall(r"`([^`]+)`", matches)))
    return rows


def sentence_rows() -> tuple[str, str, list[tuple[str, list[str]]]]:
    """The sentence after the table: its pattern, its events, and what each clause gives."""
    sentence = re.search(r"And `([^`]+)` over `([^`]+)`[^:]*:(.*?)\n\n", SECTION, re.DOTALL)
    assert sentence is not None, "the sentence on `a -> b+` is gone"
    match, events, rest = sentence.groups()
    rows = []
    for part in rest.split(";"):
        quoted = re.findall(r"`([^`]+)`", part)
        clauses = [q for q in quoted if q.startswith("skip ")]
        found = [q for q in quoted if not q.startswith("skip ")]
        rows += [(clause, found) for clause in clauses]
    return match, events, rows


def events_of(notation: str) -> list[dict[str, Any]]:
    """`b1 b2 c`: one event per word, its kind the word's letters, one second apart."""
    return [
        {"id": word, "kind": word.rstrip("0123456789"), "ts": i * 1000}
        for i, word in enumerate(notation.split())
    ]


def run(source: str, events: str) -> list[str]:
    """The matches of the one pattern in `source`, each as its events' ids in time order."""
    return found(source, events_of(events))


def with_skip(source: str, clause: str) -> str:
    return re.sub(r"^(\s+)skip .*$", rf"\g<1>{clause}", source, count=1, flags=re.MULTILINE)


def test_the_tables_are_found() -> None:
    assert [clause for clause, _ in table_rows()] == [
        "skip no",
        "skip to next",
        "skip past last",
        "skip to first b",
        "skip to last b",
    ]
    assert len(sentence_rows()[2]) == 3


@pytest.mark.parametrize(("clause", "expected"), table_rows(), ids=lambda v: str(v))
def test_the_example_gives_what_its_table_says(clause: str, expected: list[str]) -> None:
    assert run(with_skip(EXAMPLE, clause), EVENTS) == expected


@pytest.mark.parametrize(("clause", "expected"), sentence_rows()[2], ids=lambda v: str(v))
def test_a_loop_at_the_end_gives_what_the_docs_say(clause: str, expected: list[str]) -> None:
    match, events, _ = sentence_rows()
    variables = sorted(set(re.findall(r"\b([a-z])\b", match)))
    source = "\n".join(
        [
            "stream events",
            "    time ts",
            "pattern loop_at_the_end",
            f"    match {match}",
            "    where",
            *(f'        {v}: kind == "{v}"' for v in variables),
            "    within 1m",
            f"    {clause}",
            "",
        ]
    )
    assert run(source, events) == expected
