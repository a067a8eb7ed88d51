"""Options that several commands share, declared once."""

from __future__ import annotations

import os

import click

from gress_cep.dsl import ast
from gress_cep.errors import UserError

# json-schema and protobuf are Kafka value formats (through a schema registry) only
FORMATS = ["jsonl", "json", "csv", "avro", "json-schema", "protobuf"]

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="The format of the input files, overriding their extensions (outputs follow their "
    "own extension, or --output-format); Kafka values: json, avro, json-schema, protobuf.",
)

input_option = click.option(
    "-i",
    "--input",
    "inputs",
    multiple=True,
    metavar="[STREAM=]SOURCE",
    help="A path (.jsonl .json .csv .avro), '-' for stdin, or kafka:TOPIC. Repeatable; "
    "STREAM may be left out when the file declares one stream.",
)

output_format_option = click.option(
    "--output-format",
    type=click.Choice(FORMATS),
    help="The format of the output files, overriding their extensions; Kafka values: json, "
    "avro, json-schema, protobuf (the last three through --schema-registry).",
)


def input_specs(program: ast.Program, specs: tuple[str, ...]) -> list[tuple[str, str]]:
    """`-i [STREAM=]SOURCE` values as (stream, source) pairs."""
    declared = sorted(s.name.text for s in program.of_type(ast.Stream))
    if not specs:
        raise UserError("no input given", hint="add -i STREAM=PATH, e.g. -i events.jsonl")
    out = []
    for spec in specs:
        name, sep, source = spec.partition("=")
        if not sep or name not in declared:
            if sep and not os.path.exists(spec) and not spec.startswith("kafka:"):
                raise UserError(
                    f"-i {spec}: no stream named '{name}'",
                    hint="streams in the file: " + ", ".join(declared),
                )
            if len(declared) != 1:
                raise UserError(
                    f"-i {spec}: say which stream it feeds",
                    hint=f"write -i STREAM={spec} (streams: {', '.join(declared)})",
                )
            name, source = declared[0], spec
        out.append((name, source))
    return out
