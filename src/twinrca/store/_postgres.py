"""PostgreSQL and TimescaleDB backend: psycopg 3, a connection pool, binary COPY writes."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from twinrca.core.errors import ConfigError, SchemaMismatch, StoreError, StoreUnavailable
from twinrca.core.timeutil import utcnow
from twinrca.store import _pg_kpi as kpi_points
from twinrca.store import _pg_schema as schema
from twinrca.store._common import PARTITION_INTERVALS, bucket_starts, where_clause
from twinrca.store._pg_extras import PgExtrasMixin
from twinrca.store._pg_write import (
    STAGE_DDL,
    drop_chunks,
    drop_partitions,
    write_alarms,
    write_logs,
    write_offsets,
)
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

__all__ = ["PostgresStore", "redact"]

logger = logging.getLogger(__name__)

_URL_HINT = (
    "check TWINRCA_STORE__URL (host, port, user, password, database) and that the server runs"
)


def redact(url: str) -> str:
    """The URL without its password."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", re.sub(r"password=\S+", "password=***", url))


class PostgresStore(PgExtrasMixin, Store):
    """The store on PostgreSQL (native partitions) or TimescaleDB (hypertables)."""

    def __init__(
        self,
        url: str,
        *,
        timescale: bool,
        tenant: str,
        pool_max: int = 8,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.backend = "timescaledb" if timescale else "postgres"
        self.tenant = tenant
        self._url = url
        self._timescale = timescale
        self._partitions: set[tuple[str, datetime]] = set()
        self._features: dict[str, bool] | None = None
        self._series = kpi_points.SeriesCache()
        self._direct = kpi_points.DirectMode()
        timeout = max(2, math.ceil(connect_timeout_s))
        self._ts_schema = self._probe_server(timeout)
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_max),
            kwargs={"connect_timeout": timeout, "application_name": "twinrca"},
            configure=_configure,
            check=ConnectionPool.check_connection,
            open=False,
            name=f"twinrca-{self.backend}",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout_s + 5)
        except PoolTimeout as exc:
            raise StoreUnavailable("cannot open the store connection pool", hint=_URL_HINT) from exc

    # --- connection -----------------------------------------------------------------
    def _probe_server(self, timeout: int) -> str | None:
        """Connect once to fail fast with the server's own reason; check schema and extension."""
        try:
            with psycopg.connect(self._url, connect_timeout=timeout) as conn:
                schema.check_not_newer(schema.stored_version(conn))
                return self._timescale_schema(conn) if self._timescale else None
        except psycopg.OperationalError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            reason = " ".join(lines) or type(exc).__name__
            raise StoreUnavailable(
                f"cannot connect to the {self.backend} store at {redact(self._url)}: {reason}",
                hint=_URL_HINT,
            ) from exc
        except psycopg.Error as exc:
            raise StoreError(f"store check failed: {exc}", hint=_URL_HINT) from exc

    def _timescale_schema(self, conn: psycopg.Connection) -> str:
        row = conn.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'timescaledb'"
        ).fetchone()
        if row:
            return str(row[0])
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
        if not available:
            raise ConfigError(
                "the timescaledb extension is not available on this PostgreSQL server",
                hint="install TimescaleDB there, or set TWINRCA_STORE__BACKEND=postgres",
            )
        try:
            # in public, not in the search path's first schema (often a tenant's, dropped
            # with it); its functions are schema-qualified wherever the extension lives
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb SCHEMA public")
            conn.commit()
        except psycopg.Error as exc:
            raise ConfigError(
                f"cannot create the timescaledb extension: {str(exc).strip().splitlines()[0]}",
                hint="add timescaledb to shared_preload_libraries and grant CREATE, "
                "or set TWINRCA_STORE__BACKEND=postgres",
            ) from exc
        return self._timescale_schema(conn)

    @contextmanager
    def _tx(self, what: str) -> Iterator[psycopg.Connection]:
        """One transaction on a pooled connection, with errors mapped to TwinRCA's."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise StoreUnavailable(
                f"store unreachable during {what}: {exc}", hint=_URL_HINT
            ) from exc
        except psycopg.errors.UndefinedTable as exc:
            raise SchemaMismatch(
                f"{what}: {str(exc).splitlines()[0]}", hint="run `twinrca store migrate`"
            ) from exc
        except psycopg.Error as exc:
            sqlstate = getattr(exc, "sqlstate", None)
            raise StoreError(f"{what} failed: {str(exc).strip()}", sqlstate=sqlstate) from exc

    def close(self) -> None:
        self._pool.close()

    # --- lifecycle ------------------------------------------------------------------
    def migrate(self) -> int:
        ctx = schema.Ctx(timescale=self._timescale, ts_schema=self._ts_schema)
        with self._tx("migrate") as conn:
            version = schema.run_migrations(conn, ctx)
        self._features = None
        self._partitions.clear()
        self._series.clear()
        return version

    def schema_version(self) -> int:
        with self._tx("schema_version") as conn:
            return schema.stored_version(conn)

    def server_version(self) -> str:
        with self._tx("server_version") as conn:
            pg = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            ts = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone()
        text = f"PostgreSQL {str(pg).split()[0]}"
        return f"{text}, timescaledb {ts[0]}" if ts and self._timescale else text

    def features(self) -> dict[str, bool]:
        if self._features is None:
            with self._tx("features") as conn:
                rows = conn.execute(
                    "SELECT key, value FROM store_meta WHERE key LIKE 'feature.%%'"
                ).fetchall()
            found = {k.removeprefix("feature."): v == "true" for k, v in rows}
            found["hypertables"] = self._timescale
            found["partitioning"] = not self._timescale
            self._features = found
        return dict(self._features)

    # --- writes ---------------------------------------------------------------------
    def write_batch(self, batch: WriteBatch) -> WriteResult:
        kpis = normalise_kpis(batch.kpis) if batch.kpis is not None and len(batch.kpis) else None
        alarms = (
            normalise_alarms(batch.alarms)
            if batch.alarms is not None and len(batch.alarms)
            else None
        )
        logs = normalise_logs(batch.logs) if batch.logs is not None and len(batch.logs) else None
        if batch.offsets and not batch.group:
            raise StoreError("offsets need a consumer group", hint="set WriteBatch.group")
        self._prepare_partitions(kpis, alarms, logs)
        rollup = not self.features().get("continuous_aggregates", False)
        points = self._encode_kpis(kpis) if kpis is not None else None
        with self._tx("write_batch") as conn:
            if alarms is not None or logs is not None:
                conn.execute(STAGE_DDL)
            k = (
                kpi_points.write_points(conn, self.tenant, points, self._direct, rollup)
                if points is not None
                else 0
            )
            a = write_alarms(conn, self.tenant, alarms) if alarms is not None else 0
            lg = write_logs(conn, self.tenant, logs) if logs is not None else 0
            if batch.offsets:
                write_offsets(conn, self.tenant, str(batch.group), batch.offsets)
        staged = sum(len(f) for f in (kpis, alarms, logs) if f is not None)
        return WriteResult(k, a, lg, staged - k - a - lg)

    def _encode_kpis(self, frame: pd.DataFrame) -> kpi_points.KpiPoints:
        keys, codes = kpi_points.series_keys(frame)
        ids = kpi_points.resolve_series(self._tx, self.tenant, self._series, keys)
        return kpi_points.encode_points(frame, ids[codes])

    def _prepare_partitions(self, *frames: pd.DataFrame | None) -> None:
        if self._timescale:
            return
        for table, frame, column in zip(
            ("kpi", "alarm", "log"), frames, ("period_end", "event_time", "time"), strict=True
        ):
            if frame is not None:
                times = frame[column].to_numpy(dtype="datetime64[us]").view(np.int64)
                self._ensure(table, bucket_starts(times, PARTITION_INTERVALS[table]))

    def _ensure(self, table: str, starts: list[datetime]) -> None:
        missing = [s for s in starts if (table, s) not in self._partitions]
        if not missing:
            return
        with self._tx(f"create {table} partitions") as conn:
            schema.ensure_partitions(conn, table, missing)
        self._partitions.update((table, s) for s in missing)

    # --- reads ----------------------------------------------------------------------
    def _select(self, what: str, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._tx(what) as conn:
            return conn.execute(query, params).fetchall()

    def read_kpis(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        managed_objects: list[str] | None = None,
        measurements: list[str] | None = None,
    ) -> pd.DataFrame:
        query, params = kpi_points.kpi_select(
            self.tenant, start, end, managed_objects, measurements
        )
        rows = self._select("read_kpis", query, params)
        frame = pd.DataFrame.from_records(rows, columns=list(KPI_COLUMNS))
        frame["value"] = frame["value"].astype(np.float64)
        return normalise_kpis(frame)

    def read_alarms(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        managed_objects: list[str] | None = None,
    ) -> pd.DataFrame:
        where, params = _where(
            self.tenant, "event_time", start, end, managed_object=managed_objects
        )
        rows = self._select(
            "read_alarms",
            f"SELECT {', '.join(ALARM_COLUMNS)} FROM alarm WHERE {where}"
            " ORDER BY event_time, alarm_id, state",
            params,
        )
        return normalise_alarms(pd.DataFrame.from_records(rows, columns=list(ALARM_COLUMNS)))

    def read_logs(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        sources: list[str] | None = None,
    ) -> pd.DataFrame:
        where, params = _where(self.tenant, "time", start, end, source=sources)
        rows = self._select(
            "read_logs",
            f"SELECT {', '.join(LOG_COLUMNS)} FROM log WHERE {where} ORDER BY time, source",
            params,
        )
        return normalise_logs(pd.DataFrame.from_records(rows, columns=list(LOG_COLUMNS)))

    def read_kpi_hourly(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        managed_objects: list[str] | None = None,
        measurements: list[str] | None = None,
    ) -> pd.DataFrame:
        if not self.features().get("continuous_aggregates", False):
            with self._tx("refresh kpi_hourly") as conn:
                kpi_points.refresh_rollup(conn, self.tenant)
        where, params = _where(
            self.tenant,
            "bucket",
            start,
            end,
            managed_object=managed_objects,
            measurement=measurements,
        )
        rows = self._select(
            "read_kpi_hourly",
            f"SELECT {', '.join(KPI_HOURLY_COLUMNS)} FROM kpi_hourly WHERE {where}"
            " ORDER BY bucket, managed_object, measurement",
            params,
        )
        frame = pd.DataFrame.from_records(rows, columns=list(KPI_HOURLY_COLUMNS))
        frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True).dt.as_unit("us")
        frame["n"] = frame["n"].astype(np.int64)
        return frame.astype({"mean": np.float64, "min": np.float64, "max": np.float64})

    def read_offsets(self, group: str) -> dict[tuple[str, int], int]:
        rows = self._select(
            "read_offsets",
            "SELECT topic, partition, next_offset FROM ingest_offset"
            " WHERE tenant = %s AND consumer_group = %s",
            (self.tenant, group),
        )
        return {(str(t), int(p)): int(o) for t, p, o in rows}

    def apply_retention(
        self, older_than: timedelta, *, tables: tuple[str, ...] = ("kpi", "alarm", "log", "metric")
    ) -> dict[str, int]:
        cutoff = utcnow() - older_than
        dropped: dict[str, int] = {}
        with self._tx("apply_retention") as conn:
            for table in tables:
                if table not in schema.TIME_COLUMNS:
                    raise StoreError(f"no retention for table {table!r}")
                dropped[table] = (
                    drop_chunks(conn, self._ts_schema or "public", table, cutoff)
                    if self._timescale
                    else drop_partitions(conn, table, cutoff)
                )
        self._partitions = {
            p for p in self._partitions if p[1] + PARTITION_INTERVALS[p[0]] > cutoff
        }
        return dropped


def _configure(conn: psycopg.Connection) -> None:
    conn.execute("SET TIME ZONE 'UTC'")
    conn.commit()


def _where(
    tenant: str,
    column: str,
    start: TimeLike | None,
    end: TimeLike | None,
    **any_of: list[str] | None,
) -> tuple[str, list[Any]]:
    return where_clause(
        tenant, column, start, end, mark="%s", any_of_sql="{name} = ANY({mark})", **any_of
    )
