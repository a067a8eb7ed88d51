"""Throughput and added latency of the `score` operator against a direct onnxruntime loop.

Both sides take the same records (dicts, as the pipeline carries them), build the float32
matrix, run the same session (one intra-op thread) 512 rows at a time, attach the score to a
copy of each record and hand each output batch on. The ratio operator/direct is the cost of
everything the operator adds: null-safe feature extraction, batching, order keeping, stats.
Target: >= 0.7 at batch 512.

Then records arrive at a steady rate in small polls (as from a Kafka source) and the added
latency (arrival -> scored) is measured per record, with the DSL's `batch 512 delay 5ms`.

    .venv/bin/python benchmarks/score_throughput.py            # full run
    .venv/bin/python benchmarks/score_throughput.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from rich.console import Console
from rich.table import Table
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from timing import best_seconds

from gress_cep.models.features import Feature
from gress_cep.models.scorer import Scorer
from gress_cep.models.session import OnnxModel
from gress_cep.operators.base import Timed
from gress_cep.operators.score import ScoreOperator

FEATURES = ("amount", "merchant_risk", "hour", "items")
BATCH = 512
POLL = 4096  # records per source poll in the throughput runs


def payments(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Card payments with four numeric features (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(3.0, 1.2, n), 2)
    risk = np.round(rng.beta(2, 8, n), 3)
    hour = rng.integers(0, 24, n)
    items = rng.integers(1, 8, n)
    card = rng.integers(0, 10_000, n)
    ts = 1_700_000_000_000 + np.cumsum(rng.integers(0, 20, n))
    return [
        {
            "card_id": f"card{c}",
            "ts": t,
            "amount": a,
            "merchant_risk": r,
            "hour": h,
            "items": i,
        }
        for c, t, a, r, h, i in zip(
            card.tolist(),
            ts.tolist(),
            amount.tolist(),
            risk.tolist(),
            hour.tolist(),
            items.tolist(),
            strict=True,
        )
    ]


def train(kind: str, records: list[dict[str, Any]], folder: Path) -> Path:
    x = np.array([[r[f] for f in FEATURES] for r in records[:20_000]], dtype=np.float32)
    y = ((x[:, 0] > 60) & (x[:, 1] > 0.25)) | (x[:, 2] < 5)
    model: Any = (
        LogisticRegression(max_iter=500)
        if kind == "logistic"
        else GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0)
    )
    model.fit(x, y.astype(int))
    onx = to_onnx(
        model,
        initial_types=[("X", FloatTensorType([None, len(FEATURES)]))],
        options={id(model): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    path = folder / f"{kind}.onnx"
    path.write_bytes(onx.SerializeToString())
    return path


Sink = Callable[[list[Any]], Any]  # takes each output batch, as the next stage would


def direct_loop(path: Path) -> Callable[[list[dict[str, Any]], Sink], None]:
    """The hand-written baseline: what a user would write without gress."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(records: list[dict[str, Any]], sink: Sink) -> None:
        for start in range(0, len(records), BATCH):
            chunk = records[start : start + BATCH]
            x = np.array(
                [[r["amount"], r["merchant_risk"], r["hour"], r["items"]] for r in chunk],
                dtype=np.float32,
            )
            scores = session.run(["probabilities"], {"X": x})[0][:, 1].tolist()
            out = []
            for r, s in zip(chunk, scores, strict=True):
                scored = r.copy()
                scored["risk"] = s
                out.append(scored)
            sink(out)

    return run


def score_operator(path: Path, delay_ms: int = 0) -> ScoreOperator:
    model = OnnxModel.load(path, path.name, len(FEATURES), "probabilities", 1)
    scorer = Scorer("fraud", [Feature.field(f) for f in FEATURES], [model])
    return ScoreOperator(scorer, "risk", batch=BATCH, delay_ms=delay_ms)


def operator_loop(path: Path) -> Callable[[list[Timed], Sink], None]:
    """The score operator, fed (event time, record) pairs in source-poll sized batches."""
    op = score_operator(path)

    def run(timed: list[Timed], sink: Sink) -> None:
        for start in range(0, len(timed), POLL):
            sink(op.process(timed[start : start + POLL], 0.0))
        sink(op.flush())

    return run


def throughputs(path: Path, records: list[dict[str, Any]], repeat: int) -> tuple[float, float]:
    """Rows/s of the direct loop and of the operator on the same model and records."""
    timed = [(r["ts"], r) for r in records]  # as the pipeline hands records to an operator
    direct_run, operator_run = direct_loop(path), operator_loop(path)
    # the same scores on both sides, or the comparison means nothing
    a: list[dict[str, Any]] = []
    b: list[Timed] = []
    direct_run(records[:2000], a.extend)
    operator_run(timed[:2000], b.extend)
    assert [r["risk"] for r in a] == [r["risk"] for _, r in b]
    direct = best_seconds(lambda: direct_run(records, len), repeat)
    ours = best_seconds(lambda: operator_run(timed, len), repeat)
    return len(records) / direct, len(records) / ours


def added_latency(path: Path, rate: int, seconds: float, delay_ms: int) -> tuple[float, float]:
    """p50/p99 (ms) of arrival -> scored, records arriving at `rate`/s in 1 ms polls."""
    op = score_operator(path, delay_ms)
    records = payments(int(rate * seconds) + rate, seed=11)
    arrived: dict[int, float] = {}
    latencies: list[float] = []
    tick = 0.001
    per_tick = rate * tick
    start = time.perf_counter()
    sent = 0
    step = 0
    while sent < len(records) and time.perf_counter() - start < seconds:
        step += 1
        target = start + step * tick
        while (now := time.perf_counter()) < target:
            pass
        upto = min(len(records), int(step * per_tick))
        poll = [(i, records[i]) for i in range(sent, upto)]
        for i, _ in poll:
            arrived[i] = now
        sent = upto
        done = op.process(poll, now) if poll else op.on_timer(now)
        finished = time.perf_counter()
        latencies += [finished - arrived.pop(i) for i, _ in done]
    values = np.array(latencies) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rate", type=int, default=20_000, help="rows/s in the latency run")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the latency run")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeat, args.seconds = 20_000, 2, 0.5

    console = Console()
    records = payments(args.rows)
    throughput = Table(title=f"score throughput, {args.rows:,} rows, batch {BATCH}, 1 thread")
    for column in ("model", "direct onnxruntime rows/s", "score operator rows/s", "ratio"):
        throughput.add_column(column, justify="right")
    latency = Table(title=f"added latency at {args.rate:,} rows/s (polls every 1 ms)")
    for column in ("model", "delay", "p50 ms", "p99 ms"):
        latency.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("logistic", "gbt-100"):
            path = train(kind, records, Path(tmp))
            direct, ours = throughputs(path, records, args.repeat)
            throughput.add_row(kind, f"{direct:,.0f}", f"{ours:,.0f}", f"{ours / direct:.2f}")
            for delay in (5, 0):
                p50, p99 = added_latency(path, args.rate, args.seconds, delay)
                latency.add_row(kind, f"{delay} ms", f"{p50:.2f}", f"{p99:.2f}")
    console.print(throughput)
    console.print(latency)


if __name__ == "__main__":
    main()
