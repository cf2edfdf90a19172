"""Ingest visibility in the store (what the dashboard reads), next to Prometheus.

Every ``interval_s`` (and on :meth:`StoreMetricsReporter.report`) these points are
recorded with ``store.record_metric``:

* ``ingest_rows_per_s`` {table: kpi|alarm|log}: rows inserted per second since the
  previous report (0 when idle);
* ``ingest_dead_letters`` {reason}: dead letters *in the interval* (only reasons that
  occurred), so summing over a time window gives the window's count;
* ``ingest_lag`` {topic, partition}: messages behind the log end (Kafka worker only),
  the last value handed over by :meth:`StoreMetricsReporter.note_lag`.

``labels`` (e.g. ``group`` or ``source``) are added to every point. The numbers come
from the :class:`~twinrca.ingest.metrics.IngestMetrics` counters the writer updates,
so nothing is counted twice. A store that refuses a point ends that report (logged);
metrics never stop ingest. :meth:`note_lag` may be called from another thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from twinrca.core.errors import ServiceUnavailable, StoreError
from twinrca.ingest.metrics import IngestMetrics

__all__ = ["TABLES", "StoreMetricsReporter"]

log = logging.getLogger(__name__)

TABLES = ("kpi", "alarm", "log")


class StoreMetricsReporter:
    """Turns the ingest counters into periodic store metric points."""

    def __init__(
        self,
        store: object,
        metrics: IngestMetrics,
        *,
        interval_s: float = 10.0,
        labels: Mapping[str, object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.interval_s = interval_s
        self.labels = dict(labels or {})
        self._clock = clock
        self._lock = threading.Lock()
        self._lag: dict[tuple[str, int], int] = {}
        self._last = clock()
        self._rows = self._row_counts()
        self._dead = self._dead_counts()
        self.reports = 0

    def note_lag(self, topic: str, partition: int, lag: int) -> None:
        with self._lock:
            self._lag[(topic, partition)] = lag

    def maybe_report(self) -> bool:
        """Report if ``interval_s`` has passed since the last report."""
        if self._clock() - self._last < self.interval_s:
            return False
        self.report()
        return True

    def report(self) -> None:
        now = self._clock()
        elapsed = max(now - self._last, 1e-6)
        rows, dead = self._row_counts(), self._dead_counts()
        with self._lock:
            lag, self._lag = self._lag, {}
        points: list[tuple[str, float, dict[str, object]]] = [
            ("ingest_rows_per_s", (rows[t] - self._rows.get(t, 0.0)) / elapsed, {"table": t})
            for t in TABLES
        ]
        for reason, n in sorted(dead.items()):
            delta = n - self._dead.get(reason, 0.0)
            if delta > 0:
                points.append(("ingest_dead_letters", delta, {"reason": reason}))
        for (topic, partition), value in sorted(lag.items()):
            points.append(("ingest_lag", float(value), {"topic": topic, "partition": partition}))
        self._last, self._rows, self._dead = now, rows, dead
        self.reports += 1
        self._record(points)

    def _record(self, points: list[tuple[str, float, dict[str, object]]]) -> None:
        record = self.store.record_metric  # type: ignore[attr-defined]
        for name, value, labels in points:
            try:
                record(name, round(value, 3), {**labels, **self.labels})
            except (ServiceUnavailable, StoreError, OSError) as exc:
                log.warning("ingest metrics not recorded in the store: %s", exc)
                return

    def _row_counts(self) -> dict[str, float]:
        return {t: self.metrics.value("twinrca_ingest_rows_written_total", table=t) for t in TABLES}

    def _dead_counts(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for family in self.metrics.dead_letters.collect():
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    reason = sample.labels["reason"]
                    out[reason] = out.get(reason, 0.0) + sample.value
        return out
