"""From element time series and a fault list to a trained, evaluated risk model.

:func:`prepare` builds features and labels (valid rows only, time-ordered);
:func:`train_evaluate` splits by time (train / held-out / test, purged by the label
reach), fits the model, and scores it and two baselines on the test slice: the current
value of the single most telling KPI (chosen on the training rows) and a logistic
regression on the current KPI values.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twinrca.core.topology import Topology
from twinrca.predict.evaluate import Quality, pr_auc, quality, threshold_for_precision
from twinrca.predict.features import FeatureSpec, build_features
from twinrca.predict.gbm import GbmConfig
from twinrca.predict.labels import make_labels, time_split
from twinrca.predict.registry import frame_schema
from twinrca.predict.risk import RISK_CONFIG, RiskModel, fit_risk_model, model_matrix

__all__ = [
    "Dataset",
    "Evaluation",
    "label_features",
    "pool_runs",
    "prepare",
    "train_evaluate",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Dataset:
    """Valid, time-ordered rows: ``frame`` (time, element + features) and aligned labels."""

    frame: pd.DataFrame
    names: list[str]
    y: np.ndarray
    lead_min: np.ndarray
    fault_id: np.ndarray
    mode: np.ndarray
    horizon_min: float
    gap_min: float
    period_min: int
    schema: dict[str, str]

    @property
    def dtype(self) -> type[np.floating]:
        """float32 when every feature column is (pooled runs, :func:`pool_runs`), else
        float64: the matrices of these rows keep the values and need no wider copy."""
        narrow = all(self.frame[c].dtype == np.float32 for c in self.names)
        return np.float32 if narrow and self.names else np.float64

    @property
    def x(self) -> np.ndarray:
        return np.ascontiguousarray(self.frame[self.names].to_numpy(self.dtype))


def prepare(
    kpis: pd.DataFrame,
    faults: pd.DataFrame,
    *,
    spec: FeatureSpec,
    horizon_min: float,
    gap_min: float | None = None,
    alarms: pd.DataFrame | None = None,
    logs: pd.DataFrame | None = None,
    topology: Topology | None = None,
    elements: Sequence[str] | None = None,
) -> Dataset:
    """Features + labels; ``elements`` restricts the rows (e.g. to cells) after the
    topology aggregates are computed over every element."""
    feats = build_features(kpis, spec=spec, alarms=alarms, logs=logs, topology=topology)
    if elements is not None:
        feats = feats[feats["element"].isin(set(elements))].reset_index(drop=True)
    return label_features(
        feats,
        faults,
        horizon_min=horizon_min,
        gap_min=gap_min,
        period_min=spec.period_min,
        schema=frame_schema(kpis),
    )


def label_features(
    feats: pd.DataFrame,
    faults: pd.DataFrame,
    *,
    horizon_min: float,
    period_min: int,
    gap_min: float | None = None,
    schema: dict[str, str] | None = None,
) -> Dataset:
    """Labels for a feature frame (``build_features`` output): the valid rows, time-ordered
    (features do not depend on the horizon: one frame serves every horizon)."""
    gap = float(period_min if gap_min is None else gap_min)
    lab = make_labels(feats, faults, horizon_min=horizon_min, gap_min=gap)
    keep = lab.valid
    feats = feats[keep].reset_index(drop=True)
    order = np.argsort(pd.to_datetime(feats["time"], utc=True).to_numpy(), kind="stable")
    names = [c for c in feats.columns if c not in ("time", "element")]
    return Dataset(
        frame=feats.iloc[order].reset_index(drop=True),
        names=names,
        y=lab.y[keep][order].astype(int),
        lead_min=lab.lead_min[keep][order],
        fault_id=lab.fault_id[keep][order],
        mode=lab.mode[keep][order],
        horizon_min=horizon_min,
        gap_min=gap,
        period_min=period_min,
        schema=dict(schema or {}),
    )


def pool_runs(runs: Sequence[Dataset]) -> Dataset:
    """The rows of several runs (twin seeds) as one dataset, run after run: the first
    run's feature columns (absent event columns filled as :func:`model_matrix` does),
    fault ids made distinct per run. The runs must share horizon, gap and period. Not
    time-ordered across runs: split each run by time before pooling."""
    if not runs:
        raise ValueError("no run to pool")
    first = runs[0]
    for r in runs[1:]:
        if (r.horizon_min, r.gap_min, r.period_min) != (
            first.horizon_min,
            first.gap_min,
            first.period_min,
        ):
            raise ValueError("runs of different horizons, gaps or periods")
    frames, fids, offset = [], [], 0
    for r in runs:
        block = pd.DataFrame(
            model_matrix(r.frame, first.names, dtype=np.float32), columns=first.names
        )
        keys = r.frame[["time", "element"]].reset_index(drop=True)
        frames.append(pd.concat([keys, block], axis=1))
        fids.append(np.where(r.fault_id >= 0, r.fault_id + offset, -1))
        offset += int(r.fault_id.max()) + 1 if len(r.fault_id) else 0
    return Dataset(
        frame=pd.concat(frames, ignore_index=True),
        names=list(first.names),
        y=np.concatenate([r.y for r in runs]),
        lead_min=np.concatenate([r.lead_min for r in runs]),
        fault_id=np.concatenate(fids),
        mode=np.concatenate([r.mode for r in runs]),
        horizon_min=first.horizon_min,
        gap_min=first.gap_min,
        period_min=first.period_min,
        schema=dict(first.schema),
    )


@dataclass(frozen=True, slots=True)
class Evaluation:
    model: RiskModel
    test: Quality
    baseline_kpi: Quality
    baseline_kpi_name: str
    baseline_lr: Quality
    train_rows: int
    test_rows: int
    train_seconds: float
    baseline_kpi_sign: float = 1.0  # the KPI baseline scores sign * current value


def _best_current_kpi(ds: Dataset, rows: np.ndarray) -> tuple[int, float]:
    best = (0, 1.0, -1.0)
    for j, n in enumerate(ds.names):
        if not n.endswith("__last"):
            continue
        v = np.nan_to_num(ds.frame[n].to_numpy(float)[rows])
        for sign in (1.0, -1.0):
            ap = pr_auc(ds.y[rows], sign * v)
            if ap > best[2]:
                best = (j, sign, ap)
    return best[0], best[1]


def train_evaluate(
    ds: Dataset,
    *,
    fractions: tuple[float, float, float] = (0.6, 0.15, 0.25),
    seed: int = 0,
    config: GbmConfig = RISK_CONFIG,
    test: Dataset | None = None,
    precision: float = 0.8,
) -> Evaluation:
    """Time split of ``ds`` (or all of ``ds`` for training and ``test`` as the test set:
    unseen scenario seeds). Thresholds for lead times come from the held-out slice: the
    model's warns at the lowest calibrated risk that reaches ``precision`` there."""
    import time

    from sklearn.linear_model import LogisticRegression

    reach = ds.horizon_min + ds.gap_min
    if test is None:
        tr, ho, te = time_split(ds.frame["time"], fractions, embargo_min=reach)
        test_ds = ds
    else:
        tr, ho = time_split(ds.frame["time"], (0.75, 0.25), embargo_min=reach)
        test_ds, te = test, np.ones(len(test.y), dtype=bool)
    x = ds.x
    xt = x if test is None else model_matrix(test_ds.frame, ds.names)  # train's columns
    t0 = time.perf_counter()
    model = fit_risk_model(
        x,
        ds.y,
        feature_names=ds.names,
        train=tr,
        holdout=ho,
        horizon_min=ds.horizon_min,
        gap_min=ds.gap_min,
        period_min=ds.period_min,
        modes=ds.mode,
        schema=ds.schema,
        seed=seed,
        config=config,
        precision=precision,
    )
    secs = time.perf_counter() - t0
    yt, lead, fid = test_ds.y[te], test_ds.lead_min[te], test_ds.fault_id[te]
    q = quality(yt, model.predict(xt[te]), lead, fid, threshold=model.threshold)
    j, sign = _best_current_kpi(ds, tr)
    hold_score = sign * np.nan_to_num(x[ho, j])
    q_kpi = quality(
        yt,
        sign * np.nan_to_num(xt[te, j]),
        lead,
        fid,
        threshold=threshold_for_precision(ds.y[ho], hold_score),
    )
    cur = [
        i for i, n in enumerate(ds.names) if n.endswith("__last") and np.isfinite(x[tr, i]).any()
    ]
    mu, sd = np.nanmean(x[tr][:, cur], axis=0), np.nanstd(x[tr][:, cur], axis=0) + 1e-9
    z = lambda a: np.nan_to_num((a[:, cur] - mu) / sd)  # noqa: E731
    lr = LogisticRegression(max_iter=1000, class_weight="balanced").fit(z(x[tr]), ds.y[tr])
    q_lr = quality(
        yt,
        lr.predict_proba(z(xt[te]))[:, 1],
        lead,
        fid,
        threshold=threshold_for_precision(ds.y[ho], lr.predict_proba(z(x[ho]))[:, 1]),
    )
    model.metrics.update({"pr_auc": q.pr_auc, "recall_at_p80": q.recall_at_p80})
    return Evaluation(model, q, q_kpi, ds.names[j], q_lr, int(tr.sum()), int(te.sum()), secs, sign)
