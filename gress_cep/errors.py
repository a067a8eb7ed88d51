"""The error a user can cause and fix: shown as one clear message, never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake or an unavailable resource on the user's side (a missing file, a broker that
    does not answer, a bad option). The CLI prints `str(err)` (and the hint) and exits with 1."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def render(self) -> str:
        text = f"gress: error: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text
