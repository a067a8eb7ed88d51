"""What checkpoints cost: pattern P2 end to end with checkpoints every second vs none.

    python benchmarks/checkpoint_overhead.py                 # 2,000,000 events
    python benchmarks/checkpoint_overhead.py --n 500000      # quicker

Runs `gress detect` on the same JSONL file (../shared/bench/gen_events.py) twice per setting,
best of each: `--checkpoint-interval off` (no state backend at all) and `--checkpoint-interval
1s` (RocksDB state, a checkpoint every second); prints both rates, the slowdown (target
<= 15%), and the checkpoints' durations as `gress detect` reports them. Then the recovery of a
job with 1,000,000 keys of state: how long restoring its checkpoint takes, and what bringing a
key's state back from disk costs (state loads lazily, as keys come back).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cep_throughput import HEADER, PATTERNS

HERE = Path(__file__).resolve().parent
GENERATOR = HERE.parent.parent / "shared" / "bench" / "gen_events.py"
P2 = HEADER + PATTERNS["P2"]
WIDE = """stream events
    key key
    time ts

pattern opened
    from events
    match a -> b
    where a: kind == "A"
          b: kind == "B"
    within 1h
"""


def detect(workdir: Path, rules: Path, data: Path, *extra: str) -> tuple[float, str]:
    gress = Path(sys.executable).with_name("gress")
    started = time.perf_counter()
    done = subprocess.run(
        [str(gress), "detect", str(rules), "-i", str(data), "-o", str(workdir / "out.jsonl"),
         *extra],  # not -q: the summary's checkpoint line is read below
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return time.perf_counter() - started, done.stderr


def overhead(workdir: Path, n: int) -> None:
    data = workdir / "events.jsonl"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--n", str(n), "--keys", "1000", "--seed", "7",
         "--jsonl", str(data)],
        check=True, capture_output=True,
    )  # fmt: skip
    rules = workdir / "p2.gress"
    rules.write_text(P2)
    none = min(detect(workdir, rules, data, "--checkpoint-interval", "off")[0] for _ in range(2))
    runs = [
        detect(workdir, rules, data, "--checkpoint-interval", "1s", "--state-dir",
               str(workdir / f"state{i}"))
        for i in range(2)
    ]  # fmt: skip
    with_checkpoints, report = min(runs)
    found = re.search(r"checkpoints: (\d+) \(p50 ([\d.]+) ms, max ([\d.]+) ms\)", report)
    taken, p50, worst = found.groups() if found else ("?", "?", "?")
    slower = with_checkpoints / none - 1
    print(f"# P2 end to end, {n:,} events; python {sys.version.split()[0]}")
    print(f"{'setting':34}{'events/s':>12}{'seconds':>9}")
    print(f"{'no checkpoints (off)':34}{n / none:>12,.0f}{none:>9.2f}")
    label = "checkpoint every 1s (RocksDB)"
    print(f"{label:34}{n / with_checkpoints:>12,.0f}{with_checkpoints:>9.2f}")
    print(f"slowdown: {slower:.1%} (target <= 15%)")
    print(f"checkpoints: {taken}, p50 {p50} ms, max {worst} ms")


def recovery(workdir: Path, keys: int) -> None:
    from gress_cep.state.cache import KeyedStateCache
    from gress_cep.state.keys import decode_key
    from gress_cep.state.rocksdb import RocksDbBackend

    data = workdir / "wide.jsonl"
    with open(data, "w") as fh:
        for i in range(keys):
            fh.write(json.dumps({"key": f"k{i}", "ts": 1_700_000_000_000 + i, "kind": "A"}) + "\n")
    rules = workdir / "wide.gress"
    rules.write_text(WIDE)
    state = workdir / "wide-state"
    seconds, _ = detect(
        workdir, rules, data, "--state-dir", str(state), "--checkpoint-interval", "1h"
    )
    backend = RocksDbBackend(state)
    try:
        [latest] = backend.checkpoints()[-1:]
        started = time.perf_counter()
        backend.restore(latest.checkpoint_id)
        restore_s = time.perf_counter() - started
        cache: KeyedStateCache[bytes] = KeyedStateCache(
            backend, "keys:opened", encode_value=bytes, decode_value=bytes, max_entries=keys
        )
        cache.after_restore()
        stored = [decode_key(raw) for raw, _ in backend.table("keys:opened").items()]
        sample = stored[:: max(1, len(stored) // 10_000)]
        started = time.perf_counter()
        found = sum(cache.load(k) is not None for k in sample)
        per_key_us = (time.perf_counter() - started) / len(sample) * 1e6
    finally:
        backend.close()
    print(f"# recovery of {keys:,} keys of partial matches ({seconds:.1f}s to build them); the")
    print(f"# finished run's checkpoint holds the {len(stored):,} that had left memory")
    print(
        f"restore the checkpoint: {restore_s * 1000:.0f} ms ({latest.size_bytes / 2**20:.0f} MiB);"
        f" a key's state back from disk: {per_key_us:.1f} us ({found:,}/{len(sample):,} found)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--keys", type=int, default=1_000_000, help="keys for the recovery run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gress-ckpt-") as tmp:
        overhead(Path(tmp), args.n)
        recovery(Path(tmp), args.keys)


if __name__ == "__main__":
    main()
