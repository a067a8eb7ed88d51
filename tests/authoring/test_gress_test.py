"""`gress test`: test cases beside a pattern file (docs/testing.md)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gress_cep.cli.main import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

RULES = """stream payments
    key card
    time ts
    schema { card: string, ts: timestamp, amount: float }

view big = payments | where amount > 100

view spend = payments | window tumbling 1m by card | aggregate sum(amount) as total

pattern testing
    from payments
    match small{2,} -> large
    where
        small: amount < 2
        large: amount > 100
    within 10m
    emit card, count(small) as probes, large.amount as amount

pattern journey
    from payments
    match a -> b
    where
        a: amount == 1
        b: amount == 2
    within 1m
    on timeout emit a.amount as first
"""

PASSING = """
[[case]]
name = "two probes and a large payment"
[case.input]
payments = [
  { card = "c1", ts = "2024-05-01T10:00:00Z", amount = 1.0 },
  { card = "c1", ts = "2024-05-01T10:01:00Z", amount = 1.5 },
  { card = "c1", ts = 2024-05-01T10:02:00Z, amount = 900.0 },
]
[case.expect]
testing = [ { card = "c1", probes = 2, amount = 900.0, start = 2024-05-01T10:00:00Z } ]
big = [ { amount = 900.0 } ]

[[case]]
name = "spend per minute"
[case.input]
payments = [
  { card = "c1", ts = "2024-05-01T10:00:01Z", amount = 0.1 },
  { card = "c1", ts = "2024-05-01T10:00:02Z", amount = 0.2 },
  { card = "c2", ts = "2024-05-01T10:00:03Z", amount = 5.0 },
]
[case.expect]
spend = [ { card = "c1", total = 0.3 }, { card = "c2", total = 5.0 } ]
testing = []

[[case]]
name = "a journey that never finishes times out"
[case.input]
payments = [ { card = "c1", ts = 1714557600000, amount = 1.0 } ]
[case.timeouts]
journey = [ { key = "c1", first = 1.0 } ]
"""


@pytest.fixture
def rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "rules.gress"
    path.write_text(RULES)
    return path


def gress_test(*args: str) -> Result:
    return CliRunner().invoke(cli, ["test", *args])


def test_cases_beside_the_rules_are_found_and_pass(rules: Path) -> None:
    rules.with_name("rules.test.toml").write_text(PASSING)
    result = gress_test("rules.gress")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "PASS two probes and a large payment",
        "PASS spend per minute",
        "PASS a journey that never finishes times out",
        "3 passed, 0 failed",
    ]


def test_cases_in_a_tests_folder_are_found_too(rules: Path) -> None:
    folder = rules.with_name("rules.tests")
    folder.mkdir()
    (folder / "a.toml").write_text(PASSING)
    (folder / "b.toml").write_text(PASSING.replace('name = "', 'name = "b: '))
    result = gress_test("rules.gress")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "6 passed, 0 failed"


def test_a_missed_alert_fails_with_the_fields_that_differ(rules: Path) -> None:
    rules.with_name("rules.test.toml").write_text(PASSING.replace("probes = 2", "probes = 3"))
    result = gress_test("rules.gress")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "FAIL two probes and a large payment"
    assert "    rules.test.toml:2" in lines
    assert "    pattern testing:" in lines
    assert any(line.startswith("      missing    {") and '"probes": 3' in line for line in lines)
    assert "        probes: expected 3, got 2" in lines
    assert any(line.startswith("      unexpected {") and '"probes": 2' in line for line in lines)
    assert lines[-1] == "2 passed, 1 failed"


def test_an_alert_that_should_not_fire_is_unexpected(rules: Path) -> None:
    case = PASSING.replace("testing = []", "testing = []\nbig = []")
    case = case.replace("amount = 5.0 },", "amount = 500.0 },").replace(
        "total = 5.0", "total = 500.0"
    )
    rules.with_name("rules.test.toml").write_text(case)
    result = gress_test("rules.gress", "-k", "spend")
    assert result.exit_code == 1
    assert "FAIL spend per minute" in result.stdout
    assert "    view big:" in result.stdout
    assert '      unexpected {"view": "big", "card": "c2"' in result.stdout


def test_expected_records_are_a_multiset(rules: Path) -> None:
    twice = PASSING.replace("big = [ { amount = 900.0 } ]", "big = [ { amount = 900.0 }, {} ]")
    rules.with_name("rules.test.toml").write_text(twice)
    result = gress_test("rules.gress", "-k", "probes")
    assert result.exit_code == 1
    assert "      missing    {}" in result.stdout


def test_k_selects_cases_by_a_word_of_their_name(rules: Path) -> None:
    rules.with_name("rules.test.toml").write_text(PASSING)
    result = gress_test("rules.gress", "-k", "SPEND", "-k", "journey")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "PASS spend per minute",
        "PASS a journey that never finishes times out",
        "2 passed, 0 failed",
    ]


def test_junit_xml_reports_each_case_and_the_failure(rules: Path) -> None:
    rules.with_name("rules.test.toml").write_text(PASSING.replace("total = 0.3", "total = 0.4"))
    result = gress_test("rules.gress", "--junit", "results.xml")
    assert result.exit_code == 1
    root = ET.parse("results.xml").getroot()
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors")) == (
        "testsuites",
        "3",
        "1",
        "0",
    )
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == [
        "two probes and a large payment",
        "spend per minute",
        "a journey that never finishes times out",
    ]
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "view spend: 1 missing, 1 unexpected"
    assert "total: expected 0.4, got 0.30000000000000004" in (failure.text or "")
    assert cases[0].find("failure") is None


def test_a_malformed_test_file_is_an_error_with_its_line(rules: Path) -> None:
    rules.with_name("rules.test.toml").write_text('[[case]]\nname = "x\n')
    result = gress_test("rules.gress")
    assert result.exit_code == 1
    assert "rules.test.toml:2:10: error: not valid TOML" in result.stderr
    assert result.stdout.splitlines()[-1] == "0 passed, 0 failed, 1 error"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("payments = [", "paymnts = ["),
            "rules.test.toml:5:1: error: no stream named 'paymnts' in rules.gress",
        ),
        (("testing = [", "testin = ["), "error: no pattern or view named 'testin'"),
        (("amount = 900.0 }", "amout = 900.0 }"), "error: stream 'payments' has no field 'amout'"),
        (
            ("probes = 2", "probs = 2"),
            "error: 'testing' writes no field 'probs' (did you mean 'probes'?)",
        ),
        (("journey = [", "testing = ["), "error: pattern 'testing' has no 'on timeout emit'"),
        (('name = "spend per minute"', 'nam = "x"'), "error: unknown key 'nam' in a case"),
    ],
)
def test_names_that_do_not_fit_the_rules_are_errors(
    rules: Path, change: tuple[str, str], message: str
) -> None:
    rules.with_name("rules.test.toml").write_text(PASSING.replace(*change, 1))
    result = gress_test("rules.gress")
    assert result.exit_code == 1
    assert message in result.stderr
    assert "rules.test.toml:" in result.stderr


def test_no_tests_is_an_error_with_a_hint(rules: Path) -> None:
    result = gress_test("rules.gress")
    assert result.exit_code == 1
    assert "no tests for rules.gress" in result.stderr
    assert "rules.test.toml" in result.stderr


@pytest.mark.parametrize(("example", "cases"), [("fraud", 5), ("iot", 5)])
def test_the_examples_ship_passing_tests(tmp_path: Path, example: str, cases: int) -> None:
    shutil.copytree(EXAMPLES / example, tmp_path / example)
    result = gress_test(str(tmp_path / example / f"{example}.gress"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"{cases} passed, 0 failed"


def test_the_readme_and_the_docs_show_what_gress_test_prints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = EXAMPLES.parent
    monkeypatch.chdir(root)
    printed = gress_test("examples/fraud/fraud.gress").stdout
    readme = (root / "README.md").read_text()
    shown = readme.split("$ gress test examples/fraud/fraud.gress\n", 1)[1].split("```", 1)[0]
    assert shown == printed
    guide = (root / "docs" / "testing.md").read_text()
    assert f"```\n{printed}```" in guide


def test_gress_check_checks_the_test_files_beside_the_rules(rules: Path) -> None:
    rules.with_name("rules.test.toml").write_text(PASSING)
    result = CliRunner().invoke(cli, ["check", "rules.gress"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-2:] == [
        "rules.test.toml: 3 test cases: ok",
        "rules.gress: 1 stream, 0 models, 2 views, 2 patterns: ok",
    ]
    rules.with_name("rules.test.toml").write_text(PASSING.replace("probes = 2", "probs = 2"))
    result = CliRunner().invoke(cli, ["check", "rules.gress", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    [problem] = report["diagnostics"]
    assert (problem["file"], problem["line"], problem["severity"]) == (
        "rules.test.toml",
        11,
        "error",
    )
    assert problem["message"].startswith("'testing' writes no field 'probs'")


def test_the_iot_readme_shows_what_gress_test_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES.parent)
    printed = gress_test("examples/iot/iot.gress").stdout
    readme = (EXAMPLES / "iot" / "README.md").read_text()
    assert f"$ gress test examples/iot/iot.gress\n{printed}```" in readme


def test_an_empty_test_file_is_an_error(rules: Path) -> None:
    rules.with_name("rules.test.toml").write_text("")
    result = gress_test("rules.gress")
    assert result.exit_code == 1
    assert "rules.test.toml:1:1: error: the file holds no test case" in result.stderr


def test_a_passing_case_still_shows_its_dead_letters(rules: Path) -> None:
    case = PASSING.split("[[case]]")[3].replace("ts = 1714557600000", 'ts = "soon"')
    rules.with_name("rules.test.toml").write_text(
        "[[case]]" + case.replace('journey = [ { key = "c1", first = 1.0 } ]', "journey = []")
    )
    result = gress_test("rules.gress")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "PASS a journey that never finishes times out"
    assert lines[1].startswith("    note: dead letter: ") and "(payments[0])" in lines[1]
