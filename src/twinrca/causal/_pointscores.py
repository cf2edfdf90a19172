"""Anomaly scores of a short anomalous window (a few points) against a baseline.

Per metric: centre = baseline median, scale = ``1.4826 * MAD`` (when the MAD is 0: the
90 % quantile of the absolute deviations / 1.645) floored at
``relative_floor`` of the metric's level (so a metric whose baseline never moves gets a
finite scale). A point's score is ``|x - centre| / scale``; a metric is *flagged*
anomalous when a window point scores at least ``threshold`` robust sigmas, or, for a
metric constant over the baseline, when a window point differs from that constant at
all. Metrics that cannot be scored are **reported, not scored 0**: ``nan_only`` (no
value in the window) and ``no_baseline`` (no value in the baseline).

``background``: optional per-metric typical score during past incidents whose root
cause was elsewhere (from labelled history); a metric that deviates in every incident
(drift between baseline and incidents, collateral noise) has its score divided by it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PointConfig", "PointScores", "point_scores"]

_MAD_TO_SIGMA = 1.4826
_Q90_TO_SIGMA = 1.645  # 90 % of |N(0, 1)| lies below 1.645
_TINY = 1e-12


@dataclass(frozen=True, slots=True)
class PointConfig:
    """``threshold`` in robust sigmas; ``relative_floor`` share of the metric's level."""

    threshold: float = 5.0
    relative_floor: float = 0.01


@dataclass(frozen=True, slots=True)
class PointScores:
    """Scores of the scored metrics, the metrics left out and why."""

    z: pd.DataFrame  # |x - centre| / scale, window rows x scored metrics
    deviation: pd.DataFrame  # |x - centre| in the metric's unit
    scale: pd.Series
    flagged: pd.Series  # bool per scored metric
    unscored: dict[str, str]

    @property
    def score(self) -> pd.Series:
        """Largest point score over the window per metric."""
        return self.z.max(skipna=True).fillna(0.0)


def point_scores(
    baseline: pd.DataFrame,
    window: pd.DataFrame,
    config: PointConfig | None = None,
    background: pd.Series | None = None,
) -> PointScores:
    """Score each column of ``window`` against the same column of ``baseline``."""
    cfg = config or PointConfig()
    cols = [c for c in window.columns if c in baseline.columns]
    base = baseline[cols].astype(float)
    win = window[cols].astype(float)
    unscored: dict[str, str] = {}
    for col in cols:
        if win[col].notna().sum() == 0:
            unscored[col] = "nan_only"
        elif base[col].notna().sum() == 0:
            unscored[col] = "no_baseline"
    for col in window.columns:
        if col not in baseline.columns:
            unscored[str(col)] = "no_baseline"
    keep = [c for c in cols if c not in unscored]
    base, win = base[keep], win[keep]
    centre = base.median(skipna=True)
    spread = (base - centre).abs()
    mad = spread.median(skipna=True) * _MAD_TO_SIGMA
    # MAD 0 (a metric at its median most of the time, e.g. a drop rate at 0): the 90 %
    # quantile of the deviations, as a sigma, when that moves
    tail = spread.quantile(0.9) / _Q90_TO_SIGMA
    mad = mad.where(mad > 0, tail)
    level = centre.abs().where(centre.abs() > 0, win.abs().median(skipna=True)).fillna(0.0)
    scale = np.maximum(mad.fillna(0.0), (cfg.relative_floor * level).clip(lower=_TINY))
    deviation = (win - centre).abs()
    z = deviation / scale
    if background is not None:
        z = z / np.maximum(background.reindex(keep).fillna(1.0), 1.0)
    constant = (base.max() - base.min()) <= _TINY * (1.0 + centre.abs())
    moved = (deviation.gt(1e-9 * (1.0 + centre.abs()))).any()
    flagged = (z.max().fillna(0.0) >= cfg.threshold) | (constant & moved)
    return PointScores(
        z=z, deviation=deviation, scale=scale, flagged=flagged.astype(bool), unscored=unscored
    )
