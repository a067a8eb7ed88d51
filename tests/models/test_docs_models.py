"""Promises of docs/models.md not covered elsewhere: `threads`, int tensor inputs, the variant
field as written, wide outputs, model failures in `gress detect`, and `gress score` options."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from gress_cep.cli.main import cli
from gress_cep.dsl import ast
from gress_cep.dsl.errors import Diagnostics
from gress_cep.dsl.parser import parse
from gress_cep.models import check_model
from gress_cep.models.features import Feature
from gress_cep.models.scorer import Scorer
from gress_cep.models.session import OnnxModel
from gress_cep.operators.score import ScoreOperator

from . import model_files as mf


def declaration(source: str) -> ast.Model:
    (model,) = parse(source).of_type(ast.Model)
    return model


def score_one(path: Path, features: list[str], record: dict) -> Any:
    model = OnnxModel.load(path, path.name, len(features), None, None)
    scorer = Scorer("m", [Feature.field(f) for f in features], [model])
    ((_, out),) = ScoreOperator(scorer, "risk").process([(1, record)], now=0.0)
    return out["risk"]


def three_columns(path: Path) -> Path:
    """X [N, 2] -> y [N, 3] with y = (x0, x1, x0 + x1): an output no default column fits."""
    w = numpy_helper.from_array(np.array([[1, 0, 1], [0, 1, 1]], dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "w"], ["y"])],
        "three",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
        [w],
    )
    return mf.save(helper.make_model(graph, opset_imports=mf.OPSET), path)


def test_threads_sets_the_intra_op_threads_of_every_model_file(models: SimpleNamespace) -> None:
    model = declaration(
        'model m = onnx "linear.onnx" weight 1, onnx "doubled.onnx" weight 1 split by k\n'
        "    inputs (a, b, c)\n"
        "    threads 3\n"
        '    shadow onnx "tripled.onnx"\n'
    )
    scorer = ScoreOperator.from_ast(model, "risk", models.dir).scorer
    sessions = [m.session for m in [*scorer.variants, *scorer.shadows]]
    assert len(sessions) == 3
    assert [s.get_session_options().intra_op_num_threads for s in sessions] == [3, 3, 3]


def test_without_threads_a_model_runs_on_one_thread(models: SimpleNamespace) -> None:
    model = declaration('model m = onnx "linear.onnx"\n    inputs (a, b, c)\n')
    (loaded,) = ScoreOperator.from_ast(model, "risk", models.dir).scorer.variants
    assert loaded.session.get_session_options().intra_op_num_threads == 1


def test_gress_score_threads_sets_the_intra_op_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[int] = []
    real = ort.InferenceSession

    def recording(path: str, options: ort.SessionOptions, **kwargs: Any) -> Any:
        created.append(options.intra_op_num_threads)
        return real(path, options, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", recording)
    model = mf.linear(tmp_path / "fresh.onnx", [1.0, 2.0, 3.0])  # no cached session for it
    (tmp_path / "in.jsonl").write_text('{"a": 1, "b": 1, "c": 1}\n')
    result = CliRunner().invoke(
        cli, ["score", str(model), "-i", str(tmp_path / "in.jsonl"), "--features", "a,b,c",
              "--threads", "2", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert created == [2]


@pytest.mark.parametrize(("value", "fed"), [(2.9, 2), (-2.9, -2), (7, 7), ("3.5", 3)])
def test_a_value_for_an_int_tensor_is_truncated_toward_zero(
    models: SimpleNamespace, value: object, fed: int
) -> None:
    # columns1.onnx: f0 float32, f1 int64, both [N]; score = f0 + 2 * f1
    assert score_one(models.columns_rank1, ["a", "b"], {"a": 0.0, "b": value}) == 2 * fed


def test_int32_inputs_are_fed(tmp_path: Path) -> None:
    path = mf.per_column(tmp_path / "int32.onnx", [TensorProto.INT32, TensorProto.DOUBLE])
    # score = f0 + 2 * f1, f0 an int32 [N, 1]
    assert score_one(path, ["a", "b"], {"a": -1.5, "b": 0.25}) == -1 + 0.5


def test_the_variant_field_is_the_model_path_as_written_in_the_declaration(tmp_path: Path) -> None:
    mf.linear(tmp_path / "models" / "fraud.onnx", [1.0])
    model = declaration('model fraud = onnx "models/fraud.onnx"\n    inputs (a)\n')
    op = ScoreOperator.from_ast(model, "risk", tmp_path)
    ((_, out),) = op.process([(1, {"a": 2.0})], now=0.0)
    assert (out["risk"], out["risk_model"]) == (2.0, "models/fraud.onnx")


def test_an_output_with_more_than_two_columns_needs_a_column(tmp_path: Path) -> None:
    three_columns(tmp_path / "three.onnx")
    source = 'model m = onnx "three.onnx"\n    inputs (a, b)\n'
    diagnostics = Diagnostics("rules.gress", source)
    check_model(declaration(source), tmp_path, diagnostics)
    (error,) = diagnostics.sorted()
    assert "has several columns; say which one holds the score" in error.message
    assert error.hint == "write `output y[COLUMN]`"


def test_output_name_col_picks_the_score_column(tmp_path: Path) -> None:
    three_columns(tmp_path / "three.onnx")
    model = declaration('model m = onnx "three.onnx"\n    inputs (a, b)\n    output y[2]\n')
    op = ScoreOperator.from_ast(model, "risk", tmp_path)
    ((_, out),) = op.process([(1, {"a": 1.5, "b": 2.0})], now=0.0)
    assert out["risk"] == 3.5


DETECT_RULES = """stream events
    key k
    time ts

model m = onnx "lookup.onnx"
    inputs (x)
    batch 2

view scored = events | score m as risk

pattern every
    from scored
    match e
    emit k, e.risk as risk
"""


def test_records_of_a_failed_inference_in_detect_go_to_the_dead_letter_file(
    tmp_path: Path,
) -> None:
    mf.lookup(tmp_path / "lookup.onnx", [0.1, 0.2, 0.3])  # x outside 0..2: the call fails
    (tmp_path / "rules.gress").write_text(DETECT_RULES)
    events = [{"k": f"k{i}", "ts": 1000 + i, "x": x} for i, x in enumerate([0, 1, 2, 10])]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    result = CliRunner().invoke(
        cli, ["detect", str(tmp_path / "rules.gress"), "-i", str(tmp_path / "events.jsonl"),
              "-o", str(tmp_path / "out.jsonl"), "--dead-letter", str(tmp_path / "dead.jsonl"),
              "--checkpoint-interval", "off", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    scored = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [m["k"] for m in scored] == ["k0", "k1"]  # the batch [2, 10] failed
    dead = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert [d["record"] for d in dead] == [events[2], events[3]]
    assert all(d["origin"] == "score m" for d in dead)
    assert all(d["reason"].startswith("model m (lookup.onnx): ") for d in dead)


def test_gress_score_rejects_a_zipmap_classifier_with_the_conversion_hint(
    models: SimpleNamespace, tmp_path: Path
) -> None:
    (tmp_path / "in.jsonl").write_text('{"a": 1, "b": 1, "c": 1}\n')
    result = CliRunner().invoke(
        cli, ["score", str(models.zipmap), "-i", str(tmp_path / "in.jsonl"),
              "--features", "a,b,c"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "is a ZipMap (a list of dictionaries), not a tensor" in result.stderr
    assert "options={'zipmap': False}" in result.stderr


def test_gress_score_reads_and_writes_the_format_named_by_format(
    models: SimpleNamespace, tmp_path: Path
) -> None:
    (tmp_path / "in.txt").write_text("a,b,c\n1,1,1\n0,0,2\n")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        cli, ["score", str(models.linear), "-i", str(tmp_path / "in.txt"), "--format", "csv",
              "--features", "a,b,c", "-o", str(out), "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == ["a,b,c,score", "1,1,1,6.5", "0,0,2,6.5"]
