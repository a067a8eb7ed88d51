"""Semantic checks of a parsed program: names, variables, quantifiers, negation, types.

(placeholder: the full checker is being written; it reports nothing yet)
"""

from __future__ import annotations

from pathlib import Path

from gress_cep.dsl import ast
from gress_cep.dsl.errors import Diagnostics


def check(program: ast.Program, diag: Diagnostics, *, base_dir: Path | None = None) -> None:
    """Record every semantic error and warning of `program` in `diag`."""
