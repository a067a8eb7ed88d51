"""Tiny real ONNX models for the tests, written to files as users would have them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def linear(path: Path, weights: list[float], bias: float = 0.0, dtype: int = TensorProto.FLOAT):
    """score = X @ weights + bias, with X of shape [N, k] and the score of shape [N, 1]."""
    k = len(weights)
    np_type = helper.tensor_dtype_to_np_dtype(dtype)
    w = numpy_helper.from_array(np.array(weights, dtype=np_type).reshape(k, 1), "w")
    b = numpy_helper.from_array(np.array([bias], dtype=np_type), "b")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "w"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["y"]),
        ],
        "linear",
        [helper.make_tensor_value_info("X", dtype, [None, k])],
        [helper.make_tensor_value_info("y", dtype, [None, 1])],
        [w, b],
    )
    return save(helper.make_model(graph, opset_imports=OPSET), path)


def per_column(path: Path, kinds: list[int], rank: int = 2) -> Path:
    """One input tensor per feature (shape [N, 1], or [N] with rank 1); score = sum of
    feature i times (i + 1), as float."""
    shape = [None, 1] if rank == 2 else [None]
    nodes, inputs, terms = [], [], []
    inits = []
    for i, kind in enumerate(kinds):
        name = f"f{i}"
        inputs.append(helper.make_tensor_value_info(name, kind, shape))
        nodes.append(helper.make_node("Cast", [name], [f"c{i}"], to=TensorProto.FLOAT))
        inits.append(numpy_helper.from_array(np.array([i + 1.0], dtype=np.float32), f"m{i}"))
        nodes.append(helper.make_node("Mul", [f"c{i}", f"m{i}"], [f"t{i}"]))
        terms.append(f"t{i}")
    nodes.append(helper.make_node("Sum", terms, ["score"]))
    graph = helper.make_graph(
        nodes,
        "per_column",
        inputs,
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, shape)],
        inits,
    )
    return save(helper.make_model(graph, opset_imports=OPSET), path)


def lookup(path: Path, table: list[float]) -> Path:
    """score = table[int(x)]: an index outside the table makes the inference fail, as a model
    failing on some data does."""
    t = numpy_helper.from_array(np.array(table, dtype=np.float32), "table")
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["X"], ["i"], to=TensorProto.INT64),
            helper.make_node("Gather", ["table", "i"], ["g"]),
            helper.make_node("Squeeze", ["g", "axis"], ["score"]),
        ],
        "lookup",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [None])],
        [t, numpy_helper.from_array(np.array([1], dtype=np.int64), "axis")],
    )
    return save(helper.make_model(graph, opset_imports=OPSET), path)


def fixed_batch(path: Path) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["X"], ["y"])],
        "fixed",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
    )
    return save(helper.make_model(graph, opset_imports=OPSET), path)


def string_input(path: Path) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["X"], ["y"])],
        "strings",
        [helper.make_tensor_value_info("X", TensorProto.STRING, [None, 1])],
        [helper.make_tensor_value_info("y", TensorProto.STRING, [None, 1])],
    )
    return save(helper.make_model(graph, opset_imports=OPSET), path)


def sklearn_classifier(path: Path, n_features: int = 3, zipmap: bool = False, seed: int = 0):
    """A logistic regression trained on random data, converted with skl2onnx."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, n_features)).astype(np.float32)
    y = (x @ np.arange(1, n_features + 1) > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    onx = to_onnx(
        model,
        initial_types=[("X", FloatTensorType([None, n_features]))],
        options={id(model): {"zipmap": zipmap}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(onx.SerializeToString())
    return path


def sklearn_regressor(path: Path, n_features: int = 3, seed: int = 0) -> Path:
    """A linear regression converted with skl2onnx (output `variable`, shape [N, 1])."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(100, n_features)).astype(np.float32)
    model = LinearRegression().fit(x, x @ np.arange(1, n_features + 1))
    onx = to_onnx(
        model, initial_types=[("X", FloatTensorType([None, n_features]))], target_opset=17
    )
    path.write_bytes(onx.SerializeToString())
    return path
