"""Issue 11 E.30: texts that used to end in an internal error (RecursionError, ValueError,
OverflowError) are positioned errors of `gress check` — and so of `gress detect` — at the place
where they cross a documented limit (docs/language.md, "Limits"); just inside the limits they
check, compile and run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gress_cep
from gress_cep.cli.main import cli
from gress_cep.dsl import diagnose
from gress_cep.dsl.parser import (
    MAX_DURATION_DAYS,
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_SIZE,
    MAX_GROUP_DEPTH,
    MAX_NUMBER_DIGITS,
    MAX_PATTERN_VARIABLES,
)

HEADER = "stream s\n    key k\n    time ts\n\n"


def pattern(match: str, conditions: dict[str, str], within: str = "1m") -> str:
    where = "".join(f"        {v}: {c}\n" for v, c in conditions.items())
    return (
        HEADER
        + f"pattern p\n    from s\n    match {match}\n    where\n{where}    within {within}\n"
    )


def variables(n: int, sep: str) -> str:
    return pattern(sep.join(f"v{i}" for i in range(n)), {f"v{i}": f"x > {i}" for i in range(n)})


# (name, text, the message, its line) — each of them was an internal error or passed the check
# and failed in detect
D = "nested too deeply"
CASES = [
    ("not x 3000", pattern("a", {"a": "not " * 3000 + "x > 1"}), D, 9),
    ("200 nested groups", pattern("(" * 200 + "a" + ")" * 200, {"a": "x > 1"}), "groups", 7),
    (
        "an and chain of 20000 terms",
        pattern("a", {"a": " and ".join(f"x > {i}" for i in range(20_000))}),
        "too large",
        9,
    ),
    ("3000 sequence variables", variables(3000, " -> "), "at most 1,000 variables", 7),
    ("3000 alternatives", variables(3000, " | "), "at most 1,000 variables", 7),
    ("an int of 5000 digits", pattern("a", {"a": "x > " + "9" * 5000}), "digits", 9),
    ("a float of 5000 digits", pattern("a", {"a": "x > 0." + "9" * 5000}), "digits", 9),
    ("a count of 5000 digits", pattern("a{" + "9" * 5000 + "}", {"a": "x > 1"}), "digits", 7),
    ("within of 400 digits", pattern("a", {"a": "x > 1"}, "9" * 400 + "s"), "too long", 10),
    ("within beyond the limit", pattern("a", {"a": "x > 1"}, "36501d"), "too long", 10),
    ("a 400-digit duration", pattern("a", {"a": "ts < " + "9" * 400 + "ms"}), "too long", 9),
    ("regex a{4294967296}", pattern("a", {"a": 'name matches "a{4294967296}"'}), "regular", 9),
    ("a deep regex", pattern("a", {"a": f'name matches "{"(" * 2000}{")" * 2000}"'}), "regular", 9),
    ("a 200-deep list", pattern("a", {"a": "x in " + "[" * 200 + "1" + "]" * 200}), D, 9),
    ("a 3000-deep field path", pattern("a", {"a": "x" + ".y" * 3000 + " is null"}), D, 9),
    ("abs() 3000 deep", pattern("a", {"a": "abs(" * 3000 + "x" + ")" * 3000 + " > 1"}), D, 9),
    ("a view's where 3000 deep", HEADER + "view v = s | where " + "not " * 3000 + "x > 1\n", D, 5),
]


@pytest.mark.parametrize(
    ("text", "message", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_beyond_a_limit_is_a_positioned_error_of_check(text: str, message: str, line: int) -> None:
    _, diagnostics = diagnose(text, "t.gress")
    errors = [d for d in diagnostics if d.severity == "error"]
    assert errors, "no error"
    assert message in errors[0].message
    assert errors[0].span.line == line and errors[0].span.column >= 1


@pytest.mark.parametrize(
    ("text", "message", "line"), [c[1:] for c in CASES[:6]], ids=[c[0] for c in CASES[:6]]
)
def test_check_and_detect_report_it_without_a_traceback(
    tmp_path: Path, text: str, message: str, line: int
) -> None:
    path = tmp_path / "t.gress"
    path.write_text(text)
    events = tmp_path / "e.jsonl"
    events.write_text('{"k": 1, "ts": 1, "x": 5}\n')
    for args in (
        ["check", str(path)],
        ["detect", str(path), "-i", str(events), "--checkpoint-interval", "off"],
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1
        assert "internal error" not in result.output and "Traceback" not in result.output
        assert re.search(rf"t\.gress:{line}:\d+: error: .*{re.escape(message)}", result.output), (
            result.output
        )


def test_a_statement_beyond_a_limit_does_not_hide_the_errors_of_the_others() -> None:
    text = pattern("a", {"a": "not " * 100 + "x > 1"}) + "\npattern q\n    from nope\n    match a\n"
    _, diagnostics = diagnose(text, "t.gress")
    assert [
        (d.span.line, d.message.split(":")[0]) for d in diagnostics if d.severity == "error"
    ] == [
        (9, "expression nested too deeply"),
        (13, "unknown stream or view 'nope' in pattern 'q'"),
    ]


def nested(kind: str, levels: int) -> str:
    """An expression with exactly `levels` levels of operators."""
    inner = levels - 1  # the comparison at the top is one
    match kind:
        case "not":
            return "not " * inner + "x > 1"
        case "arithmetic":
            text = "x"
            for _ in range(inner):
                text = f"(1 + {text})"
            return text + " > 1"
        case "calls":
            return "abs(" * inner + "x" + ")" * inner + " > 1"
        case "fields":
            return "x" + ".y" * inner + " is null"
        case "comparisons":
            text = "x > 1"
            for _ in range(inner):
                text = f"({text}) == true"
            return text
        case "mixed":
            text = "x"
            for i in range(inner):
                text = ["(1 + {})", "abs({})", "(2 * {})", "-({})"][i % 4].format(text)
            return text + " > 1"
    raise AssertionError(kind)


KINDS = ["not", "arithmetic", "calls", "fields", "comparisons", "mixed"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_depth_limit_is_exact(kind: str) -> None:
    at = pattern("a", {"a": nested(kind, MAX_EXPRESSION_DEPTH)})
    beyond = pattern("a", {"a": nested(kind, MAX_EXPRESSION_DEPTH + 1)})
    assert [d for d in diagnose(at, "t.gress")[1] if d.severity == "error"] == []
    assert "nested too deeply" in diagnose(beyond, "t.gress")[1][0].message


@pytest.mark.parametrize("kind", KINDS)
def test_the_deepest_and_largest_conditions_allowed_compile_and_run(kind: str) -> None:
    """At the depth limit, inside an and chain as long as the size limit allows (the chain is
    one level, and is compiled as a balanced tree), in a condition the NFA kernel inlines, in
    an `until` and in `emit`: the generated Python compiles and gives the right answer."""
    deep = nested(kind, MAX_EXPRESSION_DEPTH - 1)
    chain = " and ".join(
        [f"({deep})", *(f"z{i} is null" for i in range(MAX_EXPRESSION_SIZE // 2 - 100))]
    )
    emit = "    emit a.x as ax, count(b) as n\n"
    text = pattern("a -> b+ until(" + deep + " and q == 1)", {"a": chain, "b": deep}) + emit
    # every condition is true of every event: the same matches as with plain conditions
    plain = pattern("a -> b+ until(q == 1)", {"a": "true", "b": "true"}) + emit
    events = [{"k": 1, "ts": t, "x": 5, "q": 0} for t in (1, 2, 3)]
    if kind == "fields":
        events = [{**e, "x": None} for e in events]
    matches = list(gress_cep.compile(text).run({"s": events}))
    assert matches == list(gress_cep.compile(plain).run({"s": events}))
    assert matches


def test_a_long_and_chain_is_fine_and_keeps_its_order() -> None:
    """5000 conditions (an internal error before): checks, and short-circuits left to right."""
    terms = [f"x > {i}" for i in range(4999)] + ["y == 1"]
    program = gress_cep.compile(pattern("a", {"a": " and ".join(terms)}))
    events = [{"k": 1, "ts": 1, "x": 5000, "y": 1}, {"k": 1, "ts": 2, "x": 10, "y": 1}]
    assert [m["a"]["ts"] for m in program.run({"s": events})] == [1]


def test_at_the_other_limits_it_checks() -> None:
    assert_ok = _assert_no_error
    assert_ok(pattern("(" * MAX_GROUP_DEPTH + "a" + ")" * MAX_GROUP_DEPTH, {"a": "x > 1"}))
    assert_ok(variables(MAX_PATTERN_VARIABLES, " -> "))
    assert_ok(pattern("a", {"a": "x > " + "9" * MAX_NUMBER_DIGITS}))
    assert_ok(pattern("a", {"a": "x > 1"}, f"{MAX_DURATION_DAYS}d"))
    assert_ok(pattern("a", {"a": 'name matches "a{4294967294}"'}))


def _assert_no_error(text: str) -> None:
    assert [d.message for d in diagnose(text, "t.gress")[1] if d.severity == "error"] == []


def test_duration_flags_beyond_the_limit_are_usage_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.gress"
    path.write_text(pattern("a", {"a": "x > 1"}))
    result = CliRunner().invoke(
        cli, ["detect", str(path), "-i", str(path), "--checkpoint-interval", "9" * 400 + "s"]
    )
    assert result.exit_code == 1
    assert "internal error" not in result.output and "not a duration" in result.output


# ---------------------------------------------------------------------- random nesting
_ATOMS = ["x", "1", "1e309", '"s"', "a.x", "null", "true", "x.y", "2m"]
_WRAPS = [
    "not {}",
    "({})",
    "-{}",
    "{} + 1",
    "1 * {}",
    "abs({})",
    "{} > 1",
    "{} == x",
    "{} is null",
    "{} in [1, {}]",
    "{} between 1 and 2",
    "{} and y",
    "z or {}",
    "[{}]",
    "{}.f",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    atom=st.sampled_from(_ATOMS),
    wraps=st.lists(st.sampled_from(_WRAPS), min_size=0, max_size=400),
    groups=st.integers(min_value=0, max_value=80),
)
def test_random_nesting_never_fails_inside(atom: str, wraps: list[str], groups: int) -> None:
    """Whatever the nesting, the front end answers with diagnostics (never an exception), and
    a file that checks compiles: the runtime builds it without an internal error."""
    expr = atom
    for wrap in wraps:
        expr = wrap.replace("{}", f"({expr})", 1).replace("{}", "x")
    text = pattern("(" * groups + "a" + ")" * groups + " -> b", {"a": expr, "b": "x > 1"})
    program, diagnostics = diagnose(text, "t.gress")
    if any(d.severity == "error" for d in diagnostics):
        assert all(d.span.line >= 1 for d in diagnostics)
        return
    assert program is not None
    compiled = gress_cep.compile(text)
    list(compiled.run({"s": [{"k": 1, "ts": 1, "x": 2, "y": True}]}))
