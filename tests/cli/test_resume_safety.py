"""What a resumed job refuses instead of silently mixing old state with new input (issue 11):

- C.12: a file input replaced, rewritten or cut short since the checkpoint (its position would
  point into other content); a file that only grew at its end is resumed;
- E.34: a checkpoint or savepoint holding the state of patterns (or views, streams) the job does
  not have — as Flink refuses non-restored state without --allowNonRestoredState."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

RULES = """stream events
    key key
    time ts

pattern chain
    from events
    match a -> b -> c
    where a: kind == "A"
          b: kind == "B"
          c: kind == "C"
    within 5s
"""

OTHER = RULES.replace("pattern chain", "pattern other").replace('"C"', '"D"')


def events(seed: int, n: int = 60_000) -> str:
    rng = random.Random(seed)
    return "".join(
        json.dumps({"key": f"k{i % 97}", "ts": 10 * i, "kind": rng.choice("ABCD")}) + "\n"
        for i in range(n)
    )


@pytest.fixture
def job(tmp_path: Path) -> Path:
    (tmp_path / "rules.gress").write_text(RULES)
    (tmp_path / "other.gress").write_text(OTHER)
    (tmp_path / "events.jsonl").write_text(events(3))
    return tmp_path


def gress(job: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=job,
    )  # fmt: skip


def detect(
    job: Path, *extra: str, rules: str = "rules.gress", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return gress(
        job, "detect", rules, "-i", "events.jsonl", "-o", "out.jsonl",
        "--checkpoint-interval", "10ms", "--state-dir", "state", *extra, env=env,
    )  # fmt: skip


def killed_run(job: Path, **kwargs: object) -> None:
    """An unfinished run whose newest checkpoint is the third (killed right after it)."""
    run = detect(job, env={"GRESS_FAULT": "checkpoint-4@3"}, **kwargs)  # type: ignore[arg-type]
    assert run.returncode == -signal.SIGKILL, run.stderr


def reference(job: Path, rules: str = "rules.gress") -> list[str]:
    run = gress(job, "detect", rules, "-i", "events.jsonl", "-o", "ref.jsonl",
                "--checkpoint-interval", "off")  # fmt: skip
    assert run.returncode == 0, run.stderr
    return (job / "ref.jsonl").read_text().splitlines()


# ---------------------------------------------------------------------- C.12
@pytest.mark.parametrize(
    "change",
    ["rewritten in place", "replaced by another file", "cut short", "one byte changed"],
)
def test_a_replaced_input_is_refused_with_the_fresh_hint(job: Path, change: str) -> None:
    killed_run(job)
    path = job / "events.jsonl"
    if change == "rewritten in place":
        path.write_text(events(4))
    elif change == "replaced by another file":
        (job / "new.jsonl").write_text(events(4))
        os.replace(job / "new.jsonl", path)
    elif change == "cut short":
        with open(path, "r+b") as fh:
            fh.truncate(1000)
    else:
        data = bytearray(path.read_bytes())
        data[5] = ord("X")  # inside the first KiB, far before the checkpoint's offset
        path.write_bytes(bytes(data))
    before = (job / "out.jsonl").read_bytes()
    resumed = detect(job)
    assert resumed.returncode == 1
    assert "input events.jsonl is not the file checkpoint 3 read" in resumed.stderr
    assert "--fresh" in resumed.stderr
    assert (job / "out.jsonl").read_bytes() == before  # refused before opening the outputs
    fresh = detect(job, "--fresh")
    assert fresh.returncode == 0, fresh.stderr


def test_an_input_that_only_grew_is_resumed(job: Path) -> None:
    expected_all = None
    killed_run(job)
    with open(job / "events.jsonl", "a") as fh:
        fh.write(json.dumps({"key": "k1", "ts": 10**9, "kind": "A"}) + "\n")
    expected_all = reference(job)
    resumed = detect(job)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from checkpoint 3" in resumed.stderr
    assert (job / "out.jsonl").read_text().splitlines() == expected_all


def test_an_identical_copy_of_the_input_is_the_same_file(job: Path) -> None:
    """The content decides (a restored backup, a copy on another machine), not the inode."""
    killed_run(job)
    data = (job / "events.jsonl").read_bytes()
    (job / "events.jsonl").unlink()
    (job / "events.jsonl").write_bytes(data)
    resumed = detect(job)
    assert resumed.returncode == 0, resumed.stderr
    assert (job / "out.jsonl").read_text().splitlines() == reference(job)


def test_a_savepoint_checks_its_inputs_too(job: Path) -> None:
    killed_run(job)
    assert gress(job, "savepoint", "state", "--to", "sp").returncode == 0
    (job / "events.jsonl").write_text(events(5))
    run = detect(job, "--from-savepoint", "sp", "--state-dir", "state2")
    assert run.returncode == 1
    assert "input events.jsonl is not the file the savepoint sp read" in run.stderr
    assert "--from-savepoint" in run.stderr


# ---------------------------------------------------------------------- E.34
def test_a_savepoint_of_another_pattern_file_is_refused(job: Path) -> None:
    """It was restored silently: the new pattern skipped the whole input, and its summary did
    not add up (records in 60,000, processed 0)."""
    killed_run(job)
    assert gress(job, "savepoint", "state", "--to", "sp").returncode == 0
    before = (job / "out.jsonl").read_bytes()
    run = detect(job, "--from-savepoint", "sp", "--state-dir", "state2", rules="other.gress")
    assert run.returncode == 1
    assert (job / "out.jsonl").read_bytes() == before  # refused before the output was opened
    assert "holds the state of pattern chain, which is not in this job" in run.stderr
    assert "new here: pattern other" in run.stderr
    assert "--allow-non-restored-state" in run.stderr
    assert not (job / "state2" / "checkpoints").exists() or not any(
        (job / "state2" / "checkpoints").iterdir()
    )


def test_allow_non_restored_state_drops_it_and_the_summary_adds_up(job: Path) -> None:
    killed_run(job)
    assert gress(job, "savepoint", "state", "--to", "sp").returncode == 0
    run = detect(
        job, "--from-savepoint", "sp", "--state-dir", "state2", "--allow-non-restored-state",
        rules="other.gress",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "the state of pattern chain is dropped (--allow-non-restored-state)" in run.stderr
    assert "still in flight" not in run.stderr
    row = next(line for line in run.stderr.splitlines() if line.startswith("other"))
    cells = [c.strip().replace(",", "") for c in row.split("│")]
    assert cells[1] == "60000"
    assert "records read before a restart" in run.stderr


def test_a_pattern_removed_from_the_file_is_refused_at_resume(job: Path) -> None:
    """The same job (same file path) resumed after an edit that removed a pattern."""
    (job / "rules.gress").write_text(RULES + "\n" + OTHER.split("\n\n", 1)[1])
    killed_run(job)
    (job / "rules.gress").write_text(RULES)
    before = (job / "out.jsonl").read_bytes()
    run = detect(job)
    assert run.returncode == 1
    assert "checkpoint 3 holds the state of pattern other, which is not in this job" in run.stderr
    assert (job / "out.jsonl").read_bytes() == before
    assert "--fresh" in run.stderr
    assert detect(job, "--allow-non-restored-state").returncode == 0


def test_a_changed_pattern_of_the_same_name_still_starts_afresh(job: Path) -> None:
    killed_run(job)
    (job / "rules.gress").write_text(RULES.replace("within 5s", "within 6s"))
    run = detect(job)
    assert run.returncode == 0, run.stderr
    assert "pattern chain changed since that checkpoint: it starts afresh" in run.stderr
