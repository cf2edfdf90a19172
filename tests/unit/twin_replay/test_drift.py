"""Twin drift: a cell whose capacity changes mid-run leaves its calibrated band, others do not."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from twinrca.core.topology import ElementKind
from twinrca.twin_replay.calibration import Calibration, calibrate_kpis, kpi_grids
from twinrca.twin_replay.demand import generate_demand
from twinrca.twin_replay.drift import (
    DriftState,
    _run_length,
    heldout_band,
    standardize,
    step_drift,
)
from twinrca.twin_replay.generate import kpi_rows
from twinrca.twin_replay.network import generate_topology
from twinrca.twin_replay.simulate import CellParams, simulate

FIT_DAYS, RUN_DAYS = 10, 13
CHANGE_AFTER = pd.Timedelta(hours=6)  # after the calibration's data end


def changed_network(cells: int, changes: dict[int, float], seed: int):
    """A healthy twin network and the same network where cells ``changes`` (index ->
    capacity factor) change capacity ``CHANGE_AFTER`` past the calibration's data."""
    topo = generate_topology(cells, seed=seed)
    ids = topo.ids(ElementKind.CELL)
    base = CellParams.default(topo)
    dem = generate_demand(topo, days=RUN_DAYS, seed=seed + 1, surges=0)
    healthy = kpi_rows(
        simulate(topo, dem, [], seed=seed, params=base, threshold_alarms=False), topo
    )
    cap = base.capacity.copy()
    for i, f in changes.items():
        cap[i] *= f
    after = simulate(
        topo, dem, [], seed=seed, params=dataclasses.replace(base, capacity=cap),
        threshold_alarms=False,
    )  # fmt: skip
    after = kpi_rows(after, topo)
    t = pd.to_datetime(healthy["period_end"], utc=True)
    fit_end = t.min() + pd.Timedelta(days=FIT_DAYS)
    change = fit_end + CHANGE_AFTER
    moved = [ids[i] for i in changes]

    def at_change(rows: pd.DataFrame) -> pd.Series:
        tt = pd.to_datetime(rows["period_end"], utc=True)
        return rows["managed_object"].isin(moved) & (tt >= change)

    mixed = pd.concat([healthy[~at_change(healthy)], after[at_change(after)]])
    return topo, healthy, mixed, fit_end, change, moved


@pytest.fixture(scope="module")
def network():
    return changed_network(40, {4: 0.6, 11: 1.5}, seed=3)


@pytest.fixture(scope="module")
def calibration(network) -> Calibration:
    topo, healthy, _, fit_end, _, _ = network
    t = pd.to_datetime(healthy["period_end"], utc=True)
    return calibrate_kpis(healthy[t < fit_end], topo)


def monitor(cal: Calibration, rows: pd.DataFrame, start, chunk: int | None = None):
    t = pd.to_datetime(rows["period_end"], utc=True)
    times, _, grids = kpi_grids(rows[t >= start], list(cal.cells), step_minutes=cal.step_minutes)
    state, found = DriftState.new(cal.cells), []
    step = chunk or len(times)
    for a in range(0, len(times), step):
        sl = slice(max(0, a - 2), a + step)  # re-read two periods: they must be skipped
        z = standardize(cal, times[sl], {k: v[:, sl] for k, v in grids.items()})
        state = DriftState.from_json(state.to_json())  # a restart between checks
        state, new = step_drift(state, times[sl], z, cal.drift, cal.step_minutes)
        found += new
    return found


def test_changed_cells_drift_after_k_periods(network, calibration) -> None:
    _, _, mixed, fit_end, change, moved = network
    cal = calibration
    found = monitor(cal, mixed, fit_end)
    assert {f.element for f in found} == set(moved)
    step = pd.Timedelta(minutes=cal.step_minutes)
    for cell, sign in zip(moved, (+1, -1), strict=True):  # -40 %: PRB above the twin
        prb = [f for f in found if f.element == cell and f.kpi == "prb_utilisation"]
        assert len(prb) == 1, prb
        f = prb[0]
        assert f.direction == sign
        assert change <= pd.Timestamp(f.onset) <= change + 4 * step
        assert pd.Timestamp(f.detected) - pd.Timestamp(f.onset) == (cal.drift.k - 1) * step
        assert f.state == "open" and f.lasting  # three days on: past the two-day span


def test_healthy_run_raises_no_finding(network, calibration) -> None:
    _, healthy, _, fit_end, _, _ = network
    assert monitor(calibration, healthy, fit_end) == []


def test_incremental_checks_match_one_batch(network, calibration) -> None:
    _, _, mixed, fit_end, _, _ = network
    one = monitor(calibration, mixed, fit_end)
    many = monitor(calibration, mixed, fit_end, chunk=7)
    key = {(f.element, f.kpi, f.onset, f.detected) for f in one}
    assert key == {(f.element, f.kpi, f.onset, f.detected) for f in many}


def test_band_round_trips_and_merge_replaces_only_the_part(network, calibration) -> None:
    topo, _, mixed, fit_end, _, moved = network
    back = Calibration.from_json(calibration.to_json())
    assert back.drift is not None and back.drift.k == calibration.drift.k
    np.testing.assert_allclose(
        back.drift.scale["prb_utilisation"], calibration.drift.scale["prb_utilisation"], 1e-4
    )
    t = pd.to_datetime(mixed["period_end"], utc=True)
    late = mixed[mixed["managed_object"].isin(moved) & (t >= fit_end + pd.Timedelta(days=1))]
    part = calibrate_kpis(late, topo)
    merged = calibration.merged(part, only=moved)
    rows = [calibration.cells.index(c) for c in moved]
    others = np.setdiff1d(np.arange(len(calibration.cells)), rows)
    np.testing.assert_array_equal(
        merged.params.capacity[others], calibration.params.capacity[others]
    )
    ratio = merged.params.capacity[rows] / calibration.params.capacity[rows]
    np.testing.assert_allclose(ratio, [0.6, 1.5], rtol=0.03)


def test_k_follows_the_residual_persistence() -> None:
    rng = np.random.default_rng(0)
    iid = rng.normal(size=(50, 4 * 96))
    ar = np.empty_like(iid)
    ar[:, 0] = iid[:, 0]
    for t in range(1, ar.shape[1]):
        ar[:, t] = 0.9 * ar[:, t - 1] + np.sqrt(1 - 0.81) * iid[:, t]
    floors = {"prb_utilisation": 1.0, "dl_throughput_mbps": 1.0}
    b_iid = heldout_band({"prb_utilisation": iid, "dl_throughput_mbps": iid}, 96, floors)
    b_ar = heldout_band({"prb_utilisation": ar, "dl_throughput_mbps": ar}, 96, floors)
    assert b_ar.q["prb_utilisation"] > b_iid.q["prb_utilisation"]
    assert b_ar.k > b_iid.k
    assert b_ar.lasting == 2 * 96
    # the rule itself: the chance-run rate at k is within the target, at k - 1 it is not
    p, q = b_ar.p["prb_utilisation"], b_ar.q["prb_utilisation"]
    k = _run_length(p, q, 96)
    assert 96 * p * (1 - q) * q ** (k - 1) <= 0.5e-3 < 96 * p * (1 - q) * q ** (k - 2)
