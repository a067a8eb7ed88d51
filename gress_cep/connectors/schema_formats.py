"""JSON Schema and Protobuf values in the Confluent wire format, beside Avro (confluent.py).

Reading follows the Avro path: the writer schema of each id is fetched once (registry.py) and
turned into a reader kept for the run; a value that cannot be read is a DecodeError with its
reason (a dead letter). A stream that declares a `schema` is the reader's schema, as for Avro:
a writer schema that cannot give the declared fields ("does not resolve") makes every record of
its id a dead letter, fields the stream does not declare are dropped, and an int is promoted to
a float field (`StreamFit`).

- JSON Schema: `0x00 | id | JSON text`. Each record is checked against the writer's JSON
  Schema (the `jsonschema` package, as `confluent_kafka.schema_registry.json_schema` does);
  references are resolved through the registry only — never fetched from elsewhere.
- Protobuf: `0x00 | id | message indexes | message`. The writer's file descriptor (asked for
  in the registry's `serialized` form) is loaded into a descriptor pool with the well-known
  types and its references (confluent_kafka.schema_registry.protobuf's helpers); the message
  indexes say which message of the file a value is. Fields with presence that are not set are
  null; `google.protobuf.Timestamp` is read as epoch ms, wrapper types as their value, enums as
  their names.

Writing: the output schema is inferred from the records (avro_schema.InferredSchema, the same
inference, field names and widening as Avro output) and translated to a JSON Schema or a
proto2 file; `confluent_kafka.schema_registry.json_schema.JSONSerializer` and
`.protobuf.ProtobufSerializer` frame the values and register each widened schema as a new
version of `<topic>-value`.
"""

from __future__ import annotations

import json
import string
from io import BytesIO
from typing import Any

import orjson
from confluent_kafka.schema_registry import (
    Schema,
    SchemaRegistryClient,
    topic_subject_name_strategy,
)
from confluent_kafka.schema_registry.common.serde import SchemaId
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from gress_cep.connectors.base import Record
from gress_cep.connectors.codec import DecodeError, encode_json, json_kind
from gress_cep.connectors.confluent import (
    HEADER_SIZE,
    InferringEncoder,
    Unresolvable,
    clip,
)
from gress_cep.connectors.registry import fetch_schema, register_schema, registry_errors
from gress_cep.dsl.ast import Stream

# ------------------------------------------------------------------ the stream's schema

# what each declared type can be read from (as Avro resolution promotes int to float, and a
# timestamp reads a long, a double or a string)
_ACCEPTS = {
    "string": {"string"},
    "int": {"int"},
    "float": {"int", "float"},
    "bool": {"bool"},
    "timestamp": {"int", "float", "string"},
}


class StreamFit:
    """A stream's declared schema as the reader of JSON Schema and Protobuf values."""

    def __init__(self, stream: Stream | None) -> None:
        declared = stream.schema if stream is not None else None
        self.fields: list[tuple[str, str, bool]] | None = (
            [(d.name.text, d.type.text, d.nullable) for d in declared] if declared else None
        )

    def problem(self, writer: dict[str, set[str] | None]) -> str | None:
        """Why records of a writer schema (field -> the kinds of values it can hold; None:
        any) cannot be read as the stream's; None when they can."""
        for name, kind, nullable in self.fields or ():
            if name not in writer:
                if nullable:
                    continue  # an older writer without it: null, as in Avro
                return (
                    f"field '{name}' ({kind}) is not in the writer schema "
                    f"(declare it `{kind}?` to read records without it)"
                )
            kinds = writer[name]
            if kinds is None:
                continue
            wrong = kinds - {"null"} - _ACCEPTS[kind]
            if wrong:
                return (
                    f"field '{name}' is {' or '.join(sorted(wrong))} in the writer schema, "
                    f"the stream declares {kind}"
                )
        return None

    def project(self, record: Record) -> Record:
        """The declared fields of `record` (a missing one stays missing: the validator
        names it), ints in float fields as floats."""
        if self.fields is None:
            return record
        out = {}
        for name, kind, _ in self.fields:
            if name in record:
                value = record[name]
                out[name] = float(value) if kind == "float" and type(value) is int else value
        return out


_AVRO_KINDS = {
    "null": "null",
    "boolean": "bool",
    "int": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "string": "string",
    "bytes": "bytes",
    "enum": "string",
    "fixed": "bytes",
    "record": "object",
    "map": "object",
    "array": "array",
}


def avro_fields(schema: Any) -> dict[str, set[str] | None]:
    """The fields of an Avro record schema with the kinds of values each may hold (a
    timestamp logical type is an int: epoch ms), for StreamFit (`gress detect --dry-run`)."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return {}
    out: dict[str, set[str] | None] = {}
    for declared in schema.get("fields", []):
        branches = declared["type"] if isinstance(declared["type"], list) else [declared["type"]]
        kinds: set[str] = set()
        for branch in branches:
            name = branch.get("type") if isinstance(branch, dict) else branch
            if not isinstance(name, str) or name not in _AVRO_KINDS:
                kinds.add("object")  # a named type defined elsewhere
            else:
                kinds.add(_AVRO_KINDS[name])
        out[declared["name"]] = kinds
    return out


def _check(fit: StreamFit, schema_id: int, writer: dict[str, set[str] | None]) -> None:
    problem = fit.problem(writer)
    if problem is not None:
        raise Unresolvable(
            f"schema id {schema_id} does not resolve to the stream's schema: {problem}"
        )


# ------------------------------------------------------------------ JSON Schema

_JSON_KINDS = {
    "integer": "int",
    "number": "float",
    "string": "string",
    "boolean": "bool",
    "null": "null",
    "object": "object",
    "array": "array",
}


def json_schema_fields(document: Any) -> dict[str, set[str] | None]:
    """The top-level properties of a JSON Schema with the kinds of values each may hold."""
    properties = document.get("properties") if isinstance(document, dict) else None
    out: dict[str, set[str] | None] = {}
    for name, spec in (properties or {}).items():
        declared = spec.get("type") if isinstance(spec, dict) else None
        if declared is None:
            out[name] = None
            continue
        names = [declared] if isinstance(declared, str) else list(declared)
        out[name] = {_JSON_KINDS.get(n, n) for n in names}
    return out


class JsonSchemaPayloads:
    """Values of one JSON Schema id: JSON text, checked against the writer's schema."""

    def __init__(
        self,
        client: SchemaRegistryClient,
        url: str,
        schema_id: int,
        writer: Schema,
        stream: Stream | None,
    ) -> None:
        from jsonschema.validators import Draft7Validator, validator_for
        from referencing import Registry, Resource

        assert writer.schema_str is not None
        document = json.loads(writer.schema_str)
        resources: Registry[Any] = Registry()  # no `retrieve`: nothing is fetched from outside
        for ref in writer.references or []:
            if ref.name is None or ref.subject is None or ref.version is None:
                raise ValueError("a reference without its name, subject or version")
            with registry_errors(url, f"the reference {ref.name} of schema id {schema_id}"):
                referenced = client.get_version(ref.subject, ref.version)
            text = referenced.schema.schema_str or "{}"
            resources = resources.with_resource(ref.name, Resource.from_contents(json.loads(text)))
        kind = validator_for(document, default=Draft7Validator)
        kind.check_schema(document)
        self.validator = kind(document, registry=resources)
        self.schema_id = schema_id
        self.fit = StreamFit(stream)
        _check(self.fit, schema_id, json_schema_fields(document))

    def decode(self, payload: bytes) -> Record:
        from jsonschema.exceptions import best_match

        try:
            record = orjson.loads(payload[HEADER_SIZE:])
        except orjson.JSONDecodeError as err:
            raise DecodeError(
                f"not valid JSON after the header of schema id {self.schema_id} "
                f"({err.msg} at column {err.colno})"
            ) from None
        if type(record) is not dict:
            raise DecodeError(
                f"schema id {self.schema_id} gives a JSON {json_kind(record)}, not an object"
            )
        error = best_match(self.validator.iter_errors(record))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "the record"
            raise DecodeError(
                clip(f"{where} does not match JSON Schema id {self.schema_id}: {error.message}")
            )
        return self.fit.project(record)


def to_json_schema(avro: dict) -> dict:
    """An inferred Avro record schema (avro_schema.InferredSchema) as a JSON Schema."""
    return {"$schema": "http://json-schema.org/draft-07/schema#", **_json_of(avro)}


_JSON_OF_AVRO = {
    "null": "null",
    "boolean": "boolean",
    "long": "integer",
    "double": "number",
    "string": "string",
    "bytes": "string",  # written as base64 text, as every JSON output writes bytes
}


def _json_of(avro: Any) -> dict:
    branches = avro if isinstance(avro, list) else [avro]
    types: list[str] = []
    out: dict[str, Any] = {}
    for branch in branches:
        if isinstance(branch, str):
            if _JSON_OF_AVRO[branch] not in types:
                types.append(_JSON_OF_AVRO[branch])
        elif branch["type"] == "record":
            types.append("object")
            out["title"] = branch["name"]
            out["properties"] = {f["name"]: _json_of(f["type"]) for f in branch["fields"]}
        else:  # an array
            types.append("array")
            out["items"] = _json_of(branch["items"])
    return {"type": types[0] if len(types) == 1 else types, **out}


class JsonSchemaEncoder(InferringEncoder):
    """Records to framed JSON under a JSON Schema inferred from them."""

    _serializer: Any = None

    def _adopt(self, schema: dict) -> None:
        from confluent_kafka.schema_registry.json_schema import JSONSerializer

        text = json.dumps(to_json_schema(schema))
        register_schema(self.client, self.url, self.subject, Schema(text, "JSON"))
        self._serializer = JSONSerializer(
            text, self.client, conf={"subject.name.strategy": topic_subject_name_strategy}
        )
        self._context = SerializationContext(self.topic, MessageField.VALUE)

    def _encode(self, record: Record) -> bytes:
        plain = orjson.loads(encode_json(record))  # bytes as base64 text, as in JSON outputs
        with registry_errors(self.url, f"the schema for subject '{self.subject}'"):
            value = self._serializer(plain, self._context)
        assert value is not None
        return bytes(value)


# ------------------------------------------------------------------ Protobuf

_INTS = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64,
}
_FLOATS = {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT}
_TIMESTAMP = "google.protobuf.Timestamp"
_WRAPPERS = {
    f"google.protobuf.{name}Value": kind
    for name, kind in (
        ("Double", "float"),
        ("Float", "float"),
        ("Int64", "int"),
        ("UInt64", "int"),
        ("Int32", "int"),
        ("UInt32", "int"),
        ("Bool", "bool"),
        ("String", "string"),
        ("Bytes", "bytes"),
    )
}
_BASE64 = set(string.ascii_letters + string.digits + "+/=")


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _kind(field: FieldDescriptor) -> set[str]:
    """The kinds of values a field of a message gives, for StreamFit."""
    if _is_repeated(field):
        return {"object"} if field.message_type and _is_map(field) else {"array"}
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        name = field.message_type.full_name
        kinds = {"int"} if name == _TIMESTAMP else {_WRAPPERS.get(name, "object")}
        return kinds | {"null"}
    if field.type in _INTS:
        kinds = {"int"}
    elif field.type in _FLOATS:
        kinds = {"float"}
    elif field.type == FieldDescriptor.TYPE_BOOL:
        kinds = {"bool"}
    elif field.type == FieldDescriptor.TYPE_BYTES:
        kinds = {"bytes"}
    else:  # string, enum (read as its name)
        kinds = {"string"}
    return kinds | {"null"} if field.has_presence else kinds


def _is_map(field: FieldDescriptor) -> bool:
    return bool(field.message_type and field.message_type.GetOptions().map_entry)


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        name = field.message_type.full_name
        if name == _TIMESTAMP:
            return value.seconds * 1000 + value.nanos // 1_000_000
        if name in _WRAPPERS:
            return value.value
        return message_record(value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        known = field.enum_type.values_by_number.get(value)
        return known.name if known is not None else value
    return value


def message_record(message: Message) -> Record:
    """A decoded message as a record: every field of its type, null when not set (fields
    with presence), lists and maps as lists and dicts."""
    out: Record = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if _is_repeated(field):
            if _is_map(field):
                entry = field.message_type.fields_by_name["value"]
                out[field.name] = {k: _value(entry, v) for k, v in value.items()}
            else:
                out[field.name] = [_value(field, v) for v in value]
        elif field.has_presence and not message.HasField(field.name):
            out[field.name] = None
        else:
            out[field.name] = _value(field, value)
    return out


def _descriptor_proto(text: str) -> descriptor_pb2.FileDescriptorProto:
    from confluent_kafka.schema_registry.protobuf import _str_to_proto

    return _str_to_proto("default", text)


class ProtobufPayloads:
    """Values of one Protobuf id: message indexes, then a message of the writer's file."""

    def __init__(
        self,
        client: SchemaRegistryClient,
        url: str,
        schema_id: int,
        writer: Schema,
        stream: Stream | None,
    ) -> None:
        from confluent_kafka.schema_registry._sync.protobuf import _resolve_named_schema
        from confluent_kafka.schema_registry.protobuf import _init_pool

        text = writer.schema_str or ""
        if not set(text) <= _BASE64:  # .proto source: ask for the file descriptor instead
            # (through a client of its own: the shared one's cache keys schemas by id only)
            uncached = SchemaRegistryClient(client.config())
            try:
                serialized = fetch_schema(uncached, url, schema_id, fmt="serialized")
            finally:
                uncached.close()
            if serialized is None:
                raise Unresolvable(f"unknown schema id {schema_id} (not in the schema registry)")
            writer, text = serialized, serialized.schema_str or ""
        pool = DescriptorPool()
        _init_pool(pool)
        with registry_errors(url, f"the references of schema id {schema_id}"):
            _resolve_named_schema(writer, client, pool)
        proto = _descriptor_proto(text)
        pool.Add(proto)
        self.file = pool.FindFileByName(proto.name)
        self.schema_id = schema_id
        self.fit = StreamFit(stream)
        self._types: dict[tuple[int, ...], Any] = {}  # message indexes -> class or reason

    def decode(self, payload: bytes) -> Record:
        if payload[HEADER_SIZE : HEADER_SIZE + 1] == b"\x00":  # the first message: [0]
            indexes: tuple[int, ...] = (0,)
            start = HEADER_SIZE + 1
        else:
            buffer = BytesIO(payload)
            buffer.seek(HEADER_SIZE)
            try:
                indexes = tuple(SchemaId._read_index_array(buffer, zigzag=True))
            except Exception as err:  # EOF, or a count beyond the library's bound
                raise DecodeError(
                    f"bad Protobuf message indexes for schema id {self.schema_id} ({err})"
                ) from None
            start = buffer.tell()
        kind = self._types.get(indexes) or self._type(indexes)
        if isinstance(kind, str):
            raise DecodeError(kind)
        try:
            message = kind.FromString(payload[start:])
        except ProtobufDecodeError as err:
            raise DecodeError(
                clip(f"bad Protobuf payload for schema id {self.schema_id}: {err}")
            ) from None
        return self.fit.project(message_record(message))

    def _type(self, indexes: tuple[int, ...]) -> Any:
        """The message class for `indexes`, or why there is none (kept for the next value)."""
        found: Any = self.file
        names = []
        for depth, index in enumerate(indexes):
            types = found.message_types_by_name if depth == 0 else found.nested_types_by_name
            listed = list(types.values())
            if not 0 <= index < len(listed):
                found = None
                break
            found = listed[index]
            names.append(found.name)
        if found is None or not indexes:
            reason = (
                f"message indexes {list(indexes)} name no message of schema id {self.schema_id}"
            )
            self._types[indexes] = reason
            return reason
        try:
            _check(self.fit, self.schema_id, {f.name: _kind(f) for f in found.fields})
        except Unresolvable as err:
            self._types[indexes] = str(err)
            return str(err)
        kind = self._types[indexes] = GetMessageClass(found)
        return kind


def to_proto_file(avro: dict, file_name: str) -> descriptor_pb2.FileDescriptorProto:
    """An inferred Avro record schema as a proto2 file: every field optional (null: not
    set), field numbers in the order fields appeared (so they never change), a long as int64,
    a double (or a long and a double) as double, a nested record as a nested message, a list
    as a repeated field, anything of mixed kinds as a string (its JSON text)."""
    proto = descriptor_pb2.FileDescriptorProto(name=file_name, package="gress", syntax="proto2")
    _message(proto.message_type.add(), avro)
    return proto


_PROTO_OF_AVRO = {
    "boolean": FieldDescriptor.TYPE_BOOL,
    "long": FieldDescriptor.TYPE_INT64,
    "double": FieldDescriptor.TYPE_DOUBLE,
    "string": FieldDescriptor.TYPE_STRING,
    "bytes": FieldDescriptor.TYPE_BYTES,
}


def _message(message: descriptor_pb2.DescriptorProto, record: dict) -> None:
    message.name = record["name"]
    for number, declared in enumerate(record["fields"], start=1):
        field = message.field.add(name=declared["name"], number=number)
        field.label = FieldDescriptor.LABEL_OPTIONAL
        branches = [b for b in declared["type"] if b != "null"]
        if len(branches) == 1 and isinstance(branches[0], dict):
            branch = branches[0]
            if branch["type"] == "array":
                items = [b for b in branch["items"] if b != "null"]
                field.label = FieldDescriptor.LABEL_REPEATED
                branches = items
                if len(items) == 1 and isinstance(items[0], dict) and items[0]["type"] == "array":
                    branches = []  # a list of lists: each inner list as JSON text
            if len(branches) == 1 and isinstance(branches[0], dict):
                nested = message.nested_type.add()
                _message(nested, branches[0])
                field.type = FieldDescriptor.TYPE_MESSAGE
                field.type_name = nested.name
                continue
        if branches == ["long", "double"]:
            branches = ["double"]
        if len(branches) == 1 and isinstance(branches[0], str):
            field.type = _PROTO_OF_AVRO[branches[0]]
        else:
            field.type = FieldDescriptor.TYPE_STRING


def fill(message: Message, record: Record) -> None:
    """Set the fields of `message` from `record` (fitted to the inferred schema)."""
    for field in message.DESCRIPTOR.fields:
        value = record.get(field.name)
        if value is None:
            continue
        if _is_repeated(field):
            target = getattr(message, field.name)
            for item in value:
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    fill(target.add(), item or {})
                else:
                    target.append(_scalar(field, item))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            child = getattr(message, field.name)
            child.SetInParent()
            fill(child, value)
        else:
            setattr(message, field.name, _scalar(field, value))


def _scalar(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_STRING:
        return value if isinstance(value, str) else encode_json(value).decode()
    if value is None:  # a null item of a list: the type's default
        return field.default_value
    if field.type == FieldDescriptor.TYPE_DOUBLE:
        return float(value)
    return value


class ProtobufEncoder(InferringEncoder):
    """Records to framed Protobuf under a message type inferred from them."""

    _serializer: Any = None
    _type: Any = None

    def _adopt(self, schema: dict) -> None:
        from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

        pool = DescriptorPool()
        proto = to_proto_file(schema, f"gress/{self.topic}.proto")
        pool.Add(proto)
        descriptor: Descriptor = pool.FindMessageTypeByName(f"gress.{schema['name']}")
        self._type = GetMessageClass(descriptor)
        self._serializer = ProtobufSerializer(
            self._type,
            self.client,
            conf={
                "subject.name.strategy": topic_subject_name_strategy,
                "use.deprecated.format": False,
            },
        )
        self._context = SerializationContext(self.topic, MessageField.VALUE)

    def _encode(self, record: Record) -> bytes:
        message = self._type()
        fill(message, record)
        with registry_errors(self.url, f"the schema for subject '{self.subject}'"):
            value = self._serializer(message, self._context)
        assert value is not None
        return bytes(value)


__all__ = [
    "JsonSchemaEncoder",
    "JsonSchemaPayloads",
    "ProtobufEncoder",
    "ProtobufPayloads",
    "StreamFit",
    "message_record",
    "to_json_schema",
    "to_proto_file",
]
