"""Checking records against a stream's declared `schema`, the same way for every source.

A record that fails goes to the dead-letter output with a reason a person can act on, such as
`field 'amount': expected float, got string "abc"`. The check runs per field over a whole batch
(one comprehension per field), so that a clean batch costs a few C-level passes and only the
failing records are looked at one by one. A nullable field (`T?`) may be null or missing.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from gress_cep.connectors.base import DeadLetter, Record
from gress_cep.dsl.ast import Stream
from gress_cep.errors import UserError
from gress_cep.runtime.event_time import to_epoch_ms

SCHEMA_TYPES = ("string", "int", "float", "bool", "timestamp")

# Python types a JSON/Avro/CSV value may have for each schema type; `bool` is never an `int`
# here because the check compares exact types.
_ACCEPTED: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "int": frozenset({int}),
    "float": frozenset({float, int}),
    "bool": frozenset({bool}),
    "timestamp": frozenset({int, float, str}),  # epoch ms or s, ISO-8601 (DSL §2)
}


class _Missing:
    """Stands for an absent field, so that a missing field fails the type test like a wrong one."""


_MISSING = _Missing()


@dataclass(slots=True, frozen=True)
class FieldRule:
    name: str
    type: str
    nullable: bool
    accepted: frozenset[builtins.type]  # `type` here is the field above
    absent: object  # what a missing field counts as: null when nullable, else _MISSING


class Validator:
    """The compiled form of a stream schema: per field, the value types it accepts."""

    def __init__(self, stream: Stream) -> None:
        if stream.schema is None:
            raise ValueError("a Validator needs a stream with a schema")
        rules = []
        for declared in stream.schema:
            kind = declared.type.text
            if kind not in _ACCEPTED:
                raise UserError(
                    f"stream '{stream.name.text}': field '{declared.name.text}' has unknown type "
                    f"'{kind}'",
                    hint="schema types are " + ", ".join(SCHEMA_TYPES) + " (add ? for nullable)",
                )
            accepted = (_ACCEPTED[kind] | {type(None)}) if declared.nullable else _ACCEPTED[kind]
            absent = None if declared.nullable else _MISSING
            rules.append(FieldRule(declared.name.text, kind, declared.nullable, accepted, absent))
        self.stream_name = stream.name.text
        self.rules: tuple[FieldRule, ...] = tuple(rules)

    def check(self, records: list[Record]) -> list[tuple[int, str]]:
        """The records that break the schema: (index, reason), in index order."""
        failing: set[int] = set()
        for rule in self.rules:
            name, accepted, absent = rule.name, rule.accepted, rule.absent
            failing.update(
                i
                for i, record in enumerate(records)
                if type(record.get(name, absent)) not in accepted
            )
            if rule.type == "timestamp":
                failing.update(
                    i
                    for i, record in enumerate(records)
                    if type(record.get(name)) is str and not _is_time_text(record[name])
                )
        return [(i, self.reason(records[i])) for i in sorted(failing)]

    def reason(self, record: Record) -> str:
        """Why `record` breaks the schema (the first failing field, in schema order)."""
        for rule in self.rules:
            value = record.get(rule.name, rule.absent)
            if value is _MISSING:
                return f"field '{rule.name}' is missing (expected {rule.type})"
            if type(value) not in rule.accepted:
                reason = f"field '{rule.name}': expected {rule.type}, got {describe(value)}"
                if value is None:
                    reason += f" (declare it `{rule.type}?` to allow null)"
                return reason
            if rule.type == "timestamp" and type(value) is str and not _is_time_text(value):
                return (
                    f"field '{rule.name}': expected timestamp, got {describe(value)} "
                    "(not epoch ms, epoch seconds or ISO-8601)"
                )
        raise ValueError("reason() called for a valid record")


def set_aside_invalid(
    validator: Validator,
    records: list[Record],
    raw_of: Callable[[int], bytes],
    origin_of: Callable[[int], str],
) -> tuple[list[Record], list[DeadLetter]]:
    """The records that pass, and a dead letter for each one that does not.

    `raw_of(i)` and `origin_of(i)` give the original bytes and the origin of `records[i]`; they
    are called for failing records only.
    """
    rejected = validator.check(records)
    if not rejected:
        return records, []
    dead = [DeadLetter(raw_of(i), reason, origin_of(i), records[i]) for i, reason in rejected]
    dropped = {i for i, _ in rejected}
    return [r for i, r in enumerate(records) if i not in dropped], dead


def _is_time_text(text: str) -> bool:
    """ISO-8601, or a number written out: the text forms of a time (DSL §2)."""
    return to_epoch_ms(text) is not None


_TYPE_NAMES: dict[type, str] = {
    str: "string",
    int: "int",
    float: "float",
    bool: "bool",
    dict: "object",
    list: "list",
}


def describe(value: object, limit: int = 40) -> str:
    """`string "abc"`, `float 1.5`, `null`: a value as it appears in a reason."""
    if value is None:
        return "null"
    try:
        text = orjson.dumps(value, default=str).decode()
    except TypeError:
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{_TYPE_NAMES.get(type(value), type(value).__name__)} {text}"
