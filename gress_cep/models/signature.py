"""What an ONNX model takes and gives, and how a model declaration's features and output bind
to it.

`gress check` and the runtime both go through `bind_inputs` and `bind_output`: a model that the
checker accepts is exactly a model that the score operator can feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from gress_cep.dsl.errors import did_you_mean

# the tensor element types gress can feed as features and read as scores
NUMERIC_TYPES: dict[str, type[np.generic]] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}

ZIPMAP_HINT = (
    "convert the classifier without ZipMap so that probabilities come as a tensor: "
    "skl2onnx.to_onnx(model, X, options={'zipmap': False})"
)

Dim = int | str | None  # a fixed size, a symbolic name ("N"), or unknown


@dataclass(slots=True, frozen=True)
class TensorInfo:
    """One input or output of a model, as onnxruntime describes it."""

    name: str
    type: str  # "tensor(float)", "seq(map(int64,tensor(float)))", ...
    shape: tuple[Dim, ...] | None  # None: rank unknown

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def is_zipmap(self) -> bool:
        return self.type.startswith("seq(map(")

    @property
    def shape_text(self) -> str:
        return "?" if self.shape is None else "[" + ", ".join(_dim(d) for d in self.shape) + "]"

    def describe(self) -> str:
        return f"{self.name}: {self.type} {self.shape_text}"


def _dim(d: Dim) -> str:
    return "N" if d is None else str(d)


def _fixed(d: Dim) -> int | None:
    return d if isinstance(d, int) and d >= 0 else None


@dataclass(slots=True, frozen=True)
class Signature:
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]

    @classmethod
    def of(cls, session: Any) -> Signature:
        """The signature of an onnxruntime InferenceSession."""
        return cls(
            tuple(_info(a) for a in session.get_inputs()),
            tuple(_info(a) for a in session.get_outputs()),
        )


def _info(arg: Any) -> TensorInfo:
    shape = arg.shape
    return TensorInfo(arg.name, arg.type, None if shape is None else tuple(shape))


class Mismatch(Exception):
    """The model file does not fit its declaration. `part` says which clause to point at."""

    def __init__(self, part: Literal["inputs", "output"], message: str, hint: str | None = None):
        super().__init__(message)
        self.part = part
        self.message = message
        self.hint = hint


@dataclass(slots=True, frozen=True)
class InputBinding:
    """How the feature matrix [N, k] feeds the model.

    `matrix`: one tensor [N, k] takes every feature. `columns`: k tensors, one feature each,
    of shape [N, 1] (rank 2) or [N] (rank 1).
    """

    layout: Literal["matrix", "columns"]
    names: tuple[str, ...]
    dtypes: tuple[type[np.generic], ...]
    ranks: tuple[int, ...]


@dataclass(slots=True, frozen=True)
class OutputBinding:
    """Which output tensor holds the score, and which column of it (None for a 1-D output)."""

    name: str
    column: int | None


def _listing(tensors: tuple[TensorInfo, ...]) -> str:
    return "; ".join(t.describe() for t in tensors)


def _check_batch_dim(t: TensorInfo) -> None:
    assert t.shape is not None
    size = _fixed(t.shape[0]) if t.shape else None
    if size is not None:
        raise Mismatch(
            "inputs",
            f"input '{t.name}' has a fixed batch size of {size}; gress scores rows in batches",
            hint="export the model with a dynamic first dimension, e.g. "
            "FloatTensorType([None, k]) in skl2onnx",
        )


def bind_inputs(signature: Signature, n_features: int, listed_by: str = "`inputs`") -> InputBinding:
    """Match `n_features` feature expressions to the model's inputs (raise Mismatch).
    `listed_by` names where the features come from, for messages."""
    inputs = signature.inputs
    if n_features == 0:
        raise Mismatch(
            "inputs",
            "the model declaration has no `inputs (...)` clause",
            hint=f"list one feature expression per model input ({_listing(inputs)})",
        )
    for t in inputs:
        if not t.numeric:
            raise Mismatch(
                "inputs",
                f"input '{t.name}' has type {t.type}; features can only feed "
                "float, double, int64 or int32 tensors",
            )
        if t.shape is None or len(t.shape) not in (1, 2):
            raise Mismatch(
                "inputs",
                f"input '{t.name}' has shape {t.shape_text}; gress feeds a "
                "batch of rows: [N, k] for all features or [N, 1] per feature",
            )
        _check_batch_dim(t)
    dtypes = tuple(NUMERIC_TYPES[t.type] for t in inputs)
    ranks = tuple(len(t.shape or ()) for t in inputs)
    names = tuple(t.name for t in inputs)

    if len(inputs) == 1:
        (t,) = inputs
        assert t.shape is not None
        width = _fixed(t.shape[1]) if len(t.shape) == 2 else 1
        if width is not None and width != n_features:
            raise Mismatch(
                "inputs",
                f"the model takes {width} feature{'s' if width != 1 else ''} "
                f"(input {t.describe()}) but {listed_by} lists {n_features}",
            )
        if len(t.shape) == 1:
            return InputBinding("columns", names, dtypes, ranks)
        return InputBinding("matrix", names, dtypes, ranks)

    if len(inputs) != n_features:
        raise Mismatch(
            "inputs",
            f"the model takes {len(inputs)} input tensors but {listed_by} lists {n_features} "
            f"feature{'s' if n_features != 1 else ''}",
            hint=f"the model's inputs, in order: {_listing(inputs)}",
        )
    for t in inputs:
        assert t.shape is not None
        if len(t.shape) == 2 and _fixed(t.shape[1]) not in (None, 1):
            raise Mismatch(
                "inputs",
                f"input {t.describe()} takes several values per row; with several input "
                "tensors each one takes one feature, shape [N, 1] or [N]",
            )
    return InputBinding("columns", names, dtypes, ranks)


def default_column(n_columns: int) -> int | None:
    """The score column when the declaration names none: the only column, or column 1 of a
    binary classifier's two probabilities (the positive class). None when it is ambiguous."""
    return {1: 0, 2: 1}.get(n_columns)


def bind_output(signature: Signature, name: str | None, column: int | None) -> OutputBinding:
    """Find the score output: the named one, else the model's last output (a classifier's
    probabilities come after its label in skl2onnx models). Raise Mismatch."""
    outputs = signature.outputs
    by_name = {t.name: t for t in outputs}
    if name is not None and name not in by_name:
        raise Mismatch(
            "output",
            f"the model has no output '{name}'{did_you_mean(name, by_name) or ''}",
            hint=f"its outputs: {_listing(outputs)}",
        )
    t = by_name[name] if name is not None else outputs[-1]
    if t.is_zipmap:
        raise Mismatch(
            "output",
            f"output '{t.name}' is a ZipMap (a list of dictionaries), not a tensor",
            hint=ZIPMAP_HINT,
        )
    if not t.numeric:
        raise Mismatch(
            "output",
            f"output '{t.name}' has type {t.type}; a score must be a number tensor",
            hint=f"its outputs: {_listing(outputs)}",
        )
    if t.shape is None:  # rank unknown until run time
        return OutputBinding(t.name, column)
    if len(t.shape) == 1:
        if column not in (None, 0):
            raise Mismatch("output", f"output {t.describe()} has one value per row: no [{column}]")
        return OutputBinding(t.name, None)
    if len(t.shape) != 2:
        raise Mismatch(
            "output", f"output {t.describe()} is not a per-row value or a row of columns"
        )
    width = _fixed(t.shape[1])
    if column is None:
        column = default_column(width) if width is not None else None
        if column is None:
            raise Mismatch(
                "output",
                f"output {t.describe()} has several columns; say which one holds the score",
                hint=f"write `output {t.name}[COLUMN]`",
            )
    elif width is not None and column >= width:
        raise Mismatch(
            "output",
            f"output {t.describe()} has {width} column{'s' if width != 1 else ''}; "
            f"[{column}] is out of range",
            hint=f"columns are numbered from 0 to {width - 1}",
        )
    return OutputBinding(t.name, column)
