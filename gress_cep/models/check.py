"""`gress check` for model declarations: the files exist, load, and fit `inputs` and `output`.

Every problem is reported at the clause that has to change: a missing file at its `onnx "..."`,
a feature-count or shape mismatch at `inputs`, an unknown output or a ZipMap at `output`.
"""

from __future__ import annotations

from pathlib import Path

from gress_cep.dsl import ast
from gress_cep.dsl.ast import Span
from gress_cep.dsl.errors import Diagnostics
from gress_cep.models.routing import normalized_weights
from gress_cep.models.session import ModelLoadError, load_session
from gress_cep.models.signature import Mismatch, Signature, bind_inputs, bind_output


def _inputs_span(model: ast.Model) -> Span:
    if not model.inputs:
        return model.name.span
    first, last = model.inputs[0].span, model.inputs[-1].span
    return Span(first.line, first.column, last.end_line, last.end_column)


def routing_errors(model: ast.Model) -> list[tuple[Span, str, str | None]]:
    """What keeps the A/B split of a declaration from working: (where, message, hint)."""
    name = model.name.text
    errors: list[tuple[Span, str, str | None]] = []
    if len(model.variants) > 1 and model.split_by is None:
        errors.append(
            (
                model.name.span,
                f"model '{name}' has {len(model.variants)} variants but no `split by FIELD`",
                "A/B variants are chosen per key: add `split by card_id` (say)",
            )
        )
    if len(model.variants) > 1:
        try:
            normalized_weights([v.weight for v in model.variants])
        except ValueError as exc:
            errors.append((model.variants[0].span, f"model '{name}': {exc}", None))
    return errors


def check_model(model: ast.Model, base_dir: Path, diag: Diagnostics) -> None:
    """Record in `diag` every problem of one model declaration (paths relative to `base_dir`)."""
    name = model.name.text
    files = [*model.variants, *model.shadows]
    several = len(files) > 1

    for span, message, hint in routing_errors(model):
        diag.error(span, message, hint)
    if len(model.variants) == 1 and model.split_by is not None:
        diag.warning(
            model.split_by.span,
            f"model '{name}' has one variant: `split by` has no effect",
            hint='add variants: onnx "a.onnx" weight 90, onnx "b.onnx" weight 10 split by ...',
        )
    if len(model.variants) == 1 and model.variants[0].weight is not None:
        diag.warning(
            model.variants[0].span, f"model '{name}' has one variant: its weight has no effect"
        )

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
        try:
            bind_inputs(signature, len(model.inputs))
        except Mismatch as exc:
            diag.error(_inputs_span(model), f"model '{name}'{which}: {exc.message}", exc.hint)
        try:
            bind_output(signature, output, model.output_index)
        except Mismatch as exc:
            span = model.output.span if model.output else model.name.span
            diag.error(span, f"model '{name}'{which}: {exc.message}", exc.hint)
