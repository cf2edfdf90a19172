"""``twinrca serve``: the running service in one process.

Threads of one :class:`Service`:

- **ingest**: the Kafka ingest worker (:class:`~twinrca.ingest.worker.IngestWorker`,
  consumer group, offsets in the store), tracking which partitions of the alarms topic
  it owns; the topics are keyed by region (:mod:`twinrca.ingest.keyed`), so those
  partitions name the regions this instance diagnoses;
- **detect**: every ``interval_s``, :class:`~twinrca.runtime.detect_loop.SlidingDetector`
  runs the pipeline (detection, diagnosis, twin verification, what-if) on the newest
  window of those regions; incidents and their alerts are saved in one transaction;
- **predict**: every ``predict_interval_s``, :class:`~twinrca.training.predictor.Forecaster`
  scores the reporting periods completed since its last tick with the fault-risk model
  (trained on twin runs of the topology, cached) and stores predictions (TS 28.104 MDA
  reports) with their alerts in one transaction;
- **deliver**: the webhook outbox deliverer (retries with backoff and jitter);
- **api** (optional): the FastAPI app under uvicorn;
- **health**: ``/healthz``, ``/readyz`` and ``/metrics`` on their own port.

SIGTERM / SIGINT stop the loops after their current step. A restart resumes: the
ingest worker seeks to the offsets stored with the data, the detector widens its first
window to the oldest incident not yet recommended, the outbox keeps what was not
delivered, and stable incident ids with alerts only on state changes mean nothing
is sent twice. See docs/service.md.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from twinrca.alerts.targets import TargetPolicy
from twinrca.core.errors import ConfigError, TwinRCAError
from twinrca.core.settings import Settings
from twinrca.core.topology import Topology
from twinrca.ingest.keyed import regions_of_partitions
from twinrca.ingest.metrics import IngestMetrics
from twinrca.ingest.topics import KINDS, Topics
from twinrca.ingest.worker import WorkerConfig
from twinrca.runtime import defaults
from twinrca.runtime.components import (
    RegionWorker,
    build_forecaster,
    build_pipeline,
    probe_kafka,
)
from twinrca.runtime.detect_loop import SlidingDetector, WindowConfig
from twinrca.runtime.flow import Pipeline, PipelineConfig
from twinrca.runtime.forecasting import Forecaster
from twinrca.runtime.health import HealthServer, ServiceMetrics
from twinrca.runtime.twin_calibration import TwinCalibrator
from twinrca.store.base import Store, open_store
from twinrca.training.predictor import PredictorConfig

__all__ = ["ServeOptions", "Service", "probe_kafka"]

log = logging.getLogger(__name__)

#: builds the ASGI app of the HTTP API from ``store_for``, ``system_store`` and
#: ``alerts_for`` (:func:`twinrca.api.app.app_for`; given by the CLI, which composes)
ApiFactory = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What ``twinrca serve`` takes beyond the settings (CLI options)."""

    kinds: tuple[str, ...] = KINDS
    instance_id: str | None = None
    by_region: bool = True
    interval_s: float = defaults.INTERVAL_S
    window: WindowConfig = field(default_factory=WindowConfig)
    pipeline: PipelineConfig = field(
        default_factory=lambda: PipelineConfig(checkpoint=True, skip_unchanged=True)
    )
    api: bool = True
    system_tenant: str = "system"
    health_port: int = defaults.HEALTH_PORT
    webhook_timeout_s: float = 10.0
    webhook_max_attempts: int = defaults.WEBHOOK_MAX_ATTEMPTS
    webhook_base_backoff_s: float = 1.0
    webhook_max_backoff_s: float = defaults.WEBHOOK_MAX_BACKOFF_S
    log_templates: bool = True
    topology: Path | None = None
    training_seeds: tuple[int, ...] = (101, 102, 103)
    predict: bool = True
    predict_interval_s: float = defaults.PREDICT_INTERVAL_S
    predict_threshold: float | None = None  # None: the model's own (chosen on a twin run)
    prediction: PredictorConfig = field(default_factory=PredictorConfig)
    # the tenant's twin is refitted to the observed KPIs this often (data time) and
    # whenever the topology's cells change; None: the twin keeps its default parameters
    twin_refit_every: timedelta | None = timedelta(days=1)
    twin_calibration_window: timedelta = timedelta(days=14)


class Service:
    """One ``twinrca serve`` process: build with settings, then :meth:`run`."""

    def __init__(
        self,
        settings: Settings,
        options: ServeOptions = ServeOptions(),
        *,
        make_api: ApiFactory | None = None,
    ) -> None:
        if options.api and make_api is None:
            raise ConfigError(
                "the serve process has no API factory",
                hint="pass make_api=twinrca.api.app.app_for, or ServeOptions(api=False)",
            )
        self.settings = settings
        self.options = options
        self.make_api = make_api
        self.metrics = ServiceMetrics()
        self.ingest_metrics = IngestMetrics()
        self._stop = threading.Event()
        self._failed: list[str] = []
        self._threads: list[threading.Thread] = []
        self._stores: list[Store] = []
        self._ticks = 0
        self._api_server: Any = None
        self._health: HealthServer | None = None
        self._secrets: tuple[float, dict[str, str]] = (0.0, {})

    # ------------------------------------------------------------------ set-up
    def _open(self, tenant: str | None = None) -> Store:
        s = self.settings.store
        store = open_store(
            s.backend,
            url=s.url.get_secret_value(),
            path=s.embedded_path,
            tenant=tenant or self.settings.tenant,
            pool_max=s.pool_max,
            connect_timeout_s=s.connect_timeout_s,
        )
        self._stores.append(store)
        return store

    def _topology(self, store: Store) -> Topology:
        if self.options.topology is not None:
            topology = Topology.from_json(self.options.topology)
            store.save_topology(topology)
            return topology
        stored = store.load_topology()
        if stored is None:
            raise ConfigError(
                f"no topology stored for tenant {self.settings.tenant!r}",
                hint="pass --topology topology.json once (it is saved in the store)",
            )
        return stored

    def build(self) -> None:
        """Connect (failing fast with a clear message) and build every component."""
        k = self.settings.kafka
        store = self._open()  # StoreUnavailable at once when the database is down
        store.migrate()
        self._meta = probe_kafka(k.bootstrap, k.client_timeout_s)
        topology = self._topology(store)
        self.topology = topology
        self._all_regions = sorted({e.region for e in topology})
        topics = Topics(k.topic_prefix)
        self.alarms_topic = topics.name("alarms")
        self.worker = RegionWorker(
            WorkerConfig(
                bootstrap=k.bootstrap,
                group=k.group_id,
                topics=topics.data_topics(self.options.kinds),
                dlq_topic=topics.dlq,
                instance_id=self.options.instance_id,
                log_templates=self.options.log_templates,
            ),
            self._open(),
            metrics=self.ingest_metrics,
            alarms_topic=self.alarms_topic,
        )
        calibrator = None
        if self.options.twin_refit_every is not None:
            calibrator = TwinCalibrator(
                self._open(),
                topology,
                refit_every=self.options.twin_refit_every,
                window=self.options.twin_calibration_window,
            )
        self.calibrator = calibrator
        self.detector = SlidingDetector(
            self._open(),
            self._pipeline(topology),
            topology,
            self.options.window,
            regions=self._regions,
            calibrator=calibrator,
        )
        self.forecaster: Forecaster | None = None
        if self.options.predict:
            self.forecaster = self._forecaster(topology)
        self.deliver_store = self._open()
        self.store = store

    def _pipeline(self, topology: Topology) -> Pipeline:
        s = self.settings
        return build_pipeline(
            self._open(),
            topology,
            data_dir=s.data_dir,
            training_seeds=self.options.training_seeds,
            config=self.options.pipeline,
            base_url=f"http://{s.api_host}:{s.api_port}",
            dask=s.dask,
        )

    def _forecaster(self, topology: Topology) -> Forecaster:
        s = self.settings
        return build_forecaster(
            self._open(),
            topology,
            data_dir=s.data_dir,
            prediction=self.options.prediction,
            regions=self._regions,
            base_url=f"http://{s.api_host}:{s.api_port}",
            threshold=self.options.predict_threshold,
            dask=s.dask,
        )

    def _regions(self) -> set[str] | None:
        """Regions whose key lands on an owned partition of the alarms topic."""
        if not self.options.by_region or "alarms" not in self.options.kinds:
            return None
        n = len(self._meta.partitions_for_topic(self.alarms_topic) or ())
        if n == 0:
            return set()
        return regions_of_partitions(self._all_regions, n, self.worker.alarm_partitions())

    # ------------------------------------------------------------------ run
    def run(self, *, install_signals: bool = True) -> int:
        """Build, start every thread and block until stopped; the exit code."""
        self.build()
        if install_signals:
            signal.signal(signal.SIGTERM, lambda *_: self.stop("SIGTERM"))
            signal.signal(signal.SIGINT, lambda *_: self.stop("SIGINT"))
        self.detector.resume()
        self._spawn("ingest", self._ingest_loop)
        self._spawn("detect", self._detect_loop)
        if self.forecaster is not None:
            self._spawn("predict", self._predict_loop)
        self._spawn("deliver", self._deliver_loop)
        if self.options.api:
            self._spawn("api", self._api_loop)
        if self.options.health_port >= 0:
            self._health = HealthServer(
                self.settings.api_host,
                self.options.health_port,
                status=self.status,
                ready=lambda: self._ticks > 0 and not self._failed,
                registries=(self.metrics.registry, self.ingest_metrics.registry),
            ).start()
        log.info("twinrca serve started", extra={"tenant": self.settings.tenant})
        while not self._stop.wait(0.5):
            pass
        return self._shutdown()

    def stop(self, why: str = "stop") -> None:
        if not self._stop.is_set():
            log.info("stopping (%s)", why)
        self._stop.set()
        worker = getattr(self, "worker", None)
        if worker is not None:
            worker.stop()
        if self._api_server is not None:
            self._api_server.should_exit = True

    def status(self) -> dict[str, Any]:
        alive = {t.name: t.is_alive() for t in self._threads}
        return {
            "alive": all(alive.values()) and not self._failed,
            "threads": alive,
            "failed": list(self._failed),
            "ticks": self._ticks,
            "watermark": str(self.detector.watermark) if hasattr(self, "detector") else None,
            "kpi_baseline": _baseline_status(self.detector) if hasattr(self, "detector") else None,
        }

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        def guarded() -> None:
            try:
                target()
            except BaseException as exc:  # a dead component stops the service (exit 1)
                log.exception("%s failed", name)
                self._failed.append(f"{name}: {exc}")
                self.stop(f"{name} failed")

        t = threading.Thread(target=guarded, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _shutdown(self) -> int:
        for t in self._threads:
            t.join(timeout=60)
            if t.is_alive():
                log.warning("thread %s did not stop in time", t.name)
        if self._health is not None:
            self._health.close()
        self.detector.close()
        self._meta.close()
        for store in self._stores:
            store.close()
        log.info("twinrca serve stopped", extra={"failed": self._failed})
        return 1 if self._failed else 0

    # ------------------------------------------------------------------ loops
    def _ingest_loop(self) -> None:
        self.worker.run()

    def _detect_loop(self) -> None:
        interval = self.options.interval_s
        while not self._stop.is_set():
            try:
                result = self.detector.tick()
            except TwinRCAError as exc:  # store down: retry on the next tick
                log.warning("detection tick failed: %s", exc)
                self.metrics.errors.labels("detect").inc()
                self._stop.wait(min(5.0, interval * 5))
                continue
            self._ticks += 1
            self._observe(result)
            self._stop.wait(interval)

    def _observe(self, result: Any) -> None:
        m = self.metrics
        m.ticks.labels("ran" if result.ran else "idle").inc()
        if result.watermark is not None:
            m.watermark.set(result.watermark.timestamp())
        m.regions.set(len(self._all_regions) if result.regions is None else len(result.regions))
        m.kpi_baseline_ready.set(0 if self.detector.warming_up else 1)
        if result.ran:
            m.tick_seconds.observe(result.seconds)
            counts: dict[str, int] = {}
            for d in result.incidents:
                counts[str(d.state)] = counts.get(str(d.state), 0) + 1
            for state, n in counts.items():
                m.incidents.labels(state).set(n)
            log.info(
                "tick: %d incidents in %.2f s",
                len(result.incidents),
                result.seconds,
                extra={"states": counts, "watermark": str(result.watermark)},
            )

    def _predict_loop(self) -> None:
        assert self.forecaster is not None
        _lower_priority()  # scoring is batch work: detection and delivery come first
        while not self._stop.is_set():
            try:
                r = self.forecaster.tick()
            except TwinRCAError as exc:  # store down: retry later
                log.warning("prediction tick failed: %s", exc)
                self.metrics.errors.labels("predict").inc()
                self._stop.wait(min(5.0, self.options.predict_interval_s * 5))
                continue
            if r.scored_periods:
                self.metrics.predictions.inc(len(r.new_predictions))
                log.info(
                    "predict: %d periods scored, %d warnings, %d new predictions in %.2f s",
                    r.scored_periods,
                    r.warnings,
                    len(r.new_predictions),
                    r.seconds,
                    extra={"scored_until": str(self.forecaster.scored_until)},
                )
            self._stop.wait(self.options.predict_interval_s)

    def _target_policy(self) -> TargetPolicy:
        return TargetPolicy.from_setting(self.settings.webhooks.allow)

    def _deliver_loop(self) -> None:
        from twinrca.alerts.delivery import Deliverer

        o = self.options
        deliverer = Deliverer(
            self.deliver_store,
            timeout_s=o.webhook_timeout_s,
            max_attempts=o.webhook_max_attempts,
            base_backoff_s=o.webhook_base_backoff_s,
            max_backoff_s=o.webhook_max_backoff_s,
            secret_for=self._secret_for,
            policy=self._target_policy(),
        )
        try:
            while not self._stop.is_set():
                try:
                    r = deliverer.run_once(limit=200)
                except TwinRCAError as exc:
                    log.warning("webhook delivery paused: %s", exc)
                    self.metrics.errors.labels("deliver").inc()
                    self._stop.wait(2.0)
                    continue
                for outcome, n in (("delivered", r.delivered), ("retried", r.retried)):
                    if n:
                        self.metrics.webhooks.labels(outcome).inc(n)
                if r.failed:
                    self.metrics.webhooks.labels("failed").inc(r.failed)
                if not (r.delivered or r.retried or r.failed):
                    self._stop.wait(0.2)
        finally:
            deliverer.close()

    def _secret_for(self, url: str) -> str | None:
        from twinrca.alerts.subscriptions import secrets_by_url

        at, secrets = self._secrets
        if time.monotonic() - at > 10.0:
            secrets = secrets_by_url(self.deliver_store)
            self._secrets = (time.monotonic(), secrets)
        return secrets.get(url)

    def _api_loop(self) -> None:
        import uvicorn

        from twinrca.alerts.subscriptions import alerts_for

        assert self.make_api is not None
        s = self.settings
        stores: dict[str, Store] = {}
        lock = threading.Lock()

        def store_for(tenant: str) -> Store:
            with lock:
                if tenant not in stores:
                    stores[tenant] = self._open(tenant)
                return stores[tenant]

        base = f"http://{s.api_host}:{s.api_port}"
        app = self.make_api(
            store_for=store_for,
            system_store=store_for(self.options.system_tenant),
            alerts_for=lambda store, doc: alerts_for(store, doc, base_url=base),
            target_policy=self._target_policy(),
        )
        config = uvicorn.Config(app, host=s.api_host, port=s.api_port, log_config=None)
        self._api_server = uvicorn.Server(config)
        if self._stop.is_set():
            return
        self._api_server.run()  # not the main thread: uvicorn leaves the signals to us


def _lower_priority(niceness: int = 10) -> None:
    """Lower the OS scheduling priority of the calling thread only (Linux: a thread is
    a task with its own nice value); a no-op where that is not possible."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError) as exc:
        log.debug("cannot lower the thread's priority: %s", exc)


def _baseline_status(detector: Any) -> str:
    """``ready`` or ``warming up (H h of M h)``: whether KPI-triggered incidents open."""
    if not detector.warming_up:
        return "ready"
    have = detector.kpi_history.total_seconds() / 3600
    need = detector.config.min_baseline.total_seconds() / 3600
    return f"warming up ({have:.1f} h of {need:.1f} h of KPI history)"
