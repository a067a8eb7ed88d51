"""Decoding throughput of the connectors against the bare libraries, in the same run.

1. Confluent-framed Avro: `ConfluentAvroDecoder.decode_all` (framing check, schema-id lookup,
   trailing-bytes check, failure bookkeeping) vs a bare `fastavro.schemaless_reader` loop over the
   same payloads with the same parsed schema. Target ratio >= 0.8.
2. JSON Lines: the file source (`JsonLinesSource.poll`: block reads, line splitting, positions)
   vs a bare `orjson.loads` loop over the same lines already in memory.

Data comes from the shared generator (fields key, ts, kind, amount):

    python benchmarks/decode_throughput.py --events 1000000
    python benchmarks/decode_throughput.py --generator PATH/TO/gen_events.py

Each measurement is the best of --repeat runs (the machine is shared; the best run is the one
least disturbed by others).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import fastavro
import orjson
from confluent_kafka.schema_registry import Schema
from timing import best_seconds

from gress_cep.connectors import ConnectorConfig, open_source
from gress_cep.connectors.confluent import ConfluentAvroDecoder, framed
from gress_cep.connectors.registry import registry_client

GENERATOR = Path("/work/shared/bench/gen_events.py")
SCHEMA = {
    "type": "record",
    "name": "Event",
    "fields": [
        {"name": "key", "type": "string"},
        {"name": "ts", "type": "long"},
        {"name": "kind", "type": "string"},
        {"name": "amount", "type": "double"},
    ],
}
CHUNK = 4096  # records per batch, as the runtime polls


def best_rate(count: int, run: Callable[[], object], repeat: int) -> float:
    """Records per second of the fastest of `repeat` runs."""
    return count / best_seconds(run, repeat)


def avro_rates(events: list[dict], repeat: int) -> tuple[float, float]:
    url = "mock://decode-throughput"
    client = registry_client(url)
    schema_id = client.register_schema("events-value", Schema(json.dumps(SCHEMA), "AVRO"))
    parsed = fastavro.parse_schema(SCHEMA)
    payloads = [framed(schema_id, parsed, event) for event in events]
    chunks = [payloads[i : i + CHUNK] for i in range(0, len(payloads), CHUNK)]
    decoder = ConfluentAvroDecoder(client, url)
    decoder.decode_all(chunks[0])  # fetch the schema before timing

    def bare() -> None:
        reader, bytes_io = fastavro.schemaless_reader, io.BytesIO
        for chunk in chunks:
            [reader(bytes_io(p[5:]), parsed, None) for p in chunk]

    def codec() -> None:
        for chunk in chunks:
            decoder.decode_all(chunk)

    check = decoder.decode_all(payloads[:100]).records
    assert check == events[:100], "the codec does not decode what was written"
    return best_rate(len(payloads), bare, repeat), best_rate(len(payloads), codec, repeat)


def jsonl_rates(path: Path, repeat: int) -> tuple[float, float, int]:
    data = path.read_bytes()
    lines = data.split(b"\n")[:-1]
    chunks = [lines[i : i + CHUNK] for i in range(0, len(lines), CHUNK)]

    def bare() -> None:
        loads = orjson.loads
        for chunk in chunks:
            [loads(line) for line in chunk]

    def source() -> None:
        reading = open_source(str(path), None, ConnectorConfig())
        count = 0
        while (batch := reading.poll(CHUNK, 0.0)) is not None:
            count += len(batch.records)
        reading.close()
        assert count == len(lines), f"read {count} of {len(lines)} lines"

    return best_rate(len(lines), bare, repeat), best_rate(len(lines), source, repeat), len(data)


def generate(generator: Path, count: int, folder: Path) -> Path:
    path = folder / "events.jsonl"
    subprocess.run(
        [sys.executable, str(generator), "--n", str(count), "--keys", "1000", "--seed", "7",
         "--jsonl", str(path)],
        check=True,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--generator", type=Path, default=GENERATOR)
    args = parser.parse_args()
    if not args.generator.exists():
        sys.exit(f"generator not found: {args.generator} (pass --generator PATH)")

    with tempfile.TemporaryDirectory() as folder:
        path = generate(args.generator, args.events, Path(folder))
        events = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        bare_avro, codec_avro = avro_rates(events, args.repeat)
        bare_json, source_json, size = jsonl_rates(path, args.repeat)

    rows = [
        ("Confluent Avro", "codec decode_all", codec_avro, "fastavro.schemaless_reader", bare_avro),
        ("JSON Lines", "file source poll", source_json, "orjson.loads", bare_json),
    ]
    print(f"{args.events:,} events (key, ts, kind, amount); {size / 1e6:.0f} MB of JSON Lines; "
          f"best of {args.repeat}; Python {sys.version.split()[0]}, pid {os.getpid()}")  # fmt: skip
    print(f"{'input':<16} {'gress':<18} {'records/s':>12}   {'baseline':<27} {'records/s':>12} "
          f"{'ratio':>6}")  # fmt: skip
    for name, ours, ours_rate, baseline, base_rate in rows:
        print(f"{name:<16} {ours:<18} {ours_rate:>12,.0f}   {baseline:<27} {base_rate:>12,.0f} "
              f"{ours_rate / base_rate:>6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
