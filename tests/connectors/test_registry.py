"""Registry errors never show a password given in the registry URL."""

from __future__ import annotations

import socket

import pytest
from confluent_kafka.schema_registry import SchemaRegistryError

from gress_cep.connectors.registry import fetch_schema, register_schema, registry_client
from gress_cep.errors import UserError

PASSWORD = "s3cr3t-pw"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_registry_is_reported_with_the_password_masked() -> None:
    url = f"http://alice:{PASSWORD}@127.0.0.1:{closed_port()}"
    with pytest.raises(UserError) as caught:
        registry_client(url)
    text = caught.value.render()
    assert "does not answer" in text
    assert PASSWORD not in text
    assert "http://alice:***@127.0.0.1" in text


def test_a_url_the_client_refuses_is_reported_with_the_password_masked() -> None:
    with pytest.raises(UserError) as caught:
        registry_client(f"ftp://alice:{PASSWORD}@registry.example:8081")
    text = caught.value.render()
    assert PASSWORD not in text
    assert "ftp://alice:***@registry.example:8081" in text


class FailingClient:
    """A registry client whose requests fail with a message that quotes the URL."""

    def __init__(self, url: str, error: Exception) -> None:
        self.url = url
        self.error = error

    def get_schema(self, schema_id: int) -> None:
        raise self.error

    def register_schema(self, subject: str, schema: object) -> int:
        raise self.error


def test_a_failed_schema_fetch_is_reported_with_the_password_masked() -> None:
    url = f"https://alice:{PASSWORD}@registry.example"
    client = FailingClient(url, SchemaRegistryError(500, 50001, f"upstream {url} failed"))
    with pytest.raises(UserError) as caught:
        fetch_schema(client, url, 7)  # type: ignore[arg-type]
    assert PASSWORD not in caught.value.render()


def test_a_transport_error_quoting_the_password_alone_is_masked() -> None:
    url = f"https://alice:{PASSWORD}@registry.example"
    client = FailingClient(url, ConnectionError(f"auth {PASSWORD!r} rejected by proxy"))
    with pytest.raises(UserError) as caught:
        fetch_schema(client, url, 7)  # type: ignore[arg-type]
    assert PASSWORD not in caught.value.render()


def test_a_refused_registration_is_reported_with_the_password_masked() -> None:
    url = f"https://alice:{PASSWORD}@registry.example"
    client = FailingClient(url, SchemaRegistryError(409, 409, "incompatible"))
    with pytest.raises(UserError) as caught:
        register_schema(client, url, "alerts-value", {"type": "string"})  # type: ignore[arg-type]
    text = caught.value.render()
    assert PASSWORD not in text
    assert "https://alice:***@registry.example" in text
