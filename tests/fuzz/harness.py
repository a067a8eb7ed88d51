"""What the fuzz tests and `tests/fuzz/run_fuzz.py` feed gress, and what they check.

Two kinds of input:

- **pattern texts**: files built from the grammar (random matches with quantifiers, modifiers,
  groups, alternation, conjunction, negation, windows; random conditions, clauses and `emit`),
  then mutated token by token, plus random token soup. Each goes through the front end
  (`diagnose`: parse and check), `gress explain` (the automaton, as text and JSON) and, when it
  checks, a run over a few events (the generated kernel). Only positioned diagnostics may come
  out: no exception, and no hang.
- **records**: valid records mutated value by value (types, sizes, times, names) and byte by
  byte (truncated lines, bad UTF-8, quotes, CR, NUL), written as JSON Lines, CSV or an Avro
  file, and read by the file sources into a pipeline with patterns and a window, whose outputs
  are written in the same format. Bad records may only become dead letters.

Every case runs under a wall-clock limit (`deadline`): a hang is a failure too.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
from click.testing import CliRunner
from hypothesis import strategies as st

import gress_cep
from gress_cep.cli.main import cli
from gress_cep.connectors import ConnectorConfig, open_sink, open_source
from gress_cep.dsl import ast, diagnose
from gress_cep.errors import UserError
from gress_cep.nfa.compiler import compile_pattern
from gress_cep.nfa.describe import describe
from gress_cep.runtime.job import Sinks
from gress_cep.runtime.pipeline import Pipeline
from gress_cep.runtime.plan import PlanOptions, build_plan

CASE_SECONDS = 20  # a case that takes longer hangs


class Hang(Exception):
    pass


@contextlib.contextmanager
def deadline(seconds: float = CASE_SECONDS) -> Iterator[None]:
    """Raise Hang in the main thread when the block runs longer than `seconds`."""

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no answer in {seconds}s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------------- pattern texts
def one_in(draw: st.DrawFn, n: int) -> bool:
    """True about once in n + 1 draws (hypothesis favours the ends of a range: not 0)."""
    return draw(st.integers(0, n)) == n // 2


VARIABLES = list("abcdefgh")
FIELDS = ["x", "y", "kind", "ts", "name", "amount", "`odd-name`", "x.y"]
LITERALS = [
    "0", "1", "-3", "2.5", "1e309", "-1e309", "1e-320", "99999999999999999999", '"a"', '""',
    '"\\\\d+"', '"é"', "true", "false", "null", "10s", "0ms", "36500d", "[1, 2]", '["a", "b"]',
    "[]",
]  # fmt: skip
COMPARISONS = ["==", "!=", "<", "<=", ">", ">="]
ARITHMETIC = ["+", "-", "*", "/", "%"]
FUNCTIONS = ["abs", "round", "floor", "ceil", "lower", "upper", "len", "hour", "minute",
             "dayofweek"]  # fmt: skip
AGGREGATES = ["count", "sum", "avg", "min", "max"]


@st.composite
def value(draw: st.DrawFn, variables: list[str], depth: int = 0) -> str:
    kind = draw(st.integers(0, 9 if depth < 3 else 2))
    if kind == 0:
        return draw(st.sampled_from(LITERALS))
    if kind in (1, 2):
        return draw(st.sampled_from(FIELDS))
    if kind == 3 and variables:
        return f"{draw(st.sampled_from(variables))}.{draw(st.sampled_from(FIELDS[:6]))}"
    if kind == 4 and variables:
        v = draw(st.sampled_from(variables))
        agg = draw(st.sampled_from(AGGREGATES))
        return f"count({v})" if agg == "count" else f"{agg}({v}.x)"
    if kind == 5 and variables:
        fn = draw(st.sampled_from(["first", "last", "prev"]))
        return f"{fn}({draw(st.sampled_from(variables))}).x"
    if kind == 6:
        fn = draw(st.sampled_from(FUNCTIONS))
        return f"{fn}({draw(value(variables, depth + 1))})"
    if kind == 7:
        fn = draw(st.sampled_from(["min", "max", "round", "startswith", "contains"]))
        a, b = draw(value(variables, depth + 1)), draw(value(variables, depth + 1))
        return f"{fn}({a}, {b})"
    a, b = draw(value(variables, depth + 1)), draw(value(variables, depth + 1))
    return f"({a} {draw(st.sampled_from(ARITHMETIC))} {b})"


@st.composite
def condition(draw: st.DrawFn, variables: list[str], depth: int = 0) -> str:
    kind = draw(st.integers(0, 8 if depth < 3 else 4))
    a = draw(value(variables))
    if kind <= 2:
        return f"{a} {draw(st.sampled_from(COMPARISONS))} {draw(value(variables))}"
    if kind == 3:
        items = draw(st.sampled_from(["[1, 2]", '["a", "b"]', "[]", "[null, 1e309]"]))
        return f"{a} {draw(st.sampled_from(['in', 'not in']))} {items}"
    if kind == 4:
        return draw(
            st.sampled_from(
                [f"{a} is null", f"{a} is not null", f'{a} matches "^[a-z]+$"',
                 f"{a} between 1 and 10", f'{a} not matches "(a*)*b"', "true", "x"]
            )
        )  # fmt: skip
    if kind == 5:
        return f"not ({draw(condition(variables, depth + 1))})"
    op = draw(st.sampled_from(["and", "or"]))
    return (
        f"({draw(condition(variables, depth + 1))}) {op} ({draw(condition(variables, depth + 1))})"
    )


LOOPS = ["*", "+", "{0,3}", "{2,}", "{1,3}", "{0,200}"]
TIMES = ["{2}", "{40}", "{5000}"]
QUANTIFIERS = ["", "", "", "", "?", *LOOPS, *TIMES]
BROKEN_QUANTIFIERS = ["{3,1}", "{0}"]
MODIFIERS = [" optional", " consecutive", " any", " greedy", ' until(kind == "r")',
             " consecutive greedy", ' any until(x > a.x)']  # fmt: skip
CONTIGUITY = [" -> ", " -> ", " , ", " ->> "]


@st.composite
def match_expr(draw: st.DrawFn, names: list[str], depth: int = 0) -> str:
    """A sequence of elements; each element a variable (maybe negated) or a group."""
    steps = []
    for i in range(draw(st.integers(1, 4))):
        if depth < 3 and one_in(draw, 4):
            inner = [draw(match_expr(names, depth + 1))]
            joiner = draw(st.sampled_from([" | ", " & ", None]))
            if joiner is not None:
                inner.append(draw(match_expr(names, depth + 1)))
            element = "(" + (joiner or "").join(inner) + ")"
        else:
            if not names:
                break
            element = names.pop(0)
            if i > 0 and one_in(draw, 5):
                steps.append("!" + element + ("+" if one_in(draw, 20) else ""))
                steps.append(draw(st.sampled_from(CONTIGUITY)))
                continue
        broken = one_in(draw, 40)
        quantifier = draw(st.sampled_from(BROKEN_QUANTIFIERS if broken else QUANTIFIERS))
        element += quantifier
        if one_in(draw, 2):
            fitting = MODIFIERS if quantifier in LOOPS else MODIFIERS[1:3]
            if quantifier in LOOPS + TIMES or one_in(draw, 9):
                element += draw(st.sampled_from(fitting))
        if i > 0 and one_in(draw, 8):
            element += f" within {draw(st.sampled_from(['1s', '2s', '30s', '1d']))}"
        steps.append(element)
        if i + 1 < 4:
            steps.append(draw(st.sampled_from(CONTIGUITY)))
    while steps and steps[-1] in CONTIGUITY:
        steps.pop()
    return "".join(steps) or "a"


SKIPS = ["", "skip no", "skip to next", "skip past last", "skip to first a", "skip to last a",
         "skip to last b"]  # fmt: skip
STREAMS = [
    "stream events\n    key k\n    time ts\n",
    "stream events\n    key k\n    time ts seconds\n    lateness 1s\n",
    "stream events\n    time ts\n",
    "stream events\n    key k\n",
    "stream events\n    key k\n    time ts\n    schema { k: string, ts: timestamp, x: float?, "
    "kind: string?, name: string? }\n",
]


@st.composite
def pattern_file(draw: st.DrawFn) -> str:
    """A pattern file from the grammar: usually valid, sometimes with a rule broken."""
    names = list(VARIABLES)
    match = draw(match_expr(names))
    used = [v for v in VARIABLES if v not in names]
    where = [
        f"        {v}: {draw(condition(used[: used.index(v) + 1]))}"
        for v in used
        if draw(st.integers(0, 3))
    ]
    lines = [draw(st.sampled_from(STREAMS)), "pattern p", f"    match {match}"]
    if where:
        lines += ["    where", *where]
    if not one_in(draw, 3):
        lines.append(f"    within {draw(st.sampled_from(['10s', '1m', '1d', '3s', '0s']))}")
    elif draw(st.booleans()):
        lines.append("    within 5s between events")
    skip = draw(st.sampled_from(SKIPS))
    if skip:
        lines.append(f"    {skip}")
    if draw(st.booleans()):
        items = [draw(value(used)) + f" as o{i}" for i in range(draw(st.integers(1, 3)))]
        lines.append("    emit " + ", ".join(items))
    if one_in(draw, 3):
        lines.append("    on timeout emit k")
    if one_in(draw, 5):
        lines.append("    ttl 1m")
    return "\n".join(lines) + "\n"


TOKENS = [
    *"()[]{}<>=!?*+-/%|&,.:;`\"#\\\n\t ",
    "->", "->>", "==", "!=", "<=", ">=", "=>", "&&", "||", "\n    ", "\n|", "\n->", "\nand ",
    "stream", "view", "pattern", "from", "partition by", "match", "where", "within", "skip",
    "to", "first", "last", "next", "past", "no", "emit", "on timeout emit", "key", "time",
    "seconds", "lateness", "idle", "schema", "select", "window", "tumbling", "sliding",
    "every", "session gap", "count", "aggregate", "having", "optional", "consecutive", "any",
    "greedy", "until(", "between", "events", "in", "is", "not", "null", "true", "false", "and",
    "or", "matches", "none", "prev(", "sum(", "a", "b", "x", "a.x", "!x", "b{2,}", "{0}",
    "{99999}", "{1,999999999}", "1e309", "99999999999999999999", "0s", "5sec", '"', '"abc"',
    "`", "\u00e9", "\u2192", "\x00", "\ufeff", "\r",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    tokens = [t for t in _split(text) if t]
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(tokens)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "swap", "duplicate"]))
        if kind == "insert":
            tokens.insert(at, draw(st.sampled_from(TOKENS)))
        elif tokens and kind == "delete":
            del tokens[min(at, len(tokens) - 1)]
        elif tokens and kind == "replace":
            tokens[min(at, len(tokens) - 1)] = draw(st.sampled_from(TOKENS))
        elif len(tokens) > 1 and kind == "swap":
            i = min(at, len(tokens) - 2)
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
        elif tokens:
            i = min(at, len(tokens) - 1)
            tokens[i:i] = tokens[i : i + draw(st.integers(1, 8))]
    return "".join(tokens)


def _split(text: str) -> list[str]:
    """Tokens of a pattern text, roughly: names, numbers, operators, white space."""
    out, word = [], ""
    for ch in text:
        if ch.isalnum() or ch == "_":
            word += ch
            continue
        out += [word, ch]
        word = ""
    return [*out, word]


token_soup = st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join)
pattern_texts = st.one_of(
    pattern_file(),
    pattern_file(),
    pattern_file().flatmap(mutated),
    pattern_file().flatmap(mutated),
    token_soup,
)

EVENTS = [
    {"k": k, "ts": 1000 * i + (k == "u2"), "kind": kind, "x": x, "y": i % 3, "name": name}
    for i, (k, kind, x, name) in enumerate(
        [
            ("u1", "a", 1, "a"), ("u1", "b", 5, "b"), ("u2", "a", None, "zz"),
            ("u1", "r", 2.5, None), ("u1", "c", -1, "c"), ("u2", "b", "7", "b"),
            ("u1", "b", 10**30, "b"), ("u1", "d", 0, ""), ("u2", "c", True, "c"),
            ("u1", "a", float("nan"), "a"),
        ]
    )
]  # fmt: skip


def check_pattern_text(text: str) -> str:
    """Front end, explain and (when the text checks) a run: only positioned diagnostics may
    come out. Returns what happened, for the figures."""
    program, diagnostics = diagnose(text, "fuzz.gress")
    for d in diagnostics:
        assert d.span.line >= 1 and d.span.column >= 1, d
        d.render("fuzz.gress", text)
    if program is None or any(d.severity == "error" for d in diagnostics):
        return "error"
    for pattern in program.of_type(ast.Pattern):
        nfa = compile_pattern(pattern, program.source)
        json.dumps(describe(nfa))
    explain_command(_FOLDER, text)  # the tree and the DOT output, as a user sees them
    with warnings_ignored():
        compiled = gress_cep.compile(text)
        if compiled.patterns:
            inputs = {name: [dict(e) for e in EVENTS] for name in compiled.streams}
            list(compiled.run(inputs, on_dead_letter=_ignore,
                              on_late=_ignore, on_timeout=_ignore))  # fmt: skip
    return "ok"


def _ignore(_: Any) -> None:
    return None


@contextlib.contextmanager
def warnings_ignored() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


_FOLDER = Path(tempfile.mkdtemp(prefix="gress-fuzz-explain-"))


def explain_command(folder: Path, text: str) -> None:
    """`gress explain` on a text, as a user runs it: no traceback, exit 0 or 1."""
    path = folder / "fuzz.gress"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for args in (["explain", str(path)], ["explain", "--dot", str(path)]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code in (0, 1), result.output
        assert "Traceback" not in result.output and "internal error" not in result.output, (
            result.output
        )


# ---------------------------------------------------------------------- records
GOOD_RECORD = {"k": "u1", "ts": 1_735_689_600_000, "kind": "a", "x": 1.5, "name": "n"}
ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 2**63, 10**30, -(10**30), 1.5, 1e308, -0.0, "", " ", "a",
    "007", "+1", "1e3", "1e400", "-1e400", "nan", "NaN", "inf", "-Infinity", "true", "null",
    "2025-01-01T00:00:00Z", "2025-13-45T99:99:99", "9999-12-31T23:59:59Z", "0001-01-01",
    "1735689600", "1735689600.5", "17356896000000000000000", "\u00e9\u2192", "\x00",
    "\ud800", "a\nb", "a,b", 'a"b', "a\rb", "x" * 5000, [], [1, "a"], {}, {"a": {"b": [1]}},
    1_735_689_600, 1_735_689_600.5, 1.7356896e12, 253_402_300_800_000, -62_135_596_800_000,
]  # fmt: skip
ODD_KEYS = ["", " ", "content-type", "1st", "k", "ts", "x.y", "\u00e9", "a" * 300, "__proto__"]


@st.composite
def mutated_record(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = dict(GOOD_RECORD)
    record["ts"] += draw(st.integers(-5000, 5000))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.integers(0, 4))
        field = draw(st.sampled_from(list(GOOD_RECORD)))
        if kind <= 1:
            record[field] = draw(st.sampled_from(ODD_VALUES))
        elif kind == 2:
            record.pop(field, None)
        elif kind == 3:
            record[draw(st.sampled_from(ODD_KEYS))] = draw(st.sampled_from(ODD_VALUES))
        else:
            record[field] = draw(
                st.one_of(st.integers(), st.floats(), st.text(max_size=20), st.booleans())
            )
    return record


def _json_line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, allow_nan=True, default=str).encode("utf-8", "surrogatepass")


ODD_BYTES = [b"\xff", b"\xc3", b"\x00", b"\r", b'"', b",", b"\\", b"{", b"]", b"\xef\xbb\xbf"]


@st.composite
def byte_mutation(draw: st.DrawFn, line: bytes) -> bytes:
    kind = draw(st.integers(0, 9))
    at = draw(st.integers(0, len(line)))
    if kind == 0:
        return line[:at]  # truncated
    if kind == 1:
        return line[:at] + draw(st.sampled_from(ODD_BYTES)) + line[at:]
    if kind == 2 and line:
        return line[:at] + line[at + 1 :]
    return line


@st.composite
def jsonl_file(draw: st.DrawFn, size: int) -> bytes:
    lines = []
    for _ in range(size):
        line = _json_line(draw(mutated_record()))
        if one_in(draw, 4):
            line = draw(byte_mutation(line))
        lines.append(line)
    ending = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    return ending.join(lines) + draw(st.sampled_from([b"", ending]))


def _csv_cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


@st.composite
def csv_file(draw: st.DrawFn, size: int) -> bytes:
    header = list(GOOD_RECORD)
    if one_in(draw, 5):
        header.append(draw(st.sampled_from(ODD_KEYS)))
    lines = [",".join(_csv_cell(h) for h in header).encode("utf-8", "surrogatepass")]
    for _ in range(size):
        record = draw(mutated_record())
        cells = [_csv_cell(record.get(h, "")) for h in header]
        if one_in(draw, 6):
            cells = cells[: draw(st.integers(0, len(cells)))] or [*cells, "extra"]
        line = ",".join(cells).encode("utf-8", "surrogatepass")
        if one_in(draw, 4):
            line = draw(byte_mutation(line))
        lines.append(line)
    ending = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    return ending.join(lines) + draw(st.sampled_from([b"", ending]))


AVRO_FIELD_TYPES: list[Any] = [
    "string", "long", "double", "boolean", ["null", "string", "long", "double"],
    {"type": "long", "logicalType": "timestamp-millis"},
    {"type": "long", "logicalType": "timestamp-micros"},
    {"type": "long", "logicalType": "local-timestamp-millis"},
    {"type": "array", "items": "long"}, {"type": "map", "values": "string"},
    {"type": "bytes"}, {"type": "fixed", "name": "F", "size": 2},
    {"type": "enum", "name": "E", "symbols": ["A", "B"]},
]  # fmt: skip


def _avro_value(draw: st.DrawFn, avro_type: Any) -> Any:
    name = avro_type if isinstance(avro_type, str) else None
    if isinstance(avro_type, list):
        return draw(st.sampled_from([None, "a", 1, 2.5, "2025-01-01T00:00:00Z"]))
    if isinstance(avro_type, dict):
        kind = avro_type["type"]
        if kind == "long":
            return draw(st.integers(-(2**62), 2**62))
        if kind == "array":
            return draw(st.lists(st.integers(-(2**62), 2**62), max_size=3))
        if kind == "map":
            return draw(st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2))
        if kind == "bytes":
            return draw(st.binary(max_size=5))
        if kind == "fixed":
            return b"ab"
        return draw(st.sampled_from(["A", "B"]))
    if name == "string":
        return draw(st.sampled_from(["u1", "", "a,b", "\u00e9", "1735689600", "2025-01-01"]))
    if name == "long":
        return draw(st.sampled_from([0, -1, 2**62, 1_735_689_600, 1_735_689_600_000]))
    if name == "double":
        return draw(st.sampled_from([0.0, 1.5, float("nan"), float("inf"), 1e308]))
    return draw(st.booleans())


@st.composite
def avro_file(draw: st.DrawFn, size: int) -> bytes:
    names = ["k", "ts", "kind", "x", "name", draw(st.sampled_from(["extra", "content_type"]))]
    types = {n: draw(st.sampled_from(AVRO_FIELD_TYPES)) for n in names}
    if draw(st.booleans()):
        types["ts"] = "long"
    if draw(st.booleans()):
        types["k"] = "string"
    fields = [
        {
            "name": n,
            "type": {**t, "name": f"{t['name']}_{n}"} if isinstance(t, dict) and "name" in t else t,
        }
        for n, t in types.items()
    ]  # named types (fixed, enum) are named once per field
    schema = {"type": "record", "name": "R", "fields": fields}
    records = [{n: _avro_value(draw, t) for n, t in types.items()} for _ in range(size)]
    for r in records:
        if types["ts"] == "long" and draw(st.integers(0, 2)):
            r["ts"] = 1_735_689_600_000 + draw(st.integers(-5000, 5000))
    out = io.BytesIO()
    codec = draw(st.sampled_from(["null", "deflate"]))
    sync = draw(st.sampled_from([64, 16000]))
    fastavro.writer(out, fastavro.parse_schema(schema), records, codec=codec, sync_interval=sync)
    data = bytearray(out.getvalue())
    for _ in range(draw(st.integers(0, 3))):  # corrupt bytes after the header
        if len(data) > 200:
            at = draw(st.integers(len(data) // 3, len(data) - 1))
            data[at] = draw(st.integers(0, 255))
    if one_in(draw, 5):
        data = data[: draw(st.integers(len(data) // 2, len(data)))]
    return bytes(data)


RECORD_RULES = [
    """stream events
    key k
    time ts

pattern p
    match a -> b+ -> c
    where
        a: kind == "a" or x > 1
        b: x >= a.x or hour(ts) < 12 or len(name) > 0
        c: sum(b.x) > 0 or name matches "^[a-z]+$"
    within 1m
    emit k, a.x as ax, count(b) as n, avg(b.x) as mean, c.ts - a.ts as took, name
       , c.x * 36500d as big, -c.x as neg, c.name + c.kind as joined
    on timeout emit k, a.x as ax

view w = events | window tumbling 2s | aggregate count() as n, sum(x) as s, min(x) as lo
       , max(name) as hi, distinct_count(kind) as kinds, first(x) as f, avg(x) as mean
""",
    """stream events
    key k
    time ts seconds
    lateness 2s
    schema { k: string, ts: timestamp, kind: string?, x: float?, name: string? }

pattern p
    partition by kind
    match a -> !b -> c
    where
        a: x > 0
        b: name == "b"
        c: x < a.x
    within 10s

view w = events | where x > 0 | window session gap 1s by k | aggregate count() as n, sum(x) as s
""",
]


def run_records(folder: Path, fmt: str, data: bytes, rules: str) -> dict[str, int]:
    """Read `data` (a file of format `fmt`) through the patterns and a window of `rules`,
    writing every output in the same format; return the counts."""
    source_path = folder / f"events.{fmt}"
    source_path.write_bytes(data)
    program = gress_cep.compile(rules).tree
    stream = program.of_type(ast.Stream)[0]
    plan = build_plan(program, PlanOptions(views=["w"], patterns=["p"]))
    config = ConnectorConfig()
    outputs = {}
    for role in ("matches", "timeouts", "late", "dead-letter"):
        path = folder / f"{role}.{fmt}"
        path.unlink(missing_ok=True)
        outputs[role] = open_sink(str(path), config, role=role)
    sinks = Sinks(outputs)
    counts = {"matches": 0, "dead letters": 0}
    try:
        try:
            source = open_source(str(source_path), stream, config)
        except UserError:
            return {"refused": 1}  # a clear message (a file that is not a CSV at all, ...)
        pipeline = Pipeline(plan, {"events": [source]})
        for out in pipeline.rounds():
            sinks.write(out)
            counts["matches"] += len(out.matches)
            counts["dead letters"] += len(out.dead_letters)
        pipeline.close()
        source.close()
    finally:
        for sink in outputs.values():
            sink.close()
    return counts


FORMATS = {"jsonl": jsonl_file, "csv": csv_file, "avro": avro_file}


def record_files(fmt: str, size: int) -> st.SearchStrategy[tuple[bytes, str]]:
    return st.tuples(FORMATS[fmt](size), st.sampled_from(RECORD_RULES))
