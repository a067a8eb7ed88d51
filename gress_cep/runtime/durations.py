"""Durations typed on the command line or in gress.toml: the pattern language's own notation."""

from __future__ import annotations

from gress_cep.dsl.parser import duration_ms
from gress_cep.errors import UserError


def parse_duration_s(text: str, what: str) -> float:
    """`250ms`, `10s`, `5m`, `2h`, `1d` -> seconds."""
    try:
        return duration_ms(text.strip()) / 1000
    except ValueError:
        raise UserError(
            f"{what} {text!r} is not a duration", hint="write it like 250ms, 10s, 5m, 2h or 1d"
        ) from None


def format_duration(ms: int) -> str:
    """The shortest exact spelling: 300000 -> '5m', 1500 -> '1500ms'."""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"
