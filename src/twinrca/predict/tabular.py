"""Cross-validation, fitting and scoring on a user's incident tables.

``labels`` has one row per id (target + optional extra columns); ``tables`` maps a name
to a long table keyed by the same id. The features come from
:class:`~twinrca.predict.tables.TableFeaturizer`; the model is LightGBM with early
stopping on an inner stratified split, then refitted on the whole training part.
Target statistics of the categorical columns
(:class:`~twinrca.predict.target_stats.TargetStats`) are learnt inside each fold, from
that fold's training ids only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twinrca.core.errors import ModelError, SchemaMismatch, ValidationError
from twinrca.predict.gbm import (
    GbmConfig,
    multiclass_logloss,
    refit_booster,
    train_booster,
)
from twinrca.predict.tables import TableFeaturizer
from twinrca.predict.target_stats import KeySource, TargetStats, key_sources

__all__ = ["CvResult", "TableModel", "cross_validate", "fit_table_model"]

log = logging.getLogger(__name__)

_INNER_VALID = 0.15
_REFIT_FACTOR = 1.1


@dataclass(frozen=True, slots=True)
class CvResult:
    """Out-of-fold figures; ``prior_logloss`` is what class frequencies alone give."""

    logloss: float
    accuracy: float
    n: int
    classes: list[Any]
    prior_logloss: float
    folds: int
    rounds: list[int] = field(default_factory=list)
    n_features: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "logloss": round(self.logloss, 6),
            "accuracy": round(self.accuracy, 6),
            "n": self.n,
            "classes": self.classes,
            "prior_logloss": round(self.prior_logloss, 6),
            "folds": self.folds,
            "rounds": self.rounds,
            "n_features": self.n_features,
        }


def _label_columns(labels: pd.DataFrame, id_col: str, target_col: str) -> None:
    """Refuse a label table without the id or the target column (before any work)."""
    for what, col in (("id", id_col), ("target", target_col)):
        if col not in labels.columns:
            raise ValidationError(
                f"missing_{what}",
                f"label table has no column {col!r}",
                hint=f"name one of its columns: {', '.join(map(str, labels.columns))[:200]}",
            )


def _encode_target(values: pd.Series) -> tuple[np.ndarray, list[Any]]:
    if values.isna().any():
        empty = np.flatnonzero(values.isna().to_numpy())
        raise ValidationError(
            "missing_target",
            f"the target column {values.name!r} has {len(empty)} empty values of {len(values)} "
            f"(first in data row {int(empty[0]) + 1})",
            hint="fill or drop the unlabelled rows",
        )
    classes = sorted(values.unique().tolist(), key=lambda v: (str(type(v)), v))
    if len(classes) < 2:
        raise ValidationError("one_class", "the target has a single class; nothing to predict")
    lookup = {c: i for i, c in enumerate(classes)}
    return values.map(lookup).to_numpy(int), [_plain(c) for c in classes]


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _proba(booster: Any, x: np.ndarray, n_classes: int) -> np.ndarray:
    p = np.asarray(booster.predict(x), dtype=float)
    return np.column_stack([1.0 - p, p]) if n_classes == 2 else p


def _sources(
    feat: TableFeaturizer, labels: pd.DataFrame, tables: Mapping[str, pd.DataFrame]
) -> list[KeySource]:
    return key_sources(
        feat.id_col,
        labels,
        list(feat.label_cats),
        tables,
        {name: list(cols) for name, cols in feat.vocab.items()},
    )


def _fit_one(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_classes: int,
    seed: int,
    config: GbmConfig,
    names: list[str],
    cats: list[str],
) -> tuple[Any, int]:
    from sklearn.model_selection import StratifiedShuffleSplit

    split = StratifiedShuffleSplit(n_splits=1, test_size=_INNER_VALID, random_state=seed)
    try:
        tr, va = next(split.split(x, y))
    except ValueError as exc:  # too few rows of a class for the early-stopping split
        counts = np.bincount(y, minlength=n_classes).tolist()
        raise ValidationError(
            "too_few_rows",
            f"too few labelled rows per class to fit a model ({counts} rows by class): {exc}",
            hint="label more rows of the rare classes (or use fewer --folds)",
        ) from exc
    booster = train_booster(
        x[tr],
        y[tr],
        x[va],
        y[va],
        n_classes=n_classes,
        seed=seed,
        config=config,
        feature_names=names,
        categorical=cats,
    )
    rounds = max(round(booster.best_iteration * _REFIT_FACTOR), 1)
    refit = refit_booster(
        x,
        y,
        rounds=rounds,
        n_classes=n_classes,
        seed=seed,
        config=config,
        feature_names=names,
        categorical=cats,
    )
    return refit, rounds


def cross_validate(
    labels: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    *,
    id_col: str,
    target_col: str,
    folds: int = 5,
    seed: int = 0,
    config: GbmConfig | None = None,
    progress: Callable[[int], None] | None = None,
    target_stats: bool = True,
) -> CvResult:
    """Stratified K-fold, out-of-fold log loss and accuracy (``target_stats=False``:
    the target-free features alone)."""
    config = config or GbmConfig()
    from sklearn.model_selection import StratifiedKFold

    _label_columns(labels, id_col, target_col)
    y, classes = _encode_target(labels[target_col])
    k = len(classes)
    if folds < 2 or np.bincount(y).min() < folds:
        raise ValidationError(
            "too_few_rows", f"need >= {folds} rows of every class for {folds} folds"
        )
    feat = TableFeaturizer(id_col, target_col).fit(labels, tables)
    x = feat.transform(labels, tables).to_numpy(float)
    sources = _sources(feat, labels, tables) if target_stats else []
    ids = labels[id_col].to_numpy()
    oof = np.zeros((len(y), k))
    rounds: list[int] = []
    n_features = x.shape[1]
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for i, (tr, te) in enumerate(skf.split(x, y)):
        ts = TargetStats(k, seed=seed + i)
        x_tr = np.hstack([x[tr], ts.fit_transform(sources, id_col, ids[tr], y[tr])])
        x_te = np.hstack([x[te], ts.transform(sources, id_col, ids[te])])
        n_features = x_tr.shape[1]
        booster, r = _fit_one(
            x_tr,
            y[tr],
            n_classes=k,
            seed=seed + i,
            config=config,
            names=feat.feature_names + ts.feature_names(sources),
            cats=feat.categorical_features,
        )
        oof[te] = _proba(booster, x_te, k)
        rounds.append(r)
        if progress is not None:
            progress(i + 1)
    prior = np.bincount(y, minlength=k) / len(y)
    return CvResult(
        logloss=multiclass_logloss(y, oof),
        accuracy=float(np.mean(oof.argmax(axis=1) == y)),
        n=len(y),
        classes=classes,
        prior_logloss=multiclass_logloss(y, np.tile(prior, (len(y), 1))),
        folds=folds,
        rounds=rounds,
        n_features=n_features,
    )


@dataclass
class TableModel:
    """A fitted featurizer + booster; ``predict_proba`` takes tables of the fitted shapes."""

    featurizer: TableFeaturizer
    booster: Any
    classes: list[Any]
    rounds: int
    metrics: dict[str, Any] = field(default_factory=dict)
    target_stats: TargetStats | None = None

    def predict_proba(
        self, labels: pd.DataFrame, tables: Mapping[str, pd.DataFrame]
    ) -> pd.DataFrame:
        problems = self.featurizer.check_schema(labels, tables)
        if problems:
            raise SchemaMismatch("tables do not match the model's schema: " + "; ".join(problems))
        x = self.featurizer.transform(labels, tables).to_numpy(float)
        if self.target_stats is not None:
            sources = _sources(self.featurizer, labels, tables)
            ids = labels[self.featurizer.id_col].to_numpy()
            x = np.hstack([x, self.target_stats.transform(sources, self.featurizer.id_col, ids)])
        p = _proba(self.booster, x, len(self.classes))
        out = pd.DataFrame(p, columns=[f"p_{c}" for c in self.classes])
        out.insert(0, self.featurizer.id_col, labels[self.featurizer.id_col].to_numpy())
        return out

    def to_artifact(self) -> tuple[dict[str, Any], bytes]:
        meta = {
            "kind": "table_model",
            "featurizer": self.featurizer.to_doc(),
            "classes": self.classes,
            "rounds": self.rounds,
            "metrics": self.metrics,
            "target_stats": None if self.target_stats is None else self.target_stats.to_doc(),
        }
        return meta, self.booster.model_to_string().encode()

    @classmethod
    def from_artifact(cls, meta: Mapping[str, Any], model: bytes) -> TableModel:
        import lightgbm as lgb

        if meta.get("kind") != "table_model":
            raise ModelError("artefact is not a table model", kind=meta.get("kind"))
        try:
            booster = lgb.Booster(model_str=model.decode())
        except lgb.basic.LightGBMError as exc:
            raise ModelError(f"cannot load the booster: {exc}") from exc
        return cls(
            TableFeaturizer.from_doc(meta["featurizer"]),
            booster,
            list(meta["classes"]),
            int(meta["rounds"]),
            dict(meta.get("metrics", {})),
            TargetStats.from_doc(meta["target_stats"]) if meta.get("target_stats") else None,
        )

    def save(self, path: str) -> None:
        meta, model = self.to_artifact()
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"meta": meta, "booster": model.decode()}, fh)

    @classmethod
    def load(cls, path: str) -> TableModel:
        try:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read model file {path}: {exc}") from exc
        return cls.from_artifact(doc["meta"], doc["booster"].encode())


def fit_table_model(
    labels: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    *,
    id_col: str,
    target_col: str,
    seed: int = 0,
    config: GbmConfig | None = None,
) -> TableModel:
    """Fit featurizer and booster on all labelled ids."""
    config = config or GbmConfig()
    _label_columns(labels, id_col, target_col)
    y, classes = _encode_target(labels[target_col])
    feat = TableFeaturizer(id_col, target_col).fit(labels, tables)
    x = feat.transform(labels, tables).to_numpy(float)
    sources = _sources(feat, labels, tables)
    ts = TargetStats(len(classes), seed=seed)
    x = np.hstack([x, ts.fit_transform(sources, id_col, labels[id_col].to_numpy(), y)])
    booster, rounds = _fit_one(
        x,
        y,
        n_classes=len(classes),
        seed=seed,
        config=config,
        names=feat.feature_names + ts.feature_names(sources),
        cats=feat.categorical_features,
    )
    return TableModel(feat, booster, classes, rounds, {"n": len(y)}, ts)
