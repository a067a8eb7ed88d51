"""Exactly once from Kafka to Kafka: kill -9 at random moments, restart, compare (issues 6, 10).

Outputs are written in a Kafka transaction per checkpoint, committed with the consumed offsets
and the checkpoint's id. A reader with isolation.level=read_committed must see exactly what an
uninterrupted run wrote: no record lost, none twice.
"""

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

import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

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

view per_100ms = events | window tumbling 100ms
                        | aggregate count() as n, sum(i) as total, last(kind) as closing
"""
OUTPUTS = ["--pattern", "chain", "--view", "per_100ms"]  # matches and windows in one topic
EVENTS = 60_000
KILLS = 10
PARTITIONS = 3


def events(seed: int = 5) -> list[tuple[bytes, bytes, int]]:
    """(key, value, partition): a key always in the same partition, time in order."""
    rng = random.Random(seed)
    ts = 1_700_000_000_000
    out = []
    for i in range(EVENTS):
        ts += rng.randint(0, 3)
        key = f"k{rng.randrange(100)}"
        kind = rng.choices("ABCD", weights=(15, 25, 15, 45))[0]
        value = {"key": key, "ts": ts, "kind": kind, "i": i}
        out.append(
            (key.encode(), json.dumps(value).encode(), zlib.crc32(key.encode()) % PARTITIONS)
        )
    return out


def read_committed(broker: str, topic: str) -> dict[tuple[str, str], list[dict]]:
    """Every committed record of `topic`, grouped by where it came from (pattern or view) and
    key, in partition order. (Between a pattern's matches and a view's windows the order
    depends on how the partitions' event time advanced, which a Kafka input does not fix;
    each one's own order per key is fixed.)"""
    consumer = Consumer(
        {
            "bootstrap.servers": broker,
            "group.id": f"check-{uuid.uuid4()}",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        }
    )
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    done: set[int] = set()
    by_key: dict[tuple[str, str], list[dict]] = defaultdict(list)
    deadline = time.monotonic() + 30
    while len(done) < len(parts) and time.monotonic() < deadline:
        for message in consumer.consume(1000, 0.5):
            if message.error() is not None:
                if message.error().code() == KafkaError._PARTITION_EOF:
                    done.add(message.partition())
                continue
            record = json.loads(message.value())
            by_key[(record.get("view") or record["pattern"], record["key"])].append(record)
    consumer.close()
    assert len(done) == len(parts), f"could not read {topic} to its end"
    return dict(by_key)


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, broker: str) -> dict:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    workdir = tmp_path_factory.mktemp("exactly-once")
    (workdir / "rules.gress").write_text(RULES)
    source = f"in-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker})
    topics = [NewTopic(source, num_partitions=PARTITIONS)]
    topics += [
        NewTopic(f"{source}-{name}", num_partitions=PARTITIONS)
        for name in ("ref", "a", "b", "stopped")
    ]
    for future in admin.create_topics(topics).values():
        future.result(10)
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 20})
    for key, value, partition in events():
        producer.produce(source, value, key, partition=partition)
    assert producer.flush(30) == 0

    def args(output: str) -> list[str]:
        return [
            sys.executable, "-m", "gress_cep.cli.main", "detect", str(workdir / "rules.gress"),
            "-i", f"kafka:{source}", "-o", f"kafka:{source}-{output}",
            "--bootstrap-servers", broker, "--from-beginning", "--stop-at-end",
            "--state-dir", str(workdir / f"state-{output}"),
            "--checkpoint-interval", "100ms", *OUTPUTS,
        ]  # fmt: skip

    started = time.monotonic()
    done = subprocess.run(args("ref"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return {"args": args, "seconds": time.monotonic() - started, "topic": source}


def test_the_reference_run_wrote_matches(job: dict, broker: str) -> None:
    reference = read_committed(broker, f"{job['topic']}-ref")
    assert sum(len(v) for v in reference.values()) > 100
    records = [r for by_key in reference.values() for r in by_key]
    assert {r.get("view") or r["pattern"] for r in records} == {"chain", "per_100ms"}


@pytest.mark.parametrize(("output", "seed"), [("a", 3)])
def test_random_kills_give_exactly_the_uninterrupted_output(
    job: dict, broker: str, output: str, seed: int
) -> None:
    rng = random.Random(seed)
    args: Callable[[str], list[str]] = job["args"]
    latest = max(1.0, job["seconds"] * 0.4)
    print(f"seed {seed}: kills within {latest:.2f}s of each start")
    for kill in range(1, KILLS + 1):
        proc = subprocess.Popen(args(output), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        delay = rng.uniform(0.1, latest)
        time.sleep(delay)
        if proc.poll() is not None:
            pytest.fail(f"the job ended before kill {kill} (exit {proc.returncode})")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        print(f"  kill {kill} after {delay:.2f}s")
    for _ in range(30):
        done = subprocess.run(args(output), capture_output=True, text=True, timeout=120)
        if done.returncode == 0:
            break
        assert done.returncode == -signal.SIGKILL, done.stderr
    assert read_committed(broker, f"{job['topic']}-{output}") == read_committed(
        broker, f"{job['topic']}-ref"
    )


def test_a_kill_between_checkpoint_and_commit_repeats_nothing(job: dict, broker: str) -> None:
    """The checkpoint is durable but its transaction is not committed: the restart must
    resume from the checkpoint before it, whose outputs were committed."""
    args = job["args"]("b")
    for nth in (2, 2):
        env = {**os.environ, "GRESS_FAULT": f"checkpoint-3@{nth}"}
        done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == -signal.SIGKILL, done.stderr
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert read_committed(broker, f"{job['topic']}-b") == read_committed(
        broker, f"{job['topic']}-ref"
    )


def test_a_live_job_stopped_with_sigterm_commits_and_its_restart_continues(
    job: dict, broker: str
) -> None:
    """A job following its topic (no --stop-at-end) is stopped the way a service manager
    does it: it finishes the round, commits its transaction with the offsets, exits 0."""
    args = [arg for arg in job["args"]("stopped") if arg != "--stop-at-end"]
    checkpoints = Path(args[args.index("--state-dir") + 1]) / "checkpoints"
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(checkpoints.glob("chk-*")) and time.monotonic() < deadline:
        time.sleep(0.01)  # running: its first checkpoint is there
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert stderr.startswith("stopped in"), stderr
    done = subprocess.run(job["args"]("stopped"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "resumed from checkpoint" in done.stderr
    assert read_committed(broker, f"{job['topic']}-stopped") == read_committed(
        broker, f"{job['topic']}-ref"
    )


def test_files_to_kafka_after_random_kills_is_the_uninterrupted_output(
    tmp_path: Path, broker: str
) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    (tmp_path / "rules.gress").write_text(RULES)
    with open(tmp_path / "events.jsonl", "wb") as fh:
        for _, value, _ in events():
            fh.write(value + b"\n")
    name = f"out-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker})
    topics = [NewTopic(f"{name}-{t}", num_partitions=PARTITIONS) for t in ("ref", "killed")]
    for future in admin.create_topics(topics).values():
        future.result(10)

    def args(topic: str) -> list[str]:
        return [
            sys.executable, "-m", "gress_cep.cli.main", "detect", str(tmp_path / "rules.gress"),
            "-i", str(tmp_path / "events.jsonl"), "-o", f"kafka:{name}-{topic}",
            "--bootstrap-servers", broker, "--state-dir", str(tmp_path / f"state-{topic}"),
            "--checkpoint-interval", "100ms", "-q", *OUTPUTS,
        ]  # fmt: skip

    assert subprocess.run(args("ref"), capture_output=True, timeout=120).returncode == 0
    rng = random.Random(9)
    for _ in range(KILLS):
        proc = subprocess.Popen(
            args("killed"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.2, 1.0))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    for _ in range(30):
        if subprocess.run(args("killed"), capture_output=True, timeout=120).returncode == 0:
            break
    assert read_committed(broker, f"{name}-killed") == read_committed(broker, f"{name}-ref")
