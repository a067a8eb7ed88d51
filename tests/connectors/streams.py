"""Declared streams for tests, written the way users write them."""

from __future__ import annotations

from gress_cep.dsl.ast import Stream
from gress_cep.dsl.parser import parse


def declared_stream(schema: str | None, name: str = "payments") -> Stream:
    """The stream `name` with `schema { <schema> }` (no schema clause when None)."""
    text = f"stream {name}\n"
    if schema is not None:
        text += f"    schema {{ {schema} }}\n"
    (stream,) = parse(text).of_type(Stream)
    return stream


PAYMENTS = "card_id: string, ts: timestamp, amount: float, merchant: string?"
