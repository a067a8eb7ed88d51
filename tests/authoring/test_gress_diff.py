"""`gress diff OLD NEW -i ...`: a rule change backtested on history (docs/testing.md)."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gress_cep.authoring.backtest import TeeSource, merged
from gress_cep.cli.main import cli
from gress_cep.connectors.memory import IterableSource
from gress_cep.dsl import ast, load

OLD = """stream payments
    key card
    time ts

pattern probes
    from payments
    match small{3,} -> big
    where
        small: amount < 2
        big:   amount > 300
    within 10m
    emit card, count(small) as n

pattern retired
    from payments
    match a
    where a: amount == 42
"""

# the change: two probes are enough; `retired` is gone, `huge` is new
NEW = """stream payments
    key card
    time ts

pattern probes
    from payments
    match small{2,} -> big
    where
        small: amount < 2
        big:   amount > 300
    within 10m
    emit card, count(small) as n

pattern huge
    from payments
    match h
    where h: amount > 5000
"""


def events() -> list[dict]:
    """Cards c0..c9: card cN makes N small payments (a minute apart), then a big one."""
    out = []
    for n in range(10):
        start = 1_700_000_000_000 + n * 3_600_000
        for i in range(n):
            out.append({"card": f"c{n}", "ts": start + i * 60_000, "amount": 1.0})
        out.append({"card": f"c{n}", "ts": start + n * 60_000, "amount": 400.0 + n * 1000})
    out.append({"card": "c0", "ts": 1_700_100_000_000, "amount": 42})
    return out


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.gress").write_text(OLD)
    (tmp_path / "new.gress").write_text(NEW)
    with open(tmp_path / "payments.jsonl", "w") as out:
        out.writelines(json.dumps(e) + "\n" for e in events())
    return tmp_path


def gress(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_json_counts_alerts_only_in_old_only_in_new_and_in_both(files: Path) -> None:
    result = gress("diff", "old.gress", "new.gress", "-i", "payments.jsonl", "--json")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert set(counts) == {"probes", "retired", "huge"}
    assert counts["retired"] == {"only_old": 1, "only_new": 0, "both": 0}
    assert counts["huge"] == {"only_old": 0, "only_new": 5, "both": 0}  # c5..c9: 5400 and more


def separate_detect_runs() -> dict[str, dict[str, int]]:
    """Independently of `gress diff`: each file's alerts from `gress detect`, compared by
    pattern, key, times and probes (with these events, the same alert on both sides)."""
    runs = {}
    for side in ("old", "new"):
        out = f"{side}.jsonl"
        args = ["detect", f"{side}.gress", "-i", "payments.jsonl", "-o", out, "-q"]
        result = gress(*args, "--state-dir", f"state-{side}")
        assert result.exit_code == 0, result.output
        matches = [json.loads(line) for line in Path(out).read_text().splitlines()]
        runs[side] = Counter(
            (m["pattern"], m["key"], m["start"], m["end"], m.get("n")) for m in matches
        )
    expected: dict[str, dict[str, int]] = {}
    for pattern in ("probes", "retired", "huge"):
        old = Counter({k: v for k, v in runs["old"].items() if k[0] == pattern})
        new = Counter({k: v for k, v in runs["new"].items() if k[0] == pattern})
        expected[pattern] = {
            "only_old": sum((old - new).values()),
            "only_new": sum((new - old).values()),
            "both": sum((old & new).values()),
        }
    assert expected["probes"]["only_new"] > 0 and expected["probes"]["both"] > 0
    return expected


def test_the_counts_agree_with_two_separate_detect_runs(files: Path) -> None:
    result = gress("diff", "old.gress", "new.gress", "-i", "payments.jsonl", "--json")
    assert json.loads(result.stdout) == separate_detect_runs()


def test_files_whose_streams_differ_run_in_pipelines_of_their_own(files: Path) -> None:
    (files / "new.gress").write_text(NEW.replace("    time ts\n", "    time ts\n    lateness 1s\n"))
    result = gress("diff", "old.gress", "new.gress", "-i", "payments.jsonl", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == separate_detect_runs()


def test_patterns_alike_in_both_files_run_once() -> None:
    old, _ = load(OLD)
    new, _ = load(NEW.replace("small{2,}", "small{3,}"))  # `probes` as OLD has it
    one = merged(old, new)
    assert one is not None
    program, sides = one
    assert [p.name.text for p in program.of_type(ast.Pattern)] == [
        "probes",
        "old:retired",
        "new:huge",
    ]
    assert sides == {
        "probes": ("probes", ("old", "new")),
        "old:retired": ("retired", ("old",)),
        "new:huge": ("huge", ("new",)),
    }
    changed, _ = load(NEW)
    program, sides = merged(old, changed) or (None, {})
    assert sides["old:probes"] == ("probes", ("old",))
    assert sides["new:probes"] == ("probes", ("new",))
    assert merged(old, load(NEW.replace("time ts", "time ts\n    lateness 1s"))[0]) is None


def test_the_same_file_twice_differs_nowhere(files: Path) -> None:
    result = gress("diff", "old.gress", "old.gress", "-i", "payments.jsonl", "--json")
    counts = json.loads(result.stdout)
    assert all(c["only_old"] == c["only_new"] == 0 for c in counts.values())
    assert counts["probes"]["both"] > 0


def test_the_table_shows_examples_and_the_patterns_of_one_file(files: Path) -> None:
    result = gress("diff", "old.gress", "new.gress", "-i", "payments.jsonl", "--examples", "1")
    assert result.exit_code == 0, result.output
    assert "probes" in result.stdout and "huge (new only)" in result.stdout
    assert "retired (old only)" in result.stdout
    assert "probes: only in new (" in result.stdout
    example = next(
        line for line in result.stdout.splitlines() if line.startswith('  {"pattern": "probes"')
    )
    assert '"small": [' in example  # the matched events, whatever `emit` says
    assert "note: only in old.gress: retired" in result.stderr
    assert "note: only in new.gress: huge" in result.stderr


def test_output_folder_gets_the_differences_per_pattern(files: Path) -> None:
    result = gress("diff", "old.gress", "new.gress", "-i", "payments.jsonl", "-o", "changes")
    assert result.exit_code == 0, result.output
    counts = json.loads(
        gress("diff", "old.gress", "new.gress", "-i", "payments.jsonl", "--json").stdout
    )
    for pattern, c in counts.items():
        for side in ("old", "new"):
            lines = (files / "changes" / pattern / f"only_{side}.jsonl").read_text().splitlines()
            assert len(lines) == c[f"only_{side}"]
            assert all(json.loads(line)["pattern"] == pattern for line in lines)


def test_from_and_until_limit_the_compared_alerts_to_a_time_range(files: Path) -> None:
    # the cards' hours: cN starts at 1_700_000_000_000 + N hours; keep c5 .. c6
    since, until = 1_700_000_000_000 + 5 * 3_600_000, 1_700_000_000_000 + 7 * 3_600_000
    result = gress(
        "diff",
        "old.gress",
        "new.gress",
        "-i",
        "payments.jsonl",
        "--json",
        "--from",
        str(since),
        "--until",
        "2023-11-15T05:13:20Z",
    )
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert counts["huge"] == {"only_old": 0, "only_new": 2, "both": 0}  # c5, c6
    assert counts["retired"] == {"only_old": 0, "only_new": 0, "both": 0}
    assert until == 1_700_025_200_000  # what the ISO text above says


def test_a_stream_without_input_is_an_error_naming_it(files: Path) -> None:
    (files / "new.gress").write_text(
        NEW
        + "\nstream logins\n    key card\n\n"
        + "pattern l\n    from logins\n    match x\n    where x: true\n"
    )
    result = gress("diff", "old.gress", "new.gress", "-i", "payments=payments.jsonl")
    assert result.exit_code == 1
    assert "no input for stream 'logins' (read by new.gress)" in result.stderr
    assert "add -i logins=PATH" in result.stderr


def test_an_output_folder_that_is_a_file_is_refused(files: Path) -> None:
    result = gress("diff", "old.gress", "new.gress", "-i", "payments.jsonl", "-o", "payments.jsonl")
    assert result.exit_code != 0
    assert (files / "payments.jsonl").read_text().count("\n") == len(events())


def test_a_tee_reads_each_batch_once_and_gives_both_readers_every_record() -> None:
    records = [{"n": i} for i in range(2500)]
    polls = []

    class Counting(IterableSource):
        def poll(self, max_records: int, timeout_s: float):  # type: ignore[no-untyped-def]
            batch = super().poll(max_records, timeout_s)
            polls.append(batch)
            return batch

    tee = TeeSource(Counting(records))
    first, second = tee.branch(0), tee.branch(1)
    seen: tuple[list, list] = ([], [])
    rng = random.Random(3)
    done = [False, False]
    while not all(done):
        side = rng.randrange(2)
        if done[side]:
            continue
        batch = (first, second)[side].poll(1000, 0)
        if batch is None:
            done[side] = True
        else:
            seen[side].extend(batch.records)
    assert seen[0] == seen[1] == records
    assert len(polls) == 4  # three batches and the end, each read once
    assert all(a is not b for a, b in zip(seen[0], seen[1], strict=True))  # records of their own
