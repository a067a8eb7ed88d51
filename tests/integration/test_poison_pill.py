"""A topic with good records among bad ones: every good one comes out, every bad one is a
dead letter with its reason and origin, and the counts add up."""

from __future__ import annotations

import json
from collections.abc import Callable

import orjson
import pytest

from gress_cep.connectors import ConnectorConfig, open_source
from gress_cep.connectors.confluent import framed
from gress_cep.dsl.ast import Stream
from gress_cep.dsl.parser import parse

from .kafka_reading import read_to_end
from .registry_server import RegistryServer

pytestmark = pytest.mark.kafka

STREAM = """
stream payments
    key card_id
    time ts
    schema { card_id: string, ts: timestamp, amount: float }
"""
WRITER = {
    "type": "record",
    "name": "Payment",
    "fields": [
        {"name": "card_id", "type": "string"},
        {"name": "ts", "type": "long"},
        {"name": "amount", "type": "double"},
    ],
}
WITHOUT_AMOUNT = {**WRITER, "fields": WRITER["fields"][:2]}


def payment(i: int) -> dict:
    return {"card_id": f"c{i % 5}", "ts": 1_700_000_000_000 + i, "amount": float(i)}


def poison_topic(registry: RegistryServer) -> tuple[list[bytes | None], dict[int, str], list[dict]]:
    """Values to produce, the expected reason (prefix) per bad index, and the good records."""
    good_id = registry.register("payments-value", json.dumps(WRITER))
    lacking_id = registry.register("payments-lacking-value", json.dumps(WITHOUT_AMOUNT))
    values: list[bytes | None] = []
    bad: dict[int, str] = {}
    good: list[dict] = []

    def add_bad(value: bytes | None, reason: str) -> None:
        bad[len(values)] = reason
        values.append(value)

    for i in range(40):
        values.append(framed(good_id, WRITER, payment(i)))
        good.append(payment(i))
        if i % 8 == 3:
            add_bad(b"\xde\xad\xbe\xef garbage", "not valid JSON")
        if i % 8 == 5:
            add_bad(b"\x00\x00\x00\x27\x0f" + b"\x02", "unknown schema id 9999 (not in the")
    add_bad(
        framed(good_id, WRITER, payment(99))[:8], f"truncated Avro payload for schema id {good_id}"
    )
    add_bad(
        framed(lacking_id, WITHOUT_AMOUNT, {"card_id": "c1", "ts": 5}),
        f"schema id {lacking_id} does not resolve to the stream's schema",
    )
    add_bad(orjson.dumps({"card_id": "c2", "ts": 6}), "field 'amount' is missing (expected float)")
    add_bad(
        orjson.dumps({"card_id": "c3", "ts": 7, "amount": "x"}), "field 'amount': expected float"
    )
    add_bad(None, "null value (a tombstone)")
    values.append(orjson.dumps(payment(1000)))  # JSON beside Avro: fine
    good.append(payment(1000))
    return values, bad, good


def test_good_records_come_out_and_every_bad_one_is_a_dead_letter(
    broker: str, new_topic: Callable, produce: Callable, registry: RegistryServer
) -> None:
    topic = new_topic()
    values, bad, good = poison_topic(registry)
    produce(topic, [(b"k", value) for value in values])
    (stream,) = parse(STREAM).of_type(Stream)
    config = ConnectorConfig(
        bootstrap_servers=broker,
        schema_registry=registry.url,
        from_beginning=True,
        stop_at_end=True,
    )
    batch = read_to_end(open_source(f"kafka:{topic}", stream, config))

    assert batch.records == good
    assert len(batch.partitions) == len(batch.timestamps) == len(good)
    assert len(batch.records) + len(batch.dead) == len(values)
    by_offset = {int(d.origin.rsplit("@", 1)[1]): d for d in batch.dead}
    assert sorted(by_offset) == sorted(bad)
    for offset, letter in by_offset.items():
        assert letter.origin == f"kafka:{topic}[0]@{offset}"
        assert letter.reason.startswith(bad[offset]), (offset, letter.reason)
        assert letter.raw == values[offset]
