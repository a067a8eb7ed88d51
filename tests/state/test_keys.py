"""State keys as bytes: equal keys give equal bytes, every key comes back."""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gress_cep.state.keys import decode_key, encode_key

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary()
keys = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4).map(tuple), max_leaves=8)


def same(a: object, b: object) -> bool:
    """Equality in which NaN equals NaN (it is never equal to itself), also inside tuples."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is not tuple and type(b) is not tuple and a == b


@given(keys)
def test_every_key_comes_back(key: object) -> None:
    assert same(decode_key(encode_key(key)), key)


@given(keys, keys)
def test_equal_keys_have_equal_bytes_different_keys_different_bytes(a: object, b: object) -> None:
    assert (encode_key(a) == encode_key(b)) == same(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (1, 1.0),
        (1, True),
        (0, False),
        (0, -0.0),
        ((1, "x"), (1.0, "x")),
        (2**70, float(2**70)),
    ],
)
def test_keys_python_treats_as_one_dict_key_are_one_state_key(a: object, b: object) -> None:
    assert {a: 1} == {b: 1}
    assert encode_key(a) == encode_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("1", 1), (b"x", "x"), ((), None), (("a",), "a"), (("a", "b"), ("ab",)), (1.5, 1)],
)
def test_different_keys_of_different_types_differ(a: object, b: object) -> None:
    assert encode_key(a) != encode_key(b)


@pytest.mark.parametrize("key", [[1, 2], {"a": 1}, {1}, object()])
def test_an_unsupported_type_is_a_type_error(key: object) -> None:
    with pytest.raises(TypeError, match="a state key must be"):
        encode_key(key)


def test_the_bytes_are_the_same_in_another_process() -> None:
    key = ("card-42", 7, 2.5, None, b"\x00", ("nested", -3))
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from gress_cep.state.keys import encode_key; print(encode_key({key!r}).hex())",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )
    assert other.stdout.strip() == encode_key(key).hex()


def test_trailing_bytes_are_refused() -> None:
    with pytest.raises(ValueError, match="trailing"):
        decode_key(encode_key("a") + b"\x00")


def test_every_nan_is_one_key() -> None:
    quiet_nan_with_payload = struct.unpack(">d", bytes.fromhex("7ff8000000000001"))[0]
    assert encode_key(quiet_nan_with_payload) == encode_key(-math.nan) == encode_key(math.nan)
