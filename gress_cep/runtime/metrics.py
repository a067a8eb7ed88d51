"""Prometheus metrics of a running job, served on 127.0.0.1:PORT/metrics.

The job's loop calls `update(out)` between rounds (at most every `interval_s`, and always at the
end); the values are computed there, on the job's own thread, and the HTTP thread only reads
the last snapshot — it never touches the pipeline while it runs. `deploy/grafana/gress.json`
is a dashboard over these metrics (docs/operations.md).

Labels are bounded by the job's declarations and command line, never by the data: `pattern`,
`view`, `stream`, `input` (a `-i` source, as written, with any password masked), `output` (one
of matches, timeouts, late, dead-letter), `model` and `variant` (a model declaration and its
files). Kafka partitions are summed per input, not labelled.

| metric | type | labels |
|---|---|---|
| gress_input_records_total | counter | stream, input |
| gress_stream_late_records_total | counter | stream |
| gress_stream_dead_letters_total | counter | stream |
| gress_pattern_matches_total | counter | pattern |
| gress_pattern_timeouts_total | counter | pattern |
| gress_output_records_total | counter | output |
| gress_watermark_lag_seconds | gauge | stream |
| gress_pattern_partial_matches | gauge | pattern |
| gress_pattern_state_keys | gauge | pattern |
| gress_state_size_bytes | gauge | |
| gress_checkpoints_total | counter | |
| gress_checkpoint_duration_seconds | histogram | |
| gress_model_scoring_seconds | histogram | model, variant |
| gress_kafka_consumer_lag | gauge | stream, input |
| gress_reloads_total | counter | result (ok, refused) |

and, as before, per pattern the gauges gress_records_in, gress_records_processed,
gress_matches, gress_timeouts, gress_late_records, gress_dead_letters, gress_filtered_records,
gress_dropped_partial_matches; gress_open_partial_matches; gress_watermark_ms per stream.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gress_cep.connectors.registry import masked
from gress_cep.runtime.watermarks import END_OF_TIME, NO_WATERMARK

if TYPE_CHECKING:
    from gress_cep.runtime.pipeline import Pipeline, RoundOutput
    from gress_cep.state.coordinator import CheckpointCoordinator

# the per-pattern gauges of the first version: (summary field, name, help)
_PATTERN_GAUGES = (
    ("records_in", "gress_records_in", "Records read for the pattern's stream"),
    ("processed", "gress_records_processed", "Records the pattern's automaton saw"),
    ("matches", "gress_matches", "Matches emitted"),
    ("timeouts", "gress_timeouts", "Partial matches that timed out"),
    ("late", "gress_late_records", "Records behind the watermark"),
    ("dead_letters", "gress_dead_letters", "Records sent to the dead-letter output"),
    ("filtered", "gress_filtered_records", "Records dropped by view filters"),
    (
        "dropped_partial_matches",
        "gress_dropped_partial_matches",
        "Partial matches dropped by the per-key cap",
    ),
)
OUTPUTS = ("matches", "timeouts", "late", "dead-letter")
CHECKPOINT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SCORING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class _Snapshot(Collector):
    """What the HTTP thread serves: the families of the last update, swapped in whole."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterable[Metric]:
        return list(self.families)


class Metrics:
    def __init__(
        self,
        pipeline: Pipeline,
        port: int,
        checkpoints: CheckpointCoordinator | None = None,
        *,
        interval_s: float = 0.25,
    ) -> None:
        self.pipeline = pipeline
        self.checkpoints = checkpoints
        self.interval_s = interval_s
        self.registry = CollectorRegistry()
        self._snapshot = _Snapshot()
        self.registry.register(self._snapshot)
        self.outputs = dict.fromkeys(OUTPUTS, 0)
        self.checkpoint_seconds = Histogram(
            "gress_checkpoint_duration_seconds",
            "Time a checkpoint took: outputs flushed, state written, positions committed",
            buckets=CHECKPOINT_BUCKETS,
            registry=self.registry,
        )
        self.scoring_seconds = Histogram(
            "gress_model_scoring_seconds",
            "Time of one ONNX inference call (one micro-batch)",
            ["model", "variant"],
            buckets=SCORING_BUCKETS,
            registry=self.registry,
        )
        # reloads of the pattern file (--watch, SIGHUP), by result: the watch shares this dict
        self.reloads = {"ok": 0, "refused": 0}
        self._checkpoints_seen = 0
        self._state_size = 0
        self._latencies_seen: dict[int, int] = {}  # id of a VariantStats -> samples observed
        self._last = 0.0
        self._update()
        self.server, self.thread = start_http_server(port, addr="127.0.0.1", registry=self.registry)

    def update(self, out: RoundOutput | None = None) -> None:
        """Count a round's outputs; recompute the metrics when `interval_s` has passed."""
        if out is not None:
            outputs = self.outputs
            outputs["matches"] += len(out.matches)
            outputs["timeouts"] += len(out.timeouts)
            outputs["late"] += len(out.late)
            outputs["dead-letter"] += len(out.dead_letters)
        if time.monotonic() - self._last >= self.interval_s:
            self._update()

    def close(self) -> None:
        self._update()
        self.server.shutdown()

    # ------------------------------------------------------------------ computing
    def _update(self) -> None:
        self._last = time.monotonic()
        self._observe_checkpoints()
        self._observe_scoring()
        self._snapshot.families = list(self._families())

    def _families(self) -> Iterator[Metric]:
        pipeline = self.pipeline
        rows = pipeline.summary()
        for field, name, text in _PATTERN_GAUGES:
            gauge = GaugeMetricFamily(name, text, labels=["pattern"])
            for row in rows:
                gauge.add_metric([row.name], getattr(row, field))
            yield gauge
        yield GaugeMetricFamily(
            "gress_open_partial_matches", "Partial matches alive", pipeline.open_partial_matches()
        )
        marks = pipeline.watermarks()
        watermark = GaugeMetricFamily(
            "gress_watermark_ms", "Event-time watermark per stream", labels=["stream"]
        )
        lag = GaugeMetricFamily(
            "gress_watermark_lag_seconds",
            "Wall-clock time minus the stream's watermark (how far event time is behind)",
            labels=["stream"],
        )
        now_ms = time.time() * 1000
        for stream, mark in marks.items():
            watermark.add_metric([stream], mark)
            if NO_WATERMARK < mark < END_OF_TIME:
                lag.add_metric([stream], max(0.0, (now_ms - mark) / 1000))
        yield watermark
        yield lag
        yield from self._inputs()
        yield from self._patterns(rows)
        outputs = CounterMetricFamily(
            "gress_output_records", "Records written, per output", labels=["output"]
        )
        for output, count in self.outputs.items():
            outputs.add_metric([output], count)
        yield outputs
        checkpoints = CounterMetricFamily(
            "gress_checkpoints", "Checkpoints taken by this run", self._checkpoints_seen
        )
        yield checkpoints
        reloads = CounterMetricFamily(
            "gress_reloads",
            "Reloads of the pattern file (--watch, SIGHUP): ok, or refused (the old rules run on)",
            labels=["result"],
        )
        for result, count in self.reloads.items():
            reloads.add_metric([result], count)
        yield reloads
        yield GaugeMetricFamily(
            "gress_state_size_bytes",
            "Size on disk of the newest checkpoint (0 without state)",
            self._state_size,
        )

    def _inputs(self) -> Iterator[Metric]:
        records = CounterMetricFamily(
            "gress_input_records",
            "Records read per input, good or bad",
            labels=["stream", "input"],
        )
        lag = GaugeMetricFamily(
            "gress_kafka_consumer_lag",
            "Records in the input's assigned partitions not read yet (summed over partitions)",
            labels=["stream", "input"],
        )
        for inp in self.pipeline.inputs:
            labels = [inp.stream.plan.name, masked(inp.source.description)]
            records.add_metric(labels, inp.records)
            behind = getattr(inp.source, "lag", None)
            if behind is not None:
                value = behind()
                if value is not None:
                    lag.add_metric(labels, value)
        late = CounterMetricFamily(
            "gress_stream_late_records", "Records behind the watermark", labels=["stream"]
        )
        dead = CounterMetricFamily(
            "gress_stream_dead_letters",
            "Records of the stream that could not be decoded, validated or timed",
            labels=["stream"],
        )
        for name, stream in self.pipeline.streams.items():
            late.add_metric([name], stream.counters.late)
            dead.add_metric([name], stream.counters.dead_letters)
        yield from (records, lag, late, dead)

    def _patterns(self, rows: list[Any]) -> Iterator[Metric]:
        matches = CounterMetricFamily(
            "gress_pattern_matches", "Matches emitted per pattern", labels=["pattern"]
        )
        timeouts = CounterMetricFamily(
            "gress_pattern_timeouts", "Partial matches that timed out", labels=["pattern"]
        )
        for row in rows:
            matches.add_metric([row.name], row.matches)
            timeouts.add_metric([row.name], row.timeouts)
        partial = GaugeMetricFamily(
            "gress_pattern_partial_matches", "Partial matches alive", labels=["pattern"]
        )
        keys = GaugeMetricFamily(
            "gress_pattern_state_keys", "Keys with state in memory", labels=["pattern"]
        )
        for name, pattern in self.pipeline.plan.patterns.items():
            states = pattern.operator.matcher.keys
            partial.add_metric([name], sum(len(state.runs) for state in states.values()))
            keys.add_metric([name], len(states))
        yield from (matches, timeouts, partial, keys)

    def _observe_checkpoints(self) -> None:
        coordinator = self.checkpoints
        if coordinator is None or coordinator.stats.taken == self._checkpoints_seen:
            return
        for seconds in coordinator.stats.durations[self._checkpoints_seen :]:
            self.checkpoint_seconds.observe(seconds)
        self._checkpoints_seen = coordinator.stats.taken
        newest = coordinator.backend.checkpoints()
        self._state_size = newest[-1].size_bytes if newest else 0

    def _observe_scoring(self) -> None:
        for op in self.pipeline.operators():
            for stats in getattr(op, "stats", []):
                seen = self._latencies_seen.get(id(stats), 0)
                samples, total = stats.latencies_since(seen)
                if samples:
                    child = self.scoring_seconds.labels(stats.model, stats.variant)
                    for seconds in samples:
                        child.observe(seconds)
                self._latencies_seen[id(stats)] = total
