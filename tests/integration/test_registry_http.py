"""The registry codec through the real client over HTTP (a registry server in the tests)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import Schema

from gress_cep.connectors.confluent import ConfluentAvroDecoder, ConfluentAvroEncoder, framed
from gress_cep.connectors.registry import registry_client
from gress_cep.errors import UserError

from .conftest import free_port
from .registry_server import RegistryServer

SCHEMA = {
    "type": "record",
    "name": "Event",
    "fields": [{"name": "key", "type": "string"}, {"name": "amount", "type": "double"}],
}


@pytest.fixture
def server() -> Iterator[RegistryServer]:
    with RegistryServer() as running:
        yield running


def test_records_decode_with_the_schema_fetched_once_over_http(server: RegistryServer) -> None:
    schema_id = server.register("events-value", json.dumps(SCHEMA))
    decoder = ConfluentAvroDecoder(registry_client(server.url), server.url)
    values = [framed(schema_id, SCHEMA, {"key": f"k{i}", "amount": i / 2}) for i in range(100)]
    decoded = decoder.decode_all(values)
    assert decoded.records == [{"key": f"k{i}", "amount": i / 2} for i in range(100)]
    assert server.requests.count(("GET", f"/schemas/ids/{schema_id}")) == 1


def test_an_unknown_id_is_a_dead_letter_reason_not_an_error(server: RegistryServer) -> None:
    decoder = ConfluentAvroDecoder(registry_client(server.url), server.url)
    (failure,) = decoder.decode_all([framed(41, SCHEMA, {"key": "k", "amount": 1.0})]).failures
    assert failure.reason == "unknown schema id 41 (not in the schema registry)"


def test_the_encoder_registers_topic_value_over_http(server: RegistryServer) -> None:
    encoder = ConfluentAvroEncoder(registry_client(server.url), server.url, "alerts")
    (value,) = encoder.encode_all([{"key": "c1", "n": 2}])
    assert ("POST", "/subjects/alerts-value/versions") in server.requests
    latest = registry_client(server.url).get_latest_version("alerts-value")
    assert value[:5] == b"\x00" + latest.schema_id.to_bytes(4, "big")
    assert json.loads(latest.schema.schema_str)["name"] == "alerts"


def test_the_real_client_registers_and_reads_back(server: RegistryServer) -> None:
    client = registry_client(server.url)
    schema_id = client.register_schema("x-value", Schema(json.dumps(SCHEMA), "AVRO"))
    assert client.get_latest_version("x-value").schema_id == schema_id
    assert sorted(client.get_subjects()) == ["x-value"]


def test_a_registry_that_does_not_answer_is_one_clear_line_at_once() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(UserError, match=f"schema registry {url} does not answer"):
        registry_client(url)
    assert time.monotonic() - started < 5  # no retry loop before the first answer


def test_a_registry_that_refuses_access_says_how_to_log_in() -> None:
    with RegistryServer(password="secret") as server:
        with pytest.raises(UserError, match="refused access") as caught:
            registry_client(server.url)
        assert "basic.auth.user.info" in (caught.value.hint or "")
        client = registry_client(server.url, {"basic.auth.user.info": "user:secret"})
        assert client.get_subjects() == []


def test_a_registry_that_stops_answering_mid_run_is_a_user_error() -> None:
    with RegistryServer() as server:
        schema_id = server.register("events-value", json.dumps(SCHEMA))
        client = registry_client(server.url, {"max.retries": "1", "retries.wait.ms": "10"})
        decoder = ConfluentAvroDecoder(client, server.url)
    with pytest.raises(UserError, match="does not answer"):
        decoder.decode_all([framed(schema_id, SCHEMA, {"key": "k", "amount": 1.0})])


def test_a_bad_registry_url_is_a_user_error() -> None:
    with pytest.raises(UserError, match="schema registry ftp://x"):
        registry_client("ftp://x")
