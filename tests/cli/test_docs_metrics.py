"""docs/operations.md, Metrics: `--metrics-port N` serves per pattern the records in, processed,
matches, timeouts, late records, dead letters, filtered records and dropped partial matches; the
open partial matches; the watermark per stream."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

RULES = """stream events
    key card
    time ts
    lateness 1s

view positive = events | where amount > 0

pattern probe
    from positive
    match small{2,} -> large
    where small: amount < 2
          large: amount > 100
    within 1m
    on timeout emit card, count(small) as probes
"""
LINES = [
    {"card": "c1", "ts": 1000, "amount": 1.0},
    {"card": "c1", "ts": 2000, "amount": 1.5},
    {"card": "c1", "ts": 3000, "amount": 500.0},  # c1: a match
    {"card": "c2", "ts": 4000, "amount": 1.0},  # times out
    {"card": "c9", "ts": 5000, "amount": -5.0},  # filtered by the view
    {"card": "c5", "ts": 6000, "amount": 1.0},
    {"card": "c5", "ts": 6500, "amount": 1.1},
    {"card": "c5", "ts": 7000, "amount": 1.2},  # a third partial match: the oldest is dropped
    {"card": "c1", "ts": 500, "amount": 1.0},  # behind the watermark: late
    "{not json",  # a dead letter
    {"card": "c4", "ts": 98_500, "amount": 1.0},  # stays open
    {"card": "c3", "ts": 100_000, "amount": 50.0},  # watermark 99 s: the windows before close
]
EXPECTED = {
    'gress_records_in{pattern="probe"}': 12.0,
    'gress_records_processed{pattern="probe"}': 8.0,  # the last one waits for the watermark
    'gress_matches{pattern="probe"}': 1.0,
    'gress_timeouts{pattern="probe"}': 3.0,
    'gress_late_records{pattern="probe"}': 1.0,
    'gress_dead_letters{pattern="probe"}': 1.0,
    'gress_filtered_records{pattern="probe"}': 1.0,
    'gress_dropped_partial_matches{pattern="probe"}': 2.0,
    "gress_open_partial_matches": 1.0,
    'gress_watermark_ms{stream="events"}': 99_000.0,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> dict[str, float]:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1).read().decode()
    samples = (line.rsplit(" ", 1) for line in body.splitlines() if line.startswith("gress_"))
    return {name: float(value) for name, value in samples}


def test_metrics_are_the_documented_counters_open_partial_matches_and_watermarks(
    tmp_path: Path,
) -> None:
    (tmp_path / "rules.gress").write_text(RULES)
    port = free_port()
    # stdin kept open: the job is alive, with everything processed, while it is scraped
    job = subprocess.Popen(
        [sys.executable, "-m", "gress_cep.cli.main", "detect", "rules.gress", "-i", "-",
         "-o", "out.jsonl", "--timeouts", "timeouts.jsonl", "--max-partial-matches", "2",
         "--metrics-port", str(port), "-q"],
        cwd=tmp_path, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert job.stdin is not None
    try:
        job.stdin.write("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in LINES))
        job.stdin.flush()
        metrics: dict[str, float] = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):  # not serving yet
                metrics = scrape(port)
            if metrics.get('gress_records_processed{pattern="probe"}') == 8.0:
                break
            time.sleep(0.05)
        assert {name: metrics.get(name) for name in EXPECTED} == EXPECTED
    finally:
        job.stdin.close()
        job.wait(timeout=20)
    assert job.returncode == 0
