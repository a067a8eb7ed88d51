"""Syntax errors a person can act on, and how to carry on after one to find the next.

`explain` turns Lark's UnexpectedInput into one diagnostic about the mistake as people make
it (`=` for `==`, a misspelt keyword, a missing `match`, an unclosed string or bracket) and
returns a recovery: a `Fix` (the likely intended text, put in place so that parsing can go on),
"blank" (drop the clause) or "stop". The parser applies it and parses again, so that one run
reports every broken clause of a statement, not only the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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
    "pattern": ("from", "partition", "match", "where", "within", "ttl", "skip", "emit", "on"),
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
# clauses that take a comma-separated list
_LIST_CLAUSES = ("emit", "select", "aggregate", "partition", "by", "inputs")
_SCHEMA_FIELD = re.compile(r"(\bschema\s*\{|,)\s*(`[^`]*`|[A-Za-z_]\w*)\s*$")
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


@dataclass(slots=True, frozen=True)
class _At:
    """Where a token stands (Lark types its positions as optional; a parser error sets them)."""

    line: int
    column: int
    end_column: int

    @classmethod
    def of(cls, tok: Token) -> _At:
        column = tok.column or 1
        end = tok.end_column if tok.end_line == tok.line and tok.end_column else column + len(tok)
        return cls(tok.line or 1, column, end)

    @property
    def span(self) -> Span:
        return Span(self.line, self.column, self.line, self.end_column)

    def fix(self, text: str) -> Fix:
        """Replace the token with `text`."""
        return Fix(self.line, self.column, self.end_column, text)

    def insert(self, text: str) -> Fix:
        """Put `text` before the token."""
        return Fix(self.line, self.column, self.column, text)


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
    tok: Token | None = getattr(err, "token", None)
    expected: set[str] = set(getattr(err, "expected", set()) or set())
    if tok is None or isinstance(err, UnexpectedEOF) or tok.type == "$END":
        return _unexpected_end(text, lines, diag, open_brackets, expected, parser)
    at = _At.of(tok)
    rest = line_text[at.column - 1 :]
    if open_brackets and at.line > (open_brackets[-1].line or 0):
        # newlines inside brackets do not end a clause: the next clause ran into this one
        return _unexpected_end(text, lines, diag, open_brackets, expected, parser)
    if tok.type == "_NL":
        return _unexpected_end_of_line(at, lines, diag, expected, parser)
    if tok.type in CLOSERS and not any(o.type == CLOSERS[tok.type] for o in open_brackets):
        opener = {"RPAR": "(", "RSQB": "[", "RBRACE": "{"}[tok.type]
        diag.error(
            at.span, f"unmatched '{tok}'", hint=f"remove it, or add the '{opener}' it closes"
        )
        return at.fix(" ")
    typo = _operator_typo(diag, rest, at.line, at.column, _in_match(lines, at.line))
    if typo is not None:
        return typo
    misspelt = _misspelt_clause(at, lines, diag)
    if misspelt is not None:
        return misspelt
    if tok.type == "VBAR" and "OR" in expected:
        diag.error(at.span, "unexpected '|'", hint="write 'or' to combine conditions")
        return at.fix("or")
    if tok.type == "NUMBER" and "DURATION" in expected:
        return _bad_duration(str(tok), at, rest, diag)
    if tok.type == "NAME":
        return _unexpected_name(str(tok), at, lines, diag, expected, parser)
    diag.error(at.span, f"unexpected '{tok}'", hint=_expected_hint(expected, parser))
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


def _bad_duration(number: str, at: _At, rest: str, diag: Diagnostics) -> Recovery:
    line, column = at.line, at.column
    spaced = re.match(r"([0-9]+(?:\.[0-9]+)?)([ \t]+)(ms|s|m|h|d)(?![A-Za-z0-9_])", rest)
    if spaced:
        whole = spaced.group(0)
        diag.error(
            Span(line, column, line, column + len(whole)),
            f"a duration is written without a space: '{spaced.group(1)}{spaced.group(3)}'",
        )
        return Fix(line, column, column + len(whole), spaced.group(1) + spaced.group(3))
    unit = re.match(r"[0-9]+(\.[0-9]+)?([A-Za-z]+)", rest)
    if unit:
        return _unknown_unit(line, column, unit.group(0), unit.group(2), diag)
    diag.error(
        at.span,
        f"'{number}' needs a unit",
        hint="durations are written like 250ms, 10s, 5m, 2h, 1d",
    )
    return at.fix(f"{number}s")


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
            _At.of(opener).span,
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
    at: _At, lines: list[str], diag: Diagnostics, expected: set[str], parser: Lark
) -> Recovery:
    # point at the end of the line, not at the next one
    line_text = lines[at.line - 1] if at.line - 1 < len(lines) else ""
    code = line_text.split("#", 1)[0].rstrip()
    end = len(code) + 1
    span = Span(at.line, end, at.line, end + 1)
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


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate `did_you_mean` suggests. A keyword is never a misspelling of another, and
    a name of one or two letters is more likely a name than a misspelt keyword."""
    if word in _ALL_KEYWORDS or len(word) < 3:
        return None
    suggestion = did_you_mean(word, candidates)
    return suggestion.split("'")[1] if suggestion else None


def _unexpected_name(
    text: str, at: _At, lines: list[str], diag: Diagnostics, expected: set[str], parser: Lark
) -> Recovery:
    line_text = lines[at.line - 1] if at.line - 1 < len(lines) else ""
    rest = line_text[at.column - 1 :]
    keywords = _expected_keywords(expected, parser)
    before = line_text[: at.column - 1]
    first = before.split()[:1]
    if "COLON" in expected and expected <= {"COLON", "_NL"} | {
        k for k in expected if k.startswith("__")
    }:
        if first and first[0] in CLAUSE_KEYWORDS["pattern"]:
            # `where` with no entries: the next clause was read as a variable name
            column = len(before) - len(before.lstrip()) + 1
            diag.error(
                Span(at.line, column, at.line, column + len(first[0])),
                f"'where' has no condition before '{first[0]}'",
                hint="write one condition per variable after 'where': 'name: condition'",
            )
            return "stop"
        diag.error(at.span, f"missing ':' before '{text}'", hint="write 'name: condition'")
        return at.insert(": ")
    if "COLON" in expected and _SCHEMA_FIELD.search(before):
        diag.error(at.span, f"missing ':' before '{text}'", hint="write 'field: type'")
        return at.insert(": ")
    if keywords and not ({"NAME", "QUOTED_NAME"} & expected):
        statement = _enclosing_statement(lines, at.line)
        at_line_start = line_text[: at.column - 1].strip() == ""
        if at_line_start and statement and set(keywords) & set(CLAUSE_KEYWORDS[statement]):
            return _unknown_clause(text, at, statement, rest, diag)
        word = _closest(text, keywords)
        if word:
            diag.error(at.span, f"unknown keyword '{text}' (did you mean '{word}'?)")
            return at.fix(word)
        clause = (before.rsplit("|", 1)[-1].split() or [""])[0]
        if "COMMA" in expected and clause in _LIST_CLAUSES:
            diag.error(
                at.span,
                f"missing ',' before '{text}'",
                hint=f"separate the items of '{clause}' with ','",
            )
            return at.insert(", ")
        if "AND" in expected and (_WHERE_ENTRY.match(before) or clause in ("where", "having")):
            diag.error(
                at.span,
                f"missing 'and' or 'or' before '{text}'",
                hint="combine conditions with 'and' / 'or'",
            )
            return at.insert("and ")
        if "'->'" in {_describe(e, parser) for e in expected}:
            diag.error(
                at.span,
                f"missing '->' or ',' before '{text}'",
                hint="join the elements of a match with '->' (followed by), "
                "',' (the very next event) or '->>' (every later event)",
            )
            return at.insert("-> ")
        diag.error(at.span, f"unexpected '{text}'", hint="expected " + ", ".join(keywords))
        return "blank"
    diag.error(at.span, f"unexpected '{text}'", hint=_expected_hint(expected, parser))
    return "blank"


def _misspelt_clause(at: _At, lines: list[str], diag: Diagnostics) -> Recovery | None:
    """A line whose first word is close to a clause keyword of its statement, and whose error is
    right after that word: the keyword misspelt. After a `where` block, `withn 10s` reads as a
    variable `withn` that lacks its ':', and the error falls on `10s`."""
    line_text = lines[at.line - 1] if at.line - 1 < len(lines) else ""
    first = re.match(r"([ \t]*)([A-Za-z_][A-Za-z0-9_]*)", line_text)
    if first is None:
        return None
    word, column, end = first.group(2), first.end(1) + 1, first.end() + 1
    between = line_text[end - 1 : at.column - 1]
    if at.column <= column or between.strip() or line_text[end - 1 :].lstrip().startswith(":"):
        return None
    statement = _enclosing_statement(lines, at.line)
    if statement is None or word in STATEMENT_KEYWORDS:
        return None
    keyword = _closest(word, CLAUSE_KEYWORDS[statement])
    if keyword is None:
        return None
    diag.error(
        Span(at.line, column, at.line, end),
        f"unknown clause '{word}' in {statement} (did you mean '{keyword}'?)",
    )
    return Fix(at.line, column, end, keyword)


def _unknown_clause(text: str, at: _At, statement: str, rest: str, diag: Diagnostics) -> Recovery:
    word = _closest(text, CLAUSE_KEYWORDS[statement] + STATEMENT_KEYWORDS)
    if word:
        if word in STATEMENT_KEYWORDS:
            diag.error(at.span, f"unknown keyword '{text}' (did you mean '{word}'?)")
        else:
            diag.error(at.span, f"unknown clause '{text}' in {statement} (did you mean '{word}'?)")
        return at.fix(word)
    if statement == "pattern" and _MATCH_LIKE.search(rest):
        diag.error(
            at.span,
            "missing 'match' at the start of this line",
            hint=f"write 'match {rest.split('#', 1)[0].strip()}'",
        )
        return at.insert("match ")
    if statement == "pattern" and ":" in rest:
        diag.error(at.span, f"unexpected '{text}'", hint="conditions follow a 'where' line")
        return at.insert("where ")
    what = "unexpected" if text in _ALL_KEYWORDS else "unknown clause"
    diag.error(
        at.span,
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
    if _WHERE_ENTRY.match(text.split("\n")[start]) and start > 0:
        # a `where` needs an entry: put a harmless one in the broken one's place
        lines[start] = "_: true"
    return "\n".join(lines)
