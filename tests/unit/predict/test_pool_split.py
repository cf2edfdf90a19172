"""Pooling twin runs keeps each run's faults apart and the columns aligned; the held-out
slice of the risk model is cut at half of its positives, so both parts hold some."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinrca.predict.pipeline import Dataset, pool_runs
from twinrca.predict.risk import split_at_half_positives


def _run(n: int, faults: int, *, extra: bool = False, horizon: float = 60.0) -> Dataset:
    t = pd.date_range("2026-01-01", periods=n, freq="5min", tz="UTC")
    frame = pd.DataFrame({"time": t, "element": "site:1", "a": np.arange(n, dtype=float)})
    names = ["a"]
    if extra:
        frame["alarm__x__sum_6"] = 1.0
        names.append("alarm__x__sum_6")
    y = np.zeros(n, dtype=int)
    fid = np.full(n, -1)
    for k in range(faults):
        y[10 * k : 10 * k + 3], fid[10 * k : 10 * k + 3] = 1, k
    mode = np.where(y == 1, "FM-A", "").astype(object)
    return Dataset(frame, names, y, np.where(y == 1, 20.0, np.nan), fid, mode, horizon, 5.0, 5, {})


def test_pool_runs_keeps_faults_of_runs_apart_and_fills_absent_event_columns() -> None:
    a, b = _run(40, 3, extra=True), _run(30, 2)
    pooled = pool_runs([a, b])
    assert len(pooled.y) == 70 and pooled.names == ["a", "alarm__x__sum_6"]
    assert pooled.y.sum() == a.y.sum() + b.y.sum()
    # run b's faults 0 and 1 become 3 and 4: five distinct incidents
    assert sorted(set(pooled.fault_id[pooled.fault_id >= 0].tolist())) == [0, 1, 2, 3, 4]
    # b had no alarm column: none counted (0), as model_matrix fills it
    assert (pooled.frame["alarm__x__sum_6"].to_numpy()[40:] == 0).all()
    assert (pooled.frame["a"].to_numpy()[40:] == np.arange(30)).all()
    with pytest.raises(ValueError):
        pool_runs([a, _run(30, 2, horizon=15.0)])


def test_held_out_slice_is_cut_at_half_of_its_positives() -> None:
    y = np.zeros(100, dtype=int)
    y[[80, 85, 90, 95]] = 1  # every fault late in the slice: halving rows leaves none early
    rows = np.arange(100)
    es, cal = split_at_half_positives(rows, y)
    assert y[es].sum() == 2 and y[cal].sum() == 2
    assert es.max() < cal.min() and len(es) + len(cal) == 100
    odd = np.zeros(10, dtype=int)
    odd[[1, 5, 9]] = 1
    es, cal = split_at_half_positives(np.arange(10), odd)
    assert odd[es].sum() == 2 and odd[cal].sum() == 1
