"""`gress detect --dry-run`: what a job would check before running, as a short report.

Every input is opened the way the job opens it (a file's header, a topic's partitions, the
registry) and closed again without reading a record; a Kafka input's registered schema
(`<topic>-value`, latest version) must resolve to the stream's declared schema; every output is
checked without being opened (opening a file output truncates it): its folder exists and can
be written, a Kafka broker answers, a registry answers when the output format needs one. A
problem is the same UserError the job would stop with; otherwise one line per input and
output. A consumer group is never joined (that would rebalance a running group).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from gress_cep.connectors import KAFKA_PREFIX, ConnectorConfig, file_format, open_source
from gress_cep.dsl import ast
from gress_cep.errors import UserError
from gress_cep.runtime.job import OPTION_OF_ROLE, JobSpec, check_files
from gress_cep.runtime.plan import Plan


def preflight(spec: JobSpec, program: ast.Program, plan: Plan) -> list[str]:
    """The report lines; raises the UserError a run would stop with."""
    check_files(spec, program)
    lines = [
        f"{spec.file}: {len(plan.patterns)} pattern(s), {len(plan.views)} view(s) compiled: ok"
    ]
    declared = {s.name.text: s for s in program.of_type(ast.Stream)}
    config = dataclasses.replace(spec.config, group=None)  # never join a live group
    for stream, source in spec.inputs:
        lines.append(f"input {stream}={source}: {_input(declared[stream], source, config)}: ok")
    for role, sink in spec.outputs.items():
        what = "a live table on this terminal" if role == "matches" and spec.terminal_output else (
            _output(sink, spec.config)
        )  # fmt: skip
        lines.append(f"output {OPTION_OF_ROLE[role]} {sink}: {what}: ok")
    lines.append("dry run: ok (nothing was read or written)")
    return lines


def _input(stream: ast.Stream, spec: str, config: ConnectorConfig) -> str:
    if spec == "-":
        return "stdin, JSON Lines (read when the job runs)"
    source = open_source(spec, stream, config)
    try:
        if not spec.startswith(KAFKA_PREFIX):
            size = os.path.getsize(spec)
            return f"{file_format(spec, config)} file, {size:,} bytes"
        partitions = len(source.partitions())
        said = f"topic with {partitions} partition{'s' if partitions != 1 else ''}"
        return said + _registered(source, spec[len(KAFKA_PREFIX) :])
    finally:
        source.close()


def _registered(source: Any, topic: str) -> str:
    """What the registry holds for the topic's values, checked against the stream."""
    from gress_cep.connectors.confluent import AutoDecoder, ConfluentDecoder
    from gress_cep.connectors.registry import registry_errors

    decoder = getattr(source, "decoder", None)
    if isinstance(decoder, AutoDecoder):
        decoder = decoder.avro
    if not isinstance(decoder, ConfluentDecoder):
        return ""  # JSON values, or no registry
    subject = f"{topic}-value"
    try:
        with registry_errors(decoder.url, f"the subject '{subject}'"):
            latest = decoder.client.get_latest_version(subject)
    except UserError as err:
        if "HTTP 404" in err.message:
            return f"; no schema registered under {subject} yet"
        raise
    schema_id = latest.schema_id
    assert schema_id is not None and latest.schema is not None
    problem = decoder.schema_problem(schema_id, latest.schema)
    kind = latest.schema.schema_type or "AVRO"
    if problem is not None:
        raise UserError(
            f"kafka:{topic}: {problem}",
            hint=f"{subject} version {latest.version} (schema id {schema_id}) would send every "
            "record to the dead-letter output; fix the stream's schema or the producer's",
        )
    return f"; {subject} version {latest.version} ({kind}, schema id {schema_id}) resolves"


def _output(spec: str, config: ConnectorConfig) -> str:
    if spec == "-":
        return "stdout"
    if spec.startswith(KAFKA_PREFIX):
        return _kafka_output(spec[len(KAFKA_PREFIX) :], config)
    fmt = file_format(spec, config, output=True)
    if spec == os.devnull or (os.path.exists(spec) and not os.path.isfile(spec)):
        return f"{fmt}, not a regular file"
    folder = os.path.dirname(spec) or "."
    if not os.path.isdir(folder):
        raise UserError(
            f"cannot write {spec}: its folder does not exist",
            hint=f"create it first: mkdir -p {folder}",
        )
    target = spec if os.path.exists(spec) else folder
    if not os.access(target, os.W_OK):
        raise UserError(f"cannot write {spec} (permission denied)")
    return f"{fmt} file" + (" (exists: a new run replaces it)" if os.path.exists(spec) else "")


def _kafka_output(topic: str, config: ConnectorConfig) -> str:
    from confluent_kafka import KafkaException, Producer

    from gress_cep.connectors.kafka import _registry, client_config, kafka_client, value_format

    producer = kafka_client(Producer, client_config(config))
    try:
        metadata = producer.list_topics(timeout=config.connect_timeout_s)
    except KafkaException as err:
        raise UserError(
            f"cannot reach Kafka at {config.bootstrap_servers} ({err.args[0].str()})",
            hint="is the broker running? check --bootstrap-servers (env GRESS_BOOTSTRAP_SERVERS)",
        ) from None
    fmt = value_format(topic, config, output=True)
    if fmt != "json" and _registry(topic, config, needed=fmt) is not None:
        fmt = fmt or "avro"
    exists = topic in metadata.topics
    where = "topic" if exists else "new topic (created on first write, if the broker allows)"
    return f"{where}, {fmt or 'json'} values"
