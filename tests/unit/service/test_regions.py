"""Region keys and the detector's region scope (no servers)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
from kafka.partitioner.default import murmur2

from twinrca.ingest.keyed import element_of, partition_for, regions_of_partitions
from twinrca.runtime.detect_loop import SlidingDetector, WindowConfig
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
        self.seen: list[set[str]] = []

    def run_frames(self, alarms: pd.DataFrame, kpis: pd.DataFrame, **_: object) -> list:
        self.objects |= set(alarms["managed_object"])
        self.seen.append(set(alarms["alarm_id"]))
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
    no_pm = WindowConfig(kpi_wait_s=0.0)  # an alarms-only store: do not wait for KPIs
    det = SlidingDetector(store, pipeline, topology, no_pm, regions=lambda: {"r1"})  # type: ignore[arg-type]
    result = det.tick()
    assert result.ran and result.regions == frozenset({"r1"})
    assert pipeline.objects == {"cell:b"}
    assert store.get_state("serve.progress.r1") is not None
    assert store.get_state("serve.progress.r0") is None
    assert not det.tick().ran  # nothing new: the pipeline is not run again
    store.close()


def _alarm(alarm_id: str, element: str, at: pd.Timestamp) -> dict:
    return {
        "alarm_id": alarm_id,
        "notification_id": 1,
        "managed_object": element,
        "event_time": at,
        "alarm_type": "EQUIPMENT_ALARM",
        "probable_cause": "transmitterFailure",
        "specific_problem": "x",
        "perceived_severity": "MAJOR",
        "state": "raised",
        "additional_text": "",
    }


def _kpi(element: str, at: pd.Timestamp) -> dict:
    return {
        "managed_object": element,
        "measurement": "availability",
        "value": 100.0,
        "period_end": at,
        "granularity_s": 900,
        "suspect": False,
    }


def test_alarms_wait_for_the_kpis_of_their_time_unless_the_kpis_stall() -> None:
    """A backlog where alarms run ahead of the PM data: an incident must not be diagnosed
    (and, its alarms cleared, resolved) before the KPIs its verification needs are in."""
    import time

    topology = [SimpleNamespace(element_id="cell:a", region="r0")]
    store = open_store("embedded", tenant="t")
    store.migrate()
    t = pd.Timestamp("2024-06-03T12:00:00Z")
    store.write_batch(
        WriteBatch(
            alarms=pd.DataFrame(
                [_alarm("early", "cell:a", t), _alarm("late", "cell:a", t + pd.Timedelta(hours=3))]
            )
        )
    )
    pipeline = _Capture()
    cfg = WindowConfig(kpi_wait_s=0.5, kpi_slack=pd.Timedelta(minutes=30))
    det = SlidingDetector(store, pipeline, topology, cfg)  # type: ignore[arg-type]
    assert not det.tick().ran  # no PM yet: wait
    store.write_batch(WriteBatch(kpis=pd.DataFrame([_kpi("cell:a", t)])))
    det.tick()
    assert pipeline.seen == [{"early"}]  # the late alarm is beyond KPIs + slack
    store.write_batch(WriteBatch(kpis=pd.DataFrame([_kpi("cell:a", t + pd.Timedelta(hours=3))])))
    det.tick()
    assert pipeline.seen[-1] == {"early", "late"}
    # the PM stream stalls: after kpi_wait_s, alarms go on without their KPIs
    store.write_batch(
        WriteBatch(alarms=pd.DataFrame([_alarm("later", "cell:a", t + pd.Timedelta(hours=8))]))
    )
    det.tick()
    assert "later" not in pipeline.seen[-1]
    time.sleep(0.6)
    det.tick()
    assert "later" in pipeline.seen[-1]
    store.close()


def test_a_first_start_examines_the_backlog_not_only_the_last_lookback() -> None:
    """No progress stored yet and a day of data already in the store: the first window
    reaches back ``history``, so the morning's incident is not skipped."""
    topology = [SimpleNamespace(element_id="cell:a", region="r0")]
    store = open_store("embedded", tenant="t")
    store.migrate()
    t = pd.Timestamp("2024-06-03T01:00:00Z")
    late = t + pd.Timedelta(hours=20)
    store.write_batch(
        WriteBatch(
            alarms=pd.DataFrame([_alarm("morning", "cell:a", t), _alarm("night", "cell:a", late)]),
            kpis=pd.DataFrame([_kpi("cell:a", t), _kpi("cell:a", late)]),
        )
    )
    pipeline = _Capture()
    det = SlidingDetector(store, pipeline, topology, WindowConfig())  # type: ignore[arg-type]
    assert det.tick().ran
    assert pipeline.seen[-1] == {"morning", "night"}
    store.close()
