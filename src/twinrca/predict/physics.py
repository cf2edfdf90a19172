"""Physics features of a precursor KPI: level, trend, curvature, time to its failure level.

For a KPI ``k`` with a failure level ``L`` approached from below (``sign`` +1, memory,
temperature) or above (-1, battery charge, received signal level), at the row of time
``t`` and from samples stamped ``<= t`` only:

- ``k__margin``: ``(L - level) * sign``, the distance left (> 0 while safe);
- per window ``w`` (periods), from least-squares fits of the window (the level at
  ``t`` taken from the linear fit, not the last sample alone): ``k__curv_w``
  (second-order coefficient of a quadratic, per period^2), ``k__ttt_w`` (minutes to
  ``L`` at the window's trend), ``k__ttt_lo_w`` / ``k__ttt_hi_w`` (the same with the
  fitted level and slope moved by their standard errors towards / away from the level:
  about a 10-90 % band), ``k__tttq_w`` (minutes to ``L`` on the window's quadratic, a
  decelerating approach taking longer);
- ``k__ttt_min``: the smallest of the windows' ``ttt`` and ``tttq``;
- ``k__approach``: minutes the KPI has been moving towards ``L`` without a break
  (a battery on discharge, a leak's ramp, a fade deepening), capped at one day;
- ``k__over_day``: the level beyond its extreme of the previous day (up to one window
  before ``t``), towards ``L``: memory above its usual daily peak, a battery below its
  float charge, a signal below its usual fade depth; <= 0 when within the usual range.

Times are capped at :data:`TTT_CAP` minutes (no approach, or the level moving away).
"""

from __future__ import annotations

import numpy as np

__all__ = ["TTT_CAP", "imminent_block", "precursor_block"]

TTT_CAP = 10_000.0


def _z(w: int) -> float:
    """The 90 % quantile of Student's t with the window's w - 2 degrees of freedom (the
    noise is estimated from the window itself); the level and the slope, whose errors
    are correlated, are each moved by it."""
    from scipy.stats import t

    return float(t.ppf(0.9, max(w - 2, 1)))


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(a, np.nan)
    if k < len(a):
        out[k:] = a[: len(a) - k]
    return out


def _poly_fit(
    a: np.ndarray, w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Trailing-window least-squares fits, evaluated at the newest sample: the fitted
    level, the linear slope, its standard error (per period), the level's standard error
    and the quadratic's curvature
    (per period^2, half the second derivative). NaN when a sample of the window is
    missing."""
    x = np.arange(w, dtype=float) - (w - 1)  # the newest sample at x = 0
    lags = [_shift(a, w - 1 - j) for j in range(w)]
    xc = x - x.mean()
    sxx = float((xc**2).sum())
    mean = sum(lags) / w
    slope = sum(xc[j] * lags[j] for j in range(w)) / sxx
    if w > 2:
        res = sum((lags[j] - mean - slope * xc[j]) ** 2 for j in range(w))
        sigma = np.sqrt(res / (w - 2))
    else:
        sigma = np.zeros_like(slope)
    se = sigma / np.sqrt(sxx)
    se_level = sigma * np.sqrt(1.0 / w + float(x.mean()) ** 2 / sxx)
    curv = np.zeros_like(slope)
    if w > 2:
        q = xc**2 - float((xc**2).mean())
        q = q - xc * float((q * xc).sum()) / sxx  # orthogonal to 1 and x
        curv = sum(q[j] * lags[j] for j in range(w)) / float((q**2).sum())
    fitted = mean + slope * (0.0 - x.mean())
    return fitted, slope, se, se_level, curv


def _time_to(margin: np.ndarray, rate: np.ndarray, period_min: float) -> np.ndarray:
    """Minutes to close ``margin`` at ``rate`` per period (towards the level > 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(rate > 1e-9, margin / rate * period_min, TTT_CAP)
    t = np.where(margin <= 0, 0.0, t)
    return np.clip(t, 0.0, TTT_CAP)


def _time_quadratic(
    margin: np.ndarray, v: np.ndarray, acc: np.ndarray, period_min: float
) -> np.ndarray:
    """Minutes until ``v t + acc t^2`` (towards the level) reaches ``margin``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        disc = v**2 + 4.0 * acc * margin
        root = np.where(
            np.abs(acc) > 1e-12,
            (-v + np.sqrt(np.maximum(disc, 0.0))) / (2.0 * acc),
            np.where(v > 1e-9, margin / v, np.inf),
        )
        ok = (disc >= 0) & (root > 0) & np.isfinite(root)
        t = np.where(ok, root * period_min, TTT_CAP)
    t = np.where(margin <= 0, 0.0, t)
    return np.clip(t, 0.0, TTT_CAP)


def _approach_minutes(towards_step: np.ndarray, period_min: float) -> np.ndarray:
    """Per column, minutes of consecutive steps moving towards the level."""
    run = np.zeros_like(towards_step)
    cur = np.zeros(towards_step.shape[1])
    for i in range(len(towards_step)):
        cur = np.where(towards_step[i] > 0, cur + 1.0, 0.0)
        run[i] = cur
    return np.minimum(run * period_min, 1440.0)


def _over_day(level: np.ndarray, sign: int, per_day: int, skip: int) -> np.ndarray:
    """``level`` beyond its extreme (towards the limit) over the previous day, ignoring the
    last ``skip`` periods (so a ramp is compared with the time before it)."""
    toward = level * sign
    past = _shift(toward, skip)
    n = len(toward)
    ext = np.full_like(toward, np.nan)
    # running max over a trailing day of ``past`` by doubling (O(T log W) per column)
    cur = past.copy()
    span = 1
    while span < per_day:
        step = min(span, per_day - span)
        cur = np.fmax(cur, _shift(cur, step))
        span += step
    ext[:n] = cur
    return toward - ext


def precursor_block(
    level: np.ndarray,
    name: str,
    limit: float,
    sign: int,
    *,
    windows: tuple[int, ...],
    period_min: int,
) -> dict[str, np.ndarray]:
    """The features above for one KPI (``level``: time x element)."""
    margin = (limit - level) * sign
    out: dict[str, np.ndarray] = {f"{name}__margin": margin}
    best = np.full_like(level, TTT_CAP)
    for w in windows:
        if w < 2:
            continue
        fitted, slope, se, se_lev, curv = _poly_fit(level, w)
        left = (limit - fitted) * sign  # the trend's level, not the last sample's noise
        v = slope * sign  # > 0 while closing in
        ttt = _time_to(left, v, period_min)
        z = _z(w)
        lo = _time_to(left - z * se_lev, v + z * se, period_min)
        hi = _time_to(left + z * se_lev, v - z * se, period_min)
        q = _time_quadratic(left, v, curv * sign, period_min)
        missing = np.isnan(level) | np.isnan(slope)
        for key, val in (("ttt", ttt), ("ttt_lo", lo), ("ttt_hi", hi), ("tttq", q)):
            out[f"{name}__{key}_{w}"] = np.where(missing, np.nan, val)
        out[f"{name}__curv_{w}"] = curv
        best = np.fmin(best, np.where(missing, TTT_CAP, np.fmin(ttt, q)))
    out[f"{name}__ttt_min"] = np.where(np.isnan(level), np.nan, best)
    step = (level - _shift(level, 1)) * sign
    out[f"{name}__approach"] = _approach_minutes(np.nan_to_num(step, nan=-1.0), period_min)
    per_day = max(1440 // period_min, 1)
    out[f"{name}__over_day"] = _over_day(level, sign, per_day, max(windows))
    return out


def imminent_block(feats: dict[str, np.ndarray], kpis: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``down__`` features: the state that makes a fault imminent, per precursor KPI ``k``
    over the element and what feeds it (``up__`` columns, when a topology gave them):

    - ``down__k__ttt``: minutes to the failure level while the approach is *significant*
      (even the slow end of the longest window's band, ``k__ttt_hi_W``, reaches the level:
      a battery discharging after mains loss, a leak's ramp, a cabinet heating, a fade
      deepening), else :data:`TTT_CAP`; the smaller of the element's and its feeders';
    - ``down__k__margin``: the smaller margin of the element and its feeders (the rain-fade
      margin of the hop that feeds a cell, the charge left on its site);
    - ``down__ttt_min``: the nearest of the ``down__k__ttt``; ``down__imminent``: how many
      precursors are on a significant approach.

    Computed from the row's own columns, so no later sample enters."""
    out: dict[str, np.ndarray] = {}
    near: list[np.ndarray] = []
    count: np.ndarray | None = None
    for k in kpis:
        tttl = sorted(
            (int(c.rsplit("_", 1)[1]), c)
            for c in feats
            if c.startswith(f"{k}__ttt_hi_") and c.rsplit("_", 1)[1].isdigit()
        )
        if not tttl:
            continue
        w = tttl[-1][0]
        parts, margins, on_any = [], [], None
        for pre in ("", "up__"):
            hi, best = feats.get(f"{pre}{k}__ttt_hi_{w}"), feats.get(f"{pre}{k}__ttt_min")
            if hi is None or best is None:
                continue
            on = np.nan_to_num(hi, nan=TTT_CAP) < TTT_CAP
            parts.append(np.where(on, np.nan_to_num(best, nan=TTT_CAP), TTT_CAP))
            on_any = on if on_any is None else on_any | on
            m = feats.get(f"{pre}{k}__margin")
            if m is not None:
                margins.append(m)
        ttt = np.fmin.reduce(parts) if len(parts) > 1 else parts[0]
        out[f"down__{k}__ttt"] = ttt
        if margins:
            out[f"down__{k}__margin"] = np.fmin.reduce(margins) if len(margins) > 1 else margins[0]
        near.append(ttt)
        on_int = on_any.astype(float) if on_any is not None else np.zeros_like(ttt)
        count = on_int if count is None else count + on_int
    if near:
        out["down__ttt_min"] = np.fmin.reduce(near) if len(near) > 1 else near[0]
        out["down__imminent"] = count if count is not None else np.zeros_like(near[0])
    return out
