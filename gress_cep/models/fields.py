"""The names of the fields `score MODEL as ALIAS` adds to a record (one place for the operator,
the checker and the docs)."""

from __future__ import annotations


def variant_field(alias: str) -> str:
    """`risk_model`: the model file (the A/B variant) that scored the record."""
    return f"{alias}_model"


def shadow_fields(alias: str, count: int) -> list[str]:
    """The fields of the shadow scores: `risk_shadow`, `risk_shadow_2`, ..."""
    return [f"{alias}_shadow" if i == 0 else f"{alias}_shadow_{i + 1}" for i in range(count)]


def score_fields(alias: str, shadows: int = 0) -> dict[str, str]:
    """Every field the score operator adds, with its type in the language (for the checker)."""
    fields = {alias: "float", variant_field(alias): "string"}
    fields.update(dict.fromkeys(shadow_fields(alias, shadows), "float"))
    return fields
