"""Helpers shared by the backends: time bounds, JSON, document versions, binary COPY."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from twinrca.core.errors import StoreError
from twinrca.core.timeutil import parse_time
from twinrca.store.base import TimeLike

__all__ = [
    "PARTITION_INTERVALS",
    "bucket_starts",
    "check_version",
    "json_dumps",
    "json_normal",
    "kpi_copy_payload",
    "to_utc",
]

#: chunk (TimescaleDB) and partition (PostgreSQL) width per time-series table.
PARTITION_INTERVALS: dict[str, timedelta] = {
    "kpi": timedelta(days=1),
    "log": timedelta(days=1),
    "alarm": timedelta(days=7),
    "metric": timedelta(days=7),
}

_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" * 2
_COPY_TRAILER = b"\xff\xff"
_KPI_ROW = np.dtype(
    [
        ("nf", ">i2"),
        ("l0", ">i4"), ("mo", ">i4"),
        ("l1", ">i4"), ("meas", ">i4"),
        ("l2", ">i4"), ("value", ">f8"),
        ("l3", ">i4"), ("ts", ">i8"),
        ("l4", ">i4"), ("gran", ">i4"),
        ("l5", ">i4"), ("suspect", "i1"),
    ]
)  # fmt: skip


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


@dataclass(frozen=True, slots=True)
class KpiCodes:
    """A KPI frame with its text columns replaced by dictionary codes."""

    payload: bytes
    managed_objects: list[str]
    measurements: list[str]
    rows: int


def kpi_copy_payload(frame: pd.DataFrame) -> KpiCodes:
    """Encode a normalised KPI frame as one PostgreSQL binary COPY stream, vectorised.

    Text columns become int4 codes into two small dictionaries (copied separately), so
    every row has the same width and numpy writes the whole stream in one pass.
    """
    mo_codes, mo_names = pd.factorize(frame["managed_object"], sort=True)
    meas_codes, meas_names = pd.factorize(frame["measurement"], sort=True)
    ts = frame["period_end"].to_numpy(dtype="datetime64[us]").view(np.int64)
    # key order: the unique index then grows almost sequentially (measured ~1.3x faster)
    order = np.lexsort((ts, meas_codes, mo_codes))
    n = len(frame)
    rows = np.empty(n, dtype=_KPI_ROW)
    rows["nf"] = 6
    for lf, width in (("l0", 4), ("l1", 4), ("l2", 8), ("l3", 8), ("l4", 4), ("l5", 1)):
        rows[lf] = width
    rows["mo"] = mo_codes[order]
    rows["meas"] = meas_codes[order]
    rows["value"] = frame["value"].to_numpy(dtype=np.float64)[order]
    rows["ts"] = ts[order] - _PG_EPOCH_US
    rows["gran"] = frame["granularity_s"].to_numpy(dtype=np.int32)[order]
    rows["suspect"] = frame["suspect"].to_numpy(dtype=bool)[order]
    payload = b"".join((_COPY_HEADER, rows.tobytes(), _COPY_TRAILER))
    return KpiCodes(payload, [str(x) for x in mo_names], [str(x) for x in meas_names], n)


def bucket_starts(times_us: np.ndarray, width: timedelta) -> list[datetime]:
    """Distinct partition starts (aligned on the Unix epoch) covering the given times."""
    if len(times_us) == 0:
        return []
    step = int(width.total_seconds() * 1_000_000)
    starts = np.unique(np.floor_divide(times_us, step)) * step
    return [datetime.fromtimestamp(int(s) / 1_000_000, UTC) for s in starts]
