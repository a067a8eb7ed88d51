"""The progress line of `gress detect` (docs/cli.md): on a terminal it shows records read,
records/s, matches, the watermark and the open partial matches; `-q` hides it; `--progress`
asks for it when stderr is not a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RULES = """stream events
    key card
    time ts

pattern probe_then_big
    from events
    match small{2,} -> big
    where small: amount < 2
          big: amount > 100
    within 1m
"""
EVENTS = [
    {"card": "c1", "ts": 1000, "amount": 1},
    {"card": "c1", "ts": 2000, "amount": 1},
    {"card": "c1", "ts": 3000, "amount": 500},
    {"card": "c2", "ts": 4000, "amount": 1},
]
PROGRESS = "records · "  # the start of the progress line: "4 records · 1,234/s · ..."


@pytest.fixture
def job(tmp_path: Path) -> Path:
    (tmp_path / "rules.gress").write_text(RULES)
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    return tmp_path


def detect_args(*extra: str) -> list[str]:
    return [
        sys.executable, "-m", "gress_cep.cli.main", "detect", "rules.gress",
        "-i", "events.jsonl", "-o", "out.jsonl", "--checkpoint-interval", "off", *extra,
    ]  # fmt: skip


def stderr_on_a_terminal(job: Path, *extra: str) -> str:
    """What `gress detect` writes to stderr when stderr is a (pseudo-)terminal."""
    import pty

    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        detect_args(*extra), cwd=job, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=terminal, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the other side closed: the process is done
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert proc.wait(timeout=30) == 0, shown.decode(errors="replace")
    return shown.decode()


@pytest.mark.skipif(os.name != "posix", reason="a pseudo-terminal is POSIX")
def test_on_a_terminal_the_progress_line_shows_records_matches_watermark_and_open_matches(
    job: Path,
) -> None:
    shown = stderr_on_a_terminal(job)
    line = next(line for line in shown.splitlines() if PROGRESS in line)
    assert "4 records · " in line and "/s · 1 matches · watermark " in line
    assert "1970-01-01 00:00:04.000Z" in line  # the watermark, as a UTC time
    assert "1 open partial matches" in line  # c2's probe is still open


@pytest.mark.skipif(os.name != "posix", reason="a pseudo-terminal is POSIX")
def test_quiet_hides_the_progress_line_and_the_summary_on_a_terminal(job: Path) -> None:
    shown = stderr_on_a_terminal(job, "-q")
    assert PROGRESS not in shown
    assert " records read (" not in shown  # -q: only errors


def test_without_a_terminal_there_is_no_progress_line_by_default(job: Path) -> None:
    proc = subprocess.run(detect_args(), cwd=job, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert PROGRESS not in proc.stderr
    assert proc.stderr.startswith("done in ")


def test_progress_asks_for_the_progress_line_when_stderr_is_not_a_terminal(job: Path) -> None:
    proc = subprocess.run(detect_args("--progress"), cwd=job, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert PROGRESS in proc.stderr
