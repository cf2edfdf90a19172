"""EMS replayer: publish a recording to the Kafka topics at a chosen speed.

A recording is what :mod:`twinrca.ingest.files` reads: JSON lines (PM batches, alarm
notifications and log events, in time order), syslog files, and PM XML files (sent
whole, one message per file, to ``pm-xml``), merged across files in event-time order.
``speed`` 60 plays an hour of recording in a minute; ``speed`` 0 sends as fast as the
broker takes it.
"""

from __future__ import annotations

import heapq
import logging
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinrca.core.errors import BrokerUnavailable, ValidationError
from twinrca.ingest.decode import load_json, time_ns
from twinrca.ingest.files import _JSON, _SYSLOG, _kind, _read, iter_files
from twinrca.ingest.sniff import binary_reason, not_stream_reason
from twinrca.ingest.topics import Topics

__all__ = ["ReplayResult", "open_producer", "recording_messages", "replay"]

log = logging.getLogger(__name__)

_TIME_KEY = {"kpi": "periodEnd", "alarms": "eventTime", "logs": "time"}


@dataclass(slots=True)
class ReplayResult:
    sent: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    seconds: float = 0.0


def _json_kind(doc: dict[str, object]) -> str:
    if "measurements" in doc:
        return "kpi"
    if "notificationType" in doc:
        return "alarms"
    return "logs"


def _file_messages(path: Path, kind: str, data: bytes) -> Iterator[tuple[str, int | None, bytes]]:
    if kind == ".xml":
        yield "pm-xml", None, data
        return
    for line in data.splitlines():
        if not line.strip():
            continue
        if kind in _SYSLOG:
            yield "logs", None, line
            continue
        try:
            doc = load_json(line)
            topic = _json_kind(doc)
            when = time_ns(doc.get(_TIME_KEY[topic]), _TIME_KEY[topic])
        except ValidationError:
            yield "logs", None, line  # sent as is: the ingest side dead-letters it
            continue
        yield topic, when, line


def _keyed(
    messages: Iterator[tuple[str, int | None, bytes]],
) -> Iterator[tuple[int, tuple[str, int | None, bytes]]]:
    """Sort key of each message: its time, or the last time seen in its file."""
    last = -(2**63)
    for message in messages:
        if message[1] is not None:
            last = message[1]
        yield last, message


def recording_messages(
    paths: Iterable[str | Path], skipped: list[tuple[Path, str]] | None = None
) -> Iterator[tuple[str, int | None, bytes]]:
    """``(kind, event time ns or None, bytes)`` for every message of a recording, the
    files merged in event-time order (one file per topic plays as one stream).

    Files that are not streams (see :mod:`twinrca.ingest.sniff`), binary or unreadable
    files (a corrupt ``.gz``) and CSV exports (file source only) are left out and listed
    in ``skipped``.
    """
    streams: list[Any] = []
    for path in iter_files(paths):
        kind = _kind(path)
        try:
            data = _read(path)
        except (OSError, EOFError, zlib.error) as exc:  # e.g. a corrupt .gz
            data = b""
            reason: str | None = f"cannot be read: {type(exc).__name__}: {exc}"
        else:
            reason = binary_reason(kind, data) or not_stream_reason(kind, data)
        if reason is None and kind not in _JSON | _SYSLOG | {".xml"}:
            reason = "CSV PM exports are read by the file source only"
        if reason is not None:
            log.warning("not replayed %s: %s", path, reason)
            if skipped is not None:
                skipped.append((path, reason))
            continue
        streams.append(_keyed(_file_messages(path, kind, data)))
    for _, message in heapq.merge(*streams, key=lambda item: item[0]):
        yield message


def open_producer(bootstrap: str, **options: Any) -> Any:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "linger_ms": 20,
        "batch_size": 1 << 20,
        "max_request_size": 64 << 20,
        "bootstrap_timeout_ms": 10_000,
    }
    config.update(options)
    try:
        return KafkaProducer(**config)
    except KafkaError as exc:
        raise BrokerUnavailable(
            f"cannot reach Kafka: {exc}",
            bootstrap=bootstrap,
            hint="check TWINRCA_KAFKA__BOOTSTRAP (host:port) and that the broker runs",
        ) from exc


def replay(
    paths: Iterable[str | Path],
    producer: Any,
    topics: Topics,
    *,
    speed: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayResult:
    """Publish the recording; with ``speed`` > 0, keep the event-time spacing / speed."""
    result = ReplayResult()
    started = clock()
    first_ns: int | None = None
    skipped: list[tuple[Path, str]] = []
    for kind, when, value in recording_messages(paths, skipped):
        if speed > 0 and when is not None:
            if first_ns is None:
                first_ns = when
            due = started + (when - first_ns) / 1e9 / speed
            delay = due - clock()
            if delay > 0:
                producer.flush()
                sleep(delay)
        producer.send(topics.name(kind), value=value)
        result.sent[kind] = result.sent.get(kind, 0) + 1
    producer.flush()
    result.skipped = len(skipped)
    result.seconds = clock() - started
    return result
