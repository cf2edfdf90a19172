"""What a user ingested, read back: KPIs, alarms, logs or incidents as CSV or Parquet.

:func:`export_frame` reads one kind from a store (optionally a time window and one
element: the managed object of KPIs and alarms, the source of logs, any element of an
incident); :func:`write_frame` writes it by the file's suffix (``.csv``,
``.parquet``). Incidents are flattened to one row each with their top cause.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from twinrca.core.errors import ValidationError
from twinrca.store.base import Store, TimeLike

__all__ = ["EXPORT_KINDS", "INCIDENT_COLUMNS", "export_frame", "write_frame"]

EXPORT_KINDS = ("kpis", "alarms", "logs", "incidents")
INCIDENT_COLUMNS = (
    "incident_id",
    "state",
    "trigger",
    "opened_at",
    "closed_at",
    "severity",
    "root_element",
    "top_cause_element",
    "top_cause_mode",
    "top_cause_probability",
    "elements",
    "alarms",
)
_MAX_INCIDENTS = 1_000_000


def _incident_row(doc: dict[str, Any]) -> dict[str, Any]:
    top = (doc.get("candidates") or [{}])[0]
    return {
        "incident_id": doc.get("incident_id"),
        "state": doc.get("state"),
        "trigger": doc.get("trigger", "alarm"),
        "opened_at": doc.get("opened_at"),
        "closed_at": doc.get("closed_at"),
        "severity": doc.get("severity"),
        "root_element": doc.get("root_element"),
        "top_cause_element": top.get("element"),
        "top_cause_mode": top.get("failure_mode"),
        "top_cause_probability": top.get("probability"),
        "elements": " ".join(map(str, doc.get("elements") or [])),
        "alarms": len(doc.get("alarms") or doc.get("alarm_ids") or []),
    }


def _incidents(store: Store, start: TimeLike | None, end: TimeLike | None, element: str | None):
    docs = store.list_documents("incident", limit=_MAX_INCIDENTS)
    if element is not None:
        docs = [d for d in docs if element in (d.get("elements") or [])]
    frame = pd.DataFrame([_incident_row(d) for d in docs], columns=list(INCIDENT_COLUMNS))
    for col in ("opened_at", "closed_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
    if start is not None:
        frame = frame[frame["opened_at"] >= pd.Timestamp(start)]
    if end is not None:
        frame = frame[frame["opened_at"] < pd.Timestamp(end)]
    return frame.sort_values("opened_at", kind="stable").reset_index(drop=True)


def export_frame(
    store: Store,
    kind: str,
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    element: str | None = None,
) -> pd.DataFrame:
    """Rows of one kind (:data:`EXPORT_KINDS`) from ``store``."""
    only = [element] if element is not None else None
    if kind == "kpis":
        return store.read_kpis(start, end, managed_objects=only)
    if kind == "alarms":
        return store.read_alarms(start, end, managed_objects=only)
    if kind == "logs":
        return store.read_logs(start, end, sources=only)
    if kind == "incidents":
        return _incidents(store, start, end, element)
    raise ValidationError("bad_value", f"--kind {kind!r}: use one of {', '.join(EXPORT_KINDS)}")


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV or Parquet, chosen by the suffix of ``path``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValidationError("bad_value", f"--out {path}: name a .csv or .parquet file")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path
