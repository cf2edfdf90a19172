"""Data shaping of the Twin page's calibration panel: the tenant's stored calibration and
drift findings in, a summary and a per-cell frame out (no Streamlit here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

__all__ = ["CELL_COLUMNS", "calibration_summary", "twin_cells_frame"]

CELL_COLUMNS = [
    "cell",
    "capacity_mbps",
    "fitted",
    "heldout_sd_prb_pct",
    "heldout_sd_thr_pct",
    "drift",
    "drift_kpi",
    "drift_since",
    "drift_z",
]


def calibration_summary(
    doc: dict[str, Any] | None, version: int | None, recorded_at: datetime | None
) -> dict[str, Any]:
    """Version, reason, fit window, data end, age (wall time since it was stored, hours)
    and the held-out MAPE next to the seasonal-naive forecast's."""
    if not doc:
        return {}
    h = doc.get("heldout") or {}
    age = None
    if recorded_at is not None:
        age = (pd.Timestamp.now(tz="UTC") - pd.Timestamp(recorded_at)).total_seconds() / 3600
    return {
        "version": version,
        "reason": doc.get("reason"),
        "fit_start": doc.get("fit_start"),
        "fit_end": doc.get("fit_end"),
        "data_end": doc.get("data_end"),
        "age_h": None if age is None else round(age, 1),
        "mape_prb": h.get("mape_prb"),
        "naive_mape_prb": h.get("naive_mape_prb"),
        "mape_thr": h.get("mape_thr"),
        "naive_mape_thr": h.get("naive_mape_thr"),
        "drift_k": (doc.get("drift") or {}).get("k"),
    }


def _drift_of(docs: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The finding shown per cell: an open one (lasting first), else the newest."""

    def rank(d: dict[str, Any]) -> tuple:
        return (d.get("state") == "open", bool(d.get("lasting")), str(d.get("onset")))

    out: dict[str, dict[str, Any]] = {}
    for d in docs:
        cell = str(d.get("element"))
        if cell not in out or rank(d) > rank(out[cell]):
            out[cell] = d
    return out


def _label(d: dict[str, Any]) -> str:
    state = str(d.get("state"))
    return f"{state}, lasting" if d.get("lasting") and state == "open" else state


def twin_cells_frame(
    doc: dict[str, Any] | None, drift_docs: Sequence[dict[str, Any]]
) -> pd.DataFrame:
    """One row per calibrated cell: fitted capacity, held-out residual spread (robust sd
    of the log residual, in %) per KPI and the cell's drift finding if any; cells with
    a finding first (open ones on top)."""
    if not doc:
        return pd.DataFrame(columns=CELL_COLUMNS)
    cells = list(doc.get("cells") or [])
    scale = (doc.get("drift") or {}).get("scale") or {}
    drift = _drift_of(drift_docs)

    def sd(kpi: str, i: int) -> float | None:
        v = scale.get(kpi)
        return None if v is None else round(100.0 * float(v[i]), 1)

    rows = []
    for i, c in enumerate(cells):
        d = drift.get(c)
        rows.append(
            {
                "cell": c,
                "capacity_mbps": round(float(doc["params"]["capacity"][i]), 1),
                "fitted": bool((doc.get("fitted") or [True] * len(cells))[i]),
                "heldout_sd_prb_pct": sd("prb_utilisation", i),
                "heldout_sd_thr_pct": sd("dl_throughput_mbps", i),
                "drift": _label(d) if d else "",
                "drift_kpi": d.get("kpi", "") if d else "",
                "drift_since": d.get("onset", "") if d else "",
                "drift_z": d.get("z_mean") if d else None,
            }
        )
    frame = pd.DataFrame(rows, columns=CELL_COLUMNS)
    order = frame["drift"].map({"open, lasting": 0, "open": 1, "": 3}).fillna(2)
    return frame.assign(_o=order).sort_values(["_o", "cell"], kind="stable").drop(columns="_o")
