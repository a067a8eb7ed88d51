"""Syntax errors a person can act on, and how to carry on after one to find the next.

`explain` turns Lark's UnexpectedInput into one diagnostic about the mistake as people make
it (`=` for `==`, a misspelt keyword, a missing `match`, an unclosed string or bracket) and
returns a recovery: a `Fix` (the likely intended text, put in place so that parsing can go on),
"blank" (drop the clause) or "stop". The parser applies it and parses again, so that one run
reports every broken clause of a statement, not only the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from gress_cep.dsl.ast import Span
from gress_cep.dsl.errors import Diagnostics, did_you_mean

STATEMENT_KEYWORDS = ("stream", "model", "view", "pattern")
CLAUSE_KEYWORDS = {
    "stream": ("key", "time", "lateness", "idle", "schema"),
    "model": ("inputs", "output", "batch", "delay", "shadow", "split", "threads"),
    "pattern": ("from", "partition", "match", "where", "within", "skip", "emit", "on"),
    "view": (),
}
_ALL_KEYWORDS = frozenset(word for words in CLAUSE_KEYWORDS.values() for word in words) | frozenset(
    STATEMENT_KEYWORDS
)
OPENERS = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}
CLOSERS = {v: k for k, v in OPENERS.items()}
_PAIR = {"(": ")", "[": "]", "{": "}"}

_TOKEN_TEXT = {
    "_NL": "end of line",
    "$END": "end of file",
    "NAME": "a name",
    "QUOTED_NAME": "a `quoted name`",
    "NUMBER": "a number",
    "DURATION": "a duration like 10s",
    "STRING": 'a "string"',
    "COMPARE": "a comparison",
}
# a line that continues the clause above it (the grammar's _CONT)
_CONTINUATION = re.compile(r"[ \t]*(\||->|,|and(?![A-Za-z0-9_])|or(?![A-Za-z0-9_]))")
_WHERE_ENTRY = re.compile(r"[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*:")
_DANGLING = re.compile(r"(\band|\bor|\bnot|[-+*/%<>=!]|->>?|,|\|)\s*$")
_MATCH_LIKE = re.compile(r"->|,|[+*?{]|^\s*!?[A-Za-z_]\w*\s*$")


@dataclass(slots=True)
class Fix:
    """Replace columns [column, end_column) of `line` with `text` (the likely intended text)."""

    line: int
    column: int
    end_column: int
    text: str

    def apply(self, source: str) -> str:
        lines = source.split("\n")
        old = lines[self.line - 1]
        lines[self.line - 1] = old[: self.column - 1] + self.text + old[self.end_column - 1 :]
        return "\n".join(lines)


Recovery = Fix | Literal["blank", "stop"]


def _span(tok: Token) -> Span:
    return Span(tok.line, tok.column, tok.end_line, tok.end_column)  # type: ignore[arg-type]


def _describe(kind: str, parser: Lark) -> str:
    if kind in _TOKEN_TEXT:
        return _TOKEN_TEXT[kind]
    try:
        pattern = parser.get_terminal(kind).pattern
    except KeyError:
        return kind.lower()
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return kind.lower()


def _expected_keywords(expected: set[str], parser: Lark) -> list[str]:
    words = []
    for kind in expected:
        try:
            pattern = parser.get_terminal(kind).pattern
        except KeyError:
            continue
        if pattern.type == "str" and pattern.value.isalpha():
            words.append(pattern.value)
    return sorted(words)


def _expected_hint(expected: set[str], parser: Lark) -> str | None:
    wanted = sorted(_describe(e, parser) for e in expected if not e.startswith("_"))
    if not wanted:
        return None
    return "expected " + ", ".join(wanted[:8]) + (", ..." if len(wanted) > 8 else "")


def _enclosing_statement(lines: list[str], line: int) -> str | None:
    """The keyword of the statement a line belongs to (for clause suggestions)."""
    for i in range(min(line, len(lines)) - 1, -1, -1):
        first = lines[i].split("#", 1)[0].split()
        if first and first[0] in STATEMENT_KEYWORDS:
            return first[0]
    return None


def _operator_typo(
    diag: Diagnostics, rest: str, line: int, column: int, in_match: bool
) -> Recovery | None:
    """`=` for `==`, `=>` for `->` or `>=`, `&&`, `||`: the operators of other languages."""
    span = Span(line, column, line, column + 2)
    if rest.startswith("=>"):
        if in_match:
            diag.error(span, "'=>' is not an arrow here", hint="write '->' (followed by)")
            return Fix(line, column, column + 2, "->")
        diag.error(span, "unexpected '=>'", hint="write '>=' (greater than or equal)")
        return Fix(line, column, column + 2, ">=")
    if rest.startswith("=<"):
        diag.error(span, "unexpected '=<'", hint="write '<=' (less than or equal)")
        return Fix(line, column, column + 2, "<=")
    if rest.startswith("="):
        diag.error(
            Span(line, column, line, column + 1),
            "unexpected '='",
            hint="use '==' to compare values",
        )
        return Fix(line, column, column + 1, "==")
    for typo, word in (("&&", "and"), ("||", "or")):
        if rest.startswith(typo):
            diag.error(span, f"unexpected '{typo}'", hint=f"write '{word}' to combine conditions")
            return Fix(line, column, column + 2, f" {word} ")
    return None


def _in_match(lines: list[str], line: int) -> bool:
    """Whether a line is (a continuation of) a `match` clause."""
    for i in range(line - 1, -1, -1):
        text = lines[i]
        if _CONTINUATION.match(text) and not text.strip().startswith("|"):
            continue
        return text.split()[:1] == ["match"]
    return False


def explain(
    err: UnexpectedInput,
    text: str,
    diag: Diagnostics,
    open_brackets: list[Token],
    parser: Lark,
) -> Recovery:
    """Record the diagnostic for a syntax error in `text`; say how to go on."""
    lines = text.split("\n")
    line_text = lines[err.line - 1] if 0 < err.line <= len(lines) else ""
    if isinstance(err, UnexpectedCharacters):
        return _unexpected_character(err, lines, line_text, diag)
    tok: Token = err.token  # type: ignore[union-attr]
    expected: set[str] = set(getattr(err, "expected", set()) or set())
    if isinstance(err, UnexpectedEOF) or tok.type == "$END":
        return _unexpected_end(text, lines, diag, open_brackets, expected, parser)
    span = _span(tok)
    rest = line_text[tok.column - 1 :]
    if open_brackets and tok.line > open_brackets[-1].line:  # type: ignore[operator]
        # newlines inside brackets do not end a clause: the next clause ran into this one
        return _unexpected_end(text, lines, diag, open_brackets, expected, parser)
    if tok.type == "_NL":
        return _unexpected_end_of_line(tok, lines, diag, expected, parser)
    if tok.type in CLOSERS and not any(o.type == CLOSERS[tok.type] for o in open_brackets):
        opener = {"RPAR": "(", "RSQB": "[", "RBRACE": "{"}[tok.type]
        diag.error(span, f"unmatched '{tok}'", hint=f"remove it, or add the '{opener}' it closes")
        return Fix(tok.line, tok.column, tok.end_column, " ")  # type: ignore[arg-type]
    typo = _operator_typo(diag, rest, tok.line, tok.column, _in_match(lines, tok.line))  # type: ignore[arg-type]
    if typo is not None:
        return typo
    if tok.type == "VBAR" and "OR" in expected:
        diag.error(span, "unexpected '|'", hint="write 'or' to combine conditions")
        return Fix(tok.line, tok.column, tok.end_column, "or")  # type: ignore[arg-type]
    if tok.type == "NUMBER" and "DURATION" in expected:
        return _bad_duration(tok, rest, diag)
    if tok.type == "NAME":
        return _unexpected_name(tok, lines, diag, expected, parser)
    diag.error(span, f"unexpected '{tok}'", hint=_expected_hint(expected, parser))
    return "blank"


def _unexpected_character(
    err: UnexpectedCharacters, lines: list[str], line_text: str, diag: Diagnostics
) -> Recovery:
    line, column = err.line, err.column
    rest = line_text[column - 1 :]
    ch = rest[:1]
    end = len(line_text) + 1
    if ch == '"':
        diag.error(
            Span(line, column, line, end),
            "unclosed string",
            hint='a string ends with " on the same line; write \\" for a quote inside it',
        )
        return Fix(line, end, end, '"')
    if ch == "`":
        diag.error(
            Span(line, column, line, end),
            "unclosed `quoted name`",
            hint="a quoted name ends with ` on the same line",
        )
        return Fix(line, end, end, "`")
    typo = _operator_typo(diag, rest, line, column, _in_match(lines, line))
    if typo is not None:
        return typo
    unit = re.match(r"[0-9]+(\.[0-9]+)?([A-Za-z]+)", rest)
    if unit:
        return _unknown_unit(line, column, unit.group(0), unit.group(2), diag)
    diag.error(Span(line, column, line, column + 1), f"unexpected character {ch!r}")
    return "blank"


def _unknown_unit(line: int, column: int, text: str, unit: str, diag: Diagnostics) -> Fix:
    diag.error(
        Span(line, column, line, column + len(text)),
        f"unknown duration unit '{unit}'",
        hint="durations are written like 250ms, 10s, 5m, 2h, 1d",
    )
    return Fix(line, column, column + len(text), text[: len(text) - len(unit)] + "s")


def _bad_duration(tok: Token, rest: str, diag: Diagnostics) -> Recovery:
    line, column = tok.line, tok.column
    spaced = re.match(r"([0-9]+(?:\.[0-9]+)?)([ \t]+)(ms|s|m|h|d)(?![A-Za-z0-9_])", rest)
    if spaced:
        whole = spaced.group(0)
        diag.error(
            Span(line, column, line, column + len(whole)),  # type: ignore[operator]
            f"a duration is written without a space: '{spaced.group(1)}{spaced.group(3)}'",
        )
        return Fix(line, column, column + len(whole), spaced.group(1) + spaced.group(3))  # type: ignore[operator, arg-type]
    unit = re.match(r"[0-9]+(\.[0-9]+)?([A-Za-z]+)", rest)
    if unit:
        return _unknown_unit(line, column, unit.group(0), unit.group(2), diag)  # type: ignore[arg-type]
    diag.error(
        _span(tok),
        f"'{tok}' needs a unit",
        hint="durations are written like 250ms, 10s, 5m, 2h, 1d",
    )
    return Fix(line, column, tok.end_column, f"{tok}s")  # type: ignore[arg-type]


def _unexpected_end(
    text: str,
    lines: list[str],
    diag: Diagnostics,
    open_brackets: list[Token],
    expected: set[str],
    parser: Lark,
) -> Recovery:
    if open_brackets:
        opener = open_brackets[-1]
        diag.error(
            _span(opener),
            f"'{opener}' is never closed",
            hint=f"add the matching '{_PAIR[str(opener)]}'",
        )
        return "stop"
    last = _last_code_line(lines)
    end = len(lines[last - 1].split("#", 1)[0].rstrip()) + 1
    at_file_end = last >= _last_code_line(diag.source.split("\n"))
    what = "the file" if at_file_end else "the statement"
    diag.error(
        Span(last, end, last, end + 1),
        f"{what} ends in the middle of a clause",
        hint=_expected_hint(expected, parser),
    )
    return "stop"


def _last_code_line(lines: list[str]) -> int:
    return max((i + 1 for i, t in enumerate(lines) if t.split("#", 1)[0].strip()), default=1)


def _unexpected_end_of_line(
    tok: Token, lines: list[str], diag: Diagnostics, expected: set[str], parser: Lark
) -> Recovery:
    # point at the end of the line, not at the next one
    line_text = lines[tok.line - 1] if tok.line - 1 < len(lines) else ""  # type: ignore[operator]
    code = line_text.split("#", 1)[0].rstrip()
    end = len(code) + 1
    span = Span(tok.line, end, tok.line, end + 1)  # type: ignore[arg-type]
    if "COLON" in expected and len(expected) <= 3:
        diag.error(span, "missing ':' after the variable name", hint="write 'name: condition'")
        return "blank"
    hint = _expected_hint(expected, parser)
    if _DANGLING.search(code):
        hint = (
            "a clause continues on the next line only when that line starts with "
            "'and', 'or', '->', ',' or '|'"
        )
    diag.error(span, "unexpected end of line", hint=hint)
    return "blank"


def _unexpected_name(
    tok: Token, lines: list[str], diag: Diagnostics, expected: set[str], parser: Lark
) -> Recovery:
    text = str(tok)
    span = _span(tok)
    line, column = tok.line, tok.column
    line_text = lines[line - 1]  # type: ignore[operator]
    rest = line_text[column - 1 :]  # type: ignore[operator]
    replace = Fix(line, column, tok.end_column, "")  # type: ignore[arg-type]
    keywords = _expected_keywords(expected, parser)
    if expected <= {"COLON", "_NL"} | {k for k in expected if k.startswith("__")} and (
        "COLON" in expected
    ):
        diag.error(span, f"missing ':' before '{text}'", hint="write 'name: condition'")
        return Fix(line, column, column, ": ")  # type: ignore[arg-type]
    if keywords and not ({"NAME", "QUOTED_NAME"} & expected):
        statement = _enclosing_statement(lines, line)  # type: ignore[arg-type]
        at_line_start = line_text[: column - 1].strip() == ""  # type: ignore[operator]
        if at_line_start and statement and set(keywords) & set(CLAUSE_KEYWORDS[statement]):
            return _unknown_clause(tok, statement, rest, diag, replace)
        suggestion = did_you_mean(text, keywords) if text not in _ALL_KEYWORDS else None
        if suggestion:
            diag.error(span, f"unknown keyword '{text}'{suggestion}")
            replace.text = suggestion.split("'")[1]
            return replace
        if "'->'" in {_describe(e, parser) for e in expected}:
            diag.error(
                span,
                f"missing '->' or ',' before '{text}'",
                hint="join the elements of a match with '->' (followed by), "
                "',' (the very next event) or '->>' (every later event)",
            )
            return Fix(line, column, column, "-> ")  # type: ignore[arg-type]
        diag.error(span, f"unexpected '{text}'", hint="expected " + ", ".join(keywords))
        return "blank"
    diag.error(span, f"unexpected '{text}'", hint=_expected_hint(expected, parser))
    return "blank"


def _unknown_clause(
    tok: Token, statement: str, rest: str, diag: Diagnostics, replace: Fix
) -> Recovery:
    text = str(tok)
    span = _span(tok)
    clauses = CLAUSE_KEYWORDS[statement] + STATEMENT_KEYWORDS
    suggestion = did_you_mean(text, clauses) if text not in _ALL_KEYWORDS else None
    if suggestion:
        word = suggestion.split("'")[1]
        if word in STATEMENT_KEYWORDS:
            diag.error(span, f"unknown keyword '{text}'{suggestion}")
        else:
            diag.error(span, f"unknown clause '{text}' in {statement}{suggestion}")
        replace.text = word
        return replace
    insert = Fix(replace.line, replace.column, replace.column, "")
    if statement == "pattern" and _MATCH_LIKE.search(rest):
        diag.error(
            span,
            "missing 'match' at the start of this line",
            hint=f"write 'match {rest.split('#', 1)[0].strip()}'",
        )
        insert.text = "match "
        return insert
    if statement == "pattern" and ":" in rest:
        diag.error(
            span,
            f"unexpected '{text}'",
            hint="conditions follow a 'where' line",
        )
        insert.text = "where "
        return insert
    what = "unexpected" if text in _ALL_KEYWORDS else "unknown clause"
    diag.error(
        span,
        f"{what} '{text}' in {statement}",
        hint="expected one of: " + ", ".join(CLAUSE_KEYWORDS[statement]),
    )
    return "blank"


def blank_clause(text: str, line: int) -> str | None:
    """`text` without the clause on `line` (its continuation lines too), lines kept in place;
    None when that clause is the statement's first line (nothing sensible remains)."""
    lines = text.split("\n")
    start = line - 1
    while start > 0 and _CONTINUATION.match(lines[start]):
        start -= 1
    if lines[start].split()[:1] and lines[start].split()[0] in STATEMENT_KEYWORDS:
        return None
    end = line - 1
    while end + 1 < len(lines) and _CONTINUATION.match(lines[end + 1]):
        end += 1
    if lines[start].split()[:1] == ["where"]:
        while end + 1 < len(lines) and (
            _WHERE_ENTRY.match(lines[end + 1]) or _CONTINUATION.match(lines[end + 1])
        ):
            end += 1
    for i in range(start, end + 1):
        lines[i] = ""
    return "\n".join(lines)
