"""The Confluent wire format through the real registry client (`mock://`)."""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka.schema_registry import Schema

from gress_cep.connectors.codec import JsonDecoder
from gress_cep.connectors.confluent import (
    AutoDecoder,
    ConfluentAvroDecoder,
    ConfluentAvroEncoder,
    framed,
)
from gress_cep.connectors.registry import registry_client
from gress_cep.connectors.validation import Validator
from gress_cep.errors import UserError

from .streams import PAYMENTS, declared_stream

WRITER = {
    "type": "record",
    "name": "Payment",
    "namespace": "com.example",
    "fields": [
        {"name": "card_id", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "amount", "type": "float"},
        {"name": "channel", "type": "string"},
    ],
}
RECORD = {"card_id": "c1", "ts": 1_700_000_000_000, "amount": 2.5, "channel": "web"}


@pytest.fixture
def url() -> str:
    return f"mock://{uuid.uuid4()}"


def register(url: str, schema: dict, subject: str = "payments-value") -> int:
    return registry_client(url).register_schema(subject, Schema(json.dumps(schema), "AVRO"))


def decoder(url: str, schema: str | None = None) -> ConfluentAvroDecoder:
    stream = declared_stream(schema) if schema is not None else None
    validator = Validator(stream) if stream is not None else None
    return ConfluentAvroDecoder(registry_client(url), url, stream, validator)


def test_a_framed_record_decodes_with_its_writer_schema(url: str) -> None:
    schema_id = register(url, WRITER)
    decoded = decoder(url).decode_all([framed(schema_id, WRITER, RECORD)])
    assert decoded.records == [RECORD]  # the millisecond timestamp stays epoch ms


def test_the_stream_schema_is_the_reader_schema(url: str) -> None:
    schema_id = register(url, WRITER)
    decoded = decoder(url, PAYMENTS).decode_all([framed(schema_id, WRITER, RECORD)])
    # `channel` is not declared: dropped; `merchant?` is not written: null
    assert decoded.records == [
        {"card_id": "c1", "ts": RECORD["ts"], "amount": 2.5, "merchant": None}
    ]
    assert type(decoded.records[0]["amount"]) is float  # Avro float promoted to the declared float


def test_records_of_two_schema_versions_decode_into_one_shape(url: str) -> None:
    old = {**WRITER, "fields": WRITER["fields"][:3]}
    new = {**WRITER, "fields": [*WRITER["fields"], {"name": "merchant", "type": "string"}]}
    old_id, new_id = register(url, old), register(url, new)
    assert old_id != new_id
    decoded = decoder(url, PAYMENTS).decode_all(
        [
            framed(old_id, old, RECORD),
            framed(new_id, new, {**RECORD, "merchant": "m7"}),
        ]
    )
    assert [r["merchant"] for r in decoded.records] == [None, "m7"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b'{"card_id": "c1"}', "not Confluent Avro: first byte 0x7b, expected the magic byte 0x00"),
        (b"\x00\x00\x01", "not Confluent Avro: 3 bytes, shorter than the 5-byte header"),
        (b"", "empty value"),
        (b"\x00\x00\x00\x03\xe7" + b"\x02", "unknown schema id 999 (not in the schema registry)"),
    ],
    ids=["json", "short", "empty", "unknown-id"],
)
def test_values_that_are_not_readable_fail_with_the_reason(
    url: str, value: bytes, reason: str
) -> None:
    register(url, WRITER)
    decoded = decoder(url).decode_all([value])
    assert [(f.index, f.reason) for f in decoded.failures] == [(0, reason)]


def test_a_truncated_payload_fails(url: str) -> None:
    schema_id = register(url, WRITER)
    (failure,) = decoder(url).decode_all([framed(schema_id, WRITER, RECORD)[:9]]).failures
    assert failure.reason.startswith(f"truncated Avro payload for schema id {schema_id}")


def test_bytes_left_after_the_record_mean_the_wrong_schema(url: str) -> None:
    schema_id = register(url, WRITER)
    (failure,) = decoder(url).decode_all([framed(schema_id, WRITER, RECORD) + b"??"]).failures
    assert failure.reason == (
        f"2 bytes left after the Avro record of schema id {schema_id} "
        "(written with a different schema?)"
    )


def test_a_writer_schema_that_cannot_resolve_to_the_stream_fails_each_record(url: str) -> None:
    lacking = {**WRITER, "fields": [WRITER["fields"][0]]}  # no ts, no amount
    schema_id = register(url, lacking)
    decoded = decoder(url, PAYMENTS).decode_all([framed(schema_id, lacking, {"card_id": "c"})])
    (failure,) = decoded.failures
    assert failure.reason.startswith(f"schema id {schema_id} does not resolve to the stream's")


def test_a_writer_schema_that_is_not_a_record_fails_each_value(url: str) -> None:
    """Without a stream schema nothing resolves such a value to a record: it is no record."""
    numbers = {"type": "array", "items": "long"}
    numbers_id, writer_id = register(url, numbers), register(url, WRITER, "other-value")
    decoded = decoder(url).decode_all(
        [framed(numbers_id, numbers, [1, 2]), framed(writer_id, WRITER, RECORD)]
    )
    assert decoded.records == [RECORD]
    assert [(f.index, f.reason) for f in decoded.failures] == [
        (0, f"schema id {numbers_id} gives an Avro array, not a record")
    ]


def test_good_and_bad_values_interleaved_keep_their_order(url: str) -> None:
    schema_id = register(url, WRITER)
    good = framed(schema_id, WRITER, RECORD)
    decoded = decoder(url).decode_all([good, b"junk", good, b"\x00\x00\x00\x00\x63x", good])
    assert len(decoded.records) == 3
    assert [f.index for f in decoded.failures] == [1, 3]
    assert decoded.kept == [0, 2, 4]


def test_the_writer_schema_is_fetched_once_per_id(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema_id = register(url, WRITER)
    client = registry_client(url)
    calls = []
    original = client.get_schema
    monkeypatch.setattr(client, "get_schema", lambda i: calls.append(i) or original(i))
    decoder(url).decode_all([framed(schema_id, WRITER, RECORD)] * 50)
    assert calls == [schema_id]


def test_auto_detection_reads_json_and_avro_side_by_side(url: str) -> None:
    schema_id = register(url, WRITER)
    auto = AutoDecoder(decoder(url), "kafka:payments")
    decoded = auto.decode_all([b'{"card_id": "j"}', framed(schema_id, WRITER, RECORD)])
    assert decoded.records == [{"card_id": "j"}, RECORD]


def test_avro_records_without_a_registry_are_a_user_error(url: str) -> None:
    auto = AutoDecoder(None, "kafka:payments")
    with pytest.raises(UserError, match=r"kafka:payments carries Confluent Avro .*schema id 7"):
        auto.decode_all([b"\x00\x00\x00\x00\x07\x02"])


def test_a_plain_json_decoder_sends_framed_values_to_the_dead_letters() -> None:
    (failure,) = JsonDecoder().decode_all([b"\x00\x00\x00\x00\x07\x02"]).failures
    assert failure.reason.startswith("not valid JSON")


def test_the_encoder_registers_topic_value_and_frames_its_id(url: str) -> None:
    encoder = ConfluentAvroEncoder(registry_client(url), url, "alerts")
    (value,) = encoder.encode_all([{"pattern": "p", "key": "c1", "n": 3}])
    latest = registry_client(url).get_latest_version("alerts-value")
    assert value[:5] == b"\x00" + latest.schema_id.to_bytes(4, "big")
    decoded = decoder(url).decode_all([value])
    assert decoded.records == [{"pattern": "p", "key": "c1", "n": 3}]


def test_the_encoder_registers_a_new_version_when_records_widen(url: str) -> None:
    encoder = ConfluentAvroEncoder(registry_client(url), url, "alerts")
    first = encoder.encode_all([{"n": 1}])
    second = encoder.encode_all([{"n": 2, "extra": "x"}])
    client = registry_client(url)
    assert sorted(client.get_versions("alerts-value")) == [1, 2]
    assert first[0][:5] != second[0][:5]
    assert decoder(url).decode_all(first + second).records == [{"n": 1}, {"n": 2, "extra": "x"}]


def test_micro_timestamps_of_a_kafka_value_decode_as_epoch_ms(url: str) -> None:
    """`timestamp-micros` was a dead letter (a datetime) for a stream with a schema (B.9)."""
    writer = {
        **WRITER,
        "fields": [
            {"name": "card_id", "type": "string"},
            {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "amount", "type": "float"},
        ],
    }
    schema_id = register(url, writer)
    value = {"card_id": "c1", "ts": 1_700_000_000_123_456, "amount": 2.5}
    for schema in (None, PAYMENTS):
        decoded = decoder(url, schema).decode_all([framed(schema_id, writer, value)])
        assert decoded.failures == []
        assert decoded.records[0]["ts"] == 1_700_000_000_123
