"""Inputs and outputs by name: what a user types after `STREAM=` or `-o` becomes a Source or Sink.

A spec is a path (`.jsonl`/`.json`/`.ndjson`, `.csv`, `.avro`), `-` for stdin/stdout, or
`kafka:TOPIC`. Mistakes a user can make here (a missing file, an unknown extension, a broker or
registry that does not answer, a bad --kafka-config) raise `UserError` with one clear line.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

from gress_cep.connectors.base import Batch, DeadLetter, Record, Sink, Source
from gress_cep.connectors.csv_file import CsvSink, CsvSource
from gress_cep.connectors.jsonl import JsonLinesSink, JsonLinesSource, stdout_sink
from gress_cep.connectors.validation import Validator
from gress_cep.dsl.ast import Stream
from gress_cep.errors import UserError

KAFKA_PREFIX = "kafka:"
SINK_ROLES = ("matches", "timeouts", "late", "dead-letter")

_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".avro": "avro",
}
_FORMATS = {"jsonl": "jsonl", "json": "jsonl", "csv": "csv", "avro": "avro"}


@dataclass(slots=True)
class ConnectorConfig:
    """Connection settings, filled by `gress detect` from flags and GRESS_* variables."""

    bootstrap_servers: str | None = None
    kafka_config: dict[str, str] = field(default_factory=dict)  # --kafka-config KEY=VALUE
    schema_registry: str | None = None
    group: str | None = None
    from_beginning: bool = False
    stop_at_end: bool = False
    format: str | None = None  # --format jsonl|csv|avro|json: wins over a file's extension
    connect_timeout_s: float = 10.0  # how long to wait for a broker's first answer


def parse_kafka_config(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`["KEY=VALUE", ...]` as given to --kafka-config, as a dict."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(
                f"--kafka-config {item!r}: expected KEY=VALUE",
                hint="e.g. --kafka-config security.protocol=SASL_SSL",
            )
        out[key.strip()] = value
    return out


def open_source(
    spec: str,
    stream: Stream | None,
    config: ConnectorConfig,
    *,
    start: dict[str, Any] | None = None,
) -> Source:
    """The source for `spec`; `start` is a `position()` of an earlier run to resume from."""
    if spec.startswith(KAFKA_PREFIX):
        from gress_cep.connectors.kafka import KafkaSource  # confluent-kafka: ~0.2 s to import

        return KafkaSource(_topic(spec), stream, config, start)
    validator = Validator(stream) if stream is not None and stream.schema else None
    fmt = _file_format(spec, config)
    if spec == "-":
        if fmt == "jsonl":
            return JsonLinesSource(sys.stdin.fileno(), "stdin", validator, start, owns_fd=False)
        raise UserError(
            f"stdin can be read as JSON Lines only, not {fmt}",
            hint="write the data to a file and pass its path",
        )
    if not os.path.isfile(spec):
        what = "is a directory, not a file" if os.path.isdir(spec) else "does not exist"
        raise UserError(f"input {spec} {what}")
    try:
        if fmt == "jsonl":
            return JsonLinesSource(os.open(spec, os.O_RDONLY), spec, validator, start)
        if fmt == "csv":
            return CsvSource(spec, stream, validator, start)
        from gress_cep.connectors.avro_file import AvroFileSource  # fastavro: only when used

        return AvroFileSource(spec, validator, start)
    except PermissionError:
        raise UserError(f"input {spec} cannot be read (permission denied)") from None


def open_sink(
    spec: str,
    config: ConnectorConfig,
    *,
    role: str = "matches",
    resume: dict[str, Any] | None = None,
    transaction: Any = None,
    run_id: str | None = None,
) -> Sink:
    """The sink for `spec`; `role` says what it receives (dead letters get their own form).

    `resume` is the sink's `position()` in the checkpoint a job resumes from: a file keeps
    what was written up to that point and nothing after it. `transaction` (a KafkaTransaction)
    makes a Kafka sink write inside the job's transaction; `run_id` makes it keep the ledger
    that lets a resumed run skip what its predecessor already wrote (kafka.OutputLedger)."""
    if role not in SINK_ROLES:
        raise ValueError(f"unknown sink role {role!r}")
    if spec.startswith(KAFKA_PREFIX):
        from gress_cep.connectors.kafka import (
            KafkaSink,  # confluent-kafka: ~0.2 s to import
            OutputLedger,
        )

        topic = _topic(spec)
        ledger = OutputLedger(topic, config, run_id, resume) if run_id is not None else None
        return KafkaSink(topic, config, role, transaction, ledger)
    if spec == "-":
        return stdout_sink(role)
    fmt = _file_format(spec, config)
    try:
        if fmt == "jsonl":
            return JsonLinesSink.open(spec, role, resume)
        if fmt == "csv":
            return CsvSink(spec, role, resume)
        from gress_cep.connectors.avro_file import AvroFileSink

        return AvroFileSink(spec, role, resume)
    except (FileNotFoundError, NotADirectoryError):
        raise UserError(
            f"cannot write {spec}: its folder does not exist",
            hint=f"create it first: mkdir -p {os.path.dirname(spec) or '.'}",
        ) from None
    except PermissionError:
        raise UserError(f"cannot write {spec} (permission denied)") from None
    except IsADirectoryError:
        raise UserError(f"cannot write {spec}: it is a directory") from None


def _topic(spec: str) -> str:
    topic = spec[len(KAFKA_PREFIX) :]
    if not topic:
        raise UserError(f"{spec!r} names no topic", hint="write kafka:TOPIC, e.g. kafka:payments")
    return topic


def _file_format(spec: str, config: ConnectorConfig) -> str:
    """The format of a file or stdio spec: --format when given, else the extension."""
    if config.format is not None:
        fmt = _FORMATS.get(config.format)
        if fmt is None:
            raise UserError(
                f"unknown --format {config.format!r}", hint="use jsonl, json, csv or avro"
            )
        return fmt
    if spec in ("-", os.devnull):
        return "jsonl"
    extension = os.path.splitext(spec)[1].lower()
    fmt = _EXTENSIONS.get(extension)
    if fmt is None:
        raise UserError(
            f"cannot tell the format of {spec} from its extension",
            hint="name it .jsonl, .json, .csv or .avro, or pass --format jsonl|csv|avro",
        )
    return fmt


__all__ = [
    "Batch",
    "ConnectorConfig",
    "DeadLetter",
    "Record",
    "Sink",
    "Source",
    "open_sink",
    "open_source",
    "parse_kafka_config",
]
