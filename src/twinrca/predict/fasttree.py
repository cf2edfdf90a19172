"""A compiled evaluator of a LightGBM booster (from ``booster.dump_model()``).

LightGBM's own ``predict`` costs about a millisecond per call whatever the batch size;
scoring one element at a time on the stream needs tens of microseconds. The trees are
flattened into one node table and walked by a Numba kernel that follows LightGBM's
decision rules exactly (missing values: ``None`` / ``Zero`` / ``NaN`` types and the default
direction; categorical splits as category sets). :func:`predict_raw_reference` is the
plain NumPy walk of the same table, kept beside the kernel and tested against it and
against LightGBM.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from twinrca.core.errors import ModelError

__all__ = ["FastForest", "predict_raw_reference"]

# node table columns
_FEAT, _THR, _LEFT, _RIGHT, _VALUE, _FLAGS = range(6)
# flags: bit0 default_left, bit1 categorical, bits 2-3 missing type (0 None, 1 Zero, 2 NaN)
_MISSING = {"None": 0, "Zero": 1, "NaN": 2}
_ZERO = 1e-35
_BLOCK = 256
_PARALLEL_ROWS = 20_000  # batches this large use every core numba is allowed


@dataclass(frozen=True, slots=True)
class FastForest:
    """Flattened trees + the objective's link; ``predict`` matches ``booster.predict``."""

    nodes: np.ndarray  # (n_nodes, 6) float64: the reference walks this table
    roots: np.ndarray  # (n_trees,) int64
    cat_ptr: np.ndarray  # (n_nodes + 1,) int64: categories of node i at cat_vals[ptr[i]:ptr[i+1]]
    cat_vals: np.ndarray  # int64
    n_class: int
    n_features: int
    link: str  # "sigmoid", "softmax" or "identity"
    sigmoid: float = 1.0
    typed: tuple[np.ndarray, ...] = ()  # the kernel's columns: feat, thr, left, right, value, flags

    def __post_init__(self) -> None:
        n = self.nodes
        typed = (
            np.ascontiguousarray(n[:, _FEAT], dtype=np.int32),
            np.ascontiguousarray(n[:, _THR]),
            np.ascontiguousarray(n[:, _LEFT], dtype=np.int32),
            np.ascontiguousarray(n[:, _RIGHT], dtype=np.int32),
            np.ascontiguousarray(n[:, _VALUE]),
            np.ascontiguousarray(n[:, _FLAGS], dtype=np.int32),
        )
        object.__setattr__(self, "typed", typed)

    @classmethod
    def from_booster(cls, booster: Any) -> FastForest:
        return cls.from_dump(booster.dump_model())

    @classmethod
    def from_dump(cls, dump: Mapping[str, Any]) -> FastForest:
        rows: list[list[float]] = []
        cats: list[list[int]] = []
        roots = []
        for tree in dump["tree_info"]:
            roots.append(len(rows))
            _flatten(tree["tree_structure"], rows, cats)
        ptr = np.zeros(len(cats) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(c) for c in cats])
        flat = [v for c in cats for v in c]
        link, sigmoid = _link(str(dump.get("objective", "")))
        return cls(
            nodes=np.asarray(rows, dtype=np.float64).reshape(-1, 6),
            roots=np.asarray(roots, dtype=np.int64),
            cat_ptr=ptr,
            cat_vals=np.asarray(flat, dtype=np.int64),
            n_class=int(dump.get("num_tree_per_iteration", dump.get("num_class", 1))),
            n_features=int(dump["max_feature_idx"]) + 1,
            link=link,
            sigmoid=sigmoid,
        )

    def predict_raw(self, x: np.ndarray) -> np.ndarray:
        """Raw margins, shape (n,) for one class or (n, n_class)."""
        x = self._check(x)
        kernel = _raw_batch_par if len(x) >= _PARALLEL_ROWS else _raw_batch
        args = (*self.typed, self.roots, self.cat_ptr, self.cat_vals)
        out = kernel(x, *args, self.n_class)  # type: ignore[call-arg]
        return out[:, 0] if self.n_class == 1 else out

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities as LightGBM's ``predict`` gives them."""
        return self._apply_link(self.predict_raw(x))

    def predict_one(self, row: np.ndarray) -> float:
        """Margin-linked score of one row of a one-class model (the streaming path)."""
        raw = self.margin_one(row)
        if self.link == "sigmoid":
            return 1.0 / (1.0 + math.exp(-self.sigmoid * raw))
        return raw

    def margin_one(self, row: np.ndarray) -> float:
        args = (*self.typed, self.roots, self.cat_ptr, self.cat_vals)
        return float(_raw_one(row, *args))

    def _check(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] < self.n_features:
            raise ModelError(
                "feature matrix has the wrong shape", shape=x.shape, need=self.n_features
            )
        return x

    def _apply_link(self, raw: np.ndarray) -> np.ndarray:
        if self.link == "sigmoid":
            return 1.0 / (1.0 + np.exp(-self.sigmoid * raw))
        if self.link == "softmax":
            e = np.exp(raw - raw.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        return raw


def _link(objective: str) -> tuple[str, float]:
    name = objective.split(" ")[0]
    if name in ("binary", "cross_entropy"):
        sig = 1.0
        for part in objective.split(" ")[1:]:
            if part.startswith("sigmoid:"):
                sig = float(part.split(":", 1)[1])
        return "sigmoid", sig
    if name in ("multiclass", "softmax"):
        return "softmax", 1.0
    if name in ("regression", "regression_l2", "regression_l1", "huber", "quantile", ""):
        return "identity", 1.0
    raise ModelError(f"objective {objective!r} is not supported by the fast evaluator")


def _flatten(node: Mapping[str, Any], rows: list[list[float]], cats: list[list[int]]) -> int:
    idx = len(rows)
    if "leaf_value" in node:
        rows.append([-1.0, 0.0, -1.0, -1.0, float(node["leaf_value"]), 0.0])
        cats.append([])
        return idx
    rows.append([0.0] * 6)
    cats.append([])
    flags = (1 if node.get("default_left") else 0) | (
        _MISSING[str(node.get("missing_type", "None"))] << 2
    )
    if node["decision_type"] == "==":
        flags |= 2
        cats[idx] = [int(v) for v in str(node["threshold"]).split("||")]
        thr = 0.0
    elif node["decision_type"] == "<=":
        thr = float(node["threshold"])
    else:
        raise ModelError(f"decision type {node['decision_type']!r} is not supported")
    left = _flatten(node["left_child"], rows, cats)
    right = _flatten(node["right_child"], rows, cats)
    rows[idx] = [float(node["split_feature"]), thr, float(left), float(right), 0.0, float(flags)]
    return idx


@numba.njit(cache=True, nogil=True, inline="always")
def _walk(row, feat, thr, left, right, value, flags, root, cat_ptr, cat_vals):
    i = root
    while left[i] >= 0:
        fl = flags[i]
        f = row[feat[i]]
        go_left = False
        if fl & 2:
            if not math.isnan(f) and f >= 0.0:
                v = int(f)
                for k in range(cat_ptr[i], cat_ptr[i + 1]):
                    if cat_vals[k] == v:
                        go_left = True
                        break
        else:
            missing = (fl >> 2) & 3
            if math.isnan(f) and missing != 2:
                f = 0.0
            if (missing == 1 and abs(f) <= 1e-35) or (missing == 2 and math.isnan(f)):
                go_left = (fl & 1) == 1
            else:
                go_left = f <= thr[i]
        i = left[i] if go_left else right[i]
    return value[i]


@numba.njit(cache=True, nogil=True)
def _raw_one(row, feat, thr, left, right, value, flags, roots, cat_ptr, cat_vals):
    total = 0.0
    for t in range(roots.shape[0]):
        total += _walk(row, feat, thr, left, right, value, flags, roots[t], cat_ptr, cat_vals)
    return total


@numba.njit(cache=True, nogil=True)
def _raw_batch(x, feat, thr, left, right, value, flags, roots, cat_ptr, cat_vals, n_class):
    n = x.shape[0]
    out = np.zeros((n, n_class))
    for r in range(n):
        row = x[r]
        for t in range(roots.shape[0]):
            out[r, t % n_class] += _walk(
                row, feat, thr, left, right, value, flags, roots[t], cat_ptr, cat_vals
            )
    return out


@numba.njit(cache=True, nogil=True, parallel=True)
def _raw_batch_par(x, feat, thr, left, right, value, flags, roots, cat_ptr, cat_vals, n_class):
    """Blocks of rows in parallel; inside a block tree by tree (the tree stays in cache)."""
    n = x.shape[0]
    out = np.zeros((n, n_class))
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        lo = b * _BLOCK
        hi = min(n, lo + _BLOCK)
        for t in range(roots.shape[0]):
            c = t % n_class
            for r in range(lo, hi):
                out[r, c] += _walk(
                    x[r], feat, thr, left, right, value, flags, roots[t], cat_ptr, cat_vals
                )
    return out


def predict_raw_reference(forest: FastForest, x: np.ndarray) -> np.ndarray:
    """Plain-Python walk of the same node table (the reference for the kernel)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros((x.shape[0], forest.n_class))
    nodes = forest.nodes
    for r, row in enumerate(x):
        for t, root in enumerate(forest.roots):
            i = int(root)
            while nodes[i, _LEFT] >= 0:
                i = _next(forest, row, i)
            out[r, t % forest.n_class] += nodes[i, _VALUE]
    return out[:, 0] if forest.n_class == 1 else out


def _next(forest: FastForest, row: np.ndarray, i: int) -> int:
    node = forest.nodes[i]
    flags = int(node[_FLAGS])
    f = float(row[int(node[_FEAT])])
    if flags & 2:
        members = forest.cat_vals[forest.cat_ptr[i] : forest.cat_ptr[i + 1]]
        left = (not math.isnan(f)) and f >= 0 and int(f) in set(members.tolist())
    else:
        missing = (flags >> 2) & 3
        if math.isnan(f) and missing != _MISSING["NaN"]:
            f = 0.0
        if (missing == _MISSING["Zero"] and abs(f) <= _ZERO) or (
            missing == _MISSING["NaN"] and math.isnan(f)
        ):
            left = bool(flags & 1)
        else:
            left = f <= node[_THR]
    return int(node[_LEFT]) if left else int(node[_RIGHT])
