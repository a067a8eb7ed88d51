"""Loading ONNX models into onnxruntime and running them on a feature matrix.

Sessions run on the CPU provider with a fixed, small thread budget: the stream pipeline owns
the machine, and a scoring call that grabs every core to save microseconds on a 512-row batch
slows everything around it. `threads N` in a model declaration raises the intra-op budget.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from gress_cep.errors import UserError
from gress_cep.models.signature import (
    InputBinding,
    Mismatch,
    OutputBinding,
    Signature,
    bind_inputs,
    bind_output,
    default_column,
)


class ModelLoadError(UserError):
    """A model file that is missing or that onnxruntime cannot load."""


# (resolved path, mtime, size, threads) -> session: views and checks that use the same file share it
_SESSIONS: dict[tuple[str, int, int, int], ort.InferenceSession] = {}


def load_session(path: Path, threads: int | None = None) -> ort.InferenceSession:
    """An onnxruntime session for `path` (cached while the file is unchanged)."""
    try:
        stat = path.stat()
    except OSError as exc:
        reason = (
            "not found" if isinstance(exc, FileNotFoundError) else f"unreadable: {exc.strerror}"
        )
        raise ModelLoadError(f"model file '{path}' {reason}") from exc
    if not path.is_file():
        raise ModelLoadError(f"model file '{path}' is not a file")
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, threads or 1)
    session = _SESSIONS.get(key)
    if session is None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 4  # fatal only: gress reports failed calls itself
        try:
            session = ort.InferenceSession(
                os.fspath(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own pybind exception types
            raise ModelLoadError(
                f"cannot load model file '{path}': {error_text(exc)}",
                hint="is it an ONNX model file (.onnx) written by skl2onnx, torch.onnx or tf2onnx?",
            ) from exc
        _SESSIONS[key] = session
    return session


def error_text(exc: BaseException) -> str:
    """The first line of an error: onnxruntime messages run on with graph dumps."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(slots=True)
class OnnxModel:
    """A loaded model bound to a declaration: feature matrix in, one score per row out."""

    label: str  # the path as written in the declaration: what the variant field shows
    session: ort.InferenceSession
    inputs: InputBinding
    output: OutputBinding

    @classmethod
    def load(
        cls,
        path: Path,
        label: str,
        n_features: int,
        output: str | None,
        column: int | None,
        threads: int | None = None,
        listed_by: str = "`inputs`",
    ) -> OnnxModel:
        """Load and bind; a model that does not fit raises UserError with the reason.
        `listed_by` names where the features come from (`inputs`, --features)."""
        session = load_session(path, threads)
        signature = Signature.of(session)
        try:
            return cls(
                label,
                session,
                bind_inputs(signature, n_features, listed_by),
                bind_output(signature, output, column),
            )
        except Mismatch as exc:
            raise UserError(f"model {label}: {exc.message}", exc.hint) from exc

    def fits(self, matrix: np.ndarray) -> np.ndarray | None:
        """Which rows of a matrix of finite values its input tensors can hold (1e39 does not fit
        a float32, 1e19 not an int64); None when every row fits."""
        b = self.inputs
        dtypes = b.dtypes * matrix.shape[1] if b.layout == "matrix" else b.dtypes
        ok: np.ndarray | None = None
        for j, dtype in enumerate(dtypes[: matrix.shape[1]]):
            kind = np.dtype(dtype)
            column = matrix[:, j]
            if kind.kind == "f":
                fit = np.abs(column) <= np.finfo(kind).max
            elif kind.kind in "iu":
                limits = np.iinfo(kind)
                # values are truncated toward zero: anything short of max + 1 fits
                fit = (column > float(limits.min) - 1) & (column < float(limits.max) + 1)
            else:
                continue
            if not fit.all():
                ok = fit if ok is None else ok & fit
        return ok

    def feeds(self, matrix: np.ndarray) -> dict[str, np.ndarray]:
        """The input tensors for a float matrix [N, k] of complete rows."""
        b = self.inputs
        if b.layout == "matrix":
            return {b.names[0]: matrix.astype(b.dtypes[0], copy=False)}
        out = {}
        for j, (name, dtype, rank) in enumerate(zip(b.names, b.dtypes, b.ranks, strict=True)):
            column = matrix[:, j : j + 1] if rank == 2 else matrix[:, j]
            out[name] = np.ascontiguousarray(column, dtype=dtype)
        return out

    def run(self, matrix: np.ndarray) -> list[Any]:
        """One score per row of `matrix`, as Python numbers."""
        (result,) = self.session.run([self.output.name], self.feeds(matrix))
        result = np.asarray(result)
        if result.ndim == 2:
            column = self.output.column
            if column is None:
                column = default_column(result.shape[1])
            if column is None:
                raise ValueError(
                    f"output '{self.output.name}' has {result.shape[1]} columns; "
                    "the declaration must say which one (output NAME[COLUMN])"
                )
            result = result[:, column]
        if result.ndim != 1 or len(result) != len(matrix):
            raise ValueError(
                f"output '{self.output.name}' has shape {list(result.shape)} for "
                f"{len(matrix)} rows; expected one score per row"
            )
        return result.tolist()
