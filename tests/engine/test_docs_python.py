"""The Python API as docs/python.md shows it: compile from a path or the text, `streams`,
`patterns`, `warnings`, GressError with what `gress check` prints, `run` with a subset of
patterns and its callbacks, matches while an endless input is still being read, and no state
on disk."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import gress_cep
from gress_cep.cli.main import cli
from gress_cep.connectors.base import DeadLetter

README = (Path(__file__).parents[2] / "README.md").read_text()
RULES = next(b for b in re.findall(r"```\n(.*?)```", README, re.DOTALL) if b.startswith("stream"))

# the events of docs/python.md
EVENTS = [
    {"card_id": "c1", "ts": 1_700_000_000_000, "amount": 1.0, "merchant": "a"},
    {"card_id": "c1", "ts": 1_700_000_001_000, "amount": 1.5, "merchant": "b"},
    {"card_id": "c1", "ts": 1_700_000_002_000, "amount": 0.5, "merchant": "c"},
    {"card_id": "c1", "ts": 1_700_000_003_000, "amount": 900.0, "merchant": "d"},
]

UNBOUNDED = "\npattern unbounded\n    from payments\n    match x -> y+\n"
MISTAKES = RULES.replace("first(small)", "first(smal)").replace("count(small)", "count(smol)")


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.gress"
    path.write_text(RULES)
    return path


def test_the_documented_example_yields_the_card_testing_match(
    rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(rules.parent)
    program = gress_cep.compile("rules.gress")
    assert list(program.run({"payments": EVENTS})) == [
        {
            "pattern": "card_testing",
            "key": "c1",
            "start": 1_700_000_000_000,
            "end": 1_700_000_003_000,
            "card_id": "c1",
            "probes": 3,
            "amount": 900.0,
        }
    ]


def test_compile_takes_a_path_or_the_text_of_a_file(rules: Path) -> None:
    from_path = gress_cep.compile(rules)
    from_text = gress_cep.compile(RULES)
    assert list(from_path.run({"payments": EVENTS})) == list(from_text.run({"payments": EVENTS}))


def test_streams_and_patterns_name_what_the_file_declares(rules: Path) -> None:
    program = gress_cep.compile(rules)
    assert (program.streams, program.patterns) == (["payments"], ["card_testing"])


def test_warnings_are_what_gress_check_warns_about(tmp_path: Path) -> None:
    path = tmp_path / "loop.gress"
    path.write_text(RULES + UNBOUNDED)
    program = gress_cep.compile(path)
    [warning] = program.warnings
    checked = CliRunner().invoke(cli, ["check", str(path)]).output
    assert f": warning: {warning.message}" in checked


def test_a_file_with_errors_raises_gress_error_whose_text_is_what_check_prints(
    tmp_path: Path,
) -> None:
    path = tmp_path / "broken.gress"
    path.write_text(MISTAKES)
    with pytest.raises(gress_cep.GressError) as caught:
        gress_cep.compile(path)
    checked = CliRunner().invoke(cli, ["check", str(path)])
    assert checked.exit_code == 1
    *diagnostics, count = checked.output.splitlines()
    assert count == f"{path}: 2 errors"
    assert str(caught.value).splitlines() == diagnostics


def test_gress_error_holds_the_diagnostics_one_by_one(tmp_path: Path) -> None:
    with pytest.raises(gress_cep.GressError) as caught:
        gress_cep.compile(MISTAKES)
    found = [(d.severity, str(d.span), d.message) for d in caught.value.diagnostics]
    assert found == [
        ("error", "11:51", "unknown variable 'smal' in condition of 'big' (did you mean 'small'?)"),
        ("error", "13:25", "unknown variable 'smol' in 'emit' (did you mean 'small'?)"),
    ]


def test_patterns_runs_a_subset(rules: Path) -> None:
    program = gress_cep.compile(RULES + "\npattern any_big\n    from payments\n"
                                "    match b\n    where b: amount > 500\n")  # fmt: skip
    assert {m["pattern"] for m in program.run({"payments": EVENTS})} == {"card_testing", "any_big"}
    only = program.run({"payments": EVENTS}, patterns=["any_big"])
    assert [m["pattern"] for m in only] == ["any_big"]


def test_a_non_dict_item_is_a_dead_letter_with_reason_and_origin(rules: Path) -> None:
    letters: list[DeadLetter] = []
    events = [*EVENTS[:2], "not a record", *EVENTS[2:]]
    program = gress_cep.compile(rules)
    matches = list(program.run({"payments": events}, on_dead_letter=letters.append))
    [letter] = letters
    assert letter.reason == "not a record (a dict): str"
    assert letter.origin == "payments[2]"  # the stream and the item's index in the input
    assert [m["probes"] for m in matches] == [3]  # the other records are still matched


def test_matches_come_out_while_an_endless_input_is_still_being_read(rules: Path) -> None:
    def endless() -> Iterator[dict]:
        for i in itertools.count():
            amount = 900.0 if i % 4 == 3 else 1.0
            yield {"card_id": "c1", "ts": i * 1000, "amount": amount, "merchant": f"m{i}"}

    match = next(iter(gress_cep.compile(rules).run({"payments": endless()})))
    assert (match["start"], match["end"], match["probes"]) == (0, 3000, 3)


def test_a_run_keeps_no_state_on_disk(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(rules.parent)
    monkeypatch.delenv("GRESS_STATE_ROOT", raising=False)
    list(gress_cep.compile("rules.gress").run({"payments": EVENTS}))
    assert sorted(p.name for p in rules.parent.iterdir()) == ["rules.gress"]


def test_an_input_for_an_unknown_stream_is_a_user_error(rules: Path) -> None:
    with pytest.raises(gress_cep.UserError, match="no stream named 'paymnets'"):
        list(gress_cep.compile(rules).run({"paymnets": EVENTS}))


WINDOWED = """stream payments
    key card_id
    time ts

view per_minute = payments | window tumbling 1m | aggregate count() as n, sum(amount) as total
"""


def test_run_with_views_yields_the_records_of_those_views() -> None:
    program = gress_cep.compile(WINDOWED)
    assert program.views == ["per_minute"]
    payments = [
        {"card_id": "c1", "ts": 1_000, "amount": 2.0},
        {"card_id": "c1", "ts": 2_000, "amount": 3.0},
        {"card_id": "c2", "ts": 61_000, "amount": 1.0},
    ]
    assert list(program.run({"payments": payments}, views=["per_minute"])) == [
        {"card_id": "c1", "window_start": 0, "window_end": 60_000, "n": 2, "total": 5.0},
        {"card_id": "c2", "window_start": 60_000, "window_end": 120_000, "n": 1, "total": 1.0},
    ]
