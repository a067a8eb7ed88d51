"""Options that several commands share, declared once."""

from __future__ import annotations

import click

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "json", "csv", "avro"]),
    help="The format of the files, overriding their extensions.",
)
