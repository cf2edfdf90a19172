"""Helpers shared by the backends: time bounds, JSON, document versions, partitions."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from twinrca.core.errors import StoreError, ValidationError
from twinrca.core.timeutil import parse_time
from twinrca.store.base import OutboxEntry, TimeLike

__all__ = [
    "PARTITION_INTERVALS",
    "bucket_starts",
    "check_version",
    "json_dumps",
    "json_normal",
    "to_utc",
    "where_clause",
]

#: chunk (TimescaleDB) and partition (PostgreSQL) width per time-series table.
PARTITION_INTERVALS: dict[str, timedelta] = {
    "kpi": timedelta(days=1),
    "log": timedelta(days=1),
    "alarm": timedelta(days=7),
    "metric": timedelta(days=7),
}


def where_clause(
    tenant: str,
    column: str,
    start: TimeLike | None,
    end: TimeLike | None,
    *,
    mark: str,
    any_of_sql: str,
    **any_of: list[str] | None,
) -> tuple[str, list[Any]]:
    """``tenant = ? AND column >= start AND column < end AND name IN values...`` with the
    backend's parameter ``mark`` and list-membership form (``any_of_sql`` formats
    ``{name}`` and ``{mark}``)."""
    clauses: list[str] = [f"tenant = {mark}"]
    params: list[Any] = [tenant]
    if start is not None:
        clauses.append(f"{column} >= {mark}")
        params.append(to_utc(start))
    if end is not None:
        clauses.append(f"{column} < {mark}")
        params.append(to_utc(end))
    for name, values in any_of.items():
        if values is not None:
            clauses.append(any_of_sql.format(name=name, mark=mark))
            params.append(list(values))
    return " AND ".join(clauses), params


def to_utc(value: TimeLike | None) -> datetime | None:
    """A time bound as an aware UTC datetime (None stays None)."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    return parse_time(value)


def _default(obj: object) -> object:
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray | set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"cannot store a {type(obj).__name__} in a JSON document")


def json_dumps(doc: object) -> str:
    """JSON text of a document (datetimes as ISO 8601, numpy scalars as numbers)."""
    try:
        return json.dumps(doc, default=_default, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"document is not JSON serialisable: {exc}") from exc


def json_normal(doc: object) -> Any:
    """The document as it reads back from the store."""
    return json.loads(json_dumps(doc))


def check_version(
    kind: str, doc_id: str, stored: tuple[int, Any] | None, version: int | None, doc: Mapping
) -> int | None:
    """The version to write, or None when the put is a no-op repeat (see Store.put_document)."""
    current = None if stored is None else stored[0]
    if version is None:
        return (current or 0) + 1
    if current is None or version > current:
        return version
    if version == current and json_normal(doc) == stored[1]:  # type: ignore[index]
        return None
    raise StoreError(
        f"document version conflict: stored version {current}, put version {version}",
        hint="put without a version to take the next one",
        kind=kind,
        doc_id=doc_id,
    )


def bucket_starts(times_us: np.ndarray, width: timedelta) -> list[datetime]:
    """Distinct partition starts (aligned on the Unix epoch) covering the given times."""
    if len(times_us) == 0:
        return []
    step = int(width.total_seconds() * 1_000_000)
    starts = np.unique(np.floor_divide(times_us, step)) * step
    return [datetime.fromtimestamp(int(s) / 1_000_000, UTC) for s in starts]


def split_outbox_entry(entry: OutboxEntry) -> tuple[str, Mapping[str, Any], str | None]:
    """``(destination, payload, key or None)`` of a ``put_document`` outbox entry."""
    if len(entry) == 2:
        return entry[0], entry[1], None
    if len(entry) == 3:
        return entry
    raise ValidationError(
        "bad_outbox_entry",
        f"an outbox entry is (destination, payload[, key]), not {len(entry)} items",
    )
