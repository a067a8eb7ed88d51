from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from onnx import TensorProto

from . import model_files as mf


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Every test model, built once, in one folder (the folder a pattern file would be in)."""
    d: Path = tmp_path_factory.mktemp("models")
    return SimpleNamespace(
        dir=d,
        linear=mf.linear(d / "linear.onnx", [1.0, 2.0, 3.0], 0.5),
        doubled=mf.linear(d / "doubled.onnx", [2.0, 4.0, 6.0], 1.0),
        tripled=mf.linear(d / "tripled.onnx", [3.0, 6.0, 9.0], 1.5),
        linear_double=mf.linear(d / "linear64.onnx", [1.0, 2.0, 3.0], 0.5, TensorProto.DOUBLE),
        columns=mf.per_column(
            d / "columns.onnx", [TensorProto.FLOAT, TensorProto.INT64, TensorProto.DOUBLE]
        ),
        columns_rank1=mf.per_column(d / "columns1.onnx", [TensorProto.FLOAT, TensorProto.INT64], 1),
        lookup=mf.lookup(d / "lookup.onnx", [0.1, 0.2, 0.3]),
        fixed_batch=mf.fixed_batch(d / "fixed.onnx"),
        strings=mf.string_input(d / "strings.onnx"),
        classifier=mf.sklearn_classifier(d / "classifier.onnx"),
        zipmap=mf.sklearn_classifier(d / "zipmap.onnx", zipmap=True),
        regressor=mf.sklearn_regressor(d / "regressor.onnx"),
        regressor_1=mf.linear(d / "regressor_1.onnx", [1.0], 1.0),
        garbage=_garbage(d / "garbage.onnx"),
    )


def _garbage(path: Path) -> Path:
    path.write_bytes(b"this is not a model")
    return path
