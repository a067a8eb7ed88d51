"""Test files for pattern files: TOML cases with inline input and expected output.

A test file holds `[[case]]` tables (docs/testing.md):

    [[case]]
    name = "three small payments then a big one fire card_testing"
    [case.input]
    payments = [ { card_id = "c1", ts = "2024-05-01T10:00:00Z", amount = 1.0 }, ... ]
    [case.expect]
    card_testing = [ { card_id = "c1" } ]
    login_takeover = []
    [case.timeouts]
    slow_journey = [ { key = "u1" } ]

tomllib reads the values but keeps no positions, so `TestFile` finds the lines itself: each
case's `[[case]]` header, and within a case the first line that assigns a name. Every problem is
a `Diagnostic` with the test file's line and column, rendered as `gress check` renders a pattern
file's.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gress_cep.dsl import ast
from gress_cep.dsl.checker import view_record_types
from gress_cep.dsl.errors import Diagnostic, did_you_mean
from gress_cep.dsl.match_structure import elements
from gress_cep.dsl.record_types import ANY, Type, from_schema, output_name
from gress_cep.dsl.record_types import Record as RecordType
from gress_cep.errors import UserError

Record = dict[str, Any]

CASE_KEYS = ("name", "input", "expect", "timeouts")
_CASE_HEADER = re.compile(r"^\s*\[\[\s*case\s*\]\]\s*(#.*)?$")
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
# the fields every match has, whatever its `emit` (docs/language.md §3.9)
MATCH_FIELDS = ("pattern", "key", "start", "end")


@dataclass(slots=True)
class Case:
    name: str
    index: int  # 0-based, in file order
    line: int  # of its `[[case]]` header
    inputs: dict[str, list[Record]] = field(default_factory=dict)
    expect: dict[str, list[Record]] = field(default_factory=dict)  # pattern or view -> records
    timeouts: dict[str, list[Record]] = field(default_factory=dict)  # pattern -> records


@dataclass(slots=True)
class TestFile:
    path: Path
    source: str
    cases: list[Case] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)  # shape, names, fields
    lines: list[str] = field(init=False)  # the source's lines, and the numbers of the
    case_lines: list[int] = field(init=False)  # `[[case]]` headers: read once, for positions

    def __post_init__(self) -> None:
        self.lines = self.source.splitlines()
        self.case_lines = [n for n, text in enumerate(self.lines, 1) if _CASE_HEADER.match(text)]

    @property
    def name(self) -> str:
        return str(self.path)

    def render(self) -> str:
        """Its problems as `gress check` shows a pattern file's."""
        return "\n".join(d.render(self.name, self.source) for d in self.problems)

    # ------------------------------------------------------------------ positions
    def span_of(self, case: Case | None, word: str | None = None, after: int = 0) -> ast.Span:
        """Where `word` is assigned (or opens a table) in `case`, at or after line `after`;
        the case's header when it is not found (or no word is asked for)."""
        if case is None:
            return ast.Span(1, 1, 1, 1)
        lines, headers = self.lines, self.case_lines
        end = headers[case.index + 1] - 1 if case.index + 1 < len(headers) else len(lines)
        if word is not None:
            quoted = re.escape(word)
            assigned = re.compile(
                rf"(?:^|[{{,\s.\[])(?P<w>{quoted}|\"{quoted}\"|'{quoted}')\s*(?:=|\])"
            )
            for n in range(max(case.line, after), end + 1):
                found = assigned.search(lines[n - 1])
                if found:
                    col = found.start("w") + 1
                    return ast.Span(n, col, n, col + len(found.group("w")))
        return ast.Span(case.line, 1, case.line, len(lines[case.line - 1]) + 1)


def find_test_files(rules: Path) -> list[Path]:
    """`rules.test.toml` and `rules.tests/*.toml` beside `rules.gress`."""
    stem = rules.name.removesuffix(".gress")
    single = rules.with_name(f"{stem}.test.toml")
    folder = rules.with_name(f"{stem}.tests")
    found = [single] if single.is_file() else []
    if folder.is_dir():
        found += sorted(folder.glob("*.toml"))
    return found


def read_test_file(path: Path) -> TestFile:
    """The cases of a test file, with the problems of its shape (a TOML syntax error, a case
    without a name, a list that is not of tables...). A missing file is a UserError."""
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"test file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read test file {path}: {err}") from None
    test_file = TestFile(path, source)
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as err:
        message = str(err)
        where = _TOML_POSITION.search(message)
        line, col = (int(where.group(1)), int(where.group(2))) if where else (1, 1)
        message = _TOML_POSITION.sub("", message).strip()
        test_file.problems.append(
            Diagnostic("error", f"not valid TOML: {message}", ast.Span(line, col, line, col + 1))
        )
        return test_file
    _Shape(test_file).read(data)
    return test_file


class _Shape:
    """Reads the TOML data into cases, noting every part that is not a case's."""

    def __init__(self, test_file: TestFile) -> None:
        self.file = test_file
        self.lines = test_file.case_lines

    def error(
        self, case: Case | None, word: str | None, message: str, hint: str | None = None
    ) -> None:
        self.file.problems.append(Diagnostic("error", message, self.file.span_of(case, word), hint))

    def read(self, data: dict[str, Any]) -> None:
        for key in data:
            if key != "case":
                self.file.problems.append(
                    Diagnostic(
                        "error",
                        f"unknown table or key '{key}'{did_you_mean(key, ['case']) or ''}",
                        _top_level_span(self.file.source, key),
                        hint="a test file holds [[case]] tables only",
                    )
                )
        cases = data.get("case", [])
        if not isinstance(cases, list) or not self.lines:
            if "case" in data:
                self.error(None, None, "'case' must be written [[case]] (a list of tables)")
            elif not data:  # an empty file tests nothing: most likely not what was meant
                self.error(
                    None,
                    None,
                    "the file holds no test case",
                    hint='a case is a [[case]] table: name = "...", [case.input], [case.expect]',
                )
            return
        seen: dict[str, int] = {}
        for index, table in enumerate(cases):
            line = self.lines[index] if index < len(self.lines) else self.lines[-1]
            case = Case(name=f"case {index + 1}", index=index, line=line)
            self.case(case, table)
            if case.name in seen:
                self.error(
                    case, "name", f"a case named '{case.name}' is on line {seen[case.name]} already"
                )
            seen.setdefault(case.name, case.line)
            self.file.cases.append(case)

    def case(self, case: Case, table: dict[str, Any]) -> None:
        for key in table:
            if key not in CASE_KEYS:
                self.error(
                    case,
                    key,
                    f"unknown key '{key}' in a case{did_you_mean(key, CASE_KEYS) or ''}",
                    hint="a case has: " + ", ".join(CASE_KEYS),
                )
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            self.error(case, "name" if "name" in table else None, 'every case needs a name = "..."')
        else:
            case.name = name
        case.inputs = self.record_lists(case, table, "input")
        case.expect = self.record_lists(case, table, "expect")
        case.timeouts = self.record_lists(case, table, "timeouts")
        if not case.inputs and "input" not in table:
            self.error(case, None, f"case '{case.name}' has no [case.input]")

    def record_lists(self, case: Case, table: dict[str, Any], part: str) -> dict[str, list[Record]]:
        value = table.get(part, {})
        if not isinstance(value, dict):
            self.error(case, part, f"'{part}' must be a table: [case.{part}]")
            return {}
        out: dict[str, list[Record]] = {}
        for name, records in value.items():
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                self.error(
                    case,
                    name,
                    f"'{name}' in [case.{part}] must be a list of records: "
                    f"{name} = [ {{ field = value, ... }}, ... ]",
                )
                continue
            out[name] = records
        return out


def _top_level_span(source: str, key: str) -> ast.Span:
    pattern = re.compile(rf"^\s*\[*\s*{re.escape(key)}\b|^\s*{re.escape(key)}\s*=")
    for n, text in enumerate(source.splitlines(), 1):
        if pattern.search(text):
            return ast.Span(n, 1, n, len(text) + 1)
    return ast.Span(1, 1, 1, 1)


# ---------------------------------------------------------------------- against the rules
def check_cases(
    test_file: TestFile, program: ast.Program, views: dict[str, RecordType]
) -> list[Diagnostic]:
    """What in the cases does not fit the pattern file: streams, patterns and views that do not
    exist, fields that their records cannot have. `views` are the views' record types (from
    the checker)."""
    streams = {s.name.text: s for s in program.of_type(ast.Stream)}
    patterns = {p.name.text: p for p in program.of_type(ast.Pattern)}
    problems: list[Diagnostic] = []

    def error(
        case: Case, word: str | None, message: str, hint: str | None = None, after: int = 0
    ) -> None:
        problems.append(Diagnostic("error", message, test_file.span_of(case, word, after), hint))

    for case in test_file.cases:
        for stream, records in case.inputs.items():
            declared = streams.get(stream)
            if declared is None:
                error(
                    case,
                    stream,
                    _no_such("stream", stream, streams, program.filename),
                    hint="streams in the file: " + (", ".join(streams) or "none"),
                )
                continue
            fields = from_schema(declared.schema) if declared.schema else None
            start = test_file.span_of(case, stream).line
            for unknown in _unknown_fields(records, fields):
                error(
                    case,
                    unknown,
                    f"stream '{stream}' has no field '{unknown}'"
                    f"{did_you_mean(unknown, fields.fields if fields else []) or ''}",
                    hint="its schema lists: " + ", ".join(fields.fields if fields else []),
                    after=start,
                )
        outputs: dict[str, RecordType | None] = {
            **{name: pattern_fields(p) for name, p in patterns.items()},
            **views,
        }
        for name, records in case.expect.items():
            if name not in outputs:
                error(
                    case,
                    name,
                    f"no pattern or view named '{name}' in {program.filename}"
                    f"{did_you_mean(name, outputs) or ''}",
                    hint="patterns: "
                    + (", ".join(patterns) or "none")
                    + "; views: "
                    + (", ".join(views) or "none"),
                )
                continue
            _fields_of_output(case, name, records, outputs[name], error, test_file)
        for name, records in case.timeouts.items():
            pattern = patterns.get(name)
            if pattern is None:
                error(
                    case,
                    name,
                    _no_such("pattern", name, patterns, program.filename),
                    hint="[case.timeouts] lists the timed-out partial matches of patterns",
                )
            elif pattern.timeout_emit is None:
                error(
                    case,
                    name,
                    f"pattern '{name}' has no 'on timeout emit': it writes no timeouts",
                    hint="add 'on timeout emit ...' to the pattern, or expect its matches "
                    "under [case.expect]",
                )
            else:
                _fields_of_output(
                    case, name, records, _emitted(pattern.timeout_emit), error, test_file
                )
    return problems


def _no_such(kind: str, name: str, known: Iterable[str], filename: str) -> str:
    return f"no {kind} named '{name}' in {filename}{did_you_mean(name, known) or ''}"


def _fields_of_output(
    case: Case,
    name: str,
    records: list[Record],
    fields: RecordType | None,
    error: Any,
    test_file: TestFile,
) -> None:
    start = test_file.span_of(case, name).line
    for unknown in _unknown_fields(records, fields):
        known = list(fields.fields) if fields else []
        error(
            case,
            unknown,
            f"'{name}' writes no field '{unknown}'{did_you_mean(unknown, known) or ''}",
            hint="its records have: " + ", ".join(known),
            after=start,
        )


def _unknown_fields(records: list[Record], fields: RecordType | None) -> Iterator[str]:
    """Top-level field names of `records` that a record of type `fields` cannot have (None or
    an open record: any name may exist)."""
    if fields is None or fields.open:
        return
    reported: set[str] = set()
    for record in records:
        for name in record:
            if fields.get(name) is None and name not in reported:
                reported.add(name)
                yield name


def pattern_fields(pattern: ast.Pattern) -> RecordType:
    """The fields of a pattern's matches: `pattern`, `key`, `start`, `end`, then the `emit`
    names, or, without `emit`, one per variable (its event, or a list of them)."""
    if pattern.emit is not None:
        return _emitted(pattern.emit)
    names: dict[str, Type] = dict.fromkeys(MATCH_FIELDS, ANY)
    if pattern.match is not None:
        variables = [
            element.atom.name
            for _, element in elements(pattern.match)
            if isinstance(element.atom, ast.VarRef) and not element.negated  # never in a match
        ]
        names.update(dict.fromkeys(variables, ANY))
    return RecordType(names)


def _emitted(items: tuple[ast.SelectItem, ...]) -> RecordType:
    names: dict[str, Type] = dict.fromkeys(MATCH_FIELDS, ANY)
    for item in items:
        name = item.alias.text if item.alias is not None else output_name(item.expr)
        if name is None:  # the checker refuses it: nothing more to say here
            return RecordType(open=True)
        names[name] = ANY
    return RecordType(names)


def checked_test_files(program: ast.Program, paths: list[Path]) -> list[TestFile]:
    """The test files read, each with its own problems and, when its shape is right, what
    does not fit the pattern file (for `gress test` and `gress check` alike)."""
    views = view_record_types(program)
    files = []
    for path in paths:
        test_file = read_test_file(path)
        test_file.problems += check_cases(test_file, program, views)
        test_file.problems.sort(key=lambda d: (d.span.line, d.span.column))
        files.append(test_file)
    return files
