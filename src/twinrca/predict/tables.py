"""Features from a user's own incident tables (long format, keyed by an id column).

A *label table* holds one row per id (the target and optional extra columns); each
*long table* holds any number of rows per id. :class:`TableFeaturizer` learns, without
looking at the target, the vocabulary of every categorical column, then turns the tables
into one numeric row per id:

- per long table: rows per id, the id's first position in the file (relative), and
  for every categorical column: per-category counts and shares, distinct count, and the
  numeric part of labels like ``"feature 123"`` (min / mean / max);
- a numeric column beside categorical ones: per-id sum / mean / max / std, and per-id
  sums per category;
- label-table columns: numbers as they are, categoricals as LightGBM categoricals (low
  cardinality), frequency counts and their numeric part;
- order within a group: the rank of the id (by file position) inside each group of
  a label-table categorical, the group size and the relative rank;
- interactions: group means of the per-id row counts and the id's deviation from them.

All of it is target-free, so the featurizer may be fitted on train and test ids together.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twinrca.core.errors import ValidationError

__all__ = ["TableFeaturizer", "TableSchema", "infer_schema", "numeric_part"]

log = logging.getLogger(__name__)

_NUM_RE = re.compile(r"(-?\d+(?:\.\d+)?)\s*$")
_MAX_CATEGORIES = 400
_LGB_CATEGORICAL_MAX = 64


def numeric_part(values: pd.Series) -> pd.Series:
    """The trailing number of each label (``"location 123"`` -> 123.0), NaN when none."""
    text = values.astype("string")
    return pd.to_numeric(text.str.extract(_NUM_RE, expand=False), errors="coerce").astype(float)


def _pivot_sum(
    row: np.ndarray, col: np.ndarray, values: np.ndarray | None, n_rows: int, n_cols: int
) -> np.ndarray:
    """Dense (n_rows, n_cols) sums of ``values`` (or counts) at (row, col); -1 skips."""
    ok = (row >= 0) & (col >= 0)
    flat = row[ok].astype(np.int64) * n_cols + col[ok]
    w = None if values is None else values[ok]
    out = np.bincount(flat, weights=w, minlength=n_rows * n_cols)
    return out.astype(float).reshape(n_rows, n_cols)


def _is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


@dataclass(frozen=True, slots=True)
class TableSchema:
    """Column names and dtypes of one table (checked again when a model is applied)."""

    name: str
    columns: tuple[str, ...]
    dtypes: tuple[str, ...]

    def to_doc(self) -> dict[str, Any]:
        return {"name": self.name, "columns": list(self.columns), "dtypes": list(self.dtypes)}


def infer_schema(name: str, frame: pd.DataFrame) -> TableSchema:
    kinds = tuple("category" if _is_categorical(frame[c]) else "number" for c in frame.columns)
    return TableSchema(name, tuple(str(c) for c in frame.columns), kinds)


@dataclass
class TableFeaturizer:
    """Target-free features from a label table and long tables keyed by ``id_col``."""

    id_col: str
    target_col: str
    min_count: int = 3
    max_categories: int = _MAX_CATEGORIES
    vocab: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    label_cats: dict[str, list[str]] = field(default_factory=dict)
    label_nums: list[str] = field(default_factory=list)
    label_freq: dict[str, dict[str, int]] = field(default_factory=dict)
    schemas: dict[str, TableSchema] = field(default_factory=dict)
    feature_names: list[str] = field(default_factory=list)
    categorical_features: list[str] = field(default_factory=list)

    # --- fit ---------------------------------------------------------------------
    def fit(self, labels: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> TableFeaturizer:
        self._check(labels, tables, need_target=False)
        self.schemas = {"labels": infer_schema("labels", self._label_extras(labels))}
        for name, frame in tables.items():
            self.schemas[name] = infer_schema(name, frame)
            cats = [c for c in frame.columns if c != self.id_col and _is_categorical(frame[c])]
            self.vocab[name] = {c: self._top_categories(frame, c) for c in cats}
        extras = self._label_extras(labels)
        self.label_cats = {
            c: self._top_categories(extras.assign(**{self.id_col: labels[self.id_col]}), c)
            for c in extras.columns
            if _is_categorical(extras[c])
        }
        self.label_nums = [c for c in extras.columns if c not in self.label_cats]
        self.label_freq = {
            c: {str(k): int(v) for k, v in extras[c].astype("string").value_counts().items()}
            for c in self.label_cats
        }
        frame = self.transform(labels, tables)
        self.feature_names = list(frame.columns)
        self.categorical_features = [
            f"lab:{c}" for c, v in self.label_cats.items() if len(v) <= _LGB_CATEGORICAL_MAX
        ]
        log.info("table features: %s columns from %s tables", len(self.feature_names), len(tables))
        return self

    def _top_categories(self, frame: pd.DataFrame, col: str) -> list[str]:
        ids_per_cat = frame.groupby(frame[col].astype("string"), observed=True)[
            self.id_col
        ].nunique()
        ids_per_cat = ids_per_cat[ids_per_cat >= self.min_count].sort_values(ascending=False)
        return [str(c) for c in ids_per_cat.index[: self.max_categories]]

    def _label_extras(self, labels: pd.DataFrame) -> pd.DataFrame:
        drop = [c for c in (self.id_col, self.target_col) if c in labels.columns]
        return labels.drop(columns=drop)

    def _check(
        self, labels: pd.DataFrame, tables: Mapping[str, pd.DataFrame], *, need_target: bool
    ) -> None:
        if self.id_col not in labels.columns:
            raise ValidationError("missing_id", f"label table has no column {self.id_col!r}")
        if need_target and self.target_col not in labels.columns:
            raise ValidationError(
                "missing_target", f"label table has no column {self.target_col!r}"
            )
        if labels[self.id_col].duplicated().any():
            raise ValidationError("duplicate_id", f"ids repeat in the label table ({self.id_col})")
        for name, frame in tables.items():
            if self.id_col not in frame.columns:
                raise ValidationError("missing_id", f"table {name!r} has no column {self.id_col!r}")

    # --- transform ---------------------------------------------------------------
    def transform(self, labels: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        """One row per id of ``labels`` (same order), float columns (categoricals as codes)."""
        self._check(labels, tables, need_target=False)
        ids = pd.Index(labels[self.id_col])
        parts = [self._label_features(labels, ids)]
        positions: dict[str, pd.Series] = {}
        for name, frame in tables.items():
            if name not in self.vocab:
                raise ValidationError("unknown_table", f"table {name!r} was not seen at fit time")
            block, pos = self._long_features(name, frame, ids)
            parts.append(block)
            positions[name] = pos
        out = pd.concat(parts, axis=1)
        out = pd.concat([out, self._group_features(labels, ids, out, positions)], axis=1)
        if self.feature_names:
            out = out.reindex(columns=self.feature_names)
        return out.reset_index(drop=True)

    def _label_features(self, labels: pd.DataFrame, ids: pd.Index) -> pd.DataFrame:
        cols: dict[str, Any] = {}
        idnum = pd.to_numeric(labels[self.id_col], errors="coerce")
        if idnum.notna().all():
            cols["lab:id_rank"] = idnum.rank(pct=True).to_numpy()
        for c in self.label_nums:
            cols[f"lab:{c}"] = pd.to_numeric(labels[c], errors="coerce").to_numpy(float)
        for c, vocab in self.label_cats.items():
            text = labels[c].astype("string")
            codes = pd.Index(vocab).get_indexer(text.fillna("").to_numpy(str)).astype(float)
            codes[codes < 0] = np.nan
            cols[f"lab:{c}"] = codes
            freq = self.label_freq.get(c) or text.value_counts().to_dict()
            cols[f"lab:{c}:freq"] = text.map(freq).fillna(0).to_numpy(float)
            cols[f"lab:{c}:num"] = numeric_part(labels[c]).to_numpy()
        return pd.DataFrame(cols, index=ids)

    def _long_features(
        self, name: str, frame: pd.DataFrame, ids: pd.Index
    ) -> tuple[pd.DataFrame, pd.Series]:
        key = frame[self.id_col]
        pos = pd.Series(np.arange(len(frame), dtype=float), index=frame.index)
        first = pos.groupby(key).min()
        blocks = {
            f"{name}:rows": key.value_counts(),
            f"{name}:first_pos": first / max(len(frame), 1),
        }
        out = pd.DataFrame(blocks).reindex(ids)
        out[f"{name}:rows"] = out[f"{name}:rows"].fillna(0.0)
        nums = [c for c in frame.columns if c != self.id_col and c not in self.vocab[name]]
        pieces = [out]
        for c, vocab in self.vocab[name].items():
            pieces.append(self._cat_block(name, frame, c, vocab, nums, ids, out[f"{name}:rows"]))
        for n in nums:
            v = pd.to_numeric(frame[n], errors="coerce")
            agg = v.groupby(key).agg(["sum", "mean", "max", "min", "std"])
            agg.columns = [f"{name}:{n}:{a}" for a in agg.columns]
            pieces.append(agg.reindex(ids))
        return pd.concat(pieces, axis=1), first.reindex(ids)

    def _cat_block(
        self,
        name: str,
        frame: pd.DataFrame,
        col: str,
        vocab: list[str],
        nums: Sequence[str],
        ids: pd.Index,
        rows: pd.Series,
    ) -> pd.DataFrame:
        row_id = ids.get_indexer(frame[self.id_col])
        text = frame[col].astype("string")
        codes = pd.Index(vocab).get_indexer(text.fillna("").to_numpy(str))
        counts = _pivot_sum(row_id, codes, None, len(ids), len(vocab))
        prefix = f"{name}:{col}="
        block = {f"{prefix}{v}": counts[:, j] for j, v in enumerate(vocab)}
        denom = rows.to_numpy().clip(min=1.0)
        block.update({f"{prefix}{v}:share": counts[:, j] / denom for j, v in enumerate(vocab)})
        key = frame[self.id_col]
        block[f"{name}:{col}:nunique"] = (
            text.groupby(key).nunique().reindex(ids).fillna(0).to_numpy()
        )
        block[f"{name}:{col}:other"] = rows.to_numpy() - counts.sum(axis=1)
        parsed = numeric_part(frame[col])
        for a in ("min", "mean", "max"):
            block[f"{name}:{col}:num_{a}"] = parsed.groupby(key).agg(a).reindex(ids).to_numpy()
        for n in nums:
            v = pd.to_numeric(frame[n], errors="coerce").fillna(0.0)
            sums = _pivot_sum(row_id, codes, v.to_numpy(float), len(ids), len(vocab))
            block.update({f"{prefix}{c}:{n}_sum": sums[:, j] for j, c in enumerate(vocab)})
            weighted = (v * parsed).groupby(key).sum() / v.groupby(key).sum().replace(0, np.nan)
            block[f"{name}:{col}:num_wmean_{n}"] = weighted.reindex(ids).to_numpy()
        return pd.DataFrame(block, index=ids)

    def _group_features(
        self,
        labels: pd.DataFrame,
        ids: pd.Index,
        feats: pd.DataFrame,
        positions: Mapping[str, pd.Series],
    ) -> pd.DataFrame:
        cols: dict[str, np.ndarray] = {}
        idnum = pd.to_numeric(labels[self.id_col], errors="coerce")
        for c in self.label_cats:
            group = labels[c].astype("string").to_numpy()
            size = pd.Series(group).map(pd.Series(group).value_counts()).to_numpy(float)
            order_keys = {f"{t}:first_pos": p.to_numpy() for t, p in positions.items()}
            if idnum.notna().all():
                order_keys["id"] = idnum.to_numpy(float)
            for oname, okey in order_keys.items():
                rank = pd.Series(okey).groupby(group).rank(method="first").to_numpy()
                cols[f"grp:{c}:rank_by_{oname}"] = rank
                cols[f"grp:{c}:relrank_by_{oname}"] = rank / size
            for t in positions:
                rows = feats[f"{t}:rows"].to_numpy()
                mean = pd.Series(rows).groupby(group).transform("mean").to_numpy()
                cols[f"grp:{c}:{t}:rows_mean"] = mean
                cols[f"grp:{c}:{t}:rows_dev"] = rows - mean
        return pd.DataFrame(cols, index=ids)

    # --- persistence ---------------------------------------------------------------
    def to_doc(self) -> dict[str, Any]:
        return {
            "id_col": self.id_col,
            "target_col": self.target_col,
            "min_count": self.min_count,
            "max_categories": self.max_categories,
            "vocab": self.vocab,
            "label_cats": self.label_cats,
            "label_nums": self.label_nums,
            "label_freq": self.label_freq,
            "schemas": {k: s.to_doc() for k, s in self.schemas.items()},
            "feature_names": self.feature_names,
            "categorical_features": self.categorical_features,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> TableFeaturizer:
        schemas = {
            k: TableSchema(s["name"], tuple(s["columns"]), tuple(s["dtypes"]))
            for k, s in doc["schemas"].items()
        }
        return cls(
            id_col=doc["id_col"],
            target_col=doc["target_col"],
            min_count=int(doc["min_count"]),
            max_categories=int(doc["max_categories"]),
            vocab={k: dict(v) for k, v in doc["vocab"].items()},
            label_cats=dict(doc["label_cats"]),
            label_nums=list(doc["label_nums"]),
            label_freq={k: dict(v) for k, v in doc.get("label_freq", {}).items()},
            schemas=schemas,
            feature_names=list(doc["feature_names"]),
            categorical_features=list(doc["categorical_features"]),
        )

    def check_schema(self, labels: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> list[str]:
        """Differences between the fitted schemas and these tables (empty when they match)."""
        live = {"labels": infer_schema("labels", self._label_extras(labels))}
        live.update({n: infer_schema(n, f) for n, f in tables.items()})
        problems = []
        for name, want in self.schemas.items():
            got = live.get(name)
            if got is None:
                problems.append(f"table {name!r} is missing")
            elif (got.columns, got.dtypes) != (want.columns, want.dtypes):
                expected = list(zip(want.columns, want.dtypes, strict=True))
                problems.append(
                    f"table {name!r}: expected {expected}, "
                    f"got {list(zip(got.columns, got.dtypes, strict=True))}"
                )
        problems.extend(
            f"table {n!r} was not seen at fit time" for n in live if n not in self.schemas
        )
        return problems
