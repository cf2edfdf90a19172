"""The service's drift check (runtime/twin_drift.py via TwinCalibrator) on the embedded store:
a cell whose capacity drops 40 % raises a drift finding, the lasting one refits that cell."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FIT_DAYS, RUN_DAYS, CHANGED = 10, 13, 3


@pytest.fixture(scope="module")
def drifting_network():
    from twinrca.core.topology import ElementKind
    from twinrca.twin_replay.demand import generate_demand
    from twinrca.twin_replay.generate import kpi_rows
    from twinrca.twin_replay.network import generate_topology
    from twinrca.twin_replay.simulate import CellParams, simulate

    topo = generate_topology(20, seed=5)
    base = CellParams.default(topo)
    dem = generate_demand(topo, days=RUN_DAYS, seed=6, surges=0)
    cap = base.capacity.copy()
    cap[CHANGED] *= 0.6
    runs = [
        kpi_rows(simulate(topo, dem, [], seed=5, params=p, threshold_alarms=False), topo)
        for p in (base, dataclasses.replace(base, capacity=cap))
    ]
    t = pd.to_datetime(runs[0]["period_end"], utc=True)
    fit_end = t.min() + pd.Timedelta(days=FIT_DAYS)
    change = fit_end + pd.Timedelta(hours=6)
    cell = topo.ids(ElementKind.CELL)[CHANGED]

    def moved(rows: pd.DataFrame) -> pd.Series:
        tt = pd.to_datetime(rows["period_end"], utc=True)
        return (rows["managed_object"] == cell) & (tt >= change)

    rows = pd.concat([runs[0][~moved(runs[0])], runs[1][moved(runs[1])]])
    rows = rows.assign(granularity_s=dem.step_minutes * 60, suspect=False)
    return topo, rows, fit_end, change, cell, t.max()


def test_lasting_drift_refits_the_changed_cell(tmp_path: Path, drifting_network) -> None:
    from twinrca.runtime.twin_calibration import TwinCalibrator
    from twinrca.runtime.twin_drift import DRIFT_KIND, drift_evidence
    from twinrca.store.base import WriteBatch, open_store

    topo, rows, fit_end, change, cell, end = drifting_network
    store = open_store("embedded", path=tmp_path / "store.duckdb", tenant="t1")
    store.migrate()
    try:
        store.save_topology(topo)
        store.write_batch(WriteBatch(kpis=rows))
        cal = TwinCalibrator(store, topo, window=pd.Timedelta(days=FIT_DAYS))
        assert cal.maybe_refit(fit_end)
        i = list(cal.calibration.cells).index(cell)
        before = float(cal.calibration.params.capacity[i])
        others = np.delete(cal.calibration.params.capacity, i)
        k = cal.calibration.drift.k
        step = pd.Timedelta(minutes=cal.calibration.step_minutes)
        now, seen_open_at = fit_end, None
        while now < end:
            now += pd.Timedelta(hours=1)
            cal.maybe_refit(now)
            if seen_open_at is None and store.list_documents(DRIFT_KIND, where={"state": "open"}):
                seen_open_at = now
        docs = store.list_documents(DRIFT_KIND)
        assert docs and {d["element"] for d in docs} == {cell}
        # raised within k periods of the change (plus the hourly check)
        assert seen_open_at is not None
        assert seen_open_at - change <= k * step + pd.Timedelta(hours=1)
        reasons = [v.doc["reason"] for v in store.twin_calibration_history()]
        assert "drift" in reasons
        assert store.get_twin_calibration()["refitted_cells"].keys() == {cell}
        assert any(d["state"] == "refitted" and d["lasting"] for d in docs)
        # the refit follows the cell: its capacity is now 0.6 of before, the others kept
        after = cal.calibration.params.capacity
        assert abs(float(after[i]) / before - 0.6) < 0.03
        np.testing.assert_allclose(np.delete(after, i), others, rtol=0.03)
        # after the refit the cell behaves like its (new) twin: no finding open
        assert not store.list_documents(DRIFT_KIND, where={"state": "open"})
        ev = drift_evidence(store, [cell, "cell:none"])
        assert set(ev) == {cell} and ev[cell][0]["kpi"] == "prb_utilisation"
    finally:
        store.close()
