"""Time in every form users have it, one implausible time, keys nobody has, errors (issue 11:
B.7, B.8, B.9, D.20, D.23).

Every form of the same moment gives the same matches, with the time field as epoch ms wherever
an expression reads it; a record far ahead of the watermark and the clock is a dead letter
instead of making every later record late; a key field no record has is said once.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

import gress_cep
from gress_cep.connectors.base import Batch, DeadLetter
from gress_cep.runtime.pipeline import Pipeline
from gress_cep.runtime.plan import build_plan

T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z, a Wednesday

RULES = """stream payments
    key card
    time ts
    lateness 1s

pattern probe_then_big
    from payments
    match small{2,} -> big
    where small: amount < 2
          big: amount > 100 and ts - first(small).ts >= 2m and ts < first(small).ts + 1h
               and hour(ts) == 3 and minute(ts) == 4 and dayofweek(ts) == 3
    within 2h
    emit card, ts, first(small).ts as first_ts, big.ts - first(small).ts as took
"""


def payments(form) -> list[dict]:
    """Probes at 03:00:00 and 03:01:00, the big one at 03:04:00 (2025-01-01, UTC); a second
    card's in between, too quick (1 min) to match."""
    at = [
        ("c1", 3 * 3_600_000, 1.0),
        ("c2", 3 * 3_600_000 + 1_000, 1.0),
        ("c2", 3 * 3_600_000 + 2_000, 1.0),
        ("c1", 3 * 3_600_000 + 60_000, 1.5),
        ("c2", 3 * 3_600_000 + 62_000, 500.0),
        ("c1", 3 * 3_600_000 + 240_000, 900.0),
    ]
    return [{"card": card, "ts": form(T0 + ms), "amount": amount} for card, ms, amount in at]


def iso(ms: int, tz: timezone = UTC) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC).astimezone(tz) + timedelta(milliseconds=ms)


FORMS = {
    "epoch ms": lambda ms: ms,
    "epoch s (int)": lambda ms: ms // 1000,
    "epoch s (float)": lambda ms: ms / 1000,
    "epoch ms (float)": lambda ms: float(ms),
    "ISO-8601 Z": lambda ms: iso(ms).isoformat().replace("+00:00", "Z"),
    "ISO-8601 +02:00": lambda ms: iso(ms, timezone(timedelta(hours=2))).isoformat(),
    "ISO-8601 naive": lambda ms: iso(ms).replace(tzinfo=None).isoformat(),
    "digits": lambda ms: str(ms),
    "datetime aware": lambda ms: iso(ms, timezone(timedelta(hours=-5))),
    "datetime naive (UTC)": lambda ms: iso(ms).replace(tzinfo=None),
    "numpy int64": lambda ms: np.int64(ms),
    "numpy int64 seconds": lambda ms: np.int64(ms // 1000),
    "numpy float64": lambda ms: np.float64(ms / 1000),
    "numpy datetime64": lambda ms: np.datetime64(ms, "ms"),
    "numpy datetime64[us]": lambda ms: np.datetime64(ms * 1000, "us"),
}


def run(events: list[dict], **kw) -> list[dict]:
    return list(gress_cep.compile(RULES).run({"payments": events}, **kw))


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
def test_every_time_form_gives_the_same_match_with_epoch_ms_times(form: str) -> None:
    dead: list[DeadLetter] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gress_cep.GressWarning)  # seconds: said, tested below
        matches = run(payments(FORMS[form]), on_dead_letter=dead.append)
    assert dead == []
    big = T0 + 3 * 3_600_000 + 240_000
    assert matches == [
        {
            "pattern": "probe_then_big",
            "key": "c1",
            "start": T0 + 3 * 3_600_000,
            "end": big,
            "card": "c1",
            "ts": big,  # the time field reads as epoch ms in expressions and emit
            "first_ts": T0 + 3 * 3_600_000,
            "took": 240_000,
        }
    ]


def test_the_callers_records_are_left_as_they_were() -> None:
    events = payments(FORMS["ISO-8601 Z"])
    before = [dict(e) for e in events]
    assert len(run(events)) == 1
    assert events == before


def test_integer_seconds_are_read_as_seconds_and_gress_says_so_once_per_stream() -> None:
    with pytest.warns(gress_cep.GressWarning) as said:
        assert len(run(payments(FORMS["epoch s (int)"]))) == 1
    notes = [str(w.message) for w in said if "read as" in str(w.message)]
    assert len(notes) == 1
    assert "stream payments: time field 'ts' holds numbers like 1735700400" in notes[0]
    assert "read as epoch seconds (2025-01-01T03:00:00.000Z)" in notes[0]


def test_small_integers_stay_milliseconds_without_a_word() -> None:
    events = [{"card": "c", "ts": t, "amount": 1} for t in (0, 1500, 999_999_999)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", gress_cep.GressWarning)
        text = RULES.split("pattern")[0] + "pattern every\n    match e\n    emit ts\n"
        out = list(gress_cep.compile(text).run({"payments": events}))
    assert [m["ts"] for m in out] == [0, 1500, 999_999_999]


def test_time_functions_read_every_form_of_any_field() -> None:
    text = """stream s
    time ts

pattern p
    match e
    emit hour(created) as h, minute(created) as m, dayofweek(created) as d
"""
    at = T0 + 3 * 3_600_000 + 4 * 60_000  # Wednesday 03:04 UTC
    forms = [at, at // 1000, at / 1000, iso(at).isoformat(), iso(at, timezone(timedelta(hours=9)))]
    events = [{"ts": T0 + i, "created": f} for i, f in enumerate(forms)]
    out = list(gress_cep.compile(text).run({"s": events}))
    assert [(m["h"], m["m"], m["d"]) for m in out] == [(3, 4, 3)] * len(forms)


# ---------------------------------------------------------------- B.8: implausible times
SKEW = """stream payments
    key card
    time ts

pattern every
    match e
    emit card, ts
"""


def at(card: str, ts: object) -> dict:
    return {"card": card, "ts": ts}


def run_skew(events: list[dict], **kw) -> tuple[list[dict], list[DeadLetter], list[dict]]:
    dead: list[DeadLetter] = []
    late: list[dict] = []
    out = list(
        gress_cep.compile(SKEW).run(
            {"payments": events}, on_dead_letter=dead.append, on_late=late.append, **kw
        )
    )
    return out, dead, late


def test_a_far_future_time_is_a_dead_letter_and_the_rest_are_matched() -> None:
    events = [
        at("a", T0),
        at("b", "9999-12-31T00:00:00Z"),
        at("c", T0 + 1000),
        at("d", 1e300),
        at("e", T0 + 2000),
    ]
    out, dead, late = run_skew(events)
    assert [m["card"] for m in out] == ["a", "c", "e"]
    assert late == []
    assert [d.origin for d in dead] == ["payments[1]", "payments[3]"]
    assert dead[0].record == events[1]
    assert dead[0].reason == (
        "time field 'ts' is 9999-12-31T00:00:00.000Z: more than 1d ahead of the stream's "
        "watermark (2025-01-01T00:00:00.000Z) and of the clock (--max-time-skew 1d)"
    )
    assert dead[1].reason == "time field 'ts' is 1e+300: at or beyond the end of time (2^63 - 1 ms)"


def test_a_far_future_first_record_does_not_set_the_watermark() -> None:
    events = [at("x", "9999-01-01T00:00:00Z"), *(at(f"k{i}", T0 + i) for i in range(5))]
    out, dead, late = run_skew(events)
    assert len(out) == 5 and late == []
    assert [d.origin for d in dead] == ["payments[0]"]
    assert "ahead of the stream's watermark and of the clock" in dead[0].reason


def test_data_that_lies_in_the_future_as_a_whole_still_runs() -> None:
    future = 4_102_444_800_000  # 2100-01-01: synthetic data, hourly
    events = [at("a", future + i * 3_600_000) for i in range(48)]
    out, dead, late = run_skew(events)
    assert (len(out), dead, late) == (48, [], [])
    # with a gap beyond the bound, neither the watermark nor the clock vouches for it
    events.append(at("b", future + 30 * 86_400_000))
    out, dead, late = run_skew(events)
    assert (len(out), [d.origin for d in dead]) == (48, ["payments[48]"])
    assert len(run_skew(events, max_time_skew_ms=31 * 86_400_000)[0]) == 49


def test_a_gap_in_old_data_is_no_skew() -> None:
    """A quiet weekend in data of the past: far ahead of the watermark, not of the clock."""
    events = [at("a", T0), at("b", T0 + 3 * 86_400_000), at("c", T0 + 30 * 86_400_000)]
    out, dead, _ = run_skew(events)
    assert (len(out), dead) == (3, [])


def test_the_bound_is_configurable_and_can_be_turned_off() -> None:
    events = [at("a", T0), at("b", "9999-12-31T00:00:00Z"), at("c", T0 + 1000)]
    out, dead, late = run_skew(events, max_time_skew_ms=None)
    assert [m["card"] for m in out] == ["a", "b"] and dead == []
    assert [entry["record"]["card"] for entry in late] == ["c"]  # what the bound prevents
    in_3_days = int(datetime.now(UTC).timestamp() * 1000) + 3 * 86_400_000
    events = [at("a", T0), at("b", in_3_days), at("c", T0 + 1000)]
    out, dead, _ = run_skew(events)  # the default: 1d
    assert [m["card"] for m in out] == ["a", "c"]
    assert [d.origin for d in dead] == ["payments[1]"]
    out, dead, _ = run_skew(events, max_time_skew_ms=7 * 86_400_000)
    assert [m["card"] for m in out] == ["a", "b"] and dead == []


# ---------------------------------------------------------------- D.20: a key nobody has
def test_a_key_field_missing_in_every_record_is_said_once_with_the_count() -> None:
    events = [{"card_id": "c1", "ts": T0 + i, "amount": 1.0} for i in range(30)]
    with pytest.warns(gress_cep.GressWarning) as said:
        list(gress_cep.compile(SKEW).run({"payments": events}))
    notes = [str(w.message) for w in said if "key field" in str(w.message)]
    assert notes == [
        "stream payments: the key field 'card' is missing (or null) in all 30 records: "
        "they all go to one partition (key null); check the field name"
    ]


def test_a_key_field_missing_in_a_long_stream_is_said_after_the_first_thousand() -> None:
    text = SKEW.replace("    match e\n", "    partition by merchant\n    match e\n")
    events = [{"card": "c", "ts": T0 + i} for i in range(5000)]
    with pytest.warns(gress_cep.GressWarning) as said:
        list(gress_cep.compile(text).run({"payments": events}))
    notes = [str(w.message) for w in said if "key field" in str(w.message)]
    assert notes == [
        "stream payments: the key field 'merchant' is missing (or null) in all of the first "
        "5,000 records: they all go to one partition (key null); check the field name"
    ]


def test_no_word_when_some_records_have_the_key() -> None:
    events = [{"ts": T0 + i} for i in range(20)] + [{"card": "c", "ts": T0 + 20}]
    with warnings.catch_warnings():
        warnings.simplefilter("error", gress_cep.GressWarning)
        assert len(list(gress_cep.compile(SKEW).run({"payments": events}))) == 21


# ---------------------------------------------------------------- D.23: one base class
def test_every_error_of_the_api_is_a_gress_error() -> None:
    program = gress_cep.compile(SKEW)
    with pytest.raises(gress_cep.GressError, match="no stream named 'nope'"):
        list(program.run({"nope": []}))
    with pytest.raises(gress_cep.GressError, match="no pattern named"):
        list(program.run({"payments": []}, patterns=["nope"]))
    with pytest.raises(gress_cep.GressError) as caught:
        gress_cep.compile("stream s\npattern p\n    match a\n    where a: x >\n")
    assert isinstance(caught.value, gress_cep.PatternError) and caught.value.diagnostics
    with pytest.raises(gress_cep.GressError):
        gress_cep.compile("missing-file.gress")
    assert issubclass(gress_cep.UserError, gress_cep.GressError)


def test_dead_letters_without_a_callback_are_said() -> None:
    events = [at("a", T0), at("b", "not a time"), at("c", T0 + 1)]
    with pytest.warns(gress_cep.GressWarning, match="1 dead letters .* on_dead_letter="):
        assert len(list(gress_cep.compile(SKEW).run({"payments": events}))) == 2


def test_a_late_record_in_another_form_is_written_as_read_with_its_origin() -> None:
    events = [at("a", "2025-01-01T00:00:10Z"), at("b", "2025-01-01T00:00:01Z")]
    out, dead, late = run_skew(events)
    assert [m["card"] for m in out] == ["a"] and dead == []
    assert late == [
        {"stream": "payments", "origin": "payments[1]", "late_by_ms": 9000, "record": events[1]}
    ]


def test_far_ahead_records_among_late_and_bad_ones_are_each_counted_once() -> None:
    events = [
        at("a", T0 + 5000),
        at("b", "yesterday"),  # not a time: a dead letter
        at("c", T0),  # late
        at("d", "9999-01-01T00:00:00Z"),  # too far ahead
        at("e", (T0 + 6000) // 1000),  # integer seconds: said once
        at("f", T0 + 7000),
    ]
    with pytest.warns(gress_cep.GressWarning) as said:
        out, dead, late = run_skew(events)
    assert [m["card"] for m in out] == ["a", "e", "f"]
    assert sorted(d.record["card"] for d in dead) == ["b", "d"]
    assert [d.origin for d in dead if d.record["card"] == "d"] == ["payments[3]"]
    assert [entry["origin"] for entry in late] == ["payments[2]"]
    assert [str(w.message) for w in said].count(
        "stream payments: time field 'ts' holds numbers like 1735689606, read as epoch seconds "
        "(2025-01-01T00:00:06.000Z) by their size (integers from 1e9 to 1e11 are seconds; "
        "docs/language.md §2)"
    ) == 1


class TwoPartitions:
    """A source with Kafka's shape (records of two partitions per batch), in given batches."""

    description = "topic"

    def __init__(self, batches: list[list[dict]]) -> None:
        self.batches = batches

    def partitions(self) -> list[int]:
        return [0, 1]

    def poll(self, max_records: int, timeout_s: float) -> Batch | None:
        if not self.batches:
            return None
        records = self.batches.pop(0)
        return Batch(records, [i % 2 for i in range(len(records))])

    def position(self) -> dict:
        return {}

    def commit(self, position: dict) -> None:
        return None

    def close(self) -> None:
        return None


@pytest.mark.parametrize("shape", ["one input", "two partitions"])
def test_seconds_are_read_as_seconds_once_the_watermark_is_in_milliseconds(shape: str) -> None:
    """After the first batch the watermark is in epoch ms, and an integer below 1e11 is read
    where late records are told apart (the loop's fast path has no test of its own for it)."""
    first = [at("a", T0 + i) for i in range(100)]
    second = [
        at("s", (T0 + 10_000) // 1000),  # epoch seconds: 10 s later, not late
        at("m", T0 + 11_000),
        at("x", (T0 - 60_000) // 1000),  # epoch seconds, a minute behind: late
        at("t", "2025-01-01T00:00:12Z"),
        at("small", 5),  # epoch ms of 1970: late
    ]
    program = gress_cep.compile(SKEW)
    late: list[dict] = []
    if shape == "one input":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gress_cep.GressWarning)
            # 8,192 records per batch: pad the first batch so that `second` comes in another
            pad = [at("a", T0 + 100 + i) for i in range(8192 - len(first))]
            out = list(program.run({"payments": first + pad + second}, on_late=late.append))
        out = out[len(first) + len(pad) :]
    else:
        plan = build_plan(program.tree)
        pipeline = Pipeline(plan, {"payments": [TwoPartitions([first, second])]})
        out = []
        for round_out in pipeline.rounds():
            out += round_out.matches
            late += round_out.late
        out = out[len(first) :]
    assert [(m["card"], m["ts"]) for m in out] == [
        ("s", T0 + 10_000),
        ("m", T0 + 11_000),
        ("t", T0 + 12_000),
    ]
    assert [entry["record"]["card"] for entry in late] == ["x", "small"]
    assert late[0]["record"] == second[2] and late[0]["late_by_ms"] > 60_000
