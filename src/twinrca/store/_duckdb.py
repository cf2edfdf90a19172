"""Embedded backend: one DuckDB file (or memory), no server. The default of ``make demo``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from twinrca.core.errors import SchemaMismatch, StoreError, StoreUnavailable
from twinrca.core.timeutil import utcnow
from twinrca.store import _duckdb_schema as schema
from twinrca.store._duckdb_extras import DuckExtrasMixin, duck_where
from twinrca.store.base import (
    ALARM_COLUMNS,
    KPI_COLUMNS,
    KPI_HOURLY_COLUMNS,
    LOG_COLUMNS,
    Store,
    TimeLike,
    WriteBatch,
    WriteResult,
)
from twinrca.store.frames import normalise_alarms, normalise_kpis, normalise_logs

__all__ = ["DuckDBStore"]

_KEYS = {
    "kpi": ["managed_object", "measurement", "period_end"],
    "alarm": ["alarm_id", "state", "event_time"],
    "log": ["source", "time", "log_key"],
}
_TIME = {"kpi": "period_end", "alarm": "event_time", "log": "time", "metric": "time"}
_OUTBOX = "id, destination, payload, attempts, created_at, next_attempt_at, last_error, key"


class DuckDBStore(DuckExtrasMixin, Store):
    """The store in an embedded DuckDB database (one writer process at a time)."""

    def __init__(self, path: str | Path | None, *, tenant: str) -> None:
        self.backend = "embedded"
        self.tenant = tenant
        target = ":memory:" if path in (None, ":memory:") else str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(target)
        except (duckdb.IOException, duckdb.Error) as exc:
            raise StoreUnavailable(
                f"cannot open the embedded store {target}: {exc}",
                hint="check TWINRCA_STORE__EMBEDDED_PATH (another process may hold the file)",
            ) from exc
        self._con.execute("SET TimeZone = 'UTC'")
        self._lock = threading.RLock()
        schema.check_not_newer(schema.stored_version(self._con))

    # --- plumbing -------------------------------------------------------------------
    @contextmanager
    def _tx(self, what: str) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            self._con.begin()
            try:
                yield self._con
            except BaseException as exc:
                self._con.rollback()
                if isinstance(exc, duckdb.CatalogException):
                    raise SchemaMismatch(
                        f"{what}: {exc}", hint="run `twinrca store migrate`"
                    ) from exc
                if isinstance(exc, duckdb.Error):
                    raise StoreError(f"{what} failed: {exc}") from exc
                raise
            self._con.commit()

    def _rows(self, what: str, query: str, params: list[Any]) -> list[tuple[Any, ...]]:
        with self._tx(what) as con:
            return con.execute(query, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._con.close()

    # --- lifecycle ------------------------------------------------------------------
    def migrate(self) -> int:
        with self._tx("migrate") as con:
            return schema.run_migrations(con)

    def schema_version(self) -> int:
        with self._lock:
            return schema.stored_version(self._con)

    def server_version(self) -> str:
        return f"DuckDB {duckdb.__version__} (embedded)"

    def features(self) -> dict[str, bool]:
        rows = self._rows(
            "features", "SELECT key, value FROM store_meta WHERE key LIKE 'feature.%'", []
        )
        found = {k.removeprefix("feature."): v == "true" for k, v in rows}
        return found | {"hypertables": False, "partitioning": False}

    # --- writes ---------------------------------------------------------------------
    def write_batch(self, batch: WriteBatch) -> WriteResult:
        frames = {
            "kpi": normalise_kpis(batch.kpis)
            if batch.kpis is not None and len(batch.kpis)
            else None,
            "alarm": normalise_alarms(batch.alarms)
            if batch.alarms is not None and len(batch.alarms)
            else None,
            "log": normalise_logs(batch.logs)
            if batch.logs is not None and len(batch.logs)
            else None,
        }
        if batch.offsets and not batch.group:
            raise StoreError("offsets need a consumer group", hint="set WriteBatch.group")
        written: dict[str, int] = {}
        staged = 0
        with self._tx("write_batch") as con:
            for table, frame in frames.items():
                if frame is None:
                    written[table] = 0
                    continue
                staged += len(frame)
                written[table] = self._insert(con, table, frame)
            for (topic, part), offset in sorted((batch.offsets or {}).items()):
                con.execute(
                    "INSERT INTO ingest_offset VALUES (?, ?, ?, ?, ?, now()) ON CONFLICT DO UPDATE"
                    " SET next_offset = greatest(ingest_offset.next_offset, excluded.next_offset),"
                    " updated_at = now()",
                    [self.tenant, batch.group, topic, int(part), int(offset)],
                ).fetchall()
        k, a, lg = written["kpi"], written["alarm"], written["log"]
        return WriteResult(k, a, lg, staged - k - a - lg)

    def _insert(self, con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
        if table == "log":
            frame = frame.copy()
            if "log_key" not in frame.columns:
                frame["log_key"] = None
        cols = list(frame.columns)
        expr = {c: "coalesce(log_key, md5(message))" if c == "log_key" else f'"{c}"' for c in cols}
        select = ", ".join(expr[c] for c in cols)
        distinct = ", ".join(expr[c] for c in _KEYS[table])  # DuckDB rejects in-batch duplicates
        con.register("_stage", frame)
        try:
            row = con.execute(
                f"INSERT INTO {table} (tenant, {', '.join(cols)}) SELECT DISTINCT ON ({distinct})"
                f" ?, {select} FROM _stage"
                " ON CONFLICT DO NOTHING",
                [self.tenant],
            ).fetchone()
        finally:
            con.unregister("_stage")
        return int(row[0]) if row else 0

    # --- reads ----------------------------------------------------------------------
    def _read(
        self,
        table: str,
        columns: tuple[str, ...],
        order: str,
        start: TimeLike | None,
        end: TimeLike | None,
        **any_of: list[str] | None,
    ) -> pd.DataFrame:
        where, params = duck_where(self.tenant, _TIME.get(table, "bucket"), start, end, **any_of)
        with self._tx(f"read {table}") as con:
            return con.execute(
                f"SELECT {', '.join(columns)} FROM {table} WHERE {where} ORDER BY {order}", params
            ).df()

    def read_kpis(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        managed_objects: list[str] | None = None,
        measurements: list[str] | None = None,
    ) -> pd.DataFrame:
        frame = self._read(
            "kpi",
            KPI_COLUMNS,
            "period_end, managed_object, measurement",
            start,
            end,
            managed_object=managed_objects,
            measurement=measurements,
        )
        return normalise_kpis(frame)

    def read_alarms(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        managed_objects: list[str] | None = None,
    ) -> pd.DataFrame:
        frame = self._read(
            "alarm",
            ALARM_COLUMNS,
            "event_time, alarm_id, state",
            start,
            end,
            managed_object=managed_objects,
        )
        return normalise_alarms(frame)

    def read_logs(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        sources: list[str] | None = None,
    ) -> pd.DataFrame:
        frame = self._read("log", LOG_COLUMNS, "time, source", start, end, source=sources)
        return normalise_logs(frame)

    def read_kpi_hourly(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        managed_objects: list[str] | None = None,
        measurements: list[str] | None = None,
    ) -> pd.DataFrame:
        where, params = duck_where(
            self.tenant,
            "bucket",
            start,
            end,
            managed_object=managed_objects,
            measurement=measurements,
        )
        with self._tx("read_kpi_hourly") as con:
            frame = con.execute(
                "WITH h AS (SELECT tenant, date_trunc('hour', period_end) AS bucket,"
                " managed_object,"
                " measurement, count(value) AS n, avg(value) AS mean, min(value) AS min,"
                " max(value) AS max FROM kpi GROUP BY ALL)"
                f" SELECT {', '.join(KPI_HOURLY_COLUMNS)} FROM h WHERE {where}"
                " ORDER BY bucket, managed_object, measurement",
                params,
            ).df()
        frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True).dt.as_unit("us")
        frame["n"] = frame["n"].astype(np.int64)
        return frame.astype({"mean": np.float64, "min": np.float64, "max": np.float64})

    def read_offsets(self, group: str) -> dict[tuple[str, int], int]:
        rows = self._rows(
            "read_offsets",
            "SELECT topic, partition, next_offset FROM ingest_offset"
            " WHERE tenant = ? AND consumer_group = ?",
            [self.tenant, group],
        )
        return {(str(t), int(p)): int(o) for t, p, o in rows}

    def apply_retention(
        self, older_than: timedelta, *, tables: tuple[str, ...] = ("kpi", "alarm", "log", "metric")
    ) -> dict[str, int]:
        cutoff = utcnow() - older_than
        out: dict[str, int] = {}
        with self._tx("apply_retention") as con:
            for table in tables:
                if table not in _TIME:
                    raise StoreError(f"no retention for table {table!r}")
                row = con.execute(
                    f"DELETE FROM {table} WHERE {_TIME[table]} < ?", [cutoff]
                ).fetchone()
                out[table] = int(row[0]) if row else 0
        return out
