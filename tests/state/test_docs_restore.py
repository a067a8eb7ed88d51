"""docs/operations.md, "a pattern, its views or its stream changed since the checkpoint": that
pattern starts afresh (its partial matches are dropped, with a note); the others resume."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

RULES = """stream events
    key key
    time ts

pattern chain
    from events
    match a -> b -> c
    where a: kind == "A"
          b: kind == "B"
          c: kind == "C"
    within WINDOW

pattern pair
    from events
    match a -> d
    where a: kind == "A"
          d: kind == "D"
    within 5s
"""
BATCH = 8192  # lines a file source returns per round: with --checkpoint-interval 0s, one
# checkpoint per round, so checkpoint N holds the positions after N * BATCH lines


def rules(window: str) -> str:
    return RULES.replace("WINDOW", window)


def gress(workdir: Path, *args: str, fault: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ}
    if fault is not None:
        env["GRESS_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", *args],
        capture_output=True, text=True, env=env, cwd=workdir, timeout=120,
    )  # fmt: skip


def detect(workdir: Path, *extra: str, fault: str | None = None) -> subprocess.CompletedProcess:
    return gress(
        workdir, "detect", "rules.gress", "-i", "events.jsonl", "-o", "out.jsonl",
        "--state-dir", "state", "--checkpoint-interval", "0s", *extra, fault=fault,
    )  # fmt: skip


def write_events(path: Path, events: list[dict]) -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))


def records(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines()]


def kill_at_checkpoint(workdir: Path, nth: int, *extra: str) -> dict:
    """Run until the nth checkpoint is committed, SIGKILL there; that checkpoint's metadata."""
    killed = detect(workdir, *extra, fault=f"checkpoint-4@{nth}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    listed = gress(workdir, "checkpoints", "state", "--json")
    newest = json.loads(listed.stdout)[-1]
    assert newest["id"] == nth
    return newest["metadata"]


def test_a_changed_pattern_starts_afresh_with_a_note_while_the_others_resume(
    tmp_path: Path,
) -> None:
    rng = random.Random(3)
    events = [
        {"key": f"k{rng.randrange(3000)}", "ts": i, "kind": rng.choice("ABCD")}
        for i in range(3 * BATCH)
    ]
    write_events(tmp_path / "events.jsonl", events)
    (tmp_path / "rules.gress").write_text(rules("5s"))
    reference = gress(tmp_path, "detect", "rules.gress", "-i", "events.jsonl", "-o", "ref.jsonl",
                      "--checkpoint-interval", "off", "-q")  # fmt: skip
    assert reference.returncode == 0, reference.stderr
    checkpoint = kill_at_checkpoint(tmp_path, 2)
    assert checkpoint["positions"]["events=events.jsonl"]["line"] == 2 * BATCH

    (tmp_path / "rules.gress").write_text(rules("6s"))  # `chain` changes, `pair` does not
    resumed = detect(tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from checkpoint 2 of an unfinished run" in resumed.stderr
    assert "pattern chain changed since that checkpoint: it starts afresh" in resumed.stderr
    assert "pattern pair changed" not in resumed.stderr

    output = (tmp_path / "out.jsonl").read_bytes()
    # `pair` resumed: its output is the uninterrupted run's
    ref = records((tmp_path / "ref.jsonl").read_bytes())
    assert [m for m in records(output) if m["pattern"] == "pair"] == [
        m for m in ref if m["pattern"] == "pair"
    ]
    # `chain` started afresh at the checkpoint: after it, its output is what the new `chain`
    # finds in the rest of the input alone
    write_events(tmp_path / "rest.jsonl", events[2 * BATCH :])
    alone = gress(tmp_path, "detect", "rules.gress", "-i", "rest.jsonl", "-o", "rest-out.jsonl",
                  "--pattern", "chain", "--checkpoint-interval", "off", "-q")  # fmt: skip
    assert alone.returncode == 0, alone.stderr
    expected = records((tmp_path / "rest-out.jsonl").read_bytes())
    assert expected  # the new pattern does match the rest of the input
    after = output[checkpoint["sinks"]["matches=out.jsonl"]["bytes"] :]
    assert [m for m in records(after) if m["pattern"] == "chain"] == expected


def spilled_key_events() -> list[dict]:
    """k1 starts a partial match before the first checkpoint; after it, 50 other keys start
    partial matches (more than --state-cache-keys 10: keys spill to disk, so a key that is not
    in memory is looked up on disk), then k1 starts another one and completes."""
    events = [{"key": "k1", "ts": 0, "kind": "A"}]
    events += [{"key": f"f{i}", "ts": i, "kind": "X"} for i in range(1, BATCH)]
    events += [{"key": f"g{i % 50}", "ts": BATCH + i, "kind": "A"} for i in range(BATCH)]
    events += [
        {"key": "k1", "ts": 20_000, "kind": "A"},
        {"key": "k1", "ts": 20_001, "kind": "B"},
        {"key": "k1", "ts": 20_002, "kind": "C"},
    ]
    return events


def test_a_changed_pattern_drops_its_partial_matches_even_when_its_keys_spilled_to_disk(
    tmp_path: Path,
) -> None:
    """The old pattern's keyed state stayed in the live table after the restore: a key read
    back from disk brought its old partial match to the new pattern, which then completed it
    (a match starting at 0, before the checkpoint)."""
    write_events(tmp_path / "events.jsonl", spilled_key_events())
    (tmp_path / "rules.gress").write_text(rules("1h"))
    kill_at_checkpoint(tmp_path, 1, "--state-cache-keys", "10")
    (tmp_path / "rules.gress").write_text(rules("2h"))
    resumed = detect(tmp_path, "--state-cache-keys", "10")
    assert resumed.returncode == 0, resumed.stderr
    assert "pattern chain changed since that checkpoint" in resumed.stderr
    chain = [m for m in records((tmp_path / "out.jsonl").read_bytes()) if m["pattern"] == "chain"]
    assert [(m["key"], m["start"]) for m in chain] == [("k1", 20_000)]


def test_the_summary_adds_up_after_a_pattern_changed(tmp_path: Path) -> None:
    """The changed pattern keeps its counts: the records it processed before the change are
    not reported as "still in flight"."""
    write_events(tmp_path / "events.jsonl", spilled_key_events())
    (tmp_path / "rules.gress").write_text(rules("1h"))
    kill_at_checkpoint(tmp_path, 1)
    (tmp_path / "rules.gress").write_text(rules("2h"))
    resumed = detect(tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "still in flight" not in resumed.stderr
    (row,) = [line for line in resumed.stderr.splitlines() if line.startswith("chain ")]
    records_in, processed = [cell.strip() for cell in row.split("│")[1:3]]
    assert records_in == processed == f"{2 * BATCH + 3:,}"
