"""Feature values the model's input type cannot hold: a null score, counted, and no numpy
RuntimeWarning on the terminal (docs/models.md, "Inputs the model can have")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from gress_cep.models.features import Feature
from gress_cep.models.scorer import Scorer
from gress_cep.models.session import OnnxModel

ABC = [Feature.field("a"), Feature.field("b"), Feature.field("c")]


def scorer(path: Path, features: list[Feature] = ABC) -> Scorer:
    model = OnnxModel.load(path, path.name, len(features), None, None)
    return Scorer("m", features, [model])


def test_a_value_too_large_for_a_float32_input_gets_a_null_score(models: SimpleNamespace) -> None:
    s = scorer(models.linear)  # float32 input
    result = s.score([{"a": 1e39, "b": 1, "c": 1}, {"a": 1, "b": 1, "c": 1}])
    assert result.scores == [None, 6.5]
    assert s.incomplete_rows == 1


def test_a_value_beyond_int64_gets_a_null_score(models: SimpleNamespace) -> None:
    two = [Feature.field("a"), Feature.field("b")]
    s = scorer(models.columns_rank1, two)  # inputs: float32, int64
    result = s.score([{"a": 1, "b": 1e19}, {"a": 1, "b": 2}])
    assert result.scores == [None, 5.0]
    assert s.incomplete_rows == 1


def test_an_infinite_feature_gets_a_null_score(models: SimpleNamespace) -> None:
    s = scorer(models.linear_double)  # a double input holds 1e308, but not infinity
    result = s.score([{"a": float("inf"), "b": 1, "c": 1}, {"a": 1e308, "b": 0, "c": 0}])
    assert result.scores == [None, 1e308 + 0.5]
    assert s.incomplete_rows == 1


def test_a_shadow_does_not_see_rows_its_input_type_cannot_hold(models: SimpleNamespace) -> None:
    primary = OnnxModel.load(models.linear_double, "p", 3, None, None)
    shadow = OnnxModel.load(models.linear, "s", 3, None, None)  # float32
    s = Scorer("m", ABC, [primary], shadows=[shadow])
    result = s.score([{"a": 1e39, "b": 0, "c": 0}])
    assert result.scores == [1e39 + 0.5]
    assert result.shadows == [[None]]


def test_gress_score_prints_no_numpy_warning_for_an_overflowing_feature(
    models: SimpleNamespace, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"a": 1e39, "b": 1, "c": 1}) + "\n")
    command = [sys.executable, "-m", "gress_cep.cli.main", "score", str(models.linear)]
    proc = subprocess.run(
        [*command, "-i", str(source), "--features", "a,b,c", "-o", str(tmp_path / "out.jsonl")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "default"},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "RuntimeWarning" not in proc.stderr
    assert "1 rows had a missing, non-numeric or non-finite feature" in proc.stderr
    assert json.loads((tmp_path / "out.jsonl").read_text())["score"] is None


def test_gress_score_quiet_prints_no_summary(models: SimpleNamespace, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gress_cep.cli.main import cli

    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"a": 1, "b": 1, "c": 1}) + "\n")
    args = ["score", str(models.linear), "-i", str(source), "--features", "a,b,c", "-q"]
    result = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
