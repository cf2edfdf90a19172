"""KPI series and points on PostgreSQL / TimescaleDB (schema version 4 and later).

A KPI row is stored as a *point* ``(series_id, period_end, value, granularity_s,
suspect)`` in the ``kpi`` hypertable (or partitioned table), unique on the narrow key
``(period_end, series_id)``; ``kpi_series`` maps ``(tenant, managed_object,
measurement)`` to the integer ``series_id``. Reads join the names back.

Write path of one batch (see :func:`write_points`):

1. series ids come from a per-store cache; only names never seen by this process are
   looked up (and created when new) in a short transaction of their own, so a series
   id in the cache is always committed;
2. the points are encoded by numpy as one binary COPY stream in key order, with
   duplicates inside the batch removed (and counted);
3. the stream is COPY'd straight into ``kpi`` inside a savepoint. The unique index
   guarantees that this either inserts every row (all keys were new) or fails with a
   unique violation; then the savepoint is rolled back and the batch goes through a
   temporary staging table and ``INSERT ... ON CONFLICT DO NOTHING``, which skips and
   counts the duplicates. After a fallback, later batches take the staging path until
   one of them meets no duplicate (replays come in runs).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import psycopg

from twinrca.store._common import to_utc

if TYPE_CHECKING:
    from twinrca.store.base import TimeLike

__all__ = [
    "KpiPoints",
    "SeriesCache",
    "encode_points",
    "kpi_select",
    "refresh_rollup",
    "resolve_series",
    "write_points",
]

logger = logging.getLogger(__name__)

_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds
_HOUR_US = 3_600_000_000
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" * 2
_COPY_TRAILER = b"\xff\xff"
_COPY_CHUNK = 4 << 20
_SEP = "\x1f"
_POINT_ROW = np.dtype(
    [
        ("nf", ">i2"),
        ("l0", ">i4"), ("sid", ">i4"),
        ("l1", ">i4"), ("ts", ">i8"),
        ("l2", ">i4"), ("value", ">f8"),
        ("l3", ">i4"), ("gran", ">i4"),
        ("l4", ">i4"), ("suspect", "i1"),
    ]
)  # fmt: skip
_VALUE_AT = _POINT_ROW.fields["value"][1]  # type: ignore[index]
_POINT_COLUMNS = "series_id, period_end, value, granularity_s, suspect"
_STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS _stage_point (series_id int4, period_end timestamptz,"
    " value float8, granularity_s int4, suspect bool) ON COMMIT DELETE ROWS;"
    " CREATE TEMP TABLE IF NOT EXISTS _stage_series (ord int4, managed_object text,"
    " measurement text) ON COMMIT DELETE ROWS"
)


class SeriesCache:
    """``managed_object, measurement -> series_id`` of one tenant, vectorised lookups.

    Holds only committed ids; bounded (cleared when ``max_size`` is exceeded).
    """

    def __init__(self, max_size: int = 4_000_000) -> None:
        self.max_size = max_size
        self._lock = threading.Lock()
        self._state: tuple[pd.Index, np.ndarray] = (pd.Index([], dtype=object), _ids([]))

    def __len__(self) -> int:
        return len(self._state[1])

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Series id per key, -1 where unknown."""
        index, ids = self._state
        if not len(ids):
            return np.full(len(keys), -1, dtype=np.int32)
        pos = index.get_indexer(keys)
        return np.where(pos >= 0, ids[pos], -1).astype(np.int32)

    def add(self, keys: np.ndarray, ids: np.ndarray) -> None:
        with self._lock:
            index, known = self._state
            if len(known) + len(keys) > self.max_size:
                index, known = pd.Index([], dtype=object), _ids([])
            self._state = (index.append(pd.Index(keys, dtype=object)), np.concatenate([known, ids]))

    def clear(self) -> None:
        with self._lock:
            self._state = (pd.Index([], dtype=object), _ids([]))


def _ids(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int32)


def series_keys(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``managed_object<US>measurement`` keys and each row's code into them."""
    mo_codes, mo_names = pd.factorize(frame["managed_object"])
    meas_codes, meas_names = pd.factorize(frame["measurement"])
    width = max(1, len(meas_names))
    pair_codes, pairs = pd.factorize(mo_codes.astype(np.int64) * width + meas_codes)
    mo = np.asarray(mo_names, dtype=object)[pairs // width]
    meas = np.asarray(meas_names, dtype=object)[pairs % width]
    return mo + _SEP + meas, pair_codes


def resolve_series(
    conn_factory: Any, tenant: str, cache: SeriesCache, keys: np.ndarray
) -> np.ndarray:
    """Series ids of ``keys``: from the cache, else looked up or created (and committed)."""
    ids = cache.lookup(keys)
    missing = np.flatnonzero(ids < 0)
    if len(missing):
        found = _fetch_or_create(conn_factory, tenant, keys[missing])
        cache.add(keys[missing], found)
        ids[missing] = found
    return ids


def _fetch_or_create(conn_factory: Any, tenant: str, keys: np.ndarray) -> np.ndarray:
    parts = [k.split(_SEP, 1) for k in keys.tolist()]
    with conn_factory("kpi series") as conn:
        conn.execute(_STAGE_DDL)
        with conn.cursor() as cur, cur.copy("COPY _stage_series FROM STDIN") as copy:
            for i, (mo, meas) in enumerate(parts):
                copy.write_row((i, mo, meas))
        # sorted inserts: concurrent writers creating the same series cannot deadlock
        conn.execute(
            "INSERT INTO kpi_series (tenant, managed_object, measurement)"
            " SELECT %s, managed_object, measurement FROM _stage_series"
            " ORDER BY managed_object, measurement ON CONFLICT DO NOTHING",
            (tenant,),
        )
        row = conn.execute(
            "SELECT array_agg(s.series_id ORDER BY x.ord) FROM _stage_series x"
            " JOIN kpi_series s ON s.tenant = %s AND s.managed_object = x.managed_object"
            " AND s.measurement = x.measurement",
            (tenant,),
        ).fetchone()
    found = np.asarray(row[0] if row and row[0] else [], dtype=np.int32)
    if len(found) != len(keys):  # pragma: no cover - the insert above guarantees them
        raise psycopg.DataError(f"{len(keys) - len(found)} KPI series could not be resolved")
    return found


@dataclass(frozen=True, slots=True)
class KpiPoints:
    """One batch of points encoded as a binary COPY stream of :data:`_POINT_COLUMNS`."""

    payload: bytes
    rows: int  # distinct keys in the payload
    in_batch_duplicates: int
    hours: list[Any]  # distinct hour starts (aware datetimes) of the points


def encode_points(frame: pd.DataFrame, series_ids: np.ndarray) -> KpiPoints:
    """Encode a normalised KPI frame (``series_ids`` per row) in key order, vectorised.

    Rows repeating a ``(period_end, series_id)`` key of the same batch are dropped (the
    first one is kept), so the stream never conflicts with itself.
    """
    ts = frame["period_end"].to_numpy(dtype="datetime64[us]").view(np.int64)
    order = np.lexsort((series_ids, ts))  # stable: the first of equal keys stays first
    sid, t = series_ids[order], ts[order]
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = (sid[1:] != sid[:-1]) | (t[1:] != t[:-1])
    idx = order[keep]
    n = len(idx)
    rows = np.empty(n, dtype=_POINT_ROW)
    rows["nf"] = 5
    for lf, width in (("l0", 4), ("l1", 8), ("l2", 8), ("l3", 4), ("l4", 1)):
        rows[lf] = width
    rows["sid"] = series_ids[idx]
    rows["ts"] = ts[idx] - _PG_EPOCH_US
    values = frame["value"].to_numpy(dtype=np.float64)[idx]
    rows["value"] = values
    rows["gran"] = frame["granularity_s"].to_numpy(dtype=np.int32)[idx]
    rows["suspect"] = frame["suspect"].to_numpy(dtype=bool)[idx]
    missing = np.isnan(values)
    if missing.any():  # NULL values: length -1 and no data bytes
        rows["l2"][missing] = -1
        data = rows.view(np.uint8).reshape(n, _POINT_ROW.itemsize)
        mask = np.ones(data.shape, dtype=bool)
        mask[np.ix_(missing, np.arange(_VALUE_AT, _VALUE_AT + 8))] = False
        body = data[mask].tobytes()
    else:
        body = rows.tobytes()
    hours = np.unique(ts[idx] // _HOUR_US) * _HOUR_US
    starts = pd.to_datetime(hours, unit="us", utc=True).to_pydatetime().tolist()
    return KpiPoints(b"".join((_COPY_HEADER, body, _COPY_TRAILER)), n, len(order) - n, starts)


def _copy_payload(conn: psycopg.Connection, table: str, payload: bytes) -> None:
    view = memoryview(payload)
    statement = f"COPY {table} ({_POINT_COLUMNS}) FROM STDIN (FORMAT BINARY)"
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for i in range(0, len(view), _COPY_CHUNK):
            copy.write(view[i : i + _COPY_CHUNK])


class DirectMode:
    """Whether the next batch tries the direct COPY (shared by a store's writers)."""

    def __init__(self) -> None:
        self.enabled = True


def write_points(
    conn: psycopg.Connection, tenant: str, points: KpiPoints, mode: DirectMode, rollup: bool
) -> int:
    """Insert the points in the caller's transaction; return the rows inserted."""
    written: int | None = None
    if mode.enabled:
        try:
            with conn.transaction():  # a savepoint: a unique violation undoes only this
                _copy_payload(conn, "kpi", points.payload)
            written = points.rows
        except psycopg.errors.UniqueViolation:
            logger.debug("KPI batch holds stored keys; deduplicating through staging")
            mode.enabled = False
    if written is None:
        conn.execute(_STAGE_DDL)
        _copy_payload(conn, "_stage_point", points.payload)
        cur = conn.execute(
            f"INSERT INTO kpi ({_POINT_COLUMNS}) SELECT {_POINT_COLUMNS} FROM _stage_point"
            " ON CONFLICT DO NOTHING"
        )
        written = cur.rowcount
        mode.enabled = written == points.rows
    if rollup and written:
        conn.execute(
            "INSERT INTO kpi_hourly_dirty (tenant, bucket) SELECT %s, unnest(%s::timestamptz[])"
            " ON CONFLICT DO NOTHING",
            (tenant, points.hours),
        )
    return written


_NAMED = (
    "s.managed_object, s.measurement, k.value, k.period_end, k.granularity_s, k.suspect"
    " FROM kpi k JOIN kpi_series s ON s.series_id = k.series_id"
)


def kpi_select(
    tenant: str,
    start: TimeLike | None,
    end: TimeLike | None,
    managed_objects: list[str] | None,
    measurements: list[str] | None,
) -> tuple[str, list[Any]]:
    """The query (and parameters) of :meth:`Store.read_kpis`."""
    clauses: list[str] = ["s.tenant = %s"]
    params: list[Any] = [tenant]
    for clause, value in (
        ("k.period_end >= %s", to_utc(start)),
        ("k.period_end < %s", to_utc(end)),
        ("s.managed_object = ANY(%s)", None if managed_objects is None else list(managed_objects)),
        ("s.measurement = ANY(%s)", None if measurements is None else list(measurements)),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    where = " AND ".join(clauses)
    return (
        f"SELECT {_NAMED} WHERE {where} ORDER BY k.period_end, s.managed_object, s.measurement",
        params,
    )


def refresh_rollup(conn: psycopg.Connection, tenant: str) -> None:
    """Recompute the hourly buckets written since the last refresh (the rollup fallback)."""
    buckets = [
        r[0]
        for r in conn.execute(
            "DELETE FROM kpi_hourly_dirty WHERE tenant = %s RETURNING bucket", (tenant,)
        ).fetchall()
    ]
    if not buckets:
        return
    conn.execute("DELETE FROM kpi_hourly WHERE tenant = %s AND bucket = ANY(%s)", (tenant, buckets))
    conn.execute(
        "INSERT INTO kpi_hourly (tenant, bucket, managed_object, measurement, n, mean, min, max)"
        " SELECT s.tenant, b.bucket, s.managed_object, s.measurement, count(k.value),"
        " avg(k.value), min(k.value), max(k.value)"
        " FROM unnest(%s::timestamptz[]) AS b(bucket) JOIN kpi k"
        " ON k.period_end >= b.bucket AND k.period_end < b.bucket + INTERVAL '1 hour'"
        " JOIN kpi_series s ON s.series_id = k.series_id AND s.tenant = %s"
        " GROUP BY s.tenant, b.bucket, s.managed_object, s.measurement",
        (buckets, tenant),
    )
