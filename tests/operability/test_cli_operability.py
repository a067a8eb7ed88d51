"""Issue 15 §5: `gress check --json/--strict`, `-q` on every command, shell completion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gress_cep.cli.main import COMMANDS, cli
from tests.models.model_files import linear

# a loop without `within`: a warning; the stream has no schema
WARNED = """stream events
    key card
    time ts

pattern probe
    from events
    match small+ -> large
    where small: amount < 2
          large: amount > 100
"""
BROKEN = WARNED.replace("amount > 100", "amount > first(smal).amount")
EVENTS = "".join(
    json.dumps({"card": "c1", "ts": 1000 + i, "amount": a}) + "\n"
    for i, a in enumerate([1, 1, 500, "x"])
)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="gress")


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("warned.gress").write_text(WARNED)
    Path("broken.gress").write_text(BROKEN)
    Path("events.jsonl").write_text(EVENTS)
    return tmp_path


# ------------------------------------------------------------------ gress check
def test_check_json_gives_every_diagnostic_with_its_place_and_the_counts(work: Path) -> None:
    done = run("check", "broken.gress", "--json")
    assert done.exit_code == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False and report["errors"] == 1 and report["warnings"] == 1
    error = next(d for d in report["diagnostics"] if d["severity"] == "error")
    assert error["file"] == "broken.gress"
    assert (error["line"], error["col"], error["end_col"]) == (9, 33, 37)
    assert (
        error["message"]
        == "unknown variable 'smal' in condition of 'large' (did you mean 'small'?)"
    )
    assert set(error) == {
        "file", "line", "col", "end_line", "end_col", "severity", "message", "hint"
    }  # fmt: skip


def test_check_json_on_a_clean_file_and_on_a_missing_one(work: Path) -> None:
    done = run("check", "warned.gress", "--json")
    assert done.exit_code == 0
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["warnings"] == 1
    assert report["summary"] == "1 stream, 0 models, 0 views, 1 pattern"
    missing = run("check", "missing.gress", "--json")
    assert missing.exit_code == 1
    [only] = json.loads(missing.stdout)["diagnostics"]
    assert only["line"] is None and only["severity"] == "error"


def test_strict_makes_warnings_fail(work: Path) -> None:
    assert run("check", "warned.gress").exit_code == 0
    strict = run("check", "warned.gress", "--strict")
    assert strict.exit_code == 1
    assert strict.stdout.rstrip().endswith("1 warning (--strict: warnings fail)")
    as_json = run("check", "warned.gress", "--strict", "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["ok"] is False


# ------------------------------------------------------------------ -q
def test_every_command_has_quiet() -> None:
    ctx = cli.make_context("gress", ["check", "x"], resilient_parsing=True)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        assert any("-q" in getattr(p, "opts", ()) for p in command.params), name


def test_quiet_leaves_only_errors_on_every_command(work: Path) -> None:
    linear(work / "model.onnx", [2.0])
    quiet = {
        "check": ["check", "warned.gress", "-q"],
        "explain": ["explain", "warned.gress", "-q"],
        "detect": ["detect", "warned.gress", "-i", "events.jsonl", "-o", "out.jsonl",
                   "--state-dir", "state", "-q"],
        "score": ["score", "model.onnx", "-i", "events.jsonl", "--features", "amount",
                  "-o", "scored.jsonl", "-q"],
        "checkpoints": ["checkpoints", "state", "-q"],
        "savepoint": ["savepoint", "state", "--to", "saved", "-q"],
    }  # fmt: skip
    for name, args in quiet.items():
        done = run(*args)
        assert done.stderr == "", (name, done.stderr)
        if name in ("check", "savepoint"):  # nothing to show but that it worked
            assert done.stdout == "", (name, done.stdout)
        assert done.exit_code == 0, (name, done.output)
    # the same commands without -q do say things on stderr (warnings, summaries)
    assert run("detect", "warned.gress", "-i", "events.jsonl", "-o", "o2.jsonl").stderr
    # errors still come through -q, with their exit status
    failing = [
        ["check", "broken.gress", "-q"],
        ["explain", "missing.gress", "-q"],
        ["detect", "warned.gress", "-i", "nope.jsonl", "-q"],
        ["checkpoints", "nope", "-q"],
        ["savepoint", "nope", "--to", "x", "-q"],
    ]
    for args in failing:
        done = run(*args)
        assert done.exit_code == 1, args
        assert "error" in done.output, args
        assert "Traceback" not in done.output


# ------------------------------------------------------------------ completion
@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "_gress_completion()"), ("zsh", "#compdef gress"), ("fish", "complete ")],
)
def test_the_completion_script_is_produced(shell: str, marker: str) -> None:
    env = {**os.environ, "_GRESS_COMPLETE": f"{shell}_source"}
    done = subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout


def test_completion_offers_commands_and_options() -> None:
    env = {**os.environ, "_GRESS_COMPLETE": "bash_complete", "COMP_CWORD": "1",
           "COMP_WORDS": "gress ch"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.stdout.split() == ["plain,check", "plain,checkpoints"]
    env.update(COMP_CWORD="3", COMP_WORDS="gress detect r.gress --dry")
    done = subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.stdout.split() == ["plain,--dry-run"]
