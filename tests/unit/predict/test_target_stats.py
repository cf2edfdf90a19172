"""In-fold target statistics: no label leaks into its own features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twinrca.predict.target_stats import KeySource, TargetStats


def _labels(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "unique": [f"u{i}" for i in range(n)],  # one category per id: pure leakage bait
            "group": [f"g{v}" for v in y],  # the class itself
        }
    )
    return frame, y


def test_a_key_unique_per_id_gets_only_the_prior_out_of_fold() -> None:
    frame, y = _labels(300, 1)
    ts = TargetStats(3, seed=0)
    src = [KeySource("lab:unique", frame[["id", "unique"]], "unique")]
    x = ts.fit_transform(src, "id", frame["id"].to_numpy(), y)
    prior = np.bincount(y, minlength=3) / len(y)
    # every id's category is unseen in the other folds: its value is a prior of those folds
    assert np.allclose(x[:, :2], x[:, :2].mean(axis=0), atol=0.02)
    assert np.allclose(x[:, :2].mean(axis=0), prior[1:], atol=0.02)
    assert ts.feature_names(src) == [
        "ts:lab:unique:mean:p1",
        "ts:lab:unique:mean:p2",
        "ts:lab:unique:max:p1",
        "ts:lab:unique:max:p2",
    ]


def test_an_informative_key_separates_classes_and_unseen_ids_get_the_prior() -> None:
    frame, y = _labels(300, 2)
    ts = TargetStats(3, seed=0)
    src = [KeySource("lab:group", frame[["id", "group"]], "group")]
    x = ts.fit_transform(src, "id", frame["id"].to_numpy(), y)
    assert x[y == 1, 0].mean() > 0.8 and x[y != 1, 0].mean() < 0.1
    new = pd.DataFrame({"id": [1000, 1001], "group": ["g2", "never-seen"]})
    held = ts.transform([KeySource("lab:group", new, "group")], "id", [1000, 1001, 1002])
    prior = np.bincount(y, minlength=3) / len(y)
    assert held[0, 1] > 0.8  # g2 -> class 2
    assert np.allclose(held[1, :2], prior[1:]) and np.allclose(held[2, :2], prior[1:])
    again = TargetStats.from_doc(ts.to_doc())
    assert np.allclose(
        again.transform([KeySource("lab:group", new, "group")], "id", [1000]), held[:1]
    )


def test_long_table_rows_aggregate_mean_and_max() -> None:
    frame, y = _labels(200, 3)
    rows = pd.DataFrame({"id": [0, 0, 1], "ev": ["a", "b", "a"]})
    ts = TargetStats(3, inner_folds=2, seed=0)
    ts.fit_transform([KeySource("t:ev", rows, "ev")], "id", frame["id"].to_numpy(), y)
    got = ts.transform([KeySource("t:ev", rows, "ev")], "id", [0, 1])
    a = ts.tables["t:ev"].freq["a"]
    b = ts.tables["t:ev"].freq["b"]
    assert np.allclose(got[0, :2], [(a[1] + b[1]) / 2, (a[2] + b[2]) / 2])
    assert np.allclose(got[0, 2:], [max(a[1], b[1]), max(a[2], b[2])])
    assert np.allclose(got[1, :2], a[1:])
