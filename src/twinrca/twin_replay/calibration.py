"""A versionable calibration of the twin from observed cell KPIs (pure: frames in, record out).

:func:`calibrate_kpis` takes KPI rows in the store's long form (``managed_object,
measurement, value, period_end``) or wide form (``element_id, time`` and one column per
KPI), fits the cells on all but the last quarter of the days (at least one day held
out) with :func:`~twinrca.twin_replay.fit.fit_cell_model`, and scores the held-out days:
the calibrated twin's expectation against the seasonal-naive forecast (same slot
yesterday / last week). The :class:`Calibration` carries the fitted parameters, the
demand profile, the drift band, the fit window and the held-out errors, and turns into
JSON (:meth:`Calibration.to_json`) for the store.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from twinrca.core.errors import ValidationError
from twinrca.core.topology import Element, ElementKind, Topology
from twinrca.twin_replay.drift import DRIFT_KPIS, DriftBand, heldout_band, residuals
from twinrca.twin_replay.fit import (
    DemandProfile,
    FitResult,
    expectation,
    fit_cell_model,
    forecast,
    mape,
    seasonal_naive,
)
from twinrca.twin_replay.simulate import CellParams

__all__ = ["KPI_FIELDS", "Calibration", "calibrate_kpis", "cells_topology", "kpi_grids"]

# short names (for column mappings) -> the twin's KPI measurement names
KPI_FIELDS: dict[str, str] = {
    "prb_dl": "prb_utilisation",
    "thr_dl": "dl_throughput_mbps",
    "availability": "availability",
    "drop": "drop_rate",
}
_NEED = ("prb_utilisation", "dl_throughput_mbps")
_PARAMS = ("capacity", "scale", "sensitivity", "noise")


@dataclass(frozen=True, slots=True)
class Calibration:
    """Fitted twin parameters of a set of cells with their fit window and held-out error."""

    cells: tuple[str, ...]
    step_minutes: int
    fit_start: datetime
    fit_end: datetime
    heldout: dict[str, float]  # mape_prb, naive_mape_prb, mape_thr, naive_mape_thr, ...
    fit: FitResult
    drift: DriftBand | None = None  # the held-out residual band (None: an older version)

    @property
    def params(self) -> CellParams:
        return self.fit.params

    def expected(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The twin's expected PRB use and throughput ``[cell, time]`` at those periods."""
        return expectation(self.fit.params.capacity, forecast(self.fit.profile, times))

    def to_json(self) -> dict[str, object]:
        p, pr = self.fit.params, self.fit.profile

        def arr(x: np.ndarray) -> list:
            return np.round(np.asarray(x, dtype=np.float64), 6).tolist()

        return {
            "cells": list(self.cells),
            "step_minutes": self.step_minutes,
            "fit_start": self.fit_start.isoformat(),
            "fit_end": self.fit_end.isoformat(),
            "heldout": {k: (None if math.isnan(v) else v) for k, v in self.heldout.items()},
            "params": {
                "capacity": arr(p.capacity),
                "scale": arr(p.scale),
                "sensitivity": arr(p.sensitivity),
                "noise": arr(p.noise),
                "compensation": arr(p.compensation),
            },
            "profile": {
                "shape": arr(pr.shape),
                "level": arr(pr.level),
                "trend": arr(pr.trend),
                "ref_day": pr.ref_day,
            },
            "band": arr(self.fit.band),
            "fitted": [bool(x) for x in self.fit.fitted],
            "congested": [int(x) for x in self.fit.congested],
            "drift": None if self.drift is None else self.drift.to_json(),
        }

    @classmethod
    def from_json(cls, doc: dict) -> Calibration:
        p, pr = doc["params"], doc["profile"]

        def f32(x: list) -> np.ndarray:
            return np.asarray(x, dtype=np.float32)

        params = CellParams(
            f32(p["capacity"]),
            f32(p["scale"]),
            f32(p["sensitivity"]),
            f32(p["noise"]),
            f32(p["compensation"]),
        )
        step = int(doc["step_minutes"])
        profile = DemandProfile(
            step,
            np.asarray(pr["shape"], dtype=np.float64),
            np.asarray(pr["level"], dtype=np.float64),
            np.asarray(pr["trend"], dtype=np.float64),
            float(pr["ref_day"]),
        )
        fit = FitResult(
            params,
            profile,
            f32(doc["band"]),
            np.asarray(doc["fitted"], dtype=bool),
            np.asarray(doc["congested"], dtype=np.int64),
        )
        heldout = {k: (float("nan") if v is None else float(v)) for k, v in doc["heldout"].items()}
        drift = DriftBand.from_json(doc["drift"]) if doc.get("drift") else None
        return cls(
            tuple(doc["cells"]),
            step,
            datetime.fromisoformat(doc["fit_start"]),
            datetime.fromisoformat(doc["fit_end"]),
            heldout,
            fit,
            drift,
        )

    def merged(self, part: Calibration, only: Iterable[str] | None = None) -> Calibration:
        """This calibration with the cells of ``part`` (a refit of a few cells on newer
        data; ``only``: those of them) taking ``part``'s parameters, profile and band;
        the rest unchanged."""
        index = {c: i for i, c in enumerate(self.cells)}
        keep = set(part.cells if only is None else only)
        pairs = [(index[c], j) for j, c in enumerate(part.cells) if c in index and c in keep]
        if not pairs or part.step_minutes != self.step_minutes:
            return self
        rows, their = (np.array(x, dtype=np.int64) for x in zip(*pairs, strict=True))
        a, b = self.fit, part.fit

        def put(mine: np.ndarray, new: np.ndarray) -> np.ndarray:
            out = np.array(mine, copy=True)
            out[rows] = new[their]
            return out

        cap, scale, sens, noise = (put(getattr(a.params, n), getattr(b.params, n)) for n in _PARAMS)
        params = CellParams(cap, scale, sens, noise, a.params.compensation)
        # the part's level is at its own reference day: move it to this one's
        ap, bp = a.profile, b.profile
        level_b = bp.level * np.exp(bp.trend * (ap.ref_day - bp.ref_day))
        profile = DemandProfile(
            ap.step_minutes,
            put(ap.shape, bp.shape),
            put(ap.level, level_b),
            put(ap.trend, bp.trend),
            ap.ref_day,
        )
        fit = FitResult(
            params, profile, put(a.band, b.band), put(a.fitted, b.fitted),
            put(a.congested, b.congested),
        )  # fmt: skip
        drift = self.drift
        if drift is not None and part.drift is not None:
            drift = drift.take(rows, part.drift, their)
        return Calibration(
            self.cells, self.step_minutes, self.fit_start, self.fit_end, self.heldout, fit, drift
        )

    def params_for(self, topology: Topology) -> CellParams:
        """Parameters in ``topology``'s cell order: calibrated cells take theirs, cells the
        calibration does not know keep the defaults (a topology change before a refit)."""
        base = CellParams.default(topology)
        index = {c: i for i, c in enumerate(self.cells)}
        rows = [index.get(c, -1) for c in topology.ids(ElementKind.CELL)]
        out = []
        for name in ("capacity", "scale", "sensitivity", "noise"):
            mine, dflt = getattr(self.fit.params, name), getattr(base, name)
            out.append(
                np.array([mine[r] if r >= 0 else dflt[i] for i, r in enumerate(rows)], np.float32)
            )
        capacity, scale, sensitivity, noise = out
        return CellParams(capacity, scale, sensitivity, noise, base.compensation)


def cells_topology(cells: list[str]) -> Topology:
    """A topology of bare cells (a CSV export without an inventory)."""
    return Topology([Element(c, ElementKind.CELL, 0.0, 0.0, "r0", {}) for c in cells], [])


def _wide(kpis: pd.DataFrame) -> pd.DataFrame:
    if {"managed_object", "measurement", "value", "period_end"} <= set(kpis.columns):
        sel = kpis[kpis["measurement"].isin(list(KPI_FIELDS.values()))]
        wide = sel.pivot_table(
            index=["period_end", "managed_object"],
            columns="measurement",
            values="value",
            aggfunc="mean",
        ).reset_index()
        return wide.rename(columns={"period_end": "time", "managed_object": "element_id"})
    if {"time", "element_id"} <= set(kpis.columns):
        return kpis
    raise ValidationError(
        "bad_telemetry",
        "KPI rows need managed_object/measurement/value/period_end or element_id/time columns",
    )


def kpi_grids(
    kpis: pd.DataFrame, cells: list[str], *, step_minutes: int | None = None
) -> tuple[np.ndarray, int, dict[str, np.ndarray]]:
    """Period ends, step (minutes) and ``[cell, step]`` grids per KPI measurement name
    (``step_minutes`` given: a single period is enough)."""
    wide = _wide(kpis)
    missing = [k for k in _NEED if k not in wide.columns]
    if missing:
        raise ValidationError("bad_telemetry", f"KPI rows lack {missing}")
    wide = wide[wide["element_id"].isin(cells)].assign(time=pd.to_datetime(wide["time"], utc=True))
    if wide.empty:
        raise ValidationError("too_little_data", "no KPI rows of the cells to calibrate")
    times = pd.DatetimeIndex(sorted(wide["time"].unique()))
    if step_minutes is not None:
        step = int(step_minutes)
    elif len(times) < 2:
        raise ValidationError("too_little_data", "calibration needs more than one period")
    else:
        step = int(pd.Series(times).diff().median().total_seconds() // 60)
    if step < 1 or 1440 % step:
        raise ValidationError("bad_step", f"reporting period of {step} min does not divide a day")
    full = pd.date_range(times[0], times[-1], freq=f"{step}min")
    grids = {}
    for name in KPI_FIELDS.values():
        if name in wide.columns:
            g = wide.pivot_table(index="element_id", columns="time", values=name, aggfunc="mean")
            grids[name] = g.reindex(index=cells, columns=full).to_numpy(dtype=np.float64)
    if "availability" not in grids:  # an export without availability: rows present = up
        grids["availability"] = np.where(np.isfinite(grids["prb_utilisation"]), 100.0, np.nan)
    ends = full.tz_convert(None).to_numpy().astype("datetime64[s]")
    return ends, step, grids


def calibrate_kpis(
    kpis: pd.DataFrame, topology: Topology | None = None, *, holdout_share: float = 0.25
) -> Calibration:
    """Fit the cells on the first days and score the held-out last days."""
    if topology is None:
        ids = _wide(kpis)["element_id"].dropna().unique().tolist()
        topology = cells_topology(sorted(str(c) for c in ids))
    cells = topology.ids(ElementKind.CELL)
    times, step, g = kpi_grids(kpis, cells)
    per_day = 1440 // step
    days = len(times) // per_day
    if days < 2:
        raise ValidationError("too_little_data", "calibration needs two days of KPIs or more")
    n_out = max(1, round(days * holdout_share)) * per_day
    n_fit = len(times) - n_out
    fit = slice(0, n_fit)
    fr = fit_cell_model(
        topology,
        times[fit],
        g["prb_utilisation"][:, fit],
        g["dl_throughput_mbps"][:, fit],
        g["availability"][:, fit],
        step_minutes=step,
        drop=g["drop_rate"][:, fit] if "drop_rate" in g else None,
    )
    pred_prb, pred_thr = expectation(fr.params.capacity, forecast(fr.profile, times[n_fit:]))
    ok = g["availability"][:, n_fit:] >= 99.9
    heldout = {}
    for key, name, pred in (
        ("prb", "prb_utilisation", pred_prb),
        ("thr", "dl_throughput_mbps", pred_thr),
    ):
        obs = g[name][:, n_fit:]
        naive = seasonal_naive(g[name], times, step)[:, n_fit:]
        floor = 1.0 if key == "prb" else _floor(g[name][:, fit])
        both = ok & np.isfinite(naive)  # the same samples for both forecasts
        heldout[f"mape_{key}"] = round(mape(pred, obs, both, floor), 3)
        heldout[f"naive_mape_{key}"] = round(mape(naive, obs, both, floor), 3)
        heldout[f"mape_{key}_all"] = round(mape(pred, obs, ok, floor), 3)
    heldout["holdout_days"] = float(n_out // per_day)
    floors = {"prb_utilisation": 1.0, "dl_throughput_mbps": _floor(g["dl_throughput_mbps"][:, fit])}
    expected = {"prb_utilisation": pred_prb, "dl_throughput_mbps": pred_thr}
    later = {k: g[k][:, n_fit:] for k in DRIFT_KPIS}
    band = heldout_band(
        residuals(later, expected, g["availability"][:, n_fit:], floors), per_day, floors
    )

    def dt(x: np.datetime64) -> datetime:
        return pd.Timestamp(x).tz_localize("UTC").to_pydatetime()

    return Calibration(tuple(cells), step, dt(times[0]), dt(times[n_fit - 1]), heldout, fr, band)


def _floor(x: np.ndarray) -> float:
    """MAPE's floor for throughput: 1 Mbit/s or the 5th percentile of the fit samples,
    whichever is lower (cells that carry little traffic)."""
    v = x[np.isfinite(x) & (x > 0)]
    return float(min(1.0, np.quantile(v, 0.05))) if len(v) else 1.0
