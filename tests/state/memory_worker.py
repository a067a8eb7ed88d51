"""Run by test_memory.py in a fresh process: KEYS keys through a KeyedStateCache bounded at
MAX_ENTRIES on RocksDB, checkpoints along the way; prints JSON with the RSS it saw.

`python -m tests.state.memory_worker STATE_DIR KEYS MAX_ENTRIES`
"""

from __future__ import annotations

import json
import os
import struct
import sys
import time
from pathlib import Path

from gress_cep.state.backend import WriteBatch
from gress_cep.state.cache import KeyedStateCache
from gress_cep.state.rocksdb import RocksDbBackend

BATCH = 4096
VALUE = struct.Struct(">qd")  # a count and a running sum: the state of one key
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE


def main(state_dir: Path, keys: int, max_entries: int) -> None:
    started = time.perf_counter()
    backend = RocksDbBackend(state_dir)
    cache: KeyedStateCache[tuple[int, float]] = KeyedStateCache(
        backend,
        "counts",
        encode_value=lambda v: VALUE.pack(*v),
        decode_value=VALUE.unpack,
        max_entries=max_entries,
    )
    baseline = peak = rss_bytes()
    checkpoint_id = 0
    data, load, put = cache.data, cache.load, cache.put
    # every key twice (the second pass reloads spilled keys), in batches
    for number, start in enumerate(range(0, 2 * keys, BATCH)):
        for i in range(start, min(start + BATCH, 2 * keys)):
            key = f"card-{i % keys:07d}"
            state = data.get(key)
            if state is None:
                state = load(key)
            count, total = state or (0, 0.0)
            put(key, (count + 1, total + 1.5))
        cache.maybe_evict()
        if number % 100 == 99:
            batch = WriteBatch()
            cache.flush_into(batch)
            backend.write(batch)
            checkpoint_id += 1
            backend.checkpoint(checkpoint_id, {})
            backend.discard_older_than(checkpoint_id)
        peak = max(peak, rss_bytes())
    sample_keys = [f"card-{i:07d}" for i in range(0, keys, 9973)]
    sample = [data.get(key) or load(key) for key in sample_keys]
    print(
        json.dumps(
            {
                "baseline_rss": baseline,
                "peak_rss": peak,
                "in_memory": len(cache.data),
                "keys": len(cache),
                "evictions": cache.evictions,
                "disk_loads": cache.disk_loads,
                "sample_ok": all(s == (2, 3.0) for s in sample),
                "seconds": time.perf_counter() - started,
            }
        )
    )
    backend.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
