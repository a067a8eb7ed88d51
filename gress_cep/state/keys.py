"""State keys as bytes: equal Python keys give equal bytes, in every process and on every machine.

Partition keys are None, bool, int, float, str, bytes or tuples of those. Python treats
`1 == 1.0 == True` as one dict key, so they must be one state key too: a float with an integral
value and a bool are written as the int they equal. The encoding is a tag byte per value,
LEB128 varints for lengths and zigzag-encoded ints of any size, IEEE-754 big endian for floats.
(pickle is not used: it writes 1 and 1.0 differently, and its output is not a documented format.)
"""

from __future__ import annotations

import math
import struct
from typing import Any

_NONE, _INT, _FLOAT, _STR, _BYTES, _TUPLE = range(6)
_DOUBLE = struct.Struct(">d")

_SHORT_STR = [bytes((_STR, n)) for n in range(0x80)]  # tag and one-byte length, made once

KEY_TYPES = "None, bool, int, float, str, bytes or a tuple of those"


def encode_key(key: Any) -> bytes:
    """The bytes of a partition key (TypeError for a type that cannot be a key)."""
    if type(key) is str:  # the common case first (and short: a one-byte length)
        data = key.encode("utf-8", "surrogatepass")
        size = len(data)
        if size < 0x80:
            return _SHORT_STR[size] + data
        return bytes((_STR,)) + _varint(size) + data
    out = bytearray()
    _write(out, key)
    return bytes(out)


def decode_key(data: bytes) -> Any:
    """The key `encode_key` wrote (ints for integral floats and bools: they are equal)."""
    key, end = _read(data, 0)
    if end != len(data):
        raise ValueError(f"{len(data) - end} trailing bytes after an encoded key")
    return key


def _write(out: bytearray, value: Any) -> None:
    if value is None:
        out.append(_NONE)
    elif isinstance(value, int):  # bool too
        out.append(_INT)
        out += _varint(value << 1 if value >= 0 else ((-value) << 1) - 1)
    elif isinstance(value, float):
        if value.is_integer():
            _write(out, int(value))
        else:
            out.append(_FLOAT)
            out += _DOUBLE.pack(value if value == value else math.nan)  # one NaN, any payload
    elif isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        out.append(_STR)
        out += _varint(len(data))
        out += data
    elif isinstance(value, bytes):
        out.append(_BYTES)
        out += _varint(len(value))
        out += value
    elif isinstance(value, tuple):
        out.append(_TUPLE)
        out += _varint(len(value))
        for item in value:
            _write(out, item)
    else:
        raise TypeError(f"a state key must be {KEY_TYPES}, not {type(value).__name__}")


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        if byte < 0x80:
            return n, pos
        shift += 7


def _read(data: bytes, pos: int) -> tuple[Any, int]:
    tag = data[pos]
    pos += 1
    if tag == _NONE:
        return None, pos
    if tag == _INT:
        z, pos = _read_varint(data, pos)
        return (z >> 1) if not z & 1 else -((z + 1) >> 1), pos
    if tag == _FLOAT:
        return _DOUBLE.unpack_from(data, pos)[0], pos + 8
    if tag in (_STR, _BYTES):
        size, pos = _read_varint(data, pos)
        raw = data[pos : pos + size]
        return (raw.decode("utf-8", "surrogatepass") if tag == _STR else bytes(raw)), pos + size
    if tag == _TUPLE:
        count, pos = _read_varint(data, pos)
        items = []
        for _ in range(count):
            item, pos = _read(data, pos)
            items.append(item)
        return tuple(items), pos
    raise ValueError(f"unknown key tag {tag} at byte {pos - 1}")
