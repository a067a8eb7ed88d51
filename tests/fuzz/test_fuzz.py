"""A small version of the fuzz run (tests/fuzz/run_fuzz.py runs 20,000 cases of each kind):
grammar-built and mutated pattern texts through check, explain and a run; mutated records in
each input format through the file sources, a pipeline and the sinks. No case may end in an
exception or a hang."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.harness import (
    FORMATS,
    check_pattern_text,
    deadline,
    explain_command,
    pattern_file,
    pattern_texts,
    record_files,
    run_records,
)

SMALL = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SMALL
@given(pattern_texts)
def test_pattern_texts_give_diagnostics_or_run(text: str) -> None:
    with deadline():
        check_pattern_text(text)


@settings(SMALL, max_examples=25)
@given(pattern_file())
def test_gress_explain_never_shows_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    with deadline():
        explain_command(tmp_path_factory.mktemp("explain"), text)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_mutated_records_are_matched_or_dead_letters(tmp_path: Path, fmt: str) -> None:
    @settings(SMALL, max_examples=20)
    @given(record_files(fmt, 20))
    def case(file: tuple[bytes, str]) -> None:
        data, rules = file
        with deadline():
            run_records(tmp_path, fmt, data, rules)

    case()


# what the fuzz runs found, each as the text it failed on
FOUND = {
    # `x * 36500d` with x a string: string repetition of 3 TB (MemoryError), fixed by
    # arithmetic on numbers only (gress_cep.dsl.expressions._arith)
    "string times a duration": (
        "stream events\n    time ts\n\npattern p\n    match a{0,3}\n    where\n"
        "        a: (((last(a).x < prev(a).x) and (y < len(false))) and (last(a).x != prev(a).x))"
        " or (min(prev(a).x, (a.x * (x * 36500d))) == (first(a).x + (last(a).x / abs(`odd-name`))))"
        "\n    within 3s\n"
    ),
}


@pytest.mark.parametrize("text", list(FOUND.values()), ids=list(FOUND))
def test_what_the_fuzz_run_found(text: str) -> None:
    with deadline():
        assert check_pattern_text(text) == "ok"
