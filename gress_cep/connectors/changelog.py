"""A scale-out job's state as a compacted Kafka topic: one partition per input partition (task).

Every checkpoint of a task writes the state that changed (the puts and deletes of its
`WriteBatch`) to its changelog partition, then a *commit record* holding the task's input
positions, output positions and checkpoint number, all inside the task's Kafka transaction
together with its outputs and consumed offsets. A reader applies the changes in groups, each
closed by a commit record; changes after the last commit record are the unfinished transaction
of a fenced predecessor (a broker may show it — Tansu commits a fenced producer's open
transaction instead of aborting it) and are not applied: the task's new owner writes the
restored values of those keys again, so that the next reader never mistakes them for part of
a later group.

Record key: the table name, a NUL byte, the state key (table names contain no NUL); record
value: the state value, or none (a tombstone) for a delete — so compaction keeps exactly the
newest value of each key. The commit record's key starts with a NUL byte.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from gress_cep.connectors import ConnectorConfig
from gress_cep.connectors.kafka import client_config, kafka_client, topic_partitions
from gress_cep.errors import UserError
from gress_cep.state.backend import WriteBatch

COMMIT_KEY = b"\x00gress:commit"


def changelog_topic(group: str) -> str:
    return f"{group}-gress-changelog"


def record_key(table: str, key: bytes) -> bytes:
    return table.encode() + b"\x00" + key


def ensure_topic(config: ConnectorConfig, topic: str, partitions: int) -> None:
    """Create the changelog topic (compacted, one partition per input partition) unless it
    exists; refuse one with another partition count (the input was resized)."""
    conf = client_config(config)
    admin = AdminClient({k: v for k, v in conf.items() if k != "logger"})
    # every topic: asking for this one by name may create it with the broker's defaults
    metadata = admin.list_topics(timeout=config.connect_timeout_s)
    found = metadata.topics.get(topic)
    if found is not None and found.error is None:
        if len(found.partitions) != partitions:
            raise UserError(
                f"the changelog topic {topic} has {len(found.partitions)} partitions, the input "
                f"{partitions}: the input topic was resized since this group last ran",
                hint="repartitioning is a new job: take a savepoint, start a new --group",
            )
        return
    new = NewTopic(
        topic,
        num_partitions=partitions,
        config={"cleanup.policy": "compact", "retention.ms": "-1"},
    )
    for future in admin.create_topics([new]).values():
        try:
            future.result(config.connect_timeout_s)
        except KafkaException as err:
            if err.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # another worker won
                raise UserError(f"cannot create the changelog topic {topic}: {err}") from None


def write_changes(produce: Callable[[bytes, bytes | None], None], batch: WriteBatch) -> int:
    """A checkpoint's state changes as changelog records; returns how many."""
    for table, key, value in batch.puts:
        produce(record_key(table, key), value)
    for table, key in batch.deletes:
        produce(record_key(table, key), None)
    return len(batch)


def commit_value(metadata: dict[str, Any]) -> bytes:
    return orjson.dumps(metadata)


@dataclass(slots=True)
class ChangelogRead:
    """What reading a task's changelog partition found."""

    commit: dict[str, Any] | None = None  # the metadata of the last commit record read
    commit_offset: int = -1  # its offset
    applied: int = 0  # state records applied
    end: int = 0  # the offset after the last record read
    # keys written after the last commit record (an unfinished transaction of a fenced owner)
    tail: list[tuple[str, bytes]] = field(default_factory=list)
    seconds: float = 0.0


def read_changelog(
    config: ConnectorConfig,
    topic: str,
    partition: int,
    start: int,
    apply: Callable[[WriteBatch], None],
    progress: Callable[[int], None] | None = None,
) -> ChangelogRead:
    """Apply the partition's complete groups of changes from offset `start` (-1: the
    beginning) to its end, in order."""
    began = time.monotonic()
    conf = {
        **client_config(config),
        "group.id": f"{topic}-restore",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "isolation.level": "read_committed",
        "fetch.max.bytes": 52428800,
        "fetch.wait.max.ms": 10,  # the end is reached when a fetch comes back short: soon
    }
    consumer: Consumer = kafka_client(Consumer, conf)
    found = ChangelogRead(end=max(start, 0))
    pending = WriteBatch()
    try:
        topic_partitions(consumer, topic, config)
        first = OFFSET_BEGINNING if start < 0 else start
        consumer.assign([TopicPartition(topic, partition, first)])
        target = None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = False
            for message in consumer.consume(10000, 0.05):
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise UserError(f"kafka:{topic}[{partition}]: {error.str()}")
                    offset = message.offset()
                    assert offset is not None
                    if target is None:  # wait past transactions open when first reached
                        tp = TopicPartition(topic, partition)
                        target = consumer.get_watermark_offsets(tp, cached=True)[1]
                    if offset >= target:
                        found.end = max(found.end, offset)
                        done = True
                    continue
                key, offset = message.key() or b"", message.offset()
                assert offset is not None
                found.end = offset + 1
                if key == COMMIT_KEY:
                    if pending:
                        apply(pending)
                        found.applied += len(pending)
                        pending = WriteBatch()
                    found.commit = orjson.loads(message.value() or b"{}")
                    found.commit_offset = offset
                    if progress is not None:
                        progress(found.applied)
                    continue
                table, _, state_key = key.partition(b"\x00")
                value = message.value()
                if value is None:
                    pending.delete(table.decode(), state_key)
                else:
                    pending.put(table.decode(), state_key, value)
            if done:
                break
        else:
            raise UserError(f"kafka:{topic}[{partition}]: could not read the changelog to its end")
    finally:
        consumer.close()
    found.tail = [(t, k) for t, k, _ in pending.puts] + list(pending.deletes)
    found.seconds = time.monotonic() - began
    return found
