"""Mutated and random text never makes the front end fail with anything but positioned errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gress_cep.cli.main import cli
from gress_cep.dsl import GressError, load

EXAMPLES = sorted((Path(__file__).parent / "examples").rglob("*.gress"))
SOURCES = [p.read_text() for p in EXAMPLES]

# pieces of the language (and of mistakes) to splice into valid files
PIECES = [
    *'()[]{}<>=!?*+-/%|&,.:;`"#\\\n\t ',
    "->",
    "->>",
    "==",
    "!=",
    "<=",
    ">=",
    "=>",
    "&&",
    "||",
    "\n    ",
    "\n|",
    "\n->",
    "\nand ",
    "stream",
    "model",
    "view",
    "pattern",
    "from",
    "partition by",
    "match",
    "where",
    "within",
    "skip to first",
    "skip past last",
    "emit",
    "on timeout emit",
    "key",
    "time",
    "lateness",
    "idle",
    "schema",
    "onnx",
    "inputs",
    "output",
    "batch",
    "delay",
    "shadow",
    "split by",
    "weight",
    "threads",
    "join",
    "left",
    "as",
    "on",
    "select",
    "score",
    "window",
    "tumbling",
    "sliding",
    "every",
    "session gap",
    "count",
    "aggregate",
    "having",
    "lookup",
    "optional",
    "consecutive",
    "any",
    "greedy",
    "until(",
    "between",
    "events",
    "in",
    "is",
    "not",
    "null",
    "true",
    "false",
    "and",
    "or",
    "matches",
    "none",
    "first(",
    "last(",
    "prev(",
    "sum(",
    "avg(",
    "min(",
    "max(",
    "abs(",
    "hour(",
    "a",
    "b",
    "x",
    "amount",
    "a.amount",
    "!x",
    "b{2,}",
    "b{0}",
    "b{3,1}",
    "{1.5}",
    "0s",
    "10m",
    "5sec",
    "1e309",
    "99999999999999999999",
    '"',
    '"abc"',
    '"\\"',
    "`odd name`",
    "`",
    "\u00e9",
    "\u2192",
    "\x00",
]

settings.register_profile("front_end", max_examples=200, deadline=None)


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "duplicate_line"]))
        if kind == "insert":
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)) :]
        elif kind == "replace":
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at + 1 :]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(draw(st.integers(0, len(lines))), lines[i])
            text = "\n".join(lines)
    return text


random_pieces = st.lists(st.sampled_from(PIECES), max_size=40).map(" ".join)
any_text = st.one_of(mutated_example(), random_pieces, st.text(max_size=200))


def assert_only_positioned_errors(text: str) -> None:
    try:
        _, warnings = load(text, "fuzz.gress")
    except GressError as err:
        diagnostics = err.diagnostics
        assert err.errors
        err.render()
    else:
        diagnostics = warnings
    for d in diagnostics:
        assert d.span.line >= 1, d
        assert d.span.column >= 1, d
        d.render("fuzz.gress", text)


@settings(settings.get_profile("front_end"))
@given(mutated_example())
def test_mutated_files_give_positioned_errors_only(text: str) -> None:
    assert_only_positioned_errors(text)


@settings(settings.get_profile("front_end"))
@given(st.one_of(random_pieces, st.text(max_size=200)))
def test_random_text_gives_positioned_errors_only(text: str) -> None:
    assert_only_positioned_errors(text)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(
    settings.get_profile("front_end"), suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(any_text)
def test_gress_check_never_shows_a_traceback(folder: Path, text: str) -> None:
    path = folder / "fuzz.gress"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
