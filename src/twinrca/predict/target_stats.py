"""Target statistics of categorical keys, computed inside each fold.

For every categorical column (of the label table or of a long table) the smoothed class
frequencies of each category, ``(n_ck + m * prior_k) / (n_c + m)``, are learnt on the
training ids only; an id's features are the mean and the max over its rows of those
frequencies (one row for a label-table column, any number for a long table). Training
ids get *out-of-fold* values (learnt on the other inner folds), so a model never sees a
statistic that includes its own label; held-out ids get the statistics of all training
ids. The smoothing ``m`` is the empirical-Bayes prior strength of the column (method of
moments on a Dirichlet: between-category variance of the class rates once their sampling
variance is taken out), so a column whose categories differ little is shrunk to the
prior and one whose categories differ a lot keeps them; nothing is set per data set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["KeySource", "TargetStats", "key_sources"]


@dataclass(frozen=True, slots=True)
class KeySource:
    """One categorical column: ``frame`` holds ``id_col`` and ``column`` (any rows per id)."""

    name: str
    frame: pd.DataFrame
    column: str


def key_sources(
    id_col: str,
    labels: pd.DataFrame,
    label_cats: Sequence[str],
    tables: Mapping[str, pd.DataFrame],
    table_cats: Mapping[str, Sequence[str]],
) -> list[KeySource]:
    """The categorical columns of the label table and of the long tables."""
    out = [KeySource(f"lab:{c}", labels[[id_col, c]], c) for c in label_cats if c in labels]
    for name, cols in table_cats.items():
        frame = tables.get(name)
        if frame is None:
            continue
        out += [KeySource(f"{name}:{c}", frame[[id_col, c]], c) for c in cols if c in frame]
    return out


def _codes(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("<NA>")


@dataclass
class _Table:
    """Per category the smoothed class frequencies (K columns); ``prior`` for unseen."""

    freq: dict[str, list[float]]
    prior: list[float]

    def lookup(self, categories: pd.Series) -> np.ndarray:
        table = pd.DataFrame.from_dict(self.freq, orient="index") if self.freq else None
        if table is None:
            return np.tile(self.prior, (len(categories), 1))
        got = np.array(table.reindex(categories.to_numpy()).to_numpy(float))
        missing = np.isnan(got).any(axis=1)
        got[missing] = self.prior
        return got


def _prior_strength(counts: np.ndarray, n: np.ndarray, prior: np.ndarray) -> float:
    """Method-of-moments Dirichlet strength: ``p(1-p) / tau^2 - 1`` per class, with
    ``tau^2`` the between-category variance of the class rate (observed variance minus
    the binomial sampling variance), combined over classes by the geometric mean."""
    total = float(n.sum())
    cap = max(total, 1.0)
    rates = counts / n[:, None]
    strengths = []
    for k, p in enumerate(prior):
        if p <= 0.0 or p >= 1.0:
            continue
        observed = float(np.sum(n * (rates[:, k] - p) ** 2) / total)
        sampling = float(np.sum(n * p * (1 - p) / n) / total)
        tau2 = observed - sampling
        strengths.append(cap if tau2 <= 0 else min(max(p * (1 - p) / tau2 - 1.0, 0.5), cap))
    return float(np.exp(np.mean(np.log(strengths)))) if strengths else cap


def _learn(rows: pd.DataFrame, y_of: pd.Series, n_classes: int) -> _Table:
    """``rows``: id, category; ``y_of``: class index by id (training ids only)."""
    y = rows["id"].map(y_of)
    keep = y.notna()
    cats, y = rows["cat"][keep], y[keep].astype(int)
    prior = np.bincount(y_of.to_numpy(int), minlength=n_classes) / max(len(y_of), 1)
    if not len(cats):
        return _Table({}, prior.tolist())
    counts = pd.crosstab(cats, y).reindex(columns=range(n_classes), fill_value=0)
    n = counts.sum(axis=1).to_numpy(float)
    m = _prior_strength(counts.to_numpy(float), n, prior)
    freq = (counts.to_numpy(float) + m * prior) / (n[:, None] + m)
    return _Table(dict(zip(counts.index.astype(str), freq.tolist(), strict=True)), prior.tolist())


def _aggregate(rows: pd.DataFrame, table: _Table, ids: pd.Index) -> np.ndarray:
    """Mean and max of the rows' class frequencies per id (prior for ids without rows)."""
    k = len(table.prior)
    mine = rows[rows["id"].isin(ids)]
    vals = pd.DataFrame(table.lookup(mine["cat"]), index=mine["id"].to_numpy())
    grouped = vals.groupby(level=0)
    mean = np.array(grouped.mean().reindex(ids).to_numpy(float))
    high = np.array(grouped.max().reindex(ids).to_numpy(float))
    for block in (mean, high):
        empty = np.isnan(block).any(axis=1)
        block[empty] = table.prior
    # class 0 is implied by the others: keep K - 1 columns of each
    return np.hstack([mean[:, 1:], high[:, 1:]]) if k > 1 else np.hstack([mean, high])


@dataclass
class TargetStats:
    """In-fold target statistics for the key sources of one data set."""

    n_classes: int
    inner_folds: int = 5
    seed: int = 0
    tables: dict[str, _Table] = field(default_factory=dict)

    def feature_names(self, sources: Sequence[KeySource]) -> list[str]:
        ks = range(1, self.n_classes) if self.n_classes > 1 else range(1)
        return [f"ts:{s.name}:{agg}:p{k}" for s in sources for agg in ("mean", "max") for k in ks]

    @staticmethod
    def _rows(source: KeySource, id_col: str) -> pd.DataFrame:
        return pd.DataFrame(
            {"id": source.frame[id_col].to_numpy(), "cat": _codes(source.frame[source.column])}
        )

    def fit_transform(
        self, sources: Sequence[KeySource], id_col: str, ids: Sequence[Any], y: np.ndarray
    ) -> np.ndarray:
        """Out-of-fold statistics for the training ``ids``; keeps the full-fit tables for
        :meth:`transform`."""
        ids_index = pd.Index(ids)
        y_of = pd.Series(np.asarray(y, dtype=int), index=ids_index)
        rng = np.random.default_rng(self.seed)
        fold = rng.permutation(len(ids_index)) % max(self.inner_folds, 2)
        blocks = []
        for s in sources:
            rows = self._rows(s, id_col)
            out = np.zeros((len(ids_index), 2 * max(self.n_classes - 1, 1)))
            for f in range(max(self.inner_folds, 2)):
                inner, held = ids_index[fold != f], ids_index[fold == f]
                table = _learn(rows, y_of.loc[inner], self.n_classes)
                out[fold == f] = _aggregate(rows, table, held)
            self.tables[s.name] = _learn(rows, y_of, self.n_classes)
            blocks.append(out)
        return np.hstack(blocks) if blocks else np.zeros((len(ids_index), 0))

    def transform(
        self, sources: Sequence[KeySource], id_col: str, ids: Sequence[Any]
    ) -> np.ndarray:
        """Statistics of all training ids for other ``ids``."""
        ids_index = pd.Index(ids)
        blocks = [
            _aggregate(self._rows(s, id_col), self.tables[s.name], ids_index) for s in sources
        ]
        return np.hstack(blocks) if blocks else np.zeros((len(ids_index), 0))

    # --- persistence -----------------------------------------------------------------
    def to_doc(self) -> dict[str, Any]:
        return {
            "n_classes": self.n_classes,
            "inner_folds": self.inner_folds,
            "seed": self.seed,
            "tables": {k: {"freq": t.freq, "prior": t.prior} for k, t in self.tables.items()},
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> TargetStats:
        return cls(
            int(doc["n_classes"]),
            int(doc["inner_folds"]),
            int(doc["seed"]),
            {
                k: _Table({c: list(v) for c, v in t["freq"].items()}, list(t["prior"]))
                for k, t in doc["tables"].items()
            },
        )
