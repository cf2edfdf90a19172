"""Prometheus metrics of the ingest path (one registry per worker, so tests can run many)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["IngestMetrics"]


class IngestMetrics:
    """Counters and gauges a worker updates; ``registry`` is what an exporter serves."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "twinrca_ingest_messages", "Messages consumed", ["topic", "outcome"], registry=r
        )
        self.rows = Counter("twinrca_ingest_rows_written", "Rows inserted", ["table"], registry=r)
        self.duplicates = Counter(
            "twinrca_ingest_duplicates_skipped", "Rows skipped as already stored", registry=r
        )
        self.dead_letters = Counter(
            "twinrca_ingest_dead_letters", "Messages dead-lettered", ["topic", "reason"], registry=r
        )
        self.store_retries = Counter(
            "twinrca_ingest_store_retries", "Failed store writes that were retried", registry=r
        )
        self.batch_seconds = Histogram(
            "twinrca_ingest_batch_seconds",
            "Time to write one batch (store transaction)",
            registry=r,
        )
        self.lag = Gauge(
            "twinrca_ingest_consumer_lag",
            "Messages behind the log end",
            ["topic", "partition"],
            registry=r,
        )
        self.paused = Gauge("twinrca_ingest_paused", "1 while partitions are paused", registry=r)
        self.queue = Gauge(
            "twinrca_ingest_queue_depth", "Poll results waiting to be written", registry=r
        )

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (tests and the store snapshot use it)."""
        got = self.registry.get_sample_value(name, labels)
        return 0.0 if got is None else got
