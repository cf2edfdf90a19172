"""Part (b) of :mod:`bench.calibrate`: verification on a network the twin does not match.

The test network's cells have true parameters drawn away from the twin's defaults
(:func:`bench.calibrate.true_params`), with every cell's capacity 40 % below or above
the default (half each, at random): the mismatch a default twin must live with. The
faults planted in the test runs are the cell modes whose KPIs depend on the capacity
(VSWR, external interference, tilt: capacity x .6 / .5 / .8) beside two that leave it
alone (handover, PCI), during the busy hours (15:00-21:00 UTC, 17-23 local), where a
cell's load decides whether it congests (PRB use at 95 % raises the KPI-threshold alarm,
drops rise with congestion). Half the faults are silent (the EMS never reports their own
alarms), so their diagnosis rests on the KPIs and the threshold alarms, which the twin
replays with its cell parameters: a default twin replays a small cell's everyday
congestion as a fault's doing, and a large cell's capacity fault as congestion that was
not observed.

The Bayesian diagnoser is trained on runs of the same kind on the default twin (as the
service's is trained on its twin); its top 3 of every matched incident of the test runs
are verified on the twin and re-ranked as the service does, three ways, on the same
incidents:

* ``ac_at_1_mismatch_default``: the twin with its default cell parameters;
* ``ac_at_1_mismatch_calibrated``: parameters fitted (:func:`fit_cell_model`) on a
  separate fault-free week of the same network, with the demand the twin is fed;
* ``ac_at_1_matched``: the network's true parameters (the twin matches the network).

``ac_at_1_unverified``: the diagnoser's ranking alone. ``truth_kpi_fit``: the mean KPI
fit of the true candidate (1 - error / no-fault error) per arm; ``no_fault_kpi_error``:
the mean error of the twin's no-fault replay against the observation (scale units), a
direct measure of how far the twin is from the network. ``verify_cases_by_capacity``:
the AC@1 of each arm on the faults of small (x .6) and large (x 1.4) cells.
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from bench.calibrate import K_AVAIL, K_DROP, K_PRB, K_THR, cell_grids, true_params
from bench.rca import VERIFY_WEIGHT, rank_of, verify_top
from twinrca.core.topology import ElementKind
from twinrca.detect.detector import detect_incidents
from twinrca.fmea.catalogue import load_catalogue
from twinrca.training.diagnoser import TwinRun, new_diagnoser
from twinrca.training.twin_data import AlarmNoise, alarm_frame, kpi_anomalies, match_faults
from twinrca.twin_replay.demand import generate_demand
from twinrca.twin_replay.effects import Intervention, spread_of
from twinrca.twin_replay.fit import fit_cell_model, period_ends
from twinrca.twin_replay.generate import fault_labels
from twinrca.twin_replay.network import generate_topology
from twinrca.twin_replay.simulate import CellParams, simulate
from twinrca.twin_replay.verify import RERANK_TEMPERATURE, rerank

TRAIN_SEEDS = (1, 2)
TEST_SEED_BASE = 71001
CALIBRATION_SEED = 90001
CELL_MODES = ("FM-RAN-VSWR", "FM-EXT-INTERF", "FM-CFG-TILT", "FM-CFG-HO", "FM-CFG-PCI")
BUSY_UTC = (15, 21)  # hours: the busy evening (local time is UTC+2 in the generator)
CAPACITY_OFF = 0.4
SILENT_SHARE = 0.5


def mismatched_params(topo, rng: np.random.Generator) -> CellParams:
    """:func:`bench.calibrate.true_params` with each cell's capacity 40 % below or above
    its default (half each)."""
    truth = true_params(topo, rng)
    base = CellParams.default(topo)
    sign = np.where(rng.random(len(base.capacity)) < 0.5, -1.0, 1.0)
    cap = (base.capacity * (1.0 + CAPACITY_OFF * sign)).astype(np.float32)
    return dataclasses.replace(truth, capacity=cap)


def busy_faults(topo, cat, *, count: int, steps: int, step_minutes: int, seed: int):
    """``count`` cell faults cycling over :data:`CELL_MODES`, each starting in a busy
    hour of a random day, on cells whose reach does not overlap another fault's."""
    rng = np.random.default_rng([seed, 31])
    cells = topo.ids(ElementKind.CELL)
    per_day, per_hour = 1440 // step_minutes, 60 // step_minutes
    days = steps // per_day
    busy: dict[str, list[tuple[int, int]]] = {}
    out: list[Intervention] = []
    for k in range(count):
        mode = cat.mode(CELL_MODES[k % len(CELL_MODES)])
        for _ in range(50):
            root = cells[int(rng.integers(len(cells)))]
            day = int(rng.integers(days)) if days > 1 else 0
            start = day * per_day + int(
                rng.integers(BUSY_UTC[0] * per_hour, BUSY_UTC[1] * per_hour)
            )
            end = min(start + int(rng.integers(2 * per_hour, 4 * per_hour + 1)), steps - 1)
            spread = spread_of(topo, mode, root)
            touched = set(spread.affected) | set(spread.neighbours)
            if all(b + 2 <= start or end + 2 <= a for e in touched for a, b in busy.get(e, ())):
                for e in touched:
                    busy.setdefault(e, []).append((start, end))
                out.append(Intervention("fault", mode.id, root, start, end))
                break
    out.sort(key=lambda iv: (iv.start_step, iv.element))
    return out


def busy_run(
    seed: int, topo, cat, *, days: float, faults: int, params: CellParams | None
) -> TwinRun:
    """A labelled run with :func:`busy_faults`; the EMS never reports the own alarms of
    half the faults (at random: silent faults, seen in the KPIs and the KPI-threshold
    alarms only), the other alarms with the default EMS noise."""
    dem = generate_demand(topo, days=days, seed=seed)
    ivs = busy_faults(topo, cat, count=faults, steps=dem.steps, step_minutes=dem.step_minutes,
                      seed=seed)  # fmt: skip
    res = simulate(topo, dem, ivs, seed=seed, catalogue=cat, params=params)
    labels = fault_labels(res, topo, cat, ivs)
    silent = np.flatnonzero(np.random.default_rng([seed, 37]).random(len(ivs)) < SILENT_SHARE)
    seen = dataclasses.replace(res, alarms=res.alarms[~res.alarms["fault"].isin(silent)])
    alarms = alarm_frame(seen, topo, cat, noise=AlarmNoise(), seed=seed)
    incidents = detect_incidents(alarms, topo, anomalies=kpi_anomalies(res))
    return TwinRun(incidents, labels, match_faults(incidents, labels), alarms, res, dem)


def calibrated(topo, truth: CellParams, days: float = 7.0) -> CellParams:
    """Parameters fitted on a fault-free run of the true network."""
    dem = generate_demand(topo, days=days, seed=CALIBRATION_SEED)
    res = simulate(topo, dem, [], seed=CALIBRATION_SEED, params=truth, threshold_alarms=False)
    kp = cell_grids(res, topo)
    fr = fit_cell_model(
        topo,
        period_ends(dem.start, dem.step_minutes, dem.steps),
        kp[:, :, K_PRB],
        kp[:, :, K_THR],
        kp[:, :, K_AVAIL],
        step_minutes=dem.step_minutes,
        drop=kp[:, :, K_DROP],
        nominal=dem.offered.astype(np.float64),
    )
    return fr.params


def _verified_rank(topo, cat, tw, inc, ranked, seed, params, truth) -> tuple[int, dict]:
    """Rank of the truth after verification, and the twin's no-fault error and the true
    candidate's KPI fit (when it was among the verified)."""
    top = list(ranked[:3])
    ver = verify_top(topo, cat, tw, inc, top, seed, params=params)
    checked = rerank(top, ver, weight=VERIFY_WEIGHT, temperature=RERANK_TEMPERATURE)
    keys = [(c.element, c.failure_mode) for c in checked + list(ranked[3:])]
    comp = next(
        (v.components for v in ver if (v.candidate.element, v.candidate.failure_mode) == truth),
        {},
    )
    err0 = next((v.components.get("kpi_error_no_fault") for v in ver if v.components), None)
    return rank_of(keys, truth), {"kpi_fit": comp.get("kpi_fit"), "err0": err0}


def verification(*, quick: bool, seed: int = 0) -> dict:
    cells, faults, days = (300, 25, 3.0) if quick else (600, 45, 3.0)
    runs = 3 if quick else 5
    cat = load_catalogue()
    topo = generate_topology(cells, seed=seed)
    rng = np.random.default_rng([seed, 29])
    truth = mismatched_params(topo, rng)
    small = truth.capacity < CellParams.default(topo).capacity
    index = {c: i for i, c in enumerate(topo.ids(ElementKind.CELL))}
    fitted = calibrated(topo, truth)
    training = []
    for s in TRAIN_SEEDS:
        run = busy_run(s, topo, cat, days=days, faults=faults, params=None)
        for li, ii in run.match.items():
            lab = run.labels.iloc[li]
            training.append((run.incidents[ii].evidence, lab.root_element, lab.mode_id))
    diag = new_diagnoser(topo, cat).fit(training)
    arms = {"default": None, "calibrated": fitted, "matched": truth}
    ranks: dict[str, list[int]] = {k: [] for k in ("unverified", *arms)}
    size: list[str] = []
    fits: dict[str, list[float]] = {k: [] for k in arms}
    errs: dict[str, list[float]] = {k: [] for k in arms}
    for run in range(runs):
        s = TEST_SEED_BASE + run
        tw = busy_run(s, topo, cat, days=days, faults=faults, params=truth)
        for li, ii in tw.match.items():
            lab, inc = tw.labels.iloc[li], tw.incidents[ii]
            truth_key = (lab.root_element, lab.mode_id)
            size.append("small" if small[index[lab.root_element]] else "large")
            ranked = diag.rank(inc.evidence, top=5)
            ranks["unverified"].append(
                rank_of([(c.element, c.failure_mode) for c in ranked], truth_key)
            )
            for arm, params in arms.items():
                r, extra = _verified_rank(topo, cat, tw, inc, ranked, s, params, truth_key)
                ranks[arm].append(r)
                if extra["kpi_fit"] is not None:
                    fits[arm].append(extra["kpi_fit"])
                if extra["err0"] is not None:
                    errs[arm].append(extra["err0"])
        print(f"(b) test seed {s}: {len(tw.match)} matched faults", file=sys.stderr)

    def ac1(r: list[int]) -> float:
        return round(float(np.mean(np.asarray(r) == 1)), 4) if r else float("nan")

    by_size = {
        z: {
            arm: ac1([r for r, q in zip(v, size, strict=True) if q == z])
            for arm, v in ranks.items()
        }
        | {"cases": size.count(z)}
        for z in ("small", "large")
    }

    return {
        "ac_at_1_mismatch_default": ac1(ranks["default"]),
        "ac_at_1_mismatch_calibrated": ac1(ranks["calibrated"]),
        "ac_at_1_matched": ac1(ranks["matched"]),
        "ac_at_1_unverified": ac1(ranks["unverified"]),
        "truth_kpi_fit": {k: round(float(np.mean(v)), 4) for k, v in fits.items() if v},
        "no_fault_kpi_error": {k: round(float(np.mean(v)), 4) for k, v in errs.items() if v},
        "verify_cases": len(ranks["matched"]),
        "verify_faults": runs * faults,
        "verify_cases_by_capacity": by_size,
        "verify_cells": cells,
    }
