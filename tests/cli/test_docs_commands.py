"""What docs/cli.md promises of every command: --help with an example, --version, exit status 2
for usage errors, one line for an internal error and its traceback with --debug, and
`gress explain --pattern`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gress_cep.cli.main import COMMANDS, _version, cli

RULES = """stream s
    key card
    time ts

pattern first
    from s
    match a -> b
    where a: kind == "a"
          b: kind == "b"
    within 1m

pattern second
    from s
    match c
    where c: kind == "c"
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.gress"
    path.write_text(RULES)
    return path


_ARGUMENT = {
    "check": "FILE",
    "explain": "FILE",
    "detect": "FILE",
    "score": "MODEL.onnx",
    "checkpoints": "DIR",
    "savepoint": "DIR",
    "test": "FILE [TESTS]...",
    "diff": "OLD NEW",
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].endswith(f" {command} [OPTIONS] {_ARGUMENT[command]}")
    # an example is a command line a user can copy: `gress COMMAND ...` indented in the text
    examples = [
        line
        for line in result.output.splitlines()
        if line.startswith("  ") and line.strip().startswith(f"gress {command} ")
    ]
    assert examples, result.output


def test_the_command_list_is_the_documented_one() -> None:
    documented = Path(__file__).parents[2] / "docs" / "cli.md"
    block = documented.read_text().split("```\n", 2)[1]
    listed = {line.split()[1] for line in block.splitlines() if line.startswith("gress ")}
    assert listed - {"--version"} == set(COMMANDS)


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"gress, version {_version()}\n"
    assert _version() != "0+unknown"  # the package is installed (pip install -e .)


@pytest.mark.parametrize(
    "args",
    [
        ["detect", "{rules}", "--no-such-option"],
        ["detect", "{rules}", "--format", "xml"],
        ["detect", "{rules}", "--max-partial-matches", "0"],
        ["detect"],
        ["no-such-command"],
    ],
    ids=["unknown-option", "bad-choice", "out-of-range", "missing-argument", "unknown-command"],
)
def test_a_usage_error_exits_with_status_2(rules: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, [a.replace("{rules}", str(rules)) for a in args])
    assert result.exit_code == 2
    assert "Error:" in result.stderr
    assert "Traceback" not in result.output


def _break_the_checker(monkeypatch: pytest.MonkeyPatch) -> None:
    import gress_cep.cli.check

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the checker fell over")

    monkeypatch.setattr(gress_cep.cli.check, "diagnose", broken)


def test_an_internal_error_is_one_message_without_a_traceback(
    rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_the_checker(monkeypatch)
    result = CliRunner().invoke(cli, ["check", str(rules)])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "gress: internal error: RuntimeError: the checker fell over\n"
        "    (run again with --debug for the traceback"
    )
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback_of_an_internal_error(
    rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_the_checker(monkeypatch)
    result = CliRunner().invoke(cli, ["--debug", "check", str(rules)])
    assert isinstance(result.exception, RuntimeError)  # not turned into a message: it propagates
    assert str(result.exception) == "the checker fell over"
    assert "internal error" not in result.output


def test_explain_pattern_shows_only_the_named_pattern(rules: Path) -> None:
    result = CliRunner().invoke(cli, ["explain", str(rules), "--pattern", "second", "--json"])
    assert result.exit_code == 0, result.output
    assert [plan["pattern"] for plan in json.loads(result.output)] == ["second"]


def test_explain_pattern_is_repeatable(rules: Path) -> None:
    result = CliRunner().invoke(
        cli, ["explain", str(rules), "--pattern", "second", "--pattern", "first"]
    )
    assert result.exit_code == 0, result.output
    assert "pattern first" in result.output and "pattern second" in result.output
