"""Decoding a batch of values: good records in order, every failure with its index and reason."""

from __future__ import annotations

import pytest

from gress_cep.connectors.codec import JsonDecoder, encode_json
from gress_cep.connectors.validation import Validator

from .streams import declared_stream


def test_a_clean_batch_decodes_in_order_with_no_failures() -> None:
    decoded = JsonDecoder().decode_all([b'{"a":1}', b'{"a":2}'])
    assert decoded.records == [{"a": 1}, {"a": 2}]
    assert decoded.failures == []
    assert decoded.kept is None


def test_failures_keep_their_input_index_and_the_rest_is_decoded() -> None:
    values = [b"{", b'{"a":1}', b'"text"', b'{"a":2}', b"", b'{"a":3}']
    decoded = JsonDecoder().decode_all(values)
    assert decoded.records == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert [(f.index, f.record) for f in decoded.failures] == [(0, None), (2, None), (4, None)]
    assert decoded.failures[1].reason == "a JSON string, not an object"
    assert decoded.kept == [1, 3, 5]


def test_validation_failures_carry_the_decoded_record() -> None:
    decoder = JsonDecoder(Validator(declared_stream("n: int")))
    decoded = decoder.decode_all([b'{"n":1}', b"nope", b'{"n":"x"}', b'{"n":2}'])
    assert decoded.records == [{"n": 1}, {"n": 2}]
    assert [(f.index, f.record) for f in decoded.failures] == [(1, None), (2, {"n": "x"})]
    assert decoded.failures[1].reason == "field 'n': expected int, got string \"x\""
    assert decoded.kept == [0, 3]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"b": b"\x00\x01"}, b'{"b":"AAE="}'),
        ({1: "int key"}, b'{"1":"int key"}'),
        ({"t": (1, 2)}, b'{"t":[1,2]}'),
    ],
)
def test_json_output_handles_values_json_has_no_type_for(value: object, text: bytes) -> None:
    assert encode_json(value) == text


def test_an_integer_beyond_64_bits_is_written_as_the_exact_json_number() -> None:
    assert encode_json({"n": 99999999999999999999999, "m": [-(2**64)]}) == (
        b'{"n":99999999999999999999999,"m":[-18446744073709551616]}'
    )


def test_a_json_line_with_an_integer_beyond_64_bits_ends_with_a_newline() -> None:
    from gress_cep.connectors.codec import encode_json_line

    assert encode_json_line({"n": 10**30}) == b'{"n":1000000000000000000000000000000}\n'


def test_a_record_nested_deeper_than_orjson_writes_is_written() -> None:
    value: list = []
    inner = value
    for _ in range(400):  # JSON Lines input reads up to 1024 levels; orjson writes 254
        inner.append([])
        inner = inner[0]
    assert encode_json({"deep": value}) == b'{"deep":' + b"[" * 401 + b"]" * 401 + b"}"
