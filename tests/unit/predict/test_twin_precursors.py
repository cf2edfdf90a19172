"""Prediction on small twin scenarios with precursor telemetry: warnings fire before the
service loss (lead time > 0), on an unseen seed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from twinrca.core.topology import ElementKind
from twinrca.predict.evaluate import lead_times, threshold_for_precision
from twinrca.predict.features import FeatureSpec
from twinrca.predict.pipeline import prepare, train_evaluate
from twinrca.predict.risk import RISK_CONFIG
from twinrca.predict.scenario import read_twin_scenario, target_events

twin = pytest.importorskip("twinrca.twin_replay")

CONFIG = replace(RISK_CONFIG, early_stopping=300, min_data_in_leaf=10)  # as bench.predict
THRESHOLDS = (
    ("battery_soc", 0.0, -1),
    ("memory_util", 100.0, 1),
    ("cabinet_temp", 68.0, 1),
    ("rsl_dbm", -80.0, -1),
)


def _dataset(path, seed):
    twin.generate_scenario(path, cells=60, days=6, faults=70, seed=seed)
    sc = read_twin_scenario(path)
    rows = [e.element_id for e in sc.topology if e.kind != ElementKind.CORE]
    spec = FeatureSpec(
        period_min=sc.period_min, windows=(2, 4, 8), seasonal_days=1, thresholds=THRESHOLDS
    )
    events = target_events(sc.events, sc.topology, rows)
    assert set(events["element"]) - set(sc.cells)  # sites / links carry their cells' losses
    return prepare(
        sc.kpis,
        events,
        spec=spec,
        horizon_min=60,
        alarms=sc.alarms,
        topology=sc.topology,
        elements=rows,
    )


@pytest.mark.slow  # two 60-cell, 6-day scenarios and a model: about 30 s
def test_precursor_features_warn_before_service_loss(tmp_path) -> None:
    train = _dataset(tmp_path / "a", 11)
    test = _dataset(tmp_path / "b", 12)
    assert "up__battery_soc__ttt_2" in train.names and "memory_util__margin" in train.names
    ev = train_evaluate(train, test=test, seed=0, config=CONFIG)
    score = ev.model.predict(ev.model.matrix(test.frame))
    # the threshold from the training scenario (its scores, its labels), not from the test
    thr = threshold_for_precision(train.y, ev.model.predict(train.x), 0.8)
    warn = score >= thr
    leads = lead_times(warn, test.y, test.lead_min, test.fault_id)
    assert len(leads) > 0 and np.all(leads > 0)  # warned before the loss, not at it
    # the battery's time to empty tells which rows precede a battery exhaustion
    batt = (test.y == 0) | (test.mode == "FM-PWR-BATTERY")
    assert ev.test.pr_auc > 3 * test.y.mean()
    assert score[batt & (test.y == 1)].mean() > score[test.y == 0].mean()
