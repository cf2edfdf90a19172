"""Fault-prediction benchmark: speed and quality, with baselines measured in the same run.

    python -m bench.predict --json [--quick] [--source synthetic|twin] [--horizon 60]

Trains the risk model on one scenario and tests it on a scenario of an unseen seed:
- ``synthetic``: :func:`twinrca.predict.synthetic.precursor_streams` (precursor drifts
  of 30 min to 4 h, decoy drifts that recover);
- ``twin``: :func:`twinrca.twin_replay.generate_scenario` read by
  :mod:`twinrca.predict.scenario`: predict cell service loss (availability < 50 %), with
  site / transport / core KPIs and alarms as context through the topology.

Prints one JSON object: ``train_rows_per_s``, ``score_rows_per_s`` (compiled evaluator,
batch), ``lgb_score_rows_per_s``, ``single_row_p99_us``, ``pr_auc``, ``recall_at_p80``,
``median_lead_min`` and the same for two baselines (current value of the best KPI,
logistic regression on current values), ``pr_auc_ratio`` to the better baseline, and
the quality figures at the other horizons (``--also``, default 15 min).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

import numpy as np

log = logging.getLogger("bench.predict")


def _synthetic(seed: int, quick: bool, horizon: float):  # type: ignore[no-untyped-def]
    from twinrca.predict.features import FeatureSpec
    from twinrca.predict.pipeline import prepare
    from twinrca.predict.synthetic import precursor_streams

    spec = FeatureSpec(period_min=5, windows=(3, 6, 12, 36))
    sites, days = (10, 7) if quick else (20, 14)
    d = precursor_streams(n_sites=sites, days=days, seed=seed)
    return prepare(
        d.kpis, d.faults, spec=spec, horizon_min=horizon, alarms=d.alarms, topology=d.topology
    )


def _twin(seed: int, quick: bool, horizon: float):  # type: ignore[no-untyped-def]
    import tempfile

    from twinrca.predict.features import FeatureSpec
    from twinrca.predict.pipeline import prepare
    from twinrca.predict.scenario import read_twin_scenario
    from twinrca.twin_replay import generate_scenario

    cells, days, faults = (60, 7, 60) if quick else (100, 10, 200)
    with tempfile.TemporaryDirectory() as tmp:
        generate_scenario(tmp, cells=cells, days=days, faults=faults, seed=seed)
        sc = read_twin_scenario(tmp)
    spec = FeatureSpec(period_min=sc.period_min, windows=(2, 4, 8, 16))
    print(
        f"[bench.predict] twin seed {seed}: {len(sc.events)} service-loss events on "
        f"{len(sc.cells)} cells",
        file=sys.stderr,
    )
    return prepare(
        sc.kpis,
        sc.events,
        spec=spec,
        horizon_min=horizon,
        alarms=sc.alarms,
        topology=sc.topology,
        elements=sc.cells,
    )


def _speed(model, x: np.ndarray, rows: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    xs = np.ascontiguousarray(np.resize(x, (rows, x.shape[1])))
    model.forest.predict_raw(xs[:10])
    best = min(_timed(lambda: model.predict(xs)) for _ in range(3))
    lgb = min(_timed(lambda: model.booster.predict(xs)) for _ in range(2))
    singles = []
    for i in range(min(5000, len(x))):
        row = x[i]
        t0 = time.perf_counter()
        model.predict_one(row)
        singles.append(time.perf_counter() - t0)
    lgb_one = []
    for i in range(200):
        t0 = time.perf_counter()
        model.booster.predict(x[i : i + 1])
        lgb_one.append(time.perf_counter() - t0)
    diff = float(np.max(np.abs(model.forest.predict(xs[:2000]) - model.booster.predict(xs[:2000]))))
    return {
        "score_rows_per_s": round(rows / best),
        "lgb_score_rows_per_s": round(rows / lgb),
        "single_row_p99_us": round(float(np.percentile(singles, 99)) * 1e6, 1),
        "lgb_single_row_p99_us": round(float(np.percentile(lgb_one, 99)) * 1e6, 1),
        "fast_vs_lgb_max_abs_diff": diff,
    }


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(source: str, quick: bool, seed: int, horizon: float) -> dict[str, object]:
    from twinrca.predict.pipeline import train_evaluate

    make = _twin if source == "twin" else _synthetic
    print(f"[bench.predict] building {source} train scenario (seed {seed})", file=sys.stderr)
    train = make(seed, quick, horizon)
    print(f"[bench.predict] building test scenario (unseen seed {seed + 1000})", file=sys.stderr)
    test = make(seed + 1000, quick, horizon)
    print(f"[bench.predict] training on {len(train.y)} rows", file=sys.stderr)
    ev = train_evaluate(train, test=test, seed=seed)
    out: dict[str, object] = {
        "source": source,
        "quick": quick,
        "horizon_min": horizon,
        "train_rows": ev.train_rows,
        "test_rows": ev.test_rows,
        "test_positive_share": round(float(np.mean(test.y)), 4),
        "n_features": len(train.names),
        "trees": int(ev.model.booster.num_trees()),
        "train_rows_per_s": round(ev.train_rows / ev.train_seconds),
    }
    xt = ev.model.matrix(test.frame)  # the training columns, in order
    out.update(_speed(ev.model, xt, 50_000 if quick else 200_000))
    out.update(ev.test.to_json())
    out.update(ev.baseline_kpi.to_json("baseline_kpi_"))
    out["baseline_kpi_feature"] = ev.baseline_kpi_name
    out.update(ev.baseline_lr.to_json("baseline_lr_"))
    best = max(ev.baseline_kpi.pr_auc, ev.baseline_lr.pr_auc)
    out["pr_auc_ratio"] = round(ev.test.pr_auc / best, 3) if best > 0 else None
    out["pr_auc_by_mode"] = _by_mode(ev.model.predict(xt), test)
    return out


def _by_mode(score: np.ndarray, test) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """PR-AUC with the positives of one failure mode only (all negatives kept)."""
    from twinrca.predict.evaluate import pr_auc

    out: dict[str, object] = {}
    for mode in sorted(set(test.mode[test.y == 1].tolist())):
        keep = (test.y == 0) | (test.mode == mode)
        out[mode] = {
            "pr_auc": round(pr_auc(test.y[keep], score[keep]), 4),
            "positive_rows": int(np.sum(test.mode == mode)),
        }
    return out


def _other_horizon(source: str, quick: bool, seed: int, horizon: float) -> dict[str, object]:
    from twinrca.predict.pipeline import train_evaluate

    make = _twin if source == "twin" else _synthetic
    print(f"[bench.predict] horizon {horizon:g} min", file=sys.stderr)
    ev = train_evaluate(
        make(seed, quick, horizon), test=make(seed + 1000, quick, horizon), seed=seed
    )
    best = max(ev.baseline_kpi.pr_auc, ev.baseline_lr.pr_auc)
    return {
        **ev.test.to_json(),
        "baseline_kpi_pr_auc": round(ev.baseline_kpi.pr_auc, 4),
        "baseline_lr_pr_auc": round(ev.baseline_lr.pr_auc, 4),
        "pr_auc_ratio": round(ev.test.pr_auc / best, 3) if best > 0 else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--source", choices=("synthetic", "twin"), default="synthetic")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--horizon", type=float, default=60.0)
    ap.add_argument("--also", type=float, nargs="*", default=[15.0], help="more horizons (min)")
    args = ap.parse_args()
    result = run(args.source, args.quick, args.seed, args.horizon)
    result["other_horizons"] = {
        f"{h:g}": _other_horizon(args.source, args.quick, args.seed, h)
        for h in args.also
        if h != args.horizon
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
