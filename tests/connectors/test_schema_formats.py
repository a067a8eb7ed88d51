"""JSON Schema and Protobuf values in the Confluent wire format, through the real registry
client (`mock://`): decoding, evolution against the stream's schema, dead-letter reasons,
and output written by gress and read back (issue 15 §4)."""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka.schema_registry import Schema

from gress_cep.connectors.confluent import ConfluentDecoder, confluent_encoder
from gress_cep.connectors.registry import registry_client
from gress_cep.connectors.schema_formats import StreamFit, to_json_schema, to_proto_file
from gress_cep.connectors.validation import Validator

from .streams import PAYMENTS, declared_stream

RECORDS = [
    {"card_id": "c1", "ts": 1_700_000_000_000, "amount": 2, "merchant": None,
     "basket": {"items": [1, 2]}, "tags": ["web"]},
    {"card_id": "c2", "ts": 1_700_000_000_001, "amount": 3.5, "note": "x"},
]  # fmt: skip


@pytest.fixture
def url() -> str:
    return f"mock://{uuid.uuid4()}"


def reader(url: str, schema: str | None = PAYMENTS, expected: str | None = None):
    stream = declared_stream(schema) if schema is not None else None
    validator = Validator(stream) if stream is not None else None
    return ConfluentDecoder(registry_client(url), url, stream, validator, expected)


@pytest.mark.parametrize("fmt", ["json-schema", "protobuf"])
def test_what_gress_writes_it_reads_back_and_the_stream_schema_is_the_reader(
    fmt: str, url: str
) -> None:
    values = confluent_encoder(registry_client(url), url, "alerts", fmt).encode_all(RECORDS)
    assert all(v[:1] == b"\x00" for v in values)
    plain = reader(url, None).decode_all(values)
    assert plain.failures == []
    assert plain.records[0]["basket"] == {"items": [1, 2]}
    assert plain.records[1]["note"] == "x"
    declared = reader(url).decode_all(values)
    assert declared.failures == []
    assert declared.records == [  # undeclared fields dropped, the int amount a float
        {"card_id": "c1", "ts": 1_700_000_000_000, "amount": 2.0, "merchant": None},
        {"card_id": "c2", "ts": 1_700_000_000_001, "amount": 3.5, "merchant": None}
        if fmt == "protobuf"
        else {"card_id": "c2", "ts": 1_700_000_000_001, "amount": 3.5},
    ]


def test_a_schema_of_another_type_than_format_says_is_a_dead_letter(url: str) -> None:
    [value] = confluent_encoder(registry_client(url), url, "a", "protobuf").encode_all(RECORDS[:1])
    decoded = reader(url, expected="AVRO").decode_all([value])
    assert decoded.failures[0].reason.endswith("is a Protobuf schema, not Avro (as --format says)")


def test_bad_values_are_dead_letters_with_their_reasons(url: str) -> None:
    client = registry_client(url)
    schema = {"type": "object", "properties": {"card_id": {"type": "string"},
              "ts": {"type": "integer"}, "amount": {"type": "number"}}}  # fmt: skip
    schema_id = client.register_schema("p-value", Schema(json.dumps(schema), "JSON"))
    header = b"\x00" + schema_id.to_bytes(4, "big")
    decoded = reader(url).decode_all(
        [
            header + b'{"card_id": "c1", "ts": 1, "amount": "lots"}',
            header + b"[1, 2]",
            header + b"{nope",
            b"\x00\x00\x00\x03\xe7{}",
            header + b'{"card_id": "c1", "ts": 1, "amount": 1}',
        ]
    )
    assert [f.reason for f in decoded.failures] == [
        f"amount does not match JSON Schema id {schema_id}: 'lots' is not of type 'number'",
        f"schema id {schema_id} gives a JSON array, not an object",
        f"not valid JSON after the header of schema id {schema_id} "
        "(unexpected character, expected a string key at column 2)",
        "unknown schema id 999 (not in the schema registry)",
    ]
    assert decoded.records == [{"card_id": "c1", "ts": 1, "amount": 1.0}]


def test_a_writer_schema_that_does_not_resolve_sends_each_record_to_the_dead_letters() -> None:
    fit = StreamFit(declared_stream(PAYMENTS))
    assert fit.problem({"card_id": {"string"}, "ts": {"int"}, "amount": {"int"}}) is None
    assert fit.problem({"card_id": {"string"}, "ts": {"int"}}) == (
        "field 'amount' (float) is not in the writer schema "
        "(declare it `float?` to read records without it)"
    )
    assert fit.problem({"card_id": {"int", "null"}, "ts": {"int"}, "amount": {"float"}}) == (
        "field 'card_id' is int in the writer schema, the stream declares string"
    )


def test_inferred_schemas_in_each_format() -> None:
    avro = {"type": "record", "name": "alerts", "fields": [
        {"name": "n", "type": ["null", "long"], "default": None},
        {"name": "x", "type": ["null", "long", "double"], "default": None},
        {"name": "mixed", "type": ["null", "boolean", "string"], "default": None},
        {"name": "tags", "type": ["null", {"type": "array", "items": ["null", "string"]}],
         "default": None}]}  # fmt: skip
    assert to_json_schema(avro)["properties"]["x"] == {"type": ["null", "integer", "number"]}
    fields = {f.name: f for f in to_proto_file(avro, "gress/alerts.proto").message_type[0].field}
    assert [f.number for f in fields.values()] == [1, 2, 3, 4]
    assert fields["n"].type == fields["n"].TYPE_INT64
    assert fields["x"].type == fields["x"].TYPE_DOUBLE
    assert fields["mixed"].type == fields["mixed"].TYPE_STRING
    assert fields["tags"].label == fields["tags"].LABEL_REPEATED
