"""Health and Prometheus metrics of the running service (``twinrca serve``).

:class:`ServiceMetrics` holds the service's own registry; :class:`HealthServer` serves
``/healthz`` (liveness: every component thread alive), ``/readyz`` (ready: the store
answers and the first detection tick ran) and ``/metrics`` (the service's and the
ingest worker's registries) on a small HTTP server of its own, so health stays
answerable when the API is off or busy.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["HealthServer", "ServiceMetrics"]

log = logging.getLogger(__name__)


class ServiceMetrics:
    """Counters and gauges of the detection and delivery loops."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.ticks = Counter(
            "twinrca_service_ticks", "Detection ticks by outcome", ["outcome"], registry=r
        )
        self.tick_seconds = Histogram(
            "twinrca_service_tick_seconds",
            "Wall time of a detection tick that ran the pipeline",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=r,
        )
        self.incidents = Gauge(
            "twinrca_service_incidents", "Incidents of the last run by state", ["state"], registry=r
        )
        self.watermark = Gauge(
            "twinrca_service_watermark_seconds",
            "Data time of the newest alarm or KPI seen (Unix seconds)",
            registry=r,
        )
        self.regions = Gauge(
            "twinrca_service_regions", "Regions this instance diagnoses", registry=r
        )
        self.kpi_baseline_ready = Gauge(
            "twinrca_service_kpi_baseline_ready",
            "1 once the KPI baseline has enough history for KPI-triggered incidents",
            registry=r,
        )
        self.webhooks = Counter(
            "twinrca_service_webhooks", "Webhook deliveries by outcome", ["outcome"], registry=r
        )
        self.predictions = Counter(
            "twinrca_service_predictions", "New fault predictions (MDA reports)", registry=r
        )
        self.errors = Counter(
            "twinrca_service_errors", "Loop iterations that failed", ["loop"], registry=r
        )


class HealthServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` on ``host:port`` (port 0: a free one)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        status: Callable[[], dict[str, Any]],
        ready: Callable[[], bool],
        registries: Iterable[CollectorRegistry],
    ) -> None:
        outer_status, outer_ready, regs = status, ready, list(registries)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/metrics"):
                    body = b"".join(generate_latest(r) for r in regs)
                    self._send(200, body, "text/plain; version=0.0.4; charset=utf-8")
                elif self.path.startswith("/healthz"):
                    doc = outer_status()
                    self._send(200 if doc.get("alive") else 503, json.dumps(doc).encode())
                elif self.path.startswith("/readyz"):
                    ok = outer_ready()
                    self._send(200 if ok else 503, json.dumps({"ready": ok}).encode())
                else:
                    self._send(404, b'{"detail":"not found"}')

            def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="twinrca-health", daemon=True
        )

    def start(self) -> HealthServer:
        self._thread.start()
        log.info("health and metrics on port %d", self.port)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
