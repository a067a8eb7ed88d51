"""`gress check FILE.gress`: every diagnostic, a summary line, exit status 0 or 1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gress_cep.cli.main import cli

EXAMPLES = Path(__file__).parent / "examples"

# the broken file of the issue: the misspelt variable is at line 12, column 18
BROKEN = """\
stream payments
    key card_id
    time ts
    schema { card_id: string, ts: timestamp, amount: float, merchant: string }

pattern card_testing
    from payments
    match small{3,} -> big
    where
        small: amount < 2.00
        big:   amount > 500
            and smal.merchant != merchant
    within 10m
    emit card_id, count(small) as probes, big.amount as amount, amount
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check", *args])
    return result.exit_code, result.output


def write(tmp_path: Path, text: str, name: str = "broken.gress") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_good_file_prints_a_summary_and_exits_0() -> None:
    path = str(EXAMPLES / "conditions.gress")
    code, output = run(path)
    assert code == 0
    assert re.fullmatch(
        rf"{re.escape(path)}: \d+ streams?, 0 models, \d+ views?, \d+ patterns?: ok\n", output
    )


def test_joins_and_lookups_check_without_a_warning() -> None:
    """Issue 12: they run, so `check` says a plain ok (issue 11 D.25 warned while they did not)."""
    path = str(EXAMPLES / "views_without_models.gress")
    code, output = run(path)
    assert code == 0
    assert output == f"{path}: 3 streams, 0 models, 8 views, 2 patterns: ok\n"


def test_detect_runs_the_join_and_lookup_views_that_check_accepts(tmp_path: Path) -> None:
    source = EXAMPLES / "views_without_models.gress"
    events = tmp_path / "e.jsonl"
    events.write_text("")
    for view in ("pay_login", "pay_or_not", "enriched"):
        result = CliRunner().invoke(
            cli,
            [
                "detect",
                str(source),
                "-i",
                f"payments={events}",
                "-i",
                f"logins={events}",
                "-i",
                f"merchants={events}",
                "--view",
                view,
                "--checkpoint-interval",
                "off",
            ],
        )
        assert result.exit_code == 0, result.output


def test_a_broken_file_prints_every_error_with_its_line_and_a_caret(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    code, output = run(path)
    assert code == 1
    assert output == (
        f"{path}:12:17: error: unknown variable 'smal' in condition of 'big' "
        "(did you mean 'small'?)\n"
        "                and smal.merchant != merchant\n"
        "                    ^^^^\n"
        f"{path}:14:65: error: two outputs of 'emit' are named 'amount' "
        "(the other at column 57 of line 14)\n"
        "        emit card_id, count(small) as probes, big.amount as amount, amount\n"
        "                                                                    ^^^^^^\n"
        "    hint: use 'as' to give one of them another name\n"
        f"{path}: 2 errors\n"
    )


def test_syntax_and_semantic_errors_of_all_statements_are_reported(tmp_path: Path) -> None:
    text = (
        "stream s\n"
        "pattern one\n    match a -> b\n    where\n        a: x = 1\n"
        "pattern two\n    match a\n    where\n        a: lowr(x) == 1\n"
        "pattern three\n    mach a\n"
    )
    path = write(tmp_path, text)
    code, output = run(path)
    assert code == 1
    located = re.findall(rf"^{re.escape(path)}:(\d+):(\d+): error: ", output, re.MULTILINE)
    assert located == [("5", "14"), ("9", "12"), ("11", "5")]
    assert output.endswith(f"{path}: 3 errors\n")


def test_warnings_come_before_the_summary_and_do_not_fail(tmp_path: Path) -> None:
    path = write(tmp_path, "stream s\npattern p\n    match a -> b+\n", "loop.gress")
    code, output = run(path)
    assert code == 0
    lines = output.splitlines()
    assert lines[0].startswith(f"{path}:3:16: warning: 'b+' can repeat without bound")
    assert lines[-1] == f"{path}: 1 stream, 0 models, 0 views, 1 pattern: ok (1 warning)"


def test_errors_and_warnings_are_counted(tmp_path: Path) -> None:
    text = "stream s\npattern p\n    match a -> b+\n    where\n        a: x == null and y = 2\n"
    path = write(tmp_path, text)
    code, output = run(path)
    assert code == 1
    assert output.splitlines()[-1] == f"{path}: 1 error"


def test_an_unreadable_file_is_one_clear_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.gress")
    code, output = run(missing)
    assert code == 1
    assert output == f"{missing}: error: cannot read the file: No such file or directory\n"


def test_a_file_that_is_not_text_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.gress"
    path.write_bytes(b"stream s\n\xff\xfe\x00")
    code, output = run(str(path))
    assert code == 1
    assert output.startswith(f"{path}:2:1: error: not UTF-8 text: byte 0xff cannot be decoded\n")
    assert "Traceback" not in output


def test_a_byte_that_is_not_utf8_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "latin1.gress"
    path.write_bytes("stream s\n    key k\n    time tsé".encode() + b"\xe9\n")
    code, output = run(str(path))
    assert code == 1
    # column 13 in characters: `é` (two bytes) counts as one
    assert output.startswith(f"{path}:3:13: error: not UTF-8 text: byte 0xe9 cannot be decoded\n")
    assert "^" in output


def test_an_empty_file_is_ok(tmp_path: Path) -> None:
    path = write(tmp_path, "", "empty.gress")
    assert run(path) == (0, f"{path}: 0 streams, 0 models, 0 views, 0 patterns: ok\n")


@pytest.mark.parametrize("args", [["--help"], ["-h"]])
def test_help_shows_an_example(args: list[str]) -> None:
    code, output = run(*args)
    assert code == 0
    assert "gress check examples/fraud/fraud.gress" in output


def test_the_fraud_example_checks() -> None:
    path = Path(__file__).parents[2] / "examples" / "fraud" / "fraud.gress"
    if not path.exists():
        pytest.skip("examples/fraud/fraud.gress is not written yet")
    code, output = run(str(path))
    assert code == 0, output
    assert output.splitlines()[-1].endswith(": 2 streams, 1 model, 3 views, 2 patterns: ok")


def test_emit_key_is_fine_when_key_is_the_partition_key_field(tmp_path: Path) -> None:
    rules = tmp_path / "rules.gress"
    rules.write_text(
        "stream events\n    key key\n    time ts\n\npattern chain\n    from events\n"
        '    match a -> b\n    where a: kind == "A"\n          b: kind == "B"\n'
        "    emit key, count(a) as n\n"
    )
    ok = CliRunner().invoke(cli, ["check", str(rules)])
    assert ok.exit_code == 0, ok.output
    rules.write_text(rules.read_text().replace("    key key", "    key card"))
    refused = CliRunner().invoke(cli, ["check", str(rules)])
    assert refused.exit_code == 1
    assert "output 'key' of 'emit' has the name of a field every record it makes" in (
        refused.output
    )
