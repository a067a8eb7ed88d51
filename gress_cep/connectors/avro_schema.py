"""Avro schemas for gress: read plans from writer schemas, and schemas inferred from records.

Reading: a writer schema (from the registry or a container file's header) is read with the
stream's declared `schema` as the reader schema, so that Avro schema resolution handles
evolution (renamed-by-alias, added-with-default and promoted fields). Every timestamp logical
type is read as an epoch-ms int, which is what the engine uses as event time: millisecond ones
as their plain longs, microsecond and nanosecond ones (`timestamp-micros`,
`local-timestamp-nanos`, ...) through a reader of gress's own that divides (floor) — a
`local-` timestamp has no zone and is taken as UTC, as a naive ISO-8601 time is.

Writing: output records have no declared schema, so one is inferred from the records themselves
and widened when a later record brings a new field or type. Every field is a union with "null"
and defaults to null, so each widened schema stays backward compatible with the previous one.
A key that is not a valid Avro name is written under one (`content-type` -> `content_type`,
`1st` -> `_1st`, `_2`, `_3`, ... against a clash), with the key as written in the field's `doc`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import fastavro.read
from fastavro import parse_schema

from gress_cep.connectors.avro_guard import CountGuard
from gress_cep.connectors.codec import int_text
from gress_cep.dsl.ast import Stream

# Logical types whose underlying long is exactly what gress wants: epoch milliseconds.
_MILLIS_TIMESTAMPS = {"timestamp-millis", "local-timestamp-millis"}
# Finer ones, read through a logical type of gress's own (a name no writer uses, so fastavro's
# own readers for the standard names stay as they are for anyone else in the process): fastavro
# makes datetimes of micros, which are no event time, and leaves nanos as raw longs.
_FINER_TIMESTAMPS = {
    "timestamp-micros": ("gress-epoch-ms-from-micros", 1000),
    "local-timestamp-micros": ("gress-epoch-ms-from-micros", 1000),
    "timestamp-nanos": ("gress-epoch-ms-from-nanos", 1_000_000),
    "local-timestamp-nanos": ("gress-epoch-ms-from-nanos", 1_000_000),
}


def _epoch_ms_reader(per_ms: int) -> Callable[[int, Any, Any], int]:
    def read(data: int, writer_schema: Any, reader_schema: Any) -> int:
        return data // per_ms  # floor, as a negative time rounds down too

    return read


for _name, _per_ms in dict(_FINER_TIMESTAMPS.values()).items():
    fastavro.read.LOGICAL_READERS[f"long-{_name}"] = _epoch_ms_reader(_per_ms)

_STREAM_TO_AVRO: dict[str, Any] = {
    "string": "string",
    "int": "long",
    "float": "double",
    "bool": "boolean",
    "timestamp": ["long", "double", "string"],  # epoch ms, epoch seconds, ISO-8601
}


@dataclass(slots=True, frozen=True)
class ReadPlan:
    """Parsed schemas for `fastavro.schemaless_reader(fo, writer, reader)`, and the check of
    declared item counts that values of the writer schema need first (None: none needed)."""

    writer: Any
    reader: Any | None
    guard: CountGuard | None = None


def read_plan(writer_schema: Any, stream: Stream | None) -> ReadPlan:
    plain = plain_schema(writer_schema)
    reader = stream_reader_schema(stream, plain) if stream is not None else None
    return ReadPlan(
        parse_schema(plain),
        parse_schema(reader) if reader is not None else None,
        CountGuard.for_schema(plain),
    )


def plain_schema(schema: Any) -> Any:
    """`schema` with every timestamp logical type read as epoch ms: millisecond ones dropped
    (plain longs), finer ones replaced by gress's own readers."""
    if isinstance(schema, list):
        return [plain_schema(branch) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    logical = schema.get("logicalType")
    if logical in _MILLIS_TIMESTAMPS:
        return plain_schema({k: v for k, v in schema.items() if k != "logicalType"})
    if logical in _FINER_TIMESTAMPS and schema.get("type") == "long":
        return {**schema, "logicalType": _FINER_TIMESTAMPS[logical][0]}
    return {key: plain_schema(value) for key, value in schema.items()}


def stream_reader_schema(stream: Stream, writer_schema: Any) -> dict | None:
    """The stream's declared schema as an Avro reader record, named like the writer's record.

    Avro resolution matches records by name, so the reader takes the writer's name and
    namespace. Nullable fields default to null, so records from older writers without them
    still resolve. None when the stream declares no schema.
    """
    if stream.schema is None:
        return None
    fields = []
    for declared in stream.schema:
        avro_type = _STREAM_TO_AVRO[declared.type.text]
        if declared.nullable:
            branches = avro_type if isinstance(avro_type, list) else [avro_type]
            nullable = ["null", *branches]
            fields.append({"name": declared.name.text, "type": nullable, "default": None})
        else:
            fields.append({"name": declared.name.text, "type": avro_type})
    named = writer_schema if isinstance(writer_schema, dict) else {}
    record: dict[str, Any] = {
        "type": "record",
        "name": named.get("name", stream.name.text),
        "fields": fields,
    }
    if "namespace" in named:
        record["namespace"] = named["namespace"]
    return record


# ------------------------------------------------------------------ inference
_PRIMITIVE_ORDER = ("boolean", "long", "double", "string", "bytes")
_KIND_OF: dict[type, str] = {
    type(None): "null",
    bool: "boolean",
    int: "long",
    float: "double",
    str: "string",
    bytes: "bytes",
}
_LONG = (-(2**63), 2**63 - 1)
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


def avro_kind(value: Any) -> str:
    """What a decoded value that is not a record was, for a reason a person reads."""
    if isinstance(value, list):
        return "array"
    return _KIND_OF.get(type(value), type(value).__name__)


@dataclass(slots=True)
class Shape:
    """What values were seen at one place in the records: primitive kinds, objects, lists."""

    kinds: set[str] = field(default_factory=set)
    fields: dict[str, Shape] | None = None  # seen a JSON object: its fields, by Avro name
    items: Shape | None = None  # seen a list: its elements
    names: dict[str, str] = field(default_factory=dict)  # a field's key -> its Avro name


class InferredSchema:
    """A record schema that grows to fit every record observed so far."""

    def __init__(self, name: str) -> None:
        self.name = avro_name(name)
        self._shape = Shape(fields={})
        self.schema: dict = self._to_avro()

    def observe(self, records: list[dict]) -> tuple[list[dict], bool]:
        """The records ready for the Avro writer, and whether the schema had to grow."""
        before = self.schema
        ready = [self._fit_record(self._shape, record) for record in records]
        self.schema = self._to_avro()
        return ready, self.schema != before

    def _fit_record(self, shape: Shape, record: dict) -> dict:
        fields = shape.fields
        assert fields is not None
        out = {}
        for key, value in record.items():
            name = shape.names.get(key)
            if name is None:
                name = shape.names[key] = _field_name(str(key), fields)
                fields[name] = Shape({"null"})
            out[name] = self._fit(fields[name], value)
        return out

    def _fit(self, shape: Shape, value: Any) -> Any:
        kind = _KIND_OF.get(type(value))
        if kind == "long" and not _LONG[0] <= value <= _LONG[1]:
            shape.kinds.add("string")  # beyond an Avro long: its exact digits, as text
            return int_text(value)
        if kind == "double" and not math.isfinite(value):
            return None  # NaN and infinity are written as null, in every format
        if kind is not None:
            shape.kinds.add(kind)
            return value
        if isinstance(value, dict):
            if shape.fields is None:
                shape.fields = {}
            return self._fit_record(shape, value)
        if isinstance(value, list | tuple):
            if shape.items is None:
                shape.items = Shape({"null"})
            return [self._fit(shape.items, item) for item in value]
        shape.kinds.add("string")  # datetimes, decimals, UUIDs: written as their text
        return str(value)

    def _to_avro(self) -> dict:
        return self._record(self.name, self._shape)

    def _record(self, name: str, shape: Shape) -> dict:
        assert shape.fields is not None
        originals = {avro: str(key) for key, avro in shape.names.items() if str(key) != avro}
        fields = []
        for key, child in shape.fields.items():
            declared: dict[str, Any] = {
                "name": key,
                "type": self._union(f"{name}_{key}", child),
                "default": None,
            }
            if key in originals:  # the name as written in the records
                declared["doc"] = originals[key]
            fields.append(declared)
        return {"type": "record", "name": name, "fields": fields}

    def _union(self, name: str, shape: Shape) -> list:
        branches: list[Any] = ["null"]
        branches += [kind for kind in _PRIMITIVE_ORDER if kind in shape.kinds]
        if shape.fields is not None:
            branches.append(self._record(name, shape))
        if shape.items is not None:
            branches.append({"type": "array", "items": self._union(f"{name}_item", shape.items)})
        return branches


def _field_name(key: str, taken: dict[str, Shape]) -> str:
    """The Avro name of a record field: `key` made valid (`content-type` -> `content_type`,
    `1st` -> `_1st`), then `_2`, `_3`, ... when another field of the record has it already."""
    name = avro_name(key or "_")
    if name not in taken:
        return name
    n = 2
    while f"{name}_{n}" in taken:
        n += 1
    return f"{name}_{n}"


def avro_name(text: str) -> str:
    """`text` made a valid Avro name (letters, digits, underscores; no leading digit)."""
    name = _NAME_CHARS.sub("_", text) or "record"
    return f"_{name}" if name[0].isdigit() else name
