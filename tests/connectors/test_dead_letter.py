"""Dead letters keep the original bytes: base64 in files, untouched in a Kafka topic."""

from __future__ import annotations

from gress_cep.connectors.base import DeadLetter
from gress_cep.connectors.dead_letter import file_form, kafka_form


def test_the_file_form_has_raw_bytes_as_base64_and_keeps_the_rest() -> None:
    letter = DeadLetter(b"\xff", "bad", "kafka:p[0]@3", record={"a": 1}).to_record()
    assert file_form(letter) == {
        "reason": "bad",
        "origin": "kafka:p[0]@3",
        "record": {"a": 1},
        "raw_base64": "/w==",
    }


def test_the_file_form_of_text_is_its_utf8_bytes() -> None:
    assert file_form({"reason": "r", "origin": "o", "raw": "é"})["raw_base64"] == "w6k="


def test_the_kafka_form_is_the_raw_value_with_reason_and_origin_headers() -> None:
    value, headers = kafka_form(DeadLetter(b"\x00junk", "bad", "in.jsonl:7").to_record())
    assert value == b"\x00junk"
    assert headers == [("gress.reason", b"bad"), ("gress.origin", b"in.jsonl:7")]


def test_the_kafka_form_without_raw_bytes_is_the_record_as_json() -> None:
    value, _ = kafka_form(DeadLetter(None, "late", "x", record={"a": 1}).to_record())
    assert value == b'{"a":1}'
