"""Region keys for the ingest topics: the unit of scale-out of the running service.

Every message is keyed by the region of its managed object (PM batch
``managedObject``, alarm ``objectInstance``, log ``source``) and goes to partition
``murmur2(region) % partitions``, which is what Kafka's default partitioner (Java and
kafka-python) does with that key, so other producers keying by region agree. A
service instance diagnoses the regions whose partitions of the alarms topic it owns
(:func:`regions_of_partitions`).

:func:`replay_by_region` is the EMS replayer of :mod:`twinrca.ingest.replay` with
region keys, an optional fast-forward prefix (history sent at full speed, then real
pacing), and a callback with the wall time each message was handed to the producer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from kafka.partitioner.default import murmur2

from twinrca.ingest.replay import ReplayResult, recording_messages
from twinrca.ingest.topics import Topics

__all__ = [
    "OnSend",
    "element_of",
    "partition_for",
    "regions_of_partitions",
    "replay_by_region",
]

log = logging.getLogger(__name__)

#: ``(kind, managed object, message bytes, wall time of the send)``
OnSend = Callable[[str, str | None, bytes, float], None]

_ELEMENT_FIELD = {"kpi": "managedObject", "alarms": "objectInstance", "logs": "source"}
UNKNOWN_REGION = "unknown"


def partition_for(region: str, partitions: int) -> int:
    """The partition of a region key (Kafka's default partitioner on that key)."""
    if partitions < 1:
        raise ValueError(f"a topic has at least one partition, not {partitions}")
    return (murmur2(region.encode()) & 0x7FFFFFFF) % partitions


def regions_of_partitions(
    regions: Iterable[str], partitions: int, owned: Iterable[int]
) -> set[str]:
    """The regions whose key lands on one of the ``owned`` partitions."""
    mine = set(owned)
    return {r for r in regions if partition_for(r, partitions) in mine}


def element_of(kind: str, value: bytes) -> str | None:
    """The managed object of a JSON message (None for syslog lines and PM XML files)."""
    name = _ELEMENT_FIELD.get(kind)
    if name is None or not value.lstrip().startswith(b"{"):
        return None
    try:
        doc = json.loads(value)
    except ValueError:
        return None
    element = doc.get(name) if isinstance(doc, dict) else None
    return str(element) if element else None


def replay_by_region(
    paths: Iterable[str | Path],
    producer: Any,
    topics: Topics,
    region_of: Mapping[str, str],
    *,
    speed: float = 0.0,
    fast_until_ns: int | None = None,
    on_send: OnSend | None = None,
    on_live: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayResult:
    """Publish a recording keyed by region. Messages before ``fast_until_ns`` (event
    time) go at full speed; after it, the event-time spacing is kept / ``speed``
    (``speed`` 0: full speed throughout); ``on_live`` is called once before pacing
    starts. Unknown elements (and syslog lines, PM XML files) get the key ``unknown``;
    ``skipped`` counts the files that are no stream."""
    result = ReplayResult()
    started = clock()
    paced_from: tuple[float, int] | None = None
    counts: dict[str, int] = {}
    skipped: list[tuple[Path, str]] = []
    for kind, when, value in recording_messages(paths, skipped):
        if speed > 0 and when is not None and (fast_until_ns is None or when >= fast_until_ns):
            if paced_from is None:
                producer.flush()
                if on_live is not None:
                    on_live()  # e.g. wait until the consumers caught up with the history
                paced_from = (clock(), when)
            delay = paced_from[0] + (when - paced_from[1]) / 1e9 / speed - clock()
            if delay > 0:
                producer.flush()
                sleep(delay)
        element = element_of(kind, value)
        region = region_of.get(element, UNKNOWN_REGION) if element else UNKNOWN_REGION
        topic = topics.name(kind)
        n = counts.get(topic)
        if n is None:
            n = counts[topic] = len(producer.partitions_for(topic) or (0,))
        producer.send(topic, value=value, key=region.encode(), partition=partition_for(region, n))
        if on_send is not None:
            on_send(kind, element, value, wall())
        result.sent[kind] = result.sent.get(kind, 0) + 1
    producer.flush()
    result.skipped = len(skipped)
    result.seconds = clock() - started
    return result
