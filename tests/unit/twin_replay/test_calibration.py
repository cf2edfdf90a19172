"""Calibration fits a network whose cells differ from the twin's defaults."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinrca.core.errors import ValidationError
from twinrca.core.topology import ElementKind
from twinrca.twin_replay.calibration import Calibration, calibrate_kpis
from twinrca.twin_replay.demand import generate_demand
from twinrca.twin_replay.fit import fit_cell_model, period_ends, seasonal_naive
from twinrca.twin_replay.generate import kpi_rows
from twinrca.twin_replay.network import generate_topology
from twinrca.twin_replay.simulate import CellParams, simulate


@pytest.fixture(scope="module")
def network():
    topo = generate_topology(30, seed=3)
    rng = np.random.default_rng(5)
    base = CellParams.default(topo)
    n = len(base.capacity)
    truth = CellParams(
        (base.capacity * rng.uniform(0.6, 1.4, n)).astype(np.float32),
        rng.uniform(0.7, 1.3, n).astype(np.float32),
        base.sensitivity,
        base.noise,
        base.compensation,
    )
    dem = generate_demand(topo, days=9, seed=4, surges=0)
    res = simulate(topo, dem, [], seed=4, params=truth, threshold_alarms=False)
    return topo, truth, dem, res


def test_fit_recovers_capacity_and_scale(network) -> None:
    topo, truth, dem, res = network
    cells = topo.ids(ElementKind.CELL)
    kp = res.kpis[0][[res.element_ids.index(c) for c in cells]].astype(np.float64)
    times = period_ends(dem.start, dem.step_minutes, dem.steps)
    fr = fit_cell_model(
        topo,
        times,
        kp[:, :, 1],
        kp[:, :, 2],
        kp[:, :, 0],
        step_minutes=dem.step_minutes,
        nominal=dem.offered.astype(np.float64),
    )
    cap_err = np.abs(fr.params.capacity - truth.capacity) / truth.capacity
    scale_err = np.abs(fr.params.scale - truth.scale) / truth.scale
    default_err = np.abs(CellParams.default(topo).capacity - truth.capacity) / truth.capacity
    assert np.median(default_err) > 0.1  # the defaults are off ...
    assert np.max(cap_err) < 0.02  # ... the fit is not
    assert np.max(scale_err) < 0.05


def test_calibrate_kpis_beats_naive_and_round_trips(network) -> None:
    topo, _, _, res = network
    cal = calibrate_kpis(kpi_rows(res, topo), topo)
    h = cal.heldout
    assert h["mape_thr"] < h["naive_mape_thr"]
    assert h["mape_prb"] < h["naive_mape_prb"]
    assert cal.fit_end > cal.fit_start
    back = Calibration.from_json(cal.to_json())
    assert back.cells == cal.cells
    np.testing.assert_allclose(back.params.capacity, cal.params.capacity, rtol=1e-5)
    same = back.params_for(topo)
    np.testing.assert_allclose(same.capacity, cal.params.capacity, rtol=1e-5)


def test_params_for_keeps_defaults_of_new_cells(network) -> None:
    topo, _, _, res = network
    rows = kpi_rows(res, topo)
    cells = topo.ids(ElementKind.CELL)
    known = rows[rows["managed_object"].isin(cells[:10])]
    cal = calibrate_kpis(known, topo)
    p = cal.params_for(topo)
    base = CellParams.default(topo)
    assert not np.allclose(p.capacity[:10], base.capacity[:10])
    np.testing.assert_array_equal(p.capacity[10:], base.capacity[10:])


def test_seasonal_naive_uses_last_week_across_weekday_class() -> None:
    start = pd.Timestamp("2024-06-03T00:00Z").to_pydatetime()  # a Monday
    times = period_ends(start, 60, 24 * 14)
    values = np.arange(24 * 14, dtype=float)[None, :]
    naive = seasonal_naive(values, times, 60)
    tue, sat, mon2 = 24 * 1 + 5, 24 * 5 + 5, 24 * 7 + 5
    assert naive[0, tue] == values[0, tue - 24]
    assert naive[0, sat] != naive[0, sat]  # Friday is a weekday and no week back: NaN
    assert naive[0, mon2] == values[0, mon2 - 24 * 7]


def test_too_little_data_is_an_error(network) -> None:
    topo, _, _, res = network
    rows = kpi_rows(res, topo)
    t = pd.to_datetime(rows["period_end"], utc=True)
    with pytest.raises(ValidationError):
        calibrate_kpis(rows[t < t.min() + pd.Timedelta(hours=30)], topo)
