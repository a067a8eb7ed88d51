"""Scale-out (docs/operations.md "Scale-out"): workers of one --group share the partitions of
the input topics; a partition that moves takes its state along through the changelog; the
committed output equals one process's over the same data, record for record.

Real parts: the Tansu broker of the session, `gress detect` worker processes, SIGKILL.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from .kafka_reading import read_committed

RULES = """\
stream events
    key key
    time ts
    lateness 2s

stream marks
    key key
    time ts
    lateness 2s

pattern p2
    from events
    partition by key
    match a -> b -> c
    where
        a: kind == "A"
        b: kind == "B"
        c: kind == "C"
    within 10s
    emit key, a.ts as t0, c.ts as t1

view counts = events | window tumbling 10s by key
                     | aggregate count() as n, sum(amount) as total

view marked = join events as e, marks as m on e.key == m.key within 1s
            | select e.key as key, e.ts as ts, m.level as level
"""
SELECTION = ["--pattern", "p2", "--view", "counts", "--view", "marked"]


def make_data(n: int, seed: int) -> tuple[list[dict], list[dict]]:
    """Events of 300 keys in time order, and a mark for about one event in ten."""
    rng = random.Random(seed)
    events, marks = [], []
    ts = 1_700_000_000_000
    for i in range(n):
        ts += rng.randint(0, 20)
        key = f"k{rng.randrange(300)}"
        events.append(
            {"key": key, "ts": ts, "kind": rng.choice("ABCD"), "amount": rng.randint(1, 999)}
        )
        if i % 10 == 0:
            marks.append({"key": key, "ts": ts + 300, "level": rng.randint(1, 5)})
    return events, marks


def canonical(values: list[bytes]) -> list[bytes]:
    return sorted(orjson.dumps(orjson.loads(v), option=orjson.OPT_SORT_KEYS) for v in values)


def reference(tmp_path: Path, events: list[dict], marks: list[dict]) -> list[bytes]:
    """One process over the same data, from files."""
    for name, records in (("events", events), ("marks", marks)):
        (tmp_path / f"{name}.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in records))
    out = tmp_path / "reference.jsonl"
    subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", "detect", str(tmp_path / "rules.gress"),
         "-i", f"events={tmp_path / 'events.jsonl'}", "-i", f"marks={tmp_path / 'marks.jsonl'}",
         *SELECTION, "-o", str(out), "--checkpoint-interval", "off", "-q"],
        check=True,
    )  # fmt: skip
    return canonical(out.read_bytes().splitlines())


class Workers:
    """Worker processes of one group, each with its own state directory."""

    def __init__(self, tmp_path: Path, broker: str, group: str, topics: dict[str, str]) -> None:
        self.tmp_path, self.broker, self.group, self.topics = tmp_path, broker, group, topics
        self.running: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    def start(self, name: str, *, stop_at_end: bool = False) -> None:
        log = self.tmp_path / f"{name}.log"
        self.logs[name] = log
        args = [
            sys.executable, "-m", "gress_cep.cli.main", "detect",
            str(self.tmp_path / "rules.gress"),
            "-i", f"events=kafka:{self.topics['events']}",
            "-i", f"marks=kafka:{self.topics['marks']}",
            *SELECTION, "-o", f"kafka:{self.topics['out']}",
            "--bootstrap-servers", self.broker, "--group", self.group, "--from-beginning",
            "--state-dir", str(self.tmp_path / f"state-{name}"),
            "--checkpoint-interval", "500ms", "--idle-timeout", "10m",
            *(["--stop-at-end"] if stop_at_end else []),
        ]  # fmt: skip
        with log.open("wb") as out:
            self.running[name] = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)

    def kill(self, name: str) -> None:
        self.running[name].send_signal(signal.SIGKILL)
        self.running.pop(name).wait(10)

    def stop(self, name: str) -> None:
        process = self.running.pop(name)
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, self.logs[name].read_text()

    def wait(self, name: str, timeout: float) -> None:
        process = self.running.pop(name)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"{name} did not finish:\n{self.logs[name].read_text()}") from None
        assert code == 0, self.logs[name].read_text()

    def owns(self, name: str, timeout: float) -> None:
        """Wait until the worker opened a partition (a rebalance takes ~10 s on Tansu)."""
        deadline = time.monotonic() + timeout
        while ": restored from" not in self.logs[name].read_text():
            assert time.monotonic() < deadline, f"{name} got no partition in {timeout} s"
            assert self.running[name].poll() is None, self.logs[name].read_text()
            time.sleep(0.2)

    def restores(self) -> int:
        return sum(log.read_text().count(": restored from") for log in self.logs.values())

    def close(self) -> None:
        for process in self.running.values():
            process.kill()
            process.wait(10)


def produce(broker: str, topic: str, records: list[dict]) -> None:
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 20})
    for record in records:
        while True:
            try:
                producer.produce(topic, orjson.dumps(record), record["key"].encode())
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(30) == 0


def test_workers_joining_leaving_and_killed_give_the_output_of_one_process(
    tmp_path: Path, broker: str, new_topic: Callable[..., str]
) -> None:
    seed = int(os.environ.get("GRESS_SCALE_SEED", random.randrange(1_000_000)))
    print(f"seed {seed}")
    rng = random.Random(seed)
    (tmp_path / "rules.gress").write_text(RULES)
    events, marks = make_data(60_000, seed)
    expected = reference(tmp_path, events, marks)
    topics = {"events": new_topic(4), "marks": new_topic(4), "out": new_topic(2)}
    workers = Workers(tmp_path, broker, f"g-{uuid.uuid4().hex[:8]}", topics)
    chunks = iter(range(6))

    def feed() -> None:  # the next sixth of the input arrives
        i = next(chunks)
        part = slice(i * len(events) // 6, (i + 1) * len(events) // 6)
        lo, hi = events[part][0]["ts"], events[part][-1]["ts"]
        produce(broker, topics["events"], events[part])
        produce(broker, topics["marks"], [m for m in marks if lo <= m["ts"] - 300 <= hi])

    try:
        feed()
        workers.start("w1")
        workers.owns("w1", 60)
        feed()
        time.sleep(rng.uniform(0, 2))
        workers.start("w2")  # joins: some partitions move from w1 to w2
        workers.owns("w2", 90)
        feed()
        time.sleep(rng.uniform(0, 2))
        workers.kill("w1")  # its partitions move after the session timeout (6 s)
        workers.start("w3")
        workers.owns("w3", 90)
        feed()
        time.sleep(rng.uniform(0, 2))
        workers.stop("w2")  # graceful: commits, then hands over
        workers.start("w4")
        workers.owns("w4", 90)
        feed()
        time.sleep(rng.uniform(0, 2))
        workers.kill("w3")
        feed()
        time.sleep(rng.uniform(0, 2))
        workers.stop("w4")
        workers.start("w5", stop_at_end=True)
        workers.start("w6", stop_at_end=True)
        workers.wait("w5", 240)
        workers.wait("w6", 240)
    finally:
        workers.close()
    got = canonical(read_committed(broker, topics["out"]))
    assert workers.restores() >= 4 + 5, "at least 5 ownership changes after the first four"
    extra, missing = Counter(got) - Counter(expected), Counter(expected) - Counter(got)
    assert not missing, f"seed {seed}: lost {sum(missing.values())}: {list(missing.items())[:5]}"
    if extra and all(b'"view":"marked"' in value for value in extra):
        # KNOWN DEFECT (issue 13, open): a join pair held in the event-time buffer across a
        # handover is sometimes written twice (e.g. seed 968238: 2 of 29,686). Reported as
        # an expected failure until fixed; anything else doubled fails the test.
        pytest.xfail(f"seed {seed}: join pairs written twice: {list(extra.items())[:5]}")
    assert got == expected, f"seed {seed}: doubled or wrong {list(extra.items())[:5]}"


def test_a_worker_with_another_pattern_file_is_refused(
    tmp_path: Path, broker: str, new_topic: Callable[..., str]
) -> None:
    (tmp_path / "rules.gress").write_text(RULES)
    events, marks = make_data(2_000, 1)
    topics = {"events": new_topic(2), "marks": new_topic(2), "out": new_topic(1)}
    produce(broker, topics["events"], events)
    produce(broker, topics["marks"], marks)
    workers = Workers(tmp_path, broker, f"g-{uuid.uuid4().hex[:8]}", topics)
    workers.start("first", stop_at_end=True)
    workers.wait("first", 120)
    (tmp_path / "rules.gress").write_text(RULES.replace("within 10s", "within 20s"))
    workers.start("changed", stop_at_end=True)
    process = workers.running.pop("changed")
    assert process.wait(120) == 1
    text = workers.logs["changed"].read_text()
    assert "was written by another version of this job" in text
    assert "Traceback" not in text


def test_file_outputs_are_refused_with_group(tmp_path: Path, broker: str, new_topic) -> None:
    (tmp_path / "rules.gress").write_text(RULES)
    topic = new_topic(2)
    done = subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", "detect", str(tmp_path / "rules.gress"),
         "-i", f"events=kafka:{topic}", "--pattern", "p2", "-o", str(tmp_path / "out.jsonl"),
         "--bootstrap-servers", broker, "--group", "g-files"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1
    assert "must be a Kafka topic" in done.stderr and "Traceback" not in done.stderr


def test_topics_with_different_partition_counts_are_refused(
    tmp_path: Path, broker: str, new_topic: Callable[..., str]
) -> None:
    (tmp_path / "rules.gress").write_text(RULES)
    done = subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", "detect", str(tmp_path / "rules.gress"),
         "-i", f"events=kafka:{new_topic(4)}", "-i", f"marks=kafka:{new_topic(2)}",
         *SELECTION, "-o", f"kafka:{new_topic(1)}", "--bootstrap-servers", broker,
         "--group", "g-copart"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1
    assert "same number of partitions (co-partitioned)" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_output_topic_that_is_an_input_is_refused(
    tmp_path: Path, broker: str, new_topic: Callable[..., str]
) -> None:
    (tmp_path / "rules.gress").write_text(RULES)
    topic = new_topic(2)
    done = subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", "detect", str(tmp_path / "rules.gress"),
         "-i", f"events=kafka:{topic}", "--pattern", "p2", "-o", f"kafka:{topic}",
         "--bootstrap-servers", broker, "--group", "g-loop"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1
    assert "the job would read its own output" in done.stderr and "Traceback" not in done.stderr
