"""Issue 12 §5: mistakes in joins, lookups and unions get messages a person can act on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import gress_cep
from gress_cep.cli.main import cli
from gress_cep.errors import UserError

STREAMS = """stream payments
    key card_id
    time ts

stream logins
    key card_id
    time ts

"""


def gress(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("payments.jsonl").write_text(json.dumps({"card_id": "c1", "ts": 1000}) + "\n")
    Path("logins.jsonl").write_text(json.dumps({"card_id": "c1", "ts": 1500}) + "\n")
    return tmp_path


def test_a_join_of_a_stream_without_an_input_names_the_stream_and_the_input_to_add(
    job: Path,
) -> None:
    Path("rules.gress").write_text(
        STREAMS + "view j = join payments as p, logins as l on p.card_id == l.card_id within 1s\n"
    )
    result = gress("detect", "rules.gress", "-i", "payments=payments.jsonl", "--view", "j")
    assert result.exit_code == 1
    assert "error: no input for stream 'logins'" in result.output
    assert "hint: add -i logins=PATH (or kafka:TOPIC)" in result.output
    assert "Traceback" not in result.output


def test_a_lookup_table_without_an_input_too(job: Path) -> None:
    Path("rules.gress").write_text(STREAMS + "view e = payments | lookup logins on card_id\n")
    result = gress("detect", "rules.gress", "-i", "payments=payments.jsonl", "--view", "e")
    assert result.exit_code == 1
    assert "no input for stream 'logins'" in result.output


def test_the_python_api_says_which_stream_has_no_input() -> None:
    program = gress_cep.compile(STREAMS + "view u = union payments, logins\n")
    with pytest.raises(UserError, match="no input for stream 'logins', which view u reads"):
        list(program.run({"payments": [{"card_id": "c", "ts": 1}]}, views=["u"]))


def test_a_join_without_an_equality_across_the_sides_is_a_check_error(job: Path) -> None:
    Path("rules.gress").write_text(
        STREAMS + "view j = join payments as p, logins as l on p.ts < l.ts within 1s\n"
    )
    result = gress("check", "rules.gress")
    assert result.exit_code == 1
    assert result.output.startswith(
        "rules.gress:9:45: error: the join condition has no equality between 'p' and 'l': a "
        "join matches records by a key\n"
    )
    assert "hint: add one, e.g. 'p.card_id == l.card_id and ...'" in result.output


def test_an_equality_on_one_side_only_is_no_join_key(job: Path) -> None:
    Path("rules.gress").write_text(
        STREAMS + "view j = join payments as p, logins as l on p.card_id == p.card_id\n"
        "    and l.ts > 0 within 1s\n"
    )
    result = gress("check", "rules.gress")
    assert "has no equality between 'p' and 'l'" in result.output


def test_a_lookup_table_without_a_key_is_an_error(job: Path) -> None:
    Path("rules.gress").write_text(
        "stream payments\n    time ts\n\nstream rates\n    time ts\n\n"
        "view e = payments | lookup rates on currency\n"
    )
    result = gress("check", "rules.gress")
    assert result.exit_code == 1
    assert "rules.gress:7:28: error: stream 'rates' has no 'key' to look up by" in result.output
    assert "hint: declare its key" in result.output


def test_a_union_of_inputs_with_a_field_of_two_types_is_a_check_error(job: Path) -> None:
    Path("rules.gress").write_text(
        "stream a\n    time ts\n    schema { ts: timestamp, x: int }\n\n"
        "stream b\n    time ts\n    schema { ts: timestamp, x: string }\n\n"
        "view u = union a, b\n"
    )
    result = gress("check", "rules.gress")
    assert result.exit_code == 1
    assert (
        "rules.gress:9:19: error: field 'x' is a string in 'b' but an int in 'a': a union's "
        "field has one type" in result.output
    )


def test_records_missing_the_join_key_are_dead_letters_with_the_reason(job: Path) -> None:
    Path("rules.gress").write_text(
        STREAMS + "view j = join payments as p, logins as l on p.card_id == l.card_id within 1s\n"
    )
    Path("payments.jsonl").write_text(
        json.dumps({"card_id": "c1", "ts": 1000}) + "\n" + json.dumps({"ts": 1200}) + "\n"
    )
    result = gress(
        "detect", "rules.gress", "-i", "payments=payments.jsonl", "-i", "logins=logins.jsonl",
        "--view", "j", "-o", "out.jsonl", "--dead-letter", "dead.jsonl",
        "--checkpoint-interval", "off",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (letter,) = [json.loads(line) for line in Path("dead.jsonl").read_text().splitlines()]
    assert letter["reason"] == (
        "view j: the record has no 'card_id', which the join matches on (p.card_id == l.card_id)"
    )
    assert letter["record"] == {"ts": 1200}
    assert [json.loads(line) for line in Path("out.jsonl").read_text().splitlines()] == [
        {"p": {"card_id": "c1", "ts": 1000}, "l": {"card_id": "c1", "ts": 1500}}
    ]
    assert "3 records in" not in result.output  # the summary table: in = used + dead
    assert "note: view j: 2 records joined into 1 pair" in result.output
