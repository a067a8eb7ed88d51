"""`gress explain`: the compiled automaton as a tree, DOT and JSON."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gress_cep.cli.main import cli

RULES = """stream s
    time ts
pattern p
    from s
    match a -> b+ -> !x -> c
    where a: kind == "a"
          b: kind == "b"
          x: kind == "x"
          c: kind == "c"
    within 5m
    skip to last b
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "r.gress"
    path.write_text(RULES)
    return path


def test_the_tree_shows_states_edges_conditions_window_and_skip(rules: Path) -> None:
    result = CliRunner().invoke(cli, ["explain", str(rules)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "pattern p" in out and "within 5m" in out and "skip to last b" in out
    assert "take -> state" in out and 'if kind == "b"' in out
    assert 'kill (!x) if kind == "x"' in out
    assert "proceed" in out and "ignore" in out


def test_json_lists_every_state_with_its_edges(rules: Path) -> None:
    result = CliRunner().invoke(cli, ["explain", str(rules), "--json"])
    [plan] = json.loads(result.output)
    assert plan["pattern"] == "p"
    assert plan["skip"] == "skip to last b"
    assert plan["within_ms"] == 300_000
    kinds = {s["kind"] for s in plan["states"]}
    assert {"start", "final"} <= kinds
    actions = {e["action"] for s in plan["states"] for e in s["edges"]}
    assert actions == {"take", "ignore", "proceed", "kill"}
    ids = {s["id"] for s in plan["states"]}
    assert all(e["to"] in ids for s in plan["states"] for e in s["edges"] if "to" in e)


def test_dot_is_a_graphviz_digraph(rules: Path) -> None:
    result = CliRunner().invoke(cli, ["explain", str(rules), "--dot"])
    assert result.output.startswith("digraph gress {")
    assert result.output.rstrip().endswith("}")
    assert "doublecircle" in result.output  # the final state
    assert 'kill: kind == \\"x\\"' in result.output


def test_a_broken_file_is_reported_not_explained(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gress"
    bad.write_text("stream s\npattern p\n    match a -> \n")
    result = CliRunner().invoke(cli, ["explain", str(bad)])
    assert result.exit_code == 1
    assert "bad.gress:3:" in result.stderr
