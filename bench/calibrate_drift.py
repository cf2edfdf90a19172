"""Part (d) of :mod:`bench.calibrate`: twin drift (:mod:`twinrca.twin_replay.drift`).

A twin network with the generator's default cells and demand (no surges) runs
``FIT_DAYS + MONITOR_DAYS``. As the service does, the twin is calibrated
(:func:`calibrate_kpis`) on the last ``FIT_DAYS`` before each monitoring day (a cell
with an open finding keeps its parameters) and the drift counters run over that day,
carried from day to day. The lasting-drift refit of a cell is the service's
(tests/unit/service/test_twin_drift.py), not replayed here.
``drift_false_per_1000_cell_days_fixed_calibration``: the healthy run against the one
calibration of the first ``FIT_DAYS`` for all ``MONITOR_DAYS`` (a longer forecast
horizon: wider residuals).

* Changed run: a random 10 % of the cells change capacity at a random period of the
  first monitoring day, half of them -40 % (a failed carrier, a re-tilt away), half
  +50 % (a new carrier). ``drift_detected``: share of changed cells with a finding
  opened at or after their change; ``drift_delay_periods``: median periods from the
  change to the detection; ``drift_lasting``: share of changed cells whose finding
  became lasting (the refit trigger) by the end; ``drift_detected_minus40`` and
  ``drift_detected_plus50``: the detected share per kind of change.
* Healthy run (same network, no change): ``drift_false_per_1000_cell_days``: findings
  (a cell and onset, whatever the KPIs) per 1000 cell-days of monitoring; the same on
  the unchanged cells of the changed run is ``drift_false_per_1000_cell_days_changed_run``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from bench.calibrate import K_AVAIL, K_PRB, K_THR, cell_grids
from twinrca.core.topology import ElementKind
from twinrca.twin_replay.calibration import calibrate_kpis
from twinrca.twin_replay.demand import generate_demand
from twinrca.twin_replay.drift import DriftState, standardize, step_drift
from twinrca.twin_replay.fit import period_ends
from twinrca.twin_replay.network import generate_topology
from twinrca.twin_replay.simulate import CellParams, simulate

__all__ = ["drift"]

FIT_DAYS, MONITOR_DAYS = 10, 3
_KPIS = {"availability": K_AVAIL, "prb_utilisation": K_PRB, "dl_throughput_mbps": K_THR}


def _wide(kp: np.ndarray, cells: list[str], times: np.ndarray) -> pd.DataFrame:
    """``[C, T, K]`` grids as the wide KPI frame calibration takes."""
    n_c, n_t = kp.shape[:2]
    frame = {
        "element_id": np.repeat(np.asarray(cells, dtype=object), n_t),
        "time": pd.DatetimeIndex(np.tile(times, n_c)).tz_localize("UTC"),
    }
    for name, k in _KPIS.items():
        frame[name] = kp[:, :, k].ravel()
    return pd.DataFrame(frame)


def _findings(cal, kp: np.ndarray, times: np.ndarray) -> list:
    grids = {name: kp[:, :, k] for name, k in _KPIS.items()}
    z = standardize(cal, times, grids)
    _, found = step_drift(DriftState.new(cal.cells), times, z, cal.drift, cal.step_minutes)
    return found


def _daily(kp: np.ndarray, ids: list[str], times: np.ndarray, topo, n_fit: int, per_day: int):
    """The service's way: refit every day on the last ``FIT_DAYS`` (a cell with an open
    finding keeps its parameters), the counters carried over; the findings."""
    state, found, cal = DriftState.new(tuple(ids)), [], None
    for d in range(MONITOR_DAYS):
        end = n_fit + d * per_day
        fit = slice(end - n_fit, end)
        new = calibrate_kpis(_wide(kp[:, fit], ids, times[fit]), topo)
        if cal is not None:
            is_open = set()
            for kpi_runs in state.runs.values():
                is_open |= {ids[i] for i in np.flatnonzero(kpi_runs["open"] > 0)}
            new = new.merged(cal, only=is_open) if is_open else new
        cal = new
        day = slice(end, end + per_day)
        z = standardize(cal, times[day], {n: kp[:, day, k] for n, k in _KPIS.items()})
        state, part = step_drift(state, times[day], z, cal.drift, cal.step_minutes)
        found += part
    return found


def drift(quick: bool, seed: int) -> dict:
    cells = 200 if quick else 600
    rng = np.random.default_rng([seed, 31])
    topo = generate_topology(cells, seed=seed)
    ids = topo.ids(ElementKind.CELL)
    base = CellParams.default(topo)
    dem = generate_demand(topo, days=FIT_DAYS + MONITOR_DAYS, seed=seed, surges=0)
    per_day = 1440 // dem.step_minutes
    times = period_ends(dem.start, dem.step_minutes, dem.steps)
    healthy = cell_grids(simulate(topo, dem, [], seed=seed, params=base, threshold_alarms=False),
                         topo)  # fmt: skip
    n_c = len(ids)
    moved = rng.choice(n_c, size=max(2, n_c // 10), replace=False)
    factor = np.where(np.arange(len(moved)) % 2 == 0, 0.6, 1.5)
    cap = base.capacity.copy()
    cap[moved] *= factor
    other = simulate(topo, dem, [], seed=seed, params=dataclasses.replace(base, capacity=cap),
                     threshold_alarms=False)  # fmt: skip
    other = cell_grids(other, topo)
    n_fit = FIT_DAYS * per_day
    at = n_fit + rng.integers(0, per_day, size=len(moved))
    changed = healthy.copy()
    for i, t in zip(moved, at, strict=True):
        changed[i, t:] = other[i, t:]
    cal = calibrate_kpis(_wide(healthy[:, :n_fit], ids, times[:n_fit]), topo)
    mon = slice(n_fit, None)
    step_s = dem.step_minutes * 60
    cell_days = n_c * MONITOR_DAYS

    def events(found: list, skip: set[str]) -> int:
        return len({(f.element, f.onset) for f in found if f.element not in skip})

    fixed = _findings(cal, healthy[:, mon], times[mon])
    quiet = _daily(healthy, ids, times, topo, n_fit, per_day)
    found = _daily(changed, ids, times, topo, n_fit, per_day)
    moved_ids = {ids[i]: int(t) for i, t in zip(moved, at, strict=True)}
    delays, lasting = [], 0
    hit = {0.6: 0, 1.5: 0}
    for (cell, t), f_cap in zip(moved_ids.items(), factor, strict=True):
        t_change = int(times[t].astype("datetime64[s]").astype(np.int64))
        mine = [f for f in found if f.element == cell and f.onset.timestamp() >= t_change]
        if mine:
            first = min(mine, key=lambda f: f.detected)
            delays.append((first.detected.timestamp() - t_change) / step_s)
            lasting += any(f.lasting for f in mine)
            hit[float(f_cap)] += 1
    n_m = len(moved_ids)
    return {
        "drift_detected": round(len(delays) / n_m, 4),
        "drift_delay_periods": float(np.median(delays)) if delays else None,
        "drift_lasting": round(lasting / n_m, 4),
        "drift_detected_minus40": round(hit[0.6] / int((factor == 0.6).sum()), 4),
        "drift_detected_plus50": round(hit[1.5] / int((factor == 1.5).sum()), 4),
        "drift_false_per_1000_cell_days": round(1000 * events(quiet, set()) / cell_days, 3),
        "drift_false_per_1000_cell_days_fixed_calibration": round(
            1000 * events(fixed, set()) / cell_days, 3
        ),
        "drift_false_per_1000_cell_days_changed_run": round(
            1000 * events(found, set(moved_ids)) / (cell_days - n_m * MONITOR_DAYS), 3
        ),
        "drift_k": cal.drift.k,
        "drift_changed_cells": n_m,
        "drift_cells": n_c,
        "drift_monitor_days": MONITOR_DAYS,
    }
