"""The Kafka sink against a real broker: keys, JSON and Avro values, dead letters, failures."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from gress_cep.connectors import ConnectorConfig, open_sink, open_source
from gress_cep.connectors.base import DeadLetter
from gress_cep.connectors.codec import encode_json
from gress_cep.connectors.kafka import KafkaTransaction, OutputLedger
from gress_cep.connectors.registry import registry_client
from gress_cep.errors import UserError

from .conftest import start_broker
from .kafka_reading import raw_messages, read_to_end
from .registry_server import RegistryServer

pytestmark = pytest.mark.kafka

MATCHES = [
    {"pattern": "p", "key": "card7", "start": 1, "end": 2, "amount": 600.0},
    {"pattern": "p", "key": ["card7", "m1"], "start": 3, "end": 4, "amount": 12.5},
    {"pattern": "p", "key": None, "start": 5, "end": 6, "amount": None},
]


def test_matches_are_json_keyed_by_the_partition_key(broker: str, new_topic: Callable) -> None:
    topic = new_topic()
    sink = open_sink(f"kafka:{topic}", ConnectorConfig(bootstrap_servers=broker))
    sink.write(MATCHES)
    sink.close()
    messages = raw_messages(broker, topic, 3)
    assert [m.key() for m in messages] == [b"card7", b'["card7","m1"]', None]
    assert [orjson.loads(m.value()) for m in messages] == MATCHES


def test_with_a_registry_matches_are_avro_under_topic_value(
    broker: str, new_topic: Callable, registry: RegistryServer
) -> None:
    topic = new_topic()
    config = ConnectorConfig(bootstrap_servers=broker, schema_registry=registry.url)
    sink = open_sink(f"kafka:{topic}", config)
    sink.write(MATCHES[:1])
    sink.write(MATCHES[2:])
    sink.close()
    latest = registry_client(registry.url).get_latest_version(f"{topic}-value")
    messages = raw_messages(broker, topic, 2)
    assert {m.value()[:5] for m in messages} == {b"\x00" + latest.schema_id.to_bytes(4, "big")}
    config.from_beginning = config.stop_at_end = True
    source = open_source(f"kafka:{topic}", None, config)
    assert read_to_end(source).records == [MATCHES[0], MATCHES[2]]


def test_json_output_can_be_forced_with_a_registry(
    broker: str, new_topic: Callable, registry: RegistryServer
) -> None:
    topic = new_topic()
    config = ConnectorConfig(bootstrap_servers=broker, schema_registry=registry.url, format="json")
    sink = open_sink(f"kafka:{topic}", config)
    sink.write(MATCHES[:1])
    sink.close()
    assert orjson.loads(raw_messages(broker, topic, 1)[0].value()) == MATCHES[0]


def test_dead_letters_keep_the_raw_bytes_with_reason_and_origin_headers(
    broker: str, new_topic: Callable
) -> None:
    topic = new_topic()
    sink = open_sink(
        f"kafka:{topic}", ConnectorConfig(bootstrap_servers=broker), role="dead-letter"
    )
    sink.write(
        [DeadLetter(b"\x00\x00\x00\x00\x09junk", "unknown schema id 9", "kafka:p[1]@5").to_record()]
    )
    sink.close()
    (message,) = raw_messages(broker, topic, 1)
    assert message.value() == b"\x00\x00\x00\x00\x09junk"
    assert message.headers() == [
        ("gress.reason", b"unknown schema id 9"),
        ("gress.origin", b"kafka:p[1]@5"),
    ]


def test_records_that_cannot_be_delivered_fail_the_flush(tmp_path: Path) -> None:
    own = start_broker(tmp_path)  # a broker of its own, to stop it under the sink
    try:
        config = ConnectorConfig(
            bootstrap_servers=own.address,
            kafka_config={"message.timeout.ms": "1500", "reconnect.backoff.max.ms": "200"},
        )
        sink = open_sink("kafka:alerts", config)  # Tansu creates the topic on first use
        sink.write(MATCHES[:1])
        sink.flush()
        own.stop()
        sink.write(MATCHES)
        with pytest.raises(UserError, match="3 records could not be delivered"):
            sink.flush()
    finally:
        own.stop()


def test_a_resumed_run_skips_only_what_its_predecessor_wrote_after_the_checkpoint(
    broker: str, new_topic: Callable
) -> None:
    """The ledger's position follows the delivered records, so a checkpoint knows where the
    run's output ended. (It once stayed at the run's start: a resumed run then skipped an equal
    record written before the checkpoint as well, losing a new match equal to it.)"""
    topic = new_topic()
    config = ConnectorConfig(bootstrap_servers=broker)
    transaction = KafkaTransaction(config, f"job-{uuid.uuid4().hex[:8]}", topic)
    try:
        sink = open_sink(f"kafka:{topic}", config, transaction=transaction, run_id="run-1")
        sink.write(MATCHES[:1])
        sink.flush()
        checkpoint = sink.position()
        assert checkpoint == {"offsets": {"0": 1}}
        transaction.commit(1, {})
        sink.write(MATCHES[:1])  # an equal match after the checkpoint
        sink.flush()
        transaction.commit(2, {})
    finally:
        transaction.close()
    resumed = OutputLedger(topic, config, "run-1", checkpoint)
    assert resumed.skip == Counter({encode_json(MATCHES[0]): 1})


def test_what_a_resumed_run_has_still_to_skip_is_part_of_its_checkpoint(
    broker: str, new_topic: Callable
) -> None:
    """A resumed run killed again before it caught up with its predecessor: the records it
    would still have skipped lie before its own checkpoint's output ends, so only the
    checkpoint's position can tell the next run about them."""
    topic = new_topic()
    config = ConnectorConfig(bootstrap_servers=broker)
    transaction = KafkaTransaction(config, f"job-{uuid.uuid4().hex[:8]}", topic)
    try:
        sink = open_sink(f"kafka:{topic}", config, transaction=transaction, run_id="run-1")
        checkpoint = sink.position()
        sink.write(MATCHES[:2])  # the predecessor's output after its checkpoint
        sink.flush()
        transaction.commit(1, {})
    finally:
        transaction.close()
    resumed = OutputLedger(topic, config, "run-1", checkpoint)
    assert resumed.already_written(encode_json(MATCHES[0]))  # caught up with one of the two
    again = OutputLedger(topic, config, "run-1", resumed.position())
    assert again.skip == Counter({encode_json(MATCHES[1]): 1})
    assert again.ends == resumed.ends == {0: 2}
