"""State backend costs: point operations, batch writes, checkpoints, restores, savepoints.

    python benchmarks/state_ops.py                       # 10k / 100k / 1M keys, ~1-2 minutes
    python benchmarks/state_ops.py --sizes 10000,100000  # quicker
    python benchmarks/state_ops.py --dir /var/lib/x      # on another disk (default: a temp dir)

RocksDB backend (the one `--state-dir` uses), values of 200 bytes, keys as the keyed cache
encodes them. For each size, in a fresh state directory:
- load: the keys written in 10k-entry WriteBatches (what checkpoints of the keyed cache write);
- write 10k batch: one more 10k-entry batch, median of 5;
- put / get / get-absent: latency of single operations on the loaded table, p50 and p99
  (get: random present keys; get-absent: `may_contain` then `get` only if it says maybe, as the
  cache's miss path does), --ops of each; the target is p99 < 10 ms per operation;
- checkpoint: flush + RocksDB checkpoint (hard links) + fsyncs + metadata.json;
- restore: the live database replaced by a copy of the checkpoint, reopened;
- savepoint / restore savepoint: the portable copy written (checksummed) and loaded back.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from gress_cep.state.backend import WriteBatch
from gress_cep.state.durable_files import remove_tree
from gress_cep.state.keys import encode_key
from gress_cep.state.rocksdb import RocksDbBackend

TABLE = "bench"
BATCH = 10_000
VALUE_SIZE = 200


def key(i: int) -> bytes:
    return encode_key(f"card-{i:08d}")


def value(rng: random.Random) -> bytes:
    return rng.randbytes(VALUE_SIZE)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    """p50 and p99 in microseconds."""
    ordered = sorted(samples_ns)
    return (
        ordered[len(ordered) // 2] / 1000,
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000,
    )


def load(backend: RocksDbBackend, keys: int, rng: random.Random) -> float:
    started = time.perf_counter()
    for start in range(0, keys, BATCH):
        batch = WriteBatch()
        for i in range(start, min(start + BATCH, keys)):
            batch.put(TABLE, key(i), value(rng))
        backend.write(batch)
    return time.perf_counter() - started


def point_latencies(
    backend: RocksDbBackend, keys: int, ops: int, rng: random.Random
) -> dict[str, tuple[float, float]]:
    table = backend.table(TABLE)
    now = time.perf_counter_ns
    puts, gets, absent = [], [], []
    for _ in range(ops):
        k, v = key(rng.randrange(keys)), value(rng)
        started = now()
        table.put(k, v)
        puts.append(now() - started)
    for _ in range(ops):
        k = key(rng.randrange(keys))
        started = now()
        found = table.get(k)
        gets.append(now() - started)
        assert found is not None
    for i in range(ops):
        k = key(keys + i)
        started = now()
        found = table.get(k) if table.may_contain(k) else None
        absent.append(now() - started)
        assert found is None
    return {"put": percentiles(puts), "get": percentiles(gets), "get-absent": percentiles(absent)}


@dataclass(slots=True)
class Row:
    keys: int
    load: float = 0.0  # seconds, as are the durations below
    write_batch: float = 0.0
    checkpoint: float = 0.0
    restore: float = 0.0
    savepoint: float = 0.0
    restore_savepoint: float = 0.0
    checkpoint_mb: float = 0.0
    latencies: dict[str, tuple[float, float]] = field(default_factory=dict)


def measure(root: Path, keys: int, ops: int) -> Row:
    rng = random.Random(keys)
    state_dir, savepoint = root / f"state-{keys}", root / f"savepoint-{keys}"
    backend = RocksDbBackend(state_dir)
    row = Row(keys)
    try:
        row.load = load(backend, keys, rng)
        batch_times = []
        for _ in range(5):
            batch = WriteBatch()
            for _ in range(BATCH):
                batch.put(TABLE, key(rng.randrange(keys)), value(rng))
            batch_times.append(timed(partial(backend.write, batch)))
        row.write_batch = statistics.median(batch_times)
        row.checkpoint = timed(lambda: backend.checkpoint(1, {}))
        row.checkpoint_mb = backend.checkpoints()[-1].size_bytes / 1e6
        row.latencies = point_latencies(backend, keys, ops, rng)
        row.restore = timed(lambda: backend.restore(1))
        assert backend.table(TABLE).get(key(keys - 1)) is not None
        row.savepoint = timed(lambda: backend.savepoint(1, savepoint))
        row.restore_savepoint = timed(lambda: backend.restore_savepoint(savepoint))
        return row
    finally:
        backend.close()
        remove_tree(state_dir)
        remove_tree(savepoint)


def print_table(rows: list[Row], ops: int) -> None:
    print(f"RocksDB backend, {VALUE_SIZE}-byte values; latencies over {ops:,} operations each")
    print(
        f"{'keys':>9} {'load s':>7} {'chk MB':>7} {'write 10k ms':>12} {'checkpoint ms':>13} "
        f"{'restore ms':>10} {'savepoint s':>11} {'restore sp s':>12}   "
        f"{'put p50/p99 us':>15} {'get p50/p99 us':>15} {'absent p50/p99 us':>17}"
    )
    for r in rows:
        latencies = [f"{p50:.1f}/{p99:.1f}" for p50, p99 in r.latencies.values()]
        print(
            f"{r.keys:>9,} {r.load:>7.2f} {r.checkpoint_mb:>7.1f} {r.write_batch * 1e3:>12.1f} "
            f"{r.checkpoint * 1e3:>13.1f} {r.restore * 1e3:>10.1f} "
            f"{r.savepoint:>11.2f} {r.restore_savepoint:>12.2f}   "
            f"{latencies[0]:>15} {latencies[1]:>15} {latencies[2]:>17}"
        )
    worst = max(p99 for r in rows for _, p99 in r.latencies.values())
    print(f"worst p99: {worst / 1000:.3f} ms per operation (target < 10 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        rows = []
        for keys in sizes:
            rows.append(measure(Path(folder), keys, args.ops))
            print(f"  {keys:,} keys done", file=sys.stderr, flush=True)
    print_table(rows, args.ops)


if __name__ == "__main__":
    main()
