"""The pattern language front end: text -> AST -> checked program."""

from __future__ import annotations

from pathlib import Path

from gress_cep.dsl import ast
from gress_cep.dsl.ast import NOWHERE, Span
from gress_cep.dsl.checker import check
from gress_cep.dsl.errors import Diagnostic, Diagnostics, GressError
from gress_cep.dsl.parser import parse_collecting


def diagnose(
    source: str, filename: str = "<text>", base_dir: Path | None = None
) -> tuple[ast.Program | None, list[Diagnostic]]:
    """Parse and check a pattern file; return the program and every diagnostic, sorted.

    Never raises for a mistake in the text: `gress check` shows all diagnostics this returns.
    """
    diag = Diagnostics(filename, source)
    program = parse_collecting(source, diag)
    if program is not None:
        check(program, diag, base_dir=base_dir)
    return program, diag.sorted()


def load(
    source: str, filename: str = "<text>", base_dir: Path | None = None
) -> tuple[ast.Program, list[Diagnostic]]:
    """Parse and check a pattern file; return the program and its warnings.

    Raises GressError carrying every error (syntax and semantic) when there is any.
    """
    program, diagnostics = diagnose(source, filename, base_dir)
    if program is None or any(d.severity == "error" for d in diagnostics):
        raise GressError(diagnostics, filename, source)
    return program, diagnostics


def read_source(path: str | Path) -> str:
    """The text of a pattern file; an unreadable file is one clear error, not a traceback.
    Bytes that are not UTF-8 are reported at their line and column (in characters)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        problem = f"cannot read the file: {exc.strerror or exc}"
        raise GressError([Diagnostic("error", problem, NOWHERE)], str(path), "") from None
    data = data.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark is not text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8")) + 1
        problem = f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded"
        span = Span(line, column, line, column + 1)
        shown = data.decode("utf-8", "replace")
        raise GressError([Diagnostic("error", problem, span)], str(path), shown) from None


def load_file(path: str | Path) -> tuple[ast.Program, list[Diagnostic]]:
    path = Path(path)
    return load(read_source(path), str(path), base_dir=path.parent)


__all__ = ["GressError", "diagnose", "load", "load_file", "read_source"]
