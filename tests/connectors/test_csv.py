"""CSV files: headers, headerless files named by the schema, typed cells, the growing sink."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gress_cep.connectors import ConnectorConfig, open_sink, open_source
from gress_cep.connectors.base import DeadLetter

from .sources import drain, write
from .streams import declared_stream

CONFIG = ConnectorConfig()
EVENTS = "key: string, ts: timestamp, kind: string, amount: float"


def test_the_header_names_the_fields_and_numbers_are_recognised(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", "key,ts,amount,note\nc1,17,2.50,hi\nc2,18,-1e3,\n")
    records, dead = drain(open_source(spec, None, CONFIG))
    assert records == [
        {"key": "c1", "ts": 17, "amount": 2.5, "note": "hi"},
        {"key": "c2", "ts": 18, "amount": -1000.0, "note": ""},
    ]
    assert dead == []


def test_a_headerless_file_takes_its_columns_from_the_schema(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", "card1,1700000000000,A,12.50\ncard2,1700000000005,D,0.01\n")
    records, _ = drain(open_source(spec, declared_stream(EVENTS), CONFIG))
    assert records == [
        {"key": "card1", "ts": 1700000000000, "kind": "A", "amount": 12.5},
        {"key": "card2", "ts": 1700000000005, "kind": "D", "amount": 0.01},
    ]


def test_a_header_in_any_order_is_used_with_a_schema(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", "amount,key,kind,ts\n3,c1,A,5\n")
    records, _ = drain(open_source(spec, declared_stream(EVENTS), CONFIG))
    assert records == [{"amount": 3.0, "key": "c1", "kind": "A", "ts": 5}]


@pytest.mark.parametrize(
    ("schema", "cell", "value"),
    [
        ("v: string", "007", "007"),
        ("v: int", "-42", -42),
        ("v: float", "3", 3.0),
        ("v: bool", "TRUE", True),
        ("v: bool", "0", False),
        ("v: timestamp", "1700000000000", 1700000000000),
        ("v: timestamp", "1700000000.5", 1700000000.5),
        ("v: timestamp", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
        ("v: float?", "", None),
        ("v: string", "", ""),
    ],
)
def test_cells_are_converted_to_the_declared_type(
    tmp_path: Path, schema: str, cell: str, value: object
) -> None:
    spec = write(tmp_path / "in.csv", f"k,v\nx,{cell}\n")
    records, dead = drain(open_source(spec, declared_stream(schema), CONFIG))
    assert dead == []
    assert records == [{"k": "x", "v": value}]
    assert type(records[0]["v"]) is type(value)


def test_a_cell_that_does_not_convert_is_a_dead_letter_with_the_reason(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", "key,ts,kind,amount\nc1,1,A,abc\nc2,2,B,3\n")
    records, dead = drain(open_source(spec, declared_stream(EVENTS), CONFIG))
    assert records == [{"key": "c2", "ts": 2, "kind": "B", "amount": 3.0}]
    assert [(d.origin, d.reason, d.raw) for d in dead] == [
        (f"{spec}:2", "field 'amount': expected float, got string \"abc\"", b"c1,1,A,abc\n")
    ]


def test_a_row_with_the_wrong_number_of_values_is_a_dead_letter(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", "a,b\n1,2\n1,2,3\n4,5\n")
    records, dead = drain(open_source(spec, None, CONFIG))
    assert records == [{"a": 1, "b": 2}, {"a": 4, "b": 5}]
    assert [(d.origin, d.reason) for d in dead] == [(f"{spec}:3", "3 values for 2 columns (a, b)")]


def test_quoted_cells_may_span_lines(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", 'a,b\n"x\ny",1\nbad row without enough\n')
    records, dead = drain(open_source(spec, None, CONFIG))
    assert records == [{"a": "x\ny", "b": 1}]
    assert [d.origin for d in dead] == [f"{spec}:4"]


def test_invalid_utf8_is_a_dead_letter(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"a\nok\n\xff\xfe\n")
    records, dead = drain(open_source(str(path), None, CONFIG))
    assert records == [{"a": "ok"}]
    assert [(d.reason, d.raw) for d in dead] == [("not valid UTF-8 text", b"\xff\xfe\n")]


def test_a_source_resumes_from_a_position(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", "i\n" + "".join(f"{i}\n" for i in range(10)))
    first = open_source(spec, None, CONFIG)
    first.poll(3, 0.1)
    position = first.position()
    first.close()
    assert position == {"offset": len("i\n0\n1\n2\n"), "line": 4}
    records, _ = drain(open_source(spec, None, CONFIG, start=position))
    assert [r["i"] for r in records] == list(range(3, 10))


def test_a_headerless_source_resumes_from_a_position(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", "".join(f"c{i},{i},A,1.0\n" for i in range(5)))
    stream = declared_stream(EVENTS)
    first = open_source(spec, stream, CONFIG)
    assert first.position() == {"offset": 0, "line": 0}
    first.poll(2, 0.1)
    position = first.position()
    records, _ = drain(open_source(spec, stream, CONFIG, start=position))
    assert [r["ts"] for r in records] == [2, 3, 4]


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def test_the_sink_writes_a_header_from_the_first_record(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    sink = open_sink(str(path), CONFIG)
    sink.write([{"key": "c1", "n": 3, "ok": True, "events": [1, 2], "gone": None}])
    sink.close()
    assert read_csv(path) == [
        ["key", "n", "ok", "events", "gone"],
        ["c1", "3", "true", "[1,2]", ""],
    ]


def test_a_new_field_widens_the_header_and_keeps_earlier_rows(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    sink = open_sink(str(path), CONFIG)
    sink.write([{"a": 1}, {"a": 2}])
    sink.flush()
    sink.write([{"b": "x", "a": 3}, {"a": 4}])
    sink.close()
    assert read_csv(path) == [["a", "b"], ["1", ""], ["2", ""], ["3", "x"], ["4", ""]]


def test_the_dead_letter_csv_sink_has_raw_base64(tmp_path: Path) -> None:
    path = tmp_path / "dlq.csv"
    sink = open_sink(str(path), CONFIG, role="dead-letter")
    sink.write([DeadLetter(b"ab", "bad", "in.csv:2").to_record()])
    sink.close()
    assert read_csv(path) == [["reason", "origin", "raw_base64"], ["bad", "in.csv:2", "YWI="]]


def test_into_a_pipe_a_new_field_starts_a_header_line_of_its_own(tmp_path: Path) -> None:
    import os
    import threading

    path = tmp_path / "out.fifo"
    os.mkfifo(path)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(path.read_text()))
    reader.start()
    sink = open_sink(str(path), ConnectorConfig(format="csv"))
    sink.write([{"a": 1}])
    sink.flush()
    sink.write([{"a": 2, "b": "x"}])
    sink.close()
    reader.join(5)
    assert list(csv.reader(received[0].splitlines())) == [["a"], ["1"], ["a", "b"], ["2", "x"]]
    assert path.exists() and not path.is_file()  # still the pipe, not replaced by a file


def test_a_csv_sink_on_the_null_device_resumes() -> None:
    sink = open_sink(
        "/dev/null", ConnectorConfig(format="csv"), resume={"columns": ["a"], "rows": 5}
    )
    sink.write([{"a": 1, "b": 2}])
    assert sink.position() == {"columns": ["a", "b"], "rows": 6}
    sink.close()
