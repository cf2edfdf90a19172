"""Calibration: fit per-cell capacity, demand scale and noise to observed telemetry.

From healthy, unsaturated periods (availability 100 %, PRB below 90 %) the cell's
capacity is served throughput over PRB share (median); demand is the observed
throughput replayed per time-of-day slot and weekday class, and its scale and noise
come from the fit period. The calibrated twin then predicts held-out days; the report
gives MAPE of PRB utilisation and DL throughput on them (healthy periods only).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from twinrca.core.errors import ValidationError
from twinrca.core.topology import ElementKind, Topology
from twinrca.twin_replay.demand import Demand
from twinrca.twin_replay.simulate import CellParams, simulate

__all__ = ["CalibrationReport", "calibrate_from_frame", "fit_cell_params"]


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    params: CellParams
    metrics: dict[str, float]


def _grid(frame: pd.DataFrame, cells: list[str], times: pd.DatetimeIndex, col: str) -> np.ndarray:
    wide = frame.pivot_table(index="element_id", columns="time", values=col, aggfunc="first")
    return wide.reindex(index=cells, columns=times).to_numpy(dtype=np.float64)


def fit_cell_params(
    topology: Topology, prb: np.ndarray, thr: np.ndarray, avail: np.ndarray
) -> CellParams:
    """Capacity from healthy unsaturated samples; other parameters from defaults."""
    base = CellParams.default(topology)
    ok = (avail >= 99.9) & (prb > 5) & (prb < 90) & np.isfinite(thr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cap = np.nanmedian(np.where(ok, thr / np.maximum(prb, 1e-6) * 100.0, np.nan), axis=1)
    cap = np.where(np.isfinite(cap), cap, base.capacity).astype(np.float32)
    return CellParams(cap, base.scale, base.sensitivity, base.noise, base.compensation)


def _profile_demand(
    thr: np.ndarray,
    avail: np.ndarray,
    per_day: int,
    days_out: int,
    fit_weekdays: np.ndarray,
    out_weekdays: np.ndarray,
) -> np.ndarray:
    """Median observed throughput per (slot, weekday class), laid over the held-out days."""
    healthy = np.where(avail >= 99.9, thr, np.nan)
    n_c = thr.shape[0]
    days = healthy[:, : (healthy.shape[1] // per_day) * per_day].reshape(n_c, -1, per_day)
    out = np.empty((n_c, days_out, per_day))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        allmed = np.nanmedian(days, axis=1)
        for d in range(days_out):
            same = (fit_weekdays[: days.shape[1]] >= 5) == (out_weekdays[d] >= 5)
            med = np.nanmedian(days[:, same], axis=1) if same.any() else allmed
            out[:, d] = np.where(np.isfinite(med), med, allmed)
    return np.nan_to_num(out.reshape(n_c, -1))


def _mape(pred: np.ndarray, obs: np.ndarray, mask: np.ndarray) -> float:
    m = mask & (obs > 1.0) & np.isfinite(pred)
    return float(np.mean(np.abs(pred[m] - obs[m]) / obs[m]) * 100.0) if m.any() else float("nan")


def calibrate_from_frame(
    topology: Topology, kpis: pd.DataFrame, *, holdout_days: float = 1.0, seed: int = 0
) -> CalibrationReport:
    """Fit on all but the last ``holdout_days``; report held-out MAPE."""
    need = {"time", "element_id", "availability", "prb_utilisation", "dl_throughput_mbps"}
    if need - set(kpis.columns):
        raise ValidationError(
            "bad_telemetry", f"KPI table lacks {sorted(need - set(kpis.columns))}"
        )
    cells = topology.ids(ElementKind.CELL)
    frame = kpis[kpis["element_id"].isin(cells)]
    times = pd.DatetimeIndex(sorted(pd.to_datetime(frame["time"], utc=True).unique()))
    step_min = int((times[1] - times[0]).total_seconds() // 60)
    per_day = 1440 // step_min
    n_out = int(round(holdout_days * per_day))  # noqa: RUF046
    if len(times) - n_out < per_day:
        raise ValidationError(
            "too_little_data", "need at least one day of telemetry before the hold-out"
        )
    frame = frame.assign(time=pd.to_datetime(frame["time"], utc=True))
    prb, thr, avail = (
        _grid(frame, cells, times, c)
        for c in ("prb_utilisation", "dl_throughput_mbps", "availability")
    )
    fit = slice(0, len(times) - n_out)
    params = fit_cell_params(topology, prb[:, fit], thr[:, fit], avail[:, fit])
    wd = np.array([t.weekday() for t in times[::per_day]])
    offered = _profile_demand(
        thr[:, fit],
        avail[:, fit],
        per_day,
        max(1, n_out // per_day),
        wd[: len(times[fit]) // per_day],
        wd[len(times[fit]) // per_day :],
    )[:, :n_out]
    start = (times[len(times) - n_out] - timedelta(minutes=step_min)).to_pydatetime()
    demand = Demand(start, step_min, offered.astype(np.float32), tuple(cells))
    res = simulate(topology, demand, [], scenarios=1, seed=seed, params=params)
    assert res.kpis is not None
    idx = [res.element_ids.index(c) for c in cells]
    sim = res.kpis[0][idx]
    ok = avail[:, -n_out:] >= 99.9
    metrics = {
        "holdout_steps": float(n_out),
        "mape_prb_utilisation": _mape(sim[:, :, 1], prb[:, -n_out:], ok),
        "mape_dl_throughput": _mape(sim[:, :, 2], thr[:, -n_out:], ok),
        "capacity_mape_vs_inventory": _mape(
            params.capacity, CellParams.default(topology).capacity, np.ones(len(cells), bool)
        ),
    }
    return CalibrationReport(params, metrics)
