from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from twinrca.core import Element, ElementKind, Topology
from twinrca.detect.baseline import detect_kpi_anomalies
from twinrca.detect.grouping import candidate_elements, group_alarms

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _topo() -> Topology:
    k = ElementKind
    els = [Element("core", k.CORE), Element("t1", k.TRANSPORT), Element("t2", k.TRANSPORT)]
    feeds = [("core", "t1"), ("core", "t2")]
    for s, t in (("s1", "t1"), ("s2", "t1"), ("s3", "t2")):
        els.append(Element(s, k.SITE))
        feeds.append((t, s))
        for c in range(3):
            els.append(Element(f"{s}c{c}", k.CELL))
            feeds.append((s, f"{s}c{c}"))
    return Topology(els, feeds)


def _alarm(i: int, mo: str, minutes: float, state: str = "raised") -> dict:
    return {
        "alarm_id": f"a{i}",
        "managed_object": mo,
        "event_time": T0 + timedelta(minutes=minutes),
        "alarm_type": "EQUIPMENT_ALARM",
        "probable_cause": "x",
        "specific_problem": "",
        "perceived_severity": "MAJOR",
        "state": state,
    }


def test_site_fault_and_unrelated_fault_form_two_incidents() -> None:
    rows = [
        _alarm(0, "s1", 0),
        _alarm(1, "s1c0", 1),
        _alarm(2, "s1c1", 2),
        _alarm(3, "s1c2", 2),
        _alarm(4, "s3c0", 3),  # another transport branch at the same time
        _alarm(5, "s1", 10, "cleared"),
        _alarm(6, "s2c1", 300),
    ]  # same branch, much later
    groups = group_alarms(pd.DataFrame(rows), _topo(), window_s=900, max_up=1)
    by_elements = {g.elements: g for g in groups}
    site = by_elements[("s1", "s1c0", "s1c1", "s1c2")]
    assert site.root_element == "s1"
    assert len(site.root_rows) == 1 and len(site.child_rows) == 3
    assert ("s3c0",) in by_elements and ("s2c1",) in by_elements
    assert len(groups) == 3


def test_transport_fault_joins_sites_below_it() -> None:
    rows = [_alarm(0, "s1c0", 0), _alarm(1, "s2c0", 1), _alarm(2, "t1", 2), _alarm(3, "s1", 2)]
    groups = group_alarms(pd.DataFrame(rows), _topo(), window_s=900, max_up=2)
    assert len(groups) == 1
    assert groups[0].root_element == "t1"
    cands = candidate_elements(groups[0], _topo())
    assert {"t1", "s1", "s2", "s1c0", "s2c0", "core"} <= set(cands)


def test_seasonal_anomaly_detection_finds_planted_drop() -> None:
    rng = np.random.default_rng(1)
    times = pd.date_range(T0, periods=96 * 8, freq="15min", tz="UTC")
    minute_of_day = np.asarray(times.hour * 60 + times.minute)
    daily = 50 + 30 * np.sin(2 * np.pi * minute_of_day / 1440)
    values = daily + rng.normal(0, 1.0, len(times))
    values[-10:-6] = 0.0  # an outage in the last day
    df = pd.DataFrame(
        {"managed_object": "c1", "measurement": "thp", "period_end": times, "value": values}
    )
    history, current = df.iloc[: 96 * 7], df.iloc[96 * 7 :]
    found = detect_kpi_anomalies(history, current, threshold=5.0, slot_minutes=15)
    assert set(found["period_end"]) == set(times[-10:-6])
    assert (found["direction"] == -1).all()
