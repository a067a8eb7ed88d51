"""deploy/grafana/gress.json queries only metrics a running job exports (issue 15 §3), and
`gress detect --dry-run` against a real broker and registry (§5).

A real job reads a Kafka topic, scores it with an ONNX model and takes checkpoints, so that
every family has samples (consumer lag, scoring latency, checkpoint duration); every metric
name in every PromQL expression of the dashboard must then be among the scraped samples.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.models.model_files import linear

from .registry_server import RegistryServer

pytestmark = pytest.mark.kafka

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "gress.json"
RULES = """
stream events
    key card
    time ts
    schema { card: string, ts: timestamp, amount: float }

model risk = onnx "risk.onnx"
    inputs (amount)
    output y[0]

view scored = events | score risk as risk

pattern probe
    from scored
    match small{2,} -> large
    where small: amount < 2
          large: amount > 100
    within 1m
"""
# PromQL words that are not metric names
PROMQL = {
    "sum", "max", "min", "avg", "count", "by", "without", "rate", "irate", "increase",
    "histogram_quantile", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: label matchers, ranges, `by (...)` lists and
    strings taken out first."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", expr)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr))
    return {w for w in words if w not in PROMQL}


def dashboard_expressions() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    for variable in board["templating"]["list"]:  # label_values(METRIC, LABEL)
        found = re.fullmatch(r"label_values\((\w+), *\w+\)", variable.get("definition", ""))
        if "definition" in variable:
            assert found is not None, variable["definition"]
            exprs.append(found.group(1))
    return exprs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> set[str]:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1).read().decode()
    return {line.split("{")[0].split(" ")[0] for line in body.splitlines() if line[:1].isalpha()}


def test_the_metric_name_parser_sees_through_promql() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, model) (rate(gress_x_bucket{instance=~"a|b"}'
        "[$__rate_interval]))) / on (le) sum(gress_y)"
    )
    assert metric_names(expr) == {"gress_x_bucket", "gress_y"}


def test_every_metric_the_dashboard_queries_is_exported_by_a_running_job(
    broker: str, new_topic: Callable, produce: Callable, tmp_path: Path
) -> None:
    queried = set().union(*map(metric_names, dashboard_expressions()))
    assert len(queried) >= 14
    assert all(name.startswith("gress_") for name in queried), queried

    (tmp_path / "rules.gress").write_text(RULES)
    linear(tmp_path / "risk.onnx", [0.5])
    topic = new_topic()
    port = free_port()
    events = [{"card": f"c{i % 3}", "ts": 1_000 + i * 100, "amount": 1.0 + (i % 5) * 60}
              for i in range(60)]  # fmt: skip
    produce(topic, [(None, json.dumps(e).encode()) for e in events])
    job = subprocess.Popen(
        [sys.executable, "-m", "gress_cep.cli.main", "detect", "rules.gress",
         "-i", f"events=kafka:{topic}", "-o", "out.jsonl", "--bootstrap-servers", broker,
         "--from-beginning", "--checkpoint-interval", "300ms", "--state-dir", "state",
         "--metrics-port", str(port), "-q"],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    exported: set[str] = set()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not queried <= exported:
            with contextlib.suppress(OSError):  # not serving yet
                exported = scrape(port)
            time.sleep(0.2)
    finally:
        job.send_signal(signal.SIGTERM)  # graceful: a last checkpoint, exit 0
        _, stderr = job.communicate(timeout=30)
    assert queried - exported == set()
    assert job.returncode == 0, stderr
    assert stderr == ""  # -q: nothing but errors


def test_dry_run_checks_topics_and_registry_schemas_and_reads_nothing(
    broker: str, new_topic: Callable, registry: RegistryServer, tmp_path: Path
) -> None:
    (tmp_path / "rules.gress").write_text(RULES.split("model")[0])
    topic, other = new_topic(), new_topic()
    schema = {"type": "record", "name": "E", "fields": [
        {"name": "card", "type": "string"}, {"name": "ts", "type": "long"},
        {"name": "amount", "type": ["null", "double"]}]}  # fmt: skip
    registry.register(f"{topic}-value", json.dumps(schema))
    broken = {**schema, "fields": schema["fields"][:2]}  # no amount
    registry.register(f"{other}-value", json.dumps(broken))

    def dry(source: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "gress_cep.cli.main", "detect", "rules.gress",
             "-i", f"events=kafka:{source}", "-o", "out.jsonl", "--bootstrap-servers", broker,
             "--schema-registry", registry.url, "--group", "workers", "--dry-run"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    done = dry(topic)
    assert done.returncode == 0, done.stderr
    assert f"input events=kafka:{topic}: topic with 1 partition; {topic}-value version 1 " in (
        done.stderr
    )
    assert "(AVRO, schema id" in done.stderr
    assert done.stderr.rstrip().endswith("dry run: ok (nothing was read or written)")
    assert not (tmp_path / "out.jsonl").exists()
    refused = dry(other)
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert "does not resolve to the stream's schema: field 'amount' (float) is not in the " in (
        refused.stderr
    )
    missing = dry("no-such-topic")
    assert missing.returncode == 1
    assert "Kafka topic 'no-such-topic' does not exist" in missing.stderr
