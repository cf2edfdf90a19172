"""Scores of a learned directed graph against a true one."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from twinrca.core.errors import ValidationError

__all__ = ["EdgeScores", "edge_scores"]


@dataclass(frozen=True, slots=True)
class EdgeScores:
    """Directed-edge counts and scores; ``g_score = max(0, TP - FP) / (TP + FN)``."""

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    g_score: float

    def as_dict(self) -> dict[str, float]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def edge_scores(predicted: np.ndarray, truth: np.ndarray) -> EdgeScores:
    """Compare two K x K matrices where entry ``[i, j] != 0`` means the edge i -> j."""
    pred, true = np.asarray(predicted) != 0, np.asarray(truth) != 0
    if pred.shape != true.shape:
        raise ValidationError("shape_mismatch", "graphs differ in size", pred=pred.shape)
    off = ~np.eye(pred.shape[0], dtype=bool)
    pred, true = pred & off, true & off
    tp = int((pred & true).sum())
    fp = int((pred & ~true).sum())
    fn = int((~pred & true).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    g = max(0, tp - fp) / (tp + fn) if tp + fn else 0.0
    return EdgeScores(tp, fp, fn, precision, recall, f1, g)
