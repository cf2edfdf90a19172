"""Quality figures of a fault predictor: PR-AUC, recall at a precision, lead time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Quality",
    "expected_calibration_error",
    "false_warnings_per_1000_element_days",
    "lead_times",
    "pr_auc",
    "quality",
    "recall_at_precision",
    "reliability_curve",
    "threshold_for_precision",
]


def pr_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve, step-wise)."""
    from sklearn.metrics import average_precision_score

    y = np.asarray(y)
    if y.sum() == 0:
        return float("nan")
    return float(average_precision_score(y, score))


def _curve(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.metrics import precision_recall_curve

    p, r, t = precision_recall_curve(y, score)
    return p[:-1], r[:-1], t


def recall_at_precision(y: np.ndarray, score: np.ndarray, precision: float = 0.8) -> float:
    """Largest recall at any threshold whose precision reaches ``precision`` (0 if none)."""
    if np.asarray(y).sum() == 0:
        return float("nan")
    p, r, _ = _curve(y, score)
    ok = p >= precision
    return float(r[ok].max()) if ok.any() else 0.0


def threshold_for_precision(y: np.ndarray, score: np.ndarray, precision: float = 0.8) -> float:
    """Lowest threshold reaching ``precision`` (the highest score + 1 when none does)."""
    if np.asarray(y).sum() == 0:
        return float(np.max(score)) + 1.0
    p, _, t = _curve(y, score)
    ok = p >= precision
    return float(t[ok].min()) if ok.any() else float(np.max(score)) + 1.0


def lead_times(
    warn: np.ndarray, y: np.ndarray, lead_min: np.ndarray, fault_id: np.ndarray
) -> np.ndarray:
    """Lead (minutes) of the earliest correct warning of each fault that was warned of."""
    hit = np.asarray(warn, dtype=bool) & (np.asarray(y) == 1) & (np.asarray(fault_id) >= 0)
    if not hit.any():
        return np.array([])
    fid, lead = np.asarray(fault_id)[hit], np.asarray(lead_min)[hit]
    order = np.lexsort((-lead, fid))
    fid, lead = fid[order], lead[order]
    first = np.r_[True, fid[1:] != fid[:-1]]
    return lead[first]


@dataclass(frozen=True, slots=True)
class Quality:
    pr_auc: float
    recall_at_p80: float
    median_lead_min: float
    faults_warned: int
    faults_total: int
    threshold: float
    precision_at_threshold: float = float("nan")
    recall_at_threshold: float = float("nan")

    def to_json(self, prefix: str = "") -> dict[str, float | int]:
        return {
            f"{prefix}pr_auc": round(self.pr_auc, 4),
            f"{prefix}recall_at_p80": round(self.recall_at_p80, 4),
            f"{prefix}median_lead_min": round(self.median_lead_min, 2),
            f"{prefix}faults_warned": self.faults_warned,
            f"{prefix}faults_total": self.faults_total,
            f"{prefix}precision_at_threshold": round(self.precision_at_threshold, 4),
            f"{prefix}recall_at_threshold": round(self.recall_at_threshold, 4),
        }


def quality(
    y: np.ndarray,
    score: np.ndarray,
    lead_min: np.ndarray,
    fault_id: np.ndarray,
    *,
    threshold: float,
) -> Quality:
    """PR-AUC and recall at precision 0.8 on these rows; lead times of the warnings at
    ``threshold`` (chosen beforehand, e.g. on a calibration slice)."""
    warn = np.asarray(score) >= threshold
    leads = lead_times(warn, y, lead_min, fault_id)
    tp = float(np.sum(warn & (np.asarray(y) == 1)))
    total = len(np.unique(fault_id[(fault_id >= 0) & (y == 1)]))
    return Quality(
        pr_auc=pr_auc(y, score),
        recall_at_p80=recall_at_precision(y, score, 0.8),
        median_lead_min=float(np.median(leads)) if len(leads) else float("nan"),
        faults_warned=len(leads),
        faults_total=total,
        threshold=threshold,
        precision_at_threshold=tp / warn.sum() if warn.any() else float("nan"),
        recall_at_threshold=tp / max(float(np.sum(y)), 1.0),
    )


def reliability_curve(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float | int]]:
    """Bins at the quantiles of the predicted probability (equal predictions share a bin):
    mean prediction, observed share and rows per bin (the points of a reliability
    diagram)."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if len(p) == 0:
        return []
    edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, bins + 1)))
    idx = np.searchsorted(edges[1:-1], p, side="right")
    out: list[dict[str, float | int]] = []
    for b in np.unique(idx):
        part = idx == b
        out.append(
            {
                "mean_p": float(p[part].mean()),
                "observed": float(y[part].mean()),
                "rows": int(part.sum()),
            }
        )
    return out


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Row-weighted mean |observed share - mean prediction| over equal-count bins."""
    curve = reliability_curve(y, p, bins)
    total = sum(int(b["rows"]) for b in curve)
    if total == 0:
        return float("nan")
    return float(sum(abs(b["observed"] - b["mean_p"]) * b["rows"] for b in curve) / total)


def false_warnings_per_1000_element_days(
    warn: np.ndarray,
    y: np.ndarray,
    time: np.ndarray,
    element: np.ndarray,
    period_min: float,
) -> float:
    """Warning episodes (runs of warned rows of one element, a gap of more than one period
    ends a run) with no positive row, per 1000 element-days observed."""
    import pandas as pd

    df = pd.DataFrame(
        {
            "w": np.asarray(warn, dtype=bool),
            "y": np.asarray(y) == 1,
            "t": pd.to_datetime(np.asarray(time), utc=True),
            "e": np.asarray(element),
        }
    )
    if df.empty:
        return float("nan")
    span_days = (df["t"].max() - df["t"].min()).total_seconds() / 86400.0
    element_days = max(span_days, period_min / 1440.0) * df["e"].nunique()
    w = df[df["w"]].sort_values(["e", "t"])
    if w.empty:
        return 0.0
    step = w.groupby("e")["t"].diff().dt.total_seconds().div(60.0)
    new = (w["e"] != w["e"].shift()) | (step > period_min * 1.5)
    episode = new.cumsum()
    false = int((~w.groupby(episode)["y"].any()).sum())
    return 1000.0 * false / element_days
