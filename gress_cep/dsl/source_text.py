"""Positions in a file's text: spans to offsets and back, and the text a span covers.

The checker quotes what the user wrote in its messages, and finds the modifier words of a
match element (`optional`, `greedy`, ...), which the syntax tree folds into one quantifier.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator

from gress_cep.dsl.ast import Span

# what can stand between modifier words: strings, `quoted names`, parentheses (until(...))
_MODIFIER_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`\n]*`|[()]|[A-Za-z_][A-Za-z0-9_]*|#[^\n]*')
MODIFIERS = ("optional", "consecutive", "any", "greedy", "until", "within")


class SourceText:
    def __init__(self, source: str) -> None:
        self.source = source
        self._starts = [0] + [m.end() for m in re.finditer("\n", source)]

    def offset(self, line: int, column: int) -> int:
        if line < 1 or line > len(self._starts):
            return len(self.source)
        return min(self._starts[line - 1] + column - 1, len(self.source))

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1

    def text(self, span: Span) -> str:
        return self.source[
            self.offset(span.line, span.column) : self.offset(span.end_line, span.end_column)
        ]

    def snippet(self, span: Span, limit: int = 40) -> str | None:
        """The text of a span for a message, or None when it is too long or spans lines."""
        text = self.text(span)
        if not text or "\n" in text or len(text) > limit:
            return None
        return text

    def words(self, start: Span, end: Span, *, from_start: bool) -> Iterator[tuple[str, Span]]:
        """Modifier words (see MODIFIERS) outside parentheses, from `start` (its beginning when
        `from_start`, else its end) to the end of `end`, with their spans."""
        begin = (
            self.offset(start.line, start.column)
            if from_start
            else self.offset(start.end_line, start.end_column)
        )
        stop = self.offset(end.end_line, end.end_column)
        depth = 0
        for m in _MODIFIER_TOKEN.finditer(self.source, begin, stop):
            token = m.group()
            if token == "(":
                depth += 1
            elif token == ")":
                depth -= 1
            elif depth == 0 and token in MODIFIERS:
                line, column = self.position(m.start())
                yield token, Span(line, column, line, column + len(token))
