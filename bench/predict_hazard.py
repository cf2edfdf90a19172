"""The announced-mode hazard of issue 15, measured inside ``bench.predict``.

Per horizon, a LightGBM model (the same learner and features as the current model)
trained on the target "a fault of an announceable mode (FMEA catalogue) starts within
the horizon", on a pool of training twin runs (:data:`TRAIN_RUNS` seeds), stopped early
and calibrated (isotonic) on a pool of validation runs (:data:`VALID_RUNS` other seeds;
:mod:`twinrca.predict.hazard_fit`), its warning threshold the lowest calibrated
probability reaching precision 0.8 over every mode on each run of that pool
(:func:`~twinrca.predict.hazard_fit.threshold_on_runs`; the pool's own threshold is
reported beside it). The horizons'
probabilities of each test row are made monotone (cumulative max), and give the expected
time to failure with its 10-90 % interval (:mod:`twinrca.predict.hazard`).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd

#: twin runs (seeds) pooled to train the hazard, and to stop, calibrate and set its
#: threshold: one run holds a handful of announced faults only
TRAIN_RUNS = 3
VALID_RUNS = 2


def announced(modes: np.ndarray, names: set[str]) -> np.ndarray:
    return np.array([m in names for m in modes], dtype=bool)


def fit_hazard(
    train, val, *, names: set[str], seed: int, config, runs=None
) -> tuple[Any, Any, float]:  # type: ignore[no-untyped-def]
    """The model, its isotonic calibrator and the warning threshold
    (:func:`twinrca.predict.hazard_fit.fit_hazard`: trained on the training pool, stopped
    and calibrated on the validation pool, which holds announced faults; the threshold
    reaching precision 0.8 on every validation run, ``runs`` the run of each row)."""
    from twinrca.predict.hazard_fit import fit_hazard as fit

    m = fit(train, val, modes=names, seed=seed, config=config, runs=runs)
    print(
        f"[bench.predict] hazard h={train.horizon_min:g}: {m.trees} trees, "
        f"threshold {m.threshold:.3f}",
        file=sys.stderr,
    )
    return m, m.calibrator, m.threshold


def score(model, cal, frame: pd.DataFrame) -> np.ndarray:  # type: ignore[no-untyped-def]
    return cal(model.raw(frame))


def monotone_on(frames: dict[float, pd.DataFrame], probs: dict[float, np.ndarray]):  # type: ignore[no-untyped-def]
    """Per horizon, its rows' probabilities after the cumulative max over horizons (rows
    matched on time and element; a row a horizon's labels leave out holds 0 there), and
    the monotone matrix with each horizon's row positions in it."""
    from twinrca.predict.hazard import monotone

    hs = sorted(frames)
    keys = [frames[h][["time", "element"]].astype(str).agg("|".join, axis=1) for h in hs]
    union = pd.Index(pd.concat(keys).unique())
    pos = {h: union.get_indexer(k) for h, k in zip(hs, keys, strict=True)}
    mat = np.zeros((len(union), len(hs)))
    for j, h in enumerate(hs):
        mat[pos[h], j] = probs[h]
    mono = monotone(mat)
    return {h: mono[pos[h], j] for j, h in enumerate(hs)}, mono, hs, pos


def ttf_figures(
    mono: np.ndarray, hs: list[float], pos: np.ndarray, ds, warn: np.ndarray, ann: np.ndarray
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Warned rows of a coming announced fault (at one horizon's labels): how often the
    actual lead lies in the 10-90 % time-to-failure interval, and the median error of the
    expected time to failure."""
    from twinrca.predict.hazard import time_to_failure

    mid, lo, hi = time_to_failure(mono[pos], hs)
    rows = warn & ann & np.isfinite(ds.lead_min)
    if not rows.any():
        return {"ttf_interval_coverage": None, "ttf_median_abs_error_min": None}
    lead = ds.lead_min[rows]
    inside = (np.nan_to_num(lo[rows], nan=np.inf) <= lead) & (
        lead <= np.nan_to_num(hi[rows], nan=np.inf)
    )
    err = np.abs(np.nan_to_num(mid[rows], nan=hs[-1]) - lead)
    return {
        "ttf_interval_coverage": round(float(inside.mean()), 4),
        "ttf_median_abs_error_min": round(float(np.median(err)), 1),
    }


def physics_hazard(val, names: set[str]):  # type: ignore[no-untyped-def]
    """The physics-only hazard: the time to the nearest failure level on a significant
    approach (``down__ttt_min``, shorter = riskier), mapped to a probability by isotonic
    regression on the validation pool (announced target) and its threshold the lowest
    probability reaching precision 0.8 there (every mode). No learner: a check of what
    the time-to-limit alone announces."""
    from twinrca.predict.evaluate import threshold_for_precision
    from twinrca.predict.hazard import IsotonicCalibrator

    target = (announced(val.mode, names) & (val.y == 1)).astype(int)
    cal = IsotonicCalibrator.fit(physics_score(val.frame), target)
    return cal, threshold_for_precision(val.y, cal(physics_score(val.frame)), 0.8)


def physics_score(frame: pd.DataFrame) -> np.ndarray:
    from twinrca.predict.physics import TTT_CAP

    return -np.nan_to_num(frame["down__ttt_min"].to_numpy(float), nan=TTT_CAP)
