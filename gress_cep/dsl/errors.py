"""Diagnostics for people: `file:line:col: error: message`, the source line, a caret, a hint."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from gress_cep.dsl.ast import Span
from gress_cep.errors import UserError

Severity = Literal["error", "warning"]


@dataclass(slots=True)
class Diagnostic:
    severity: Severity
    message: str
    span: Span
    hint: str | None = None

    def render(self, filename: str, source: str) -> str:
        """The compiler-style text: location, message, the line with a caret, the hint."""
        where = f"{filename}:{self.span.line}:{self.span.column}" if self.span.line else filename
        out = [f"{where}: {self.severity}: {self.message}"]
        lines = source.splitlines()
        if 1 <= self.span.line <= len(lines):
            text = lines[self.span.line - 1].rstrip("\n")
            shown = text.expandtabs(4)
            # translate the column through tab expansion so the caret stands under the text
            col = len(text[: self.span.column - 1].expandtabs(4))
            width = 1
            if self.span.end_line == self.span.line and self.span.end_column > self.span.column:
                width = len(text[self.span.column - 1 : self.span.end_column - 1].expandtabs(4))
            out.append(f"    {shown}")
            out.append("    " + " " * col + "^" * max(1, width))
        if self.hint:
            out.append(f"    hint: {self.hint}")
        return "\n".join(out)


class PatternError(UserError):
    """A mistake in a pattern file: carries diagnostics that render with file, line and column.
    A `gress_cep.GressError`, like every error gress raises on purpose."""

    def __init__(
        self,
        diagnostics: list[Diagnostic],
        filename: str = "<text>",
        source: str = "",
    ) -> None:
        self.diagnostics = diagnostics
        self.filename = filename
        self.source = source
        Exception.__init__(self, self.render())
        self.message = self.render()
        self.hint = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def render(self) -> str:
        return "\n".join(d.render(self.filename, self.source) for d in self.diagnostics)


GressError = PatternError  # the name the parser and older code raise it by


@dataclass(slots=True)
class Diagnostics:
    """Collects every problem in a file so that `gress check` reports them all at once."""

    filename: str
    source: str
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, span: Span, message: str, hint: str | None = None) -> None:
        self.items.append(Diagnostic("error", message, span, hint))

    def warning(self, span: Span, message: str, hint: str | None = None) -> None:
        self.items.append(Diagnostic("warning", message, span, hint))

    @property
    def has_errors(self) -> bool:
        return self.error_count > 0

    @property
    def error_count(self) -> int:
        return sum(d.severity == "error" for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=lambda d: (d.span.line, d.span.column))

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise GressError(self.sorted(), self.filename, self.source)


def check_names(kind: str, wanted: Iterable[str], known: list[str], file: object) -> None:
    """A UserError for the first of `wanted` (names given on the command line: --pattern,
    --view) that is not among `known`, the `kind`s of `file`, with did-you-mean."""
    for name in wanted:
        if name not in known:
            listing = ", ".join(sorted(known)) or "none"
            raise UserError(
                f"no {kind} named {name!r} in {file}{did_you_mean(name, known) or ''}",
                hint=f"{kind}s in the file: {listing}",
            )


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A ' (did you mean 'x'?)' suffix for the closest candidate, or None."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else None
