"""Zero cost when off: without --trace the generated kernel takes every event and the matcher
is the plain one; with it, the events of untraced keys still go to the kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gress_cep.nfa import trace
from gress_cep.nfa.matcher import Matcher

from .helpers import random_events, run, write_job

RULES = """pattern pairs
    from events
    match a -> b
    where a: kind == "a"
          b: kind == "b"
    within 10s
"""


@pytest.fixture
def kernel_events(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many events each call of the generated kernel (Matcher.feed) took."""
    calls: list[int] = []
    feed = Matcher.feed

    def counting(self: Matcher, ready: list[Any], *args: Any) -> int:
        calls.append(len(ready))
        return feed(self, ready, *args)

    monkeypatch.setattr(Matcher, "feed", counting)
    return calls


def test_without_trace_no_tracer_exists_and_the_kernel_takes_every_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_events: list[int]
) -> None:
    def no_tracer(self: Any) -> None:
        raise AssertionError("a tracer was made without --trace")

    monkeypatch.setattr(trace.PatternTracer, "__post_init__", no_tracer)
    rows = random_events(seed=1, n=200)
    rules, data = write_job(tmp_path, RULES, rows)
    run(rules, data, tmp_path / "o.jsonl")
    assert sum(kernel_events) == len(rows)


def test_with_trace_the_untraced_keys_still_go_to_the_kernel(
    tmp_path: Path, kernel_events: list[int]
) -> None:
    rows = random_events(seed=1, n=200)
    rules, data = write_job(tmp_path, RULES, rows)
    run(rules, data, tmp_path / "o.jsonl", "--trace", "k1", "--trace-output", str(tmp_path / "t"))
    assert sum(kernel_events) == sum(1 for r in rows if r["card"] != "k1")


def test_the_matcher_methods_are_the_plain_ones_without_trace(tmp_path: Path) -> None:
    from gress_cep.dsl import load_file
    from gress_cep.runtime.plan import PlanOptions, build_plan

    rules, _ = write_job(tmp_path, RULES, [])
    program, _ = load_file(rules)
    plan = build_plan(program, PlanOptions(base_dir=tmp_path))
    operator = plan.patterns["pairs"].operator
    assert operator.tracer is None
    assert "_emit" not in vars(operator.matcher) and "_expire" not in vars(operator.matcher)
