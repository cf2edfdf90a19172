"""PR-AUC and label-leakage checks on the public LTE cell KPI set.

    python -m bench.predict_lte --json [--quick] [--path PATH]

(default path: ``../shared/datasets/prediction/lte_cell_kpi/cell_kpi_15min.csv``)

The file has 15-minute KPI rows of 33 cells with a 0/1 ``Unusual`` label, but its
``Time`` column holds the time of day only (no date) and the rows are shuffled: a true
time-ordered split is impossible. We report:

- ``time_split_*``: train on the rows before 18:00, test on 18:00-23:45 (the only
  time-based split the file allows);
- ``cell_split_pr_auc``: cells held out (grouped 5-fold);
- ``random_cv_pr_auc`` / ``random_cv_accuracy``: shuffled stratified 5-fold on the current
  row (what "99 % accuracy" claims measure);
- leakage checks: the current-row model itself (labels are one row's values: every
  model here is a current-row model), conflicting labels among identical feature
  rows, 1-nearest-neighbour label agreement, the cross-validated accuracy of a single
  decision tree on the current KPIs (depth 4 and unlimited: near 1 means the label is a
  deterministic function of the current values), and the change when the time of day
  is shuffled;
- baselines in the same run: the best single current KPI (chosen on training rows)
  and a logistic regression.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT = (
    Path(__file__).resolve().parents[1]
    / "../shared/datasets/prediction/lte_cell_kpi/cell_kpi_15min.csv"
)


def _load(path: Path) -> tuple[pd.DataFrame, list[str]]:
    d = pd.read_csv(path)
    hm = d["Time"].str.split(":", expand=True).astype(int)
    d["tod_min"] = hm[0] * 60 + hm[1]
    d["cell_code"] = d["CellName"].astype("category").cat.codes
    kpis = [
        c for c in d.columns if c not in ("Time", "CellName", "Unusual", "tod_min", "cell_code")
    ]
    return d, kpis


def _gbm(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, seed: int, quick: bool) -> np.ndarray:
    from twinrca.predict.gbm import GbmConfig, train_booster

    rng = np.random.default_rng(seed)
    va = rng.random(len(ytr)) < 0.15
    cfg = GbmConfig(max_rounds=300 if quick else 2000, feature_fraction=0.8)
    b = train_booster(xtr[~va], ytr[~va], xtr[va], ytr[va], n_classes=2, seed=seed, config=cfg)
    return np.asarray(b.predict(xte, num_iteration=b.best_iteration))


def _cv(x: np.ndarray, y: np.ndarray, folds, seed: int, quick: bool) -> np.ndarray:  # type: ignore[no-untyped-def]
    oof = np.zeros(len(y))
    for tr, te in folds:
        oof[te] = _gbm(x[tr], y[tr], x[te], seed, quick)
    return oof


def _baselines(
    d: pd.DataFrame, kpis: list[str], tr: np.ndarray, te: np.ndarray
) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    from twinrca.predict.evaluate import pr_auc

    y = d["Unusual"].to_numpy()
    best = max(
        ((k, s) for k in kpis for s in (1.0, -1.0)),
        key=lambda ks: pr_auc(y[tr], ks[1] * d[ks[0]].fillna(0).to_numpy()[tr]),
    )
    x = d[kpis].fillna(0).to_numpy(float)
    mu, sd = x[tr].mean(axis=0), x[tr].std(axis=0) + 1e-9
    lr = LogisticRegression(max_iter=2000).fit((x[tr] - mu) / sd, y[tr])
    return {
        "baseline_kpi": best[0],
        "baseline_kpi_pr_auc": pr_auc(y[te], best[1] * d[best[0]].fillna(0).to_numpy()[te]),
        "baseline_lr_pr_auc": pr_auc(y[te], lr.predict_proba((x[te] - mu) / sd)[:, 1]),
    }


def _nn_agreement(x: np.ndarray, y: np.ndarray, n: int, seed: int) -> float:
    from sklearn.neighbors import NearestNeighbors

    z = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9)
    idx = np.random.default_rng(seed).choice(len(y), size=min(n, len(y)), replace=False)
    nn = NearestNeighbors(n_neighbors=2).fit(z)
    _, nb = nn.kneighbors(z[idx])
    return float(np.mean(y[nb[:, 1]] == y[idx]))


def run(path: Path, quick: bool, seed: int) -> dict[str, object]:
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    from twinrca.predict.evaluate import pr_auc, recall_at_precision

    d, kpis = _load(path)
    y = d["Unusual"].to_numpy()
    cols = [*kpis, "tod_min", "cell_code"]
    x = d[cols].to_numpy(float)
    out: dict[str, object] = {"rows": len(d), "positive_share": round(float(y.mean()), 4)}

    tr = (d["tod_min"] < 18 * 60).to_numpy()
    p = _gbm(x[tr], y[tr], x[~tr], seed, quick)
    out["time_split_pr_auc"] = pr_auc(y[~tr], p)
    out["time_split_recall_at_p80"] = recall_at_precision(y[~tr], p, 0.8)
    out.update({f"time_split_{k}": v for k, v in _baselines(d, kpis, tr, ~tr).items()})

    k = 3 if quick else 5
    groups = GroupKFold(n_splits=k).split(x, y, d["cell_code"])
    out["cell_split_pr_auc"] = pr_auc(y, _cv(x, y, groups, seed, quick))
    strat = list(StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y))
    oof = _cv(x, y, strat, seed, quick)
    out["random_cv_pr_auc"] = pr_auc(y, oof)
    out["random_cv_accuracy"] = float(np.mean((oof > 0.5) == y))
    shuffled = x.copy()
    shuffled[:, cols.index("tod_min")] = np.random.default_rng(seed).permutation(
        shuffled[:, cols.index("tod_min")]
    )
    out["random_cv_pr_auc_time_shuffled"] = pr_auc(y, _cv(shuffled, y, strat, seed, quick))
    no_ctx = x[:, : len(kpis)]
    out["random_cv_pr_auc_kpis_only"] = pr_auc(y, _cv(no_ctx, y, strat, seed, quick))

    groups_ = d.groupby(kpis, dropna=False)["Unusual"].nunique()
    out["identical_rows_with_conflicting_labels"] = int((groups_ > 1).sum())
    out["nn1_label_agreement"] = _nn_agreement(
        d[kpis].fillna(0).to_numpy(float), y, 3000 if quick else 10000, seed
    )
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier

    xk = d[kpis].fillna(-1).to_numpy(float)
    for depth in (4, None):
        tree = DecisionTreeClassifier(max_depth=depth, random_state=seed)
        acc = cross_val_score(tree, xk, y, cv=StratifiedKFold(k, shuffle=True, random_state=seed))
        out[f"tree_cv_accuracy_depth_{depth or 'unlimited'}"] = float(acc.mean())
    out["nn1_agreement_if_random"] = float(y.mean() ** 2 + (1 - y.mean()) ** 2)
    best_base = max(out["time_split_baseline_kpi_pr_auc"], out["time_split_baseline_lr_pr_auc"])  # type: ignore[type-var]
    out["time_split_pr_auc_ratio"] = float(out["time_split_pr_auc"]) / float(best_base)  # type: ignore[arg-type]
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description="PR-AUC and leakage checks on the LTE cell KPI set")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--path", type=Path, default=DEFAULT)
    args = ap.parse_args()
    if not args.path.exists():
        print(f"[bench.predict_lte] dataset not found at {args.path}; skipping", file=sys.stderr)
        print(json.dumps({"skipped": True, "reason": f"missing {args.path}"}))
        return
    result = run(args.path, args.quick, args.seed)
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
