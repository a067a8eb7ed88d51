"""Issue 11 C.11: an output that is an input (under any name: `./x`, a symlink, a hard link),
the pattern file or a model file, and two outputs on one file, are refused before anything is
opened — the input keeps every byte and nothing is written."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from gress_cep.cli.main import cli

RULES = """stream events
    key card
    time ts

pattern big
    from events
    match a
    where a: amount > 100
"""


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.gress").write_text(RULES)
    with open(tmp_path / "events.jsonl", "w") as fh:
        for i in range(50):
            fh.write(json.dumps({"card": f"c{i % 3}", "ts": i * 1000, "amount": i * 10}) + "\n")
    os.symlink("events.jsonl", tmp_path / "link.jsonl")
    os.link(tmp_path / "events.jsonl", tmp_path / "hard.jsonl")
    (tmp_path / "sub").mkdir()
    return tmp_path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def detect(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["detect", "rules.gress", "-i", "events.jsonl", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "events.jsonl"], "-o events.jsonl is the input events.jsonl: writing it"),
        (["-o", "./events.jsonl"], "-o ./events.jsonl is the input events.jsonl: writing it"),
        (["-o", "sub/../events.jsonl"], "is the input events.jsonl: writing it would destroy"),
        (["-o", "link.jsonl"], "-o link.jsonl is the input events.jsonl (another name for it)"),
        (["-o", "hard.jsonl"], "-o hard.jsonl is the input events.jsonl (another name for it)"),
        (["--late", "events.jsonl"], "--late events.jsonl is the input events.jsonl"),
        (["--dead-letter", "hard.jsonl"], "--dead-letter hard.jsonl is the input"),
        (["--timeouts", "link.jsonl"], "--timeouts link.jsonl is the input"),
        (
            ["-o", "rules.gress", "--output-format", "jsonl"],
            "-o rules.gress is the pattern file rules.gress",
        ),
    ],
)
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(
    job: Path, args: list[str], message: str
) -> None:
    before = {name: digest(job / name) for name in ("events.jsonl", "rules.gress")}
    for checkpoints in (["--checkpoint-interval", "off"], []):
        code, output = detect(*args, *checkpoints)
        assert code == 1
        assert message in output, output
        assert "hint: write the output to another file" in output
        assert {name: digest(job / name) for name in before} == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "out.jsonl", "--late", "out.jsonl"], "--late out.jsonl is the same file as -o"),
        (
            ["-o", "out.jsonl", "--dead-letter", "x.jsonl", "--timeouts", "./x.jsonl"],
            "--timeouts ./x.jsonl is the same file as --dead-letter x.jsonl",
        ),
        (["-o", "o.jsonl", "--late", "sub/../o.jsonl"], "is the same file as -o o.jsonl"),
    ],
)
def test_two_outputs_on_one_file_are_refused_before_anything_is_written(
    job: Path, args: list[str], message: str
) -> None:
    (job / "x.jsonl").write_text("kept\n")
    code, output = detect(*args)
    assert code == 1
    assert message in output and "two outputs would overwrite each other" in output
    assert not (job / "out.jsonl").exists() and not (job / "o.jsonl").exists()
    assert (job / "x.jsonl").read_text() == "kept\n"


def test_an_existing_output_linked_to_another_output_is_refused(job: Path) -> None:
    (job / "out.jsonl").write_text("old\n")
    os.symlink("out.jsonl", job / "alias.jsonl")
    code, output = detect("-o", "out.jsonl", "--late", "alias.jsonl")
    assert code == 1 and "--late alias.jsonl is the same file as -o out.jsonl" in output
    assert (job / "out.jsonl").read_text() == "old\n"


def test_stdout_and_dev_null_may_take_any_number_of_outputs(job: Path) -> None:
    code, output = detect("-o", os.devnull, "--late", os.devnull, "--dead-letter", os.devnull)
    assert code == 0, output
    code, output = detect("-o", "-", "--late", "-")
    assert code == 0, output


def test_a_model_file_is_not_an_output(job: Path) -> None:
    (job / "m.onnx").write_bytes(b"not really a model")
    (job / "scored.gress").write_text(
        "stream events\n    key card\n    time ts\n\n"
        'model m = onnx "m.onnx"\n    inputs (amount)\n\n'
        "view scored = events | score m as risk\n"
    )
    from gress_cep.connectors import ConnectorConfig
    from gress_cep.dsl import ast, load
    from gress_cep.errors import UserError
    from gress_cep.runtime.job import JobSpec, Outputs, check_files

    program, _ = load((job / "scored.gress").read_text(), "scored.gress")
    assert program.of_type(ast.Model)
    spec = JobSpec(
        file=Path("scored.gress"),
        inputs=[("events", "events.jsonl")],
        outputs=Outputs("m.onnx"),
        config=ConnectorConfig(),
    )
    with pytest.raises(UserError, match=r"-o m\.onnx is the model file m\.onnx"):
        check_files(spec, program)


def test_an_output_topic_that_is_an_input_topic_is_refused(job: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["detect", "rules.gress", "-i", "kafka:events", "-o", "kafka:events",
         "--bootstrap-servers", "127.0.0.1:1"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "-o kafka:events is also an input (the input kafka:events)" in result.output
    assert "would read its own output" in result.output
