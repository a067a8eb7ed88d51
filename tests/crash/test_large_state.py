"""State larger than memory: a million keys each with an open partial match (issue 6).

The keyed state cache keeps a bounded number of keys in memory and the rest in RocksDB; the
process's peak RSS must stay far below what a million partial matches take in memory, and the
matches that close long-evicted partial matches must still be found.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

KEYS = 1_000_000
CLOSED = 1_000  # keys whose partial match an event closes at the end (long evicted by then)
CACHE_KEYS = 50_000
RSS_LIMIT_MB = 400  # measured 250 MB; the same state all in memory takes about 1.2 GB

# runs the CLI in-process and prints its own peak RSS last: VmHWM, which starts afresh with
# the process's program (ru_maxrss would count the RSS of pytest, its parent, at the fork)
PEAK_RSS_SCRIPT = (
    "import re, sys\n"
    "from gress_cep.cli.main import cli\n"
    "try:\n"
    "    cli(sys.argv[1:], standalone_mode=False)\n"
    "finally:\n"
    "    status = open('/proc/self/status').read()\n"
    "    print('PEAK_RSS_KB', re.search(r'VmHWM:\\s+(\\d+)', status).group(1))\n"
)

RULES = """stream events
    key key
    time ts

pattern opened_then_closed
    from events
    match a -> b
    where a: kind == "A"
          b: kind == "B"
    within 1h
"""


def test_a_million_open_partial_matches_stay_within_the_memory_bound(tmp_path: Path) -> None:
    (tmp_path / "rules.gress").write_text(RULES)
    start = 1_700_000_000_000
    step = KEYS // CLOSED
    with open(tmp_path / "events.jsonl", "w") as fh:
        for i in range(KEYS):
            fh.write(json.dumps({"key": f"k{i}", "ts": start + i, "kind": "A"}) + "\n")
        for j in range(CLOSED):
            fh.write(
                json.dumps({"key": f"k{j * step}", "ts": start + KEYS + j, "kind": "B"}) + "\n"
            )
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS_SCRIPT, "detect", str(tmp_path / "rules.gress"),
         "-i", str(tmp_path / "events.jsonl"), "-o", str(tmp_path / "out.jsonl"),
         "--state-dir", str(tmp_path / "state"), "--state-cache-keys", str(CACHE_KEYS), "-q"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.split("PEAK_RSS_KB")[1].split()[0]) / 1024
    print(f"peak RSS {peak_mb:.0f} MB for {KEYS:,} open partial matches, {CACHE_KEYS:,} in memory")
    assert peak_mb < RSS_LIMIT_MB
    matches = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(m["key"] for m in matches) == sorted(f"k{j * step}" for j in range(CLOSED))


WINDOW_RULES = """stream events
    key key
    time ts

view visits = events | window session gap 1h | aggregate count() as n, sum(amount) as total
"""
# measured 240 MB; the same run all in memory takes 840 MB (at the end of input the windows
# close in slices, each written before the next: they are never all in memory either)
WINDOW_RSS_LIMIT_MB = 400


def test_a_million_open_windows_stay_within_the_memory_bound(tmp_path: Path) -> None:
    """Every key's session stays open until the end of input: a million windows' state, of
    which the cache keeps 50,000 keys in memory; the others are read back from disk when a
    second record comes or the input ends, and each window closes exactly once."""
    (tmp_path / "rules.gress").write_text(WINDOW_RULES)
    start = 1_700_000_000_000
    with open(tmp_path / "events.jsonl", "w") as fh:
        for i in range(KEYS):
            fh.write(json.dumps({"key": f"k{i}", "ts": start + i, "amount": 1}) + "\n")
        for j in range(CLOSED):  # a second record for some keys, long after they were evicted
            fh.write(json.dumps({"key": f"k{j}", "ts": start + KEYS + j, "amount": 2}) + "\n")
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS_SCRIPT, "detect", str(tmp_path / "rules.gress"),
         "-i", str(tmp_path / "events.jsonl"), "-o", str(tmp_path / "out.jsonl"),
         "--view", "visits", "--state-dir", str(tmp_path / "state"),
         "--state-cache-keys", str(CACHE_KEYS), "-q"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.split("PEAK_RSS_KB")[1].split()[0]) / 1024
    print(f"peak RSS {peak_mb:.0f} MB for {KEYS:,} open windows, {CACHE_KEYS:,} keys in memory")
    assert peak_mb < WINDOW_RSS_LIMIT_MB
    totals: dict[str, int] = {}
    with open(tmp_path / "out.jsonl") as fh:
        for line in fh:
            window = json.loads(line)
            assert window["key"] not in totals, "a window closed twice"
            totals[window["key"]] = window["total"]
    assert len(totals) == KEYS
    assert all(totals[f"k{j}"] == 3 for j in range(CLOSED))
    assert totals[f"k{KEYS - 1}"] == 1
