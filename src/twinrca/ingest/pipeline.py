"""Decode a run of messages into one write batch, and write it with retries.

Both halves are free of Kafka: :class:`BatchBuilder` takes objects with ``topic``,
``partition``, ``offset`` and ``value`` (a Kafka ``ConsumerRecord`` or
:class:`Message`), :class:`BatchWriter` takes a store and a dead-letter sink.

Order of a write (what makes a crash anywhere safe):
1. dead letters are sent and flushed to the DLQ;
2. rows and the next offsets commit in ONE store transaction (duplicates skipped);
3. only then the caller commits offsets to Kafka (informational: a restart seeks to
   the offsets stored in the database).
A crash before 2 replays the batch (rows deduplicated, at worst a dead letter twice,
with the same key); a crash after 2 replays nothing.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from twinrca.core.errors import ServiceUnavailable, StoreError, TwinRCAError, ValidationError
from twinrca.ingest.columns import Columns
from twinrca.ingest.deadletter import DeadLetter
from twinrca.ingest.logtag import LogTagger
from twinrca.ingest.metrics import IngestMetrics
from twinrca.ingest.topics import Decoder, decoder_for
from twinrca.ingest.vendor import Normaliser
from twinrca.store.base import Store, WriteBatch, WriteResult

__all__ = ["Backoff", "BatchBuilder", "BatchWriter", "Decoded", "Message", "Stopped"]

log = logging.getLogger(__name__)

DeadLetterSink = Callable[[list[DeadLetter]], None]


class Stopped(TwinRCAError):
    """The writer was asked to stop while a batch was still unwritten."""


@dataclass(frozen=True, slots=True)
class Message:
    """A message from any source (Kafka records have the same attributes)."""

    topic: str
    partition: int
    offset: int
    value: bytes


@dataclass(slots=True)
class Decoded:
    """One write batch under construction."""

    columns: Columns = field(default_factory=Columns)
    dead: list[DeadLetter] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    messages: list[object] = field(default_factory=list)
    good: int = 0

    @property
    def size(self) -> int:
        return self.columns.rows + len(self.dead)


class BatchBuilder:
    """Decodes messages by topic; every refusal becomes a :class:`DeadLetter`."""

    def __init__(
        self,
        kinds: Mapping[str, str],
        *,
        keep_messages: bool = True,
        log_tagger: LogTagger | None = None,
        normaliser: Normaliser | None = None,
    ) -> None:
        norm = self.normaliser = normaliser or Normaliser()
        self._decoders: dict[str, Decoder] = {t: decoder_for(k, norm) for t, k in kinds.items()}
        self.keep_messages = keep_messages
        self.log_tagger = log_tagger  # names the log rows each add() decodes

    def add(self, batch: Decoded, records: Iterable[object]) -> None:
        cols, offsets = batch.columns, batch.offsets
        first_log = len(cols.logs)
        for rec in records:
            topic, partition, offset = rec.topic, rec.partition, rec.offset  # type: ignore[attr-defined]
            value = rec.value or b""  # type: ignore[attr-defined]
            try:
                self._decoders[topic](value, cols)
                batch.good += 1
                for part in cols.rejected:  # parts refused alone (a PM file's bad value)
                    batch.dead.append(DeadLetter.of_rejected(part, topic, partition, offset))
                cols.rejected.clear()
            except ValidationError as exc:
                batch.dead.append(DeadLetter.of(value, exc, topic, partition, offset))
            except KeyError:
                err = ValidationError("unknown_kind", f"no decoder for topic {topic!r}")
                batch.dead.append(DeadLetter.of(value, err, topic, partition, offset))
            key = (topic, partition)
            if offsets.get(key, -1) <= offset:
                offsets[key] = offset + 1
            if self.keep_messages:
                batch.messages.append(rec)
        self.normaliser.flush(cols.kpis)
        if self.log_tagger is not None:
            self.log_tagger.tag(cols.logs, first_log)


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with full jitter: ``initial_s * 2**n`` capped at ``max_s``."""

    initial_s: float = 0.1
    max_s: float = 5.0
    attempt: int = 0

    def next_delay(self) -> float:
        delay = min(self.max_s, self.initial_s * (2**self.attempt))
        self.attempt += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.attempt = 0


class BatchWriter:
    """Writes a :class:`Decoded` batch: DLQ first, then one store transaction."""

    def __init__(
        self,
        store: Store,
        *,
        group: str | None,
        dead_letters: DeadLetterSink,
        metrics: IngestMetrics | None = None,
        stop: threading.Event | None = None,
        backoff: Backoff | None = None,
        builder: BatchBuilder | None = None,
        on_health: Callable[[bool], None] | None = None,
        store_error_attempts: int = 3,
    ) -> None:
        self.store = store
        self.group = group
        self.dead_letters = dead_letters
        self.metrics = metrics or IngestMetrics()
        self.stop = stop or threading.Event()
        self.backoff = backoff or Backoff()
        self.builder = builder
        self.on_health = on_health or (lambda healthy: None)
        self.store_error_attempts = store_error_attempts

    def write(self, batch: Decoded) -> WriteResult:
        """Write with retries until done; raises :class:`Stopped` if asked to stop."""
        self._retry(lambda: self._send_dead(batch.dead), "dead-letter topic")
        try:
            result = self._retry(lambda: self._commit(batch), "store")
        except StoreError as exc:
            if self.builder is None or len(batch.messages) <= 1:
                raise
            log.warning("batch refused by the store (%s); writing message by message", exc)
            result = self._one_by_one(batch)
        self._count(batch, result)
        return result

    def _send_dead(self, dead: list[DeadLetter]) -> None:
        if dead:
            self.dead_letters(dead)

    def _commit(self, batch: Decoded) -> WriteResult:
        frames = batch.columns.frames()
        started = time.perf_counter()
        result = self.store.write_batch(
            WriteBatch(
                kpis=frames["kpis"],
                alarms=frames["alarms"],
                logs=frames["logs"],
                offsets=dict(batch.offsets) if self.group else None,
                group=self.group if batch.offsets else None,
            )
        )
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        return result

    def _retry(self, action: Callable[[], WriteResult | None], what: str) -> WriteResult:
        store_errors = 0
        while True:
            try:
                result = action()
            except (ServiceUnavailable, OSError) as exc:
                self._wait(f"{what} unavailable: {exc}")
            except StoreError as exc:
                store_errors += 1
                if store_errors >= self.store_error_attempts:
                    raise
                self._wait(f"{what} error: {exc}")
            except Exception as exc:  # the DLQ producer raises kafka errors
                if what == "store":
                    raise
                self._wait(f"{what} failed: {type(exc).__name__}: {exc}")
            else:
                if self.backoff.attempt:
                    log.warning("%s reachable again after %d retries", what, self.backoff.attempt)
                    self.on_health(True)
                self.backoff.reset()
                return result  # type: ignore[return-value]

    def _wait(self, why: str) -> None:
        self.metrics.store_retries.inc()
        if self.backoff.attempt == 0:
            self.on_health(False)
        delay = self.backoff.next_delay()
        log.warning("%s; retrying in %.2f s", why, delay)
        if self.stop.wait(delay):
            raise Stopped("stopped while a batch was unwritten")

    def _one_by_one(self, batch: Decoded) -> WriteResult:
        """Isolate the message(s) the store refuses; they go to the DLQ."""
        if self.builder is None:
            raise StoreError("per-message fallback needs a BatchBuilder")
        totals = [0, 0, 0, 0]
        for rec in batch.messages:
            single = Decoded()
            self.builder.add(single, [rec])
            try:
                r = self._retry(functools.partial(self._commit, single), "store")
            except StoreError as exc:
                err = ValidationError("store_rejected", f"store refused the message: {exc}")
                dead = DeadLetter.of(rec.value or b"", err, rec.topic, rec.partition, rec.offset)  # type: ignore[attr-defined]
                self._retry(functools.partial(self._send_dead, [dead]), "dead-letter topic")
                batch.dead.append(dead)
                batch.good -= 1
                continue
            for i, n in enumerate(
                (r.kpis_written, r.alarms_written, r.logs_written, r.duplicates_skipped)
            ):
                totals[i] += n
        if batch.offsets and self.group:
            self._retry(
                lambda: self.store.write_batch(
                    WriteBatch(offsets=dict(batch.offsets), group=self.group)
                ),
                "store",
            )
        return WriteResult(*totals)

    def _count(self, batch: Decoded, result: WriteResult) -> None:
        m = self.metrics
        m.rows.labels("kpi").inc(result.kpis_written)
        m.rows.labels("alarm").inc(result.alarms_written)
        m.rows.labels("log").inc(result.logs_written)
        m.duplicates.inc(result.duplicates_skipped)
        for d in batch.dead:
            m.dead_letters.labels(d.source_topic, d.reason).inc()
