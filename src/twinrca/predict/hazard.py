"""Onset probabilities over several horizons, monotone in the horizon, and the time to
failure they imply.

A model per horizon gives ``P(onset within h)`` for each horizon ``h`` (15 min, 1 h,
4 h, 24 h); independently calibrated, they may cross (the 1-h risk above the 4-h one),
which no distribution of the onset time allows. :func:`monotone` takes the cumulative
maximum over increasing horizons. The result is a (censored) distribution function of
the onset time: :func:`time_to_failure` reads its 10 %, 50 % and 90 % quantiles by
linear interpolation between horizons (NaN beyond the longest: not within it).
:class:`IsotonicCalibrator` maps a score to a probability on a held-out run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twinrca.core.errors import ValidationError

__all__ = ["HORIZONS_MIN", "IsotonicCalibrator", "monotone", "time_to_failure"]

#: the horizons of a hazard (minutes)
HORIZONS_MIN: tuple[float, ...] = (15.0, 60.0, 240.0, 1440.0)


def monotone(p: np.ndarray) -> np.ndarray:
    """``p`` (rows x horizons, horizons increasing) made non-decreasing along a row."""
    p = np.asarray(p, dtype=float)
    if p.ndim != 2:
        raise ValidationError("bad_shape", "probabilities must be rows x horizons")
    return np.clip(np.maximum.accumulate(np.nan_to_num(p), axis=1), 0.0, 1.0)


def _quantile(cdf: np.ndarray, horizons: np.ndarray, q: float) -> np.ndarray:
    """Per row, the time where the piecewise-linear CDF (0 at time 0) reaches ``q``."""
    t = np.r_[0.0, horizons]
    c = np.column_stack([np.zeros(len(cdf)), cdf])
    out = np.full(len(cdf), np.nan)
    reached = c[:, -1] >= q
    for i in np.flatnonzero(reached):
        j = int(np.argmax(c[i] >= q))  # first knot at or above q (j >= 1)
        lo, hi = c[i, j - 1], c[i, j]
        frac = 1.0 if hi <= lo else (q - lo) / (hi - lo)
        out[i] = t[j - 1] + frac * (t[j] - t[j - 1])
    return out


def time_to_failure(
    p: np.ndarray, horizons: Sequence[float] = HORIZONS_MIN
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, 10 % and 90 % quantiles (minutes) of the onset time from monotone
    ``P(onset within h)``; NaN where the longest horizon does not reach the quantile."""
    h = np.asarray(horizons, dtype=float)
    if len(h) != np.asarray(p).shape[1] or np.any(np.diff(h) <= 0):
        raise ValidationError("bad_horizons", "one increasing horizon per column")
    cdf = monotone(p)
    return _quantile(cdf, h, 0.5), _quantile(cdf, h, 0.1), _quantile(cdf, h, 0.9)


@dataclass(frozen=True, slots=True)
class IsotonicCalibrator:
    """A non-decreasing step map from score to probability (pool-adjacent-violators),
    fitted on a held-out run; scores between knots are interpolated."""

    x: tuple[float, ...] = (0.0, 1.0)
    y: tuple[float, ...] = (0.0, 1.0)

    @classmethod
    def fit(cls, score: np.ndarray, label: np.ndarray) -> IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression

        s = np.asarray(score, dtype=float)
        if len(np.unique(label)) < 2:
            raise ValidationError("one_class", "calibration needs both outcomes")
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(s, label)
        return cls(tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_)))

    def __call__(self, score: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(score, dtype=float), self.x, self.y)
