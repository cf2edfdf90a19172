"""The hazard of a set of failure modes at one horizon: LightGBM stopped and calibrated on a
held-out run.

Target: "a fault of one of ``modes`` starts on the element within the horizon" (the
labels of :mod:`twinrca.predict.labels`, other modes' rows are negatives). The faults of
announced modes are few (a handful of incidents per simulated week), so the time slices
of one run cannot both train and stop the boosting: the last slices of a run often hold
no positive row at all, and early stopping on such a slice keeps the first tree (nothing
to improve on). :func:`fit_hazard` therefore trains on every row of the training run and
stops, calibrates (isotonic) and sets the warning threshold on a *separate* held-out run
(another twin seed, or a later period of the network), which must hold positives of the
modes: it raises :class:`~twinrca.core.errors.ModelError` otherwise instead of returning a
one-tree model.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from twinrca.core.errors import ModelError
from twinrca.predict.evaluate import threshold_for_precision
from twinrca.predict.gbm import GbmConfig, train_booster
from twinrca.predict.hazard import IsotonicCalibrator
from twinrca.predict.pipeline import Dataset
from twinrca.predict.risk import RISK_CONFIG, model_matrix

__all__ = ["HazardModel", "fit_hazard", "mode_target", "threshold_on_runs"]

log = logging.getLogger(__name__)


def mode_target(ds: Dataset, modes: Collection[str]) -> np.ndarray:
    """0/1 per row: a fault of one of ``modes`` starts within the horizon."""
    return (ds.y.astype(bool) & np.isin(ds.mode.astype(str), list(modes))).astype(int)


@dataclass(frozen=True, slots=True)
class HazardModel:
    """What :func:`fit_hazard` learned: booster (trimmed to its best round), isotonic
    calibrator and warning threshold, with the columns and labels it assumed."""

    feature_names: tuple[str, ...]
    booster: Any
    calibrator: IsotonicCalibrator
    threshold: float
    horizon_min: float
    gap_min: float
    modes: tuple[str, ...]

    @property
    def trees(self) -> int:
        return int(self.booster.num_trees())

    def raw(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(
            self.booster.predict(model_matrix(frame, self.feature_names), raw_score=True)
        )

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability that a fault of the modes starts within the horizon."""
        return self.calibrator(self.raw(frame))


def _positives(y: np.ndarray, fault_id: np.ndarray) -> tuple[int, int]:
    return int(y.sum()), len(np.unique(fault_id[y == 1]))


def fit_hazard(
    train: Dataset,
    held_out: Dataset,
    *,
    modes: Collection[str],
    seed: int = 0,
    config: GbmConfig = RISK_CONFIG,
    precision: float = 0.8,
    runs: np.ndarray | None = None,
) -> HazardModel:
    """Train on ``train``; early stopping, calibration and threshold (the lowest calibrated
    probability reaching ``precision`` over every mode's faults) on ``held_out``. With
    ``runs`` (the run of each held-out row, when it pools several twin runs) the
    threshold must reach ``precision`` on every run: :func:`threshold_on_runs`."""
    if train.horizon_min != held_out.horizon_min or train.gap_min != held_out.gap_min:
        raise ModelError("train and held-out runs have different horizons or gaps")
    y_tr, y_ho = mode_target(train, modes), mode_target(held_out, modes)
    for name, y, ds in (("training", y_tr, train), ("held-out", y_ho, held_out)):
        rows, faults = _positives(y, ds.fault_id)
        if rows == 0:
            raise ModelError(f"the {name} run holds no fault of the modes", modes=sorted(modes))
        log.info(
            "hazard h=%s: %s run, %s positive rows of %s faults", ds.horizon_min, name, rows, faults
        )
    x_ho = model_matrix(held_out.frame, train.names, dtype=held_out.dtype)
    booster = train_booster(
        train.x, y_tr, x_ho, y_ho, n_classes=2, seed=seed, config=config, feature_names=train.names
    )
    if booster.best_iteration > 0:
        import lightgbm as lgb

        booster = lgb.Booster(
            model_str=booster.model_to_string(num_iteration=booster.best_iteration)
        )
    raw = np.asarray(booster.predict(x_ho, raw_score=True))
    cal = IsotonicCalibrator.fit(raw, y_ho)
    if runs is None:
        thr = threshold_for_precision(held_out.y, cal(raw), precision)
    else:
        thr = threshold_on_runs(held_out.y, cal(raw), runs, precision)
    return HazardModel(
        tuple(train.names),
        booster,
        cal,
        thr,
        train.horizon_min,
        train.gap_min,
        tuple(sorted(modes)),
    )


def threshold_on_runs(
    y: np.ndarray, p: np.ndarray, runs: np.ndarray, precision: float = 0.8
) -> float:
    """The lowest probability at which *each* run with positives reaches ``precision``
    (the largest of the runs' own thresholds): one run's lucky stretch cannot lower it,
    the pool's average precision is no guarantee for the next run."""
    thr = [
        threshold_for_precision(y[runs == r], p[runs == r], precision)
        for r in np.unique(runs)
        if y[runs == r].sum() > 0
    ]
    if not thr:
        return threshold_for_precision(y, p, precision)
    return float(max(thr))
