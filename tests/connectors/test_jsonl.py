"""JSON Lines files and stdin: records, dead letters with file:line, byte positions."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import orjson
import pytest

from gress_cep.connectors import ConnectorConfig, open_sink, open_source
from gress_cep.connectors.base import DeadLetter
from gress_cep.connectors.jsonl import JsonLinesSource

from .sources import drain, write
from .streams import PAYMENTS, declared_stream

CONFIG = ConnectorConfig()


def test_each_line_is_a_record(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.jsonl", '{"a": 1}\n{"a": 2}\n{"a": 3}\n')
    records, dead = drain(open_source(spec, None, CONFIG))
    assert records == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert dead == []


def test_a_bad_line_becomes_a_dead_letter_with_file_and_line(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.jsonl", '{"a": 1}\n{"a": oops}\n[1, 2]\n{"a": 4}\n')
    records, dead = drain(open_source(spec, None, CONFIG))
    assert records == [{"a": 1}, {"a": 4}]
    assert [(d.origin, d.raw) for d in dead] == [
        (f"{spec}:2", b'{"a": oops}'),
        (f"{spec}:3", b"[1, 2]"),
    ]
    assert dead[0].reason.startswith("not valid JSON (")
    assert dead[1].reason == "a JSON array, not an object"


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.jsonl", '{"a": 1}\n\n  \r\n{"a": 2}\nnope\n')
    records, dead = drain(open_source(spec, None, CONFIG))
    assert records == [{"a": 1}, {"a": 2}]
    assert [d.origin for d in dead] == [f"{spec}:5"]


def test_the_last_line_needs_no_newline(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.jsonl", '{"a": 1}\n{"a": 2}')
    source = open_source(spec, None, CONFIG)
    assert drain(source)[0] == [{"a": 1}, {"a": 2}]
    assert source.position() == {"offset": os.path.getsize(spec), "line": 2}


def test_a_dot_json_file_is_json_lines_too(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.json", '{"a": 1}\n')
    assert drain(open_source(spec, None, CONFIG))[0] == [{"a": 1}]


def test_records_breaking_the_stream_schema_are_dead_letters(tmp_path: Path) -> None:
    lines = [
        {"card_id": "c1", "ts": 1, "amount": 5.0},
        {"card_id": "c2", "ts": 2, "amount": "lots"},
        {"card_id": "c3", "ts": 3},
    ]
    spec = write(tmp_path / "in.jsonl", "".join(orjson.dumps(x).decode() + "\n" for x in lines))
    records, dead = drain(open_source(spec, declared_stream(PAYMENTS), CONFIG))
    assert records == [lines[0]]
    assert [(d.origin, d.reason, d.record) for d in dead] == [
        (f"{spec}:2", "field 'amount': expected float, got string \"lots\"", lines[1]),
        (f"{spec}:3", "field 'amount' is missing (expected float)", lines[2]),
    ]


def test_the_position_is_the_byte_offset_after_the_last_returned_line(tmp_path: Path) -> None:
    text = "".join(f'{{"i": {i}}}\n' for i in range(10))
    spec = write(tmp_path / "in.jsonl", text)
    source = open_source(spec, None, CONFIG)
    batch = source.poll(4, 0.1)
    assert batch is not None and len(batch.records) == 4
    assert source.position() == {"offset": len("".join(text.splitlines(True)[:4])), "line": 4}


def test_a_source_resumes_from_a_position(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.jsonl", "".join(f'{{"i": {i}}}\n' for i in range(10)) + "bad\n")
    first = open_source(spec, None, CONFIG)
    first.poll(4, 0.1)
    position = first.position()
    first.close()
    records, dead = drain(open_source(spec, None, CONFIG, start=position))
    assert [r["i"] for r in records] == list(range(4, 10))
    assert [d.origin for d in dead] == [f"{spec}:11"]  # line numbers continue


def test_batches_hold_at_most_the_requested_records(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.jsonl", '{"a": 1}\n' * 25)
    source = open_source(spec, None, CONFIG)
    sizes = []
    while (batch := source.poll(10, 0.1)) is not None:
        sizes.append(len(batch.records))
    assert sizes == [10, 10, 5]


def test_many_lines_across_read_blocks(tmp_path: Path) -> None:
    count = 60_000  # well over one 1 MiB read block
    spec = write(
        tmp_path / "in.jsonl", "".join(f'{{"i": {i}, "pad": "{"x" * 20}"}}\n' for i in range(count))
    )
    records, dead = drain(open_source(spec, None, CONFIG), batch_size=4096)
    assert [r["i"] for r in records] == list(range(count))
    assert dead == []


def test_a_pipe_with_no_data_yet_gives_an_empty_batch() -> None:
    read_end, write_end = os.pipe()
    source = JsonLinesSource(read_end, "stdin")
    try:
        empty = source.poll(10, 0.05)
        assert empty is not None and empty.records == []
        os.write(write_end, b'{"a": 1}\n{"a": 2')
        assert source.poll(10, 0.5).records == [{"a": 1}]  # the half line waits
        os.write(write_end, b"}\n")
        os.close(write_end)
        assert source.poll(10, 0.5).records == [{"a": 2}]
        assert source.poll(10, 0.5) is None
    finally:
        source.close()


def test_the_sink_writes_one_json_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink = open_sink(str(path), CONFIG)
    sink.write([{"pattern": "p", "key": "c1", "n": 1}, {"pattern": "p", "key": "c2", "n": 2.5}])
    sink.flush()
    assert path.read_text() == (
        '{"pattern":"p","key":"c1","n":1}\n{"pattern":"p","key":"c2","n":2.5}\n'
    )
    sink.close()


def test_the_dead_letter_sink_writes_raw_bytes_as_base64(tmp_path: Path) -> None:
    path = tmp_path / "dlq.jsonl"
    sink = open_sink(str(path), CONFIG, role="dead-letter")
    letter = DeadLetter(b"\x00\xffgarbage", "not valid JSON", "in.jsonl:3")
    sink.write([letter.to_record()])
    sink.close()
    (written,) = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert written == {
        "reason": "not valid JSON",
        "origin": "in.jsonl:3",
        "raw_base64": base64.b64encode(b"\x00\xffgarbage").decode(),
    }


@pytest.mark.parametrize("role", ["matches", "dead-letter"])
def test_the_stdout_sink_leaves_stdout_open(role: str, capfdbinary: pytest.CaptureFixture) -> None:
    sink = open_sink("-", CONFIG, role=role)
    sink.write([{"reason": "r", "origin": "o"}])
    sink.close()
    assert capfdbinary.readouterr().out == b'{"reason":"r","origin":"o"}\n'


# ---- a .json file holding one JSON array


def test_a_json_file_holding_an_array_of_objects_is_read_as_records(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.json", '[{"a": 1}, {"a": 2}]')
    records, dead = drain(open_source(spec, None, CONFIG))
    assert (records, dead) == ([{"a": 1}, {"a": 2}], [])


def test_a_pretty_printed_json_array_is_read_as_records(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.json", '[\n  {\n    "a": 1\n  },\n  {\n    "a": 2\n  }\n]\n')
    assert drain(open_source(spec, None, CONFIG))[0] == [{"a": 1}, {"a": 2}]


def test_an_array_element_that_is_not_an_object_is_a_dead_letter_with_its_index(
    tmp_path: Path,
) -> None:
    spec = write(tmp_path / "in.json", '[{"a": 1}, 7, {"a": 3}]')
    records, dead = drain(open_source(spec, None, CONFIG))
    assert records == [{"a": 1}, {"a": 3}]
    assert [(d.origin, d.reason, d.raw) for d in dead] == [
        (f"{spec}[1]", "a JSON int, not an object", b"7")
    ]


def test_array_elements_are_checked_against_the_stream_schema(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.json", '[{"n": 1}, {"n": "x"}]')
    records, dead = drain(open_source(spec, declared_stream("n: int"), CONFIG))
    assert records == [{"n": 1}]
    assert [(d.origin, d.record) for d in dead] == [(f"{spec}[1]", {"n": "x"})]


def test_a_json_array_source_resumes_from_its_position(tmp_path: Path) -> None:
    spec = write(tmp_path / "in.json", "[" + ",".join(f'{{"i": {i}}}' for i in range(5)) + "]")
    first = open_source(spec, None, CONFIG)
    first.poll(2, 0.1)
    position = first.position()
    first.close()
    assert position == {"item": 2}
    records, _ = drain(open_source(spec, None, CONFIG, start=position))
    assert [r["i"] for r in records] == [2, 3, 4]


def test_a_broken_json_array_file_is_one_clear_error_with_its_position(tmp_path: Path) -> None:
    from gress_cep.errors import UserError

    spec = write(tmp_path / "in.json", '[\n  {"a": 1},\n  {"a": \n')
    with pytest.raises(UserError, match=r"in\.json:\d+:\d+: not valid JSON"):
        open_source(spec, None, CONFIG)
