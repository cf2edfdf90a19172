"""Fault-prediction benchmark: speed and quality, with baselines measured in the same run.

    python -m bench.predict --json [--quick] [--source synthetic|twin] [--horizon 60]

Trains the risk model on one scenario and tests it on a scenario of an unseen seed:
- ``synthetic``: :func:`twinrca.predict.synthetic.precursor_streams` (precursor drifts
  of 30 min to 4 h, decoy drifts that recover);
- ``twin`` (default): :func:`twinrca.twin_replay.generate_scenario` read by
  :mod:`twinrca.predict.scenario`: predict service loss (a cell's availability < 50 %)
  on the cell or on a cell the element feeds, on rows of cells, sites and transport
  links, from KPIs, the precursor telemetry (battery charge, memory, cabinet
  temperature, microwave level: margins and time to the failure level), alarms and
  topology aggregates. Every mode counts; ``pr_auc_announced`` / ``pr_auc_sudden`` split
  the positives into modes with a precursor and sudden ones (expected near chance).

Prints one JSON object: ``train_rows_per_s``, ``score_rows_per_s`` (compiled evaluator,
batch), ``lgb_score_rows_per_s``, ``single_row_p99_us``, ``pr_auc``, ``recall_at_p80``,
``median_lead_min`` and the same for two baselines (current value of the best KPI,
logistic regression on current values), ``pr_auc_ratio`` to the better baseline, and
the quality figures at the other horizons (``--also``, default 15 min). ``warnings``
(at every horizon) holds, for the model and the KPI-threshold baseline on the same rows:
``pr_auc_announced``, ``recall_announced_at_threshold``, ``precision_at_threshold`` (every
mode), ``median_lead_min`` (announced, warned), ``false_warnings_per_1000_element_days``
and, for the model's probabilities, ``ece`` with its ``reliability_curve``. Announced
modes are those the FMEA catalogue flags ``announceable``.
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


TARGET = (
    "service loss (availability < 50 %) starts on the element (cell) or on a cell it feeds "
    "(site, transport hop) within the horizon; rows: cells, sites and transport links; every "
    "failure mode counts, sudden ones included"
)


_FEATURES: dict[tuple[int, bool], tuple] = {}  # (seed, quick) -> features, events, period, schema


def _twin(seed: int, quick: bool, horizon: float):  # type: ignore[no-untyped-def]
    """The labelled rows of one twin run at one horizon (the run's features are built
    once: they do not depend on the horizon)."""
    from twinrca.predict.pipeline import label_features

    if (seed, quick) not in _FEATURES:
        from bench.predict_cache import cached_features

        _FEATURES[(seed, quick)] = cached_features(seed, quick, lambda: _twin_features(seed, quick))
    feats, events, period, schema = _FEATURES[(seed, quick)]
    return label_features(feats, events, horizon_min=horizon, period_min=period, schema=schema)


def _twin_features(seed: int, quick: bool):  # type: ignore[no-untyped-def]
    import tempfile

    from twinrca.core.topology import ElementKind
    from twinrca.predict.features import FeatureSpec, build_features, windows_for
    from twinrca.predict.registry import frame_schema
    from twinrca.predict.scenario import TWIN_FAILURE_LEVELS, read_twin_scenario, target_events
    from twinrca.twin_replay import generate_scenario

    cells, days, faults = (60, 7, 60) if quick else (100, 10, 200)
    with tempfile.TemporaryDirectory() as tmp:
        generate_scenario(tmp, cells=cells, days=days, faults=faults, seed=seed)
        sc = read_twin_scenario(tmp)
    spec = FeatureSpec(
        period_min=sc.period_min,
        windows=windows_for(sc.period_min),
        thresholds=TWIN_FAILURE_LEVELS,
    )
    rows = [
        e.element_id
        for e in sc.topology
        if e.kind in (ElementKind.CELL, ElementKind.SITE, ElementKind.TRANSPORT)
    ]
    events = target_events(sc.events, sc.topology, rows)
    print(
        f"[bench.predict] twin seed {seed}: {len(sc.events)} service-loss events on "
        f"{len(sc.cells)} cells, {events['incident'].nunique()} incidents, {len(rows)} elements",
        file=sys.stderr,
    )
    feats = build_features(sc.kpis, spec=spec, alarms=sc.alarms, topology=sc.topology)
    feats = feats[feats["element"].isin(set(rows))].reset_index(drop=True)
    num = feats.columns.drop(["time", "element"])
    feats[num] = feats[num].astype(np.float32)  # three runs' features held at once
    return feats, events, sc.period_min, frame_schema(sc.kpis)


def _config(source: str):  # type: ignore[no-untyped-def]
    """The twin's held-out slice holds few incidents: more patience before stopping."""
    from dataclasses import replace

    from twinrca.predict.risk import RISK_CONFIG

    if source != "twin":
        return RISK_CONFIG
    return replace(RISK_CONFIG, early_stopping=300, min_data_in_leaf=10)


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
    ev = train_evaluate(train, test=test, seed=seed, config=_config(source))
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
    score = ev.model.predict(xt)
    out["pr_auc_by_mode"] = _by_mode(score, test)
    if source == "twin":
        thr = _validation_threshold(ev.model, make, seed + 500, quick, horizon)
        if thr is not None:  # warnings at a threshold set on a third, unseen seed
            from twinrca.predict.evaluate import quality

            q = quality(test.y, score, test.lead_min, test.fault_id, threshold=thr)
            out.update(q.to_json())
            out["threshold_from"] = f"validation seed {seed + 500} (precision 0.8 there)"
        out["target"] = TARGET
        out.update(_by_class(score, test, thr if thr is not None else ev.model.threshold))
    out["warnings"] = _warnings_block(ev, test, score, thr if source == "twin" else None)
    return out


def _warnings_block(ev, test, score: np.ndarray, thr: float | None) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The current model and the KPI-threshold baseline on the same test rows; the model's
    threshold from the validation seed when given (else its held-out slice), the
    baseline's from the training scenario's held-out slice at precision 0.8."""
    model_thr = thr if thr is not None else ev.model.threshold
    return {
        "model": _warning_figures(score, test, model_thr, probability=True),
        "baseline_kpi": _warning_figures(
            _kpi_score(ev, test), test, ev.baseline_kpi.threshold, probability=False
        ),
    }


def _validation_threshold(model, make, seed: int, quick: bool, horizon: float):  # type: ignore[no-untyped-def]
    """The lowest score reaching precision 0.8 on a scenario of another unseen seed (the
    training scenario's own calibration slice holds too few incidents to set it)."""
    from twinrca.predict.evaluate import threshold_for_precision

    print(f"[bench.predict] validation scenario (seed {seed}) for the threshold", file=sys.stderr)
    val = make(seed, quick, horizon)
    return threshold_for_precision(val.y, model.predict(model.matrix(val.frame)), 0.8)


def _announced_modes() -> set[str]:
    """Modes the FMEA catalogue flags announceable: their service loss follows a precursor
    the twin shows (battery draining, memory leak, cabinet heating, microwave fade)."""
    from twinrca.fmea.catalogue import load_catalogue

    return {m.id for m in load_catalogue().announceable()}


def _kpi_score(ev, ds) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The KPI-threshold baseline: sign * the best current KPI (chosen on training rows)."""
    col = ds.frame[ev.baseline_kpi_name].to_numpy(float)
    return ev.baseline_kpi_sign * np.nan_to_num(col)


def _warning_figures(  # type: ignore[no-untyped-def]
    score: np.ndarray, ds, threshold: float, *, probability: bool, target: np.ndarray | None = None
) -> dict[str, object]:
    """The issue-15 figures of one scorer at one threshold: PR-AUC and recall of announced
    faults, precision over every mode, median lead of warned announced faults, false
    warning episodes per 1000 element-days, and (probabilities only) the calibration
    error with its reliability curve."""
    from twinrca.predict.evaluate import (
        expected_calibration_error,
        false_warnings_per_1000_element_days,
        lead_times,
        pr_auc,
        reliability_curve,
    )

    y, warn = ds.y, score >= threshold
    names = _announced_modes()  # the catalogue read once, not per row
    ann = np.array([m in names for m in ds.mode]) & (y == 1)
    keep = (y == 0) | ann
    fid = ds.fault_id
    n_ann = len(np.unique(fid[ann & (fid >= 0)]))
    leads = lead_times(warn & ann, y, ds.lead_min, fid)
    out: dict[str, object] = {
        "threshold": float(threshold),
        "pr_auc_announced": round(pr_auc(y[keep], score[keep]), 4),
        "recall_announced_at_threshold": round(len(leads) / n_ann, 4) if n_ann else None,
        "precision_at_threshold": (round(float(np.mean(y[warn] == 1)), 4) if warn.any() else None),
        "median_lead_min": round(float(np.median(leads)), 1) if len(leads) else None,
        "false_warnings_per_1000_element_days": round(
            false_warnings_per_1000_element_days(
                warn,
                y,
                ds.frame["time"].to_numpy(),
                ds.frame["element"].to_numpy(),
                ds.period_min,
            ),
            2,
        ),
    }
    if probability:
        aim = y if target is None else target  # what the probabilities are of
        out["ece"] = round(expected_calibration_error(aim, score), 4)
        out["reliability_curve"] = [
            {k: round(v, 4) if isinstance(v, float) else v for k, v in b.items()}
            for b in reliability_curve(aim, score)
        ]
    return out


def _by_class(score: np.ndarray, test, threshold: float) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """PR-AUC, recall at precision 0.8 and lead of the modes that announce themselves and
    of the sudden ones (positives of the class only, all negatives kept)."""
    from twinrca.predict.evaluate import quality

    announced = _announced_modes()
    is_ann = np.array([m in announced for m in test.mode])
    out: dict[str, object] = {"announced_modes": sorted(announced)}
    for name, cls in (("announced", is_ann), ("sudden", ~is_ann)):
        keep = (test.y == 0) | cls
        q = quality(
            test.y[keep], score[keep], test.lead_min[keep], test.fault_id[keep], threshold=threshold
        )
        out[f"pr_auc_{name}"] = round(q.pr_auc, 4)
        out[f"recall_at_p80_{name}"] = round(q.recall_at_p80, 4)
        out[f"median_lead_min_{name}"] = round(q.median_lead_min, 2)
        out[f"incidents_warned_{name}"] = q.faults_warned
        out[f"incidents_{name}"] = q.faults_total
        out[f"positive_share_{name}"] = round(float(np.mean(test.y[keep])), 5)
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
    test = make(seed + 1000, quick, horizon)
    ev = train_evaluate(make(seed, quick, horizon), test=test, seed=seed, config=_config(source))
    best = max(ev.baseline_kpi.pr_auc, ev.baseline_lr.pr_auc)
    score = ev.model.predict(ev.model.matrix(test.frame))
    return {
        "warnings": _warnings_block(ev, test, score, None),
        **ev.test.to_json(),
        "baseline_kpi_pr_auc": round(ev.baseline_kpi.pr_auc, 4),
        "baseline_lr_pr_auc": round(ev.baseline_lr.pr_auc, 4),
        "pr_auc_ratio": round(ev.test.pr_auc / best, 3) if best > 0 else None,
    }


def _add_hazard(result: dict, quick: bool, seed: int, horizons: list[float], config) -> None:  # type: ignore[no-untyped-def]
    """``warnings.new_model`` at every horizon: the announced-mode hazard (bench.predict_hazard),
    monotone over the horizons, on the same test rows as the current model."""
    from bench.predict_hazard import (
        TRAIN_RUNS,
        VALID_RUNS,
        announced,
        fit_hazard,
        monotone_on,
        physics_hazard,
        physics_score,
        score,
        ttf_figures,
    )
    from twinrca.predict.pipeline import pool_runs

    names = _announced_modes()
    from twinrca.predict.evaluate import threshold_for_precision

    tests, probs, thr, phys, pooled = {}, {}, {}, {}, {}
    train_seeds = [seed + k for k in range(TRAIN_RUNS)]
    valid_seeds = [seed + 500 + k for k in range(VALID_RUNS)]
    for h in sorted(set(horizons)):
        train = pool_runs([_twin(s, quick, h) for s in train_seeds])
        vals = [_twin(s, quick, h) for s in valid_seeds]
        val, runs = pool_runs(vals), np.repeat(np.arange(len(vals)), [len(v.y) for v in vals])
        test = _twin(seed + 1000, quick, h)
        model, cal, thr[h] = fit_hazard(
            train, val, names=names, seed=seed, config=config, runs=runs
        )
        tests[h], probs[h] = test, score(model, cal, test.frame)
        pooled[h] = threshold_for_precision(val.y, score(model, cal, val.frame), 0.8)
        pcal, pthr = physics_hazard(val, names)
        phys[h] = (pcal(physics_score(test.frame)), pthr)
    mono, mat, hs, pos = monotone_on({h: t.frame for h, t in tests.items()}, probs)
    for h in hs:
        t = tests[h]
        ann = announced(t.mode, names) & (t.y == 1)
        fig = _warning_figures(mono[h], t, thr[h], probability=True, target=ann.astype(int))
        fig.update(ttf_figures(mat, hs, pos[h], t, mono[h] >= thr[h], ann))
        fig["trained_on"] = f"twin seeds {train_seeds} pooled"
        fig["threshold_from"] = (
            f"validation seeds {valid_seeds} pooled, isotonic: precision 0.8 on each run"
        )
        at = _warning_figures(mono[h], t, pooled[h], probability=False)
        fig["at_pooled_threshold"] = {
            k: at[k]
            for k in (
                "threshold",
                "recall_announced_at_threshold",
                "precision_at_threshold",
                "median_lead_min",
                "false_warnings_per_1000_element_days",
            )
        }
        block = result if h == result["horizon_min"] else result["other_horizons"][f"{h:g}"]
        block["warnings"]["new_model"] = fig
        p, pthr = phys[h]
        block["warnings"]["physics_only"] = _warning_figures(
            p, t, pthr, probability=True, target=ann.astype(int)
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--source", choices=("synthetic", "twin"), default="twin")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--horizon", type=float, default=60.0)
    ap.add_argument(
        "--also", type=float, nargs="*", default=[15.0, 240.0, 1440.0], help="more horizons (min)"
    )
    args = ap.parse_args()
    result = run(args.source, args.quick, args.seed, args.horizon)
    result["other_horizons"] = {
        f"{h:g}": _other_horizon(args.source, args.quick, args.seed, h)
        for h in args.also
        if h != args.horizon
    }
    if args.source == "twin":
        _add_hazard(result, args.quick, args.seed, [args.horizon, *args.also], _config("twin"))
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
