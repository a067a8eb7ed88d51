"""The README's two-minute tour, run as written: its pattern file, its commands and the output it
shows. The pattern file and the shown output are read from README.md itself, so that the tour
cannot drift from what gress does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gress_cep.cli.main import cli

README = (Path(__file__).parents[2] / "README.md").read_text()
BLOCKS = re.findall(r"```[a-z]*\n(.*?)```", README, re.DOTALL)
PATTERN_FILE = next(b for b in BLOCKS if b.startswith("stream payments"))
COMMANDS = next(b for b in BLOCKS if b.startswith("$ gress check card_testing.gress"))
MISTAKE = next(b for b in BLOCKS if b.startswith("card_testing.gress:"))

# the events of docs/python.md: three tiny payments at three merchants, then a large one
PAYMENTS = [
    {"card_id": "c1", "ts": 1_700_000_000_000, "amount": 1.0, "merchant": "a"},
    {"card_id": "c1", "ts": 1_700_000_001_000, "amount": 1.5, "merchant": "b"},
    {"card_id": "c1", "ts": 1_700_000_002_000, "amount": 0.5, "merchant": "c"},
    {"card_id": "c1", "ts": 1_700_000_003_000, "amount": 900.0, "merchant": "d"},
    {"card_id": "c2", "ts": 1_700_000_004_000, "amount": 900.0, "merchant": "d"},
]
ALERT = {
    "pattern": "card_testing",
    "key": "c1",
    "start": 1_700_000_000_000,
    "end": 1_700_000_003_000,
    "card_id": "c1",
    "probes": 3,
    "amount": 900.0,
}


@pytest.fixture
def tour(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the README's card_testing.gress and a payments.jsonl, as the cwd."""
    (tmp_path / "card_testing.gress").write_text(PATTERN_FILE)
    (tmp_path / "payments.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PAYMENTS))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def shown_output(command: str) -> str:
    """The output the README shows under `$ COMMAND`."""
    lines = COMMANDS.splitlines()
    start = lines.index(f"$ {command}") + 1
    shown = []
    for line in lines[start:]:
        if line.startswith("$ ") or not line:
            break
        shown.append(line)
    return "\n".join(shown) + "\n"


def test_the_pattern_file_checks_with_the_summary_shown(tour: Path) -> None:
    result = CliRunner().invoke(cli, ["check", "card_testing.gress"])
    assert result.exit_code == 0
    assert result.output == shown_output("gress check card_testing.gress")


def test_the_mistake_is_reported_exactly_as_shown(tour: Path) -> None:
    misspelt = PATTERN_FILE.replace("first(small)", "first(smal)")
    assert misspelt != PATTERN_FILE
    (tour / "card_testing.gress").write_text(misspelt)
    result = CliRunner().invoke(cli, ["check", "card_testing.gress"])
    assert result.exit_code == 1
    assert result.output == MISTAKE


def test_explain_shows_the_automaton_of_the_pattern(tour: Path) -> None:
    result = CliRunner().invoke(cli, ["explain", "card_testing.gress"])
    assert result.exit_code == 0, result.output
    assert "pattern card_testing" in result.output and "within 10m" in result.output
    assert "take -> state 1 small (repeat) if amount < 2.00" in result.output
    assert "if amount > 500 and merchant != first(small).merchant" in result.output


def test_detect_from_a_file_writes_the_alerts(tour: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["detect", "card_testing.gress", "-i", "payments=payments.jsonl", "-o", "alerts.jsonl"],
    )
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in (tour / "alerts.jsonl").read_text().splitlines()]
    assert alerts == [ALERT]


def test_detect_from_stdin_writes_json_lines_to_a_pipe(tour: Path) -> None:
    # cat payments.jsonl | gress detect card_testing.gress -i - | jq .
    proc = subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", "detect", "card_testing.gress", "-i", "-"],
        input=(tour / "payments.jsonl").read_text(),
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [ALERT]


def test_the_python_example_prints_key_probes_and_amount(tour: Path) -> None:
    import gress_cep

    program = gress_cep.compile("card_testing.gress")
    printed = [
        (match["key"], match["probes"], match["amount"])
        for match in program.run({"payments": PAYMENTS})
    ]
    assert printed == [("c1", 3, 900.0)]


WINDOW_VIEW = next(b for b in BLOCKS if b.startswith("view spend_1h"))
WINDOW_RUN = next(b for b in BLOCKS if b.startswith("$ gress detect spend.gress"))
# four payments in the last five minutes of the first hour-long window that holds them
SPENDING = [
    {"card_id": "c1", "ts": 1_700_003_400_000 + i * 60_000, "amount": amount}
    for i, amount in enumerate([12.5, 100.0, 150.0, 950.0])
]


def test_the_window_view_example_writes_the_window_shown(tmp_path: Path) -> None:
    (tmp_path / "spend.gress").write_text(
        "stream payments\n    key card_id\n    time ts\n\n" + WINDOW_VIEW
    )
    (tmp_path / "payments.jsonl").write_text("".join(json.dumps(p) + "\n" for p in SPENDING))
    command, shown = WINDOW_RUN.splitlines()[:2]
    args = command.removeprefix("$ gress ").split()
    done = subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", *args, "--checkpoint-interval", "off"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, *rest = done.stdout.splitlines()
    assert json.loads(first) == json.loads(shown)
    assert len(rest) == 11  # the same four payments in the eleven later windows of 1h every 5m
