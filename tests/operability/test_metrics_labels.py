"""The metrics' labels: bounded by the job's declarations, secrets masked (issue 15 §3)."""

from __future__ import annotations

import socket
import urllib.request

from gress_cep.connectors.memory import IterableSource
from gress_cep.dsl import load
from gress_cep.runtime.metrics import Metrics
from gress_cep.runtime.pipeline import Pipeline
from gress_cep.runtime.plan import build_plan

RULES = """stream events
    key card
    time ts

pattern probe
    from events
    match small -> large
    where small: amount < 2
          large: amount > 100
    within 1m
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_labels_mask_passwords_and_counts_add_up_per_input_and_output() -> None:
    program, _ = load(RULES, "rules.gress")
    events = [{"card": f"c{i % 50}", "ts": 1000 + i, "amount": 1 + (i % 3) * 100}
              for i in range(1000)]  # fmt: skip
    secret = IterableSource(events, "https://alice:s3cr3t@feeds.example/events")
    pipeline = Pipeline(build_plan(program), {"events": [secret]})
    port = free_port()
    metrics = Metrics(pipeline, port)
    try:
        for out in pipeline.rounds():
            metrics.update(out)
        metrics._update()
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
    finally:
        metrics.close()
    text = body.decode()
    assert "s3cr3t" not in text
    label = 'input="https://alice:***@feeds.example/events"'
    assert f'gress_input_records_total{{{label},stream="events"}} 1000.0' in text
    matches = next(
        line for line in text.splitlines() if line.startswith("gress_pattern_matches_total")
    )
    assert float(matches.split()[-1]) > 0
    assert f'gress_output_records_total{{output="matches"}} {matches.split()[-1]}' in text
    # 50 keys, 1000 records: no label holds a key or a value from the data
    series = [line for line in text.splitlines() if line.startswith("gress_")]
    assert not any('"c1"' in line for line in series)
    assert len(series) < 80
