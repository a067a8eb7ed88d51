"""Prometheus metrics of a running job, served on 127.0.0.1:PORT/metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge, start_http_server

if TYPE_CHECKING:
    from gress_cep.runtime.pipeline import Pipeline


class Metrics:
    def __init__(self, pipeline: Pipeline, port: int) -> None:
        self.pipeline = pipeline
        self.registry = CollectorRegistry()
        labels = ["pattern"]
        self.gauges = {
            "records_in": Gauge(
                "gress_records_in",
                "Records read for the pattern's stream",
                labels,
                registry=self.registry,
            ),
            "processed": Gauge(
                "gress_records_processed",
                "Records the pattern's automaton saw",
                labels,
                registry=self.registry,
            ),
            "matches": Gauge("gress_matches", "Matches emitted", labels, registry=self.registry),
            "timeouts": Gauge(
                "gress_timeouts", "Partial matches that timed out", labels, registry=self.registry
            ),
            "late": Gauge(
                "gress_late_records", "Records behind the watermark", labels, registry=self.registry
            ),
            "dead_letters": Gauge(
                "gress_dead_letters",
                "Records sent to the dead-letter output",
                labels,
                registry=self.registry,
            ),
            "filtered": Gauge(
                "gress_filtered_records",
                "Records dropped by view filters",
                labels,
                registry=self.registry,
            ),
            "dropped_partial_matches": Gauge(
                "gress_dropped_partial_matches",
                "Partial matches dropped by the per-key cap",
                labels,
                registry=self.registry,
            ),
        }
        self.partial = Gauge(
            "gress_open_partial_matches", "Partial matches alive", registry=self.registry
        )
        self.watermark = Gauge(
            "gress_watermark_ms",
            "Event-time watermark per stream",
            ["stream"],
            registry=self.registry,
        )
        self.server, self.thread = start_http_server(port, addr="127.0.0.1", registry=self.registry)

    def update(self) -> None:
        for row in self.pipeline.summary():
            for name, gauge in self.gauges.items():
                gauge.labels(row.name).set(getattr(row, name))
        self.partial.set(self.pipeline.open_partial_matches())
        for stream, mark in self.pipeline.watermarks().items():
            self.watermark.labels(stream).set(mark)

    def close(self) -> None:
        self.update()
        self.server.shutdown()
