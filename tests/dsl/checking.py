"""Running the front end on a text and showing its diagnostics the way the tests compare them."""

from __future__ import annotations

import textwrap

from gress_cep.dsl import diagnose


def problems(text: str, *, severity: str | None = None) -> list[str]:
    """`line:col: severity: message` for every diagnostic of a (dedented) pattern file."""
    _, diagnostics = diagnose(textwrap.dedent(text).lstrip("\n"), "t.gress")
    return [
        f"{d.span.line}:{d.span.column}: {d.severity}: {d.message}"
        for d in diagnostics
        if severity is None or d.severity == severity
    ]


def errors(text: str) -> list[str]:
    return problems(text, severity="error")


def warnings(text: str) -> list[str]:
    return problems(text, severity="warning")


def not_yet_runnable(message: str) -> bool:
    """The warning on a join or lookup view: it checks, but `gress detect` cannot run it yet."""
    return "which the runtime cannot run yet" in message
