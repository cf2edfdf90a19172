"""Embedded backend: one DuckDB file (or memory), no server. The default of ``make demo``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from twinrca.core.errors import SchemaMismatch, StoreError, StoreUnavailable
from twinrca.core.timeutil import utcnow
from twinrca.core.topology import Topology
from twinrca.store import _duckdb_schema as schema
from twinrca.store._common import (
    check_version,
    json_dumps,
    split_outbox_entry,
    to_utc,
    where_clause,
)
from twinrca.store.base import (
    ALARM_COLUMNS,
    KPI_COLUMNS,
    KPI_HOURLY_COLUMNS,
    LOG_COLUMNS,
    METRIC_COLUMNS,
    DocumentVersion,
    OutboxEntry,
    OutboxMessage,
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


class DuckDBStore(Store):
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
        where, params = _where(self.tenant, _TIME.get(table, "bucket"), start, end, **any_of)
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
        where, params = _where(
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

    # --- topology and state ----------------------------------------------------------
    def save_topology(self, topology: Topology) -> None:
        frames = topology.to_frames()
        with self._tx("save_topology") as con:
            for table in (
                "topology_element",
                "topology_feed",
                "topology_neighbour",
                "topology_saved",
            ):
                con.execute(f"DELETE FROM {table} WHERE tenant = ?", [self.tenant]).fetchall()
            for table, frame in (
                ("topology_element", frames["elements"]),
                ("topology_feed", frames["feeds"]),
                ("topology_neighbour", frames["neighbours"]),
            ):
                if len(frame):
                    con.register("_topo", frame)
                    con.execute(
                        f"INSERT INTO {table} SELECT ?, * FROM _topo", [self.tenant]
                    ).fetchall()
                    con.unregister("_topo")
            con.execute("INSERT INTO topology_saved VALUES (?, now())", [self.tenant]).fetchall()

    def load_topology(self) -> Topology | None:
        t = [self.tenant]
        with self._tx("load_topology") as con:
            if not con.execute("SELECT 1 FROM topology_saved WHERE tenant = ?", t).fetchall():
                return None
            frames = {
                "elements": con.execute(
                    "SELECT element_id, kind, lat, lon, region, attrs FROM"
                    " topology_element WHERE tenant = ? ORDER BY element_id",
                    t,
                ).df(),
                "feeds": con.execute(
                    "SELECT upstream, downstream FROM topology_feed WHERE tenant = ?"
                    " ORDER BY upstream, downstream",
                    t,
                ).df(),
                "neighbours": con.execute(
                    "SELECT a, b FROM topology_neighbour WHERE tenant = ? ORDER BY a, b", t
                ).df(),
            }
        return Topology.from_frames(frames)

    def get_state(self, key: str) -> bytes | None:
        rows = self._rows(
            "get_state",
            "SELECT value FROM kv_state WHERE tenant = ? AND key = ?",
            [self.tenant, key],
        )
        return bytes(rows[0][0]) if rows else None

    def put_state(self, key: str, value: bytes) -> None:
        with self._tx("put_state") as con:
            con.execute(
                "INSERT INTO kv_state VALUES (?, ?, ?, now()) ON CONFLICT DO UPDATE"
                " SET value = excluded.value, updated_at = now()",
                [self.tenant, key, bytes(value)],
            ).fetchall()

    # --- documents ----------------------------------------------------------------------
    def put_document(
        self,
        kind: str,
        doc_id: str,
        doc: Mapping[str, Any],
        *,
        version: int | None = None,
        outbox: Sequence[OutboxEntry] | None = None,
    ) -> int:
        entries = [split_outbox_entry(e) for e in outbox or ()]
        key = [self.tenant, kind, doc_id]
        with self._tx("put_document") as con:
            rows = con.execute(
                "SELECT version, doc FROM document WHERE tenant = ? AND kind = ? AND doc_id = ?",
                key,
            ).fetchall()
            stored = (int(rows[0][0]), json.loads(rows[0][1])) if rows else None
            new = check_version(kind, doc_id, stored, version, doc)
            if new is None:
                return stored[0]  # type: ignore[index]
            body = json_dumps(dict(doc))
            con.execute(
                "INSERT INTO document VALUES (?, ?, ?, ?, now(), ?) ON CONFLICT DO UPDATE"
                " SET version = excluded.version, doc = excluded.doc, updated_at = now()",
                [*key, new, body],
            ).fetchall()
            con.execute(
                "INSERT INTO document_history VALUES (?, ?, ?, ?, now(), ?)", [*key, new, body]
            ).fetchall()
            for destination, payload, out_key in entries:
                self._outbox_insert(con, destination, payload, out_key)
        return new

    def get_document(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        rows = self._rows(
            "get_document",
            "SELECT doc FROM document WHERE tenant = ? AND kind = ? AND doc_id = ?",
            [self.tenant, kind, doc_id],
        )
        return json.loads(rows[0][0]) if rows else None

    def list_documents(
        self, kind: str, *, where: Mapping[str, Any] | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        rows = self._rows(
            "list_documents",
            "SELECT doc FROM document WHERE tenant = ? AND kind = ?"
            " ORDER BY updated_at DESC, doc_id",
            [self.tenant, kind],
        )
        wanted = json.loads(json_dumps(dict(where or {})))
        docs = (json.loads(r[0]) for r in rows)
        return [d for d in docs if all(d.get(k) == v for k, v in wanted.items())][: int(limit)]

    def document_history(self, kind: str, doc_id: str) -> list[DocumentVersion]:
        rows = self._rows(
            "document_history",
            "SELECT version, recorded_at, doc FROM document_history"
            " WHERE tenant = ? AND kind = ? AND doc_id = ? ORDER BY version",
            [self.tenant, kind, doc_id],
        )
        return [DocumentVersion(kind, doc_id, int(v), t, json.loads(d)) for v, t, d in rows]

    # --- outbox -------------------------------------------------------------------------
    def _outbox_insert(
        self,
        con: duckdb.DuckDBPyConnection,
        destination: str,
        payload: Mapping[str, Any],
        key: str | None,
    ) -> int:
        if key is not None:
            rows = con.execute(
                "SELECT id FROM outbox WHERE tenant = ? AND key = ?", [self.tenant, key]
            ).fetchall()
            if rows:
                return int(rows[0][0])
        row = con.execute(
            "INSERT INTO outbox (tenant, destination, payload, key, created_at, next_attempt_at)"
            " VALUES (?, ?, ?, ?, now(), now()) RETURNING id",
            [self.tenant, destination, json_dumps(dict(payload)), key],
        ).fetchone()
        return int(row[0])  # type: ignore[index]

    def outbox_put(
        self, destination: str, payload: Mapping[str, Any], *, key: str | None = None
    ) -> int:
        with self._tx("outbox_put") as con:
            return self._outbox_insert(con, destination, payload, key)

    def outbox_claim(self, limit: int = 100, *, lease_s: float = 60.0) -> list[OutboxMessage]:
        now = utcnow()
        with self._tx("outbox_claim") as con:
            rows = con.execute(
                f"SELECT {_OUTBOX} FROM outbox WHERE tenant = ?"
                " AND status IN ('pending', 'inflight')"
                " AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)"
                " ORDER BY next_attempt_at, id LIMIT ?",
                [self.tenant, now, now, int(limit)],
            ).fetchall()
            for r in rows:
                con.execute(
                    "UPDATE outbox SET status = 'inflight', attempts = attempts + 1,"
                    " claimed_until = ? WHERE id = ?",
                    [now + timedelta(seconds=lease_s), r[0]],
                ).fetchall()
        return [
            OutboxMessage(int(r[0]), r[1], json.loads(r[2]), int(r[3]), r[4], r[5], r[6], r[7])
            for r in rows
        ]

    def outbox_done(self, message_id: int) -> None:
        with self._tx("outbox_done") as con:
            con.execute(
                "UPDATE outbox SET status = 'done', delivered_at = now(), claimed_until = NULL"
                " WHERE tenant = ? AND id = ?",
                [self.tenant, message_id],
            ).fetchall()

    def outbox_retry(self, message_id: int, next_attempt_at: datetime | None, error: str) -> None:
        with self._tx("outbox_retry") as con:
            con.execute(
                "UPDATE outbox SET status = ?, next_attempt_at = coalesce(?, next_attempt_at),"
                " last_error = ?, claimed_until = NULL WHERE tenant = ? AND id = ?",
                [
                    "dead" if next_attempt_at is None else "pending",
                    next_attempt_at,
                    error,
                    self.tenant,
                    message_id,
                ],
            ).fetchall()

    # --- metrics ------------------------------------------------------------------------
    def record_metric(
        self,
        name: str,
        value: float,
        labels: Mapping[str, Any] | None = None,
        *,
        time: TimeLike | None = None,
    ) -> None:
        with self._tx("record_metric") as con:
            con.execute(
                "INSERT INTO metric VALUES (?, ?, ?, ?, ?)",
                [
                    self.tenant,
                    to_utc(time) or utcnow(),
                    name,
                    float(value),
                    json_dumps(dict(labels or {})),
                ],
            ).fetchall()

    def read_metrics(
        self,
        name: str | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        labels: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        where, params = _where(
            self.tenant, "time", start, end, name=None if name is None else [name]
        )
        with self._tx("read_metrics") as con:
            frame = con.execute(
                f"SELECT {', '.join(METRIC_COLUMNS)} FROM metric WHERE {where} ORDER BY time, name",
                params,
            ).df()
        frame["labels"] = [json.loads(x) for x in frame["labels"]]
        if labels:
            wanted = json.loads(json_dumps(dict(labels)))
            keep = [all(d.get(k) == v for k, v in wanted.items()) for d in frame["labels"]]
            frame = frame[np.asarray(keep, dtype=bool)].reset_index(drop=True)
        frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.as_unit("us")
        frame["value"] = frame["value"].astype(np.float64)
        return frame


def _where(
    tenant: str,
    column: str,
    start: TimeLike | None,
    end: TimeLike | None,
    **any_of: list[str] | None,
) -> tuple[str, list[Any]]:
    return where_clause(
        tenant, column, start, end, mark="?", any_of_sql="list_contains({mark}, {name})", **any_of
    )
