"""The Kafka ingest worker: a light poll loop and a writer thread behind a bounded queue.

Poll thread (the caller's): polls, hands each poll result to the queue, seeks newly
assigned partitions to the offsets stored in the database, pauses every partition
while the queue is full or the store is down, resumes after, and commits to Kafka the
offsets the writer has committed to the database (for lag monitoring only).
Writer thread: decodes, batches, writes (:class:`~twinrca.ingest.pipeline.BatchWriter`).

Group membership uses kafka-python 3's ``CooperativeStickyAssignor`` (KIP-429,
incremental rebalancing) and, when ``instance_id`` is given, static membership
(KIP-345 ``group_instance_id``): a restarted worker with the same id takes its
partitions back without a rebalance.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from kafka import ConsumerRebalanceListener

from twinrca.core.errors import BrokerUnavailable, ServiceUnavailable, StoreError
from twinrca.ingest.deadletter import DeadLetter
from twinrca.ingest.dnwatch import TopologyWatch
from twinrca.ingest.logtag import LogTagger
from twinrca.ingest.metrics import IngestMetrics
from twinrca.ingest.pipeline import Backoff, BatchBuilder, BatchWriter, Decoded, Stopped
from twinrca.ingest.storemetrics import StoreMetricsReporter
from twinrca.ingest.vendor import Normaliser
from twinrca.store.base import Store

__all__ = ["IngestWorker", "WorkerConfig", "kafka_dead_letter_sink"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Tuning of one worker (defaults suit PM batches of 20 to 50 values)."""

    bootstrap: str
    group: str
    topics: Mapping[str, str]  # topic name -> kind (kpi, alarms, logs, pm-xml)
    dlq_topic: str
    instance_id: str | None = None
    batch_rows: int = 100_000
    linger_s: float = 0.05
    poll_records: int = 20_000
    queue_high: int = 4
    session_timeout_ms: int = 10_000
    metrics_interval_s: float = 10.0
    log_templates: bool = True  # template id on every log row (see ingest.logtag)
    kpi_mappings: tuple[str, ...] = ()  # users' TOML files extending the shipped mapping
    topology_check_s: float = 60.0  # how often vendor topics look for a changed topology
    consumer_options: Mapping[str, Any] = field(default_factory=dict)


def kafka_dead_letter_sink(
    producer: Any, topic: str, timeout_s: float = 10.0
) -> Callable[[list[DeadLetter]], None]:
    """A sink that sends dead letters and waits for the broker's acknowledgement."""

    def send(dead: list[DeadLetter]) -> None:
        futures = [
            producer.send(topic, value=d.original, key=d.key, headers=d.headers()) for d in dead
        ]
        producer.flush(timeout=timeout_s)
        for f in futures:
            f.get(timeout=timeout_s)

    return send


def _vendor_topics(config: WorkerConfig) -> bool:
    return any(k in ("pm-xml", "ves") for k in config.topics.values())


def _normaliser(config: WorkerConfig) -> Normaliser:
    """KPI mapping for vendor topics; DN resolution is kept current by
    :class:`TopologyWatch`."""
    from twinrca.ingest.kpimap import load_mapping

    if not _vendor_topics(config):
        return Normaliser()
    return Normaliser(load_mapping(config.kpi_mappings))


@dataclass(slots=True)
class _Flush:
    """Queue marker: write what is pending, then set ``done``."""

    done: threading.Event = field(default_factory=threading.Event)


class IngestWorker:
    """Consume the data topics of ``config`` into ``store`` until :meth:`stop`."""

    def __init__(
        self, config: WorkerConfig, store: Store, *, metrics: IngestMetrics | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.metrics = metrics or IngestMetrics()
        self._stop = threading.Event()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=config.queue_high + 4)
        self._committed: queue.SimpleQueue[dict[tuple[str, int], int]] = queue.SimpleQueue()
        self._healthy = True
        self._needs_seek: set[Any] = set()
        self._owned: set[Any] = set()
        self._lock = threading.Lock()
        self._paused = False
        self._seek_backoff = Backoff(initial_s=0.2, max_s=5.0)
        self._next_seek = 0.0
        self._consumer: Any = None
        self._producer: Any = None
        self._writer_error: BaseException | None = None
        # templating and store metrics run in the writer thread, never in the poll loop
        self.log_tagger = LogTagger(store) if config.log_templates else None
        normaliser = _normaliser(config)
        self.builder = BatchBuilder(
            config.topics, log_tagger=self.log_tagger, normaliser=normaliser
        )
        self.topology_watch = (
            TopologyWatch(store, normaliser, config.topology_check_s)
            if _vendor_topics(config)
            else None
        )
        if self.topology_watch is not None:
            self.topology_watch.check()
        self.reporter = StoreMetricsReporter(
            store,
            self.metrics,
            interval_s=config.metrics_interval_s,
            labels={"group": config.group},
        )

    # ------------------------------------------------------------------ lifecycle
    def stop(self) -> None:
        self._stop.set()

    def run(self, *, max_idle_s: float | None = None) -> None:
        """Run until :meth:`stop` (or ``max_idle_s`` without any message)."""
        self._consumer, self._producer = self._connect()
        writer = threading.Thread(
            target=self._writer_loop, name="twinrca-ingest-writer", daemon=True
        )
        writer.start()
        try:
            self._poll_loop(max_idle_s)
        finally:
            self._stop.set()
            writer.join(timeout=30)
            if not writer.is_alive():
                self._save_visibility()
            self._drain_committed()
            self._consumer.close(autocommit=False)
            self._producer.close(timeout=5)
        if self._writer_error is not None:
            raise StoreError(f"ingest writer failed: {self._writer_error}") from self._writer_error

    def _connect(self) -> tuple[Any, Any]:
        from kafka import KafkaConsumer, KafkaProducer
        from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
        from kafka.errors import KafkaError

        c = self.config
        options: dict[str, Any] = {
            "bootstrap_servers": c.bootstrap,
            "group_id": c.group,
            "group_instance_id": c.instance_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "partition_assignment_strategy": [CooperativeStickyAssignor],
            "fetch_max_bytes": 64 << 20,
            "max_partition_fetch_bytes": 16 << 20,
            "fetch_min_bytes": 1 << 16,
            "fetch_max_wait_ms": 100,
            "session_timeout_ms": c.session_timeout_ms,
            "heartbeat_interval_ms": max(1000, c.session_timeout_ms // 4),
            "reconnect_backoff_max_ms": 2000,
            "bootstrap_timeout_ms": 10_000,  # fail fast on a wrong address
        }
        options.update(c.consumer_options)
        try:
            consumer = KafkaConsumer(**options)
            producer = KafkaProducer(
                bootstrap_servers=c.bootstrap,
                acks="all",
                linger_ms=5,
                reconnect_backoff_max_ms=2000,
                bootstrap_timeout_ms=options["bootstrap_timeout_ms"],
            )
        except KafkaError as exc:
            raise BrokerUnavailable(
                f"cannot reach Kafka: {exc}",
                bootstrap=c.bootstrap,
                hint="check TWINRCA_KAFKA__BOOTSTRAP (host:port) and that the broker runs",
            ) from exc
        _await_topics(consumer, list(c.topics), wait_s=20.0)
        consumer.subscribe(list(c.topics), listener=_Listener(self))
        return consumer, producer

    # ------------------------------------------------------------------ poll thread
    def _poll_loop(self, max_idle_s: float | None) -> None:
        last_data = last_metrics = time.monotonic()
        while not self._stop.is_set():
            if self._writer_error is not None:
                return
            self._seek_assigned()
            self._drain_committed()
            self._flow_control()
            records = self._consumer.poll(timeout_ms=100, max_records=self.config.poll_records)
            now = time.monotonic()
            if records:
                last_data = now
                self._put(records)
            elif max_idle_s is not None and now - last_data > max_idle_s:
                return
            if now - last_metrics > self.config.metrics_interval_s:
                last_metrics = now
                self._report_lag()

    def _put(self, item: object, timeout_s: float | None = None) -> bool:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._stop.is_set() and self._writer_error is None:
            try:
                self._queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                if deadline is not None and time.monotonic() > deadline:
                    break
        return False

    def _flow_control(self) -> None:
        depth = self._queue.qsize()
        self.metrics.queue.set(depth)
        want_pause = depth >= self.config.queue_high or not self._healthy
        assigned = self._consumer.assignment()
        if want_pause and assigned:
            self._consumer.pause(*assigned)
            if not self._paused:
                log.info(
                    "pausing %d partitions (queue %d, store healthy %s)",
                    len(assigned),
                    depth,
                    self._healthy,
                )
            self._paused = True
        elif self._paused and not want_pause:
            self._paused = False
            log.info("resuming partitions")
            self._consumer.resume(*[tp for tp in assigned if tp not in self._needs_seek])
        self.metrics.paused.set(1 if self._paused else 0)

    def _seek_assigned(self) -> None:
        with self._lock:
            pending = set(self._needs_seek)
        if not pending or time.monotonic() < self._next_seek:
            return
        try:
            stored = self.store.read_offsets(self.config.group)
        except (ServiceUnavailable, StoreError) as exc:
            delay = self._seek_backoff.next_delay()
            self._next_seek = time.monotonic() + delay
            log.warning("cannot read stored offsets (retry in %.1f s): %s", delay, exc)
            return
        self._seek_backoff.reset()
        for tp in pending:
            offset = stored.get((tp.topic, tp.partition))
            if offset is not None:
                self._consumer.seek(tp, offset)
            log.info(
                "assigned %s-%d from %s",
                tp.topic,
                tp.partition,
                f"stored offset {offset}" if offset is not None else "committed/earliest",
            )
        with self._lock:
            self._needs_seek -= pending
        if not self._paused:
            self._consumer.resume(*pending)

    def _drain_committed(self) -> None:
        from kafka.structs import OffsetAndMetadata, TopicPartition

        merged: dict[tuple[str, int], int] = {}
        while True:
            try:
                merged.update(self._committed.get_nowait())
            except queue.Empty:
                break
        with self._lock:
            owned = {(tp.topic, tp.partition) for tp in self._owned}
        offsets = {
            TopicPartition(t, p): OffsetAndMetadata(o, "", -1)
            for (t, p), o in merged.items()
            if (t, p) in owned
        }
        if offsets:
            try:
                self._consumer.commit_async(offsets=offsets)
            except Exception as exc:  # informational commit: the database holds the truth
                log.debug("Kafka offset commit skipped: %s", exc)

    def _report_lag(self) -> None:
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            if high is not None:
                lag = max(0, high - self._consumer.position(tp, timeout_ms=1000))
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(lag)
                self.reporter.note_lag(tp.topic, tp.partition, lag)  # stored by the writer

    # ------------------------------------------------------------------ rebalance
    def on_assigned(self, partitions: list[Any]) -> None:
        if partitions:
            self._consumer.pause(*partitions)
        with self._lock:
            self._owned |= set(partitions)
            self._needs_seek |= set(partitions)

    def on_revoked(self, partitions: list[Any], *, wait: bool = True) -> None:
        if wait and partitions and not self._stop.is_set():
            marker = _Flush()
            if not self._put(marker, timeout_s=5.0) or not marker.done.wait(timeout=10.0):
                log.warning("revoked partitions before their last batch was written")
        with self._lock:
            self._owned -= set(partitions)
            self._needs_seek -= set(partitions)

    # ------------------------------------------------------------------ writer thread
    def _writer_loop(self) -> None:
        writer = BatchWriter(
            self.store,
            group=self.config.group,
            dead_letters=kafka_dead_letter_sink(self._producer, self.config.dlq_topic),
            metrics=self.metrics,
            stop=self._stop,
            backoff=Backoff(),
            builder=self.builder,
            on_health=self._set_health,
        )
        batch = Decoded()
        first = 0.0
        try:
            while True:
                self.reporter.maybe_report()
                if self.topology_watch is not None:
                    self.topology_watch.check()
                try:
                    item = self._queue.get(timeout=self.config.linger_s)
                except queue.Empty:
                    item = None
                if isinstance(item, _Flush):
                    batch = self._flush(writer, batch)
                    item.done.set()
                    continue
                if item is not None:
                    if not batch.offsets:
                        first = time.monotonic()
                    self._decode(batch, cast("Mapping[Any, list[Any]]", item))
                due = batch.offsets and (
                    batch.size >= self.config.batch_rows
                    or item is None
                    or time.monotonic() - first > 1.0
                )
                if due:
                    batch = self._flush(writer, batch)
                elif item is None and self._stop.is_set():
                    return
        except Stopped:
            log.info("writer stopped with an unwritten batch (it will be replayed)")
        except BaseException as exc:
            log.exception("ingest writer failed")
            self._writer_error = exc

    def _decode(self, batch: Decoded, records: Mapping[Any, list[Any]]) -> None:
        with self._lock:
            owned = set(self._owned)
        for tp, recs in records.items():
            if tp not in owned:
                continue  # revoked meanwhile: its new owner replays from the stored offset
            before = len(batch.dead)
            self.builder.add(batch, recs)
            bad = len(batch.dead) - before
            self.metrics.messages.labels(tp.topic, "ok").inc(len(recs) - bad)
            if bad:
                self.metrics.messages.labels(tp.topic, "dead_letter").inc(bad)

    def _flush(self, writer: BatchWriter, batch: Decoded) -> Decoded:
        if batch.offsets:
            writer.write(batch)
            self._committed.put(dict(batch.offsets))
        return Decoded()

    def _save_visibility(self) -> None:
        """Last template state and metric points (after the writer thread ended)."""
        if self.log_tagger is not None:
            self.log_tagger.save()
        self.reporter.report()

    def _set_health(self, healthy: bool) -> None:
        self._healthy = healthy


class _Listener(ConsumerRebalanceListener):
    """kafka-python rebalance listener (called inside ``poll`` on the poll thread)."""

    def __init__(self, worker: IngestWorker) -> None:
        self.worker = worker

    def on_partitions_revoked(self, revoked: list[Any]) -> None:
        self.worker.on_revoked(list(revoked))

    def on_partitions_assigned(self, assigned: list[Any]) -> None:
        self.worker.on_assigned(list(assigned))

    def on_partitions_lost(self, lost: list[Any]) -> None:
        self.worker.on_revoked(list(lost), wait=False)


def _await_topics(consumer: Any, topics: Sequence[str], *, wait_s: float) -> None:
    """Wait (bounded) until the broker reports partitions for every topic: a group
    joined while a just-created topic has no metadata yet is assigned nothing for it
    (seen with kafka-python 3.0 when topics are created right before the service)."""
    deadline = time.monotonic() + wait_s
    missing = [t for t in topics if not consumer.partitions_for_topic(t)]
    while missing and time.monotonic() < deadline:
        time.sleep(0.25)
        missing = [t for t in missing if not consumer.partitions_for_topic(t)]
    if missing:
        log.warning("topics without partitions (not created yet?): %s", ", ".join(missing))
