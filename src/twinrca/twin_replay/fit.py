"""Fit the twin to observed cell KPIs: capacity, demand profile, response curve, noise.

Pure functions on ``[cell, step]`` grids (no I/O). From healthy periods (availability
100 %):

* **capacity**: served DL throughput over PRB share, median over unsaturated samples
  (the kernel serves ``min(demand, capacity)`` and fills ``demand / capacity`` of the
  PRBs, so the ratio is the capacity itself);
* **demand profile**: the offered traffic (served throughput where the cell is not
  saturated) as ``level * exp(trend * day) * shape[weekday class, slot]`` per cell, in
  log space: the shapes a low-rank matrix shared across cells (:mod:`._lowrank`), a
  least-squares trend on the daily median levels, shrunk towards the network's mean;
* **response**: the drop rate's rise with congestion (``load - 0.85`` above 0.85 of
  capacity), a least-squares slope over the congested samples (the kernel's
  ``sensitivity``; cells never congested keep the default);
* **scale**: with a nominal demand (what the twin would be fed), observed over nominal;
* **noise**: the step-to-step spread of the offered traffic around its profile;
* **band**: the robust spread of the log residual, for drift detection.

:func:`forecast` lays the profile over future steps and :func:`expectation` turns it
into the twin's noise-free PRB use and throughput.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from twinrca.core.errors import ValidationError
from twinrca.core.topology import Topology
from twinrca.twin_replay._lowrank import shared_shapes, shrink_trends
from twinrca.twin_replay.simulate import CellParams

__all__ = [
    "DemandProfile",
    "FitResult",
    "expectation",
    "fit_cell_model",
    "forecast",
    "mape",
    "period_ends",
    "seasonal_naive",
]

_HEALTHY = 99.9  # availability %: a healthy period
_SATURATED = 99.0  # PRB %: at or above, the offered traffic is censored
_CONGESTION = 0.85  # the kernel's congestion knee (load share)
_DROP_SLOPE = 3.0  # the kernel's drop-rate rise per unit congestion at sensitivity 1
_DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class DemandProfile:
    """Offered DL traffic per cell: ``level * exp(trend * (day - ref_day)) * shape``."""

    step_minutes: int
    shape: np.ndarray  # [C, 2, per_day]: weekday, weekend; median 1 over a day
    level: np.ndarray  # [C] Mbit/s at ref_day
    trend: np.ndarray  # [C] log growth per day
    ref_day: float  # days since the epoch

    @property
    def per_day(self) -> int:
        return 1440 // self.step_minutes


@dataclass(frozen=True, slots=True)
class FitResult:
    """Fitted cell parameters, demand profile and drift band, with fit diagnostics."""

    params: CellParams
    profile: DemandProfile
    band: np.ndarray  # [C] robust sd of log(observed / profile)
    fitted: np.ndarray  # [C] bool: capacity fitted from data (else the default)
    congested: np.ndarray  # [C] count of congested samples the response was fitted on


def _period_starts(times: np.ndarray, step_minutes: int) -> np.ndarray:
    """Seconds since the epoch of each period's start (``times`` are period ends)."""
    t = np.asarray(times, dtype="datetime64[s]").astype(np.int64).astype(np.float64)
    return t - step_minutes * 60.0


def _slots(times: np.ndarray, step_minutes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slot of day, weekday class (1 weekend) and day number of each period."""
    t0 = _period_starts(times, step_minutes)
    day = np.floor(t0 / _DAY_S)
    slot = ((t0 - day * _DAY_S) // (step_minutes * 60)).astype(np.int64)
    weekday = ((day + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday
    return slot, (weekday >= 5).astype(np.int64), day


def _nanmedian(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(x, axis=axis)


def _nanmean(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=axis)


def _capacity(prb: np.ndarray, thr: np.ndarray, healthy: np.ndarray) -> np.ndarray:
    ok = healthy & (prb > 5.0) & (prb < 90.0) & np.isfinite(thr)
    ratio = np.where(ok, thr / np.maximum(prb, 1e-6) * 100.0, np.nan)
    return _nanmedian(ratio, axis=1)


def _profile(
    logd: np.ndarray, slot: np.ndarray, wclass: np.ndarray, day: np.ndarray, per_day: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Shape [C, 2, per_day] (log), level [C] (log), trend [C], reference day."""
    n_c = logd.shape[0]
    ref = float(np.mean(np.unique(day)))
    trend = np.zeros(n_c)
    level = _nanmedian(logd, axis=1)
    level = np.where(np.isfinite(level), level, 0.0)
    days = np.unique(day)
    shape = np.zeros((n_c, 2, per_day))
    for _ in range(3):
        detr = logd - level[:, None] - trend[:, None] * (day - ref)[None, :]
        shape = shared_shapes(detr, slot, wclass, day, per_day).reshape(n_c, 2, per_day)
        shape -= _nanmedian(shape.reshape(n_c, -1), axis=1)[:, None, None]
        resid = logd - shape[:, wclass, slot]
        daily = np.stack([_nanmean(resid[:, day == d], axis=1) for d in days], axis=1)
        level, trend, se = _line(daily, days - ref, level)
    trend = shrink_trends(trend, se)
    return shape, level, trend, ref


def _line(
    daily: np.ndarray, x: np.ndarray, fallback: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares level, slope and the slope's standard error (NaN: fewer than four
    days) per row over the finite entries."""
    ok = np.isfinite(daily)
    w = ok.astype(np.float64)
    y = np.where(ok, daily, 0.0)
    n = w.sum(1)
    mx = (w * x).sum(1) / np.maximum(n, 1)
    my = (w * y).sum(1) / np.maximum(n, 1)
    sxx = (w * (x - mx[:, None]) ** 2).sum(1)
    sxy = (w * (x - mx[:, None]) * (y - my[:, None])).sum(1)
    slope = np.where((n >= 3) & (sxx > 0), sxy / np.maximum(sxx, 1e-12), 0.0)
    level = np.where(n > 0, my - slope * mx, fallback)
    res = w * (y - level[:, None] - slope[:, None] * x) ** 2
    s2 = res.sum(1) / np.maximum(n - 2, 1)
    se = np.where((n >= 4) & (sxx > 0), np.sqrt(s2 / np.maximum(sxx, 1e-12)), np.nan)
    return level, slope, se


def _response(
    prb: np.ndarray, drop: np.ndarray | None, healthy: np.ndarray, default: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Congestion sensitivity per cell from the drop rate, and the samples it rests on."""
    if drop is None:
        return default.copy(), np.zeros(len(default), dtype=np.int64)
    load = prb / 100.0
    ok = healthy & np.isfinite(drop) & np.isfinite(prb)
    calm = ok & (load < 0.8)
    base = _nanmedian(np.where(calm, drop, np.nan), axis=1)
    base = np.where(np.isfinite(base), base, _nanmedian(np.where(ok, drop, np.nan)))
    cong = np.maximum(load - _CONGESTION, 0.0) * _DROP_SLOPE
    hot = ok & (load > _CONGESTION + 0.02) & (prb < _SATURATED)
    x = np.where(hot, cong, 0.0)
    y = np.where(hot, drop - base[:, None], 0.0)
    n = hot.sum(1)
    sxx = (x * x).sum(1)
    sens = np.where((n >= 8) & (sxx > 0), (x * y).sum(1) / np.maximum(sxx, 1e-12), default)
    return np.clip(sens, 0.0, 20.0), n


def _noise(logd: np.ndarray, default: np.ndarray) -> np.ndarray:
    """Per-step noise sd: the spread of step-to-step changes (an iid part shows there)."""
    diff = np.diff(logd, axis=1)
    mad = _nanmedian(np.abs(diff - _nanmedian(diff, axis=1)[:, None]), axis=1)
    sd = 1.4826 * mad / math.sqrt(2.0)
    return np.where(np.isfinite(sd), sd, default)


def fit_cell_model(
    topology: Topology,
    times: np.ndarray,
    prb: np.ndarray,
    thr: np.ndarray,
    avail: np.ndarray,
    *,
    step_minutes: int,
    drop: np.ndarray | None = None,
    nominal: np.ndarray | None = None,
) -> FitResult:
    """Fit per-cell parameters and a demand profile from ``[cell, step]`` KPI grids.

    Rows follow ``topology.ids(ElementKind.CELL)``; ``times`` are the period ends.
    ``nominal`` (the demand the twin will be fed over the same steps) lets the demand
    scale be fitted; without it the scale stays 1 and the profile carries the level.
    """
    if prb.shape != thr.shape or prb.shape != avail.shape or prb.shape[1] != len(times):
        raise ValidationError("bad_grid", "KPI grids and times do not line up")
    per_day = 1440 // step_minutes
    if prb.shape[1] < per_day:
        raise ValidationError("too_little_data", "calibration needs at least one day of KPIs")
    base = CellParams.default(topology)
    if prb.shape[0] != len(base.capacity):
        raise ValidationError("bad_grid", "KPI grid rows do not match the topology's cells")
    healthy = np.isfinite(avail) & (avail >= _HEALTHY) & np.isfinite(prb) & np.isfinite(thr)
    cap = _capacity(prb, thr, healthy)
    fitted = np.isfinite(cap)
    cap = np.where(fitted, cap, base.capacity)
    served = np.where(healthy & (prb < _SATURATED) & (thr > 0), thr, np.nan)
    logd = np.log(served)
    slot, wclass, day = _slots(times, step_minutes)
    shape, level, trend, ref = _profile(logd, slot, wclass, day, per_day)
    resid = logd - (level[:, None] + trend[:, None] * (day - ref)[None, :] + shape[:, wclass, slot])
    mad = _nanmedian(np.abs(resid - _nanmedian(resid, axis=1)[:, None]), axis=1)
    band = np.where(np.isfinite(mad), 1.4826 * mad, 0.1)
    sens, n_hot = _response(prb, drop, healthy, base.sensitivity.astype(np.float64))
    scale = np.ones(len(cap))
    if nominal is not None:
        ratio = _nanmedian(served / np.where(nominal > 0, nominal, np.nan), axis=1)
        scale = np.where(np.isfinite(ratio), ratio, 1.0)
    noise = _noise(logd, base.noise.astype(np.float64))
    params = CellParams(
        cap.astype(np.float32),
        scale.astype(np.float32),
        sens.astype(np.float32),
        noise.astype(np.float32),
        base.compensation,
    )
    profile = DemandProfile(step_minutes, np.exp(shape), np.exp(level), trend, ref)
    return FitResult(params, profile, band.astype(np.float32), fitted, n_hot)


def forecast(profile: DemandProfile, times: np.ndarray) -> np.ndarray:
    """Offered traffic ``[C, len(times)]`` (Mbit/s) the profile expects at those periods."""
    slot, wclass, day = _slots(times, profile.step_minutes)
    growth = np.exp(profile.trend[:, None] * (day - profile.ref_day)[None, :])
    return profile.level[:, None] * growth * profile.shape[:, wclass, slot]


def expectation(capacity: np.ndarray, offered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The twin's noise-free PRB use (%) and DL throughput of healthy cells (the kernel's
    response without faults) for offered traffic ``[C, T]`` (after any demand scale)."""
    cap = np.maximum(np.asarray(capacity, dtype=np.float64)[:, None], 1e-3)
    return 100.0 * np.minimum(offered / cap, 1.0), np.minimum(offered, cap)


def seasonal_naive(values: np.ndarray, times: np.ndarray, step_minutes: int) -> np.ndarray:
    """Same slot yesterday when yesterday is of the same weekday class, else the same
    slot last week (NaN where that sample does not exist)."""
    per_day = 1440 // step_minutes
    _, wclass, _ = _slots(times, step_minutes)
    out = np.full(values.shape, np.nan)
    n = values.shape[1]
    for t in range(n):
        y, w = t - per_day, t - 7 * per_day
        if y >= 0 and wclass[y] == wclass[t]:
            out[:, t] = values[:, y]
        elif w >= 0:
            out[:, t] = values[:, w]
    return out


def mape(pred: np.ndarray, obs: np.ndarray, mask: np.ndarray, floor: float) -> float:
    """Mean absolute percentage error over ``mask`` where ``obs > floor`` and both finite."""
    m = mask & np.isfinite(pred) & np.isfinite(obs) & (obs > floor)
    if not m.any():
        return float("nan")
    return float(np.mean(np.abs(pred[m] - obs[m]) / obs[m]) * 100.0)


def period_ends(start: datetime, step_minutes: int, steps: int) -> np.ndarray:
    """Period-end datetimes of ``steps`` steps from ``start``."""
    first = int((start + timedelta(minutes=step_minutes)).timestamp())
    return (first + step_minutes * 60 * np.arange(steps)).astype("datetime64[s]")
