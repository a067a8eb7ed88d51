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


# ---------------------------------------------------------------------- automaton size (E.29)
STATES = "would have more than 10,000 states"
SIZE_CASES = [
    ("a{1000000}", pattern("a{1000000}", {"a": "x > 1"}), "a{1000000}"),
    ("a{0,999999999}", pattern("a{0,999999999}", {"a": "x > 1"}), "a{0,999999999}"),
    ("a{10000,}", pattern("a{10000,} -> b", {"a": "x > 1"}), "a{10000,}"),
    (
        "((a{100}){100}){100}",
        pattern("((a{100}){100}){100}", {"a": "x > 1"}),
        "((a{100}){100}){100}",
    ),
    ("((a)+)+ 16 deep", pattern("(" * 15 + "a+" + ")+" * 15, {"a": "x > 1"}), "(((((("),
    (
        "an & of 9 parts",
        pattern("s -> (" + " & ".join("bcdefghij") + ")", {"s": "x > 1"}),
        "(b & c &",
    ),
    (
        "1000 variables each {11}",
        pattern(" -> ".join(f"v{i}{{11}}" for i in range(1000)), {"v0": "x > 1"}),
        "v",
    ),
]


@pytest.mark.parametrize(
    ("text", "at"), [c[1:] for c in SIZE_CASES], ids=[c[0] for c in SIZE_CASES]
)
def test_an_automaton_beyond_the_state_limit_is_a_positioned_error(text: str, at: str) -> None:
    """Counted loops and groups are unrolled: a bound that cannot be built is refused by the
    check (and so by explain and detect) at the element being built, quickly and in little
    memory, instead of hanging or running out of memory."""
    _, diagnostics = diagnose(text, "t.gress")
    errors = [d for d in diagnostics if d.severity == "error"]
    assert len(errors) == 1 and STATES in errors[0].message, errors
    assert errors[0].hint and "count(a)" in errors[0].hint
    line = text.splitlines()[errors[0].span.line - 1]
    assert line[errors[0].span.column - 1 :].startswith(at)


@pytest.mark.parametrize("command", ["check", "explain", "detect"])
def test_check_explain_and_detect_refuse_it_alike(tmp_path: Path, command: str) -> None:
    path = tmp_path / "t.gress"
    path.write_text(pattern("a -> ((b{100}){100}){100}", {"a": "x > 1"}))
    events = tmp_path / "e.jsonl"
    events.write_text('{"k": 1, "ts": 1, "x": 5}\n')
    args = [command, str(path)]
    if command == "detect":
        args += ["-i", str(events), "-o", str(tmp_path / "o.jsonl")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert re.search(rf"t\.gress:7:16: error: pattern 'p' .*{STATES}", result.output)
    assert "hint: use smaller counts" in result.output


UNDER_THE_LIMIT = [
    (
        "1000 variables each {3}",
        " -> ".join(f"v{i}{{3}}" for i in range(1000)),
        {f"v{i}": f"x > {i}" for i in range(1000)},
    ),
    ("a{9998}", "a{9998}", {"a": "x > 1"}),
    ("a{0,4990} -> b", "a{0,4990} -> b", {"a": "x > 1", "b": "x > 3"}),
    ("((a{20}){20}){20}", "((a{20}){20}){20}", {"a": "x > 1"}),
    ("((a)+)+ 12 deep", "(" * 11 + "a+" + ")+" * 11, {"a": "x > 1"}),
    (
        "999 alternatives in the middle",
        "a -> (" + " | ".join(f"v{i}" for i in range(997)) + ") -> z",
        {**{f"v{i}": f"x == {i}" for i in range(997)}, "a": "x == -1", "z": "x == -2"},
    ),
]


@pytest.mark.parametrize(
    ("match", "conditions"),
    [c[1:] for c in UNDER_THE_LIMIT],
    ids=[c[0] for c in UNDER_THE_LIMIT],
)
def test_under_the_state_limit_the_kernel_builds_and_runs(
    match: str, conditions: dict[str, str]
) -> None:
    """The largest automata the limit lets through build (the kernel dispatches to one
    function per state beyond an if/elif chain Python can compile) and find their matches."""
    text = pattern(match, conditions)
    _assert_no_error(text)
    events = [{"k": 1, "ts": t, "x": x} for t, x in enumerate([-1, 5, 5, -2], start=1)]
    list(gress_cep.compile(text).run({"s": events}))


def test_the_step_table_gives_the_same_matches_as_the_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The two forms of the kernel's step agree (the table is forced for a small automaton)."""
    from gress_cep.nfa import kernel

    text = (
        pattern(
            "a -> b{2,3} -> (c | d)+ -> e",
            {"a": "x == 1", "b": "x == 2", "c": "x == 3", "d": "x == 4", "e": "x == 5"},
        )
        + "    skip no\n"
    )
    xs = [1, 2, 9, 2, 2, 3, 4, 3, 5, 1, 2, 2, 4, 5]
    events = [{"k": 1, "ts": t, "x": x} for t, x in enumerate(xs, start=1)]
    chained = list(gress_cep.compile(text).run({"s": events}))
    monkeypatch.setattr(kernel, "MAX_CHAINED_STATES", 0)
    assert list(gress_cep.compile(text).run({"s": events})) == chained
    assert len(chained) > 3


def test_the_docs_limits_table_gives_the_limits_the_code_has() -> None:
    from gress_cep.nfa.compiler import MAX_NFA_STATES

    text = (Path(__file__).parents[2] / "docs" / "language.md").read_text()
    section = text[text.index("## Limits") : text.index("## Deviations")]
    rows = {
        cells[0]: cells[1]
        for line in section.splitlines()
        if line.startswith("| ") and len(cells := [c.strip() for c in line.split("|")[1:]]) > 2
    }
    assert rows["nesting of an expression"] == f"{MAX_EXPRESSION_DEPTH} levels"
    assert rows["size of an expression"] == f"{MAX_EXPRESSION_SIZE:,} operators"
    assert rows["groups inside groups in a `match`"] == f"{MAX_GROUP_DEPTH}"
    assert rows["variables in a `match`"] == f"{MAX_PATTERN_VARIABLES:,}"
    assert rows["states of a pattern's automaton"] == f"{MAX_NFA_STATES:,}"
    assert rows["digits of a number literal"] == f"{MAX_NUMBER_DIGITS}"
    assert rows["a duration"].startswith(f"`{MAX_DURATION_DAYS}d`")
