"""Embedded backend, part 2: topology, state, documents, webhook outbox, metrics."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from twinrca.core.timeutil import utcnow
from twinrca.core.topology import Topology
from twinrca.store._common import (
    check_version,
    json_dumps,
    split_outbox_entry,
    to_utc,
    where_clause,
)
from twinrca.store.base import (
    METRIC_COLUMNS,
    DocumentVersion,
    OutboxEntry,
    OutboxMessage,
    TimeLike,
)

__all__ = ["DuckExtrasMixin", "duck_where"]

_OUTBOX = "id, destination, payload, attempts, created_at, next_attempt_at, last_error, key"


class DuckExtrasMixin:
    """Methods of :class:`~twinrca.store._duckdb.DuckDBStore` beyond the time series."""

    tenant: str

    def _tx(self, what: str) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        raise NotImplementedError  # pragma: no cover

    def _rows(self, what: str, query: str, params: list[Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError  # pragma: no cover

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
        where, params = duck_where(
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


def duck_where(
    tenant: str,
    column: str,
    start: TimeLike | None,
    end: TimeLike | None,
    **any_of: list[str] | None,
) -> tuple[str, list[Any]]:
    return where_clause(
        tenant, column, start, end, mark="?", any_of_sql="list_contains({mark}, {name})", **any_of
    )
