"""Event time values and watermarks (DSL §2, §3.3)."""

import pytest

from gress_cep.runtime.event_time import to_epoch_ms
from gress_cep.runtime.watermarks import END_OF_TIME, NO_WATERMARK, WatermarkTracker


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        (1_700_000_000_123, 1_700_000_000_123),
        (1_700_000_000.5, 1_700_000_000_500),
        ("2023-11-14T22:13:20Z", 1_700_000_000_000),
        ("2023-11-14T22:13:20.250+00:00", 1_700_000_000_250),
        ("2023-11-14T23:13:20+01:00", 1_700_000_000_000),
        ("2023-11-14 22:13:20", 1_700_000_000_000),  # naive: UTC
        ("1700000000000", 1_700_000_000_000),
    ],
)
def test_time_values(value, ms):
    assert to_epoch_ms(value) == ms


@pytest.mark.parametrize(
    "value", [None, "yesterday", True, float("nan"), [1], {"t": 1}, -1.797693134862316e305]
)
def test_values_that_are_not_times(value):
    assert to_epoch_ms(value) is None


def test_watermark_is_the_max_time_minus_lateness():
    tracker = WatermarkTracker(lateness_ms=1000)
    tracker.add_input(0, [0])
    tracker.observe(0, 0, 5000, now=0)
    assert tracker.advance(now=0) == 4000


def test_watermark_is_the_minimum_over_partitions():
    tracker = WatermarkTracker()
    tracker.add_input(0, [0, 1])
    tracker.observe(0, 0, 9000, now=0)
    tracker.observe(0, 1, 3000, now=0)
    assert tracker.advance(now=0) == 3000


def test_a_partition_that_sent_nothing_holds_the_watermark_back_until_idle():
    tracker = WatermarkTracker(idle_timeout_s=30)
    tracker.add_input(0, [0, 1])
    start = tracker._created
    tracker.observe(0, 0, 9000, now=start + 1)
    assert tracker.advance(now=start + 1) == NO_WATERMARK
    assert tracker.advance(now=start + 31) == 9000


def test_an_idle_partition_stops_holding_the_watermark_back():
    tracker = WatermarkTracker(idle_timeout_s=30)
    tracker.add_input(0, [0, 1])
    tracker.observe(0, 0, 1000, now=0)
    tracker.observe(0, 1, 1000, now=0)
    tracker.observe(0, 0, 50_000, now=40)
    assert tracker.advance(now=40) == 50_000


def test_the_watermark_never_moves_back():
    tracker = WatermarkTracker(idle_timeout_s=30)
    tracker.add_input(0, [0, 1])
    tracker.observe(0, 0, 50_000, now=0)
    tracker.observe(0, 1, 60_000, now=0)
    assert tracker.advance(now=0) == 50_000
    tracker.observe(0, 0, 10_000, now=100)  # partition 1 is idle now; 0 is behind
    assert tracker.advance(now=100) == 50_000


def test_finished_inputs_move_the_watermark_to_the_end_of_time():
    tracker = WatermarkTracker()
    tracker.add_input(0, [0])
    tracker.add_input(1, [0])
    tracker.finish_input(0)
    assert tracker.advance(now=0) != END_OF_TIME
    tracker.finish_input(1)
    assert tracker.advance(now=0) == END_OF_TIME
