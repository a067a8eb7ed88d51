"""`gress check` for model declarations: the files exist, load, and fit `inputs` and `output`.

Every problem is reported at the clause that has to change: a missing file at its `onnx "..."`,
a feature-count, type or shape mismatch at `inputs`, an unknown output or a ZipMap at `output`.
"""

from __future__ import annotations

from pathlib import Path

from gress_cep.dsl import ast
from gress_cep.dsl.ast import Span
from gress_cep.dsl.errors import Diagnostics
from gress_cep.models.session import ModelLoadError, load_session
from gress_cep.models.signature import Mismatch, Signature, bind_inputs, bind_output


def _inputs_span(model: ast.Model) -> Span:
    first, last = model.inputs[0].span, model.inputs[-1].span
    return Span(first.line, first.column, last.end_line, last.end_column)


def check_model(model: ast.Model, base_dir: Path, diag: Diagnostics) -> None:
    """Record in `diag` every problem of one model declaration's files (paths relative to
    `base_dir`). The declaration's own structure (`split by` with variants, weights, a missing
    `inputs` clause) is the checker's business; this looks at what only the files can tell."""
    name = model.name.text
    files = [*model.variants, *model.shadows]
    several = len(files) > 1
    for variant in files:
        try:
            session = load_session(base_dir / variant.path, model.threads)
        except ModelLoadError as exc:
            diag.error(
                variant.span,
                exc.message,
                hint=exc.hint or "model paths are relative to the folder of the pattern file",
            )
            continue
        signature = Signature.of(session)
        which = f" ({variant.path})" if several else ""
        output = model.output.text if model.output else None
        if model.inputs:
            try:
                bind_inputs(signature, len(model.inputs))
            except Mismatch as exc:
                diag.error(_inputs_span(model), f"model '{name}'{which}: {exc.message}", exc.hint)
        try:
            bind_output(signature, output, model.output_index)
        except Mismatch as exc:
            span = model.output.span if model.output else model.name.span
            diag.error(span, f"model '{name}'{which}: {exc.message}", exc.hint)
