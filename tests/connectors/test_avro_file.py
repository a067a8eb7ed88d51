"""Avro object container files: reading with the file's schema, writing an inferred one."""

from __future__ import annotations

from pathlib import Path

import fastavro
import pytest

from gress_cep.connectors import ConnectorConfig, open_sink, open_source
from gress_cep.errors import UserError

from .sources import drain
from .streams import PAYMENTS, declared_stream

CONFIG = ConnectorConfig()
SCHEMA = {
    "type": "record",
    "name": "Payment",
    "namespace": "com.example",
    "fields": [
        {"name": "card_id", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "amount", "type": ["null", "double", "string"]},
    ],
}


def write_avro(path: Path, records: list[dict], sync_interval: int = 16000) -> str:
    with path.open("wb") as f:
        fastavro.writer(f, fastavro.parse_schema(SCHEMA), records, sync_interval=sync_interval)
    return str(path)


def payments(count: int) -> list[dict]:
    return [
        {"card_id": f"c{i}", "ts": 1_700_000_000_000 + i, "amount": i / 4} for i in range(count)
    ]


def test_records_come_out_with_millisecond_timestamps_as_epoch_ms(tmp_path: Path) -> None:
    spec = write_avro(tmp_path / "in.avro", payments(3))
    records, dead = drain(open_source(spec, None, CONFIG))
    assert records == payments(3)
    assert type(records[0]["ts"]) is int
    assert dead == []


def test_records_breaking_the_stream_schema_are_dead_letters(tmp_path: Path) -> None:
    rows = [*payments(2), {"card_id": "c9", "ts": 5, "amount": "free"}]
    spec = write_avro(tmp_path / "in.avro", rows)
    records, dead = drain(open_source(spec, declared_stream(PAYMENTS), CONFIG))
    assert records == payments(2)
    (letter,) = dead
    assert letter.origin == f"{spec}:3"
    assert letter.reason == "field 'amount': expected float, got string \"free\""
    assert letter.record == rows[2]
    assert letter.raw is not None and b"free" in letter.raw


def test_a_source_resumes_inside_a_block(tmp_path: Path) -> None:
    spec = write_avro(tmp_path / "in.avro", payments(500), sync_interval=2000)  # many blocks
    first = open_source(spec, None, CONFIG)
    taken = []
    for _ in range(3):
        batch = first.poll(37, 0.1)
        assert batch is not None
        taken += batch.records
    position = first.position()
    first.close()
    assert position["record"] > 0  # the cut is inside a block
    rest, _ = drain(open_source(spec, None, CONFIG, start=position))
    assert taken + rest == payments(500)


def test_a_file_that_is_not_avro_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "in.avro"
    path.write_text('{"a": 1}\n')
    with pytest.raises(UserError, match="is not a readable Avro container file"):
        open_source(str(path), None, CONFIG)


def test_a_file_whose_values_are_not_records_is_one_clear_error(tmp_path: Path) -> None:
    """Once a string reached the runtime as a record: an internal error, not a user error."""
    path = tmp_path / "in.avro"
    with path.open("wb") as f:
        fastavro.writer(f, fastavro.parse_schema("string"), ["a", "b"])
    with pytest.raises(UserError, match=r"in\.avro: record 1 is an Avro string, not a record"):
        drain(open_source(str(path), None, CONFIG))


def read_back(path: Path) -> tuple[dict, list[dict]]:
    with path.open("rb") as f:
        reader = fastavro.reader(f)
        return reader.writer_schema, list(reader)


def test_the_sink_infers_a_nullable_schema_from_the_records(tmp_path: Path) -> None:
    path = tmp_path / "out.avro"
    sink = open_sink(str(path), CONFIG)
    rows = [{"pattern": "p", "key": "c1", "n": 3, "amount": 2.5, "events": [{"x": 1}]}]
    sink.write(rows)
    sink.close()
    schema, records = read_back(path)
    assert records == rows
    assert schema["name"] == "out"
    assert [f["type"][0] for f in schema["fields"]] == ["null"] * 5


def test_a_record_that_does_not_fit_widens_the_file_schema(tmp_path: Path) -> None:
    path = tmp_path / "out.avro"
    sink = open_sink(str(path), CONFIG)
    sink.write([{"key": "c1", "n": 1}])
    sink.flush()
    sink.write([{"key": "c2", "n": 1.5, "extra": "new"}, {"key": None, "n": 2}])
    sink.close()
    _, records = read_back(path)
    assert records == [
        {"key": "c1", "n": 1, "extra": None},
        {"key": "c2", "n": 1.5, "extra": "new"},
        {"key": None, "n": 2, "extra": None},
    ]


def test_an_empty_output_is_still_an_avro_file(tmp_path: Path) -> None:
    path = tmp_path / "out.avro"
    open_sink(str(path), CONFIG).close()
    assert read_back(path)[1] == []


def test_dead_letters_are_written_with_raw_base64(tmp_path: Path) -> None:
    path = tmp_path / "dlq.avro"
    sink = open_sink(str(path), CONFIG, role="dead-letter")
    sink.write([{"reason": "r", "origin": "o", "raw": b"\x01\x02"}])
    sink.close()
    assert read_back(path)[1] == [{"reason": "r", "origin": "o", "raw_base64": "AQI="}]


def test_an_integer_beyond_64_bits_is_written_as_its_digits(tmp_path: Path) -> None:
    path = tmp_path / "out.avro"
    sink = open_sink(str(path), CONFIG)
    sink.write([{"n": 99999999999999999999999}, {"n": 7}])
    sink.close()
    assert read_back(path)[1] == [{"n": "99999999999999999999999"}, {"n": 7}]


def test_nan_and_infinity_are_written_as_null(tmp_path: Path) -> None:
    path = tmp_path / "out.avro"
    sink = open_sink(str(path), CONFIG)
    sink.write([{"a": float("inf"), "b": float("nan"), "c": 1.5}])
    sink.close()
    assert read_back(path)[1] == [{"a": None, "b": None, "c": 1.5}]


def test_an_avro_file_with_keys_that_are_not_avro_names_is_readable(tmp_path: Path) -> None:
    path = tmp_path / "out.avro"
    sink = open_sink(str(path), CONFIG)
    sink.write([{"content-type": "json", "1st": 1}])
    sink.close()
    schema, records = read_back(path)
    assert records == [{"content_type": "json", "_1st": 1}]
    assert [f.get("doc") for f in schema["fields"]] == ["content-type", "1st"]


# every Avro timestamp logical type reads as epoch ms (issue 11, B.9)
MOMENT_US = 1_735_691_950_238_123  # 2025-01-01T00:39:10.238123Z
FINE_TIMES = {
    "type": "record",
    "name": "Times",
    "fields": [
        {"name": "card_id", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "local_us", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
        {"name": "local_ms", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {"name": "ns", "type": {"type": "long", "logicalType": "timestamp-nanos"}},
        {
            "name": "maybe",
            "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}],
        },
        {"name": "amount", "type": "double"},
    ],
}
FINE_RECORD = {
    "card_id": "c1",
    "ts": MOMENT_US,
    "local_us": MOMENT_US,
    "local_ms": MOMENT_US // 1000,
    "ns": MOMENT_US * 1000 + 456,
    "maybe": MOMENT_US,
    "amount": 3.0,
}
MOMENT_MS = MOMENT_US // 1000


@pytest.mark.parametrize("schema", [None, PAYMENTS])
def test_micro_and_nano_timestamps_read_as_epoch_ms(tmp_path: Path, schema: str | None) -> None:
    path = tmp_path / "times.avro"
    with path.open("wb") as f:
        fastavro.writer(
            f, fastavro.parse_schema(FINE_TIMES), [FINE_RECORD, {**FINE_RECORD, "maybe": None}]
        )
    stream = declared_stream(schema) if schema else None
    records, dead = drain(open_source(str(path), stream, CONFIG))
    assert dead == []
    if schema is None:
        assert records[0] == {
            **FINE_RECORD,
            "ts": MOMENT_MS,
            "local_us": MOMENT_MS,
            "local_ms": MOMENT_MS,
            "ns": MOMENT_MS,
            "maybe": MOMENT_MS,
        }
        assert records[1]["maybe"] is None
    else:  # the declared `ts: timestamp` reads the micros as epoch ms too
        assert [r["ts"] for r in records] == [MOMENT_MS, MOMENT_MS]
    assert all(type(r["ts"]) is int for r in records)


def test_a_pattern_matches_on_micro_timestamps_of_an_avro_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gress_cep.cli.main import cli

    path = tmp_path / "times.avro"
    rows = [{**FINE_RECORD, "ts": MOMENT_US + i * 1_000_000, "amount": float(i)} for i in range(3)]
    with path.open("wb") as f:
        fastavro.writer(f, fastavro.parse_schema(FINE_TIMES), rows)
    rules = tmp_path / "r.gress"
    rules.write_text(
        "stream payments\n    key card_id\n    time ts\n\n"
        "pattern two\n    match a -> b\n    where b: ts - a.ts == 1s\n    emit a.ts, b.ts as b_ts\n"
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli, ["detect", str(rules), "-i", f"payments={path}", "-o", str(out), "--dead-letter",
              str(tmp_path / "dead.jsonl"), "--checkpoint-interval", "off"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "dead.jsonl").read_text() == ""
    [line] = out.read_text().splitlines()  # skip past last event: 0-1, then 2 has no b
    assert '"a_ts":1735691950238,"b_ts":1735691951238' in line
