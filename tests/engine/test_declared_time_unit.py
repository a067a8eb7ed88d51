"""Issue 11 B.7: the unit of numbers in a time field is read from their size (and said), or
declared by the stream (`time ts seconds`, `time ts milliseconds`): then every number is read
in that unit and nothing is guessed or said (docs/language.md §2, "Declared unit")."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

import gress_cep
from gress_cep.dsl import diagnose
from tests.engine.test_time_as_users_have_it import RULES, T0, payments

SECONDS = RULES.replace("    time ts\n", "    time ts seconds\n")
MILLISECONDS = RULES.replace("    time ts\n", "    time ts milliseconds\n")


def run_quietly(rules: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The matches; any warning (a guessed unit) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", gress_cep.GressWarning)
        return list(gress_cep.compile(rules).run({"payments": events}))


SECOND_FORMS: dict[str, Callable[[int], Any]] = {
    "int": lambda ms: ms // 1000,
    "float": lambda ms: ms / 1000,
    "text": lambda ms: str(ms // 1000),
}


@pytest.mark.parametrize("form", ["int", "float", "text"])
def test_declared_seconds_read_every_number_as_seconds_without_a_word(form: str) -> None:
    matches = run_quietly(SECONDS, payments(SECOND_FORMS[form]))
    assert [(m["start"], m["took"]) for m in matches] == [(T0 + 3 * 3_600_000, 240_000)]


def test_declared_seconds_read_small_numbers_as_seconds_too() -> None:
    text = SECONDS.split("pattern")[0] + "pattern every\n    match e\n    emit ts\n"
    events = [{"card": "c", "ts": t, "amount": 1} for t in (0, 1, 1.5, "2", "1970-01-01T00:00:03Z")]
    assert [m["ts"] for m in run_quietly(text, events)] == [0, 1000, 1500, 2000, 3000]


def test_declared_milliseconds_read_numbers_of_seconds_size_as_milliseconds() -> None:
    """5e9 has the size of epoch seconds; declared milliseconds, it is 58 days after 1970."""
    text = MILLISECONDS.split("pattern")[0] + "pattern every\n    match e\n    emit ts\n"
    events = [{"card": "c", "ts": t, "amount": 1} for t in ("7", 5_000_000_000, 5_000_000_001.0)]
    assert [m["ts"] for m in run_quietly(text, events)] == [7, 5_000_000_000, 5_000_000_001]


def test_the_same_times_give_the_same_matches_declared_or_not() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gress_cep.GressWarning)
        guessed = list(gress_cep.compile(RULES).run({"payments": payments(lambda ms: ms // 1000)}))
    assert run_quietly(SECONDS, payments(lambda ms: ms // 1000)) == guessed
    assert run_quietly(MILLISECONDS, payments(lambda ms: ms)) == guessed


def test_an_unknown_unit_is_a_positioned_error_with_did_you_mean() -> None:
    text = RULES.replace("    time ts\n", "    time ts secs\n")
    errors = [d for d in diagnose(text, "t.gress")[1] if d.severity == "error"]
    assert [(d.span.line, d.span.column, d.message) for d in errors] == [
        (3, 13, "unknown time unit 'secs' (did you mean 'seconds'?)")
    ]
    assert errors[0].hint and "time FIELD seconds" in errors[0].hint
