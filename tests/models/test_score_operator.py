"""The `score` view operator: scores, micro-batching, order, A/B, shadows, failures, state."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnxruntime as ort
import pytest

from gress_cep.connectors.base import DeadLetter
from gress_cep.dsl import ast
from gress_cep.dsl.parser import parse
from gress_cep.errors import UserError
from gress_cep.models.features import Feature
from gress_cep.models.fields import score_fields
from gress_cep.models.routing import Router
from gress_cep.models.scorer import Scorer
from gress_cep.models.session import OnnxModel
from gress_cep.operators.score import ScoreOperator
from gress_cep.state.backend import WriteBatch
from gress_cep.state.memory import MemoryBackend
from gress_cep.state.operator_state import StateRegistry

ABC = [Feature.field("a"), Feature.field("b"), Feature.field("c")]


def rows(n: int, start_ts: int = 1000, keys: int = 5) -> list[tuple[int, dict]]:
    rng = np.random.default_rng(n)
    return [
        (
            start_ts + i,
            {
                "k": f"card-{i % keys}",
                "a": float(rng.normal()),
                "b": float(rng.normal()),
                "c": int(rng.integers(0, 3)),
                "i": i,
            },
        )
        for i in range(n)
    ]


def model(path: Path, n_features: int = 3, output: str | None = None) -> OnnxModel:
    return OnnxModel.load(path, path.name, n_features, output, None)


def operator(path: Path, features: list[Feature] = ABC, **options) -> ScoreOperator:
    return ScoreOperator(Scorer("m", features, [model(path, len(features))]), "risk", **options)


def direct(path: Path, matrix: np.ndarray, output: str, column: int | None) -> list[float]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    result = session.run([output], {name: matrix.astype(np.float32)})[0]
    return (result[:, column] if column is not None else result).tolist()


@pytest.mark.parametrize(
    ("name", "output", "column"),
    [("classifier", "probabilities", 1), ("regressor", "variable", 0), ("linear", "y", 0)],
)
def test_scores_equal_a_direct_onnxruntime_call(
    models: SimpleNamespace, name: str, output: str, column: int
) -> None:
    path = getattr(models, name)
    batch = rows(50)
    out = operator(path).process(batch, now=0.0)
    matrix = np.array([[r["a"], r["b"], r["c"]] for _, r in batch])
    assert [r["risk"] for _, r in out] == direct(path, matrix, output, column)


def test_one_tensor_per_feature_is_fed_in_each_tensors_type(models: SimpleNamespace) -> None:
    # columns.onnx: f0 float32, f1 int64, f2 float64 of shape [N, 1]; score = f0 + 2 f1 + 3 f2
    out = operator(models.columns).process([(1, {"a": 1.5, "b": 2, "c": 0.25})], now=0.0)
    assert out[0][1]["risk"] == 1.5 + 4 + 0.75


def test_rank_one_inputs_are_fed_as_vectors(models: SimpleNamespace) -> None:
    op = operator(models.columns_rank1, ABC[:2])
    assert op.process([(1, {"a": 1.0, "b": 3})], now=0.0)[0][1]["risk"] == 7.0


def test_the_output_record_is_a_copy_with_the_score_and_the_variant(
    models: SimpleNamespace,
) -> None:
    record = {"a": 1.0, "b": 1.0, "c": 1.0, "note": "x"}
    ((ts, out),) = operator(models.linear).process([(7, record)], now=0.0)
    assert ts == 7
    assert out == {**record, "risk": 6.5, "risk_model": "linear.onnx"}
    assert "risk" not in record  # the input record is left alone


def test_rows_wait_until_the_batch_is_full(models: SimpleNamespace) -> None:
    op = operator(models.linear, batch=4, delay_ms=1000)
    assert op.process(rows(3), now=0.0) == []
    out = op.process(rows(2, start_ts=2000), now=0.1)
    assert [t for t, _ in out] == [1000, 1001, 1002, 2000]
    assert op.stats[0].batches == 1 and op.stats[0].rows == 4


def test_a_large_input_batch_is_scored_in_batch_sized_inference_calls(
    models: SimpleNamespace,
) -> None:
    op = operator(models.linear, batch=4, delay_ms=1000)
    out = op.process(rows(10), now=0.0)
    assert len(out) == 8 and op.stats[0].batches == 2
    assert op.held_watermark() == 1008


def test_waiting_rows_are_scored_when_the_delay_expires(models: SimpleNamespace) -> None:
    op = operator(models.linear, batch=100, delay_ms=5)
    assert op.process(rows(3), now=10.0) == []
    assert op.deadline() == pytest.approx(10.005)
    assert op.on_timer(now=10.004) == []
    out = op.on_timer(now=10.005)
    assert [t for t, _ in out] == [1000, 1001, 1002]
    assert op.deadline() is None and op.held_watermark() is None


def test_the_delay_counts_from_the_oldest_waiting_row(models: SimpleNamespace) -> None:
    op = operator(models.linear, batch=100, delay_ms=5)
    op.process(rows(1), now=10.0)
    assert op.process(rows(1, start_ts=2000), now=10.004) == []
    assert len(op.process(rows(1, start_ts=3000), now=10.006)) == 3


def test_without_a_delay_every_input_batch_is_scored_at_once(models: SimpleNamespace) -> None:
    op = operator(models.linear, batch=4)
    assert len(op.process(rows(6), now=0.0)) == 6
    assert op.stats[0].batches == 2 and op.held_watermark() is None


def test_flush_scores_everything_waiting(models: SimpleNamespace) -> None:
    op = operator(models.linear, batch=4, delay_ms=60_000)
    op.process(rows(6), now=0.0)
    assert [r["i"] for _, r in op.finish()] == [4, 5]
    assert op.finish() == []


def test_the_held_watermark_is_the_earliest_waiting_event_time(models: SimpleNamespace) -> None:
    op = operator(models.linear, batch=10, delay_ms=1000)
    op.process([(5000, {"a": 1, "b": 1, "c": 1}), (4000, {"a": 1, "b": 1, "c": 1})], now=0.0)
    assert op.held_watermark() == 4000


def test_records_leave_in_arrival_order_across_keys_variants_and_null_features(
    models: SimpleNamespace,
) -> None:
    scorer = Scorer("m", ABC, [model(models.linear), model(models.doubled)], Router("k", [1, 1]))
    op = ScoreOperator(scorer, "risk", batch=7, delay_ms=1000)
    batch = rows(40, keys=9)
    for i in (3, 11, 12):
        del batch[i][1]["b"]
    out = op.process(batch[:25], now=0.0) + op.process(batch[25:], now=0.1) + op.finish()
    assert [r["i"] for _, r in out] == list(range(40))
    assert {r["risk_model"] for _, r in out} == {"linear.onnx", "doubled.onnx", None}


def test_a_row_with_a_missing_feature_gets_a_null_score_and_goes_on(
    models: SimpleNamespace,
) -> None:
    dead: list[DeadLetter] = []
    op = operator(models.linear, dead_letter=dead.append)
    out = op.process([(1, {"a": 1, "b": None, "c": 1}), (2, {"a": 1, "b": 1, "c": 1})], 0.0)
    assert [(r["risk"], r["risk_model"]) for _, r in out] == [(None, None), (6.5, "linear.onnx")]
    assert dead == [] and op.scorer.incomplete_rows == 1


def test_a_key_is_scored_by_the_same_variant_in_two_operators(models: SimpleNamespace) -> None:
    def ab() -> ScoreOperator:
        scorer = Scorer(
            "m", ABC, [model(models.linear), model(models.doubled)], Router("k", [90, 10])
        )
        return ScoreOperator(scorer, "risk")

    batch = rows(300, keys=60)
    first = {r["k"]: r["risk_model"] for _, r in ab().process(batch, 0.0)}
    second = ab().process(list(reversed(batch)), 0.0)
    assert all(first[r["k"]] == r["risk_model"] for _, r in second)
    assert set(first.values()) == {"linear.onnx", "doubled.onnx"}


def test_each_variant_scores_with_its_own_model(models: SimpleNamespace) -> None:
    scorer = Scorer("m", ABC, [model(models.linear), model(models.doubled)], Router("k", [1, 1]))
    for _, r in ScoreOperator(scorer, "risk").process(rows(60, keys=20), 0.0):
        base = r["a"] + 2 * r["b"] + 3 * r["c"]
        expected = base + 0.5 if r["risk_model"] == "linear.onnx" else 2 * base + 1.0
        assert r["risk"] == pytest.approx(expected, rel=1e-5)


def test_a_shadow_scores_every_row_beside_the_primary(models: SimpleNamespace) -> None:
    scorer = Scorer("m", ABC, [model(models.linear)], shadows=[model(models.tripled)])
    out = ScoreOperator(scorer, "risk").process(rows(20), 0.0)
    for _, r in out:
        assert r["risk_shadow"] == pytest.approx(3 * r["risk"], rel=1e-5)
        assert r["risk_model"] == "linear.onnx"
    assert [s.role for s in scorer.stats] == ["primary", "shadow"]
    assert scorer.stats[1].rows == 20


def test_several_shadows_get_numbered_fields(models: SimpleNamespace) -> None:
    shadows = [model(models.doubled), model(models.tripled)]
    scorer = Scorer("m", ABC, [model(models.linear)], shadows=shadows)
    ((_, r),) = ScoreOperator(scorer, "risk").process([(1, {"a": 1, "b": 0, "c": 0})], 0.0)
    assert (r["risk"], r["risk_shadow"], r["risk_shadow_2"]) == (1.5, 3.0, 4.5)


def test_a_failing_shadow_leaves_its_field_null_and_the_stream_untouched(
    models: SimpleNamespace,
) -> None:
    dead: list[DeadLetter] = []
    scorer = Scorer(
        "m", [Feature.field("x")], [model(models.regressor_1, 1)], shadows=[model(models.lookup, 1)]
    )
    out = ScoreOperator(scorer, "risk", dead_letter=dead.append).process(
        [(1, {"x": 1.0}), (2, {"x": 10.0})], 0.0
    )
    assert [r["risk_shadow"] for _, r in out] == [None, None]
    assert [r["risk"] for _, r in out] == [2.0, 11.0]
    assert dead == [] and scorer.shadow_stats[0].failed_rows == 2


def test_a_failing_inference_sends_its_batch_to_dead_letters_and_goes_on(
    models: SimpleNamespace,
) -> None:
    dead: list[DeadLetter] = []
    op = operator(models.lookup, [Feature.field("x")], batch=2, dead_letter=dead.append)
    batch = [(i, {"x": x}) for i, x in enumerate([0, 1, 2, 10, 1, 0])]
    out = op.process(batch, now=0.0)
    assert [r["x"] for _, r in out] == [0, 1, 1, 0]  # the batch [2, 10] failed
    assert [d.record for d in dead] == [{"x": 2}, {"x": 10}]
    assert dead[0].reason.startswith("model m (lookup.onnx): ")
    assert "indices" in dead[0].reason.lower()
    assert dead[0].origin == "score m"
    assert op.dead_letters == 2 and op.stats[0].failed_rows == 2


def test_only_the_failing_variant_dead_letters_its_rows(models: SimpleNamespace) -> None:
    dead: list[DeadLetter] = []
    scorer = Scorer(
        "m",
        [Feature.field("x")],
        [model(models.lookup, 1), model(models.regressor_1, 1)],
        Router("k", [1, 1]),
    )
    batch = [(i, {"k": f"key-{i}", "x": 10.0}) for i in range(40)]
    out = ScoreOperator(scorer, "risk", dead_letter=dead.append).process(batch, 0.0)
    assert {r["risk_model"] for _, r in out} == {"regressor_1.onnx"}
    assert len(out) + len(dead) == 40 and dead


def test_waiting_rows_survive_a_checkpoint_and_restore(models: SimpleNamespace) -> None:
    backend = MemoryBackend()
    first = StateRegistry(backend)
    op = operator(models.linear, batch=10, delay_ms=60_000)
    op.open(first.context("view:v/0:score", "view v"))
    op.process(rows(3), now=0.0)
    batch = WriteBatch()
    first.snapshot_into(batch)
    backend.write(batch)
    # a restart: a new operator, its state restored by the runtime
    second = StateRegistry(backend)
    restored = operator(models.linear, batch=10, delay_ms=60_000)
    restored.open(second.context("view:v/0:score", "view v"))
    assert second.restore() == []
    assert restored.held_watermark() == 1000
    out = restored.on_timer(now=0.0)  # restored rows have waited already
    assert [r["i"] for _, r in out] == [0, 1, 2]


def test_latency_percentiles_are_reported_per_variant(models: SimpleNamespace) -> None:
    op = operator(models.linear, batch=5)
    op.process(rows(50), now=0.0)
    summary = op.stats[0].as_dict()
    assert summary["rows"] == 50 and summary["batches"] == 10
    assert 0 < summary["p50_ms"] <= summary["p99_ms"]


def test_the_operator_is_built_from_its_declaration(models: SimpleNamespace) -> None:
    source = (
        'model fraud = onnx "linear.onnx" weight 3, onnx "doubled.onnx" weight 1 split by k\n'
        "    inputs (a, b, c)\n"
        "    output y[0]\n"
        "    batch 16 delay 5ms\n"
        '    shadow onnx "tripled.onnx"\n'
        "view scored = payments | score fraud as risk\n"
    )
    program = parse(source)
    (decl,) = program.of_type(ast.Model)
    (view,) = program.of_type(ast.View)
    score_op = view.ops[0]
    assert isinstance(score_op, ast.ScoreOp)
    op = ScoreOperator.from_ast(decl, score_op.alias.text, models.dir)
    assert (op.batch, op.delay, op.alias) == (16, 0.005, "risk")
    out = op.process(rows(20), now=0.0)
    assert len(out) == 16
    assert {"risk", "risk_model", "risk_shadow"} <= set(out[0][1])


def test_a_model_without_features_is_told_what_the_file_takes(models: SimpleNamespace) -> None:
    with pytest.raises(UserError) as caught:
        model(models.linear, n_features=0)
    assert "no `inputs (...)` clause" in caught.value.message
    assert caught.value.hint is not None and "X: tensor(float) [N, 3]" in caught.value.hint


def test_variants_without_split_by_cannot_run(models: SimpleNamespace) -> None:
    source = 'model m = onnx "linear.onnx", onnx "doubled.onnx"\n    inputs (a, b, c)\n'
    (decl,) = parse(source).of_type(ast.Model)
    with pytest.raises(UserError, match="several variants but no `split by FIELD`"):
        ScoreOperator.from_ast(decl, "risk", models.dir)


def test_the_fields_told_to_the_checker_are_the_fields_the_operator_adds(
    models: SimpleNamespace,
) -> None:
    shadows = [model(models.doubled), model(models.tripled)]
    scorer = Scorer("m", ABC, [model(models.linear)], shadows=shadows)
    ((_, out),) = ScoreOperator(scorer, "risk").process([(1, {"a": 1, "b": 0, "c": 0})], 0.0)
    assert set(out) - {"a", "b", "c"} == set(score_fields("risk", shadows=2))
