"""Text -> typed AST (`gress_cep.dsl.ast`), with syntax errors a person can act on.

The grammar lives in grammar.lark (LALR, contextual lexer). A small post-lexer drops newlines
inside brackets; a Transformer builds the dataclasses of ast.py with a Span on every node.
When the file does not parse, each top-level statement is parsed on its own so that one run
reports a syntax error in every broken statement, not only the first.

Nothing here recurses with the depth of the text: the LALR parser and the Transformer are
iterative, and before anything else sees a statement `_bound` measures it against the limits
below (docs/language.md, "Limits") with an explicit stack. A statement beyond a limit is
reported at the place where it crosses it and left out, so that the checker, the compilers and
the generated Python code only ever see bounded trees. Long `and`/`or` chains are rebalanced
into trees of logarithmic depth (both operators are associative, also in their short-circuit
order), so a chain of thousands of conditions is fine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Tree, v_args
from lark.exceptions import (
    UnexpectedInput,
    VisitError,
)
from lark.tree import Meta
from lark.visitors import Transformer_NonRecursive

from gress_cep.dsl import ast
from gress_cep.dsl.ast import Span
from gress_cep.dsl.errors import Diagnostics, GressError
from gress_cep.dsl.grammar_cache import private_cache_file
from gress_cep.dsl.syntax_errors import (
    CLOSERS,
    OPENERS,
    blank_clause,
    explain,
)

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")

# ---------------------------------------------------------------- limits (docs/language.md)
MAX_EXPRESSION_DEPTH = 64  # operators inside operators; an and/or chain is one level
MAX_EXPRESSION_SIZE = 10_000  # operators in one expression
MAX_GROUP_DEPTH = 32  # groups inside groups in a `match`
MAX_PATTERN_VARIABLES = 1_000  # elements of one `match`
MAX_NUMBER_DIGITS = 100  # digits of a number literal (its exponent included)
MAX_DURATION_DAYS = 36_500  # about 100 years
MAX_DURATION_MS = MAX_DURATION_DAYS * _UNITS_MS["d"]


class BracketNewlines:
    """Post-lexer: a newline inside (), [] or {} does not end a clause.

    It also remembers the open brackets, so that an unclosed one is reported where it opened.
    """

    # NAME in every lexer state: a misspelt keyword (`emitt`) is then one NAME token to
    # report, not a keyword prefix (`emit` + `t`) that confuses the parser
    always_accept = ("_NL", "NAME")

    def __init__(self) -> None:
        self.open: list[Token] = []

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        self.open = []
        for tok in stream:
            kind = tok.type
            if kind in OPENERS:
                self.open.append(tok)
            elif kind in CLOSERS:
                if self.open and self.open[-1].type == CLOSERS[kind]:
                    self.open.pop()
            elif kind == "_NL" and self.open:
                continue
            yield tok


@cache
def _lark() -> Lark:
    grammar = resources.files("gress_cep.dsl").joinpath("grammar.lark").read_text()
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        postlex=BracketNewlines(),
        propagate_positions=True,
        maybe_placeholders=False,
        # the LALR tables, kept between runs (start-up 90 ms faster), in a private folder:
        # never in /tmp, where Lark would load anyone's pickle (grammar_cache.py)
        cache=private_cache_file(grammar) or False,
    )


def _span(node: Any) -> Span:
    """Span of a Token or of a tree's meta."""
    return Span(node.line, node.column, node.end_line, node.end_column)


def _join(a: Span, b: Span) -> Span:
    return Span(a.line, a.column, b.end_line, b.end_column)


def duration_ms(text: str) -> int:
    """`250ms`, `1.5s`, `2h` -> milliseconds; ValueError for anything else, and for a
    duration longer than MAX_DURATION_DAYS (what is longer than a lifetime is a mistake, and
    event times plus it must stay 64-bit integers)."""
    m = _DURATION.fullmatch(text)
    if not m:
        raise ValueError(text)
    value = float(m.group(1)) * _UNITS_MS[m.group(2)]
    if not value <= MAX_DURATION_MS:  # also inf (hundreds of digits)
        raise ValueError(f"{text}: longer than {MAX_DURATION_DAYS}d")
    return round(value)


def unquote(text: str) -> str:
    """The value of a string literal: `\\"`, `\\\\`, `\\n`, `\\t` are escapes; other
    backslashes stay as written, so regular expressions read naturally (`"\\d+"`)."""
    body = text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


@v_args(meta=True)
class ToAst(Transformer_NonRecursive):
    """Parse tree -> ast dataclasses. Value problems (a fractional count, say) are recorded
    as diagnostics instead of raised, so that all of them reach the user."""

    def __init__(self, diagnostics: Diagnostics) -> None:
        super().__init__()
        self.diag = diagnostics

    # ---------------------------------------------------------------- helpers
    def _int(self, tok: Token, what: str, minimum: int = 0) -> int:
        text = str(tok)
        if not text.isdigit():
            self.diag.error(_span(tok), f"{what} must be a whole number, not {text}")
            return minimum
        if not self._digits_ok(tok):
            return minimum
        value = int(text)
        if value < minimum:
            self.diag.error(_span(tok), f"{what} must be at least {minimum}, not {value}")
            return minimum
        return value

    def _digits_ok(self, tok: Token) -> bool:
        digits = sum(ch.isdigit() for ch in str(tok))
        if digits <= MAX_NUMBER_DIGITS:
            return True
        self.diag.error(
            _span(tok),
            f"a number of {digits:,} digits: numbers have at most {MAX_NUMBER_DIGITS} digits",
        )
        return False

    def _duration(self, tok: Token) -> ast.Duration:
        text = str(tok)
        try:
            ms = duration_ms(text)
        except ValueError:
            shown = text if len(text) <= 40 else f"{text[:20]}...{text[-10:]}"
            self.diag.error(
                _span(tok),
                f"the duration {shown} is too long: durations are at most "
                f"{MAX_DURATION_DAYS}d (about 100 years)",
            )
            ms = MAX_DURATION_MS
        return ast.Duration(_span(tok), ms, text)

    @staticmethod
    def _name(tok: Token) -> ast.Name:
        return ast.Name(str(tok), _span(tok))

    # ---------------------------------------------------------------- file
    def start(self, meta: Any, children: list[Any]) -> list[ast.Declaration]:
        return list(children)

    def field(self, meta: Any, children: list[Token]) -> ast.Name:
        tok = children[0]
        text = str(tok)
        if tok.type == "QUOTED_NAME":
            text = text[1:-1]
        return ast.Name(text, _span(tok))

    # ---------------------------------------------------------------- streams
    def stream_def(self, meta: Any, children: list[Any]) -> ast.Stream:
        name, *clauses = children
        found: dict[str, Any] = {}
        for kind, value, span in clauses:
            if kind in found:
                self.diag.error(span, f"stream '{name}' has two '{kind}' clauses")
            found[kind] = value
        time, time_unit = found.get("time", (None, None))
        return ast.Stream(
            name=self._name(name),
            key=found.get("key"),
            time=time,
            lateness=found.get("lateness"),
            idle=found.get("idle"),
            schema=found.get("schema"),
            span=_span(meta),
            time_unit=time_unit,
        )

    def key_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("key", c[0], _span(meta))

    def time_clause(self, meta: Any, c: list[Any]) -> tuple:
        unit = self._name(c[1]) if len(c) > 1 else None
        return ("time", (c[0], unit), _span(meta))

    def lateness_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("lateness", self._duration(c[0]), _span(meta))

    def idle_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("idle", self._duration(c[0]), _span(meta))

    def schema_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("schema", tuple(c), _span(meta))

    def schema_field(self, meta: Any, c: list[Any]) -> ast.SchemaField:
        name, type_tok, *rest = c
        return ast.SchemaField(name, self._name(type_tok), bool(rest), _span(meta))

    # ---------------------------------------------------------------- models
    def model_def(self, meta: Any, children: list[Any]) -> ast.Model:
        name = children[0]
        variants: list[ast.ModelVariant] = []
        shadows: list[ast.ModelVariant] = []
        found: dict[str, Any] = {}
        for item in children[1:]:
            if isinstance(item, ast.ModelVariant):
                variants.append(item)
                continue
            kind, span = item[0], item[-1]
            if kind == "shadow":
                shadows.append(item[1])
                continue
            if kind in found:
                self.diag.error(span, f"model '{name}' has two '{kind}' clauses")
            found[kind] = item[1:-1]
        batch = found.get("batch", (None, None))
        delay = found["delay"][0] if "delay" in found else batch[1]
        output = found.get("output", (None, None))
        return ast.Model(
            name=self._name(name),
            variants=tuple(variants),
            split_by=found["split"][0] if "split" in found else None,
            inputs=found["inputs"][0] if "inputs" in found else (),
            output=output[0],
            output_index=output[1],
            batch=batch[0],
            delay=delay,
            shadows=tuple(shadows),
            threads=found["threads"][0] if "threads" in found else None,
            span=_span(meta),
        )

    def model_variant(self, meta: Any, c: list[Any]) -> ast.ModelVariant:
        return ast.ModelVariant(unquote(str(c[0])), c[1] if len(c) > 1 else None, _span(meta))

    def weight(self, meta: Any, c: list[Any]) -> float:
        return float(str(c[0]))

    def split_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("split", c[0], _span(meta))

    def inputs_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("inputs", tuple(c), _span(meta))

    def output_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("output", self._name(c[0]), c[1] if len(c) > 1 else None, _span(meta))

    def output_index(self, meta: Any, c: list[Any]) -> int:
        return self._int(c[0], "an output column")

    def batch_clause(self, meta: Any, c: list[Any]) -> tuple:
        size = self._int(c[0], "a batch size", minimum=1)
        delay = self._duration(c[1]) if len(c) > 1 else None
        return ("batch", size, delay, _span(meta))

    def delay_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("delay", self._duration(c[0]), _span(meta))

    def shadow_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("shadow", ast.ModelVariant(unquote(str(c[0])), None, _span(meta)), _span(meta))

    def threads_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("threads", self._int(c[0], "a thread count", minimum=1), _span(meta))

    # ---------------------------------------------------------------- views
    def view_def(self, meta: Any, c: list[Any]) -> ast.View:
        name, source, *ops = c
        return ast.View(self._name(name), source, tuple(ops), _span(meta))

    def source_ref(self, meta: Any, c: list[Any]) -> ast.SourceRef:
        return ast.SourceRef(self._name(c[0]), _span(meta))

    def join_source(self, meta: Any, c: list[Any]) -> ast.JoinSource:
        kind = "inner"
        if isinstance(c[0], str):
            kind = c[0]
            c = c[1:]
        left, right, on, within = c
        return ast.JoinSource(kind, left, right, on, self._duration(within), _span(meta))  # type: ignore[arg-type]

    def union_source(self, meta: Any, c: list[Any]) -> ast.UnionSource:
        return ast.UnionSource(tuple(self._name(n) for n in c), _span(meta))

    def join_kind(self, meta: Any, c: list[Any]) -> str:
        return str(c[0])

    def join_side(self, meta: Any, c: list[Any]) -> ast.JoinSide:
        return ast.JoinSide(self._name(c[0]), self._name(c[1]))

    def where_op(self, meta: Any, c: list[Any]) -> ast.WhereOp:
        return ast.WhereOp(c[0], _span(meta))

    def select_op(self, meta: Any, c: list[Any]) -> ast.SelectOp:
        return ast.SelectOp(tuple(c), _span(meta))

    def score_op(self, meta: Any, c: list[Any]) -> ast.ScoreOp:
        return ast.ScoreOp(self._name(c[0]), self._name(c[1]), _span(meta))

    def window_op(self, meta: Any, c: list[Any]) -> ast.WindowOp:
        spec = c[0]
        by = c[1] if len(c) > 1 else ()
        kind = spec[0]
        return ast.WindowOp(
            kind=kind,
            size=spec[1] if kind in ("tumbling", "sliding") else None,
            every=spec[2] if kind == "sliding" else None,
            gap=spec[1] if kind == "session" else None,
            count=spec[1] if kind == "count" else None,
            count_every=spec[2] if kind == "count" else None,
            by=by,
            span=_span(meta),
        )

    def tumbling(self, meta: Any, c: list[Any]) -> tuple:
        return ("tumbling", self._duration(c[0]))

    def sliding(self, meta: Any, c: list[Any]) -> tuple:
        return ("sliding", self._duration(c[0]), self._duration(c[1]))

    def session(self, meta: Any, c: list[Any]) -> tuple:
        return ("session", self._duration(c[0]))

    def count_window(self, meta: Any, c: list[Any]) -> tuple:
        size = self._int(c[0], "a count window size", minimum=1)
        every = self._int(c[1], "a count window step", minimum=1) if len(c) > 1 else None
        return ("count", size, every)

    def window_by(self, meta: Any, c: list[Any]) -> tuple:
        return tuple(c)

    def aggregate_op(self, meta: Any, c: list[Any]) -> ast.AggregateOp:
        return ast.AggregateOp(tuple(c), _span(meta))

    def having_op(self, meta: Any, c: list[Any]) -> ast.HavingOp:
        return ast.HavingOp(c[0], _span(meta))

    def lookup_op(self, meta: Any, c: list[Any]) -> ast.LookupOp:
        return ast.LookupOp(self._name(c[0]), c[1], _span(meta))

    def select_item(self, meta: Any, c: list[Any]) -> ast.SelectItem:
        alias = self._name(c[1]) if len(c) > 1 else None
        return ast.SelectItem(c[0], alias, _span(meta))

    # ---------------------------------------------------------------- patterns
    def pattern_def(self, meta: Any, children: list[Any]) -> ast.Pattern:
        name, *clauses = children
        found: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        conditions: list[ast.Condition] = []
        for kind, value, span in clauses:
            if kind == "where":
                conditions.extend(value)
                spans.setdefault(kind, span)
                continue
            if kind in found:
                self.diag.error(span, f"pattern '{name}' has two '{_CLAUSE_TEXT[kind]}' clauses")
            found[kind] = value
            spans[kind] = span
        partition = found.get("partition")
        return ast.Pattern(
            name=self._name(name),
            source=found.get("from"),
            partition_by=partition,
            partition_span=spans.get("partition"),
            match=found.get("match"),
            conditions=tuple(conditions),
            within=found.get("within"),
            ttl=found.get("ttl"),
            skip=found.get("skip"),
            emit=found.get("emit"),
            timeout_emit=found.get("timeout_emit"),
            span=_span(meta),
            clause_spans=spans,
        )

    def from_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("from", self._name(c[0]), _span(meta))

    def partition_clause(self, meta: Any, c: list[Any]) -> tuple:
        if len(c) == 1 and isinstance(c[0], Token) and c[0].type == "NONE":
            return ("partition", (), _span(meta))
        return ("partition", tuple(c), _span(meta))

    def match_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("match", _as_match(c[0]), _span(meta))

    def where_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("where", list(c), _span(meta))

    def where_entry(self, meta: Any, c: list[Any]) -> ast.Condition:
        return ast.Condition(self._name(c[0]), c[1], _span(meta))

    def within_clause(self, meta: Any, c: list[Any]) -> tuple:
        within = ast.Within(self._duration(c[0]), len(c) > 1, _span(meta))
        return ("within", within, _span(meta))

    def ttl_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("ttl", self._duration(c[0]), _span(meta))

    def between_events(self, meta: Any, c: list[Any]) -> bool:
        return True

    def skip_clause(self, meta: Any, c: list[Any]) -> tuple:
        kind, var = c[0]
        return ("skip", ast.Skip(kind, var, _span(meta)), _span(meta))

    def skip_no(self, meta: Any, c: list[Any]) -> tuple:
        return ("no", None)

    def skip_to_next(self, meta: Any, c: list[Any]) -> tuple:
        return ("to_next", None)

    def skip_past_last(self, meta: Any, c: list[Any]) -> tuple:
        return ("past_last", None)

    def skip_to_first(self, meta: Any, c: list[Any]) -> tuple:
        return ("to_first", self._name(c[0]))

    def skip_to_last(self, meta: Any, c: list[Any]) -> tuple:
        return ("to_last", self._name(c[0]))

    def emit_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("emit", tuple(c), _span(meta))

    def timeout_emit_clause(self, meta: Any, c: list[Any]) -> tuple:
        return ("timeout_emit", tuple(c), _span(meta))

    # ---------------------------------------------------------------- match structure
    def alternation(self, meta: Any, c: list[Any]) -> ast.Alternation:
        return ast.Alternation(tuple(_as_branch(x) for x in c), _span(meta))

    def conjunction(self, meta: Any, c: list[Any]) -> ast.Conjunction:
        return ast.Conjunction(tuple(_as_seq(x) for x in c), _span(meta))

    def sequence(self, meta: Any, c: list[Any]) -> ast.Sequence:
        steps = [ast.Step(None, c[0])]
        for i in range(1, len(c), 2):
            steps.append(ast.Step(c[i], c[i + 1]))
        return ast.Sequence(tuple(steps), _span(meta))

    def connector(self, meta: Any, c: list[Any]) -> str:
        return {",": "strict", "->": "relaxed", "->>": "any"}[str(c[0])]

    def element(self, meta: Any, c: list[Any]) -> ast.Element:
        negated = False
        if isinstance(c[0], Token) and c[0].type == "BANG":
            negated = True
            c = c[1:]
        atom, *rest = c
        quant: dict[str, Any] | None = None
        within = None
        for item in rest:
            tag = item[0]
            if tag == "q":
                quant = dict(low=item[1], high=item[2], optional=item[3], span=item[4])
            elif tag == "within":
                within = item[1]
            else:
                if quant is None:
                    # a modifier without a quantifier: `b optional` means `b?`; the checker
                    # rejects the loop-only modifiers on a single event
                    quant = dict(low=1, high=1, optional=False, span=item[-1], bare=True)
                if tag == "optional":
                    quant["optional"] = True
                elif tag in ("consecutive", "any"):
                    quant["inner"] = "strict" if tag == "consecutive" else "any"
                    quant.setdefault("inner_span", item[-1])
                elif tag == "greedy":
                    quant["greedy"] = True
                    quant.setdefault("greedy_span", item[-1])
                elif tag == "until":
                    quant["until"] = item[1]
        quantifier = None
        if quant is not None:
            bare = quant.pop("bare", False)
            extra = {k: quant.pop(k) for k in ("inner_span", "greedy_span") if k in quant}
            quantifier = ast.Quantifier(**quant)
            if bare and (quantifier.inner != "relaxed" or quantifier.greedy or quantifier.until):
                self.diag.error(
                    extra.get("inner_span") or extra.get("greedy_span") or quantifier.span,
                    "'consecutive', 'any', 'greedy' and 'until' apply to a loop",
                    hint="quantify the element first, e.g. 'b+ consecutive'",
                )
        return ast.Element(atom, negated, quantifier, within, _span(meta))

    def var(self, meta: Any, c: list[Any]) -> ast.VarRef:
        return ast.VarRef(str(c[0]), _span(c[0]))

    def group(self, meta: Any, c: list[Any]) -> Any:
        return _as_match(c[0])

    def q_optional(self, meta: Any, c: list[Any]) -> tuple:
        return ("q", 1, 1, True, _span(meta))

    def q_star(self, meta: Any, c: list[Any]) -> tuple:
        return ("q", 1, None, True, _span(meta))

    def q_plus(self, meta: Any, c: list[Any]) -> tuple:
        return ("q", 1, None, False, _span(meta))

    def q_exact(self, meta: Any, c: list[Any]) -> tuple:
        n = self._int(c[0], "a repeat count", minimum=1)
        return ("q", n, n, False, _span(meta))

    def q_at_least(self, meta: Any, c: list[Any]) -> tuple:
        n = self._int(c[0], "a repeat count")
        # {0,} is `*`: one or more, optional
        return ("q", max(n, 1), None, n == 0, _span(meta))

    def q_range(self, meta: Any, c: list[Any]) -> tuple:
        low = self._int(c[0], "a repeat count")
        high = self._int(c[1], "a repeat count", minimum=1)
        if high < low:
            self.diag.error(
                _span(meta),
                f"invalid repeat range {{{low},{high}}}: the upper bound is below the lower",
                hint=f"write {{{high},{low}}}",
            )
            high = low
        # {0,m} is `{1,m} optional`
        return ("q", max(low, 1), max(high, 1), low == 0, _span(meta))

    def m_optional(self, meta: Any, c: list[Any]) -> tuple:
        return ("optional", _span(meta))

    def m_consecutive(self, meta: Any, c: list[Any]) -> tuple:
        return ("consecutive", _span(meta))

    def m_any(self, meta: Any, c: list[Any]) -> tuple:
        return ("any", _span(meta))

    def m_greedy(self, meta: Any, c: list[Any]) -> tuple:
        return ("greedy", _span(meta))

    def m_until(self, meta: Any, c: list[Any]) -> tuple:
        return ("until", c[0], _span(meta))

    def step_within(self, meta: Any, c: list[Any]) -> tuple:
        return ("within", self._duration(c[0]))

    # ---------------------------------------------------------------- expressions
    def or_(self, meta: Any, c: list[Any]) -> ast.Binary:
        return ast.Binary(_span(meta), "or", c[0], c[1])

    def and_(self, meta: Any, c: list[Any]) -> ast.Binary:
        return ast.Binary(_span(meta), "and", c[0], c[1])

    def not_(self, meta: Any, c: list[Any]) -> ast.Unary:
        return ast.Unary(_span(meta), "not", c[0])

    def compare(self, meta: Any, c: list[Any]) -> ast.Binary:
        return ast.Binary(_span(meta), str(c[1]), c[0], c[2])

    def in_(self, meta: Any, c: list[Any]) -> ast.InList:
        negated = len(c) == 3
        return ast.InList(_span(meta), c[0], c[-1].items, negated)

    def between(self, meta: Any, c: list[Any]) -> ast.Between:
        negated = len(c) == 4
        return ast.Between(_span(meta), c[0], c[-2], c[-1], negated)

    def is_null(self, meta: Any, c: list[Any]) -> ast.IsNull:
        return ast.IsNull(_span(meta), c[0], len(c) == 2)

    def matches(self, meta: Any, c: list[Any]) -> ast.Matches:
        tok = c[-1]
        return ast.Matches(_span(meta), c[0], unquote(str(tok)), _span(tok), len(c) == 3)

    def arith(self, meta: Any, c: list[Any]) -> ast.Binary:
        return ast.Binary(_span(meta), str(c[1]), c[0], c[2])

    def neg(self, meta: Any, c: list[Any]) -> ast.Expr:
        operand = c[1]
        if isinstance(operand, ast.Literal) and isinstance(operand.value, int | float):
            return ast.Literal(_span(meta), -operand.value)
        return ast.Unary(_span(meta), "-", operand)

    def attr(self, meta: Any, c: list[Any]) -> ast.Attr:
        return ast.Attr(_span(meta), c[0], c[1].text)

    def number(self, meta: Any, c: list[Any]) -> ast.Literal:
        text = str(c[0])
        if not self._digits_ok(c[0]):
            return ast.Literal(_span(meta), 0)
        # beyond the float range (1e309) a number is infinite, as in IEEE 754 and JSON readers
        value: int | float = int(text) if text.isdigit() else float(text)
        return ast.Literal(_span(meta), value)

    def duration(self, meta: Any, c: list[Any]) -> ast.Duration:
        return self._duration(c[0])

    def string(self, meta: Any, c: list[Any]) -> ast.Literal:
        return ast.Literal(_span(meta), unquote(str(c[0])))

    def true(self, meta: Any, c: list[Any]) -> ast.Literal:
        return ast.Literal(_span(meta), True)

    def false(self, meta: Any, c: list[Any]) -> ast.Literal:
        return ast.Literal(_span(meta), False)

    def null(self, meta: Any, c: list[Any]) -> ast.Literal:
        return ast.Literal(_span(meta), None)

    def ref(self, meta: Any, c: list[Any]) -> ast.Ref:
        return ast.Ref(c[0].span, c[0].text)

    def call(self, meta: Any, c: list[Any]) -> ast.Call:
        name, *args = c
        return ast.Call(_span(meta), str(name), tuple(a for a in args if a is not None))

    def list(self, meta: Any, c: list[Any]) -> ast.ListExpr:
        return ast.ListExpr(_span(meta), tuple(x for x in c if x is not None))


_CLAUSE_TEXT = {
    "from": "from",
    "partition": "partition by",
    "match": "match",
    "within": "within",
    "ttl": "ttl",
    "skip": "skip",
    "emit": "emit",
    "timeout_emit": "on timeout emit",
}


def _as_seq(node: Any) -> ast.Sequence:
    """A bare element where a sequence is expected (a one-step sequence)."""
    if isinstance(node, ast.Sequence):
        return node
    if isinstance(node, ast.Element):
        return ast.Sequence((ast.Step(None, node),), node.span)
    # a nested alternation/conjunction inside a conjunction part: wrap it as one group element
    return ast.Sequence(
        (ast.Step(None, ast.Element(node, False, None, None, node.span)),), node.span
    )


def _as_branch(node: Any) -> ast.Sequence | ast.Conjunction:
    return node if isinstance(node, ast.Conjunction) else _as_seq(node)


def _as_match(node: Any) -> ast.MatchExpr:
    if isinstance(node, ast.Alternation | ast.Conjunction | ast.Sequence):
        return node
    return _as_seq(node)


_STATEMENT_START = re.compile(r"^[ \t]*(stream|model|view|pattern)[ \t]", re.MULTILINE)


def _statement_chunks(source: str) -> list[tuple[int, str]]:
    """(first line, text) for each top-level statement, for error recovery."""
    starts = [m.start() for m in _STATEMENT_START.finditer(source)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    chunks = []
    for a, b in zip(starts, [*starts[1:], len(source)], strict=True):
        chunks.append((source.count("\n", 0, a) + 1, source[a:b]))
    return chunks


_MAX_ERRORS_PER_STATEMENT = 10


def _parse_text(
    text: str, diag: Diagnostics, recover: bool = False
) -> list[ast.Declaration] | None:
    """Parse `text`; on a syntax error record it and return None. With `recover`, go on
    after each error (see syntax_errors.explain) to report the later ones too."""
    parser = _lark()
    postlex: BracketNewlines = parser.options.postlex  # type: ignore[assignment]
    try:
        tree = parser.parse(text)
    except UnexpectedInput as err:
        last = (err.line, err.column)
        recovery = explain(err, text, diag, list(postlex.open), parser)
        for _ in range(_MAX_ERRORS_PER_STATEMENT - 1):
            if not recover or recovery == "stop":
                break
            repaired = blank_clause(text, last[0]) if recovery == "blank" else recovery.apply(text)
            if repaired is None:
                break
            text = repaired
            try:
                parser.parse(text)
                break
            except UnexpectedInput as later:
                if (later.line, later.column) <= last:
                    if recovery == "blank" or later.line < last[0]:
                        break  # no progress: what follows is not reliable
                    recovery = "blank"  # the fix did not help: drop the clause instead
                    continue
                last = (later.line, later.column)
                recovery = explain(later, text, diag, list(postlex.open), parser)
        return None
    try:
        return ToAst(diag).transform(_bound(tree, diag))
    except VisitError as err:  # a bug in a transformer method, not a user error
        raise err.orig_exc from err


# ---------------------------------------------------------------- limits
# expression nodes that are operators (the leaves are literals and names)
_OPERATORS = frozenset(
    (
        "or_", "and_", "not_", "compare", "in_", "between", "is_null", "matches", "arith",
        "neg", "attr", "call", "list",
    )
)  # fmt: skip
_CHAINS = ("and_", "or_")
_REBALANCE_ABOVE = 8  # operands of an and/or chain before it is rebalanced


def _bound(tree: Tree, diag: Diagnostics) -> Tree:
    """The parse tree without the statements that cross a limit (each reported where it
    crosses it), with long and/or chains rebalanced. Iterative: any depth is fine here."""
    kept = []
    for statement in tree.children:
        if not isinstance(statement, Tree) or _within_limits(statement, diag):
            kept.append(statement)
    tree.children = kept
    for statement in kept:
        if isinstance(statement, Tree):
            _rebalance_chains(statement)
    return tree


def _within_limits(statement: Tree, diag: Diagnostics) -> bool:
    ok = True
    variables = 0
    sizes: dict[int, int] = {}  # expression root -> operators counted so far
    # (node, operator depth, the root of its expression, group depth)
    stack: list[tuple[Tree, int, int, int]] = [(statement, 0, 0, 0)]
    while stack:
        node, depth, root, groups = stack.pop()
        kind = node.data
        if kind in _OPERATORS:
            if root == 0:
                root = id(node)
            depth += 1
            size = sizes[root] = sizes.get(root, 0) + 1
            if size == MAX_EXPRESSION_SIZE + 1:
                ok = False
                diag.error(
                    _span(node.meta),
                    f"this expression is too large: more than {MAX_EXPRESSION_SIZE:,} operators",
                    hint="split it, or test a value against a list: 'x in [1, 2, 3]'",
                )
            if size > MAX_EXPRESSION_SIZE:
                continue
            if depth > MAX_EXPRESSION_DEPTH:
                ok = False
                diag.error(
                    _span(node.meta),
                    f"expression nested too deeply: more than {MAX_EXPRESSION_DEPTH} levels "
                    "of operators inside operators",
                )
                continue
            for child in node.children:
                if isinstance(child, Tree):
                    # an and/or chain is one level, however long
                    same_chain = kind in _CHAINS and child.data == kind
                    stack.append((child, depth - 1 if same_chain else depth, root, groups))
            continue
        if kind == "group":
            groups += 1
            if groups > MAX_GROUP_DEPTH:
                ok = False
                diag.error(
                    _span(node.meta),
                    f"groups nested too deeply: more than {MAX_GROUP_DEPTH} groups inside groups",
                )
                continue
        elif kind == "var":
            variables += 1
            if variables == MAX_PATTERN_VARIABLES + 1:
                ok = False
                diag.error(
                    _span(node.meta),
                    f"a pattern has at most {MAX_PATTERN_VARIABLES:,} variables in its 'match'",
                )
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, 0, 0, groups))
    return ok


def _rebalance_chains(statement: Tree) -> None:
    """`a and b and c and ...` parses as a left-leaning tree as deep as the chain is long;
    replace each chain of more than a few operands with a balanced tree of the same operands
    in the same order (the same value and the same short-circuit order)."""
    stack: list[Tree] = [statement]
    while stack:
        node = stack.pop()
        for i, child in enumerate(node.children):
            if not isinstance(child, Tree):
                continue
            if child.data in _CHAINS:
                operands = _chain_operands(child)
                if len(operands) > _REBALANCE_ABOVE:
                    node.children[i] = _balanced(child.data, operands, 0, len(operands))
                    stack.extend(o for o in operands if isinstance(o, Tree))
                    continue
            stack.append(child)


def _chain_operands(chain: Tree) -> list[Any]:
    """The operands of an and/or chain, left to right (parenthesized parts of the same
    operator included)."""
    operands: list[Any] = []
    pending: list[Any] = [chain]
    while pending:
        node = pending.pop()
        if isinstance(node, Tree) and node.data == chain.data:
            pending.extend(reversed(node.children))
        else:
            operands.append(node)
    return operands


def _balanced(kind: str, operands: list[Any], lo: int, hi: int) -> Any:
    if hi - lo == 1:
        return operands[lo]
    mid = (lo + hi) // 2
    left = _balanced(kind, operands, lo, mid)
    right = _balanced(kind, operands, mid, hi)
    meta = Meta()
    first = left.meta if isinstance(left, Tree) else left
    last = right.meta if isinstance(right, Tree) else right
    meta.line, meta.column, meta.start_pos = first.line, first.column, first.start_pos
    meta.end_line, meta.end_column, meta.end_pos = last.end_line, last.end_column, last.end_pos
    meta.empty = False
    return Tree(kind, [left, right], meta)


def parse(source: str, filename: str = "<text>") -> ast.Program:
    """Parse a pattern file; raise GressError with every syntax error found."""
    diag = Diagnostics(filename, source)
    program = parse_collecting(source, diag)
    diag.raise_if_errors()
    assert program is not None
    return program


def parse_collecting(source: str, diag: Diagnostics) -> ast.Program | None:
    """Parse, recording problems in `diag`. Statements that parse are kept even when
    others do not, so that the checker can still report on them."""
    text = source if source.endswith("\n") else source + "\n"
    whole = Diagnostics(diag.filename, source)
    declarations = _parse_text(text, whole)
    if declarations is not None:
        diag.items.extend(whole.items)
        return ast.Program(declarations, source, diag.filename)
    kept: list[ast.Declaration] = []
    for first_line, chunk in _statement_chunks(text):
        # pad with newlines so that lines and columns stay those of the whole file
        parsed = _parse_text("\n" * (first_line - 1) + chunk, diag, recover=True)
        if parsed:
            kept.extend(parsed)
    return ast.Program(kept, source, diag.filename)


_EXPRESSION_PREFIX = "view _ = _ | where "


def parse_expression(text: str, origin: str = "<expression>") -> ast.Expr:
    """Parse a single expression (used by `gress score --features` and tests)."""
    wrapped = _EXPRESSION_PREFIX + text
    diag = Diagnostics(origin, wrapped)
    program = parse_collecting(wrapped, diag)
    if diag.has_errors or program is None or not program.declarations:
        shift = len(_EXPRESSION_PREFIX)
        for d in diag.items:
            s = d.span
            d.span = Span(
                s.line, max(1, s.column - shift), s.end_line, max(1, s.end_column - shift)
            )
        raise GressError(diag.sorted(), origin, text)
    view = program.declarations[0]
    assert isinstance(view, ast.View) and isinstance(view.ops[0], ast.WhereOp)
    return view.ops[0].condition


def parse_file(path: str) -> ast.Program:
    with open(path, encoding="utf-8") as fh:
        return parse(fh.read(), path)


__all__ = [
    "GressError",
    "duration_ms",
    "parse",
    "parse_collecting",
    "parse_expression",
    "parse_file",
]
