"""`gress check` on model declarations: every mismatch is reported at the clause to change."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from gress_cep.dsl import ast
from gress_cep.dsl.errors import Diagnostic, Diagnostics
from gress_cep.dsl.parser import parse
from gress_cep.models import check_model


def check(source: str, base_dir: Path) -> list[Diagnostic]:
    program = parse(source, "rules.gress")
    diag = Diagnostics("rules.gress", source)
    for model in program.of_type(ast.Model):
        check_model(model, base_dir, diag)
    return diag.sorted()


def errors(source: str, base_dir: Path) -> list[Diagnostic]:
    return [d for d in check(source, base_dir) if d.severity == "error"]


def rendered(source: str, base_dir: Path) -> str:
    return "\n".join(d.render("rules.gress", source) for d in check(source, base_dir))


@pytest.mark.parametrize(
    "source",
    [
        'model m = onnx "linear.onnx"\n    inputs (a, b, c)\n',
        'model m = onnx "linear.onnx"\n    inputs (a, b, c)\n    output y[0]\n',
        'model m = onnx "classifier.onnx"\n    inputs (a, b, c)\n    output probabilities[1]\n',
        'model m = onnx "classifier.onnx"\n    inputs (a, b, c)\n    output label\n',
        'model m = onnx "regressor.onnx"\n    inputs (a, b, c)\n',
        'model m = onnx "columns.onnx"\n    inputs (a, b, c)\n',
        'model m = onnx "columns1.onnx"\n    inputs (a, b)\n',
        'model m = onnx "lookup.onnx"\n    inputs (a)\n',
        'model m = onnx "linear.onnx" weight 90, onnx "doubled.onnx" weight 10 split by k\n'
        '    inputs (a, b, c)\n    shadow onnx "tripled.onnx"\n',
    ],
)
def test_a_model_that_fits_its_declaration_passes(models: SimpleNamespace, source: str) -> None:
    assert check(source, models.dir) == []


def test_a_missing_model_file_is_reported_at_its_onnx_clause(models: SimpleNamespace) -> None:
    source = 'model fraud = onnx "nowhere/fraud.onnx"\n    inputs (a, b, c)\n'
    (error,) = errors(source, models.dir)
    assert (error.span.line, error.span.column) == (1, 15)
    assert "nowhere/fraud.onnx" in error.message and "not found" in error.message
    assert error.hint == "model paths are relative to the folder of the pattern file"


def test_a_file_that_is_not_a_model_is_reported_with_the_loader_reason(
    models: SimpleNamespace,
) -> None:
    source = 'model m = onnx "garbage.onnx"\n    inputs (a)\n'
    (error,) = errors(source, models.dir)
    assert error.message.startswith("cannot load model file")
    assert (error.span.line, error.span.column) == (1, 11)


def test_a_wrong_feature_count_is_reported_at_inputs(models: SimpleNamespace) -> None:
    source = 'model m = onnx "linear.onnx"\n    inputs (a, b)\n'
    assert rendered(source, models.dir) == (
        "rules.gress:2:13: error: model 'm': the model takes 3 features "
        "(input X: tensor(float) [N, 3]) but `inputs` lists 2\n"
        "        inputs (a, b)\n"
        "                ^^^^"
    )


def test_a_wrong_count_of_input_tensors_lists_the_model_inputs(models: SimpleNamespace) -> None:
    source = 'model m = onnx "columns.onnx"\n    inputs (a, b)\n'
    (error,) = errors(source, models.dir)
    assert (
        error.message == "model 'm': the model takes 3 input tensors but `inputs` lists 2 features"
    )
    assert error.hint is not None and "f0: tensor(float) [N, 1]" in error.hint
    assert error.span.line == 2


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("strings.onnx", "input 'X' has type tensor(string)"),
        ("fixed.onnx", "input 'X' has a fixed batch size of 1"),
    ],
)
def test_an_input_gress_cannot_feed_is_reported(
    models: SimpleNamespace, model: str, message: str
) -> None:
    found = errors(f'model m = onnx "{model}"\n    inputs (a, b)\n', models.dir)
    assert [e.span.line for e in found if message in e.message] == [2]


def test_an_unknown_output_name_suggests_the_closest(models: SimpleNamespace) -> None:
    source = 'model m = onnx "classifier.onnx"\n    inputs (a, b, c)\n    output probability[1]\n'
    (error,) = errors(source, models.dir)
    assert (error.span.line, error.span.column) == (3, 12)
    assert error.message == (
        "model 'm': the model has no output 'probability' (did you mean 'probabilities'?)"
    )
    assert error.hint is not None and "label: tensor(int64) [N]" in error.hint


def test_an_output_column_out_of_range_is_reported(models: SimpleNamespace) -> None:
    source = 'model m = onnx "classifier.onnx"\n    inputs (a, b, c)\n    output probabilities[2]\n'
    (error,) = errors(source, models.dir)
    assert "has 2 columns; [2] is out of range" in error.message
    assert error.span.line == 3


@pytest.mark.parametrize("output", ["", "    output output_probability\n"])
def test_a_zipmap_classifier_is_rejected_with_the_conversion_hint(
    models: SimpleNamespace, output: str
) -> None:
    source = f'model m = onnx "zipmap.onnx"\n    inputs (a, b, c)\n{output}'
    (error,) = errors(source, models.dir)
    assert "output 'output_probability' is a ZipMap" in error.message
    assert error.hint is not None and "options={'zipmap': False}" in error.hint


def test_a_mismatch_of_one_variant_names_its_file(models: SimpleNamespace) -> None:
    source = (
        'model m = onnx "linear.onnx" weight 1, onnx "columns1.onnx" weight 1 split by k\n'
        "    inputs (a, b, c)\n"
    )
    (error,) = errors(source, models.dir)
    assert error.message.startswith("model 'm' (columns1.onnx): the model takes 2 input tensors")


def test_a_shadow_is_checked_like_a_variant(models: SimpleNamespace) -> None:
    source = 'model m = onnx "linear.onnx"\n    inputs (a, b, c)\n    shadow onnx "missing.onnx"\n'
    (error,) = errors(source, models.dir)
    assert error.span.line == 3 and "missing.onnx" in error.message


def test_a_missing_inputs_clause_is_left_to_the_checker(models: SimpleNamespace) -> None:
    # the checker reports "model 'm' has no 'inputs'"; the files have nothing to add
    assert check('model m = onnx "linear.onnx"\n', models.dir) == []


def test_every_problem_of_a_declaration_is_reported_at_once(models: SimpleNamespace) -> None:
    source = 'model m = onnx "classifier.onnx"\n    inputs (a, b)\n    output nope\n'
    assert [d.span.line for d in errors(source, models.dir)] == [2, 3]
