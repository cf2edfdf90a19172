"""Plain data shaping for the dashboard pages: stored documents and rows in, small
DataFrames and DOT text out. No Streamlit here, so every function is testable alone
and cheap enough to run inside a page rerun (the heavy work was done by the pipeline).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from twinrca.core.topology import Topology

__all__ = [
    "ELEMENT_STATES",
    "HORIZON_BUCKETS",
    "OPEN_STATES",
    "SEVERITIES",
    "alarm_timeline",
    "candidates_frame",
    "causal_dot",
    "downsample",
    "element_frame",
    "incidents_frame",
    "ingest_health",
    "kpi_band",
    "lttb",
    "predictions_frame",
    "remediation_frame",
    "risk_by_horizon",
    "severity_counts",
    "verification_frame",
]

SEVERITIES = ("CRITICAL", "MAJOR", "MINOR", "WARNING", "INDETERMINATE", "CLEARED")
OPEN_STATES = (
    "open",
    "condition",
    "silenced",
    "follow_up",
    "diagnosed",
    "verified",
    "recommended",
    "acknowledged",
)
ELEMENT_STATES = ("incident root", "in incident", "at risk", "ok")
HORIZON_BUCKETS = ((0, 30, "≤30 min"), (30, 120, "30 min–2 h"), (120, 720, "2–12 h"))
_INCIDENT_COLUMNS = [
    "incident_id",
    "state",
    "severity",
    "opened_at",
    "updated_at",
    "region",
    "root_element",
    "top_cause",
    "probability",
    "elements",
    "trigger",
]
_PREDICTION_COLUMNS = [
    "prediction_id",
    "element",
    "failure_mode",
    "horizon_min",
    "probability",
    "start",
    "end",
    "explanation",
]


# --- downsampling -----------------------------------------------------------------------
def lttb(x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` points chosen by Largest-Triangle-Three-Buckets (first and last kept).

    ``x`` must be increasing; NaN values of ``y`` are treated as 0 for the choice only.
    """
    size = len(x)
    if n >= size or n < 3:
        return np.arange(size)
    xs = np.asarray(x, dtype=float)
    ys = np.nan_to_num(np.asarray(y, dtype=float))
    edges = np.linspace(1, size - 1, n - 1).astype(int)
    keep = [0]
    a = 0
    for i in range(n - 2):
        lo, hi = edges[i], max(edges[i + 1], edges[i] + 1)
        nxt_lo, nxt_hi = edges[i + 1], edges[i + 2] if i + 2 < len(edges) else size
        cx = xs[nxt_lo:nxt_hi].mean() if nxt_hi > nxt_lo else xs[-1]
        cy = ys[nxt_lo:nxt_hi].mean() if nxt_hi > nxt_lo else ys[-1]
        area = np.abs((xs[a] - cx) * (ys[lo:hi] - ys[a]) - (xs[a] - xs[lo:hi]) * (cy - ys[a]))
        a = lo + int(np.argmax(area))
        keep.append(a)
    keep.append(size - 1)
    return np.asarray(keep)


def downsample(
    frame: pd.DataFrame, x: str, y: str, n: int, *, by: Sequence[str] = ()
) -> pd.DataFrame:
    """At most ``n`` rows per group of ``by`` (LTTB on ``x``/``y``), order kept."""
    if frame.empty:
        return frame
    groups = frame.groupby(list(by), sort=False) if by else [((), frame)]
    parts = []
    for _, part in groups:
        part = part.sort_values(x)
        xs = pd.to_datetime(part[x]).astype("int64") if _is_time(part[x]) else part[x]
        parts.append(part.iloc[lttb(np.asarray(xs), part[y].to_numpy(), n)])
    return pd.concat(parts, ignore_index=True)


def _is_time(col: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(col)


# --- incidents and elements -------------------------------------------------------------
def incidents_frame(docs: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per incident document, newest first."""
    rows = []
    for d in docs:
        cands = d.get("candidates") or []
        top = max(cands, key=lambda c: c.get("probability", 0.0)) if cands else None
        rows.append(
            {
                "incident_id": d["incident_id"],
                "state": str(d.get("state", "open")),
                "severity": str(d.get("severity", "MAJOR")).upper(),
                "opened_at": pd.Timestamp(d["opened_at"]),
                "updated_at": pd.Timestamp(d.get("updated_at", d["opened_at"])),
                "region": d.get("region", ""),
                "root_element": d.get("root_element"),
                "top_cause": f"{top['element']} · {top['failure_mode']}" if top else None,
                "probability": float(top["probability"]) if top else None,
                "elements": list(d.get("elements") or []),
                "trigger": str(d.get("trigger") or "alarms"),
            }
        )
    frame = pd.DataFrame(rows, columns=_INCIDENT_COLUMNS)
    if frame.empty:
        return frame
    frame["opened_at"] = pd.to_datetime(frame["opened_at"], utc=True)
    frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True)
    return frame.sort_values("opened_at", ascending=False, ignore_index=True)


def severity_counts(incidents: pd.DataFrame, *, open_only: bool = True) -> pd.DataFrame:
    """Incidents per severity (every severity listed, in order of gravity)."""
    part = incidents[incidents["state"].isin(OPEN_STATES)] if open_only else incidents
    counts = part["severity"].value_counts() if len(part) else pd.Series(dtype=int)
    return pd.DataFrame(
        {
            "severity": list(SEVERITIES[:4]),
            "incidents": [int(counts.get(s, 0)) for s in SEVERITIES[:4]],
        }
    )


def element_frame(
    topology: Topology | None,
    incidents: pd.DataFrame,
    predictions: pd.DataFrame,
    *,
    kinds: tuple[str, ...] = ("site", "cell"),
    risk_threshold: float = 0.5,
) -> pd.DataFrame:
    """Sites and cells with their coordinates and state (worst state wins)."""
    cols = ["element_id", "kind", "lat", "lon", "region", "state"]
    if topology is None:
        return pd.DataFrame(columns=cols)
    open_inc = incidents[incidents["state"].isin(OPEN_STATES)] if len(incidents) else incidents
    roots = set(open_inc["root_element"].dropna()) if len(open_inc) else set()
    involved = {e for els in open_inc.get("elements", []) for e in els} if len(open_inc) else set()
    risky = (
        set(predictions.loc[predictions["probability"] >= risk_threshold, "element"])
        if len(predictions)
        else set()
    )
    rows = []
    for el in topology:
        if str(el.kind) not in kinds:
            continue
        eid = el.element_id
        state = (
            "incident root"
            if eid in roots
            else "in incident"
            if eid in involved
            else "at risk"
            if eid in risky
            else "ok"
        )
        rows.append((eid, str(el.kind), el.lat, el.lon, el.region, state))
    return pd.DataFrame(rows, columns=cols)


# --- predictions --------------------------------------------------------------------------
def _mda_value(doc: Mapping[str, Any], name: str) -> Any:
    for item in doc.get("mDAOutputList") or []:
        if item.get("mDAOutputIEName") == name:
            return item.get("mDAOutputIEValue")
    return None


def _explanation_text(items: Any) -> str:
    if not items:
        return ""
    parts = []
    for it in items:
        if isinstance(it, Mapping):
            text = it.get("text") or it.get("feature", "")
            contrib = it.get("contribution")
            parts.append(f"{text} ({contrib:+.2f})" if isinstance(contrib, int | float) else text)
        else:
            parts.append(str(it))
    return "; ".join(parts)


def predictions_frame(docs: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Prediction documents (TS 28.104 MDA reports + flat fields) as rows."""
    rows = []
    for d in docs:
        window = d.get("analyticsWindow") or {}
        rows.append(
            {
                "prediction_id": d.get("prediction_id", ""),
                "element": d.get("element") or _mda_value(d, "predictedFaultObject"),
                "failure_mode": d.get("failure_mode") or _mda_value(d, "predictedFailureMode"),
                "horizon_min": float(
                    d.get("horizon_min") or _mda_value(d, "predictionHorizonMinutes") or 0.0
                ),
                "probability": float(d.get("probability", d.get("confidenceDegree", 0.0))),
                "start": window.get("mDAOutputStartTime"),
                "end": window.get("mDAOutputEndTime"),
                "explanation": _explanation_text(
                    d.get("explanation") or _mda_value(d, "explanation")
                ),
            }
        )
    frame = pd.DataFrame(rows, columns=_PREDICTION_COLUMNS)
    if frame.empty:
        return frame
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    return frame.sort_values("probability", ascending=False, ignore_index=True)


def horizon_bucket(minutes: float) -> str:
    for lo, hi, label in HORIZON_BUCKETS:
        if lo <= minutes <= hi:
            return label
    return f">{HORIZON_BUCKETS[-1][1] // 60} h"


def risk_by_horizon(predictions: pd.DataFrame, *, threshold: float = 0.5) -> pd.DataFrame:
    """Per horizon bucket: predicted risks above ``threshold`` and the highest probability."""
    labels = [b[2] for b in HORIZON_BUCKETS]
    if predictions.empty:
        return pd.DataFrame({"horizon": labels, "risks": 0, "max_probability": 0.0})
    p = predictions.assign(horizon=predictions["horizon_min"].map(horizon_bucket))
    hot = p[p["probability"] >= threshold]
    out = pd.DataFrame({"horizon": sorted(set(labels) | set(p["horizon"]), key=_bucket_order)})
    out["risks"] = out["horizon"].map(hot["horizon"].value_counts()).fillna(0).astype(int)
    out["max_probability"] = out["horizon"].map(p.groupby("horizon")["probability"].max()).fillna(0)
    return out


def _bucket_order(label: str) -> int:
    labels = [b[2] for b in HORIZON_BUCKETS]
    return labels.index(label) if label in labels else len(labels)


# --- ingest health ------------------------------------------------------------------------
def ingest_health(metrics: Mapping[str, pd.DataFrame]) -> dict[str, float | None]:
    """Latest total lag (messages behind, summed over partitions), latest total rate
    (rows/s, summed over tables) and dead letters in the window."""

    def latest_total(name: str, keys: tuple[str, ...]) -> float | None:
        m = metrics.get(name)
        if m is None or m.empty:
            return None
        labels = m["labels"] if "labels" in m.columns else pd.Series([{}] * len(m), index=m.index)
        series = labels.map(lambda d: tuple(str((d or {}).get(k, "")) for k in keys))
        last = m.assign(_series=series).groupby("_series", sort=False)["value"].last()
        return float(last.sum())

    dead = metrics.get("ingest_dead_letters")
    return {
        "lag_msgs": latest_total("ingest_lag", ("group", "topic", "partition")),
        "rows_per_s": latest_total("ingest_rows_per_s", ("group", "source", "table")),
        "dead_letters": None if dead is None or dead.empty else float(dead["value"].sum()),
    }


# the shaping of one incident's page lives in incident_data (re-exported here)
from twinrca.dashboards.incident_data import (  # noqa: E402
    alarm_timeline,
    candidates_frame,
    causal_dot,
    kpi_band,
    remediation_frame,
    verification_frame,
)
