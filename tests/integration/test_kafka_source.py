"""The Kafka source against a real broker: partitions, end of input, positions, groups, errors."""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
import pytest
from confluent_kafka import Producer

from gress_cep.connectors import ConnectorConfig, open_source
from gress_cep.errors import UserError

from .conftest import free_port
from .kafka_reading import read_to_end

pytestmark = pytest.mark.kafka


def config(broker: str, **changes: object) -> ConnectorConfig:
    settings = {"from_beginning": True, "stop_at_end": True, **changes}
    return ConnectorConfig(bootstrap_servers=broker, **settings)


def events(count: int) -> list[tuple[bytes, bytes]]:
    return [
        (f"k{i % 7}".encode(), orjson.dumps({"i": i, "key": f"k{i % 7}"})) for i in range(count)
    ]


def test_every_record_of_every_partition_comes_out_once(
    broker: str, new_topic: Callable, produce: Callable
) -> None:
    topic = new_topic(partitions=3)
    produce(topic, [(k, v, i % 3) for i, (k, v) in enumerate(events(300))])
    source = open_source(f"kafka:{topic}", None, config(broker))
    assert source.partitions() == [0, 1, 2]
    batch = read_to_end(source)
    source.close()
    assert sorted(r["i"] for r in batch.records) == list(range(300))
    assert [p for p in batch.partitions] == [r["i"] % 3 for r in batch.records]
    assert batch.dead == []


def test_batches_carry_the_kafka_record_timestamps(broker: str, new_topic: Callable) -> None:
    topic = new_topic()
    producer = Producer({"bootstrap.servers": broker})
    for i in range(5):
        producer.produce(topic, b'{"i": %d}' % i, timestamp=1_700_000_000_000 + i * 1000)
    producer.flush(10)
    batch = read_to_end(open_source(f"kafka:{topic}", None, config(broker)))
    assert batch.timestamps == [1_700_000_000_000 + i * 1000 for i in range(5)]


def test_stop_at_end_stops_at_the_end_the_partition_had_at_start(
    broker: str, new_topic: Callable, produce: Callable
) -> None:
    topic = new_topic()
    produce(topic, events(100))
    source = open_source(f"kafka:{topic}", None, config(broker))
    first = source.poll(10, 5.0)
    assert first is not None and len(first.records) == 10
    produce(topic, events(50))  # arrives after the start: not part of this replay
    rest = read_to_end(source)
    assert len(first.records) + len(rest.records) == 100


def test_an_empty_topic_ends_at_once(broker: str, new_topic: Callable) -> None:
    source = open_source(f"kafka:{new_topic(partitions=2)}", None, config(broker))
    assert read_to_end(source, deadline_s=10).records == []


def test_without_from_beginning_only_new_records_are_read(
    broker: str, new_topic: Callable, produce: Callable
) -> None:
    topic = new_topic()
    # One produce request per record: Tansu answers "latest" with the base offset of the last
    # batch + 1 (see NOTES-kafka.md), which is the true end only for one-record batches.
    for message in events(20):
        produce(topic, [message])
    source = open_source(f"kafka:{topic}", None, config(broker, from_beginning=False))
    assert read_to_end(source, deadline_s=10).records == []
    follow = open_source(
        f"kafka:{topic}", None, config(broker, from_beginning=False, stop_at_end=False)
    )
    first = follow.poll(100, 1.0)  # joins at the end
    produce(topic, [(b"k", b'{"i": 100}'), (b"k", b'{"i": 101}')])
    records = first.records if first else []
    deadline = time.monotonic() + 10
    while len(records) < 2 and time.monotonic() < deadline:
        records += follow.poll(100, 0.5).records
    follow.close()
    assert records == [{"i": 100}, {"i": 101}]


def test_a_source_resumes_from_its_position(
    broker: str, new_topic: Callable, produce: Callable
) -> None:
    topic = new_topic(partitions=2)
    produce(topic, [(k, v, i % 2) for i, (k, v) in enumerate(events(200))])
    first = open_source(f"kafka:{topic}", None, config(broker))
    taken = []
    while len(taken) < 60:
        batch = first.poll(30, 5.0)
        assert batch is not None
        taken += batch.records
    position = first.position()
    first.close()
    assert position["topic"] == topic
    rest = read_to_end(open_source(f"kafka:{topic}", None, config(broker), start=position))
    assert sorted(r["i"] for r in taken + rest.records) == list(range(200))


def test_a_group_resumes_from_its_committed_offsets(
    broker: str, new_topic: Callable, produce: Callable
) -> None:
    topic = new_topic()
    group = f"g-{topic}"
    produce(topic, events(30))
    first = open_source(f"kafka:{topic}", None, config(broker, group=group))
    assert len(read_to_end(first).records) == 30
    first.commit(first.position())
    first.close()
    produce(topic, events(5))
    second = open_source(f"kafka:{topic}", None, config(broker, group=group))
    assert len(read_to_end(second).records) == 5
    second.close()


def test_a_missing_topic_is_one_clear_line(broker: str) -> None:
    with pytest.raises(UserError, match="Kafka topic 'no-such-topic' does not exist"):
        open_source("kafka:no-such-topic", None, config(broker))


def test_a_broker_that_is_not_there_is_one_clear_line() -> None:
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(UserError, match=f"cannot reach Kafka at {address}") as caught:
        open_source("kafka:payments", None, config(address, connect_timeout_s=1.0))
    assert "--bootstrap-servers" in (caught.value.hint or "")
    assert time.monotonic() - started < 5


def test_a_csv_format_is_refused_for_kafka(broker: str, new_topic: Callable) -> None:
    with pytest.raises(UserError, match="--format csv is not a Kafka value format"):
        open_source(f"kafka:{new_topic()}", None, config(broker, format="csv"))


def test_avro_values_need_a_registry(broker: str, new_topic: Callable) -> None:
    with pytest.raises(UserError, match="Avro values need a schema registry"):
        open_source(f"kafka:{new_topic()}", None, config(broker, format="avro"))
