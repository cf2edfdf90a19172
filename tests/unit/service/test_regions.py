"""Region keys and the detector's region scope (no servers)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
from kafka.partitioner.default import murmur2

from twinrca.ingest.keyed import element_of, partition_for, regions_of_partitions
from twinrca.service.detector import SlidingDetector
from twinrca.store import open_store
from twinrca.store.base import WriteBatch

REGIONS = [f"r{i}" for i in range(12)]


def test_partition_is_kafkas_default_partitioner_on_the_region_key() -> None:
    for r in REGIONS:
        assert partition_for(r, 4) == (murmur2(r.encode()) & 0x7FFFFFFF) % 4


def test_instances_owning_disjoint_partitions_share_the_regions_exactly() -> None:
    a = regions_of_partitions(REGIONS, 4, {0, 1})
    b = regions_of_partitions(REGIONS, 4, {2, 3})
    assert a and b and not (a & b) and a | b == set(REGIONS)


def test_element_of_each_kind() -> None:
    assert element_of("kpi", json.dumps({"managedObject": "cell:1"}).encode()) == "cell:1"
    assert element_of("alarms", json.dumps({"objectInstance": "tx:2"}).encode()) == "tx:2"
    assert element_of("logs", json.dumps({"source": "site:3"}).encode()) == "site:3"
    assert element_of("logs", b"<13>Jun 3 12:00:00 host app: text") is None


class _Capture:
    def __init__(self) -> None:
        self.objects: set[str] = set()

    def run_frames(self, alarms: pd.DataFrame, kpis: pd.DataFrame, **_: object) -> list:
        self.objects |= set(alarms["managed_object"])
        return []


def test_detector_diagnoses_only_its_regions_and_keeps_their_progress() -> None:
    topology = [SimpleNamespace(element_id="cell:a", region="r0"),
                SimpleNamespace(element_id="cell:b", region="r1")]  # fmt: skip
    store = open_store("embedded", tenant="t")
    store.migrate()
    t = pd.Timestamp("2024-06-03T12:00:00Z")
    alarms = pd.DataFrame(
        {
            "alarm_id": ["a1", "b1"],
            "notification_id": [1, 2],
            "managed_object": ["cell:a", "cell:b"],
            "event_time": [t, t + pd.Timedelta(minutes=1)],
            "alarm_type": "EQUIPMENT_ALARM",
            "probable_cause": "transmitterFailure",
            "specific_problem": "x",
            "perceived_severity": "MAJOR",
            "state": "raised",
            "additional_text": "",
        }
    )
    store.write_batch(WriteBatch(alarms=alarms))
    pipeline = _Capture()
    det = SlidingDetector(store, pipeline, topology, regions=lambda: {"r1"})  # type: ignore[arg-type]
    result = det.tick()
    assert result.ran and result.regions == frozenset({"r1"})
    assert pipeline.objects == {"cell:b"}
    assert store.get_state("serve.progress.r1") is not None
    assert store.get_state("serve.progress.r0") is None
    assert not det.tick().ran  # nothing new: the pipeline is not run again
    store.close()
