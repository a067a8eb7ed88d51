"""The Confluent wire format: `0x00 | schema id (4 bytes, big-endian) | payload`.

The payload is Avro binary, JSON (JSON Schema) or Protobuf (message indexes, then the message),
as the schema registered under the id says. The writer schema of each id is fetched from the
registry once and kept with its reader, so the per-record work is a dictionary lookup and one
decode call (for Avro one `fastavro.schemaless_reader` call; JSON Schema and Protobuf live in
schema_formats.py). Values that are not in the format, name an id the registry does not know,
or end early become failures with their reason, never exceptions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from io import BytesIO
from typing import Any, Protocol

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError

from gress_cep.connectors.avro_guard import AvroLimitError
from gress_cep.connectors.avro_schema import InferredSchema, ReadPlan, avro_kind, read_plan
from gress_cep.connectors.base import Record
from gress_cep.connectors.codec import DecodeError, JsonDecoder, ValueDecoder
from gress_cep.connectors.registry import fetch_schema, register_schema
from gress_cep.connectors.validation import Validator
from gress_cep.dsl.ast import Stream
from gress_cep.errors import UserError

MAGIC = 0
HEADER_SIZE = 5
_REASON_LIMIT = 300


class Unresolvable(Exception):
    """A writer schema whose records cannot be read as the stream's: the message is the
    reason every record of its id becomes a dead letter."""


class Payloads(Protocol):
    """How the values of one schema id are read (the part after the 5-byte header)."""

    def decode(self, payload: bytes) -> Record: ...


# what --format says about the values of a topic: the registry schema type they must have
SCHEMA_TYPES = {"avro": "AVRO", "json-schema": "JSON", "protobuf": "PROTOBUF"}
_TYPE_NAMES = {"AVRO": "Avro", "JSON": "JSON Schema", "PROTOBUF": "Protobuf"}


class ConfluentDecoder(ValueDecoder):
    """Values in the Confluent wire format, of any schema type the registry holds: Avro,
    JSON Schema or Protobuf (the schema id tells which). With `expected` ("AVRO", "JSON",
    "PROTOBUF"), values of another type are dead letters."""

    def __init__(
        self,
        client: SchemaRegistryClient,
        url: str,
        stream: Stream | None = None,
        validator: Validator | None = None,
        expected: str | None = None,
    ) -> None:
        super().__init__(validator)
        self.client = client
        self.url = url
        self.stream = stream
        self.expected = expected
        # keyed by the 5-byte header (magic byte + schema id), so one slice and one lookup
        # check the framing and find the schema of a record
        self._plans: dict[bytes, Payloads] = {}
        self._decoders: dict[bytes, Callable[[bytes], Record]] = {}  # their bound `decode`s
        self._unusable: dict[bytes, str] = {}  # header -> why its records cannot be read

    def decode(self, payload: bytes) -> Record:
        decode = self._decoders.get(payload[:HEADER_SIZE]) or self._plan(payload).decode
        return decode(payload)

    def _plan(self, payload: bytes) -> Payloads:
        """The reader for a header seen for the first time, or the DecodeError why not."""
        if len(payload) < HEADER_SIZE or payload[0] != MAGIC:
            raise DecodeError(_not_framed(payload, _TYPE_NAMES.get(self.expected or "", "Avro")))
        header = payload[:HEADER_SIZE]
        if header in self._unusable:
            raise DecodeError(self._unusable[header])
        schema_id = _id(payload)
        writer = fetch_schema(self.client, self.url, schema_id)
        if writer is None:
            reason = f"unknown schema id {schema_id} (not in the schema registry)"
        else:
            kind = writer.schema_type or "AVRO"
            name = _TYPE_NAMES.get(kind, kind)
            if self.expected is not None and kind != self.expected:
                reason = (
                    f"schema id {schema_id} is a {name} schema, not "
                    f"{_TYPE_NAMES[self.expected]} (as --format says)"
                )
            else:
                try:
                    plan = self._plans[header] = self._reader(kind, schema_id, writer)
                    self._decoders[header] = plan.decode
                    return plan
                except UserError:
                    raise
                except Unresolvable as err:
                    reason = str(err)
                except Exception as err:  # the schema libraries have no common error base
                    reason = _clip(f"schema id {schema_id} is not a usable {name} schema: {err}")
        self._unusable[header] = reason
        raise DecodeError(reason)

    def _reader(self, kind: str, schema_id: int, writer: Schema) -> Payloads:
        if kind == "AVRO":
            assert writer.schema_str is not None  # fetch_schema checked it
            return AvroPayloads(schema_id, read_plan(json.loads(writer.schema_str), self.stream))
        if kind == "JSON":
            from gress_cep.connectors.schema_formats import JsonSchemaPayloads

            return JsonSchemaPayloads(self.client, self.url, schema_id, writer, self.stream)
        if kind == "PROTOBUF":
            from gress_cep.connectors.schema_formats import ProtobufPayloads

            return ProtobufPayloads(self.client, self.url, schema_id, writer, self.stream)
        raise ValueError(f"unknown schema type {kind}")

    def schema_problem(self, schema_id: int, writer: Schema) -> str | None:
        """Why records of a registered schema could not be read as the stream's (None: they
        can): what `gress detect --dry-run` says before any record arrives."""
        from gress_cep.connectors.schema_formats import ProtobufPayloads, StreamFit, avro_fields

        kind = writer.schema_type or "AVRO"
        try:
            reader = self._reader(kind, schema_id, writer)
        except Unresolvable as err:
            return str(err)
        except UserError:
            raise
        except Exception as err:
            return clip(f"schema id {schema_id} is not a usable {_TYPE_NAMES.get(kind, kind)} "
                        f"schema: {err}")  # fmt: skip
        if isinstance(reader, ProtobufPayloads):
            found = reader._type((0,))
            return found if isinstance(found, str) else None
        if isinstance(reader, AvroPayloads):
            assert writer.schema_str is not None
            problem = StreamFit(self.stream).problem(avro_fields(json.loads(writer.schema_str)))
            if problem is not None:
                return f"schema id {schema_id} does not resolve to the stream's schema: {problem}"
        return None


ConfluentAvroDecoder = ConfluentDecoder  # the name it had when Avro was the only type


class AvroPayloads:
    """Confluent Avro: one `fastavro.schemaless_reader` call with the writer's read plan."""

    __slots__ = ("plan", "schema_id")

    def __init__(self, schema_id: int, plan: ReadPlan) -> None:
        self.schema_id = schema_id
        self.plan = plan

    def decode(self, payload: bytes) -> Record:
        plan = self.plan
        stream = BytesIO(payload[HEADER_SIZE:])
        try:
            if plan.guard is not None:  # items that take no bytes: counts checked first
                plan.guard.check(payload, HEADER_SIZE)
            record = schemaless_reader(stream, plan.writer, plan.reader)
        except AvroLimitError as err:
            raise DecodeError(f"Avro payload for schema id {_id(payload)} refused: {err}") from None
        except SchemaResolutionError as err:
            raise DecodeError(
                _clip(f"schema id {_id(payload)} does not resolve to the stream's schema: {err}")
            ) from None
        except (EOFError, IndexError) as err:
            raise DecodeError(
                f"truncated Avro payload for schema id {_id(payload)} ({err})"
            ) from None
        except (ValueError, UnicodeDecodeError, OverflowError) as err:
            raise DecodeError(
                _clip(f"bad Avro payload for schema id {_id(payload)}: {err}")
            ) from None
        left = len(payload) - HEADER_SIZE - stream.tell()
        if left:
            raise DecodeError(
                f"{left} bytes left after the Avro record of schema id {_id(payload)} "
                "(written with a different schema?)"
            )
        if type(record) is not dict:  # a schema whose top level is not a record
            raise DecodeError(
                f"schema id {_id(payload)} gives an Avro {avro_kind(record)}, not a record"
            )
        return record


def _id(payload: bytes) -> int:
    return int.from_bytes(payload[1:HEADER_SIZE], "big")


class AutoDecoder(ValueDecoder):
    """The Confluent wire format (Avro, JSON Schema, Protobuf) when a value starts with the
    magic byte 0, JSON otherwise.

    A JSON document never starts with byte 0, so the first byte tells the two apart. Without a
    registry, a framed value cannot be read at all: that is a configuration mistake, reported
    once instead of sending every record to the dead-letter output.
    """

    def __init__(
        self,
        avro: ConfluentDecoder | None,
        description: str,
        validator: Validator | None = None,
    ) -> None:
        super().__init__(validator)
        self.avro = avro
        self.json = JsonDecoder()
        self.description = description

    def decode(self, payload: bytes) -> Record:
        if payload[:1] != b"\x00":
            return self.json.decode(payload)
        if self.avro is None:
            raise UserError(
                f"{self.description} carries Confluent Avro / JSON Schema / Protobuf records "
                f"(schema id {_id(payload)}) but no schema registry is set",
                hint="pass --schema-registry URL (or set GRESS_SCHEMA_REGISTRY)",
            )
        return self.avro.decode(payload)


class InferringEncoder:
    """Records to the wire format under a schema inferred from them (avro_schema's
    InferredSchema, whatever the format): when a record widens it, the new schema is
    registered as a new version of `<topic>-value` before the record is written."""

    def __init__(self, client: SchemaRegistryClient, url: str, topic: str) -> None:
        self.client = client
        self.url = url
        self.topic = topic
        self.subject = f"{topic}-value"
        self._inferred = InferredSchema(topic)
        self._adopted = False

    def encode_all(self, records: list[Record]) -> list[bytes]:
        ready, grew = self._inferred.observe(records)
        if grew or not self._adopted:
            self._adopt(self._inferred.schema)
            self._adopted = True
        return [self._encode(record) for record in ready]

    def _adopt(self, schema: dict) -> None:
        """Register `schema` (Avro, as inferred) in this encoder's format; write with it."""
        raise NotImplementedError

    def _encode(self, record: Record) -> bytes:
        raise NotImplementedError


class ConfluentAvroEncoder(InferringEncoder):
    """Records to framed Avro."""

    _parsed: Any = None
    _schema_id = 0

    def _adopt(self, schema: dict) -> None:
        self._schema_id = register_schema(self.client, self.url, self.subject, schema)
        self._parsed = parse_schema(schema)

    def _encode(self, record: Record) -> bytes:
        return framed(self._schema_id, self._parsed, record)


def confluent_encoder(
    client: SchemaRegistryClient, url: str, topic: str, fmt: str | None
) -> InferringEncoder:
    """The encoder of a Kafka output: `fmt` "json-schema", "protobuf", else Avro."""
    if fmt == "json-schema":
        from gress_cep.connectors.schema_formats import JsonSchemaEncoder

        return JsonSchemaEncoder(client, url, topic)
    if fmt == "protobuf":
        from gress_cep.connectors.schema_formats import ProtobufEncoder

        return ProtobufEncoder(client, url, topic)
    return ConfluentAvroEncoder(client, url, topic)


def framed(schema_id: int, schema: Any, record: Record) -> bytes:
    """`record` in the wire format, written with `schema` (parsed, or as JSON-like data)."""
    buffer = BytesIO()
    buffer.write(bytes([MAGIC]) + schema_id.to_bytes(4, "big"))
    schemaless_writer(buffer, schema, record)
    return buffer.getvalue()


def _not_framed(payload: bytes, name: str = "Avro") -> str:
    if not payload:
        return "empty value"
    if payload[0] != MAGIC:
        return f"not Confluent {name}: first byte 0x{payload[0]:02x}, expected the magic byte 0x00"
    return f"not Confluent {name}: {len(payload)} bytes, shorter than the 5-byte header"


def clip(reason: str) -> str:
    """A dead letter's reason, cut to a length a person reads."""
    return reason if len(reason) <= _REASON_LIMIT else reason[: _REASON_LIMIT - 3] + "..."


_clip = clip
