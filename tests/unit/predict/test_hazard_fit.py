"""The mode hazard stops and calibrates on a held-out run: more than one tree when the
training run's own last slice holds no positive, and an error when the held-out run holds
no fault of the modes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinrca.core.errors import ModelError
from twinrca.predict.evaluate import pr_auc
from twinrca.predict.gbm import GbmConfig
from twinrca.predict.hazard_fit import fit_hazard, mode_target
from twinrca.predict.pipeline import Dataset


def _run(seed: int, *, faults_late: bool = True) -> Dataset:
    """Rows whose ``ttt`` (noisy time to a limit) is low before a "FM-A" fault; "FM-B"
    faults are sudden (no signal). ``faults_late=False``: no FM-A in the last quarter."""
    rng = np.random.default_rng(seed)
    n = 4000
    t = pd.date_range("2026-01-01", periods=n, freq="5min", tz="UTC")
    y = np.zeros(n, dtype=int)
    mode = np.full(n, "", dtype=object)
    fid = np.full(n, -1)
    ttt = rng.uniform(100, 1000, n)
    last = n if faults_late else int(n * 0.7)
    for k, s in enumerate(range(50, last - 20, 150)):
        m = "FM-A" if k % 2 == 0 else "FM-B"
        y[s : s + 12], mode[s : s + 12], fid[s : s + 12] = 1, m, k
        if m == "FM-A":
            ttt[s : s + 12] = rng.uniform(0, 90, 12)
    frame = pd.DataFrame({"time": t, "element": "site:1", "ttt": ttt, "noise": rng.normal(size=n)})
    return Dataset(
        frame, ["ttt", "noise"], y, np.where(y == 1, 30.0, np.nan), fid, mode, 60.0, 5.0, 5, {}
    )


CFG = GbmConfig(balance="sqrt", metric="average_precision", early_stopping=30, max_rounds=300)


def test_hazard_learns_from_a_held_out_run_with_positives() -> None:
    train, held, test = _run(0, faults_late=False), _run(1), _run(2)
    m = fit_hazard(train, held, modes={"FM-A"}, seed=0, config=CFG)
    assert m.trees > 1
    target = mode_target(test, {"FM-A"})
    keep = (test.y == 0) | (target == 1)
    assert pr_auc(target[keep], m.predict(test.frame)[keep]) > 0.9
    p = m.predict(test.frame)
    assert np.all((p >= 0) & (p <= 1))


def test_hazard_refuses_a_held_out_run_without_the_modes() -> None:
    train, held = _run(0), _run(1)
    with pytest.raises(ModelError):
        fit_hazard(train, held, modes={"FM-C"}, seed=0, config=CFG)


def test_mode_target_keeps_only_the_modes() -> None:
    ds = _run(0)
    t = mode_target(ds, {"FM-A"})
    assert t.sum() > 0 and set(ds.mode[t == 1]) == {"FM-A"}
    assert (t <= ds.y).all()


def test_threshold_must_reach_the_precision_on_every_validation_run() -> None:
    from twinrca.predict.evaluate import threshold_for_precision
    from twinrca.predict.hazard_fit import threshold_on_runs

    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.9, 0.8, 0.7, 0.6, 0.5])
    # run 0: every row above 0.5 a fault; run 1: the rows at 0.7 and below false
    y = np.array([1, 1, 1, 1, 0, 1, 1, 0, 0, 0])
    runs = np.repeat([0, 1], 5)
    pooled = threshold_for_precision(y, p, 0.8)
    both = threshold_on_runs(y, p, runs, 0.8)
    assert pooled == 0.7  # 5 of 6 on the pool at 0.7
    assert both == 0.8  # run 1 reaches 0.8 only from 0.8 up
    assert threshold_on_runs(y, p, np.zeros(10, dtype=int), 0.8) == pooled
