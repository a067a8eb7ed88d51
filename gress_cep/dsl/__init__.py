"""The pattern language front end: text -> AST -> checked program."""

from __future__ import annotations

from pathlib import Path

from gress_cep.dsl import ast
from gress_cep.dsl.checker import check
from gress_cep.dsl.errors import Diagnostic, Diagnostics, GressError
from gress_cep.dsl.parser import parse_collecting


def load(source: str, filename: str = "<text>", base_dir: Path | None = None) -> tuple[ast.Program, list[Diagnostic]]:
    """Parse and check a pattern file; return the program and its warnings.

    Raises GressError carrying every error (syntax and semantic) when there is any.
    """
    diag = Diagnostics(filename, source)
    program = parse_collecting(source, diag)
    if program is not None:
        check(program, diag, base_dir=base_dir)
    diag.raise_if_errors()
    assert program is not None
    return program, diag.sorted()


def load_file(path: str | Path) -> tuple[ast.Program, list[Diagnostic]]:
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GressError([], str(path), "") from exc
    return load(source, str(path), base_dir=path.parent)


__all__ = ["GressError", "load", "load_file"]
