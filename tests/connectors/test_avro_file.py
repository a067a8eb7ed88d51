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
