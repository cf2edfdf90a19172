"""The fault-risk model: LightGBM + Platt calibration + a warning threshold + explanations.

Training uses time slices only: the rows before the held-out slice train the booster,
the held-out slice's part holding its first half of the positive rows stops the
boosting, the rest fits the calibration and picks the warning threshold (precision 0.8
by default). Scoring goes through the compiled :class:`~twinrca.predict.fasttree.FastForest`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twinrca.core.errors import ModelError
from twinrca.predict.describe import describe_feature
from twinrca.predict.evaluate import threshold_for_precision
from twinrca.predict.fasttree import FastForest
from twinrca.predict.gbm import GbmConfig, PlattCalibrator, train_booster
from twinrca.predict.registry import ModelCard, ModelRegistry

__all__ = [
    "RISK_CONFIG",
    "Contribution",
    "RiskModel",
    "fit_modes",
    "fit_risk_model",
    "model_matrix",
    "split_at_half_positives",
]

log = logging.getLogger(__name__)

_KIND = "fault_risk"

#: rare positives: square-root class weights, early stopping on average precision
RISK_CONFIG = GbmConfig(balance="sqrt", metric="average_precision")


@dataclass(frozen=True, slots=True)
class Contribution:
    """One feature's push on one prediction (in log-odds)."""

    feature: str
    text: str
    value: float
    contribution: float


@dataclass
class RiskModel:
    feature_names: list[str]
    booster: Any
    calibrator: PlattCalibrator
    threshold: float
    horizon_min: float
    gap_min: float
    period_min: int
    modes: list[str] = field(default_factory=list)
    mode_booster: Any = None
    metrics: dict[str, float] = field(default_factory=dict)
    schema: dict[str, str] = field(default_factory=dict)
    forest: FastForest = field(init=False)

    def __post_init__(self) -> None:
        self.forest = FastForest.from_booster(self.booster)

    # --- scoring -------------------------------------------------------------------
    def matrix(self, features: Any) -> np.ndarray:
        """The model's columns, in order, from a feature frame. Event features (alarm and
        log counts) of types absent from the frame mean none happened: 0 (age -1); absent
        element attributes are unknown (NaN). A missing KPI feature raises ModelError."""
        return model_matrix(features, self.feature_names)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probability that a fault starts within the horizon."""
        margin = self.forest.predict_raw(x)
        return self.calibrator(margin)

    def predict_one(self, row: np.ndarray) -> float:
        z = self.calibrator.a * self.forest.margin_one(row) + self.calibrator.b
        return float(1.0 / (1.0 + np.exp(-z)))

    def predict_mode(self, x: np.ndarray) -> list[str]:
        if self.mode_booster is None or len(x) == 0:
            return [self.modes[0] if self.modes else "fault"] * len(x)
        p = np.asarray(self.mode_booster.predict(x))
        idx = p.argmax(axis=1) if p.ndim == 2 else (p > 0.5).astype(int)
        return [self.modes[i] for i in idx]

    def explain(self, x: np.ndarray, top: int = 3) -> list[list[Contribution]]:
        """The ``top`` features pushing each row's risk up (LightGBM ``pred_contrib``)."""
        if len(x) == 0:
            return []
        contrib = np.asarray(self.booster.predict(x, pred_contrib=True))[:, :-1]
        out = []
        for row, c in zip(x, contrib, strict=True):
            order = np.argsort(-c)[:top]
            out.append(
                [
                    Contribution(
                        self.feature_names[j],
                        describe_feature(self.feature_names[j], self.period_min),
                        float(row[j]),
                        float(c[j]),
                    )
                    for j in order
                    if c[j] > 0
                ]
            )
        return out

    # --- persistence ---------------------------------------------------------------
    def to_bytes(self) -> bytes:
        doc = {
            "kind": _KIND,
            "feature_names": self.feature_names,
            "booster": self.booster.model_to_string(),
            "calibrator": [self.calibrator.a, self.calibrator.b],
            "threshold": self.threshold,
            "horizon_min": self.horizon_min,
            "gap_min": self.gap_min,
            "period_min": self.period_min,
            "modes": self.modes,
            "mode_booster": None
            if self.mode_booster is None
            else self.mode_booster.model_to_string(),
            "metrics": self.metrics,
            "schema": self.schema,
        }
        return json.dumps(doc).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> RiskModel:
        import lightgbm as lgb

        try:
            doc = json.loads(data)
            if doc.get("kind") != _KIND:
                raise ModelError("artefact is not a fault-risk model", kind=doc.get("kind"))
            booster = lgb.Booster(model_str=doc["booster"])
            mode_b = doc.get("mode_booster")
            return cls(
                feature_names=list(doc["feature_names"]),
                booster=booster,
                calibrator=PlattCalibrator(*doc["calibrator"]),
                threshold=float(doc["threshold"]),
                horizon_min=float(doc["horizon_min"]),
                gap_min=float(doc["gap_min"]),
                period_min=int(doc["period_min"]),
                modes=list(doc["modes"]),
                mode_booster=None if mode_b is None else lgb.Booster(model_str=mode_b),
                metrics=dict(doc["metrics"]),
                schema=dict(doc["schema"]),
            )
        except (ValueError, KeyError, lgb.basic.LightGBMError) as exc:
            raise ModelError(f"cannot load the fault-risk model: {exc}") from exc

    def register(
        self, registry: ModelRegistry, name: str, *, training_window: tuple[Any, Any]
    ) -> ModelCard:
        return registry.register(
            name,
            self.to_bytes(),
            kind=_KIND,
            feature_names=self.feature_names,
            schema=self.schema,
            training_window=training_window,
            metrics=self.metrics,
            params={
                "horizon_min": self.horizon_min,
                "gap_min": self.gap_min,
                "period_min": self.period_min,
            },
        )

    @classmethod
    def load(
        cls,
        registry: ModelRegistry,
        name: str,
        version: int | None = None,
        *,
        live_schema: Mapping[str, str] | None = None,
    ) -> tuple[ModelCard, RiskModel]:
        card, data = registry.load(name, version, live_schema=live_schema)
        return card, cls.from_bytes(data)


def _absent_value(name: str) -> float | None:
    base = name.split("__", 1)[1] if name.startswith(("nbr__", "sib__", "parent__")) else name
    if base.startswith("attr__"):
        return float("nan")  # an element attribute no element has here: unknown
    if not base.startswith(("alarm__", "log__")):
        return None
    return -1.0 if base.endswith("__age") else 0.0


def model_matrix(features: Any, names: Sequence[str], dtype: Any = np.float64) -> np.ndarray:
    """``features[names]`` as a C-contiguous float matrix (see :meth:`RiskModel.matrix`);
    ``dtype`` float32 for frames that hold float32 features (pooled runs: half the memory,
    the same values)."""
    missing = [c for c in names if c not in features.columns]
    fills = {c: _absent_value(c) for c in missing}
    bad = [c for c, v in fills.items() if v is None]
    if bad:
        raise ModelError("feature frame lacks model columns", missing=bad[:10])
    present = [c for c in names if c not in fills]
    out = np.empty((len(features), len(names)), dtype=dtype)
    pos = {c: i for i, c in enumerate(names)}
    out[:, [pos[c] for c in present]] = features[present].to_numpy(dtype)
    for c, v in fills.items():
        out[:, pos[c]] = v
    return out


def fit_risk_model(
    x: np.ndarray,
    y: np.ndarray,
    *,
    feature_names: Sequence[str],
    train: np.ndarray,
    holdout: np.ndarray,
    horizon_min: float,
    gap_min: float,
    period_min: int,
    modes: np.ndarray | None = None,
    schema: Mapping[str, str] | None = None,
    seed: int = 0,
    config: GbmConfig = RISK_CONFIG,
    precision: float = 0.8,
) -> RiskModel:
    """Fit on rows ``train``; ``holdout`` (later in time) is split in two by row order
    at half of its positive rows: early stopping, then calibration and threshold. Rows
    must be time-ordered."""
    hold = np.flatnonzero(holdout)
    if len(hold) < 4 or y[hold].sum() < 2 or y[train].sum() == 0:
        raise ModelError("need positive rows in both the training and the held-out slice")
    es, cal = split_at_half_positives(hold, y)
    booster = train_booster(
        x[train],
        y[train],
        x[es],
        y[es],
        n_classes=2,
        seed=seed,
        config=config,
        feature_names=feature_names,
    )
    booster = booster if booster.best_iteration <= 0 else _trim(booster)
    forest = FastForest.from_booster(booster)
    calib = PlattCalibrator.fit(forest.predict_raw(x[cal]), y[cal])
    p_cal = calib(forest.predict_raw(x[cal]))
    model = RiskModel(
        feature_names=list(feature_names),
        booster=booster,
        calibrator=calib,
        threshold=threshold_for_precision(y[cal], p_cal, precision),
        horizon_min=horizon_min,
        gap_min=gap_min,
        period_min=period_min,
        schema=dict(schema or {}),
    )
    if modes is not None:
        _fit_modes(model, x, y, modes, train, seed, config)
    return model


def split_at_half_positives(rows: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` (time-ordered indices) cut where half of their positives lie before: both
    parts hold positives even when the faults of a slice cluster at one end (halving the
    rows left the stopping part without any, and the booster at one tree)."""
    pos = np.flatnonzero(y[rows] == 1)
    cut = int(pos[(len(pos) - 1) // 2]) + 1 if len(pos) >= 2 else len(rows) // 2
    return rows[:cut], rows[cut:]


def _trim(booster: Any) -> Any:
    import lightgbm as lgb

    return lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))


def fit_modes(
    model: RiskModel,
    x: np.ndarray,
    y: np.ndarray,
    modes: np.ndarray,
    rows: np.ndarray,
    *,
    seed: int = 0,
    config: GbmConfig = RISK_CONFIG,
) -> None:
    """Give ``model`` its mode classifier (which mode a warning is of), learnt on the
    positive rows among ``rows`` (a boolean mask)."""
    _fit_modes(model, x, y, modes, rows, seed, config)


def _fit_modes(
    model: RiskModel,
    x: np.ndarray,
    y: np.ndarray,
    modes: np.ndarray,
    train: np.ndarray,
    seed: int,
    config: GbmConfig,
) -> None:
    import lightgbm as lgb

    pos = np.flatnonzero(train & (y == 1))
    names = sorted(set(modes[pos].tolist()))
    model.modes = names
    if len(names) < 2:
        return
    lookup = {m: i for i, m in enumerate(names)}
    target = np.array([lookup[m] for m in modes[pos]])
    plain = dataclasses.replace(config, metric=None)
    params = plain.params(len(names), seed)
    model.mode_booster = lgb.train(params, lgb.Dataset(x[pos], target), num_boost_round=100)
