"""KPI anomaly detection against a seasonal, robust baseline.

For every (managed object, measurement) the baseline of a time-of-day slot is the
median of that slot over the history; the spread is the MAD of the residuals (scaled to
a standard deviation), with a floor so that near-constant KPIs do not alarm on noise.
A sample is anomalous when its robust z-score passes ``threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SeasonalBaseline", "detect_kpi_anomalies"]

_MAD_TO_SD = 1.4826


@dataclass(frozen=True, slots=True)
class SeasonalBaseline:
    """Per (object, measurement, slot) median and robust spread."""

    table: pd.DataFrame  # index: managed_object, measurement, slot; columns: median, scale
    slot_minutes: int

    @classmethod
    def fit(
        cls, kpis: pd.DataFrame, *, slot_minutes: int = 60, rel_floor: float = 0.02
    ) -> SeasonalBaseline:
        """``kpis``: columns managed_object, measurement, period_end, value."""
        df = kpis[["managed_object", "measurement", "period_end", "value"]].copy()
        df["slot"] = _slot(df["period_end"], slot_minutes)
        grouped = df.groupby(["managed_object", "measurement", "slot"], sort=False)["value"]
        median = grouped.median().rename("median")
        df = df.join(median, on=["managed_object", "measurement", "slot"])
        df["absres"] = (df["value"] - df["median"]).abs()
        mad = df.groupby(["managed_object", "measurement"], sort=False)["absres"].median()
        level = df.groupby(["managed_object", "measurement"], sort=False)["value"].median().abs()
        scale = np.maximum(_MAD_TO_SD * mad, rel_floor * level).clip(lower=1e-6).rename("scale")
        table = median.to_frame().join(scale, on=["managed_object", "measurement"])
        return cls(table=table, slot_minutes=slot_minutes)

    def zscores(self, kpis: pd.DataFrame) -> pd.DataFrame:
        """The input with ``expected``, ``z`` columns (NaN z where no baseline exists)."""
        df = kpis.copy()
        df["slot"] = _slot(df["period_end"], self.slot_minutes)
        df = df.join(self.table, on=["managed_object", "measurement", "slot"])
        df["expected"] = df.pop("median")
        df["z"] = (df["value"] - df["expected"]) / df.pop("scale")
        return df.drop(columns="slot")


def detect_kpi_anomalies(
    history: pd.DataFrame,
    current: pd.DataFrame,
    *,
    threshold: float = 5.0,
    slot_minutes: int = 60,
) -> pd.DataFrame:
    """Anomalous samples of ``current`` against a baseline fitted on ``history``.

    Returns rows of ``current`` with ``expected``, ``z`` and ``direction`` (+1 above,
    -1 below the baseline), sorted by time.
    """
    baseline = SeasonalBaseline.fit(history, slot_minutes=slot_minutes)
    scored = baseline.zscores(current)
    out = scored[scored["z"].abs() >= threshold].copy()
    out["direction"] = np.sign(out["z"]).astype(int)
    return out.sort_values("period_end").reset_index(drop=True)


def _slot(times: pd.Series, slot_minutes: int) -> pd.Series:
    t = pd.to_datetime(times, utc=True)
    return ((t.dt.hour * 60 + t.dt.minute) // slot_minutes).astype("int16")
