"""Kafka topics in and out (confluent-kafka).

Source: without a consumer group, every partition of the topic is assigned directly (start:
the given position, else earliest with --from-beginning, else latest); with `--group`, the topic
is subscribed and Kafka shares its partitions among the workers of the group. Offsets are
committed only through `commit(position)`, which the runtime calls after the outputs are
flushed: at-least-once delivery.

`--stop-at-end` ends the source once every assigned partition reached the end offset it had at
start. ListOffsets ("latest") is not trusted for that end (Tansu answers it with the base offset
of the last batch); the end is the high watermark of the first fetch response of a partition,
or the partition-EOF event, both correct on Tansu and on Apache Kafka.

A tombstone (a null value) is a dead letter, except in the table of a lookup (`deletes`, set by
the pipeline), where it deletes the row of its message key from its message time on.

Sink: a Producer; the message key is the record's `key` field (the pattern's partition key) as
a string; the value is JSON, or Confluent Avro when a schema registry is set (JSON Schema or
Protobuf with --output-format json-schema|protobuf). Delivery errors
are collected and raised by `flush()`.

Connection problems at start are one clear `UserError`. While running, a broker that goes away
is ridden out: librdkafka reconnects with backoff, the consumer waits, and the producer retries
a message until `message.timeout.ms` (5 min by default) before its failure surfaces.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.schema_registry import SchemaRegistryClient

from gress_cep.connectors.base import Batch, DeadLetter, Record
from gress_cep.connectors.codec import JsonDecoder, ValueDecoder, encode_json
from gress_cep.connectors.confluent import (
    SCHEMA_TYPES,
    AutoDecoder,
    ConfluentDecoder,
    InferringEncoder,
    confluent_encoder,
)
from gress_cep.connectors.dead_letter import KafkaHeaders, kafka_form
from gress_cep.connectors.registry import SETTINGS_PREFIX, registry_client, registry_settings
from gress_cep.connectors.validation import Validator
from gress_cep.dsl.ast import Stream
from gress_cep.errors import UserError

if TYPE_CHECKING:
    from gress_cep.connectors import ConnectorConfig

log = logging.getLogger("gress.kafka")
log.addHandler(logging.NullHandler())  # librdkafka's own retries are not the user's business

# Group defaults that make a consumer group form in ~3 s instead of ~23 s (see docs/kafka.md).
GROUP_DEFAULTS = {"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"}

# Errors that no waiting will fix; anything else is logged while librdkafka retries.
_FATAL_CODES = {
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError._AUTHENTICATION,
    KafkaError.SASL_AUTHENTICATION_FAILED,
}


# A newer producer with the same transactional id took over: this one must give up its work.
_FENCED = {KafkaError._FENCED, KafkaError.INVALID_PRODUCER_EPOCH, KafkaError.PRODUCER_FENCED}


class Fenced(Exception):
    """This process's transaction was fenced: another worker owns its partition now."""


class StillOpen(UserError):
    """An output could not be read to its end: another writer's transaction is open."""


def client_config(config: ConnectorConfig) -> dict[str, Any]:
    """librdkafka settings: the broker address, then --kafka-config (minus the registry's)."""
    if not config.bootstrap_servers:
        raise UserError(
            "Kafka needs a broker address",
            hint="pass --bootstrap-servers HOST:PORT or set GRESS_BOOTSTRAP_SERVERS",
        )
    conf: dict[str, Any] = {"bootstrap.servers": config.bootstrap_servers, "logger": log}
    conf.update(
        (key, value)
        for key, value in config.kafka_config.items()
        if not key.startswith(SETTINGS_PREFIX)
    )
    return conf


def kafka_client(factory: type[Consumer] | type[Producer], conf: dict[str, Any]) -> Any:
    try:
        return factory(conf)
    except KafkaException as err:
        raise UserError(
            f"bad Kafka setting: {err.args[0].str()}",
            hint="--kafka-config takes librdkafka properties, e.g. security.protocol=SASL_SSL",
        ) from None
    except (ValueError, TypeError) as err:
        raise UserError(f"bad Kafka setting: {err}") from None


def topic_partitions(client: Consumer | Producer, topic: str, config: ConnectorConfig) -> list[int]:
    """The topic's partitions; a clear error when the broker or the topic is not there."""
    try:
        metadata = client.list_topics(topic, timeout=config.connect_timeout_s)
    except KafkaException as err:
        raise UserError(
            f"cannot reach Kafka at {config.bootstrap_servers} ({err.args[0].str()})",
            hint="is the broker running? check --bootstrap-servers (env GRESS_BOOTSTRAP_SERVERS)"
            " and the security settings in --kafka-config",
        ) from None
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        if found is None or found.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise UserError(
                f"Kafka topic '{topic}' does not exist at {config.bootstrap_servers}",
                hint=f"create it first, e.g. kafka-topics --create --topic {topic}",
            )
        raise UserError(f"kafka:{topic}: {found.error.str()}")
    return sorted(found.partitions)


def value_format(topic: str, config: ConnectorConfig, *, output: bool = False) -> str | None:
    """ "json", "avro", "json-schema", "protobuf", or None: a source tells per record (by the
    first byte, and the registry by the schema id), a sink writes Avro given a registry.

    A source follows --format; a sink --output-format, else --format when that names a Kafka
    value format (`--format csv` for the input files says nothing about a topic)."""
    fmt, option = config.format, "--format"
    if output:
        if config.output_format is not None:
            fmt, option = config.output_format, "--output-format"
        elif fmt not in ("json", "jsonl", *SCHEMA_TYPES):
            fmt = None
    if fmt in ("json", "jsonl"):
        return "json"
    if fmt is None or fmt in SCHEMA_TYPES:
        return fmt
    raise UserError(
        f"kafka:{topic}: {option} {fmt} is not a Kafka value format",
        hint=f"Kafka values are JSON or, through a schema registry, Avro, JSON Schema or "
        f"Protobuf: {option} json, avro, json-schema or protobuf",
    )


def _registry(
    topic: str, config: ConnectorConfig, needed: str | None
) -> tuple[SchemaRegistryClient, str] | None:
    """The registry client and its URL; None when no registry is set and none is `needed`
    (the value format that needs one)."""
    url = config.schema_registry
    if not url:
        if needed:
            name = {"avro": "Avro", "json-schema": "JSON Schema", "protobuf": "Protobuf"}[needed]
            raise UserError(
                f"kafka:{topic}: {name} values need a schema registry",
                hint="pass --schema-registry URL (or set GRESS_SCHEMA_REGISTRY)",
            )
        return None
    return registry_client(url, registry_settings(config.kafka_config)), url


def value_decoder(
    topic: str, stream: Stream | None, config: ConnectorConfig, validator: Validator | None
) -> ValueDecoder:
    fmt = value_format(topic, config)
    if fmt == "json":
        return JsonDecoder(validator)
    registry = _registry(topic, config, needed=fmt)
    if registry is None:
        return AutoDecoder(None, f"kafka:{topic}", validator)
    client, url = registry
    if fmt is not None:  # framed values of that schema type only
        return ConfluentDecoder(client, url, stream, validator, SCHEMA_TYPES[fmt])
    framed = ConfluentDecoder(client, url, stream, validator)
    return AutoDecoder(framed, f"kafka:{topic}", validator)


def decode_messages(
    description: str,
    messages: list[Message],
    decoder: ValueDecoder,
    deletion: Callable[[Message], tuple[Record, int] | None] | None = None,
) -> Batch:
    """Consumed messages (no error events) as a Batch: decoded values, their partitions and
    record times; what cannot be decoded, and null values, as dead letters naming
    `description[partition]@offset`. With `deletion` (a lookup's table), a null value is the
    record it returns, appended after the values of the batch."""
    values: list[bytes] = []
    partitions: list[int] = []
    offsets: list[int] = []
    stamps: list[int] = []
    dead: list[DeadLetter] = []
    deletions: list[tuple[Record, int, int, int]] = []  # tombstones of a lookup's table
    for message in messages:
        partition, offset = message.partition(), message.offset()
        assert partition is not None and offset is not None  # a consumed record has both
        value = message.value()
        if value is None:
            found = deletion(message) if deletion is not None else None
            if found is not None:
                deletions.append((found[0], partition, offset, found[1]))
                continue
            origin = f"{description}[{partition}]@{offset}"
            dead.append(DeadLetter(None, "null value (a tombstone)", origin))
            continue
        values.append(value)
        partitions.append(partition)
        offsets.append(offset)
        kind, stamp = message.timestamp()
        stamps.append(int(time.time() * 1000) if kind == TIMESTAMP_NOT_AVAILABLE else stamp)
    decoded = decoder.decode_all(values)
    if decoded.failures:
        dead += [
            DeadLetter(
                values[f.index],
                f.reason,
                f"{description}[{partitions[f.index]}]@{offsets[f.index]}",
                f.record,
            )
            for f in decoded.failures
        ]
        kept = decoded.kept or []
        partitions = [partitions[i] for i in kept]
        stamps = [stamps[i] for i in kept]
        offsets = [offsets[i] for i in kept]
    records = decoded.records
    if deletions:  # after the values of the poll (a deletion and an update of one key at
        # the very same millisecond in one poll would swap: rare, and only then)
        records = [*records, *(d[0] for d in deletions)]
        partitions = [*partitions, *(d[1] for d in deletions)]
        offsets = [*offsets, *(d[2] for d in deletions)]
        stamps = [*stamps, *(d[3] for d in deletions)]
    return Batch(
        records,
        partitions,
        stamps,
        dead,
        lambda i: f"{description}[{partitions[i]}]@{offsets[i]}",
    )


def tombstone_record(stream: Stream | None, message: Message) -> tuple[Record, int] | None:
    """The record a lookup table's tombstone stands for — its key (the message key, an int
    when the schema says so) and its time — and the message time; None without a key field
    or a message key."""
    raw = message.key()
    if stream is None or stream.key is None or raw is None:
        return None
    try:
        key: Any = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    types = {f.name.text: f.type.text for f in stream.schema or ()}
    if types.get(stream.key.text) == "int":
        try:
            key = int(key)
        except ValueError:
            return None
    kind, stamp = message.timestamp()
    stamp = int(time.time() * 1000) if kind == TIMESTAMP_NOT_AVAILABLE else stamp
    record: Record = {stream.key.text: key}
    if stream.time is not None:
        record[stream.time.text] = stamp
    return record, stamp


class KafkaSource:
    live = True  # records arrive as they are produced: wall-clock deadlines apply (Pipeline)

    def __init__(
        self,
        topic: str,
        stream: Stream | None,
        config: ConnectorConfig,
        start: dict[str, Any] | None = None,
    ) -> None:
        self.description = f"kafka:{topic}"
        self._topic = topic
        # the table of a lookup (set by the Pipeline): a tombstone (null value) is the record
        # {key field: message key, time field: message time}, deleting its key's row
        self.deletes = False
        self._stream = stream
        validator = Validator(stream) if stream is not None and stream.schema else None
        self._decoder = value_decoder(topic, stream, config, validator)
        conf = client_config(config)
        defaults = {
            "group.id": config.group or f"gress-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest" if config.from_beginning else "latest",
            "enable.partition.eof": config.stop_at_end,
            # only what transactional producers committed (exactly-once pipelines)
            "isolation.level": "read_committed",
            **(GROUP_DEFAULTS if config.group else {}),
        }
        self._consumer: Consumer = kafka_client(Consumer, {**defaults, **conf})
        partitions = topic_partitions(self._consumer, topic, config)
        self._grouped = config.group is not None
        # cooperative rebalancing hands out partitions incrementally
        self._cooperative = "cooperative" in str(conf.get("partition.assignment.strategy", ""))
        self._stop_at_end = config.stop_at_end
        self._next: dict[int, int] = {}  # partition -> next offset to read
        self._start = {int(p): int(o) for p, o in (start or {}).get("offsets", {}).items()}
        # a resumed partition that returns nothing this run still stands where it stood
        self._next.update(self._start)
        self._assigned: set[int] = set()
        self._end: dict[int, int] = {}  # partition -> its end offset at start (--stop-at-end)
        self._finished: set[int] = set()  # partitions that reached that end
        if self._grouped:
            self._consumer.subscribe(
                [topic],
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_revoke,
            )
        else:
            first = OFFSET_BEGINNING if config.from_beginning else OFFSET_END
            self._consumer.assign(
                [TopicPartition(topic, p, self._start.get(p, first)) for p in partitions]
            )
            self._assigned = set(partitions)

    @property
    def decoder(self) -> ValueDecoder:
        """How the values are decoded (JSON, the registry's formats, or told per record)."""
        return self._decoder

    # ------------------------------------------------------------------ group membership
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            if tp.partition in self._start:  # a given start position wins once
                tp.offset = self._start.pop(tp.partition)
        if self._cooperative:
            consumer.incremental_assign(partitions)
            self._assigned |= {tp.partition for tp in partitions}
        else:
            consumer.assign(partitions)
            self._assigned = {tp.partition for tp in partitions}

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._assigned.discard(tp.partition)
            self._next.pop(tp.partition, None)  # another worker carries on from the commit
            self._end.pop(tp.partition, None)
            self._finished.discard(tp.partition)

    # ------------------------------------------------------------------ Source
    def partitions(self) -> list[int]:
        return sorted(self._assigned)

    def poll(self, max_records: int, timeout_s: float) -> Batch | None:
        if self._stop_at_end and self._assigned and self._assigned <= self._finished:
            return None
        try:
            messages = self._consumer.consume(max_records, timeout_s)
        except KafkaException as err:
            raise UserError(f"{self.description}: {err.args[0].str()}") from None
        kept: list[Message] = []
        for message in messages:
            error = message.error()
            if error is not None:
                self._on_error(message, error)
                continue
            partition, offset = message.partition(), message.offset()
            # None only on messages built by hand; a consumed record has both
            assert partition is not None and offset is not None
            if self._stop_at_end and self._beyond_end(partition, offset):
                continue
            self._next[partition] = offset + 1
            kept.append(message)
        return decode_messages(
            self.description,
            kept,
            self._decoder,
            (lambda m: tombstone_record(self._stream, m)) if self.deletes else None,
        )

    def _beyond_end(self, partition: int, offset: int) -> bool:
        """True for a record past the partition's end at start (not returned, not consumed)."""
        end = self._end.get(partition)
        if end is None:
            tp = TopicPartition(self._topic, partition)
            end = self._consumer.get_watermark_offsets(tp, cached=True)[1]
            if end < 0:  # not known yet: keep reading
                return False
            self._end[partition] = end
        if offset + 1 >= end:
            self._finish(partition)
        return offset >= end

    def _finish(self, partition: int) -> None:
        if partition not in self._finished:
            self._finished.add(partition)
            self._consumer.pause([TopicPartition(self._topic, partition)])

    def _on_error(self, message: Message, error: KafkaError) -> None:
        if error.code() == KafkaError._PARTITION_EOF:
            if self._stop_at_end:
                partition = message.partition()
                assert partition is not None  # an end-of-partition event names its partition
                self._finish(partition)
            return
        if error.fatal() or error.code() in _FATAL_CODES:
            raise UserError(f"{self.description}: {error.str()}")
        log.warning("%s: %s (retrying)", self.description, error.str())

    def position(self) -> dict[str, Any]:
        return {"topic": self._topic, "offsets": {str(p): o for p, o in self._next.items()}}

    def lag(self) -> int | None:
        """Records in the assigned partitions not read yet, summed (the consumer lag); None
        before any end offset is known. The ends are those of the last fetch responses
        (librdkafka's cached watermarks: no request)."""
        total, known = 0, False
        for partition in sorted(self._assigned):
            low, end = self._consumer.get_watermark_offsets(
                TopicPartition(self._topic, partition), cached=True
            )
            if end < 0:
                continue
            known = True
            total += max(0, end - self._next.get(partition, max(low, 0)))
        return total if known else None

    def commit(self, position: dict[str, Any]) -> None:
        """Commit the group's offsets up to `position` (nothing to commit without --group)."""
        if not self._grouped:
            return
        offsets = [
            TopicPartition(self._topic, int(p), int(o))
            for p, o in position.get("offsets", {}).items()
            if int(p) in self._assigned
        ]
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as err:  # e.g. during a rebalance: the next commit covers it
            log.warning("%s: commit failed: %s", self.description, err.args[0].str())

    def close(self) -> None:
        self._consumer.close()


def produce(
    producer: Producer, topic: str, value: bytes | None, key: bytes | None, **options: Any
) -> None:
    """`producer.produce`, waiting for room when its local queue is full."""
    while True:
        try:
            producer.produce(topic, value, key, **options)
            return
        except BufferError:  # the local queue is full: let deliveries drain it
            producer.poll(0.1)


def _message_key(record: Record) -> bytes | None:
    key = record.get("key")
    if key is None:
        return None
    if isinstance(key, str):
        return key.encode("utf-8")
    return encode_json(key)


class KafkaTransaction:
    """One transactional producer for every Kafka output of a job: exactly-once output.

    Everything a job writes to Kafka between two checkpoints is one transaction; the
    checkpoint's commit step commits it together with the consumed offsets and a marker (the
    checkpoint id, stored as the committed offset of the group `gress-<transaction id>` on the
    first output's partition 0; the transaction id is the job's, or with --group the
    worker's). A job that restarts reads the marker to learn which checkpoint's outputs
    were committed, and resumes from exactly that checkpoint (docs/operations.md).
    """

    def __init__(
        self, config: ConnectorConfig, transaction_id: str, marker_topic: str | None
    ) -> None:
        self.group = f"gress-{transaction_id}"
        base = client_config(config)
        self._failed = 0
        self._first_failure = ""
        self.producer: Producer = kafka_client(
            Producer,
            {
                "linger.ms": 10,
                **base,
                "transactional.id": self.group,
                "on_delivery": self._delivered,
                # no "delivery.report.only.error": the sinks' OutputLedger learns where the
                # output ends from the reports of successful deliveries
            },
        )
        # a scale-out task keeps its marker in its changelog instead (gress_cep.runtime.task)
        self.marker = TopicPartition(marker_topic, 0) if marker_topic is not None else None
        self._consumer: Consumer | None = None
        if marker_topic is not None:
            self._consumer = kafka_client(
                Consumer, {**base, "group.id": self.group, "enable.auto.commit": False}
            )
        try:
            # fences an earlier incarnation of this job and aborts its open transaction
            self.producer.init_transactions(config.connect_timeout_s * 3)
            self.producer.begin_transaction()
        except KafkaException as err:
            raise UserError(f"cannot start a Kafka transaction: {err.args[0].str()}") from None

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._failed += 1
            self._first_failure = self._first_failure or error.str()

    def committed_checkpoint(self) -> int | None:
        """The id of the newest checkpoint whose transaction was committed, if any."""
        assert self._consumer is not None and self.marker is not None
        [tp] = self._consumer.committed([self.marker], timeout=10)
        return tp.offset if tp.offset >= 0 else None

    def flush(self) -> None:
        while self.producer.flush(1.0):
            pass
        if self._failed:
            failed, self._failed = self._failed, 0
            raise UserError(
                f"{failed} records could not be delivered to Kafka ({self._first_failure})",
                hint="check that the broker is up and the topic accepts writes",
            )

    def commit(self, checkpoint_id: int, offsets: dict[str, dict[str, Any]]) -> None:
        """Commit the open transaction with the input offsets and the checkpoint marker."""
        assert self._consumer is not None and self.marker is not None
        parts = [TopicPartition(self.marker.topic, 0, checkpoint_id)]
        for position in offsets.values():
            topic = position.get("topic")
            if topic is None:  # not a Kafka input (a file): no offsets to commit
                continue
            for partition, offset in (position.get("offsets") or {}).items():
                parts.append(TopicPartition(topic, int(partition), int(offset)))
        self.commit_offsets(parts, self._consumer.consumer_group_metadata())

    def commit_offsets(self, offsets: list[TopicPartition], group_metadata: Any) -> None:
        """Flush, then commit the open transaction with `offsets` for the consumer group of
        `group_metadata`, and open the next one."""
        self.flush()
        try:
            if offsets:
                self.producer.send_offsets_to_transaction(offsets, group_metadata, 30)
            self.producer.commit_transaction(30)
            self.producer.begin_transaction()
        except KafkaException as err:
            error = err.args[0]
            if error.code() in _FENCED:
                raise Fenced(error.str()) from None
            raise UserError(f"cannot commit the Kafka transaction: {error.str()}") from None

    def close(self) -> None:
        """Abort what was written after the last checkpoint (a resumed run writes it again)."""
        with contextlib.suppress(KafkaException):  # nothing open, or the broker is gone
            self.producer.abort_transaction(10)
        if self._consumer is not None:
            self._consumer.close()


RUN_HEADER = "gress.run"


class OutputLedger:
    """Where a job's output stands in each partition of a topic, and which records a resumed
    job need not write again.

    A transaction keeps uncommitted output invisible on Apache Kafka; a broker that shows it
    anyway would show records twice after a restart. Tansu does: a new producer's
    `init_transactions` commits the open transaction of the killed one it fences, where Kafka
    aborts it. So each record carries the run's id in a header, a checkpoint records where the
    run's output ends in every partition, and a resumed run first reads what its killed
    predecessor wrote after that point: records it would write again and that are already
    there are skipped (counted as a multiset, since two matches can be equal). What is still to
    be skipped at a checkpoint is part of its position: a run killed again before it caught up
    with its predecessor leaves records beyond its own checkpoint that only this count knows.
    This needs the same records after a restore, which the engine gives for in-order event time
    within the lateness.
    """

    def __init__(
        self,
        topic: str,
        config: ConnectorConfig,
        run_id: str,
        resume: dict[str, Any] | None,
        *,
        shared: bool = False,
    ) -> None:
        self.topic = topic
        # other writers (the tasks of a scale-out job) may hold transactions open on the topic;
        # a task must not wait long for them inside a rebalance (it would hold up the very
        # rebalance that lets their new owner fence them): it asks again later (StillOpen)
        self.shared = shared
        self.run_id = run_id.encode()
        self.skip: Counter[bytes] = Counter()
        conf = {
            **client_config(config),
            "group.id": f"gress-ledger-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
        }
        consumer: Consumer = kafka_client(Consumer, conf)
        try:
            partitions = topic_partitions(consumer, topic, config)
            if resume is None:
                self.ends = self._current_ends(consumer, partitions)
            else:
                self.ends = {int(p): int(o) for p, o in resume["offsets"].items()}
                self.skip = Counter(
                    {base64.b64decode(value): count for value, count in resume.get("skip", [])}
                )
                self.skip.update(self._written_since(consumer, self.ends))
        finally:
            consumer.close()

    def _read_to_end(self, consumer: Consumer, starts: dict[int, int]) -> Iterator[Message]:
        """Every committed record from `starts` to the high watermark each partition had when
        first reached. Reading committed records stops at the first open transaction (of
        another worker writing the same topic); what a fenced predecessor wrote may lie beyond
        it, so the read waits until those transactions commit and the end is passed."""
        consumer.assign([TopicPartition(self.topic, p, o) for p, o in starts.items()])
        pending = set(starts)
        target: dict[int, int] = {}  # partition -> the end to reach
        wait_s = 2 if self.shared else 60
        deadline = time.monotonic() + wait_s
        while pending and time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.05 if self.shared else 0.5):
                error = message.error()
                if error is None:
                    yield message
                elif error.code() == KafkaError._PARTITION_EOF:
                    partition, offset = message.partition(), message.offset()
                    assert partition is not None and offset is not None  # an EOF names both
                    if not self.shared:
                        pending.discard(partition)
                        continue
                    if partition not in target:
                        tp = TopicPartition(self.topic, partition)
                        target[partition] = consumer.get_watermark_offsets(tp, cached=True)[1]
                    if offset >= target[partition]:
                        pending.discard(partition)
        if pending:
            raise StillOpen(
                f"kafka:{self.topic}: could not read the output back to its end (a "
                f"transaction of another writer stayed open for {wait_s} s)"
            )

    def _current_ends(self, consumer: Consumer, partitions: list[int]) -> dict[int, int]:
        # the end as the fetch responses tell it (ListOffsets "latest" is not trusted)
        for _ in self._read_to_end(consumer, dict.fromkeys(partitions, OFFSET_END)):
            pass
        return {
            p: max(0, consumer.get_watermark_offsets(TopicPartition(self.topic, p), cached=True)[1])
            for p in partitions
        }

    def _written_since(self, consumer: Consumer, ends: dict[int, int]) -> Counter[bytes]:
        written: Counter[bytes] = Counter()
        for message in self._read_to_end(consumer, ends):
            headers = dict(message.headers() or [])
            if headers.get(RUN_HEADER) == self.run_id:
                value, partition, offset = message.value(), message.partition(), message.offset()
                # this run's own output: a value on a known partition and offset
                assert value is not None and partition is not None and offset is not None
                written[value] += 1
                self.delivered(partition, offset)
        return written

    def delivered(self, partition: int, offset: int) -> None:
        if offset + 1 > self.ends.get(partition, 0):
            self.ends[partition] = offset + 1

    def already_written(self, value: bytes) -> bool:
        count = self.skip.get(value)
        if not count:
            return False
        if count == 1:
            del self.skip[value]
        else:
            self.skip[value] = count - 1
        return True

    def position(self) -> dict[str, Any]:
        position: dict[str, Any] = {"offsets": {str(p): o for p, o in self.ends.items()}}
        if self.skip:
            position["skip"] = [
                [base64.b64encode(value).decode(), count] for value, count in self.skip.items()
            ]
        return position


class KafkaSink:
    def __init__(
        self,
        topic: str,
        config: ConnectorConfig,
        role: str = "matches",
        transaction: KafkaTransaction | None = None,
        ledger: OutputLedger | None = None,
    ) -> None:
        self.description = f"kafka:{topic}"
        self._topic = topic
        self._dead_letters = role == "dead-letter"
        self._transaction = transaction
        self._ledger = ledger
        if transaction is not None:
            self._producer: Producer = transaction.producer
        else:
            conf = {
                "linger.ms": 10,
                **client_config(config),
                "on_delivery": self._delivered,
                "delivery.report.only.error": True,  # successes need no Python callback
            }
            self._producer = kafka_client(Producer, conf)
        topic_partitions(self._producer, topic, config)
        self._encoder: InferringEncoder | None = None
        fmt = value_format(topic, config, output=True)
        if not self._dead_letters and fmt != "json":
            # the format asked for (a registry is then required), or Avro when a registry is set
            registry = _registry(topic, config, needed=fmt)
            if registry is not None:
                client, url = registry
                self._encoder = confluent_encoder(client, url, topic, fmt)
        self._failed = 0
        self._first_failure = ""

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._failed += 1
            self._first_failure = self._first_failure or error.str()

    def write(self, records: list[Record]) -> None:
        if self._dead_letters:
            for letter in records:
                value, headers = kafka_form(letter)
                self._produce(value, None, headers)
        else:
            encode = self._encoder.encode_all if self._encoder else _json_values
            for record, value in zip(records, encode(records), strict=True):
                self._produce(value, _message_key(record), None)
        self._producer.poll(0)

    def _produce(self, value: bytes, key: bytes | None, headers: KafkaHeaders | None) -> None:
        ledger = self._ledger
        if ledger is not None:
            if ledger.already_written(value):
                return
            headers = [*(headers or []), (RUN_HEADER, ledger.run_id)]
        if ledger is None:
            produce(self._producer, self._topic, value, key, headers=headers)
        else:
            produce(
                self._producer, self._topic, value, key, headers=headers, on_delivery=self._recorded
            )

    def _recorded(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._delivered(error, message)
        elif self._ledger is not None:
            partition, offset = message.partition(), message.offset()
            # a delivered message has both (acks=all: transactions, the only ledger users)
            assert partition is not None and offset is not None
            self._ledger.delivered(partition, offset)

    def position(self) -> dict[str, Any]:
        """Where this run's output ends in each partition (after a flush)."""
        return self._ledger.position() if self._ledger is not None else {}

    def prepare(self) -> dict[str, Any]:
        """Every record delivered (inside the job's open transaction, with checkpoints)."""
        self.flush()
        return self.position()

    def commit(self, checkpoint_id: int) -> None:
        """Nothing of its own: the job's KafkaTransaction commits every Kafka output and the
        input offsets together (gress_cep.runtime.job.Job.commit)."""

    def flush(self) -> None:
        """Wait until every record is delivered; raise if any could not be."""
        if self._transaction is not None:
            self._transaction.flush()
            self._raise_failed()
            return
        while self._producer.flush(1.0):
            pass  # librdkafka gives up on a message after message.timeout.ms
        self._raise_failed()

    def _raise_failed(self) -> None:
        if self._failed:
            failed, self._failed = self._failed, 0
            raise UserError(
                f"{self.description}: {failed} records could not be delivered "
                f"({self._first_failure})",
                hint="check that the broker is up and the topic accepts writes",
            )

    def close(self) -> None:
        if self._transaction is None:  # a transaction's records wait for its commit
            self.flush()


def _json_values(records: list[Record]) -> list[bytes]:
    return [encode_json(record) for record in records]
