"""The typed syntax tree of a pattern file.

Every node carries a `Span` so that the checker, the compiler and the runtime can point at the
text a user wrote. Nodes are plain frozen dataclasses: the parser builds them, nobody mutates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar
from typing import Literal as Lit

T = TypeVar("T")


@dataclass(slots=True, frozen=True)
class Span:
    """Where a node stands in its file (1-based lines and columns, end exclusive)."""

    line: int
    column: int
    end_line: int
    end_column: int

    def __repr__(self) -> str:
        return f"{self.line}:{self.column}"


NOWHERE = Span(0, 0, 0, 0)


# ------------------------------------------------------------------ expressions
@dataclass(slots=True, frozen=True)
class Expr:
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class Literal(Expr):
    value: Any


@dataclass(slots=True, frozen=True)
class Duration(Expr):
    """A duration literal; its value is in milliseconds."""

    ms: int
    text: str


@dataclass(slots=True, frozen=True)
class Ref(Expr):
    """A name as written: `amount`, or the first part of `a.amount` / `p.card_id`."""

    name: str


@dataclass(slots=True, frozen=True)
class Attr(Expr):
    """`obj.name`: a field of a variable's event, of a join side, or of a nested record."""

    obj: Expr
    name: str


@dataclass(slots=True, frozen=True)
class Call(Expr):
    func: str
    args: tuple[Expr, ...]


@dataclass(slots=True, frozen=True)
class Unary(Expr):
    op: Lit["-", "not"]
    operand: Expr


@dataclass(slots=True, frozen=True)
class Binary(Expr):
    """Arithmetic (`+ - * / %`), comparison (`== != < <= > >=`) and logic (`and or`)."""

    op: str
    left: Expr
    right: Expr


@dataclass(slots=True, frozen=True)
class InList(Expr):
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool


@dataclass(slots=True, frozen=True)
class Between(Expr):
    operand: Expr
    low: Expr
    high: Expr
    negated: bool


@dataclass(slots=True, frozen=True)
class IsNull(Expr):
    operand: Expr
    negated: bool


@dataclass(slots=True, frozen=True)
class Matches(Expr):
    operand: Expr
    regex: str
    regex_span: Span = field(compare=False)
    negated: bool = False


@dataclass(slots=True, frozen=True)
class ListExpr(Expr):
    items: tuple[Expr, ...]


# ------------------------------------------------------------------ shared pieces
@dataclass(slots=True, frozen=True)
class Name:
    """An identifier with its position (declaration names, field names, variables)."""

    text: str
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class SelectItem:
    """`expr [as alias]` in `emit`, `select` and `aggregate`."""

    expr: Expr
    alias: Name | None
    span: Span = field(compare=False)


# ------------------------------------------------------------------ streams
@dataclass(slots=True, frozen=True)
class SchemaField:
    name: Name
    type: Name
    nullable: bool
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class Stream:
    name: Name
    key: Name | None
    time: Name | None
    lateness: Duration | None
    idle: Duration | None
    schema: tuple[SchemaField, ...] | None
    span: Span = field(compare=False)
    time_unit: Name | None = None  # `time ts seconds`: the unit of numbers in the time field


# ------------------------------------------------------------------ models
@dataclass(slots=True, frozen=True)
class ModelVariant:
    path: str
    weight: float | None
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class Model:
    name: Name
    variants: tuple[ModelVariant, ...]
    split_by: Name | None
    inputs: tuple[Expr, ...]
    output: Name | None
    output_index: int | None
    batch: int | None
    delay: Duration | None
    shadows: tuple[ModelVariant, ...]
    threads: int | None
    span: Span = field(compare=False)


# ------------------------------------------------------------------ views
@dataclass(slots=True, frozen=True)
class SourceRef:
    name: Name
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class JoinSide:
    stream: Name
    alias: Name


@dataclass(slots=True, frozen=True)
class JoinSource:
    kind: Lit["inner", "left"]
    left: JoinSide
    right: JoinSide
    on: Expr
    within: Duration
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class UnionSource:
    """`union A, B, ...`: the records of all inputs as one stream."""

    inputs: tuple[Name, ...]
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class WhereOp:
    condition: Expr
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class SelectOp:
    items: tuple[SelectItem, ...]
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class ScoreOp:
    model: Name
    alias: Name
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class WindowOp:
    kind: Lit["tumbling", "sliding", "session", "count"]
    size: Duration | None  # tumbling/sliding size
    every: Duration | None  # sliding step
    gap: Duration | None  # session gap
    count: int | None  # count window size
    count_every: int | None
    by: tuple[Name, ...]
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class AggregateOp:
    items: tuple[SelectItem, ...]
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class HavingOp:
    condition: Expr
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class LookupOp:
    table: Name
    on: Name
    span: Span = field(compare=False)


ViewOp = WhereOp | SelectOp | ScoreOp | WindowOp | AggregateOp | HavingOp | LookupOp


@dataclass(slots=True, frozen=True)
class View:
    name: Name
    source: SourceRef | JoinSource | UnionSource
    ops: tuple[ViewOp, ...]
    span: Span = field(compare=False)


# ------------------------------------------------------------------ patterns
Contiguity = Lit["strict", "relaxed", "any"]


@dataclass(slots=True, frozen=True)
class Quantifier:
    """How often an element repeats: `low..high` times (`high` None = unbounded).

    `optional` allows zero; `inner` is the contiguity between the loop's own events
    (relaxed by default, `consecutive` = strict, `any` = non-deterministic relaxed).
    """

    low: int
    high: int | None
    optional: bool = False
    inner: Contiguity = "relaxed"
    greedy: bool = False
    until: Expr | None = None
    span: Span = field(default=NOWHERE, compare=False)

    @property
    def looping(self) -> bool:
        return self.high is None


@dataclass(slots=True, frozen=True)
class VarRef:
    name: str
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class Element:
    """One step of a sequence: a variable or a parenthesized group, maybe negated or quantified."""

    atom: VarRef | Sequence | Alternation | Conjunction
    negated: bool
    quantifier: Quantifier | None
    within: Duration | None  # per-step window: at most this long since the previous step
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class Step:
    """An element and how it follows the previous one (None for the first element)."""

    contiguity: Contiguity | None
    element: Element


@dataclass(slots=True, frozen=True)
class Sequence:
    steps: tuple[Step, ...]
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class Alternation:
    options: tuple[Sequence | Conjunction, ...]
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class Conjunction:
    parts: tuple[Sequence, ...]
    span: Span = field(compare=False)


MatchExpr = Sequence | Alternation | Conjunction


@dataclass(slots=True, frozen=True)
class Condition:
    var: Name
    expr: Expr
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class Within:
    duration: Duration
    between_events: bool
    span: Span = field(compare=False)


SkipKind = Lit["no", "to_next", "past_last", "to_first", "to_last"]


@dataclass(slots=True, frozen=True)
class Skip:
    kind: SkipKind
    var: Name | None
    span: Span = field(compare=False)


@dataclass(slots=True, frozen=True)
class Pattern:
    name: Name
    source: Name | None
    partition_by: tuple[Name, ...] | None  # None: the stream's key; () : `partition by none`
    partition_span: Span | None
    match: MatchExpr | None
    conditions: tuple[Condition, ...]
    within: Within | None
    skip: Skip | None
    emit: tuple[SelectItem, ...] | None
    timeout_emit: tuple[SelectItem, ...] | None
    span: Span = field(compare=False)
    clause_spans: dict[str, Span] = field(default_factory=dict, compare=False, hash=False)
    ttl: Duration | None = None  # a key with no event for this long loses its partial matches


Declaration = Stream | Model | View | Pattern


@dataclass(slots=True)
class Program:
    """A parsed pattern file: its declarations in file order."""

    declarations: list[Declaration]
    source: str
    filename: str

    def of_type(self, kind: type[T]) -> list[T]:
        return [d for d in self.declarations if isinstance(d, kind)]
