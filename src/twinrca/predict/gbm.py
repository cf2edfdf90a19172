"""LightGBM training with early stopping, class-imbalance weights and calibration.

The one place that calls LightGBM's training API: its errors become
:class:`~twinrca.core.errors.ModelError` here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from twinrca.core.errors import ModelError

__all__ = [
    "Balance",
    "GbmConfig",
    "PlattCalibrator",
    "class_weights",
    "lgb_names",
    "multiclass_logloss",
    "refit_booster",
    "train_booster",
]

log = logging.getLogger(__name__)

Balance = Literal["none", "sqrt", "balanced"]


@dataclass(frozen=True, slots=True)
class GbmConfig:
    """Hyper-parameters; the defaults suit tables of a few thousand to a million rows."""

    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.5
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    max_rounds: int = 2000
    early_stopping: int = 50
    num_threads: int = 1
    balance: Balance = "none"
    metric: str | None = None  # early-stopping metric; default: the objective's log loss

    def params(self, n_classes: int, seed: int) -> dict[str, Any]:
        p: dict[str, Any] = {
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.lambda_l2,
            "num_threads": self.num_threads,
            "seed": seed,
            "deterministic": True,
            "verbose": -1,
        }
        if n_classes > 2:
            p.update(objective="multiclass", num_class=n_classes, metric="multi_logloss")
        else:
            p.update(objective="binary", metric="binary_logloss")
        if self.metric:
            p["metric"] = self.metric
        return p


def lgb_names(names: Sequence[str]) -> list[str]:
    """LightGBM-safe, unique feature names (it rejects JSON special characters)."""
    out: list[str] = []
    seen: set[str] = set()
    for i, n in enumerate(names):
        safe = re.sub(r"[^0-9A-Za-z_.=-]+", "_", n)
        if safe in seen:
            safe = f"{safe}__{i}"
        seen.add(safe)
        out.append(safe)
    return out


def _names_and_cats(
    feature_names: Sequence[str] | None, categorical: Sequence[str]
) -> tuple[Any, Any]:
    if feature_names is None:
        return "auto", "auto"
    safe = lgb_names(feature_names)
    lookup = dict(zip(feature_names, safe, strict=True))
    cats = [lookup[c] for c in categorical if c in lookup]
    return safe, cats or "auto"


def class_weights(y: np.ndarray, balance: Balance) -> np.ndarray | None:
    """Per-row weights that even out the classes (``sqrt``: half-way, in log terms)."""
    if balance == "none":
        return None
    classes, counts = np.unique(y, return_counts=True)
    w = counts.max() / counts
    if balance == "sqrt":
        w = np.sqrt(w)
    lookup = dict(zip(classes.tolist(), w.tolist(), strict=True))
    return np.array([lookup[v] for v in y.tolist()], dtype=float)


def train_booster(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    n_classes: int,
    seed: int,
    config: GbmConfig = GbmConfig(),
    feature_names: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
) -> Any:
    """Train with early stopping on (x_valid, y_valid); returns the booster."""
    import lightgbm as lgb

    names, cats = _names_and_cats(feature_names, categorical)
    try:
        dtrain = lgb.Dataset(
            x_train,
            y_train,
            weight=class_weights(y_train, config.balance),
            feature_name=names,
            categorical_feature=cats,
            free_raw_data=False,
        )
        dvalid = lgb.Dataset(
            x_valid, y_valid, weight=class_weights(y_valid, config.balance), reference=dtrain
        )
        booster = lgb.train(
            config.params(n_classes, seed),
            dtrain,
            num_boost_round=config.max_rounds,
            valid_sets=[dvalid],
            callbacks=[lgb.early_stopping(config.early_stopping, verbose=False)],
        )
    except lgb.basic.LightGBMError as exc:
        raise ModelError(f"LightGBM training failed: {exc}", rows=len(y_train)) from exc
    log.debug("booster: best iteration %s", booster.best_iteration)
    return booster


def refit_booster(
    x: np.ndarray,
    y: np.ndarray,
    *,
    rounds: int,
    n_classes: int,
    seed: int,
    config: GbmConfig = GbmConfig(),
    feature_names: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
) -> Any:
    """Train on all of (x, y) for a fixed number of rounds (found by early stopping)."""
    import lightgbm as lgb

    names, cats = _names_and_cats(feature_names, categorical)
    try:
        data = lgb.Dataset(
            x,
            y,
            weight=class_weights(y, config.balance),
            feature_name=names,
            categorical_feature=cats,
        )
        return lgb.train(config.params(n_classes, seed), data, num_boost_round=max(rounds, 1))
    except lgb.basic.LightGBMError as exc:
        raise ModelError(f"LightGBM training failed: {exc}", rows=len(y)) from exc


def multiclass_logloss(y: np.ndarray, proba: np.ndarray, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood; ``proba`` is (n, k) with classes 0..k-1 or (n,) for p(1)."""
    p = np.asarray(proba, dtype=float)
    if p.ndim == 1:
        p = np.column_stack([1.0 - p, p])
    p = np.clip(p, eps, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(y)), np.asarray(y, dtype=int)])))


@dataclass(frozen=True, slots=True)
class PlattCalibrator:
    """p = sigmoid(a * margin + b), fitted on a held-out slice."""

    a: float = 1.0
    b: float = 0.0

    @classmethod
    def fit(cls, margin: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        from sklearn.linear_model import LogisticRegression

        if len(np.unique(y)) < 2:
            log.warning("calibration slice has one class only; calibration left as identity")
            return cls()
        lr = LogisticRegression(C=1e6, max_iter=1000)
        lr.fit(np.asarray(margin, dtype=float).reshape(-1, 1), y)
        return cls(float(lr.coef_[0, 0]), float(lr.intercept_[0]))

    def __call__(self, margin: np.ndarray) -> np.ndarray:
        z = self.a * np.asarray(margin, dtype=float) + self.b
        return 1.0 / (1.0 + np.exp(-z))
