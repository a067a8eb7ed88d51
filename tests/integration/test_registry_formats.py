"""JSON Schema and Protobuf values (Confluent wire format) in and out of `gress detect`, with
the real confluent-kafka serializers, the test registry and the Tansu broker (issue 15 §4)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, timestamp_pb2
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message_factory import GetMessageClass

from gress_cep.connectors import ConnectorConfig, open_source
from gress_cep.dsl.ast import Stream
from gress_cep.dsl.parser import parse

from .kafka_reading import read_to_end
from .registry_server import RegistryServer

pytestmark = pytest.mark.kafka

PATTERNS = """
stream events
    key key
    time ts
    schema { key: string, ts: timestamp, kind: string, amount: float }

pattern big_after_small
    from events
    match small -> big
    where
        small: kind == "A" and amount < 300
        big:   kind == "B" and amount > small.amount + 200
    within 2s
    emit key, small.amount as small_amount, big.amount as big_amount
"""
EVENTS = [
    {"key": "c1", "ts": 1_700_000_000_000, "kind": "A", "amount": 100},
    {"key": "c2", "ts": 1_700_000_000_100, "kind": "A", "amount": 250.5},
    {"key": "c1", "ts": 1_700_000_000_200, "kind": "B", "amount": 900.25},  # c1 matches
    {"key": "c2", "ts": 1_700_000_000_300, "kind": "B", "amount": 300.0},  # too small
    {"key": "c2", "ts": 1_700_000_000_400, "kind": "B", "amount": 800.0},  # c2 matches
]
JSON_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Event",
    "type": "object",
    "properties": {
        "key": {"type": "string"},
        "ts": {"type": "integer"},
        "kind": {"type": "string"},
        "amount": {"type": "number"},
        "note": {"type": "string"},  # a field the stream does not declare: dropped
    },
    "required": ["key", "ts", "kind", "amount"],
}


def event_type() -> Any:
    """A Protobuf message class like a user's generated one, with a Timestamp field."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="shop/event.proto",
        package="shop",
        syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )
    message = proto.message_type.add(name="Event")
    types = descriptor_pb2.FieldDescriptorProto
    for number, (name, kind) in enumerate(
        [("key", types.TYPE_STRING), ("ts", types.TYPE_MESSAGE),
         ("kind", types.TYPE_STRING), ("amount", types.TYPE_DOUBLE)], start=1
    ):  # fmt: skip
        field = message.field.add(name=name, number=number, type=kind)
        if name == "ts":
            field.type_name = ".google.protobuf.Timestamp"
    pool = DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(proto)
    return GetMessageClass(pool.FindMessageTypeByName("shop.Event"))


def serialized(fmt: str, registry: RegistryServer, topic: str) -> list[bytes]:
    """EVENTS as the confluent-kafka serializer of `fmt` writes them."""
    client = SchemaRegistryClient({"url": registry.url})
    context = SerializationContext(topic, MessageField.VALUE)
    conf = {"subject.name.strategy": topic_subject_name_strategy}
    if fmt == "json-schema":
        to_json = JSONSerializer(json.dumps(JSON_SCHEMA), client, conf=conf)
        return [to_json({**e, "note": "x"}, context) for e in EVENTS]
    kind = event_type()
    to_proto = ProtobufSerializer(kind, client, conf=conf)
    values = []
    for e in EVENTS:
        message = kind(key=e["key"], kind=e["kind"], amount=e["amount"])
        message.ts.FromMilliseconds(e["ts"])
        values.append(to_proto(message, context))
    return values


def produce(broker: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 5})
    for value in values:
        producer.produce(topic, value)
    assert producer.flush(10) == 0


def gress(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


T0 = 1_700_000_000_000
EXPECTED = [
    {"pattern": "big_after_small", "key": "c1", "start": T0, "end": T0 + 200,
     "small_amount": 100.0, "big_amount": 900.25},
    {"pattern": "big_after_small", "key": "c2", "start": T0 + 100, "end": T0 + 400,
     "small_amount": 250.5, "big_amount": 800.0},
]  # fmt: skip


@pytest.mark.parametrize("fmt", ["json-schema", "protobuf"])
def test_values_of_the_format_are_matched_bad_ones_are_dead_letters_and_output_is_the_format(
    fmt: str, broker: str, new_topic: Callable, registry: RegistryServer, tmp_path: Path
) -> None:
    (tmp_path / "rules.gress").write_text(PATTERNS)
    source, alerts = new_topic(), new_topic()
    values = serialized(fmt, registry, source)
    wrong = b'{"key": "c9", "ts": 1700000000050, "kind": "A", "amount": "lots"}'
    bad = values[0][:5] + (wrong if fmt == "json-schema" else b"\x00\xff\xff\xff")
    produce(broker, source, [*values[:2], bad, *values[2:]])

    gress("detect", str(tmp_path / "rules.gress"), "-i", f"events=kafka:{source}",
          "-o", f"kafka:{alerts}", "--format", fmt, "--output-format", fmt,
          "--dead-letter", str(tmp_path / "dlq.jsonl"), "--bootstrap-servers", broker,
          "--schema-registry", registry.url, "--from-beginning", "--stop-at-end",
          "--checkpoint-interval", "off", "-q")  # fmt: skip

    [letter] = [orjson.loads(line) for line in (tmp_path / "dlq.jsonl").read_bytes().splitlines()]
    assert letter["origin"] == f"kafka:{source}[0]@2"
    if fmt == "json-schema":
        assert letter["reason"].startswith("amount does not match JSON Schema id")
        assert letter["reason"].endswith("'lots' is not of type 'number'")
    else:
        assert letter["reason"].startswith("bad Protobuf")
    # the output: registered as <alerts>-value in the format, and read back by gress
    [subject_id] = registry.subjects[f"{alerts}-value"]
    assert registry.types[subject_id] == {"json-schema": "JSON", "protobuf": "PROTOBUF"}[fmt]
    config = ConnectorConfig(
        bootstrap_servers=broker,
        schema_registry=registry.url,
        from_beginning=True,
        stop_at_end=True,
        format=fmt,
    )
    back = read_to_end(open_source(f"kafka:{alerts}", None, config))
    assert back.dead == []
    assert sorted(back.records, key=lambda m: m["key"]) == EXPECTED


def test_a_writer_schema_without_a_declared_field_does_not_resolve_every_record_is_a_dead_letter(
    broker: str, new_topic: Callable, registry: RegistryServer
) -> None:
    topic = new_topic()
    older = {"type": "object", "properties": {"key": {"type": "string"}, "ts": {"type": "integer"}}}
    client = SchemaRegistryClient({"url": registry.url})
    to_json = JSONSerializer(
        json.dumps(older), client, conf={"subject.name.strategy": topic_subject_name_strategy}
    )
    context = SerializationContext(topic, MessageField.VALUE)
    produce(broker, topic, [to_json({"key": "c1", "ts": 1}, context)])
    (stream,) = parse(PATTERNS).of_type(Stream)
    config = ConnectorConfig(
        bootstrap_servers=broker, schema_registry=registry.url, from_beginning=True,
        stop_at_end=True,
    )  # fmt: skip
    batch = read_to_end(open_source(f"kafka:{topic}", stream, config))
    assert batch.records == []
    [letter] = batch.dead
    assert "does not resolve to the stream's schema: field 'kind' (string) is not in the" in (
        letter.reason
    )
    assert letter.origin == f"kafka:{topic}[0]@0"


PROTO_TEXT = """syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
message Event {
  string key = 1;
  google.protobuf.Timestamp ts = 2;
  string kind = 3;
  double amount = 4;
}
"""


def test_a_protobuf_schema_registered_as_proto_text_is_read_through_its_file_descriptor(
    broker: str, new_topic: Callable, registry: RegistryServer
) -> None:
    """A Java producer registers .proto text; gress asks for `format=serialized`."""
    topic = new_topic()
    kind = event_type()
    schema_id = registry.register(f"{topic}-value", PROTO_TEXT, "PROTOBUF")
    descriptor = descriptor_pb2.FileDescriptorProto()
    kind.DESCRIPTOR.file.CopyToProto(descriptor)
    registry.serialized[schema_id] = base64.b64encode(descriptor.SerializeToString()).decode()
    message = kind(key="c1", kind="A", amount=2.5)
    message.ts.FromMilliseconds(T0)
    header = b"\x00" + schema_id.to_bytes(4, "big") + b"\x00"  # message indexes [0]
    produce(broker, topic, [header + message.SerializeToString()])
    (stream,) = parse(PATTERNS).of_type(Stream)
    config = ConnectorConfig(
        bootstrap_servers=broker, schema_registry=registry.url, from_beginning=True,
        stop_at_end=True,
    )  # fmt: skip
    batch = read_to_end(open_source(f"kafka:{topic}", stream, config))
    assert batch.dead == []
    assert batch.records == [{"key": "c1", "ts": T0, "kind": "A", "amount": 2.5}]
