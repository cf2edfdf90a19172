"""Column accumulators: decoded messages land here as column lists, not row objects.

Decoders append whole messages (all or nothing); :meth:`to_frame` builds the pandas
DataFrame the store writes (column names are the store's contract). Times are kept as
int64 nanoseconds since the epoch and converted in one vectorised step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twinrca.ingest.deadletter import Rejected
from twinrca.store.base import ALARM_COLUMNS, KPI_COLUMNS, LOG_COLUMNS

__all__ = [
    "ALARM_COLUMNS",
    "KPI_COLUMNS",
    "LOG_COLUMNS",
    "AlarmColumns",
    "Columns",
    "KpiColumns",
    "LogColumns",
]


def _times(ns: list[int]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.asarray(ns, dtype="int64").view("datetime64[ns]")).tz_localize("UTC")


@dataclass(slots=True)
class KpiColumns:
    """KPI values: one row per (managed object, measurement, period end)."""

    managed_object: list[str] = field(default_factory=list)
    measurement: list[str] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    period_end_ns: list[int] = field(default_factory=list)
    granularity_s: list[int] = field(default_factory=list)
    suspect: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.value)

    def add_batch(
        self, mo: str, names: list[str], values: list[float], end_ns: int, gran: int, suspect: bool
    ) -> None:
        """Append one PM batch (one object x one period)."""
        n = len(names)
        self.managed_object.extend([mo] * n)
        self.measurement.extend(names)
        self.value.extend(values)
        self.period_end_ns.extend([end_ns] * n)
        self.granularity_s.extend([gran] * n)
        self.suspect.extend([suspect] * n)

    def extend(self, other: KpiColumns) -> None:
        """Append every row of ``other``."""
        self.managed_object.extend(other.managed_object)
        self.measurement.extend(other.measurement)
        self.value.extend(other.value)
        self.period_end_ns.extend(other.period_end_ns)
        self.granularity_s.extend(other.granularity_s)
        self.suspect.extend(other.suspect)

    def to_frame_ns(self) -> pd.DataFrame:
        """The rows with ``period_end_ns`` as int64 (for grouping without conversions)."""
        return pd.DataFrame(
            {
                "managed_object": self.managed_object,
                "measurement": self.measurement,
                "value": np.asarray(self.value, dtype="float64"),
                "period_end_ns": np.asarray(self.period_end_ns, dtype="int64"),
                "granularity_s": np.asarray(self.granularity_s, dtype="int64"),
                "suspect": np.asarray(self.suspect, dtype="bool"),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "managed_object": self.managed_object,
                "measurement": self.measurement,
                "value": np.asarray(self.value, dtype="float64"),
                "period_end": _times(self.period_end_ns),
                "granularity_s": np.asarray(self.granularity_s, dtype="int32"),
                "suspect": np.asarray(self.suspect, dtype="bool"),
            }
        )


@dataclass(slots=True)
class AlarmColumns:
    """Alarm notifications; ``rows`` are tuples in :data:`ALARM_COLUMNS` order with
    ``event_time`` as int64 ns."""

    rows: list[tuple[object, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame.from_records(self.rows, columns=list(ALARM_COLUMNS))
        frame["event_time"] = _times([r[3] for r in self.rows])  # type: ignore[misc]
        frame["notification_id"] = frame["notification_id"].astype("int64")
        return frame


@dataclass(slots=True)
class LogColumns:
    """Log events; ``rows`` are tuples in :data:`LOG_COLUMNS` order with ``time`` in ns."""

    rows: list[tuple[object, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame.from_records(self.rows, columns=list(LOG_COLUMNS))
        frame["time"] = _times([r[0] for r in self.rows])  # type: ignore[misc]
        frame["template_id"] = frame["template_id"].astype(object)
        return frame


@dataclass(slots=True)
class Columns:
    """The three accumulators of one write batch, and the parts of messages refused
    alone (``rejected``: a PM file's bad value, a batch's bad event), which the caller
    turns into dead letters carrying the message's source."""

    kpis: KpiColumns = field(default_factory=KpiColumns)
    alarms: AlarmColumns = field(default_factory=AlarmColumns)
    logs: LogColumns = field(default_factory=LogColumns)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.kpis) + len(self.alarms) + len(self.logs)

    def frames(self) -> dict[str, pd.DataFrame | None]:
        """DataFrames for the store, ``None`` where nothing was decoded."""
        return {
            "kpis": self.kpis.to_frame() if len(self.kpis) else None,
            "alarms": self.alarms.to_frame() if len(self.alarms) else None,
            "logs": self.logs.to_frame() if len(self.logs) else None,
        }
