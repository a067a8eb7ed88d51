"""CSV in and out.

Source: the first row is the header. With a stream `schema`, a first row that does not name the
schema's fields (all required ones, or only declared ones) is data, and the schema's field order
names the columns (so headerless files, like the benchmark generator's, work). Cells are
converted to the schema's types; without a schema, a cell is a number exactly when it is written
as JSON writes numbers (`7`, `-2.5`, `1e3`; not `007`, `+1`, ` 7`, `inf`), and the rest stays
text. A cell that does not convert is left as text, so the schema check reports it
(`expected float, got string "abc"`). Numbers are finite: text that would overflow a double
(`1e400`) stays text. Lines may end in LF, CRLF or a bare CR. A quoted cell that is never closed
makes its first line a dead letter, and reading goes on with the next line.

Sink: the header is the first record's fields. A record that brings a new field rewrites the file
once with the wider header (earlier rows get empty cells), so no field is ever dropped.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from gress_cep.connectors.base import Batch, DeadLetter, Record, fsync_output, is_regular_file
from gress_cep.connectors.codec import encode_json, int_text
from gress_cep.connectors.dead_letter import file_form
from gress_cep.connectors.validation import Validator, set_aside_invalid
from gress_cep.dsl.ast import SchemaField, Stream
from gress_cep.errors import UserError

_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
# a number as JSON writes one: no sign but `-`, no leading zeros, no blanks, digits around a `.`
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
_BLOCK = 1 << 20

Convert = Callable[[str], Any]


def _number(text: str) -> Any:
    """An int or float when `text` is a number as JSON writes it, else `text` itself: `007`,
    `+1`, ` 7`, `1.` and `inf` stay text, so keys like `007` and `7` stay apart."""
    match = _JSON_NUMBER.fullmatch(text)
    if match is None:
        return text
    if match.group(1) is None and match.group(2) is None:
        try:
            return int(text)
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            return text
    return _finite(text)


def _finite(text: str) -> Any:
    """`text` as a float, or `text` itself when it overflows (`1e400`): numbers are finite."""
    value = float(text)
    return value if math.isfinite(value) else text


def _to_float(text: str) -> Any:
    return _finite(text) if _FLOAT.fullmatch(text) else text


def _to_int(text: str) -> Any:
    if not _INT.fullmatch(text):
        return text
    try:
        return int(text)
    except ValueError:  # more digits than Python converts
        return text


def _to_bool(text: str) -> Any:
    folded = text.lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    return text


_CONVERTERS: dict[str, Convert] = {
    "string": str,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "timestamp": _number,  # epoch ms, epoch seconds, or ISO-8601 text
}


def _converter(declared: SchemaField | None) -> Convert:
    """How to read one column's cells: by its declared type, or by guessing numbers."""
    if declared is None:
        return _number
    convert = _CONVERTERS[declared.type.text]
    if declared.nullable:
        return lambda text: None if text == "" else convert(text)
    return convert


class CsvSource:
    def __init__(
        self,
        path: str,
        stream: Stream | None,
        validator: Validator | None = None,
        start: dict[str, Any] | None = None,
    ) -> None:
        self.description = path
        self._file = open(path, "rb")  # noqa: SIM115 -- closed by close()
        self._validator = validator
        self._restart(0, 0)
        declared = {f.name.text: f for f in stream.schema} if stream and stream.schema else {}
        first = self._header()
        self._done = first is None
        self._position = {"offset": self._offset, "line": self._line}
        # a first row that is data (headerless file with a schema), returned by the first poll
        self._pending: list[str] | None = None
        if first and declared and not _is_header(first, declared):
            self._columns = list(declared)
            self._pending = first
            self._position = {"offset": 0, "line": 0}
        else:
            self._columns = first or []
            self._raw.clear()
        self._converters = [_converter(declared.get(column)) for column in self._columns]
        if start and int(start["offset"]) > 0:
            self._pending = None
            self._restart(int(start["offset"]), int(start["line"]))
            self._position = {"offset": self._offset, "line": self._line}

    def _restart(self, offset: int, line: int) -> None:
        """Read rows from byte `offset`, which starts line `line + 1`."""
        self._file.seek(offset)
        self._offset = offset  # bytes read by the row reader so far
        self._line = line  # lines read by the row reader so far
        self._raw: list[bytes] = []  # the lines of the row being read
        self._at_end = False  # the row reader asked for a line past the end of the file
        self._rows = csv.reader(self._text_lines())

    def _header(self) -> list[str] | None:
        try:
            first = next(self._rows, None)
        except csv.Error as err:
            raise UserError(f"{self.description}:1: the first row is not CSV ({err})") from None
        if first is not None and self._unterminated():
            raise UserError(
                f"{self.description}:1: the first row has a quote that is never closed",
                hint='a quoted cell must end with a quote: "a, b"',
            )
        return first

    def _text_lines(self) -> Iterator[str]:
        """The file's lines, each with its line end: LF, CRLF or a bare CR."""
        tail = b""
        while block := self._file.read(_BLOCK):
            lines = (tail + block).splitlines(keepends=True)
            # the last line may go on in the next block (a CR may be the first half of a CRLF)
            tail = lines.pop() if not lines[-1].endswith(b"\n") else b""
            yield from self._counted(lines)
        if tail:
            yield from self._counted([tail])
        self._at_end = True

    def _counted(self, lines: list[bytes]) -> Iterator[str]:
        for line in lines:
            self._offset += len(line)
            self._line += 1
            self._raw.append(line)
            yield line.decode("utf-8", "surrogateescape")

    def _unterminated(self) -> bool:
        """Whether the row just read ran into the end of the file inside a quoted cell."""
        if not self._at_end:
            return False
        lines = [line.decode("utf-8", "surrogateescape") for line in self._raw]
        try:
            for _ in csv.reader(lines, strict=True):
                pass
        except csv.Error as err:
            return "unexpected end of data" in str(err)
        return False

    def _skip_first_line(self, first_line: int) -> None:
        """Go on after the first line of the row just read (an unterminated quote swallowed
        the lines after it)."""
        offset = self._offset - sum(map(len, self._raw)) + len(self._raw[0])
        self._restart(offset, first_line)

    def partitions(self) -> list[int]:
        return [0]

    def poll(self, max_records: int, timeout_s: float) -> Batch | None:
        if self._done:
            return None
        records: list[Record] = []
        raws: list[bytes] = []
        origins: list[str] = []
        dead: list[DeadLetter] = []
        width = len(self._columns)
        while len(records) + len(dead) < max_records:
            row: list[str] | csv.Error | None
            if self._pending is not None:
                row, self._pending, first_line = self._pending, None, 1
            else:
                first_line = self._line + 1
                try:
                    row = next(self._rows, None)
                except csv.Error as err:  # e.g. a NUL byte; the reader goes on with the next line
                    row = err
            if row is None:
                self._done = True
                break
            origin = f"{self.description}:{first_line}"
            unterminated = self._unterminated()
            if len(self._raw) > 1 and (isinstance(row, csv.Error) or unterminated):
                # a quote opened on the first line and never closed: only that line is lost
                why = row if isinstance(row, csv.Error) else "it runs to the end of the file"
                reason = f"a quoted cell is never closed ({why})"
                dead.append(DeadLetter(self._raw[0], reason, origin))
                self._skip_first_line(first_line)
                continue
            raw = b"".join(self._raw)
            self._raw.clear()
            if isinstance(row, csv.Error):
                dead.append(DeadLetter(raw, f"not CSV ({row})", origin))
            elif not row:
                continue  # a blank line
            elif unterminated:
                reason = "a quoted cell is never closed (it runs to the end of the file)"
                dead.append(DeadLetter(raw, reason, origin))
            elif not raw.isascii() and not _is_utf8(raw):
                dead.append(DeadLetter(raw, "not valid UTF-8 text", origin))
            elif len(row) != width:
                reason = f"{len(row)} values for {width} columns ({', '.join(self._columns)})"
                dead.append(DeadLetter(raw, reason, origin))
            else:
                records.append(
                    {c: f(v) for c, f, v in zip(self._columns, self._converters, row, strict=True)}
                )
                raws.append(raw)
                origins.append(origin)
        self._position = {"offset": self._offset, "line": self._line}
        if self._validator is not None:
            valid, invalid = set_aside_invalid(
                self._validator, records, raws.__getitem__, origins.__getitem__
            )
            if invalid:
                kept = {id(r) for r in valid}
                origins = [o for r, o in zip(records, origins, strict=True) if id(r) in kept]
                records = valid
            dead += invalid
        return Batch(records, dead=dead, origin=origins.__getitem__)

    def position(self) -> dict[str, Any]:
        return dict(self._position)

    def commit(self, position: dict[str, Any]) -> None:
        """Files keep no consumer state: the checkpoint stores the position."""

    def close(self) -> None:
        self._file.close()


def _is_header(row: list[str], declared: dict[str, SchemaField]) -> bool:
    """A first row is a header when it names every required field, or only declared fields."""
    cells = set(row)
    required = {name for name, f in declared.items() if not f.nullable}
    return required <= cells or cells <= declared.keys()


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int_text(value)  # exact, however long
    if isinstance(value, float):
        return str(value) if math.isfinite(value) else ""  # NaN, infinity: null, as in JSON
    if isinstance(value, str):
        return value
    text = encode_json(value).decode()
    return text[1:-1] if text.startswith('"') else text  # bytes, dates: their text, unquoted


class CsvSink:
    """Its position is (columns, rows written); a resumed run keeps the header and that many
    rows of the file and appends after them."""

    def __init__(
        self, path: str, role: str = "matches", resume: dict[str, Any] | None = None
    ) -> None:
        self.description = path
        self._path = path
        self._columns: list[str] = []
        self._known: set[str] = set()
        self._dead_letters = role == "dead-letter"
        self._rows = 0
        # a device or a pipe (`-o /dev/null`, a FIFO) cannot be cut back or rewritten
        self._rewritable = not os.path.exists(path) or is_regular_file(path)
        if resume is not None:
            if self._rewritable:
                self._keep_prefix(list(resume["columns"]), int(resume["rows"]))
            else:
                self._columns = list(resume["columns"])
                self._known = set(self._columns)
                self._rows = int(resume["rows"])
        self._file = open(path, "a" if resume else "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._file)

    def _keep_prefix(self, columns: list[str], rows: int) -> None:
        with open(self._path, newline="", encoding="utf-8") as old:
            kept = list(itertools.islice(csv.reader(old), rows + 1 if columns else 0))
        if len(kept) < (rows + 1 if columns else 0):
            raise UserError(
                f"output {self._path} has fewer rows than the checkpoint says ({rows})",
                hint="it was changed since; start afresh with --fresh",
            )
        if columns:
            # the file may have been widened after the checkpoint: new columns only ever come
            # last, so the checkpoint's header and the first cells of each row are its content
            kept = [columns, *(row[: len(columns)] for row in kept[1:])]
        temporary = f"{self._path}.gress-tmp"
        with open(temporary, "w", newline="", encoding="utf-8") as new:
            csv.writer(new).writerows(kept)
        os.replace(temporary, self._path)
        self._columns = columns
        self._known = set(columns)
        self._rows = rows

    def position(self) -> dict[str, Any]:
        return {"columns": list(self._columns), "rows": self._rows}

    def prepare(self) -> dict[str, Any]:
        self.flush()
        fsync_output(self._file)
        return self.position()

    def commit(self, checkpoint_id: int) -> None:
        """Nothing to do: a file is final once prepared (a resumed run cuts it back to the
        position of the checkpoint it resumes from)."""

    def write(self, records: list[Record]) -> None:
        if self._dead_letters:
            records = [file_form(letter) for letter in records]
        for record in records:
            if not record.keys() <= self._known:
                self._widen([key for key in record if key not in self._known])
            self._writer.writerow([_cell(record.get(column)) for column in self._columns])
        self._rows += len(records)

    def _widen(self, new_columns: list[str]) -> None:
        had_rows = bool(self._columns)
        self._columns += new_columns
        self._known.update(new_columns)
        if not had_rows or not self._rewritable:
            # into a pipe the wider header can only come next, as a header line of its own
            self._writer.writerow(self._columns)
            return
        self._file.close()
        with open(self._path, newline="", encoding="utf-8") as old:
            rows = list(csv.reader(old))
        padding = [""] * len(new_columns)
        temporary = f"{self._path}.gress-tmp"
        with open(temporary, "w", newline="", encoding="utf-8") as new:
            writer = csv.writer(new)
            writer.writerow(self._columns)
            writer.writerows(row + padding for row in rows[1:])
        os.replace(temporary, self._path)
        self._file = open(self._path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._file)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()
