"""Avro bytes that declare more than they hold (CVE-2023-39410's class), written byte by byte.

A record whose array of `null`s declares 2^62 items, a block that declares 2^62 records of a
schema that takes no bytes, a deflate block that expands to more than the bound: each is a dead
letter at once, and reading goes on. The cases that would hang without the checks run in a
child process with a time and memory limit, so that a regression fails instead of hanging.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema

from gress_cep.connectors import ConnectorConfig, open_source
from gress_cep.connectors.avro_file import MAX_BLOCK_BYTES
from gress_cep.connectors.base import DeadLetter, Record
from gress_cep.connectors.confluent import ConfluentAvroDecoder
from gress_cep.connectors.registry import registry_client

from .sources import drain

CONFIG = ConnectorConfig()
SYNC = bytes(range(16))
NULLS = {
    "type": "record",
    "name": "Bomb",
    "fields": [
        {"name": "k", "type": "string"},
        {"name": "a", "type": {"type": "array", "items": "null"}},
    ],
}
EMPTY = {"type": "record", "name": "Empty", "fields": [{"name": "nothing", "type": "null"}]}
LONGS = {"type": "record", "name": "N", "fields": [{"name": "n", "type": "long"}]}


def long_(value: int) -> bytes:
    """An Avro long: zig-zag, then a varint."""
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def string(text: str) -> bytes:
    data = text.encode()
    return long_(len(data)) + data


def container(schema: dict, blocks: list[tuple[int, bytes]], codec: str = "null") -> bytes:
    """An Avro object container file: header, then each (record count, block bytes)."""
    meta = [("avro.schema", json.dumps(schema).encode()), ("avro.codec", codec.encode())]
    out = b"Obj\x01" + long_(len(meta))
    out += b"".join(string(key) + long_(len(value)) + value for key, value in meta)
    out += long_(0) + SYNC
    for count, data in blocks:
        out += long_(count) + long_(len(data)) + data + SYNC
    return out


def deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _child(fn: Callable[[], Any], queue: Any) -> None:
    limit = 2 << 30  # 2 GiB of address space: a runaway reader fails instead of swapping
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        queue.put(("ok", fn()))
    except BaseException as err:  # reported to the parent as text
        queue.put(("error", f"{type(err).__name__}: {err}"))


def within(seconds: float, fn: Callable[[], Any]) -> Any:
    """`fn()` run in a child process; the test fails if it takes longer than `seconds`."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child, args=(fn, queue))
    child.start()
    child.join(seconds)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail(f"still running after {seconds} s")
    status, value = queue.get(timeout=5)
    assert status == "ok", value
    return value


def read_file(path: str) -> tuple[list[Record], list[DeadLetter]]:
    return drain(open_source(path, None, CONFIG))


# ---- Avro container files


def test_a_record_declaring_2_62_null_items_is_a_dead_letter_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bomb.avro"
    bomb = string("c1") + long_(2**62) + long_(0)
    good = string("c2") + long_(2) + b"" + long_(0)  # two nulls take no bytes
    path.write_bytes(container(NULLS, [(1, bomb), (1, good)]))
    records, dead = within(20, lambda: read_file(str(path)))
    assert records == [{"k": "c2", "a": [None, None]}]
    assert [d.origin for d in dead] == [f"{path}:1"]
    assert "declares 4,611,686,018,427,387,904 items with 1 bytes left" in dead[0].reason


def test_a_record_declaring_more_null_items_than_bytes_is_a_dead_letter(tmp_path: Path) -> None:
    # 2^20 items: fastavro alone would read them (a million nulls) without complaint
    path = tmp_path / "in.avro"
    path.write_bytes(container(NULLS, [(1, string("c1") + long_(2**20) + long_(0))]))
    records, dead = read_file(str(path))
    assert records == []
    assert "declares 1,048,576 items" in dead[0].reason


def test_a_negative_block_count_with_a_size_is_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "in.avro"
    path.write_bytes(container(NULLS, [(1, string("c1") + long_(-(2**40)) + long_(0) + long_(0))]))
    records, dead = within(20, lambda: read_file(str(path)))
    assert records == []
    assert "declares 1,099,511,627,776 items" in dead[0].reason


def test_a_block_declaring_2_62_records_that_take_no_bytes_is_a_dead_letter(
    tmp_path: Path,
) -> None:
    path = tmp_path / "empty.avro"
    path.write_bytes(container(EMPTY, [(2**62, b"")]))
    records, dead = within(20, lambda: read_file(str(path)))
    assert records == []
    assert [d.origin for d in dead] == [f"{path}:byte {len(container(EMPTY, []))}"]
    assert "declares 4,611,686,018,427,387,904 records in 0 bytes" in dead[0].reason


def test_a_deflate_block_that_expands_beyond_the_bound_is_a_dead_letter(tmp_path: Path) -> None:
    path = tmp_path / "zip.avro"
    bomb = deflate(long_(7) + bytes(MAX_BLOCK_BYTES))  # ~64 KiB on disk
    path.write_bytes(container(LONGS, [(1, bomb), (1, deflate(long_(8)))], codec="deflate"))
    assert path.stat().st_size < 200_000
    records, dead = read_file(str(path))
    assert records == [{"n": 8}]
    assert len(dead) == 1
    assert f"expands beyond {MAX_BLOCK_BYTES:,} bytes (deflate)" in dead[0].reason


def test_reading_goes_on_after_the_next_sync_marker_past_a_corrupt_block(tmp_path: Path) -> None:
    path = tmp_path / "in.avro"
    data = container(LONGS, [(1, long_(1)), (1, long_(2)), (1, long_(3))])
    first_sync = data.index(SYNC, data.index(SYNC) + 1)  # the first block's marker
    damaged = data[:first_sync] + b"X" * 16 + data[first_sync + 16 :]
    path.write_bytes(damaged)
    records, dead = read_file(str(path))
    # the next marker found is the second block's: reading goes on with the third block
    assert records == [{"n": 3}]
    assert len(dead) == 1
    assert "sync marker does not match" in dead[0].reason
    assert f"reading goes on at byte {len(data) - len(long_(1)) * 3 - 16}" in dead[0].reason


def test_nested_arrays_of_nulls_share_one_budget(tmp_path: Path) -> None:
    nested = {
        "type": "record",
        "name": "Nest",
        "fields": [
            {"name": "a", "type": {"type": "array", "items": {"type": "array", "items": "null"}}}
        ],
    }
    inner = long_(60_000) + long_(0)  # 60,000 nulls in 4 bytes: fine once, not 100 times
    path = tmp_path / "in.avro"
    path.write_bytes(container(nested, [(1, long_(100) + inner * 100 + long_(0))]))
    records, dead = within(20, lambda: read_file(str(path)))
    assert records == []
    assert "declares 60,000 items" in dead[0].reason


def test_a_record_that_cannot_be_read_loses_only_the_rest_of_its_block(tmp_path: Path) -> None:
    path = tmp_path / "in.avro"
    broken = long_(1) + b"\xff" * 11  # the second record: a varint that never ends
    path.write_bytes(container(LONGS, [(3, broken), (1, long_(4))]))
    records, dead = read_file(str(path))
    assert records == [{"n": 1}, {"n": 4}]
    assert [d.origin for d in dead] == [f"{path}:2"]
    assert "the 2 records left in the block" in dead[0].reason


# ---- Confluent values (Kafka)


def test_a_kafka_value_declaring_2_62_null_items_is_a_failure_at_once() -> None:
    url = f"mock://{uuid.uuid4()}"
    client = registry_client(url)
    schema_id = client.register_schema("bomb-value", Schema(json.dumps(NULLS), "AVRO"))
    header = b"\x00" + schema_id.to_bytes(4, "big")
    bomb = header + string("c1") + long_(2**62) + long_(0)
    good = header + string("c2") + long_(1) + long_(0)

    def decode() -> tuple[list[Record], list[str]]:
        decoded = ConfluentAvroDecoder(registry_client(url), url).decode_all([bomb, good])
        return decoded.records, [f.reason for f in decoded.failures]

    records, reasons = within(20, decode)
    assert records == [{"k": "c2", "a": [None]}]
    assert len(reasons) == 1
    assert f"schema id {schema_id} refused: an Avro array declares 4,611,686" in reasons[0]
