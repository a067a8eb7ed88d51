"""`gress detect --max-partial-matches N` and `--idle-timeout D` as docs/cli.md describes them:
the cap is per key and pattern, drops the oldest and is counted in the summary; an input that
stays quiet stops holding event time back after the idle timeout, and a stream's `idle D`
clause wins over the flag."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gress_cep.cli.main import cli

BRANCHES = """stream s
    key user
    time ts

pattern p
    from s
    match a ->> b
    where a: kind == "a"
          b: kind == "b"
    within 1h
    skip no
"""


def branching_events(users: list[str], opens: int) -> str:
    """`opens` a-events per user (each opens a partial match), then a b-event per user."""
    lines = []
    for i in range(opens):
        lines += [json.dumps({"user": u, "ts": i, "kind": "a"}) for u in users]
    lines += [json.dumps({"user": u, "ts": opens, "kind": "b"}) for u in users]
    return "\n".join(lines) + "\n"


def detect(folder: Path, *args: str) -> Result:
    result = CliRunner().invoke(
        cli, ["detect", str(folder / "rules.gress"), "-o", str(folder / "out.jsonl"), *args]
    )
    assert result.exit_code == 0, result.output
    return result


def test_max_partial_matches_drops_the_oldest_and_the_summary_counts_them(tmp_path: Path) -> None:
    (tmp_path / "rules.gress").write_text(BRANCHES)
    (tmp_path / "events.jsonl").write_text(branching_events(["u1"], 10))
    result = detect(tmp_path, "-i", str(tmp_path / "events.jsonl"), "--max-partial-matches", "3")
    matches = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(m["a"]["ts"] for m in matches) == [7, 8, 9]  # the 3 newest survived
    assert (
        "warning: pattern p: 7 partial matches dropped by --max-partial-matches (oldest first)"
        in result.stderr
    )


def test_max_partial_matches_is_per_key(tmp_path: Path) -> None:
    (tmp_path / "rules.gress").write_text(BRANCHES)
    (tmp_path / "events.jsonl").write_text(branching_events(["u1", "u2", "u3"], 3))
    result = detect(tmp_path, "-i", str(tmp_path / "events.jsonl"), "--max-partial-matches", "3")
    matches = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(matches) == 9  # 3 keys x 3 partial matches: none over the cap of its key
    assert "dropped by --max-partial-matches" not in result.stderr


def test_without_the_flag_the_default_cap_keeps_them_all(tmp_path: Path) -> None:
    (tmp_path / "rules.gress").write_text(BRANCHES)
    (tmp_path / "events.jsonl").write_text(branching_events(["u1"], 100))
    result = detect(tmp_path, "-i", str(tmp_path / "events.jsonl"))
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 100
    assert "dropped" not in result.stderr


# --idle-timeout: one stream fed by a file and by stdin. The file ends at once; stdin stays
# open and silent. Until stdin counts as idle it holds event time back, so the match of the
# file's events (released when the watermark passes them) cannot come out.

PROBES = """stream events
    key card
    time ts
    lateness 1s{idle}

pattern probe_then_big
    from events
    match small{{2,}} -> big
    where small: amount < 2
          big: amount > 100
    within 1m
"""
EVENTS = [
    {"card": "c1", "ts": 1000, "amount": 1},
    {"card": "c1", "ts": 2000, "amount": 1},
    {"card": "c1", "ts": 3000, "amount": 500},
    {"card": "c2", "ts": 9000, "amount": 5},  # moves event time past the match
]


def first_match_within(
    folder: Path, seconds: float, *args: str, idle_clause: str = ""
) -> dict | None:
    """Run with the file and a silent stdin; the first match printed within `seconds`."""
    (folder / "rules.gress").write_text(PROBES.format(idle=idle_clause))
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "gress_cep.cli.main", "detect", "rules.gress",
            "-i", "events=events.jsonl", "-i", "events=-", "-q", *args,
        ],
        cwd=folder, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        deadline = time.monotonic() + seconds
        line = b""
        while not line.endswith(b"\n") and (left := deadline - time.monotonic()) > 0:
            if select.select([proc.stdout], [], [], left)[0]:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                line += chunk
        return json.loads(line) if line.endswith(b"\n") else None
    finally:
        _, stderr = proc.communicate(timeout=30)  # closes stdin: its end ends the job
        assert proc.returncode == 0, stderr


@pytest.mark.skipif(os.name != "posix", reason="select on a pipe is POSIX")
def test_a_quiet_input_stops_holding_event_time_back_after_the_idle_timeout(
    tmp_path: Path,
) -> None:
    match = first_match_within(tmp_path, 10, "--idle-timeout", "200ms")
    assert match is not None and (match["key"], match["end"]) == ("c1", 3000)


@pytest.mark.skipif(os.name != "posix", reason="select on a pipe is POSIX")
def test_before_the_idle_timeout_a_quiet_input_holds_event_time_back(tmp_path: Path) -> None:
    assert first_match_within(tmp_path, 1.0, "--idle-timeout", "1h") is None


@pytest.mark.skipif(os.name != "posix", reason="select on a pipe is POSIX")
def test_the_streams_idle_clause_wins_over_the_flag(tmp_path: Path) -> None:
    match = first_match_within(tmp_path, 10, "--idle-timeout", "1h", idle_clause="\n    idle 200ms")
    assert match is not None and match["key"] == "c1"
