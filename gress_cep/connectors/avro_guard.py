"""Avro bytes that declare more than they hold: refused before fastavro reads them.

An Avro array or map starts with a declared item count. fastavro reads the items one by one, so
items that take bytes run out of input soon enough (an EOFError); but items that take **no**
bytes (`null`, a record of nulls, a zero-size `fixed`) do not: a value of a few bytes declaring
2^62 of them makes the reader append nulls until memory runs out (Java Avro's CVE-2023-39410).

The rule gress applies: the arrays and maps of one value may declare, all counted together, at
most as many items as the value has bytes, plus EMPTY_ITEMS (65,536) for items that take no
bytes. So a value of n bytes never makes more than n + 65,536 items, however its arrays nest.
Only writer schemas with an array of items that can take no bytes are checked
(`CountGuard.for_schema` is None for the others: there every item takes a byte and fastavro runs
out of input first), so the common schemas pay nothing. A container file's blocks are held to a
like rule by the file source: no more records than bytes.
"""

from __future__ import annotations

from typing import Any

_PRIMITIVE_SIZE = {
    "null": 0,
    "boolean": 1,
    "int": 1,
    "long": 1,
    "float": 4,
    "double": 8,
    "bytes": 1,
    "string": 1,
}


EMPTY_ITEMS = 1 << 16


class AvroLimitError(ValueError):
    """A value declares more items than its bytes can hold; the message is the reason."""


class _Truncated(Exception):
    """The value ends early: fastavro reports that itself."""


def _named_types(schema: Any, namespace: str = "", out: dict[str, Any] | None = None) -> dict:
    """Every named type (record, enum, fixed) of `schema`, by full and by short name."""
    out = {} if out is None else out
    if isinstance(schema, list):
        for branch in schema:
            _named_types(branch, namespace, out)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "error", "enum", "fixed") and isinstance(schema.get("name"), str):
            name = schema["name"]
            space = name.rsplit(".", 1)[0] if "." in name else schema.get("namespace", namespace)
            full = name if "." in name or not space else f"{space}.{name}"
            out[full] = schema
            out.setdefault(full.rsplit(".", 1)[-1], schema)
            namespace = space or ""
        for key in ("fields", "items", "values"):
            value = schema.get(key)
            if key == "fields" and isinstance(value, list):
                for field in value:
                    if isinstance(field, dict):
                        _named_types(field.get("type"), namespace, out)
            elif value is not None:
                _named_types(value, namespace, out)
        if isinstance(kind, dict | list):
            _named_types(kind, namespace, out)
    return out


class CountGuard:
    """Walks one encoded value of a schema and checks each declared count against the bytes
    left. Build it with `for_schema`, which says whether a schema needs it at all."""

    def __init__(self, schema: Any, names: dict[str, Any]) -> None:
        self.schema = schema
        self.names = names
        self._budget = 0

    @classmethod
    def for_schema(cls, schema: Any) -> CountGuard | None:
        """A guard when `schema` has an array of items that may take no bytes, else None."""
        guard = cls(schema, _named_types(schema))
        return guard if guard._has_empty_items(schema, set()) else None

    def check(self, data: bytes | bytearray | memoryview, pos: int = 0) -> None:
        """Raise AvroLimitError when the value at `data[pos:]` declares more items than the
        bytes it has left. A value that ends early passes: the reader reports it."""
        self._budget = len(data) - pos + EMPTY_ITEMS  # items the value may still declare
        try:
            self._walk(self.schema, memoryview(data), pos)
        except (_Truncated, IndexError):
            return
        except RecursionError:
            raise AvroLimitError("the value is nested too deeply to be read") from None

    # ------------------------------------------------------------------ the schema
    def _resolve(self, schema: Any) -> Any:
        while isinstance(schema, str) and schema not in _PRIMITIVE_SIZE:
            named = self.names.get(schema) or self.names.get(schema.rsplit(".", 1)[-1])
            if named is None:
                return "null"  # an unknown name: fastavro refuses the schema itself
            schema = named
        if isinstance(schema, dict) and isinstance(schema.get("type"), str | list | dict):
            kind = schema["type"]
            if kind not in ("record", "error", "enum", "fixed", "array", "map"):
                return self._resolve(kind)  # {"type": "long", "logicalType": ...}
        return schema

    def _min_size(self, schema: Any, seen: set[int]) -> int:
        """The fewest bytes a value of `schema` takes."""
        schema = self._resolve(schema)
        if isinstance(schema, str):
            return _PRIMITIVE_SIZE[schema]
        if isinstance(schema, list):
            return 1  # the branch index
        kind = schema.get("type")
        if kind == "fixed":
            return int(schema.get("size", 0))
        if kind in ("record", "error"):
            if id(schema) in seen:
                return 1  # a record that holds itself does so through a union or an array
            seen = seen | {id(schema)}
            return sum(self._min_size(f.get("type"), seen) for f in schema.get("fields", []))
        return 1  # enum: the index; array, map: the count

    def _has_empty_items(self, schema: Any, seen: set[int]) -> bool:
        schema = self._resolve(schema)
        if isinstance(schema, list):
            return any(self._has_empty_items(branch, seen) for branch in schema)
        if not isinstance(schema, dict) or id(schema) in seen:
            return False
        seen.add(id(schema))
        kind = schema.get("type")
        if kind == "array":
            items = schema.get("items")
            return self._min_size(items, set()) == 0 or self._has_empty_items(items, seen)
        if kind == "map":
            return self._has_empty_items(schema.get("values"), seen)
        if kind in ("record", "error"):
            return any(self._has_empty_items(f.get("type"), seen) for f in schema["fields"])
        return False

    # ------------------------------------------------------------------ the bytes
    def _walk(self, schema: Any, data: memoryview, pos: int) -> int:
        schema = self._resolve(schema)
        if isinstance(schema, str):
            if schema in ("int", "long"):
                return _long(data, pos)[1]
            if schema in ("bytes", "string"):
                size, pos = _long(data, pos)
                if size < 0 or size > len(data) - pos:
                    raise _Truncated
                return pos + size
            return pos + _PRIMITIVE_SIZE[schema]
        if isinstance(schema, list):
            index, pos = _long(data, pos)
            if not 0 <= index < len(schema):
                raise _Truncated  # fastavro reports a bad branch index
            return self._walk(schema[index], data, pos)
        kind = schema.get("type")
        if kind in ("record", "error"):
            for field in schema.get("fields", []):
                pos = self._walk(field.get("type"), data, pos)
            return pos
        if kind == "enum":
            return _long(data, pos)[1]
        if kind == "fixed":
            return pos + int(schema.get("size", 0))
        if kind in ("array", "map"):
            return self._walk_blocks(schema, data, pos)
        return pos

    def _walk_blocks(self, schema: dict, data: memoryview, pos: int) -> int:
        is_map = schema.get("type") == "map"
        items = schema.get("values") if is_map else schema.get("items")
        while True:
            count, pos = _long(data, pos)
            if count == 0:
                return pos
            if count < 0:
                count = -count
                _, pos = _long(data, pos)  # the block's size in bytes
            self._budget -= count
            if self._budget < 0:
                what = "map" if is_map else "array"
                raise AvroLimitError(
                    f"an Avro {what} declares {count:,} items with {len(data) - pos:,} bytes "
                    f"left (a value's arrays and maps may hold as many items as it has bytes, "
                    f"plus {EMPTY_ITEMS:,})"
                )
            for _ in range(count):
                if is_map:
                    pos = self._walk("string", data, pos)
                pos = self._walk(items, data, pos)


def _long(data: memoryview, pos: int) -> tuple[int, int]:
    """A zig-zag varint at `pos`: its value and the position after it."""
    byte = data[pos]
    value = byte & 0x7F
    shift = 7
    pos += 1
    while byte & 0x80:
        if shift > 63:
            raise _Truncated  # longer than a long: fastavro reports it
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        shift += 7
        pos += 1
    return (value >> 1) ^ -(value & 1), pos
