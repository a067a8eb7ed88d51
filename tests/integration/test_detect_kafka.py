"""`gress detect` end to end against the broker and the registry (the commands of issue 4)."""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from gress_cep.connectors import ConnectorConfig, open_source
from gress_cep.connectors.confluent import framed

from .kafka_reading import raw_messages, read_to_end
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
SCHEMA = {
    "type": "record",
    "name": "Event",
    "namespace": "bench",
    "fields": [
        {"name": "key", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "kind", "type": "string"},
        {"name": "amount", "type": "double"},
    ],
}


def generate(count: int, keys: int = 12, seed: int = 7) -> list[dict]:
    """Events like the benchmark generator's: key, ts (ms, non-decreasing), kind, amount."""
    rng = random.Random(seed)
    ts = 1_700_000_000_000
    out = []
    for _ in range(count):
        ts += rng.randrange(0, 21)
        out.append(
            {
                "key": f"card{rng.randrange(keys)}",
                "ts": ts,
                "kind": rng.choice("AABBCD"),
                "amount": rng.randrange(100_001) / 100,
            }
        )
    return out


def gress(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


def sort_key(match: dict) -> bytes:
    return orjson.dumps(match, option=orjson.OPT_SORT_KEYS)


def matches(path: Path) -> list[dict]:
    return sorted((orjson.loads(line) for line in path.read_bytes().splitlines()), key=sort_key)


def produce_avro(broker: str, topic: str, values: list[tuple[dict, bytes]]) -> None:
    """(event, value) pairs: keyed by the event's key, stamped with its time."""
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 5})
    for event, value in values:
        producer.produce(topic, value, event["key"].encode(), timestamp=event["ts"])
    assert producer.flush(10) == 0


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "fraud.gress").write_text(PATTERNS)
    return tmp_path


def test_jsonl_and_avro_in_a_three_partition_topic_give_the_same_matches(
    broker: str, new_topic: Callable, registry: RegistryServer, workdir: Path
) -> None:
    events = generate(4000)
    (workdir / "events.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    topic = new_topic(partitions=3)
    schema_id = registry.register(f"{topic}-value", json.dumps(SCHEMA))
    produce_avro(broker, topic, [(e, framed(schema_id, SCHEMA, e)) for e in events])

    gress("detect", str(workdir / "fraud.gress"), "-i", f"events={workdir / 'events.jsonl'}",
          "-o", str(workdir / "from-file.jsonl"))  # fmt: skip
    gress("detect", str(workdir / "fraud.gress"), "-i", f"events=kafka:{topic}",
          "-o", str(workdir / "from-kafka.jsonl"), "--bootstrap-servers", broker,
          "--schema-registry", registry.url, "--from-beginning", "--stop-at-end")  # fmt: skip

    expected = matches(workdir / "from-file.jsonl")
    assert len(expected) > 20  # the pattern does match this data
    assert matches(workdir / "from-kafka.jsonl") == expected


def with_poison(events: list[dict], schema_id: int) -> tuple[list[tuple[dict, bytes]], list[bytes]]:
    """The events' Avro values with bad ones among them: garbage, an unknown schema id and a
    record missing a required field, each right after the event it was made from."""
    values, bad = [], []
    for i, event in enumerate(events):
        values.append((event, framed(schema_id, SCHEMA, event)))
        poison = {
            7: b"\x13garbage",
            42: b"\x00\x00\x01\x00\x00" + framed(schema_id, SCHEMA, event)[5:],
            77: orjson.dumps({"key": event["key"], "ts": event["ts"], "kind": "A"}),
        }.get(i % 100)
        if poison is not None:
            values.append((event, poison))
            bad.append(poison)
    return values, bad


def summary_column(stderr: str, column: str) -> list[str]:
    """The cells of one column of the run summary table, one per pattern."""
    lines = stderr.splitlines()
    (header,) = [i for i, line in enumerate(lines) if "┃" in line and column in line]
    index = [cell.strip() for cell in lines[header].split("┃")].index(column)
    return [line.split("│")[index].strip() for line in lines[header + 2 :] if "│" in line]


def test_poison_pills_go_to_the_dead_letter_topic_and_the_rest_matches(
    broker: str, new_topic: Callable, registry: RegistryServer, workdir: Path
) -> None:
    events = generate(3000, seed=11)
    topic, alerts, dlq = new_topic(partitions=3), new_topic(), new_topic()
    schema_id = registry.register(f"{topic}-value", json.dumps(SCHEMA))
    values, bad = with_poison(events, schema_id)
    produce_avro(broker, topic, values)
    (workdir / "good.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))

    gress("detect", str(workdir / "fraud.gress"), "-i", f"events={workdir / 'good.jsonl'}",
          "-o", str(workdir / "expected.jsonl"))  # fmt: skip
    done = gress("detect", str(workdir / "fraud.gress"), "-i", f"events=kafka:{topic}",
                 "-o", f"kafka:{alerts}", "--dead-letter", f"kafka:{dlq}",
                 "--bootstrap-servers", broker, "--schema-registry", registry.url,
                 "--from-beginning", "--stop-at-end")  # fmt: skip

    read = ConnectorConfig(
        bootstrap_servers=broker,
        schema_registry=registry.url,
        from_beginning=True,
        stop_at_end=True,
    )
    found = read_to_end(open_source(f"kafka:{alerts}", None, read)).records
    assert sorted(found, key=sort_key) == matches(workdir / "expected.jsonl")
    assert summary_column(done.stderr, "dead-letter") == [str(len(bad))]

    letters = raw_messages(broker, dlq, len(bad))
    assert sorted(m.value() for m in letters) == sorted(bad)
    reasons = {dict(m.headers())["gress.reason"].decode().split(" (")[0] for m in letters}
    assert reasons == {
        "not valid JSON",
        "unknown schema id 65536",
        "field 'amount' is missing",
    }
    origins = [dict(m.headers())["gress.origin"].decode() for m in letters]
    assert all(origin.startswith(f"kafka:{topic}[") for origin in origins)


def test_poison_pills_go_to_a_dead_letter_file_with_base64_raw_bytes(
    broker: str, new_topic: Callable, registry: RegistryServer, workdir: Path
) -> None:
    events = generate(500, seed=3)
    topic = new_topic(partitions=3)
    schema_id = registry.register(f"{topic}-value", json.dumps(SCHEMA))
    values, bad = with_poison(events, schema_id)
    produce_avro(broker, topic, values)
    gress("detect", str(workdir / "fraud.gress"), "-i", f"events=kafka:{topic}",
          "-o", str(workdir / "alerts.jsonl"), "--dead-letter", str(workdir / "dlq.jsonl"),
          "--bootstrap-servers", broker, "--schema-registry", registry.url,
          "--from-beginning", "--stop-at-end")  # fmt: skip
    letters = [orjson.loads(line) for line in (workdir / "dlq.jsonl").read_bytes().splitlines()]
    assert sorted(base64.b64decode(d["raw_base64"]) for d in letters) == sorted(bad)
    assert all(d["origin"].startswith(f"kafka:{topic}[") and d["reason"] for d in letters)
