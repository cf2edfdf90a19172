"""KPI-threshold alarms: raised and cleared with hysteresis, quiet where a fault alarm
already explains the KPI, present in SimResult.alarms and the generator's streams."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from twinrca.core.topology import ElementKind
from twinrca.fmea.catalogue import Catalogue, load_catalogue
from twinrca.twin_replay import (
    Intervention,
    SurgeEvent,
    generate_demand,
    generate_scenario,
    generate_topology,
    simulate,
)
from twinrca.twin_replay.thresholds import THRESHOLD_RULES, ThresholdRule, _spans

PRB = THRESHOLD_RULES[0]


def test_hysteresis_and_persistence() -> None:
    v = np.array([50, 96, 90, 97, 98, 90, 86, 84, 96, 97, 99], dtype=float)[None, None, :]
    # 96 alone (1 step) does not raise; 97, 98 does (at the 2nd); 90 and 86 stay above the
    # clear level 85; 84 clears; 96, 97 raises again and stays raised at the end
    assert _spans(v, PRB, None) == [(0, 0, 4, 7), (0, 0, 9, -1)]
    low = ThresholdRule("availability", ElementKind.CELL, False, 90.0, 99.0, 1, "x")
    a = np.array([100, 80, 70, 98.5, 99.5, 50], dtype=float)[None, None, :]
    assert _spans(a, low, None) == [(0, 0, 1, 4), (0, 0, 5, -1)]
    # not allowed at step 1 (a fault alarm explains it): raised at step 2 instead
    allowed = np.array([True, False, True, True, True, True])[None, None, :]
    assert _spans(a, low, allowed) == [(0, 0, 2, 4), (0, 0, 5, -1)]


@pytest.fixture(scope="module")
def net():
    topo = generate_topology(60, seed=2)
    return topo


def _rows(r, problem: str):
    a = r.alarms
    return a[(a["probable_cause"] == "thresholdCrossed") & (a["specific_problem"] == problem)]


def test_stadium_surge_raises_prb_alarms_that_clear(net) -> None:
    topo = net
    site = topo.element(topo.ids(ElementKind.SITE)[0])
    surge = SurgeEvent(site.lat, site.lon, 0.5, start_step=40, end_step=48, factor=6.0)
    dem = generate_demand(topo, days=1, seed=2, surges=[surge])
    quiet = generate_demand(topo, days=1, seed=2, surges=[])
    rows = _rows(simulate(topo, dem, seed=1), PRB.specific_problem)
    base = _rows(simulate(topo, quiet, seed=1), PRB.specific_problem)
    hot = rows[(rows["raise_step"] >= 41) & (rows["raise_step"] <= 48)]
    assert len(hot) > len(base[(base["raise_step"] >= 41) & (base["raise_step"] <= 48)])
    assert set(hot["element_id"]) & set(topo.children(site.element_id))
    assert (hot["alarm_type"] == "QUALITY_OF_SERVICE_ALARM").all()
    assert (hot["clear_step"] > hot["raise_step"]).all()  # cleared after the event
    assert (hot["clear_step"] <= 60).all()


def test_availability_alarm_only_without_an_own_alarm(net) -> None:
    topo = net
    dem = generate_demand(topo, days=0.5, seed=2, surges=[])
    cell = topo.ids(ElementKind.CELL)[4]
    site = next(s for s in topo.ids(ElementKind.SITE) if len(topo.parents(s)) == 1)
    avail = "Cell availability below threshold"
    # a reset takes the cell down with its own "Cell service unavailable": no threshold alarm
    reset = simulate(topo, dem, [Intervention("remediation", "RA-RESET-UNIT", cell, 5)], seed=1)
    assert len(_rows(reset, avail)) == 0
    # a silent radio unit failure (its alarms lost, a "sleeping cell"): only the
    # threshold alarm reports the cell down, raised at the end of the first period down
    cat = load_catalogue()
    silent = [replace(m, alarms=()) if m.id == "FM-RAN-RU" else m for m in cat]
    cat = Catalogue(silent, cat.actions, version=cat.version)
    r = simulate(
        topo, dem, [Intervention("fault", "FM-RAN-RU", cell, 3, 30)], seed=5, catalogue=cat
    )
    rows = _rows(r, avail)
    assert list(rows["element_id"]) == [cell]
    assert not (r.alarms["probable_cause"] != "thresholdCrossed").any()
    row = rows.iloc[0]
    assert row["specific_problem"] == avail and row["severity"] == "MAJOR"
    assert (row["raise_step"], row["clear_step"]) == (4, 31)
    assert row["raise_min"] == 4 * dem.step_minutes
    # a battery outage raises site and cell alarms: nothing from thresholds on its cells
    r = simulate(topo, dem, [Intervention("fault", "FM-PWR-BATTERY", site, 3, 20)], seed=1)
    assert not set(_rows(r, avail)["element_id"]) & set(topo.children(site))


def test_threshold_alarms_reach_the_streams(tmp_path) -> None:
    generate_scenario(tmp_path, cells=60, days=1, faults=2, seed=3)
    msgs = [
        json.loads(x) for x in (tmp_path / "streams" / "alarms.jsonl").read_text().split("\n") if x
    ]
    text = json.dumps(msgs)
    assert "thresholdCrossed" in text and "PRB utilisation above threshold" in text
