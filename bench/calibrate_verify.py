"""Part (b) of :mod:`bench.calibrate`: verification on a network the twin does not match.

The test network's cells have true parameters drawn away from the twin's defaults
(:func:`bench.calibrate.true_params`). The Bayesian diagnoser is trained on default twin
runs (as the service's is); its top 3 of every incident of the test runs (planted
faults, EMS noise) are verified on the twin and re-ranked as the service does, three
ways, on the same incidents:

* ``ac_at_1_mismatch_default``: the twin with its default cell parameters;
* ``ac_at_1_mismatch_calibrated``: parameters fitted (:func:`fit_cell_model`) on a
  separate fault-free week of the same network, with the demand the twin is fed;
* ``ac_at_1_matched``: the network's true parameters (the twin matches the network).

``ac_at_1_unverified``: the diagnoser's ranking alone. ``truth_kpi_fit``: the mean KPI
fit of the true candidate (1 - error / no-fault error) per arm; ``no_fault_kpi_error``:
the mean error of the twin's no-fault replay against the observation (scale units), a
direct measure of how far the twin is from the network.
"""

from __future__ import annotations

import sys

import numpy as np

from bench.calibrate import K_AVAIL, K_DROP, K_PRB, K_THR, cell_grids, true_params
from bench.rca import VERIFY_WEIGHT, rank_of, verify_top
from twinrca.fmea.catalogue import load_catalogue
from twinrca.training.diagnoser import labelled_run, new_diagnoser, twin_run
from twinrca.twin_replay.demand import generate_demand
from twinrca.twin_replay.fit import fit_cell_model, period_ends
from twinrca.twin_replay.network import generate_topology
from twinrca.twin_replay.simulate import CellParams, simulate
from twinrca.twin_replay.verify import RERANK_TEMPERATURE, rerank

TRAIN_SEEDS = (1, 2)
TEST_SEED_BASE = 71001
CALIBRATION_SEED = 90001


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
    truth = true_params(topo, rng)
    fitted = calibrated(topo, truth)
    training = []
    for s in TRAIN_SEEDS:
        incidents, labels, match = labelled_run(s, topo, cat, days=days, faults=faults)
        for li, ii in match.items():
            lab = labels.iloc[li]
            training.append((incidents[ii].evidence, lab.root_element, lab.mode_id))
    diag = new_diagnoser(topo, cat).fit(training)
    arms = {"default": None, "calibrated": fitted, "matched": truth}
    ranks: dict[str, list[int]] = {k: [] for k in ("unverified", *arms)}
    fits: dict[str, list[float]] = {k: [] for k in arms}
    errs: dict[str, list[float]] = {k: [] for k in arms}
    for run in range(runs):
        s = TEST_SEED_BASE + run
        tw = twin_run(s, topo, cat, days=days, faults=faults, params=truth)
        for li, ii in tw.match.items():
            lab, inc = tw.labels.iloc[li], tw.incidents[ii]
            truth_key = (lab.root_element, lab.mode_id)
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

    return {
        "ac_at_1_mismatch_default": ac1(ranks["default"]),
        "ac_at_1_mismatch_calibrated": ac1(ranks["calibrated"]),
        "ac_at_1_matched": ac1(ranks["matched"]),
        "ac_at_1_unverified": ac1(ranks["unverified"]),
        "truth_kpi_fit": {k: round(float(np.mean(v)), 4) for k, v in fits.items() if v},
        "no_fault_kpi_error": {k: round(float(np.mean(v)), 4) for k, v in errs.items() if v},
        "verify_cases": len(ranks["matched"]),
        "verify_cells": cells,
    }
