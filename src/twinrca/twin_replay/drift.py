"""Twin drift: a cell that stops behaving like its calibrated twin (pure: arrays in, records out).

The residual of a cell and KPI (PRB use, DL throughput) at a period is
``log(observed) - log(expected)``, the expectation being the calibrated twin's
(:meth:`~twinrca.twin_replay.calibration.Calibration.expected`). Only healthy periods
(availability >= 99.9 %) with both values above a floor (1 % PRB, the calibration's
throughput floor) are evaluated; the others neither extend nor break a run.

How the band and the run lengths follow from the calibration (nothing tuned per data set):

* **band**: :func:`heldout_band` takes the residuals of the calibration's *held-out* days
  (the twin forecasting days it was not fitted on). Per cell and KPI the centre is their
  median and the scale their robust sd (1.4826 x MAD; cells with fewer than a quarter
  day of held-out samples take the pooled median scale). A period is out of band when
  ``|z| = |r - centre| / scale > Z_BAND`` (3: a three-sigma band).
* **k** (periods out of band, same sign, before a finding is raised): the held-out
  residuals also give, pooled over cells, the share ``p`` of periods out of band and the
  persistence ``q`` of a run under way (the demand noise is autocorrelated): the share
  of two same-sign periods beyond :data:`Z_PERSIST` (2 sd, where a few held-out days
  hold hundreds of such pairs; beyond 3 sd they hold a handful) followed by a third.
  Beyond the lower band and after two periods the persistence is the higher, so ``k``
  errs long. Chance runs of ``k`` or more then come about
  ``per_day * p * (1 - q) * q**(k-1)`` times per cell-day; ``k`` is the smallest run
  length that brings this to at most :data:`FALSE_PER_CELL_DAY` per KPI (0.5 per 1000:
  with two KPIs, one chance finding per 1000 cell-days), clipped to ``[2, per_day/2]``.
  ``p`` and ``q`` carry a Laplace prior (a short hold-out never gives 0 or 1).
* **closing**: an open finding closes after ``k`` consecutive periods within
  :data:`Z_PERSIST` (back with the twin: a shifted cell's slow noise keeps it near the
  band's edge for hours, and closing there would split one change into several findings).
* **lasting** (refit trigger): open for :data:`LASTING_DAYS` (two days of data): two
  daily cycles rule out a one-off event, and two days are what
  :func:`~twinrca.twin_replay.calibration.calibrate_kpis` needs to refit the cell on the
  data after the change (one day to fit, one held out).

:func:`step_drift` is incremental: it takes the :class:`DriftState` of the periods seen
so far and new ``[cell, period]`` grids, and returns the new state and the findings that
opened, grew lasting or closed (:class:`DriftFinding`). The state turns into JSON for a
restart.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from twinrca.twin_replay.calibration import Calibration

__all__ = [
    "DRIFT_KPIS",
    "FALSE_PER_CELL_DAY",
    "LASTING_DAYS",
    "Z_BAND",
    "Z_PERSIST",
    "DriftBand",
    "DriftFinding",
    "DriftState",
    "heldout_band",
    "residuals",
    "standardize",
    "step_drift",
]

DRIFT_KPIS = ("prb_utilisation", "dl_throughput_mbps")
Z_BAND = 3.0
Z_PERSIST = 2.0
FALSE_PER_CELL_DAY = 0.5e-3
LASTING_DAYS = 2.0
_HEALTHY = 99.9


@dataclass(frozen=True, slots=True)
class DriftBand:
    """Per cell and KPI centre and scale of the held-out residual, and the run lengths."""

    centre: dict[str, np.ndarray]  # kpi -> [C]
    scale: dict[str, np.ndarray]  # kpi -> [C]
    k: int  # periods out of band before a finding
    lasting: int  # periods open before a finding is lasting (refit)
    p: dict[str, float]  # held-out share out of band, per KPI
    q: dict[str, float]  # held-out persistence, per KPI
    floors: dict[str, float]  # values at or below are not evaluated

    def to_json(self) -> dict[str, object]:
        return {
            "centre": {k: np.round(v, 5).tolist() for k, v in self.centre.items()},
            "scale": {k: np.round(v, 5).tolist() for k, v in self.scale.items()},
            "k": self.k,
            "lasting": self.lasting,
            "p": self.p,
            "q": self.q,
            "floors": self.floors,
        }

    @classmethod
    def from_json(cls, doc: dict) -> DriftBand:
        def arr(d: dict) -> dict[str, np.ndarray]:
            return {k: np.asarray(v, dtype=np.float64) for k, v in d.items()}

        return cls(
            arr(doc["centre"]), arr(doc["scale"]), int(doc["k"]), int(doc["lasting"]),
            dict(doc["p"]), dict(doc["q"]), dict(doc["floors"]),
        )  # fmt: skip

    def take(self, rows: np.ndarray, other: DriftBand, their: np.ndarray) -> DriftBand:
        """This band with ``rows`` replaced by ``other``'s rows ``their`` (a partial refit)."""
        centre = {k: v.copy() for k, v in self.centre.items()}
        scale = {k: v.copy() for k, v in self.scale.items()}
        for k in centre:
            centre[k][rows] = other.centre[k][their]
            scale[k][rows] = other.scale[k][their]
        return replace(self, centre=centre, scale=scale)


def _nanmedian(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(x, axis=axis)


def residuals(
    obs: dict[str, np.ndarray],
    expected: dict[str, np.ndarray],
    avail: np.ndarray,
    floors: dict[str, float],
) -> dict[str, np.ndarray]:
    """``log(observed / expected)`` per KPI ``[cell, period]``, NaN where not evaluable."""
    out = {}
    healthy = np.isfinite(avail) & (avail >= _HEALTHY)
    for kpi in DRIFT_KPIS:
        o, e, f = obs[kpi], expected[kpi], floors[kpi]
        ok = healthy & np.isfinite(o) & np.isfinite(e) & (o > f) & (e > f)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[kpi] = np.where(ok, np.log(np.where(ok, o, 1.0) / np.where(ok, e, 1.0)), np.nan)
    return out


def _run_length(p: float, q: float, per_day: int) -> int:
    """Smallest k with per_day * p * (1 - q) * q**(k-1) <= FALSE_PER_CELL_DAY."""
    starts = per_day * p * (1.0 - q)
    if starts <= FALSE_PER_CELL_DAY:
        k = 1
    else:
        k = 1 + math.ceil(math.log(FALSE_PER_CELL_DAY / starts) / math.log(q))
    return int(min(max(k, 2), max(2, per_day // 2)))


def _exceedance(z: np.ndarray) -> tuple[float, float]:
    """Share of evaluable periods out of band, and the persistence of a run under way:
    the share of two same-sign periods beyond ``Z_PERSIST`` followed by a third."""
    ev = np.isfinite(z)
    zz = np.nan_to_num(z)
    out = ev & (np.abs(zz) > Z_BAND)
    s = (np.sign(zz) * (ev & (np.abs(zz) > Z_PERSIST))).astype(np.int64)
    two = (s[:, :-2] != 0) & (s[:, 1:-1] == s[:, :-2])
    base = two & ev[:, 2:]
    three = base & (s[:, 2:] == s[:, :-2])
    p = (float(out.sum()) + 1.0) / (float(ev.sum()) + 2.0)
    q = (float(three.sum()) + 1.0) / (float(base.sum()) + 2.0)
    return round(p, 6), round(q, 6)


def heldout_band(resid: dict[str, np.ndarray], per_day: int, floors: dict[str, float]) -> DriftBand:
    """The drift band and run lengths from the held-out residuals ``[cell, period]``."""
    centre, scale, ps, qs, ks = {}, {}, {}, {}, []
    for kpi in DRIFT_KPIS:
        r = resid[kpi]
        c = _nanmedian(r, axis=1)
        mad = 1.4826 * _nanmedian(np.abs(r - c[:, None]), axis=1)
        n = np.isfinite(r).sum(1)
        pooled = float(_nanmedian(mad[n >= max(4, per_day // 4)]))
        pooled = pooled if math.isfinite(pooled) else 0.1
        s = np.where((n >= max(4, per_day // 4)) & np.isfinite(mad), mad, pooled)
        centre[kpi] = np.where(np.isfinite(c), c, 0.0)
        scale[kpi] = np.maximum(s, 0.01)
        z = (r - centre[kpi][:, None]) / scale[kpi][:, None]
        ps[kpi], qs[kpi] = _exceedance(z)
        ks.append(_run_length(ps[kpi], qs[kpi], per_day))
    k = max(ks)
    lasting = max(round(LASTING_DAYS * per_day), 4 * k)
    return DriftBand(centre, scale, k, lasting, ps, qs, dict(floors))


@dataclass(frozen=True, slots=True)
class DriftFinding:
    """A cell and KPI out of its calibrated band for ``k`` periods or more."""

    element: str
    kpi: str
    onset: datetime  # first out-of-band period of the run (period end)
    detected: datetime  # the period the run reached k
    last_out: datetime  # the newest out-of-band period
    direction: int  # +1 above the twin, -1 below
    z_mean: float  # mean standardized residual over the out-of-band periods
    periods_out: int
    state: str  # "open" or "closed"
    lasting: bool

    @property
    def doc_id(self) -> str:
        return f"{self.element}|{self.kpi}|{self.onset.isoformat()}"

    def to_json(self) -> dict[str, object]:
        return {
            "element": self.element,
            "kpi": self.kpi,
            "onset": self.onset.isoformat(),
            "detected": self.detected.isoformat(),
            "last_out": self.last_out.isoformat(),
            "direction": self.direction,
            "z_mean": round(self.z_mean, 3),
            "periods_out": self.periods_out,
            "state": self.state,
            "lasting": self.lasting,
        }


# per KPI and cell: sign, length, start and z sum of the current out-of-band run; periods
# within Z_PERSIST in a row (calm); open (0 no, 1 open, 2 open and lasting) with the finding's
# onset, detection, newest out-of-band period, z sum and count of out-of-band periods
_FIELDS = (
    "sign",
    "run",
    "start",
    "rz",
    "calm",
    "open",
    "onset",
    "detected",
    "last",
    "zsum",
    "nout",
)
_FLOAT = ("rz", "zsum")


@dataclass(slots=True)
class DriftState:
    """Run counters per KPI and cell; times as epoch seconds of period ends (0: none)."""

    cells: tuple[str, ...]
    last: int = 0  # the newest period processed (epoch s)
    runs: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @classmethod
    def new(cls, cells: tuple[str, ...] | list[str]) -> DriftState:
        n = len(cells)
        runs = {
            kpi: {f: np.zeros(n, np.float64 if f in _FLOAT else np.int64) for f in _FIELDS}
            for kpi in DRIFT_KPIS
        }
        return cls(tuple(cells), 0, runs)

    def for_cells(self, cells: tuple[str, ...]) -> DriftState:
        """The state re-indexed on ``cells`` (new cells start fresh, gone ones drop)."""
        if cells == self.cells:
            return self
        out = DriftState.new(cells)
        out.last = self.last
        index = {c: i for i, c in enumerate(self.cells)}
        rows = np.array([index.get(c, -1) for c in cells], dtype=np.int64)
        have = rows >= 0
        for kpi, arrays in self.runs.items():
            for f, v in arrays.items():
                out.runs[kpi][f][have] = v[rows[have]]
        return out

    def reset(self, cells: list[str]) -> None:
        """Forget the runs of ``cells`` (refitted: a fresh start against the new twin)."""
        rows = [i for i, c in enumerate(self.cells) if c in set(cells)]
        for arrays in self.runs.values():
            for v in arrays.values():
                v[rows] = 0

    def to_json(self) -> dict[str, object]:
        return {
            "cells": list(self.cells),
            "last": self.last,
            "runs": {k: {f: v.tolist() for f, v in a.items()} for k, a in self.runs.items()},
        }

    @classmethod
    def from_json(cls, doc: dict) -> DriftState:
        runs = {
            kpi: {
                f: np.asarray(v, dtype=np.float64 if f in _FLOAT else np.int64)
                for f, v in arrays.items()
            }
            for kpi, arrays in doc["runs"].items()
        }
        return cls(tuple(doc["cells"]), int(doc["last"]), runs)


def _dt(epoch: int) -> datetime:
    return pd.Timestamp(int(epoch), unit="s", tz="UTC").to_pydatetime()


def _finding(state: DriftState, kpi: str, i: int, opened: bool) -> DriftFinding:
    a = state.runs[kpi]
    n_out = int(a["nout"][i])
    return DriftFinding(
        element=state.cells[i],
        kpi=kpi,
        onset=_dt(a["onset"][i]),
        detected=_dt(a["detected"][i]),
        last_out=_dt(a["last"][i]),
        direction=int(np.sign(a["zsum"][i])) or 1,
        z_mean=float(a["zsum"][i] / max(n_out, 1)),
        periods_out=n_out,
        state="open" if opened else "closed",
        lasting=bool(a["open"][i] == 2),
    )


def _advance(a: dict[str, np.ndarray], z: np.ndarray, t: int, band: DriftBand) -> tuple:
    """One period of one KPI: update the counters in place; return the rows that opened,
    the rows open and the rows that close."""
    ev = np.isfinite(z)
    zz = np.nan_to_num(z)
    out = np.where(ev & (np.abs(zz) > Z_BAND), np.sign(zz), 0).astype(np.int64)
    cont = ev & (out != 0) & (out == a["sign"])
    fresh = ev & (out != 0) & ~cont
    a["run"] = np.where(cont, a["run"] + 1, np.where(fresh, 1, np.where(ev, 0, a["run"])))
    a["start"] = np.where(fresh, t, a["start"])
    a["rz"] = np.where(cont, a["rz"] + zz, np.where(fresh, zz, np.where(ev, 0.0, a["rz"])))
    a["sign"] = np.where(ev, out, a["sign"])
    near = ev & (np.abs(zz) <= Z_PERSIST)  # back with the twin, not at the band's edge
    a["calm"] = np.where(ev, np.where(near, a["calm"] + 1, 0), a["calm"])
    is_open = a["open"] > 0
    hit = is_open & ev & (out != 0)
    a["last"] = np.where(hit, t, a["last"])
    a["zsum"] = np.where(hit, a["zsum"] + zz, a["zsum"])
    a["nout"] = np.where(hit, a["nout"] + 1, a["nout"])
    opened = ~is_open & (a["run"] >= band.k)
    if opened.any():
        a["open"] = np.where(opened, 1, a["open"])
        a["onset"] = np.where(opened, a["start"], a["onset"])
        a["detected"] = np.where(opened, t, a["detected"])
        a["last"] = np.where(opened, t, a["last"])
        a["zsum"] = np.where(opened, a["rz"], a["zsum"])
        a["nout"] = np.where(opened, a["run"], a["nout"])
    return opened, a["open"] > 0, (a["open"] > 0) & (a["calm"] >= band.k)


def step_drift(
    state: DriftState,
    times: np.ndarray,
    z: dict[str, np.ndarray],
    band: DriftBand,
    step_minutes: int,
) -> tuple[DriftState, list[DriftFinding]]:
    """Advance ``state`` over new periods ``times`` (period ends, ``datetime64[s]``) with
    standardized residuals ``z[kpi]`` ``[cell, period]`` (NaN: not evaluable).

    Periods at or before ``state.last`` are skipped (a re-read). Returns the new state and
    the findings that opened, became lasting or closed in these periods (the newest
    record of each)."""
    secs = np.asarray(times, dtype="datetime64[s]").astype(np.int64)
    new = secs > state.last
    lasting_s = band.lasting * step_minutes * 60
    touched: dict[tuple[str, int, int], DriftFinding] = {}
    for kpi in DRIFT_KPIS:
        a = state.runs[kpi]
        for j in np.flatnonzero(new):
            t = int(secs[j])
            opened, is_open, closing = _advance(a, z[kpi][:, j], t, band)
            grew = is_open & (a["open"] == 1) & (t - a["onset"] >= lasting_s)
            a["open"] = np.where(grew, 2, a["open"])
            for i in np.flatnonzero(opened | grew):
                touched[(kpi, int(i), int(a["onset"][i]))] = _finding(state, kpi, int(i), True)
            for i in np.flatnonzero(closing):
                touched[(kpi, int(i), int(a["onset"][i]))] = _finding(state, kpi, int(i), False)
                a["open"][i] = 0
                a["nout"][i] = 0
                a["zsum"][i] = 0.0
    if new.any():
        state.last = int(secs[new].max())
    return state, list(touched.values())


def standardize(cal: Calibration, times: np.ndarray, grids: dict[str, np.ndarray]) -> dict:
    """Standardized residuals ``[cell, period]`` of observed grids (rows in the
    calibration's cell order) against the calibrated twin; NaN where not evaluable."""
    band = cal.drift
    if band is None:
        raise ValueError("the calibration carries no drift band (refit it)")
    pred_prb, pred_thr = cal.expected(times)
    expected = {"prb_utilisation": pred_prb, "dl_throughput_mbps": pred_thr}
    avail = grids.get("availability")
    if avail is None:
        avail = np.where(np.isfinite(grids["prb_utilisation"]), 100.0, np.nan)
    r = residuals(grids, expected, avail, band.floors)
    return {k: (r[k] - band.centre[k][:, None]) / band.scale[k][:, None] for k in DRIFT_KPIS}
