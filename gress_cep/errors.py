"""Errors and warnings a user can cause and fix: shown as one clear message, never as a traceback.

`GressError` is the one base class: `except gress_cep.GressError` catches every error gress
raises on purpose — a pattern file with mistakes (`PatternError`, with `diagnostics`), a missing
input, a stream that does not exist, a model that does not load, a broker that does not
answer. Anything else escaping gress is a bug.
"""

from __future__ import annotations

from typing import Any


class GressError(Exception):
    """Every error gress raises for a reason a person can act on. `str(err)` is the message;
    `hint` says what to do (or None); `diagnostics` lists a pattern file's problems one by one,
    each with its line and column (empty for errors that are not about the file's text)."""

    message: str
    hint: str | None
    diagnostics: list[Any]

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        self.diagnostics = []
        super().__init__(message)

    def render(self) -> str:
        text = f"gress: error: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class UserError(GressError):
    """A mistake or an unavailable resource on the user's side (a missing file, a broker that
    does not answer, a bad option). The CLI prints `str(err)` (and the hint) and exits with 1."""


class GressWarning(UserWarning):
    """What the Python API says through `warnings` while a run goes on: a time unit guessed
    from the size of the numbers, a key field missing from every record, records that went to
    dead letters or the late output with no callback to take them."""
