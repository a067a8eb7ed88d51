"""Options that several commands share, declared once."""

from __future__ import annotations

import click

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "json", "csv", "avro"]),
    help="The format of the input files, overriding their extensions (outputs follow their "
    "own extension, or --output-format).",
)

output_format_option = click.option(
    "--output-format",
    type=click.Choice(["jsonl", "json", "csv", "avro"]),
    help="The format of the output files, overriding their extensions.",
)
