"""The Confluent wire format: `0x00 | schema id (4 bytes, big-endian) | Avro binary payload`.

The writer schema of each id is fetched from the registry once and kept with its read plan, so
the per-record work is a dictionary lookup and one `fastavro.schemaless_reader` call. Values that
are not in the format, name an id the registry does not know, or end early become failures with
their reason, never exceptions.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
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


class ConfluentAvroDecoder(ValueDecoder):
    def __init__(
        self,
        client: SchemaRegistryClient,
        url: str,
        stream: Stream | None = None,
        validator: Validator | None = None,
    ) -> None:
        super().__init__(validator)
        self.client = client
        self.url = url
        self.stream = stream
        # keyed by the 5-byte header (magic byte + schema id), so one slice and one lookup
        # check the framing and find the schema of a record
        self._plans: dict[bytes, ReadPlan] = {}
        self._unusable: dict[bytes, str] = {}  # header -> why its records cannot be read

    def decode(self, payload: bytes) -> Record:
        plan = self._plans.get(payload[:HEADER_SIZE]) or self._plan(payload)
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

    def _plan(self, payload: bytes) -> ReadPlan:
        """The read plan for a header seen for the first time, or the DecodeError why not."""
        if len(payload) < HEADER_SIZE or payload[0] != MAGIC:
            raise DecodeError(_not_framed(payload))
        header = payload[:HEADER_SIZE]
        if header in self._unusable:
            raise DecodeError(self._unusable[header])
        schema_id = _id(payload)
        writer = fetch_schema(self.client, self.url, schema_id)
        if writer is None:
            reason = f"unknown schema id {schema_id} (not in the schema registry)"
        else:
            try:
                plan = self._plans[header] = read_plan(writer, self.stream)
                return plan
            except Exception as err:  # fastavro's schema errors have no common base class
                reason = _clip(f"schema id {schema_id} is not a usable Avro schema: {err}")
        self._unusable[header] = reason
        raise DecodeError(reason)


def _id(payload: bytes) -> int:
    return int.from_bytes(payload[1:HEADER_SIZE], "big")


class AutoDecoder(ValueDecoder):
    """Confluent Avro when a value starts with the magic byte 0, JSON otherwise.

    A JSON document never starts with byte 0, so the first byte tells the two apart. Without a
    registry, a framed value cannot be read at all: that is a configuration mistake, reported
    once instead of sending every record to the dead-letter output.
    """

    def __init__(
        self,
        avro: ConfluentAvroDecoder | None,
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
                f"{self.description} carries Confluent Avro records (schema id "
                f"{_id(payload)}) but no schema registry is set",
                hint="pass --schema-registry URL (or set GRESS_SCHEMA_REGISTRY)",
            )
        return self.avro.decode(payload)


class ConfluentAvroEncoder:
    """Records to framed Avro; the schema is inferred and registered as `<topic>-value`."""

    def __init__(self, client: SchemaRegistryClient, url: str, topic: str) -> None:
        self.client = client
        self.url = url
        self.subject = f"{topic}-value"
        self._inferred = InferredSchema(topic)
        self._parsed: Any = None
        self._schema_id = 0

    def encode_all(self, records: list[Record]) -> list[bytes]:
        ready, grew = self._inferred.observe(records)
        if grew or self._parsed is None:
            schema = self._inferred.schema
            self._schema_id = register_schema(self.client, self.url, self.subject, schema)
            self._parsed = parse_schema(schema)
        return [framed(self._schema_id, self._parsed, record) for record in ready]


def framed(schema_id: int, schema: Any, record: Record) -> bytes:
    """`record` in the wire format, written with `schema` (parsed, or as JSON-like data)."""
    buffer = BytesIO()
    buffer.write(bytes([MAGIC]) + schema_id.to_bytes(4, "big"))
    schemaless_writer(buffer, schema, record)
    return buffer.getvalue()


def _not_framed(payload: bytes) -> str:
    if not payload:
        return "empty value"
    if payload[0] != MAGIC:
        return f"not Confluent Avro: first byte 0x{payload[0]:02x}, expected the magic byte 0x00"
    return f"not Confluent Avro: {len(payload)} bytes, shorter than the 5-byte header"


def _clip(reason: str) -> str:
    return reason if len(reason) <= _REASON_LIMIT else reason[: _REASON_LIMIT - 3] + "..."
