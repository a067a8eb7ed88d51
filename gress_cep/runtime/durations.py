"""Durations typed on the command line or in gress.toml: the pattern language's own notation."""

from __future__ import annotations

from gress_cep.dsl.parser import duration_ms
from gress_cep.errors import UserError


def parse_duration_s(text: str, what: str) -> float:
    """`250ms`, `10s`, `5m`, `2h`, `1d` -> seconds."""
    try:
        return duration_ms(text.strip()) / 1000
    except ValueError:
        raise UserError(f"{what} {text!r} is not a duration", hint="write it like 250ms, 10s, 5m, 2h or 1d") from None
