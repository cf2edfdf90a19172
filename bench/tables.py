"""``twinrca predict cv`` on generated fault-severity tables (Telstra-shaped), against the
naive answers measured in the same run.

    python -m bench.tables --json [--quick]

Per seed, on :func:`twinrca.predict.synthetic.incident_tables` (a label table ``id,
location, fault_severity`` and long tables ``event_type``, ``log_feature`` with a
``volume``, ``resource_type``, ``severity_type``), the same stratified 5 folds for every
model:

- ``prior_logloss``: the class frequencies;
- ``naive_logloss``: LightGBM (early stopping per fold) on naive pivots: counts of every
  category per id, the volume sums per log feature, the location's number;
- ``plain_logloss``: the product's target-free features (counts, shares, order within a
  location, group statistics), the model before in-fold target statistics;
- ``logloss``: the product's default (``twinrca predict cv``): those features plus
  target statistics of every categorical column learnt inside each fold.

Fields: ``logloss``, ``plain_logloss``, ``naive_logloss``, ``prior_logloss``,
``ratio_to_naive`` (mean over seeds), ``by_seed`` and ``seconds``. For scale: on the real
Telstra competition table a naive LightGBM scores about .52 and the 31st place .416.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np
import pandas as pd


def _naive_pivots(labels: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    ids = labels["id"]
    parts = [pd.DataFrame({"loc": labels["location"].str.extract(r"(\d+)$")[0].astype(float)})]
    for name, frame in tables.items():
        col = next(c for c in frame.columns if c not in ("id", "volume"))
        values = frame["volume"] if "volume" in frame.columns else None
        pivot = pd.crosstab(
            frame["id"], frame[col], values=values, aggfunc="sum" if values is not None else None
        )
        pivot.columns = [f"{name}={c}" for c in pivot.columns]
        parts.append(pivot.reindex(ids).fillna(0.0).reset_index(drop=True))
    return pd.concat(parts, axis=1)


def _naive_cv(labels: pd.DataFrame, tables: dict[str, pd.DataFrame], seed: int) -> float:
    from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

    from twinrca.predict.gbm import GbmConfig, multiclass_logloss, train_booster

    x = _naive_pivots(labels, tables).to_numpy(float)
    y = labels["fault_severity"].to_numpy(int)
    k = int(y.max()) + 1
    oof = np.zeros((len(y), k))
    skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    for i, (tr, te) in enumerate(skf.split(x, y)):
        inner = StratifiedShuffleSplit(n_splits=1, test_size=0.15, random_state=seed + i)
        a, b = next(inner.split(x[tr], y[tr]))
        booster = train_booster(
            x[tr][a], y[tr][a], x[tr][b], y[tr][b], n_classes=k, seed=seed + i, config=GbmConfig()
        )
        oof[te] = booster.predict(x[te], num_iteration=booster.best_iteration)
    return multiclass_logloss(y, oof)


def run(quick: bool) -> dict[str, Any]:
    from twinrca.predict.synthetic import incident_tables
    from twinrca.predict.tabular import cross_validate

    t0 = time.perf_counter()
    seeds = [0] if quick else [0, 1, 2]
    n_ids = 2500 if quick else 7000
    rows = []
    for seed in seeds:
        labels, tables = incident_tables(n_ids, seed=seed)
        kw = {"id_col": "id", "target_col": "fault_severity", "folds": 5, "seed": seed}
        full = cross_validate(labels, tables, **kw)
        plain = cross_validate(labels, tables, target_stats=False, **kw)
        naive = _naive_cv(labels, tables, seed)
        rows.append(
            {
                "seed": seed,
                "n": n_ids,
                "logloss": round(full.logloss, 4),
                "plain_logloss": round(plain.logloss, 4),
                "naive_logloss": round(naive, 4),
                "prior_logloss": round(full.prior_logloss, 4),
                "accuracy": round(full.accuracy, 4),
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr)

    def mean(key: str) -> float:
        return round(float(np.mean([r[key] for r in rows])), 4)

    return {
        "logloss": mean("logloss"),
        "plain_logloss": mean("plain_logloss"),
        "naive_logloss": mean("naive_logloss"),
        "prior_logloss": mean("prior_logloss"),
        "ratio_to_naive": round(mean("logloss") / mean("naive_logloss"), 4),
        "by_seed": rows,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    out = run(args.quick)
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
