"""``twinrca ems replay`` keyed by region, on a real Kafka.

A tiny twin scenario whose elements are spread over four regions is replayed with the
CLI (topology found in the scenario folder); every message must land on the partition
that :mod:`twinrca.ingest.keyed` predicts for its element's region (so each ``twinrca
serve`` instance gets whole regions), keyed by that region, and none may be lost or
duplicated. ``--no-by-region`` keeps the old unkeyed replay.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from twinrca.core.topology import Topology
from twinrca.ingest.keyed import element_of, partition_for, regions_of_partitions
from twinrca.ingest.topics import Topics

pytestmark = pytest.mark.integration

PARTITIONS = 3
KINDS = ("kpi", "alarms", "logs")
FILES = {"kpi": "kpi.jsonl", "alarms": "alarms.jsonl", "logs": "logs.jsonl"}


def _region(element_id: str) -> str:
    """Sites (with their cells and access link) in three areas, the rest backbone."""
    m = re.match(r"(?:cell:|site:|tx:acc-)(\d+)", element_id)
    return f"area{int(m.group(1)) % 3}" if m else "backbone"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from twinrca.twin_replay.generate import generate_scenario
    from twinrca.twin_replay.network import generate_topology

    frames = generate_topology(20, seed=2).to_frames()
    elements = frames["elements"].copy()
    elements["region"] = [_region(e) for e in elements["element_id"]]
    out = tmp_path_factory.mktemp("ems-regions")
    topology = Topology.from_frames({**frames, "elements": elements})
    generate_scenario(out, cells=20, days=0.2, faults=2, seed=2, topology=topology)
    return out


def _create_topics(bootstrap: str, topics: Topics) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    names = [topics.name(k) for k in (*KINDS, "pm-xml", "dlq")]
    admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names])
    admin.close()


def _read_all(bootstrap: str, topics: Topics, timeout_s: float = 20.0) -> list:
    """Every record of the data topics, up to their end offsets."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    tps = [TopicPartition(topics.name(k), p) for k in KINDS for p in range(PARTITIONS)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    end = consumer.end_offsets(tps)
    records: list = []
    deadline = time.monotonic() + timeout_s
    while any(consumer.position(tp) < end[tp] for tp in tps):
        assert time.monotonic() < deadline, "timed out reading the topics back"
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
    consumer.close()
    return records


def _replay(bootstrap: str, topics: Topics, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "twinrca", "ems", "replay", *args, "--speed", "0"),
            *("--bootstrap", bootstrap, "--prefix", topics.prefix),
        ],
        env={**os.environ, "TWINRCA_LOG_JSON": "true"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def _recorded(scenario: Path) -> Counter:
    """(kind, message bytes) of every line of the recording."""
    return Counter(
        (kind, line)
        for kind, name in FILES.items()
        for line in (scenario / "streams" / name).read_bytes().splitlines()
        if line.strip()
    )


def _sent(stdout: str) -> dict[str, int]:
    """``sent alarms=6 kpi=532 logs=7 in 0.3 s (files skipped: 2)`` -> counts."""
    return {k: int(v) for k, v in (kv.split("=") for kv in stdout.split(" in ")[0].split()[1:])}


def test_replay_by_region_sends_each_region_to_its_partition(
    scenario: Path, kafka_bootstrap: str, unique_name: str
) -> None:
    topics = Topics(unique_name + ".")
    _create_topics(kafka_bootstrap, topics)
    done = _replay(kafka_bootstrap, topics, str(scenario))  # topology.json found there
    assert "keying messages by region (4 regions" in done.stderr

    recorded = _recorded(scenario)
    records = _read_all(kafka_bootstrap, topics)
    kind_of = {topics.name(k): k for k in KINDS}
    got = Counter((kind_of[r.topic], r.value) for r in records)
    assert got == recorded  # nothing lost, nothing twice
    assert _sent(done.stdout) == dict(Counter(kind for kind, _ in recorded.elements()))

    region_of = {e.element_id: e.region for e in Topology.from_json(scenario / "topology.json")}
    partitions_of: dict[tuple[str, str], set[int]] = {}
    for r in records:
        region = region_of[element_of(kind_of[r.topic], r.value)]  # every element is known
        assert r.key == region.encode()
        partitions_of.setdefault((r.topic, region), set()).add(r.partition)
    regions = set(region_of.values())
    for (topic, region), parts in partitions_of.items():
        assert parts == {partition_for(region, PARTITIONS)}, (topic, region, parts)
        (part,) = parts
        assert region in regions_of_partitions(regions, PARTITIONS, [part])
    assert len({p for parts in partitions_of.values() for p in parts}) >= 2  # a real split


def test_no_by_region_replays_unkeyed(
    scenario: Path, kafka_bootstrap: str, unique_name: str
) -> None:
    topics = Topics(unique_name + ".")
    _create_topics(kafka_bootstrap, topics)
    done = _replay(kafka_bootstrap, topics, str(scenario), "--no-by-region")
    assert "keying messages by region" not in done.stderr
    records = _read_all(kafka_bootstrap, topics)
    kind_of = {topics.name(k): k for k in KINDS}
    assert Counter((kind_of[r.topic], r.value) for r in records) == _recorded(scenario)
    assert all(r.key is None for r in records)
