"""Access to a Confluent Schema Registry through `confluent_kafka.schema_registry`.

One client per registry URL and settings per process: the client caches schemas by id, so every
source and sink of a run shares that cache (and `mock://` registries, which live inside a client,
are shared by the producing and consuming sides of one process).

Client settings (`basic.auth.user.info`, `ssl.ca.location`, `max.retries`, ...) come from
`--kafka-config schema.registry.KEY=VALUE`, the prefix convention of Confluent's own tools.

A URL may carry credentials (`https://USER:PASSWORD@host`): every message of this module shows
it masked (`https://USER:***@host`), and so are the messages of the client and its HTTP library
that it quotes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

from gress_cep.errors import UserError

SETTINGS_PREFIX = "schema.registry."

# Used unless the user sets them: a request gives up after 10 s and the client retries with
# jittered exponential backoff (0.5 s, 1 s, 2 s, 4 s), so a live job rides out a short outage.
_DEFAULTS: dict[str, Any] = {"timeout": 10, "max.retries": 4, "retries.wait.ms": 500}
_NUMERIC = {
    "timeout",
    "max.retries",
    "retries.wait.ms",
    "retries.max.wait.ms",
    "cache.capacity",
    "cache.latest.ttl.sec",
}

# `scheme://user:password@`: the password is what gets masked (the user name is kept)
_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]*@")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")


def masked(text: str, url: str | None = None) -> str:
    """`text` with the password of every URL in it replaced by `***`; with `url`, also any
    other appearance of that URL's password (a client may quote it apart from the URL)."""
    shown = _CREDENTIALS.sub(r"\1***@", text)
    if url:
        userinfo = _USERINFO.match(url)
        if userinfo is not None:
            _, sep, password = url[userinfo.end(1) : userinfo.end() - 1].partition(":")
            if sep and password:
                shown = shown.replace(password, "***")
    return shown


_clients: dict[tuple[str, tuple[tuple[str, str], ...]], SchemaRegistryClient] = {}


def registry_settings(kafka_config: dict[str, str]) -> dict[str, str]:
    """The `schema.registry.*` entries of --kafka-config, without the prefix."""
    return {
        key.removeprefix(SETTINGS_PREFIX): value
        for key, value in kafka_config.items()
        if key.startswith(SETTINGS_PREFIX)
    }


def registry_client(url: str, settings: dict[str, str] | None = None) -> SchemaRegistryClient:
    """The shared client for `url`; the first call checks that the registry answers."""
    settings = settings or {}
    cache_key = (url, tuple(sorted(settings.items())))
    client = _clients.get(cache_key)
    if client is None:
        conf = {**_DEFAULTS, "url": url}
        conf.update((key, _setting_value(key, value)) for key, value in settings.items())
        client = _new_client(conf)
        if not url.startswith("mock://"):
            _check_reachable(_new_client({**conf, "max.retries": 0}), url)
        _clients[cache_key] = client
    return client


def _setting_value(key: str, value: str) -> Any:
    if key not in _NUMERIC:
        return value
    try:
        number = float(value)
    except ValueError:
        raise UserError(
            f"--kafka-config {SETTINGS_PREFIX}{key}={value}: expected a number"
        ) from None
    return int(number) if number.is_integer() else number


def _new_client(conf: dict[str, Any]) -> SchemaRegistryClient:
    try:
        return SchemaRegistryClient.new_client(conf)
    except (ValueError, TypeError) as err:
        raise UserError(
            masked(f"schema registry {conf['url']}: {err}", conf["url"]),
            hint="give an http(s):// URL; client settings go in "
            f"--kafka-config {SETTINGS_PREFIX}KEY=VALUE",
        ) from None


def _check_reachable(client: SchemaRegistryClient, url: str) -> None:
    """One cheap request without retries: a registry that is down is one clear line at start."""
    try:
        client.get_schema_types()
    except SchemaRegistryError as err:
        if err.http_status_code in (401, 403):
            raise UserError(
                masked(f"schema registry {url} refused access: {err.error_message}", url),
                hint="pass credentials with --kafka-config "
                f"{SETTINGS_PREFIX}basic.auth.user.info=USER:PASSWORD",
            ) from None
        # any other HTTP answer means the registry is there; real requests will say more
    except Exception as err:  # the HTTP library's transport errors: nothing answered
        raise unreachable(url, err) from None
    finally:
        client.close()


def unreachable(url: str, err: Exception) -> UserError:
    return UserError(
        masked(f"schema registry {url} does not answer ({type(err).__name__}: {err})", url),
        hint="check --schema-registry (env GRESS_SCHEMA_REGISTRY) and that the registry runs",
    )


def registry_errors(url: str, what: str) -> _RegistryErrors:
    """Turn what the client raises while doing `what` into one masked UserError: a refusal
    (HTTP 4xx/5xx) with the registry's own message, a transport error as 'does not answer'."""
    return _RegistryErrors(url, what)


class _RegistryErrors:
    def __init__(self, url: str, what: str) -> None:
        self.url = url
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, err: Any, tb: Any) -> None:
        if err is None or isinstance(err, UserError):
            return
        if isinstance(err, SchemaRegistryError):
            raise UserError(
                masked(
                    f"schema registry {self.url} refused {self.what}: {err.error_message} "
                    f"(HTTP {err.http_status_code})",
                    self.url,
                ),
                hint="the subject's compatibility setting may forbid the change; "
                "write to a new topic or relax the subject's compatibility",
            ) from None
        if isinstance(err, Exception):  # transport errors, after the client's own retries
            raise unreachable(self.url, err) from None


def fetch_schema(
    client: SchemaRegistryClient, url: str, schema_id: int, fmt: str | None = None
) -> Schema | None:
    """The schema registered under `schema_id` (its type: `schema.schema_type`, None or
    "AVRO", "JSON", "PROTOBUF"); None for an unknown id. `fmt="serialized"` asks for a
    Protobuf schema as a base64 file descriptor."""
    try:
        schema = client.get_schema(schema_id, fmt=fmt) if fmt else client.get_schema(schema_id)
    except SchemaRegistryError as err:
        if err.http_status_code == 404:
            return None
        raise UserError(masked(f"schema registry {url}: {err}", url)) from None
    except Exception as err:  # transport errors, after the client's own retries
        raise unreachable(url, err) from None
    if schema.schema_str is None:  # the client's model allows an answer without the text
        raise UserError(masked(f"schema registry {url} sent no schema text for id {schema_id}"))
    return schema


def register_schema(client: SchemaRegistryClient, url: str, subject: str, schema: Any) -> int:
    """Register `schema` (an Avro schema as JSON-like data, or a registry Schema of any
    type) under `subject` (a no-op when it is there already); its id."""
    if not isinstance(schema, Schema):
        schema = Schema(json.dumps(schema), "AVRO")
    with registry_errors(url, f"the schema for subject '{subject}'"):
        return client.register_schema(subject, schema)
