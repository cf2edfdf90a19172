"""Calibration of the twin to a network whose cells differ from the twin's defaults.

    python -m bench.calibrate --json [--quick] [--lte PATH] [--no-verify] [--no-drift]

(a) ``param_recovery_err``, ``mape_prb``, ``naive_mape_prb``, ``mape_thr``,
``naive_mape_thr``: twin networks whose true cell parameters are drawn away from the
defaults (capacity x U(0.6, 1.4), demand scale x U(0.7, 1.3), congestion sensitivity
x U(0.5, 2.5), noise U(0.03, 0.10)) and whose demand shape is moved (each cell's daily
profile shifted by up to +-2 h, a trend of up to +-1.5 %/day). Fit on the first days
(no faults: all periods healthy), forecast the held-out last days from the fit alone;
the seasonal-naive forecast is the same slot yesterday (last week when yesterday is of
the other weekday class), one day ahead. MAPE over samples above 1 Mbit/s (PRB: 1 %).
``param_recovery_err``: mean relative error over cells of capacity, demand scale and
(cells with >= 8 congested samples) sensitivity. ``oracle_mape_prb``, ``oracle_mape_thr``:
the forecast that knows the true parameters, shape, trend and surges (only the demand
noise unknown), the floor of any forecast made from the fit alone.

(b) ``ac_at_1_mismatch_default``, ``ac_at_1_mismatch_calibrated``, ``ac_at_1_matched``:
see :mod:`bench.calibrate_verify`.

(c) ``lte_mape_thr``, ``lte_naive_mape_thr``: the public LTE cell KPI set (33 cells,
15-minute rows, time of day only, rows shuffled). Per cell a random 70 % of the rows fit
the throughput / PRB / UE relation ``log thr = a + b log PRB + c log UE`` (the
calibrated response), the rest check it; the naive forecast is the median throughput of
the cell's fit rows in the same 15-minute slot (the only seasonal forecast a file
without dates allows). MAPE over rows above the 5th percentile of the fit rows'
throughput. ``lte_mape_thr_linear``: the twin kernel's own relation (thr = capacity x
PRB share, capacity the median ratio).

(d) ``drift_detected``, ``drift_delay_periods``, ``drift_false_per_1000_cell_days``:
cells whose capacity changes (-40 %, +50 %) after the calibration, see
:mod:`bench.calibrate_drift`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from twinrca.core.topology import ElementKind
from twinrca.twin_replay.demand import Demand, generate_demand
from twinrca.twin_replay.fit import (
    expectation,
    fit_cell_model,
    forecast,
    mape,
    period_ends,
    seasonal_naive,
)
from twinrca.twin_replay.network import generate_topology
from twinrca.twin_replay.simulate import CellParams, simulate

LTE_DEFAULT = (
    Path(__file__).resolve().parents[1]
    / "../shared/datasets/prediction/lte_cell_kpi/cell_kpi_15min.csv"
)
K_AVAIL, K_PRB, K_THR, K_DROP = 0, 1, 2, 6


def true_params(topo, rng: np.random.Generator) -> CellParams:
    base = CellParams.default(topo)
    n = len(base.capacity)
    return CellParams(
        (base.capacity * rng.uniform(0.6, 1.4, n)).astype(np.float32),
        rng.uniform(0.7, 1.3, n).astype(np.float32),
        rng.uniform(0.5, 2.5, n).astype(np.float32),
        rng.uniform(0.03, 0.10, n).astype(np.float32),
        base.compensation,
    )


def true_demand(topo, days: float, seed: int, rng: np.random.Generator) -> tuple[Demand, Demand]:
    """The generator's demand with each cell's shape shifted and a trend laid on, and the
    same demand without its noise (the oracle's forecast: the true shape and trend)."""
    dem = generate_demand(topo, days=days, seed=seed)
    calm = generate_demand(topo, days=days, seed=seed, noise=0.0, surges=dem.events)
    per_day = 1440 // dem.step_minutes
    shift = rng.integers(-per_day // 12, per_day // 12 + 1, size=dem.offered.shape[0])
    day = np.arange(dem.steps) / per_day
    trend = rng.uniform(-0.015, 0.015, size=dem.offered.shape[0])

    def moved(d: Demand) -> Demand:
        off = np.stack([np.roll(row, int(k)) for row, k in zip(d.offered, shift, strict=True)])
        off = off * np.exp(trend[:, None] * day[None, :])
        return Demand(d.start, d.step_minutes, off.astype(np.float32), d.cell_ids)

    return moved(dem), moved(calm)


def cell_grids(res, topo) -> np.ndarray:
    """``[C, T, K]`` cell KPIs of scenario 0, rows in topology cell order."""
    cells = topo.ids(ElementKind.CELL)
    idx = [res.element_ids.index(c) for c in cells]
    return res.kpis[0][idx].astype(np.float64)


def _rel(fit: np.ndarray, true: np.ndarray) -> np.ndarray:
    return np.abs(fit.astype(np.float64) - true) / np.abs(true.astype(np.float64))


def forecasting(cells: int, days: int, holdout: int, seed: int) -> dict:
    """Part (a): parameter recovery and held-out forecasts on a mismatched network."""
    rng = np.random.default_rng([seed, 19])
    topo = generate_topology(cells, seed=seed)
    truth = true_params(topo, rng)
    dem, calm = true_demand(topo, days, seed, rng)
    res = simulate(topo, dem, [], seed=seed, params=truth, threshold_alarms=False)
    kp = cell_grids(res, topo)
    times = period_ends(dem.start, dem.step_minutes, dem.steps)
    n_fit = (days - holdout) * (1440 // dem.step_minutes)
    fit = slice(0, n_fit)
    fr = fit_cell_model(
        topo,
        times[fit],
        kp[:, fit, K_PRB],
        kp[:, fit, K_THR],
        kp[:, fit, K_AVAIL],
        step_minutes=dem.step_minutes,
        drop=kp[:, fit, K_DROP],
        nominal=dem.offered[:, fit].astype(np.float64),
    )
    p = fr.params
    hot = fr.congested >= 8
    errs = {
        "capacity": _rel(p.capacity, truth.capacity)[fr.fitted],
        "scale": _rel(p.scale, truth.scale),
        "sensitivity": _rel(p.sensitivity, truth.sensitivity)[hot],
    }
    noise_err = float(np.median(_rel(p.noise, truth.noise)))
    pred_prb, pred_thr = expectation(p.capacity, forecast(fr.profile, times[n_fit:]))
    obs_prb, obs_thr = kp[:, n_fit:, K_PRB], kp[:, n_fit:, K_THR]
    naive_prb = seasonal_naive(kp[:, :, K_PRB], times, dem.step_minutes)[:, n_fit:]
    naive_thr = seasonal_naive(kp[:, :, K_THR], times, dem.step_minutes)[:, n_fit:]
    ok = kp[:, n_fit:, K_AVAIL] >= 99.9
    oracle_prb, oracle_thr = expectation(
        truth.capacity, truth.scale[:, None] * calm.offered[:, n_fit:].astype(np.float64)
    )
    all_err = np.concatenate(list(errs.values()))
    return {
        "param_recovery_err": round(float(np.mean(all_err)), 4),
        "param_recovery": {
            k: {
                "mean": round(float(np.mean(v)), 4),
                "p90": round(float(np.quantile(v, 0.9)), 4),
                "cells": len(v),
            }
            for k, v in errs.items()
        },
        "noise_median_rel_err": round(noise_err, 4),
        "mape_prb": round(mape(pred_prb, obs_prb, ok, 1.0), 3),
        "naive_mape_prb": round(mape(naive_prb, obs_prb, ok, 1.0), 3),
        "mape_thr": round(mape(pred_thr, obs_thr, ok, 1.0), 3),
        "naive_mape_thr": round(mape(naive_thr, obs_thr, ok, 1.0), 3),
        "oracle_mape_prb": round(mape(oracle_prb, obs_prb, ok, 1.0), 3),
        "oracle_mape_thr": round(mape(oracle_thr, obs_thr, ok, 1.0), 3),
        "cells": cells,
        "fit_days": days - holdout,
        "holdout_days": holdout,
    }


def _lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    a = np.column_stack([np.ones(len(x)), x])
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    return coef


def lte(path: Path, seed: int) -> dict:
    """Part (c): per-cell throughput response fitted on 70 % of each cell's rows."""
    df = pd.read_csv(path)
    df = df.dropna(subset=["PRBUsageDL", "meanThr_DL", "meanUE_DL", "Time"])
    hm = df["Time"].str.split(":", expand=True).astype(int)
    df = df.assign(slot=(hm[0] * 60 + hm[1]) // 15)
    rng = np.random.default_rng([seed, 23])
    fit_mask = rng.random(len(df)) < 0.7
    floor = float(np.quantile(df.loc[fit_mask, "meanThr_DL"], 0.05))
    preds, naive, lin, obs = [], [], [], []
    eps = 1e-3
    for _, g in df.groupby("CellName"):
        m = fit_mask[df.index.get_indexer(g.index)]
        tr, te = g[m], g[~m]
        if len(tr) < 20 or te.empty:
            continue
        x_tr = np.log(np.column_stack([tr["PRBUsageDL"] + eps, tr["meanUE_DL"] + eps]))
        coef = _lstsq(x_tr, np.log(tr["meanThr_DL"].to_numpy() + eps))
        x_te = np.log(np.column_stack([te["PRBUsageDL"] + eps, te["meanUE_DL"] + eps]))
        preds.append(np.exp(coef[0] + x_te @ coef[1:]) - eps)
        slot_med = tr.groupby("slot")["meanThr_DL"].median()
        naive.append(te["slot"].map(slot_med).fillna(tr["meanThr_DL"].median()).to_numpy())
        ok = tr["PRBUsageDL"] > 0.5
        cap = float(np.median(tr.loc[ok, "meanThr_DL"] / tr.loc[ok, "PRBUsageDL"] * 100.0))
        lin.append(cap * te["PRBUsageDL"].to_numpy() / 100.0)
        obs.append(te["meanThr_DL"].to_numpy())
    o = np.concatenate(obs)
    every = np.ones(len(o), dtype=bool)
    return {
        "lte_mape_thr": round(mape(np.concatenate(preds), o, every, floor), 3),
        "lte_naive_mape_thr": round(mape(np.concatenate(naive), o, every, floor), 3),
        "lte_mape_thr_linear": round(mape(np.concatenate(lin), o, every, floor), 3),
        "lte_cells": len(obs),
        "lte_test_rows": len(o),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object (always on)")
    ap.add_argument("--quick", action="store_true", help="a smaller network")
    ap.add_argument("--lte", type=Path, default=LTE_DEFAULT, help="the LTE cell KPI CSV")
    ap.add_argument("--no-verify", dest="verify", action="store_false", help="skip part (b)")
    ap.add_argument("--no-drift", dest="drift", action="store_false", help="skip part (d)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    out: dict = {}
    out.update(forecasting(300 if args.quick else 1000, 14, 3, args.seed))
    print(f"(a) forecasting done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.verify:
        from bench.calibrate_verify import verification

        out.update(verification(quick=args.quick, seed=args.seed))
        print(f"(b) verification done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.lte.exists():
        out.update(lte(args.lte, args.seed))
    else:
        print(f"LTE set not found at {args.lte}: part (c) skipped", file=sys.stderr)
        out["lte_mape_thr"] = out["lte_naive_mape_thr"] = None
    if args.drift:
        from bench.calibrate_drift import drift

        out.update(drift(quick=args.quick, seed=args.seed))
        print(f"(d) drift done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
