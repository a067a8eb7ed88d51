"""CSV files: headers, headerless files named by the schema, typed cells, the growing sink."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gress_cep.connectors import ConnectorConfig, open_sink, open_source
from gress_cep.connectors.base import DeadLetter
from gress_cep.errors import UserError

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


# ---- numbers without a schema: exactly the numbers JSON writes (docs/kafka.md, CSV input)


@pytest.mark.parametrize("cell", ["007", "-0012", "+1", "1.", ".5"])
def test_without_a_schema_text_that_is_not_a_canonical_number_stays_text(
    tmp_path: Path, cell: str
) -> None:
    spec = write(tmp_path / "in.csv", f'k,v\nx,"{cell}"\n')
    records, _ = drain(open_source(spec, None, CONFIG))
    assert records == [{"k": "x", "v": cell}]


def test_keys_007_and_7_stay_two_keys(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", "card,n\n007,1\n7,2\n")
    records, _ = drain(open_source(spec, None, CONFIG))
    assert [r["card"] for r in records] == ["007", 7]


@pytest.mark.parametrize("cell", ["1e400", "-1e400"])
def test_a_number_that_overflows_a_double_stays_text_without_a_schema(
    tmp_path: Path, cell: str
) -> None:
    spec = write(tmp_path / "in.csv", f"k,v\nx,{cell}\n")
    records, _ = drain(open_source(spec, None, CONFIG))
    assert records == [{"k": "x", "v": cell}]


def test_a_declared_float_that_overflows_a_double_is_a_dead_letter(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", "k,v\nx,1e400\ny,1.5\n")
    records, dead = drain(open_source(spec, declared_stream("k: string, v: float"), CONFIG))
    assert records == [{"k": "y", "v": 1.5}]
    assert [(d.origin, d.reason) for d in dead] == [
        (f"{spec}:2", "field 'v': expected float, got string \"1e400\"")
    ]


# ---- broken quoting and line ends


def test_an_unterminated_quote_loses_only_its_first_line(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", 'a,b\n1,"x\n2,3\n4,5\n')
    records, dead = drain(open_source(spec, None, CONFIG))
    assert records == [{"a": 2, "b": 3}, {"a": 4, "b": 5}]
    assert [(d.origin, d.raw) for d in dead] == [(f"{spec}:2", b'1,"x\n')]
    assert dead[0].reason.startswith("a quoted cell is never closed")


def test_an_unterminated_quote_on_the_last_line_is_a_dead_letter(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", 'a,b\n1,2\n3,"x')
    records, dead = drain(open_source(spec, None, CONFIG))
    assert records == [{"a": 1, "b": 2}]
    assert [(d.origin, d.raw) for d in dead] == [(f"{spec}:3", b'3,"x')]


def test_an_unterminated_quote_in_a_long_file_loses_only_its_first_line(tmp_path: Path) -> None:
    # the quoted cell outgrows the csv module's field limit long before the end of the file
    rows = "".join(f"{i},{i}\n" for i in range(50_000))
    spec = write(tmp_path / "in.csv", 'a,b\n1,"x\n' + rows)
    records, dead = drain(open_source(spec, None, CONFIG))
    assert len(records) == 50_000
    assert records[0] == {"a": 0, "b": 0} and records[-1] == {"a": 49_999, "b": 49_999}
    assert [d.origin for d in dead] == [f"{spec}:2"]


def test_reading_resumes_after_an_unterminated_quote(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", 'a,b\n1,"x\n2,3\n4,5\n')
    first = open_source(spec, None, CONFIG)
    first.poll(2, 0.1)  # the dead letter and the row 2,3
    position = first.position()
    first.close()
    assert position == {"offset": len('a,b\n1,"x\n2,3\n'), "line": 3}
    records, dead = drain(open_source(spec, None, CONFIG, start=position))
    assert (records, dead) == ([{"a": 4, "b": 5}], [])


def test_a_header_with_an_unterminated_quote_is_a_clear_error(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", 'a,"b\n1,2\n')
    with pytest.raises(UserError, match=r"in.csv:1: the first row has a quote that is never"):
        open_source(spec, None, CONFIG)


def test_bare_cr_line_ends_are_read(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", 'a,b\r1,2\r3,"x\ry"\r')
    records, dead = drain(open_source(spec, None, CONFIG))
    assert records == [{"a": 1, "b": 2}, {"a": 3, "b": "x\ry"}]
    assert dead == []


def test_a_bare_cr_file_resumes_from_a_position(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.csv", "i\r0\r1\r2\r3\r")
    first = open_source(spec, None, CONFIG)
    first.poll(2, 0.1)
    position = first.position()
    first.close()
    assert position == {"offset": len("i\r0\r1\r"), "line": 3}
    records, _ = drain(open_source(spec, None, CONFIG, start=position))
    assert [r["i"] for r in records] == [2, 3]


def test_a_crlf_split_between_two_reads_is_one_line_end(tmp_path: Path) -> None:
    from gress_cep.connectors import csv_file

    rows = (csv_file._BLOCK - len("a\n") - len("y\r")) // 2
    text = "a\n" + "x\n" * rows + "y\r"  # the CR is the last byte of the first read
    assert len(text) == csv_file._BLOCK
    spec = write(tmp_path / "in.csv", text + "\n1\r\n")
    records, dead = drain(open_source(spec, None, CONFIG), batch_size=1_000_000)
    assert len(records) == rows + 2
    assert records[-2:] == [{"a": "y"}, {"a": 1}]
    assert dead == []


# ---- what can be read can be written


def test_an_integer_beyond_64_bits_is_written_with_all_its_digits(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    sink = open_sink(str(path), CONFIG)
    sink.write([{"n": 99999999999999999999999, "m": -(10**5000)}])
    sink.close()
    assert read_csv(path) == [["n", "m"], ["99999999999999999999999", "-1" + "0" * 5000]]


def test_nan_and_infinity_are_written_as_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    sink = open_sink(str(path), CONFIG)
    sink.write([{"a": float("inf"), "b": float("-inf"), "c": float("nan"), "d": 1.5}])
    sink.close()
    assert read_csv(path) == [["a", "b", "c", "d"], ["", "", "", "1.5"]]
