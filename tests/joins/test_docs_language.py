"""Every view of the docs' examples with a join, a lookup or a union runs as written with
`gress detect --view` (docs/language.md §4, docs/kafka.md's lookup table), over records made
up from the streams' declarations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gress_cep.cli.main import cli
from gress_cep.dsl import ast, load

DOCS = Path(__file__).parents[2] / "docs"
BLOCKS = [
    block
    for doc in ("language.md", "kafka.md")
    for block in re.findall(r"```gress\n(.*?)```", (DOCS / doc).read_text(), re.DOTALL)
    if re.search(r"\b(join|lookup|union)\b", block)
]
START = 1_700_000_000_000
VALUES = {"float": lambda i: 150.0 + i, "int": lambda i: i, "bool": lambda i: i % 2 == 0}


def uses_inputs(view: ast.View) -> bool:
    return not isinstance(view.source, ast.SourceRef) or any(
        isinstance(op, ast.LookupOp) for op in view.ops
    )


def records(stream: ast.Stream, index: int) -> list[dict]:
    """Six records a minute apart, keys k1 and k2 (every string is one of them, so that
    lookups find rows), streams told apart by their other fields."""
    out = []
    for i in range(6):
        record: dict = {}
        if stream.schema is None:
            record = {"amount": 150.0 + i, "country": f"c{index}", "ip": f"10.0.{index}.{i}"}
        for f in stream.schema or ():
            record[f.name.text] = VALUES.get(f.type.text, lambda i: f"k{i % 2 + 1}")(i)
        if stream.key is not None:
            record[stream.key.text] = f"k{i % 2 + 1}"
        if stream.time is not None:
            record[stream.time.text] = START + 60_000 * i + 1_000 * index
        out.append(record)
    return out


CASES = []
for number, block in enumerate(BLOCKS, 1):
    program, _ = load(block)
    for view in program.of_type(ast.View):
        CASES.append(
            pytest.param(block, view.name.text, uses_inputs(view), id=f"{number}-{view.name.text}")
        )


def test_the_docs_show_joins_lookups_and_unions() -> None:
    text = " ".join(BLOCKS)
    for kind in ("left join", "join", "lookup", "union"):
        assert kind in text


@pytest.mark.parametrize(("block", "view", "direct"), CASES)
def test_the_view_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: str, view: str, direct: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("rules.gress").write_text(block)
    program, _ = load(block)
    inputs = []
    for index, stream in enumerate(program.of_type(ast.Stream)):
        path = Path(f"{stream.name.text}.jsonl")
        path.write_text("".join(json.dumps(r) + "\n" for r in records(stream, index)))
        inputs += ["-i", f"{stream.name.text}={path}"]
    result = CliRunner().invoke(
        cli,
        ["detect", "rules.gress", *inputs, "--view", view, "-o", "out.jsonl",
         "--dead-letter", "dead.jsonl", "--checkpoint-interval", "off"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert Path("dead.jsonl").read_text() == ""
    assert "still in flight" not in result.output
    if direct:
        assert Path("out.jsonl").read_text(), "the view gave no record"
