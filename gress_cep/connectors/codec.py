"""Turning raw values (JSON lines, Kafka message values) into records, a batch at a time.

A decoder reports the values it cannot use as failures with a reason instead of raising, so that
a source can send them to the dead-letter output and carry on. Validation against the stream's
schema happens here too, so that a source sees one list of failures per batch.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from gress_cep.connectors.base import Record
from gress_cep.connectors.validation import Validator


class DecodeError(Exception):
    """One value that cannot be decoded; the message is the dead-letter reason."""


@dataclass(slots=True)
class Failure:
    index: int  # position of the value in the decoded batch
    reason: str
    record: Record | None  # the decoded record when only validation failed


@dataclass(slots=True)
class Decoded:
    """The outcome of decoding a batch: good records in input order, and the failures.

    `kept[j]` is the input index of `records[j]`; it is None when nothing failed (then the
    records line up with the inputs one to one).
    """

    records: list[Record]
    failures: list[Failure]
    kept: list[int] | None = None


class ValueDecoder:
    """Decodes single values with `decode`; `decode_all` runs it over a batch."""

    def __init__(self, validator: Validator | None = None) -> None:
        self.validator = validator

    def decode(self, payload: bytes) -> Record:
        raise NotImplementedError

    def decode_all(self, payloads: list[bytes]) -> Decoded:
        records, failures = self._decode_each(payloads)
        if self.validator is not None:
            rejected = self.validator.check(records)
            if rejected:
                index = _surviving(len(payloads), failures)
                failures.extend(Failure(index[j], reason, records[j]) for j, reason in rejected)
                failures.sort(key=lambda f: f.index)
                dropped = {j for j, _ in rejected}
                records = [r for j, r in enumerate(records) if j not in dropped]
        if not failures:
            return Decoded(records, failures)
        return Decoded(records, failures, _surviving(len(payloads), failures))

    def _decode_each(self, payloads: list[bytes]) -> tuple[list[Record], list[Failure]]:
        # The loop restarts after each failure, so that a clean run pays no per-value try.
        records: list[Record] = []
        failures: list[Failure] = []
        append, decode = records.append, self.decode
        start, total = 0, len(payloads)
        while start < total:
            before = len(records)
            try:
                for payload in payloads[start:] if start else payloads:
                    append(decode(payload))
                break
            except DecodeError as err:
                failed_at = start + len(records) - before
                failures.append(Failure(failed_at, str(err), None))
                start = failed_at + 1
        return records, failures


def _surviving(total: int, failures: list[Failure]) -> list[int]:
    """The input indexes that did not fail, in order: the input index of each record."""
    failed = {f.index for f in failures}
    return [i for i in range(total) if i not in failed]


class JsonDecoder(ValueDecoder):
    """One JSON object per value (a line of a JSON Lines file, or a Kafka message)."""

    def decode(self, payload: bytes) -> Record:
        try:
            record = orjson.loads(payload)
        except orjson.JSONDecodeError as err:
            raise DecodeError(f"not valid JSON ({err.msg} at column {err.colno})") from None
        if type(record) is not dict:
            raise DecodeError(f"a JSON {json_kind(record)}, not an object")
        return record

    def _decode_each(self, payloads: list[bytes]) -> tuple[list[Record], list[Failure]]:
        # Fast path: one C-level pass; on any surprise, the value-by-value loop finds the culprits.
        try:
            records = list(map(orjson.loads, payloads))
        except orjson.JSONDecodeError:
            return ValueDecoder._decode_each(self, payloads)
        if records and set(map(type, records)) != {dict}:
            return ValueDecoder._decode_each(self, payloads)
        return records, []


def json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return type(value).__name__


def _json_default(value: Any) -> Any:
    """Values orjson cannot write itself: bytes as base64 text, decimals as numbers."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
_ORJSON_INTS = (-(2**63), 2**64 - 1)  # the integers orjson writes itself
_CONTAINERS = (dict, list, tuple, set, frozenset)


def encode_json(record: Any) -> bytes:
    """A record as compact JSON (no newline): the one JSON writer of every sink.

    Every value a source can read can be written: an integer beyond 64 bits is written as the
    exact JSON number, a value nested deeper than orjson goes (255 levels) is written all the
    same, and a non-finite float (NaN, infinity) is `null`, as orjson writes it.
    """
    try:
        return orjson.dumps(record, default=_json_default, option=_JSON_OPTIONS)
    except orjson.JSONEncodeError:  # a big int or deep nesting: the slow, exact writer
        return _encode_slowly(record)


def encode_json_line(record: Any) -> bytes:
    try:
        return orjson.dumps(
            record, default=_json_default, option=_JSON_OPTIONS | orjson.OPT_APPEND_NEWLINE
        )
    except orjson.JSONEncodeError:
        return _encode_slowly(record) + b"\n"


def int_text(value: int) -> str:
    """The decimal digits of any int, also beyond Python's 4300-digit `str` limit."""
    try:
        return str(value)
    except ValueError:
        sign, value = ("-", -value) if value < 0 else ("", value)
        chunks = []
        while value:
            value, chunk = divmod(value, 10**1000)
            chunks.append(chunk)
        return sign + str(chunks[-1]) + "".join(f"{c:01000d}" for c in reversed(chunks[:-1]))


def _leaf(value: Any) -> bytes:
    if isinstance(value, int) and not _ORJSON_INTS[0] <= value <= _ORJSON_INTS[1]:
        return int_text(int(value)).encode()  # (bools are 0 and 1: never here)
    return orjson.dumps(value, default=_json_default, option=_JSON_OPTIONS)


def _key(key: Any) -> bytes:
    if not isinstance(key, str):
        text = _leaf(key).decode()
        key = text[1:-1] if text.startswith('"') else text
    return orjson.dumps(key)


def _encode_slowly(record: Any) -> bytes:
    """`record` as JSON without a recursion limit, big ints exact; orjson for the leaves."""
    out: list[bytes] = []
    path: set[int] = set()  # the containers being written: a value that contains itself
    # work items: a value to write, a _Token to emit, or a container to leave
    work: list[Any] = [record]
    while work:
        item = work.pop()
        if type(item) is _Token:
            out.append(item)
            continue
        if type(item) is _Leave:
            path.discard(item.ident)
            continue
        if not isinstance(item, _CONTAINERS):
            out.append(_leaf(item))
            continue
        if id(item) in path:
            raise ValueError("a record that contains itself cannot be written as JSON")
        path.add(id(item))
        todo: list[Any] = [_Leave(id(item))]
        if isinstance(item, dict):
            out.append(b"{")
            todo.append(_Token(b"}"))
            for n, (key, value) in enumerate(reversed(list(item.items()))):
                todo.append(value)
                todo.append(_Token(_key(key) + b":"))
                if n < len(item) - 1:
                    todo.append(_Token(b","))
        else:
            out.append(b"[")
            todo.append(_Token(b"]"))
            items = list(item)
            for n, value in enumerate(reversed(items)):
                todo.append(value)
                if n < len(items) - 1:
                    todo.append(_Token(b","))
        work += todo
    return b"".join(out)


class _Token(bytes):
    """JSON text to emit as is (a value of type bytes is a value: base64 text)."""


@dataclass(slots=True, frozen=True)
class _Leave:
    ident: int
