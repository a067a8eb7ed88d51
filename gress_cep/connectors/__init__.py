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
from gress_cep.connectors.jsonl import (
    JsonLinesSink,
    JsonLinesSource,
    open_json_file,
    stdout_sink,
)
from gress_cep.connectors.validation import Validator
from gress_cep.dsl.ast import Stream
from gress_cep.errors import UserError

KAFKA_PREFIX = "kafka:"
SINK_ROLES = ("matches", "timeouts", "late", "dead-letter")

_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".json": "json",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".avro": "avro",
}
# "json": JSON Lines, or one JSON array of objects (told apart by the file's first byte)
KAFKA_ONLY_FORMATS = ("json-schema", "protobuf")  # through a schema registry
_FORMATS = {"jsonl": "jsonl", "json": "json", "csv": "csv", "avro": "avro"}


@dataclass(slots=True)
class ConnectorConfig:
    """Connection settings, filled by `gress detect` from flags and GRESS_* variables."""

    bootstrap_servers: str | None = None
    kafka_config: dict[str, str] = field(default_factory=dict)  # --kafka-config KEY=VALUE
    schema_registry: str | None = None
    group: str | None = None
    from_beginning: bool = False
    stop_at_end: bool = False
    format: str | None = None  # --format jsonl|csv|avro|json: wins over an input's extension
    # --output-format: wins over an output's extension; without it an output follows its
    # extension, and only an output whose name says nothing (a Kafka topic) follows --format
    output_format: str | None = None
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
        if fmt in ("jsonl", "json"):
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
        if fmt == "json":
            return open_json_file(spec, validator, start)
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
        ledger = (
            OutputLedger(topic, config, run_id, resume, shared=config.group is not None)
            if run_id is not None
            else None
        )
        return KafkaSink(topic, config, role, transaction, ledger)
    if spec == "-":
        return stdout_sink(role)
    fmt = _file_format(spec, config, output=True)
    try:
        if fmt in ("jsonl", "json"):  # records are written as JSON Lines
            return JsonLinesSink.open(spec, role, resume)
        if fmt == "csv":
            return CsvSink(spec, role, resume)
        from gress_cep.connectors.avro_file import AvroFileSink

        return AvroFileSink(spec, role, resume)
    except OSError as err:
        raise _cannot_write(spec, err) from None


def _cannot_write(spec: str, err: OSError) -> UserError:
    """Why an output file cannot be opened, in the words of the operating system; a missing
    folder only when the folder is indeed missing (`/proc` exists but takes no new files)."""
    folder = os.path.dirname(spec) or "."
    if isinstance(err, FileNotFoundError | NotADirectoryError) and not os.path.isdir(folder):
        if os.path.exists(folder):
            return UserError(f"cannot write {spec}: {folder} is not a folder")
        return UserError(
            f"cannot write {spec}: its folder does not exist",
            hint=f"create it first: mkdir -p {folder}",
        )
    if isinstance(err, PermissionError):
        return UserError(f"cannot write {spec} (permission denied)")
    if isinstance(err, IsADirectoryError):
        return UserError(f"cannot write {spec}: it is a directory")
    why = err.strerror or str(err)
    if isinstance(err, FileNotFoundError):  # the folder is there: the system refused the file
        why += f" (the folder {folder} exists but the system does not let a file be created there)"
    return UserError(f"cannot write {spec}: {why}")


def _topic(spec: str) -> str:
    topic = spec[len(KAFKA_PREFIX) :]
    if not topic:
        raise UserError(f"{spec!r} names no topic", hint="write kafka:TOPIC, e.g. kafka:payments")
    return topic


def _file_format(spec: str, config: ConnectorConfig, *, output: bool = False) -> str:
    """The format of a file or stdio spec. An input: --format when given, else its extension.
    An output: --output-format when given, else its extension, else --format."""
    # json-schema and protobuf name the values of Kafka topics: a file follows its extension
    named, option = (
        (config.output_format, "--output-format") if output else (config.format, "--format")
    )
    if named is not None and named not in KAFKA_ONLY_FORMATS:
        return _named_format(named, option)
    if named is not None and spec != "-":
        fmt = _EXTENSIONS.get(os.path.splitext(spec)[1].lower())
        if fmt is None and spec != os.devnull:
            return _named_format(named, option)  # the name says nothing: say why not
    if spec == "-":
        return "jsonl"
    fmt = _EXTENSIONS.get(os.path.splitext(spec)[1].lower())
    if fmt is None and output and config.format is not None:
        return _named_format(config.format, "--format")  # the name says nothing
    if fmt is None and spec == os.devnull:
        return "jsonl"
    if fmt is None:
        option = "--output-format" if output else "--format"
        raise UserError(
            f"cannot tell the format of {spec} from its extension",
            hint=f"name it .jsonl, .json, .csv or .avro, or pass {option} jsonl|csv|avro",
        )
    return fmt


file_format = _file_format  # what `gress detect --dry-run` reports of a file


def _named_format(name: str, option: str) -> str:
    fmt = _FORMATS.get(name)
    if fmt is None and name in KAFKA_ONLY_FORMATS:
        raise UserError(
            f"{option} {name} is a format of Kafka values (through a schema registry), "
            "not of files",
            hint="files are jsonl, json, csv or avro",
        )
    if fmt is None:
        raise UserError(f"unknown {option} {name!r}", hint="use jsonl, json, csv or avro")
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
