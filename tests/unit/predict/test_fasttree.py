"""The compiled tree evaluator gives LightGBM's predictions exactly."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from twinrca.predict.fasttree import FastForest, predict_raw_reference


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3000, 8))
    x[rng.random(x.shape) < 0.08] = np.nan  # missing values take the default direction
    x[:, 3] = rng.integers(0, 9, len(x))  # a categorical column
    x[rng.random(len(x)) < 0.25, 4] = 0.0  # exact zeros
    y = (np.nan_to_num(x[:, 0]) + (x[:, 3] % 3 == 0) - np.nan_to_num(x[:, 4]) > 0.4).astype(int)
    return x, y


@pytest.mark.parametrize(
    "params",
    [
        {"objective": "binary"},
        {"objective": "binary", "zero_as_missing": True},
        {"objective": "multiclass", "num_class": 3},
    ],
)
def test_fast_forest_equals_lightgbm(params: dict) -> None:
    x, y = _data()
    if params["objective"] == "multiclass":
        y = y + (np.nan_to_num(x[:, 1]) > 0.5)
    booster = lgb.train(
        {**params, "verbose": -1, "num_threads": 1, "num_leaves": 15},
        lgb.Dataset(x, y, categorical_feature=[3]),
        num_boost_round=40,
    )
    forest = FastForest.from_booster(booster)
    probe = np.vstack([x, np.full((1, x.shape[1]), np.nan)])
    np.testing.assert_allclose(forest.predict(probe), booster.predict(probe), rtol=0, atol=1e-12)
    raw = booster.predict(probe, raw_score=True)
    np.testing.assert_allclose(predict_raw_reference(forest, probe[:300]), raw[:300], atol=1e-12)
    big = np.resize(probe, (25_000, probe.shape[1]))  # the parallel block kernel
    np.testing.assert_allclose(
        forest.predict_raw(big), booster.predict(big, raw_score=True), atol=1e-12
    )
    if params["objective"] == "binary":
        for row in probe[:50]:
            assert forest.predict_one(row) == pytest.approx(
                booster.predict(row[None, :])[0], abs=1e-12
            )
