"""Robust per-metric anomaly scores of an anomalous period against a normal period.

In the spirit of BARO (median / IQR scaling) and NSigma: each metric is centred on
its normal-period median and divided by a robust scale; the score is a high quantile
(or the maximum) of ``|z|`` over the anomalous window.

Scale: ``IQR / 1.349``, else ``1.4826 * MAD``, else the standard deviation (metrics
that are flat most of the time), floored at ``relative_floor`` times the metric's
normal level (its anomalous level when the normal level is 0), so that a constant
metric or a change far below the metric's level cannot produce an unbounded score.
A metric with no normal data scores 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["RobustScorerConfig", "RobustStats", "normal_stats", "robust_scores", "zscores"]

_IQR_TO_SIGMA = 1.349
_MAD_TO_SIGMA = 1.4826
_TINY = 1e-12


@dataclass(frozen=True, slots=True)
class RobustScorerConfig:
    """Settings of the robust scorer (the same defaults for every system).

    ``window_quantile``: quantile of ``|z|`` over the anomalous window (1.0 = max).
    ``relative_floor``: the scale is at least this share of the metric's magnitude.
    """

    window_quantile: float = 0.95
    relative_floor: float = 0.01


@dataclass(frozen=True, slots=True)
class RobustStats:
    """Centre and scale of each metric over the normal period."""

    center: pd.Series
    scale: pd.Series


def _magnitude(normal: pd.DataFrame, anomalous: pd.DataFrame) -> pd.Series:
    """Typical absolute level of a metric: median of |x| over the normal period, or
    over the anomalous period for a metric that is zero (or missing) when normal."""
    level = normal.abs().median(skipna=True).fillna(0.0)
    fallback = anomalous.abs().median(skipna=True).reindex(level.index).fillna(0.0)
    return level.where(level > 0, fallback)


def normal_stats(
    normal: pd.DataFrame,
    anomalous: pd.DataFrame,
    config: RobustScorerConfig | None = None,
) -> RobustStats:
    """Robust centre and floored scale of each metric of ``normal``."""
    cfg = config or RobustScorerConfig()
    center = normal.median(skipna=True)
    iqr = (normal.quantile(0.75) - normal.quantile(0.25)) / _IQR_TO_SIGMA
    mad = (normal - center).abs().median(skipna=True) * _MAD_TO_SIGMA
    std = normal.std(skipna=True, ddof=0).fillna(0.0)
    scale = iqr.where(iqr > 0, mad).where(lambda s: s > 0, std).fillna(0.0)
    floor = (cfg.relative_floor * _magnitude(normal, anomalous)).clip(lower=_TINY)
    return RobustStats(center=center, scale=np.maximum(scale, floor))


def zscores(frame: pd.DataFrame, stats: RobustStats) -> pd.DataFrame:
    """``(x - centre) / scale`` per metric."""
    return (frame - stats.center) / stats.scale


def robust_scores(
    normal: pd.DataFrame,
    anomalous: pd.DataFrame,
    config: RobustScorerConfig | None = None,
) -> pd.Series:
    """Score each metric (column) of ``anomalous``; higher is more anomalous."""
    cfg = config or RobustScorerConfig()
    stats = normal_stats(normal, anomalous, cfg)
    z = zscores(anomalous, stats).abs()
    scores = z.quantile(cfg.window_quantile) if cfg.window_quantile < 1 else z.max()
    no_normal = normal.notna().sum() == 0
    return scores.where(~no_normal, 0.0).fillna(0.0).astype(float)
