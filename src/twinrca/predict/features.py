"""Features per (element, time) from KPI series, alarm counts and log template counts.

Time convention: the row at time ``t`` may use every KPI sample stamped ``<= t`` and every
alarm or log line stamped ``<= t`` (events are counted in the period that *ends* at or after
them). Nothing after ``t`` enters the row: the windows are trailing, the seasonal profile
is the mean of the same time-of-day slot over the previous days only.

Per KPI ``k`` and trailing window ``w`` (in periods):

- ``k__last``, ``k__mean_w``, ``k__std_w``, ``k__slope_w`` (least-squares trend per period),
  ``k__delta_w`` (change over w periods), ``k__resid`` (value minus the time-of-day
  profile) and ``k__resid_mean_w``;
- ``alarm__<type>__sum_w`` and ``alarm__all__sum_w``; ``log__<template>__sum_w``; with a
  ``clear`` column, ``alarm__<type>__active`` (raised, not yet cleared) and
  ``alarm__<type>__age`` (minutes since the oldest active one was raised, -1 if none);
- precursors (``FeatureSpec.thresholds``: a KPI, its failure level and direction):
  ``k__margin`` (distance left to the level) and ``k__ttt_w`` (minutes until the level at
  the trend of the last w periods, capped at 10,000; w = the two shortest windows), and
  with a topology ``up__k__margin`` / ``up__k__ttt_w``: the minimum over the element's
  ancestors (a cell sees its site's battery and the microwave hops that feed it);
  ``down__k__ttt`` / ``down__k__margin`` / ``down__ttt_min`` / ``down__imminent``: the
  state that makes a fault imminent (a significant approach to the level, on the element
  or what feeds it; :func:`twinrca.predict.physics.imminent_block`);
- topology: ``nbr__<f>`` (mean over neighbour cells), ``sib__<f>`` (mean over the other
  children of the same parents) and ``parent__<f>`` (max over parents that have data)
  for the short-window trend and residual features and the alarm counts; numeric element
  attributes of the topology (``attr__<k>``, ``parent__attr__<k>``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from twinrca.core.errors import ValidationError
from twinrca.core.topology import Topology
from twinrca.predict.physics import imminent_block, precursor_block

__all__ = ["WINDOW_MINUTES", "FeatureSpec", "Grid", "build_features", "to_grid", "windows_for"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """What to compute; windows are in periods."""

    period_min: int = 5
    windows: tuple[int, ...] = (3, 6, 12)
    seasonal_days: int = 7
    max_event_types: int = 20
    topology_features: bool = True
    # (kpi, failure threshold, +1 rising towards it / -1 falling): margin and time to it
    thresholds: tuple[tuple[str, float, int], ...] = ()
    # the alarm types to count (None: the ``max_event_types`` most frequent in the data);
    # a deployed model fixes them to its training's so serving builds the same columns
    alarm_types: tuple[str, ...] | None = None


#: trailing windows in minutes: a precursor's trend over half an hour to four hours
WINDOW_MINUTES: tuple[float, ...] = (30.0, 60.0, 120.0, 240.0)


def windows_for(period_min: float, minutes: Sequence[float] = WINDOW_MINUTES) -> tuple[int, ...]:
    """The windows (in periods, at least 2 so a trend exists) spanning ``minutes`` at the
    data's sampling period: the same time scales whatever the period."""
    if period_min <= 0:
        raise ValidationError("bad_period", f"period {period_min} min is not positive")
    return tuple(sorted({max(2, round(m / period_min)) for m in minutes}))


@dataclass(frozen=True, slots=True)
class Grid:
    """A regular (time x element) grid: ``times`` (T,), ``elements`` (E,)."""

    times: pd.DatetimeIndex
    elements: tuple[str, ...]
    period_min: int

    def index_frame(self) -> pd.DataFrame:
        t = np.repeat(self.times.to_numpy(), len(self.elements))
        e = np.tile(np.asarray(self.elements, dtype=object), len(self.times))
        return pd.DataFrame({"time": t, "element": e})


def to_grid(kpis: pd.DataFrame, period_min: int, elements: Sequence[str] | None = None) -> Grid:
    """The grid spanning the KPI rows (times floored to the period)."""
    for col in ("time", "element"):
        if col not in kpis.columns:
            raise ValidationError("missing_column", f"KPI frame needs a {col!r} column")
    if 1440 % period_min:
        raise ValidationError("bad_period", f"period {period_min} min does not divide a day")
    t = pd.to_datetime(kpis["time"], utc=True).dt.floor(f"{period_min}min")
    times = pd.date_range(t.min(), t.max(), freq=f"{period_min}min")
    els = tuple(sorted(map(str, elements if elements is not None else kpis["element"].unique())))
    return Grid(times, els, period_min)


def _pivot(frame: pd.DataFrame, col: str, grid: Grid, *, agg: str = "last") -> np.ndarray:
    t = pd.to_datetime(frame["time"], utc=True)
    ti = ((t - grid.times[0]) // pd.Timedelta(minutes=grid.period_min)).to_numpy()
    ei = pd.Index(grid.elements).get_indexer(frame["element"].astype(str))
    ok = (ti >= 0) & (ti < len(grid.times)) & (ei >= 0)
    out = np.full((len(grid.times), len(grid.elements)), np.nan if agg == "last" else 0.0)
    vals = frame[col].to_numpy(float) if col else np.ones(len(frame))
    if agg == "last":
        out[ti[ok], ei[ok]] = vals[ok]
    else:
        np.add.at(out, (ti[ok], ei[ok]), vals[ok])
    return out


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(a, np.nan)
    if k < len(a):
        out[k:] = a[: len(a) - k]
    return out


def _window_sum(x: np.ndarray, w: int) -> np.ndarray:
    """Sum over the trailing ``w`` rows (fewer at the start), by cumulative sums (exact
    for the integer event counts it is used on)."""
    cs = np.cumsum(x, axis=0)
    out = cs.copy()
    out[w:] -= cs[:-w]
    return out


def _rolling(a: np.ndarray, w: int, how: str) -> np.ndarray:
    """Trailing-window ``mean``, ``std`` (ddof 1) or ``sum`` over axis 0, NaN-aware, with
    pandas' ``rolling(w, min_periods=max(w // 2, 1))`` semantics (``sum``: counts, NaN as
    0, min_periods 1), vectorised over all columns at once (pandas loops over columns).
    Mean and deviations are summed over the window's lags (two passes, no running sums
    over the whole series: a row's value depends on its window only, to the last bit)."""
    a = np.asarray(a, dtype=np.float64)
    if how == "sum":
        return _window_sum(np.nan_to_num(a), w)
    if how not in ("mean", "std"):
        raise ValueError(f"unknown rolling statistic {how!r}")
    total = np.zeros_like(a)
    count = np.zeros_like(a)
    for k in range(w):
        x = _shift(a, k)
        ok = ~np.isnan(x)
        total += np.where(ok, x, 0.0)
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        if how == "mean":
            out = mean
        else:
            dev = np.zeros_like(a)
            for k in range(w):
                x = _shift(a, k)
                dev += np.where(np.isnan(x), 0.0, (x - mean) ** 2)
            out = np.sqrt(dev / (count - 1))
            out[count < 2] = np.nan
    out[count < max(w // 2, 1)] = np.nan
    return out


def _slope(a: np.ndarray, w: int) -> np.ndarray:
    """Least-squares slope over the trailing w samples (NaN if any is missing)."""
    x = np.arange(w, dtype=float) - (w - 1) / 2.0
    acc = np.zeros_like(a)
    for j in range(w):
        acc += x[j] * _shift(a, w - 1 - j)
    return acc / float((x**2).sum())


def _seasonal_profile(a: np.ndarray, grid: Grid, days: int) -> np.ndarray:
    """Mean of the same time-of-day slot over the previous ``days`` days (not today)."""
    per_day = 1440 // grid.period_min
    start = grid.times[0]
    offset = int((start - start.normalize()) / pd.Timedelta(minutes=grid.period_min))
    n_days = -(-(offset + len(a)) // per_day)
    padded = np.full((n_days * per_day, a.shape[1]), np.nan)
    padded[offset : offset + len(a)] = a
    cube = padded.reshape(n_days, per_day, a.shape[1])
    vals = np.nan_to_num(cube)
    cnt = (~np.isnan(cube)).astype(float)
    cs = np.concatenate([np.zeros_like(vals[:1]), np.cumsum(vals, axis=0)])
    cc = np.concatenate([np.zeros_like(cnt[:1]), np.cumsum(cnt, axis=0)])
    d = np.arange(n_days)
    lo = np.maximum(d - days, 0)
    s = cs[d] - cs[lo]
    c = cc[d] - cc[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        prof = np.where(c > 0, s / np.maximum(c, 1), np.nan)
    return prof.reshape(-1, a.shape[1])[offset : offset + len(a)]


def _kpi_features(a: np.ndarray, name: str, grid: Grid, spec: FeatureSpec) -> dict[str, np.ndarray]:
    out = {f"{name}__last": a}
    resid = a - _seasonal_profile(a, grid, spec.seasonal_days)
    out[f"{name}__resid"] = resid
    for w in spec.windows:
        out[f"{name}__mean_{w}"] = _rolling(a, w, "mean")
        out[f"{name}__std_{w}"] = _rolling(a, w, "std")
        out[f"{name}__slope_{w}"] = _slope(a, w)
        out[f"{name}__delta_{w}"] = a - _shift(a, w)
        out[f"{name}__resid_mean_{w}"] = _rolling(resid, w, "mean")
    return out


def _event_features(
    events: pd.DataFrame, kind_col: str, prefix: str, grid: Grid, spec: FeatureSpec
) -> dict[str, np.ndarray]:
    ev = events.copy()
    # an event stamped within (t - period, t] is counted at row t
    ev["time"] = pd.to_datetime(ev["time"], utc=True).dt.ceil(f"{grid.period_min}min")
    weight = "count" if "count" in ev.columns else ""
    kinds = ev[kind_col].astype(str).value_counts().index[: spec.max_event_types]
    if prefix == "alarm" and spec.alarm_types is not None:
        kinds = pd.Index(spec.alarm_types)
    out: dict[str, np.ndarray] = {}
    total = _pivot(ev, weight, grid, agg="sum")
    series = {"all": total}
    for k in kinds:
        series[str(k)] = _pivot(ev[ev[kind_col].astype(str) == k], weight, grid, agg="sum")
    for k, arr in series.items():
        for w in spec.windows:
            out[f"{prefix}__{k}__sum_{w}"] = _rolling(arr, w, "sum")
    return out


def _active_alarm_features(
    alarms: pd.DataFrame, grid: Grid, spec: FeatureSpec
) -> dict[str, np.ndarray]:
    """Alarms raised at or before t and not cleared by t: count and age (minutes since the
    oldest one was raised), per alarm type and in total. Needs a ``clear`` column (NaT =
    still active)."""
    raise_t = pd.to_datetime(alarms["time"], utc=True)
    clear_t = pd.to_datetime(alarms["clear"], utc=True)
    per = pd.Timedelta(minutes=grid.period_min)
    t0 = grid.times[0]
    lo = np.ceil((raise_t - t0) / per).to_numpy()
    hi = np.ceil((clear_t - t0) / per).fillna(len(grid.times)).to_numpy()  # cleared at/after t
    ei = pd.Index(grid.elements).get_indexer(alarms["element"].astype(str))
    kinds = alarms["alarm"].astype(str).to_numpy()
    top = list(pd.Series(kinds).value_counts().index[: spec.max_event_types])
    if spec.alarm_types is not None:
        top = list(spec.alarm_types)
    n_t, n_e = len(grid.times), len(grid.elements)
    raised_min = ((raise_t - t0) / pd.Timedelta(minutes=1)).to_numpy()
    count = {k: np.zeros((n_t, n_e)) for k in ["all", *top]}
    first = {k: np.full((n_t, n_e), np.inf) for k in ["all", *top]}
    for i in range(len(alarms)):
        a, b = int(max(lo[i], 0)), int(min(hi[i], n_t))
        if ei[i] < 0 or a >= b:
            continue
        for k in ("all", kinds[i]) if kinds[i] in count else ("all",):
            count[k][a:b, ei[i]] += 1
            np.minimum(first[k][a:b, ei[i]], raised_min[i], out=first[k][a:b, ei[i]])
    now = ((grid.times - t0) / pd.Timedelta(minutes=1)).to_numpy()[:, None]
    out: dict[str, np.ndarray] = {}
    for k in count:
        out[f"alarm__{k}__active"] = count[k]
        age = now - first[k]
        out[f"alarm__{k}__age"] = np.where(np.isfinite(age), age, -1.0)
    return out


def _attribute_features(grid: Grid, topo: Topology) -> dict[str, np.ndarray]:
    """Numeric and boolean element attributes (``battery_min`` of a site, ``capacity_mbps``
    ...), of the element itself (``attr__k``) and the max over its parents
    (``parent__attr__k``), constant over time."""
    own: dict[str, np.ndarray] = {}
    n = len(grid.elements)
    for i, e in enumerate(grid.elements):
        if e not in topo:
            continue
        for k, v in topo.element(e).attrs.items():
            if isinstance(v, bool | int | float):
                own.setdefault(k, np.full(n, np.nan))[i] = float(v)
    idx = {e: i for i, e in enumerate(grid.elements)}
    out: dict[str, np.ndarray] = {}
    for k, vals in sorted(own.items()):
        par = np.full(n, np.nan)
        for i, e in enumerate(grid.elements):
            ups = [vals[idx[p]] for p in topo.parents(e) if p in idx] if e in topo else []
            ups = [u for u in ups if not np.isnan(u)]
            if ups:
                par[i] = max(ups)
        out[f"attr__{k}"] = np.broadcast_to(vals, (len(grid.times), n))
        if not np.isnan(par).all():
            out[f"parent__attr__{k}"] = np.broadcast_to(par, (len(grid.times), n))
    return out


def _neighbour_weights(grid: Grid, topo: Topology) -> dict[str, Any]:
    """0/1 link matrices (element x element, sparse CSR): neighbour cells, siblings
    (other children of the same parents), parents."""
    from scipy import sparse

    idx = {e: i for i, e in enumerate(grid.elements)}
    n = len(grid.elements)
    links: dict[str, set[tuple[int, int]]] = {"nbr": set(), "sib": set(), "parent": set()}
    for e, i in idx.items():
        if e not in topo:
            continue
        for nb in topo.neighbours(e):
            if nb in idx:
                links["nbr"].add((i, idx[nb]))
        for p in topo.parents(e):
            if p in idx:
                links["parent"].add((i, idx[p]))
            for s in topo.children(p):
                if s != e and s in idx:
                    links["sib"].add((i, idx[s]))
    out = {}
    for name, pairs in links.items():
        rows, cols = (
            (np.array(x, dtype=np.int64) for x in zip(*sorted(pairs), strict=True))
            if (pairs)
            else (np.zeros(0, np.int64), np.zeros(0, np.int64))
        )
        out[name] = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return out


def _aggregate(a: np.ndarray, m: Any, how: str) -> np.ndarray:
    """Per element, the mean (or max) of ``a`` over the elements ``m`` links it to."""
    present = ~np.isnan(a)
    if how == "max":  # over the few linked elements of each row of m (parents: 1 or 2)
        out = np.full_like(a, -np.inf)
        for i, j in zip(*m.nonzero(), strict=True):
            col = a[:, j]
            np.fmax(out[:, i], np.where(np.isnan(col), -np.inf, col), out=out[:, i])
        return np.where(np.isinf(out), np.nan, out)
    s = (m @ np.nan_to_num(a).T).T  # a few links per row: sparse products
    c = (m @ present.astype(float).T).T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1), np.nan)


def build_features(
    kpis: pd.DataFrame,
    *,
    spec: FeatureSpec = FeatureSpec(),
    alarms: pd.DataFrame | None = None,
    logs: pd.DataFrame | None = None,
    topology: Topology | None = None,
    kpi_columns: Sequence[str] | None = None,
    grid: Grid | None = None,
) -> pd.DataFrame:
    """One row per (time, element) of the grid: ``time``, ``element`` + feature columns."""
    grid = grid or to_grid(kpis, spec.period_min)
    cols = list(kpi_columns or [c for c in kpis.columns if c not in ("time", "element")])
    feats: dict[str, np.ndarray] = {}
    for c in cols:
        feats.update(_kpi_features(_pivot(kpis, c, grid), c, grid, spec))
    for kpi, level, sign in spec.thresholds:
        if f"{kpi}__last" in feats:
            feats.update(_precursor_features(feats, kpi, level, sign, spec))
    if alarms is not None and len(alarms):
        feats.update(_event_features(alarms, "alarm", "alarm", grid, spec))
        if "clear" in alarms.columns:
            feats.update(_active_alarm_features(alarms, grid, spec))
    if logs is not None and len(logs):
        feats.update(_event_features(logs, "template", "log", grid, spec))
    if topology is not None and spec.topology_features:
        feats.update(_up_features(feats, grid, topology))
        feats.update(_topology_features(feats, cols, grid, topology, spec))
        feats.update(_attribute_features(grid, topology))
    feats.update(_nearest_failure(feats))
    feats.update(imminent_block(feats, tuple(k for k, _, _ in spec.thresholds)))
    out = grid.index_frame()
    block = pd.DataFrame({k: v.reshape(-1) for k, v in feats.items()})
    log.debug("features: %s rows x %s columns", len(out), block.shape[1])
    return pd.concat([out, block], axis=1)


def _topology_features(
    feats: dict[str, np.ndarray], cols: Sequence[str], grid: Grid, topo: Topology, spec: FeatureSpec
) -> dict[str, np.ndarray]:
    w = min(spec.windows)
    base = [f"{c}__{s}" for c in cols for s in (f"slope_{w}", f"resid_mean_{w}")]
    base += [k for k in feats if k.startswith("alarm__") and k.endswith(("__active", "__age"))]
    base += [k for k in feats if k.startswith("alarm__all__")]
    base = list(dict.fromkeys(base))
    mats = _neighbour_weights(grid, topo)
    out: dict[str, np.ndarray] = {}
    for name, m in mats.items():
        if m.nnz == 0:
            continue
        for f in base:
            out[f"{name}__{f}"] = _aggregate(feats[f], m, "max" if name == "parent" else "mean")
    return out


def _precursor_features(
    feats: dict[str, np.ndarray], kpi: str, level: float, sign: int, spec: FeatureSpec
) -> dict[str, np.ndarray]:
    """Distance to a failure level, minutes to reach it (with a 10-90 % band), curvature,
    approach time and excess over the previous day (:mod:`twinrca.predict.physics`)."""
    return precursor_block(
        feats[f"{kpi}__last"],
        kpi,
        level,
        sign,
        windows=tuple(sorted(spec.windows)),
        period_min=spec.period_min,
    )


#: ancestor aggregates of precursor features: the nearest failure (min) or the largest
#: excess (max) over what feeds the element
_UP_MIN = ("__margin", "__ttt_min")
_UP_MAX = ("__over_day", "__approach")


def _up_features(feats: dict[str, np.ndarray], grid: Grid, topo: Topology) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k in list(feats):
        if k.endswith(_UP_MIN) or "__ttt_" in k or "__tttq_" in k:
            out[f"up__{k}"] = _ancestor_min(feats[k], grid, topo)
        elif k.endswith(_UP_MAX):
            out[f"up__{k}"] = -_ancestor_min(-feats[k], grid, topo)
    return out


def _nearest_failure(feats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``precursor__ttt_min``: minutes to the nearest failure level over every precursor
    KPI of the element and of what feeds it (NaN where none applies)."""
    cols = [v for k, v in feats.items() if k.endswith("__ttt_min")]
    if not cols:
        return {}
    with np.errstate(invalid="ignore"):
        stack = np.stack(cols)
        best = np.where(
            np.isnan(stack).all(axis=0),
            np.nan,
            np.nanmin(np.where(np.isnan(stack), np.inf, stack), axis=0),
        )
    return {"precursor__ttt_min": best}


def _ancestor_min(a: np.ndarray, grid: Grid, topo: Topology) -> np.ndarray:
    """Per element, the minimum of ``a`` over its ancestors in the grid (NaN if none)."""
    idx = {e: i for i, e in enumerate(grid.elements)}
    out = np.full_like(a, np.nan)
    for e, i in idx.items():
        if e not in topo:
            continue
        ups = [idx[u] for u in topo.ancestors(e) if u in idx]
        if ups:
            out[:, i] = np.fmin.reduce(a[:, ups], axis=1)
    return out
