"""Predictions from streamed twin data: a small twin scenario, read, trained, streamed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinrca.predict.features import FeatureSpec
from twinrca.predict.pipeline import prepare, train_evaluate
from twinrca.predict.scenario import read_twin_scenario
from twinrca.predict.scoring import StreamScorer

twin = pytest.importorskip("twinrca.twin_replay")


def test_twin_scenario_streamed_into_warnings(tmp_path) -> None:
    twin.generate_scenario(tmp_path, cells=16, days=3, faults=40, seed=5)
    sc = read_twin_scenario(tmp_path)
    assert len(sc.events) > 0 and set(sc.events["element"]) <= set(sc.cells)
    spec = FeatureSpec(period_min=sc.period_min, windows=(2, 4, 8), seasonal_days=1)
    ds = prepare(
        sc.kpis,
        sc.events,
        spec=spec,
        horizon_min=60,
        alarms=sc.alarms,
        topology=sc.topology,
        elements=sc.cells,
    )
    assert ds.y.sum() > 0 and np.isfinite(ds.x).any()
    ev = train_evaluate(ds, seed=0)
    assert 0.0 <= ev.test.pr_auc <= 1.0
    scorer = StreamScorer(
        ev.model,
        spec=spec,
        topology=sc.topology,
        threshold=0.0,
        elements=sc.cells,
        silent_modes=(),  # every mode warns here: the test is of the stream's plumbing
    )
    times = np.sort(sc.kpis["time"].unique())
    first = times[-4]
    scorer.feed(sc.kpis[sc.kpis["time"] < first], sc.alarms[sc.alarms["time"] < first])
    reports = []
    for t in times[-4:]:
        win = (sc.alarms["time"] > t - pd.Timedelta(minutes=sc.period_min)) & (
            sc.alarms["time"] <= t
        )
        reports += [w.to_mda() for w in scorer.feed(sc.kpis[sc.kpis["time"] == t], sc.alarms[win])]
    probs = ev.model.predict(ev.model.matrix(ds.frame.tail(50)))
    assert np.all((probs >= 0) & (probs <= 1))
    assert len(reports) == 4 * len(sc.cells)  # every cell, every period
    for rep in reports:
        assert rep["mDAType"] == "FaultPrediction"
        assert rep["mDAOutputList"][0]["mDAOutputIEValue"] in sc.topology
