"""State larger than the cache bound spills to RocksDB and memory stays bounded (RSS measured).

1,000,000 keys, each updated twice, through a cache of 50,000 entries, with checkpoints on the
way. Measured on the development machine: peak RSS 126 MiB (36 MiB of it the interpreter and
libraries; RocksDB's memtables and block cache are capped at 64 MiB each), where the same keys
in a plain dict alone add 190 MB. The bound below leaves room for allocator noise, not for a
cache that does not evict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = 1_000_000
MAX_ENTRIES = 50_000
RSS_BOUND = 200 * 2**20


def test_a_million_keys_through_a_bounded_cache_stay_under_the_rss_bound(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.state.memory_worker",
            str(tmp_path),
            str(KEYS),
            str(MAX_ENTRIES),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    print(report)
    assert report["peak_rss"] < RSS_BOUND
    assert report["in_memory"] <= MAX_ENTRIES + KEYS // 9973 + 1  # + the keys read at the end
    assert report["keys"] == KEYS
    assert report["sample_ok"]  # every key saw both of its updates, spilled or not
