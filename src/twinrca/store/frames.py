"""Core records to and from the frames :meth:`Store.write_batch` takes (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from twinrca.core.errors import ValidationError
from twinrca.core.records import Alarm, KpiSample, LogEvent
from twinrca.store.base import ALARM_COLUMNS, KPI_COLUMNS, LOG_COLUMNS

__all__ = [
    "alarms_frame",
    "empty_alarms",
    "empty_kpis",
    "empty_logs",
    "kpis_frame",
    "logs_frame",
    "normalise_alarms",
    "normalise_kpis",
    "normalise_logs",
]


def _utc_series(values: pd.Series | list[object], column: str) -> pd.Series:
    try:
        out = pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            "bad_time", f"column {column!r} holds a value that is not a time"
        ) from exc
    out = pd.Series(out).reset_index(drop=True)
    if out.isna().any():
        raise ValidationError("missing_time", f"column {column!r} has empty times")
    return out.dt.as_unit("us")


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError("missing_columns", f"{what} frame lacks columns {missing}")


def empty_kpis() -> pd.DataFrame:
    return normalise_kpis(pd.DataFrame({c: [] for c in KPI_COLUMNS}))


def empty_alarms() -> pd.DataFrame:
    return normalise_alarms(pd.DataFrame({c: [] for c in ALARM_COLUMNS}))


def empty_logs() -> pd.DataFrame:
    return normalise_logs(pd.DataFrame({c: [] for c in LOG_COLUMNS}))


def normalise_kpis(frame: pd.DataFrame) -> pd.DataFrame:
    """The KPI columns with their canonical dtypes (a new frame; the input is not changed)."""
    _require(frame, KPI_COLUMNS, "kpis")
    return pd.DataFrame(
        {
            # pandas' own string arrays: no round trip through Python str objects
            "managed_object": frame["managed_object"].astype(str).array,
            "measurement": frame["measurement"].astype(str).array,
            "value": pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64),
            "period_end": _utc_series(frame["period_end"], "period_end").array,
            "granularity_s": frame["granularity_s"].fillna(0).to_numpy(dtype=np.int32),
            "suspect": frame["suspect"].fillna(False).to_numpy(dtype=bool),
        }
    )


def normalise_alarms(frame: pd.DataFrame) -> pd.DataFrame:
    """The alarm columns with canonical dtypes; ``notification_id`` as nullable Int64."""
    _require(frame, [c for c in ALARM_COLUMNS if c != "notification_id"], "alarms")
    out = pd.DataFrame(index=range(len(frame)))
    for col in ALARM_COLUMNS:
        if col == "event_time":
            out[col] = _utc_series(frame[col], col).array
        elif col == "notification_id":
            src = frame[col] if col in frame.columns else pd.Series([None] * len(frame))
            out[col] = pd.array(pd.to_numeric(src, errors="coerce"), dtype="Int64")
        else:
            src = (
                frame[col].fillna("")
                if col in ("specific_problem", "additional_text")
                else frame[col]
            )
            out[col] = src.astype(str).to_numpy(dtype=object)
    return out


def normalise_logs(frame: pd.DataFrame) -> pd.DataFrame:
    """The log columns (plus ``log_key`` when given) with canonical dtypes."""
    _require(frame, [c for c in LOG_COLUMNS if c != "template_id"], "logs")
    out = pd.DataFrame(index=range(len(frame)))
    out["time"] = _utc_series(frame["time"], "time").array
    for col in ("source", "severity", "message"):
        out[col] = frame[col].astype(str).to_numpy(dtype=object)
    tmpl = (
        frame["template_id"] if "template_id" in frame.columns else pd.Series([None] * len(frame))
    )
    out["template_id"] = [None if pd.isna(t) else str(t) for t in tmpl]
    if "log_key" in frame.columns:
        out["log_key"] = [None if pd.isna(k) else str(k) for k in frame["log_key"]]
    return out


def kpis_frame(records: Iterable[KpiSample]) -> pd.DataFrame:
    """KPI samples as a write frame."""
    rows = [
        (r.managed_object, r.measurement, r.value, r.period_end, r.granularity_s, r.suspect)
        for r in records
    ]
    return normalise_kpis(pd.DataFrame(rows, columns=list(KPI_COLUMNS)))


def alarms_frame(records: Iterable[Alarm]) -> pd.DataFrame:
    """Alarms as a write frame (enums as their string values)."""
    rows = [
        (
            a.alarm_id,
            a.notification_id,
            a.managed_object,
            a.event_time,
            str(a.alarm_type),
            a.probable_cause,
            a.specific_problem,
            str(a.perceived_severity),
            str(a.state),
            a.additional_text,
        )
        for a in records
    ]
    return normalise_alarms(pd.DataFrame(rows, columns=list(ALARM_COLUMNS)))


def logs_frame(records: Iterable[LogEvent]) -> pd.DataFrame:
    """Log events as a write frame."""
    rows = [(e.time, e.source, e.severity, e.message, e.template_id) for e in records]
    return normalise_logs(pd.DataFrame(rows, columns=list(LOG_COLUMNS)))
