"""Reading Kafka in tests: a source until it finishes (--stop-at-end), a topic as raw messages."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, Message, TopicPartition

from gress_cep.connectors.base import Batch, Source


def read_to_end(source: Source, batch_size: int = 500, deadline_s: float = 30) -> Batch:
    """Every batch of a --stop-at-end source merged into one, partitions and timestamps too."""
    merged = Batch(records=[], partitions=[], timestamps=[], dead=[])
    stop = time.monotonic() + deadline_s
    while (batch := source.poll(batch_size, 0.2)) is not None:
        assert time.monotonic() < stop, f"{source.description} did not reach its end"
        merged.records += batch.records
        merged.partitions += batch.partitions or []
        merged.timestamps += batch.timestamps or []
        merged.dead += batch.dead
    return merged


def raw_messages(broker: str, topic: str, count: int, deadline_s: float = 20) -> list[Message]:
    """The first `count` messages of a one-partition topic, as the broker has them."""
    consumer = Consumer({"bootstrap.servers": broker, "group.id": f"check-{uuid.uuid4()}"})
    consumer.assign([TopicPartition(topic, 0, 0)])
    messages: list[Message] = []
    stop = time.monotonic() + deadline_s
    while len(messages) < count and time.monotonic() < stop:
        messages += [m for m in consumer.consume(count, 0.2) if m.error() is None]
    consumer.close()
    return messages


def read_committed(broker: str, topic: str, deadline_s: float = 60) -> list[bytes]:
    """Every committed value of every partition of `topic`, read to its end."""
    consumer = Consumer(
        {
            "bootstrap.servers": broker,
            "group.id": f"check-{uuid.uuid4()}",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    partitions = list(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    pending, values = set(partitions), []
    stop = time.monotonic() + deadline_s
    while pending:
        assert time.monotonic() < stop, f"{topic}: could not read to the end"
        for message in consumer.consume(1000, 0.1):
            if message.error() is not None:
                pending.discard(message.partition())
            elif message.value() is not None:
                values.append(message.value())
    consumer.close()
    return values
