"""`gress score MODEL.onnx -i SOURCE --features EXPR,...`: batch scoring of a file."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnxruntime as ort
import pytest
from click.testing import CliRunner, Result

from gress_cep.cli.main import cli
from gress_cep.cli.score import split_features

Gress = Callable[..., Result]


@pytest.fixture
def gress() -> Gress:
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, [str(a) for a in args])


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def read_jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


RECORDS = [{"id": i, "a": i * 0.5, "b": 2.0 - i, "c": i % 3} for i in range(1200)]


def test_a_file_is_scored_as_a_direct_onnxruntime_call_would(
    gress: Gress, models: SimpleNamespace, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", RECORDS)
    out = tmp_path / "out.jsonl"
    result = gress("score", models.classifier, "-i", source, "--features", "a,b,c", "-o", out)
    assert result.exit_code == 0, result.output
    scored = read_jsonl(out.read_text())
    session = ort.InferenceSession(str(models.classifier), providers=["CPUExecutionProvider"])
    x = np.array([[r["a"], r["b"], r["c"]] for r in RECORDS], dtype=np.float32)
    expected = session.run(["probabilities"], {"X": x})[0][:, 1].tolist()
    assert [r["score"] for r in scored] == expected
    assert [{k: v for k, v in r.items() if k != "score"} for r in scored] == RECORDS


def test_records_go_to_stdout_and_the_summary_to_stderr(
    gress: Gress, models: SimpleNamespace, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", RECORDS[:10])
    result = gress("score", models.linear, "-i", source, "--features", "a, b, c", "--batch", 4)
    assert result.exit_code == 0
    assert [r["score"] for r in read_jsonl(result.stdout)] == [
        pytest.approx(r["a"] + 2 * r["b"] + 3 * r["c"] + 0.5) for r in RECORDS[:10]
    ]
    assert "10 rows read" in result.stderr
    # the model's row: 10 rows, 3 batches, 0 failed, then the latency percentiles
    row = r"linear\W+\S+linear\.onnx\W+primary\W+10\W+3\W+0\W+\d+\.\d\d\W+\d+\.\d\d"
    assert re.search(row, result.stderr)


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("amount,hour(ts),merchant_risk", ["amount", "hour(ts)", "merchant_risk"]),
        ("a, max(b, c)", ["a", " max(b, c)"]),
        ('contains(m, ","), x', ['contains(m, ",")', " x"]),
        ('lower("a\\",b"), x', ['lower("a\\",b")', " x"]),
        ("`odd,name`, [1, 2]", ["`odd,name`", " [1, 2]"]),
    ],
)
def test_features_split_at_top_level_commas_only(text: str, pieces: list[str]) -> None:
    assert [piece for _, piece in split_features(text)] == pieces


def test_feature_expressions_are_computed_per_record(
    gress: Gress, models: SimpleNamespace, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"a": 1, "b": -4, "c": 2}])
    result = gress("score", models.linear, "-i", source, "--features", "a * 2, max(b, 0), c")
    assert read_jsonl(result.stdout)[0]["score"] == 2 + 0 + 6 + 0.5


def test_the_score_field_and_the_model_output_can_be_chosen(
    gress: Gress, models: SimpleNamespace, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", RECORDS[:20])
    result = gress(
        "score", models.classifier, "-i", source, "--features", "a,b,c",
        "--model-output", "label", "--as", "predicted",
    )  # fmt: skip
    labels = [r["predicted"] for r in read_jsonl(result.stdout)]
    assert set(labels) <= {0, 1} and len(labels) == 20


def test_a_record_with_a_missing_feature_gets_a_null_score(
    gress: Gress, models: SimpleNamespace, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"a": 1, "b": 1, "c": 1}, {"a": 1, "c": 1}])
    result = gress("score", models.linear, "-i", source, "--features", "a,b,c")
    assert [r["score"] for r in read_jsonl(result.stdout)] == [6.5, None]
    assert "1 rows had a missing, non-numeric or non-finite feature" in result.stderr


def test_rows_whose_inference_fails_go_to_the_dead_letter_output(
    gress: Gress, models: SimpleNamespace, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"x": 0}, {"x": 1}, {"x": 10}, {"x": 2}])
    dead = tmp_path / "dead.jsonl"
    result = gress(
        "score", models.lookup, "-i", source, "--features", "x", "--batch", 2,
        "--dead-letter", dead,
    )  # fmt: skip
    assert result.exit_code == 0
    assert [r["x"] for r in read_jsonl(result.stdout)] == [0, 1]
    letters = read_jsonl(dead.read_text())
    assert [letter["record"] for letter in letters] == [{"x": 10}, {"x": 2}]
    assert letters[0]["reason"].startswith("model lookup (")
    assert "2 rows could not be read or scored" in result.stderr


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ("a, b +", "--features:1:7: error: "),
        (
            "a, hour2(b), c",
            "--features:1:4: error: unknown function 'hour2' (did you mean 'hour'?)",
        ),
        ("a,,c", "an empty feature at column 3"),
        (
            "a, b",
            "the model takes 3 features (input X: tensor(float) [N, 3]) but --features lists 2",
        ),
    ],
)
def test_bad_features_are_one_clear_error(
    gress: Gress, models: SimpleNamespace, tmp_path: Path, features: str, message: str
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", RECORDS[:1])
    result = gress("score", models.linear, "-i", source, "--features", features)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.onnx", "-i", "IN"], "model file 'missing.onnx' not found"),
        (["MODEL", "-i", "nowhere.jsonl"], "input nowhere.jsonl does not exist"),
        (["MODEL", "-i", "kafka:payments"], "gress score reads files or stdin"),
        (["MODEL", "-i", "IN", "--model-output", "y[x]"], "expected NAME or NAME[COLUMN]"),
        (["MODEL", "-i", "IN", "--model-output", "nope"], "the model has no output 'nope'"),
    ],
)
def test_bad_arguments_are_one_clear_error(
    gress: Gress, models: SimpleNamespace, tmp_path: Path, args: list[str], message: str
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", RECORDS[:1])
    values = {"MODEL": str(models.linear), "IN": str(source)}
    result = gress("score", *[values.get(a, a) for a in args], "--features", "a,b,c")
    assert result.exit_code == 1
    assert message in result.stderr
