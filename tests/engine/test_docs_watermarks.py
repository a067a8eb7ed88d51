"""An idle input stops holding event time back (docs/cli.md `--idle-timeout`, DSL `idle D`) —
also when the other inputs of the stream have finished: the event time a finished input
reached still counts, whether it finished before or after the others went idle."""

from __future__ import annotations

from gress_cep.runtime.watermarks import NO_WATERMARK, WatermarkTracker

FILE, STDIN = 0, 1


def tracker() -> WatermarkTracker:
    t = WatermarkTracker(lateness_ms=1000, idle_timeout_s=30)
    t.add_input(FILE, [0])
    t.add_input(STDIN, [0])
    return t


def test_a_quiet_input_holds_event_time_back_until_it_is_idle() -> None:
    t = tracker()
    start = t._created
    t.observe(FILE, 0, 9000, now=start + 1)
    t.finish_input(FILE)
    assert t.advance(now=start + 1) == NO_WATERMARK  # stdin sent nothing yet, not idle yet


def test_a_finished_inputs_event_time_counts_once_the_others_are_idle() -> None:
    t = tracker()
    start = t._created
    t.observe(FILE, 0, 9000, now=start + 1)
    t.finish_input(FILE)
    t.advance(now=start + 1)
    assert t.advance(now=start + 31) == 8000  # stdin idle: the file's 9s minus the lateness


def test_it_does_not_matter_whether_the_input_finished_before_or_after_the_others_went_idle() -> (
    None
):
    before = tracker()  # the file finished, then stdin went idle
    start = before._created
    before.observe(FILE, 0, 9000, now=start + 1)
    before.finish_input(FILE)
    before.advance(now=start + 1)

    after = tracker()  # stdin went idle while the file was still being read
    start = after._created
    after.observe(FILE, 0, 9000, now=start + 31)
    after.advance(now=start + 31)
    after.finish_input(FILE)

    assert before.advance(now=before._created + 40) == after.advance(now=start + 40) == 8000


def test_an_idle_input_that_sends_again_holds_event_time_back_again() -> None:
    t = tracker()
    start = t._created
    t.observe(FILE, 0, 9000, now=start + 1)
    t.finish_input(FILE)
    assert t.advance(now=start + 31) == 8000
    t.observe(STDIN, 0, 8500, now=start + 32)  # stdin is active again, a little behind
    t.observe(STDIN, 0, 20_000, now=start + 33)
    assert t.advance(now=start + 33) == 19_000  # follows stdin now, never moves back
