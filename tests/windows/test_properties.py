"""Random records, batches and watermarks: the operator emits what the naive model computes.

Records come out of order (the watermark never passes a record not delivered yet, and no
record is delivered behind the watermark), with ties, gaps, nulls, several keys, values a sum
refuses and records without a key. The batches, the watermark's steps, key spills and restarts
from a checkpoint are all random: none of them may change the output.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gress_cep.state.memory import MemoryBackend

from .driver import Run, view
from .naive import EVERY_AGGREGATE, KINDS, Rec

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = st.sampled_from(["a", "b", "c", 7, None])
VALUES = st.one_of(st.integers(-5, 20), st.none(), st.just("text"))


@st.composite
def records(draw: st.DrawFn) -> list[tuple[int, dict[str, Any]]]:
    """Timed records in arrival order; a few have no key or a value `sum` refuses."""
    out = []
    for ts in draw(st.lists(st.integers(0, 60), max_size=30)):
        record: dict[str, Any] = {"ts": ts}
        if draw(st.integers(0, 9)):  # one in ten has no key field
            record["k"] = draw(KEYS)
        if draw(st.integers(0, 4)):  # one in five has no x field: null
            record["x"] = draw(VALUES)
        out.append((ts, record))
    return out


WINDOWS = st.one_of(
    st.integers(1, 12).map(lambda d: ("tumbling", f"tumbling {d}ms", (d,))),
    st.integers(1, 12).flatmap(
        lambda d: st.integers(1, d).map(lambda s: ("sliding", f"sliding {d}ms every {s}ms", (d, s)))
    ),
    st.integers(1, 10).map(lambda g: ("session", f"session gap {g}ms", (g,))),
    st.integers(1, 5).flatmap(
        lambda n: st.integers(1, n).map(lambda m: ("count", f"count {n} every {m}", (n, m)))
    ),
)


def expected(kind: str, params: tuple[int, ...], timed: list[tuple[int, dict[str, Any]]]):
    """What the naive model emits: records without `k` or with text in `x` are refused."""
    kept = [
        Rec(ts, seq, r["k"], r.get("x"))
        for seq, (ts, r) in enumerate(timed)
        if "k" in r and not isinstance(r.get("x"), str)
    ]
    return KINDS[kind](kept, *params)


def drive(run: Run, timed: list[tuple[int, dict[str, Any]]], data: st.DataObject) -> None:
    """Feed `timed` in random batches with random watermark steps (and random restarts)."""
    watermark = None
    i = 0
    while i < len(timed):
        size = data.draw(st.integers(1, len(timed) - i), label="batch")
        run.feed(timed[i : i + size])
        i += size
        if data.draw(st.booleans(), label="advance"):
            bound = min((ts for ts, _ in timed[i:]), default=100)
            low = bound if watermark is None else watermark
            watermark = data.draw(st.integers(min(low, bound), bound), label="watermark")
            run.watermark(watermark)
        if run.backend is not None and data.draw(st.integers(0, 3), label="restart") == 0:
            run.restart()
    run.finish()


@SETTINGS
@given(window=WINDOWS, timed=records(), data=st.data())
def test_every_window_kind_agrees_with_the_naive_model(window, timed, data) -> None:
    kind, text, params = window
    run = Run(view(f"{text} by k", EVERY_AGGREGATE))
    drive(run, timed, data)
    assert run.out == expected(kind, params, timed)
    refused = len(timed) - sum(1 for _, r in timed if "k" in r and not isinstance(r.get("x"), str))
    assert len(run.dead) == run.op.counts()["dead_letters"] == refused


@SETTINGS
@given(window=WINDOWS, timed=records(), data=st.data())
def test_spills_and_restarts_change_nothing(window, timed, data) -> None:
    kind, text, params = window
    run = Run(view(f"{text} by k", EVERY_AGGREGATE), backend=MemoryBackend(), max_keys=1)
    drive(run, timed, data)
    assert run.out == expected(kind, params, timed)
    assert run.registry.keys_in_memory() == len(run.op.keys.data)


@settings(max_examples=60, deadline=None)
@given(timed=records(), gap=st.integers(1, 10), data=st.data())
def test_sessions_do_not_depend_on_arrival_order(timed, gap, data) -> None:
    """The same records in another arrival order (delivered at once): the same sessions."""
    shuffled = data.draw(st.permutations(timed))
    runs = [Run(view(f"session gap {gap}ms by k", "count() as n, sum(x) as s")) for _ in "ab"]
    for run, order in zip(runs, (timed, shuffled), strict=True):
        run.feed(list(order)).finish()
    assert [r for _, r in runs[0].out] == [r for _, r in runs[1].out]


@settings(max_examples=60, deadline=None)
@given(timed=records(), data=st.data())
def test_a_window_without_by_groups_by_the_stream_key(timed, data) -> None:
    """The driver's stream has `key k`: without `by`, the same windows (the key included)."""
    keyed = Run(view("tumbling 10ms by k", "count() as n"))
    default = Run(view("tumbling 10ms", "count() as n"))
    for run in (keyed, default):
        drive(run, timed, data)
    assert keyed.out == default.out
