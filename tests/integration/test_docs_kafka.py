"""Promises of docs/kafka.md and docs/operations.md that need a broker: Kafka in and files out
after kills, jobs writing to Kafka in a new state directory, consumer groups committing their
offsets, and the settings that come from the environment or --kafka-config."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from gress_cep.connectors import ConnectorConfig, open_source
from gress_cep.connectors.confluent import framed

from .kafka_reading import read_to_end
from .registry_server import RegistryServer

pytestmark = pytest.mark.kafka

RULES = """stream events
    key key
    time ts

pattern chain
    from events
    match a -> b+ -> c
    where a: kind == "A"
          b: kind == "B"
          c: kind == "C"
    within 2s
    emit key, count(b) as steps, c.i as at
"""
SCHEMA = {
    "type": "record",
    "name": "Event",
    "fields": [
        {"name": "key", "type": "string"},
        {"name": "ts", "type": "long"},
        {"name": "kind", "type": "string"},
        {"name": "i", "type": "long"},
    ],
}
PARTITIONS = 3


def events(count: int, seed: int = 5) -> list[dict]:
    """Events with time in order; a key always goes to the same partition (see `produce`)."""
    rng = random.Random(seed)
    ts = 1_700_000_000_000
    out = []
    for i in range(count):
        ts += rng.randint(0, 3)
        kind = rng.choices("ABCD", weights=(15, 25, 15, 45))[0]
        out.append({"key": f"k{rng.randrange(50)}", "ts": ts, "kind": kind, "i": i})
    return out


def produce(broker: str, topic: str, records: list[dict], encode=orjson.dumps) -> None:
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 20})
    for record in records:
        key = record["key"].encode()
        producer.produce(topic, encode(record), key, partition=zlib.crc32(key) % PARTITIONS)
    assert producer.flush(30) == 0


def gress(
    workdir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", *args],
        capture_output=True, text=True, cwd=workdir, timeout=120,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def by_key(records: list[dict]) -> dict[str, list[dict]]:
    """Matches grouped by key, in order: what must not depend on how partitions interleave."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        grouped[record["key"]].append(record)
    return dict(grouped)


def jsonl(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def topic_records(broker: str, topic: str) -> list[dict]:
    """Every committed record of a topic."""
    config = ConnectorConfig(bootstrap_servers=broker, from_beginning=True, stop_at_end=True)
    source = open_source(f"kafka:{topic}", None, config)
    try:
        return read_to_end(source).records
    finally:
        source.close()


def committed_offsets(broker: str, group: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": broker, "group.id": group})
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return {tp.partition: tp.offset for tp in consumer.committed(parts, timeout=10)}
    finally:
        consumer.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "rules.gress").write_text(RULES)
    return tmp_path


def test_kafka_to_files_after_kills_is_the_uninterrupted_output(
    broker: str, new_topic: Callable, workdir: Path
) -> None:
    """operations.md: Kafka -> files is exactly once (file outputs truncated, Kafka read again
    from the checkpoint's offsets). Kills land before a checkpoint is durable (its outputs are
    already written), after a commit, and in the middle of a recovery."""
    topic = new_topic(partitions=PARTITIONS)
    produce(broker, topic, events(30_000))

    def detect(name: str, fault: str | None = None) -> subprocess.CompletedProcess:
        return gress(
            workdir, "detect", "rules.gress", "-i", f"kafka:{topic}", "-o", f"{name}.jsonl",
            "--bootstrap-servers", broker, "--from-beginning", "--stop-at-end",
            "--state-dir", f"state-{name}", "--checkpoint-interval", "0s",
            env={"GRESS_FAULT": fault} if fault else None,
        )  # fmt: skip

    assert detect("reference").returncode == 0
    for fault in ("checkpoint-2@2", "checkpoint-4@2", "restore@1", "checkpoint-1@3"):
        killed = detect("killed", fault)
        assert killed.returncode == -signal.SIGKILL, f"{fault}: {killed.stderr}"
    finished = detect("killed")
    assert finished.returncode == 0, finished.stderr
    assert "resumed from checkpoint" in finished.stderr
    reference = jsonl(workdir / "reference.jsonl")
    assert len(reference) > 100
    assert by_key(jsonl(workdir / "killed.jsonl")) == by_key(reference)


def kafka_to_kafka(workdir: Path, broker: str, source: str, output: str, state: str) -> list:
    return [
        "detect", "rules.gress", "-i", f"kafka:{source}", "-o", f"kafka:{output}",
        "--bootstrap-servers", broker, "--from-beginning", "--stop-at-end",
        "--state-dir", state, "--checkpoint-interval", "0s",
    ]  # fmt: skip


def test_a_job_writing_to_kafka_starts_afresh_in_a_new_state_directory(
    broker: str, new_topic: Callable, workdir: Path
) -> None:
    """operations.md: "no checkpoint: starts afresh". A job whose Kafka output holds a
    committed transaction of an earlier run (in another state directory) once stopped with
    `DIR has no complete checkpoint N (complete: none)`."""
    source, output = new_topic(partitions=PARTITIONS), new_topic(partitions=PARTITIONS)
    produce(broker, source, events(3_000))
    first = gress(workdir, *kafka_to_kafka(workdir, broker, source, output, "state-a"))
    assert first.returncode == 0, first.stderr
    once = topic_records(broker, output)
    assert once
    again = gress(workdir, *kafka_to_kafka(workdir, broker, source, output, "state-b"))
    assert again.returncode == 0, again.stderr
    assert "resumed" not in again.stderr
    assert sorted(map(orjson.dumps, topic_records(broker, output))) == sorted(
        map(orjson.dumps, once + once)
    )


def test_a_job_writing_to_kafka_killed_before_its_first_commit_in_a_new_state_directory_restarts(
    broker: str, new_topic: Callable, workdir: Path
) -> None:
    """The new directory's first checkpoint is durable but its transaction did not commit: the
    committed checkpoint is still the earlier run's, in another directory. The restart must not
    look for that checkpoint here."""
    source, output = new_topic(partitions=PARTITIONS), new_topic(partitions=PARTITIONS)
    produce(broker, source, events(3_000))
    assert gress(workdir, *kafka_to_kafka(workdir, broker, source, output, "a")).returncode == 0
    args = kafka_to_kafka(workdir, broker, source, output, "b")
    killed = gress(workdir, *args, env={"GRESS_FAULT": "checkpoint-3@1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    restarted = gress(workdir, *args)
    assert restarted.returncode == 0, restarted.stderr


def test_a_group_worker_writing_to_kafka_commits_its_offsets_to_its_group(
    broker: str, new_topic: Callable, workdir: Path
) -> None:
    """A --group worker also commits what it processed to the consumer group, for the lag
    tools people already run (where a task resumes is its changelog's business)."""
    topic, output = new_topic(partitions=PARTITIONS), new_topic()
    records = events(600)
    produce(broker, topic, records)
    group = f"g-{uuid.uuid4().hex[:8]}"
    done = gress(
        workdir, "detect", "rules.gress", "-i", f"kafka:{topic}", "-o", f"kafka:{output}",
        "--bootstrap-servers", broker, "--group", group, "--from-beginning", "--stop-at-end",
        "--state-dir", "state", "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    offsets = committed_offsets(broker, group, topic)
    assert sum(offsets.values()) == len(records)


def avro_topic(broker: str, new_topic: Callable, registry: RegistryServer) -> tuple[str, int]:
    """A topic of Confluent Avro events; returns it and how many matches they make."""
    topic = new_topic(partitions=PARTITIONS)
    schema_id = registry.register(f"{topic}-value", json.dumps(SCHEMA))
    records = events(2_000)
    produce(broker, topic, records, encode=lambda r: framed(schema_id, SCHEMA, r))
    return topic, len(records)


def test_broker_and_registry_addresses_come_from_the_environment(
    broker: str, new_topic: Callable, registry: RegistryServer, workdir: Path
) -> None:
    """kafka.md: `--bootstrap-servers` and `--schema-registry` can come from
    GRESS_BOOTSTRAP_SERVERS and GRESS_SCHEMA_REGISTRY."""
    topic, _ = avro_topic(broker, new_topic, registry)
    (workdir / "events.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events(2_000)))
    reference = gress(workdir, "detect", "rules.gress", "-i", "events.jsonl", "-o", "ref.jsonl")
    assert reference.returncode == 0, reference.stderr
    done = gress(
        workdir, "detect", "rules.gress", "-i", f"kafka:{topic}", "-o", "out.jsonl",
        "--from-beginning", "--stop-at-end", "-q",
        env={"GRESS_BOOTSTRAP_SERVERS": broker, "GRESS_SCHEMA_REGISTRY": registry.url},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert by_key(jsonl(workdir / "out.jsonl")) == by_key(jsonl(workdir / "ref.jsonl"))


def test_registry_client_settings_go_through_kafka_config(
    broker: str, new_topic: Callable, workdir: Path
) -> None:
    """kafka.md: keys that start with `schema.registry.` go to the registry client, without
    the prefix (and not to librdkafka, which would refuse them)."""
    with RegistryServer(password="secret") as registry:
        topic, _ = avro_topic(broker, new_topic, registry)
        args = [
            "detect", "rules.gress", "-i", f"kafka:{topic}", "-o", "out.jsonl",
            "--bootstrap-servers", broker, "--schema-registry", registry.url,
            "--from-beginning", "--stop-at-end", "-q",
        ]  # fmt: skip
        refused = gress(workdir, *args)
        done = gress(
            workdir, *args, "--kafka-config", "schema.registry.basic.auth.user.info=user:secret"
        )
    assert refused.returncode == 1 and "basic.auth.user.info" in refused.stderr
    assert done.returncode == 0, done.stderr
    assert jsonl(workdir / "out.jsonl")


def test_group_workers_writing_to_kafka_do_not_fence_each_other(
    broker: str, new_topic: Callable, workdir: Path
) -> None:
    """Two workers of one --group, each with its own state directory, both writing to Kafka:
    each has its own transaction (a shared one made every new worker fence the others, and
    the first stopped at its next commit)."""
    topic, output = new_topic(partitions=PARTITIONS), new_topic()
    produce(broker, topic, events(3000))
    group = f"g-{uuid.uuid4().hex[:8]}"

    def worker(state: str) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable, "-m", "gress_cep.cli.main", "detect", "rules.gress",
                "-i", f"kafka:{topic}", "-o", f"kafka:{output}", "--bootstrap-servers", broker,
                "--group", group, "--from-beginning", "--state-dir", state,
                "--checkpoint-interval", "100ms",
                # a group's first assignment takes ~3 s with these (23 s with the defaults)
                "--kafka-config", "session.timeout.ms=6000",
                "--kafka-config", "heartbeat.interval.ms=500",
            ],
            cwd=workdir, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    first = worker("w1")
    time.sleep(1.0)
    second = worker("w2")  # its producer starts while the first one's transaction is open
    # the group forms (a cooperative rebalance takes ~10 s on Tansu), both commit many times
    deadline = time.monotonic() + 90
    while sum(committed_offsets(broker, group, topic).values()) < 3000:
        assert time.monotonic() < deadline, "the workers did not get through the topic"
        time.sleep(0.5)
    read = 0
    for process in (first, second):
        process.send_signal(signal.SIGTERM)
    for process in (first, second):
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        assert "fences" not in stderr and "Traceback" not in stderr
        summary = json.loads(stderr.strip().splitlines()[-1])
        read += sum(row["records_in"] for row in summary["patterns"].values())
    assert read >= 3000  # every record (a partition's records before it moved count twice)
    assert topic_records(broker, output)
