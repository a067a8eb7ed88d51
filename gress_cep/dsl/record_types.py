"""What the checker knows about the records that flow through streams, views and patterns.

A stream with a `schema` has typed fields; without one, any field name is accepted and its type
is unknown ("any"). Views derive new record types from their input (DSL §4); a join view's
records hold one nested record per alias. The same naming rule for computed outputs
(`emit`, `select`, `aggregate`) serves the checker and the compiler: `output_name`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gress_cep.dsl import ast
from gress_cep.dsl.functions import TYPES

# value types: the schema types of functions.TYPES plus the ones expressions can produce
ANY = "any"  # unknown until run time (a field of a record without schema)
NULL = "null"  # the literal null
LIST = "list"  # a [..] literal
DURATION = "duration"  # a duration literal, milliseconds


@dataclass(slots=True)
class Record:
    """The fields of a record. `open`: fields not listed may exist too and read as "any".

    `joined` marks the record of a join view before a `select` flattens it: its fields are
    the join aliases, and a bare field name there is ambiguous.
    """

    fields: dict[str, Type] = field(default_factory=dict)
    open: bool = False
    joined: bool = False

    def get(self, name: str) -> Type | None:
        """The type of field `name`; "any" for an open record; None when it cannot exist."""
        if name in self.fields:
            return self.fields[name]
        return ANY if self.open else None

    def extended(self, extra: dict[str, Type], *, open: bool = False) -> Record:
        """This record with more fields (the existing ones keep their types)."""
        fields = dict(extra)
        fields.update(self.fields)
        return Record(fields, self.open or open)


Type = str | Record

UNKNOWN_RECORD = Record(open=True)

_ARTICLE = {
    "int": "an int",
    "any": "a value of unknown type",
    "event": "an event",
}


def describe(t: Type) -> str:
    """`a string`, `an int`, `a record` — for messages."""
    if isinstance(t, Record):
        return "a record"
    return _ARTICLE.get(t, f"a {t}")


def from_schema(schema: tuple[ast.SchemaField, ...] | None) -> Record:
    """The record type a stream declares; an open record without `schema`."""
    if schema is None:
        return Record(open=True)
    fields: dict[str, Type] = {}
    for f in schema:
        # a duplicate field or an unknown type is reported by the checker; the first one stands
        fields.setdefault(f.name.text, f.type.text if f.type.text in TYPES else ANY)
    return Record(fields)


def output_name(expr: ast.Expr) -> str | None:
    """The name of an output without `as`: `f` -> `f`, `v.f` -> `v_f`, `count(b)` -> `count_b`,
    `first(b).f` -> `first_b_f`, `count()` -> `count`; None when the expression has no
    natural name (arithmetic, literals), which then needs `as`."""
    match expr:
        case ast.Ref(name=name):
            return name
        case ast.Attr(obj=obj, name=name):
            base = output_name(obj)
            return f"{base}_{name}" if base else None
        case ast.Call(func=func, args=args):
            parts = [output_name(a) for a in args]
            if any(p is None for p in parts):
                return None
            return "_".join([func, *parts])  # type: ignore[list-item]
    return None
