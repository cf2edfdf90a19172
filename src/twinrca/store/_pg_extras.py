"""PostgreSQL backend, part 2: topology, state, documents, webhook outbox, metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from psycopg.types.json import Jsonb

from twinrca.core.timeutil import utcnow
from twinrca.core.topology import Topology
from twinrca.store._common import (
    PARTITION_INTERVALS,
    bucket_starts,
    check_version,
    json_dumps,
    split_outbox_entry,
    to_utc,
)
from twinrca.store.base import (
    METRIC_COLUMNS,
    DocumentVersion,
    OutboxEntry,
    OutboxMessage,
    TimeLike,
)

if TYPE_CHECKING:
    import psycopg

__all__ = ["PgExtrasMixin"]

_OUTBOX_COLUMNS = "id, destination, payload, attempts, created_at, next_attempt_at, last_error, key"


def _jsonb(doc: object) -> Jsonb:
    return Jsonb(doc, dumps=json_dumps)


class PgExtrasMixin:
    """Methods of :class:`PostgresStore` beyond the time series."""

    tenant: str
    _timescale: bool

    def _tx(self, what: str) -> AbstractContextManager[psycopg.Connection]:  # pragma: no cover
        raise NotImplementedError

    def _ensure(self, table: str, starts: list[datetime]) -> None:  # pragma: no cover
        raise NotImplementedError

    # --- topology and state ----------------------------------------------------------
    def save_topology(self, topology: Topology) -> None:
        frames = topology.to_frames()
        els = frames["elements"]
        with self._tx("save_topology") as conn, conn.cursor() as cur:
            for table in ("topology_element", "topology_feed", "topology_neighbour"):
                cur.execute(f"DELETE FROM {table} WHERE tenant = %s", (self.tenant,))
            cur.executemany(
                "INSERT INTO topology_element (tenant, element_id, kind, lat, lon, region, attrs)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)",
                [(self.tenant, *row) for row in els.itertuples(index=False)],
            )
            cur.executemany(
                "INSERT INTO topology_feed (tenant, upstream, downstream) VALUES (%s, %s, %s)",
                [(self.tenant, a, b) for a, b in frames["feeds"].itertuples(index=False)],
            )
            cur.executemany(
                "INSERT INTO topology_neighbour (tenant, a, b) VALUES (%s, %s, %s)",
                [(self.tenant, a, b) for a, b in frames["neighbours"].itertuples(index=False)],
            )
            cur.execute(
                "INSERT INTO topology_saved (tenant) VALUES (%s) ON CONFLICT (tenant)"
                " DO UPDATE SET saved_at = now()",
                (self.tenant,),
            )

    def load_topology(self) -> Topology | None:
        t = (self.tenant,)
        with self._tx("load_topology") as conn:
            if conn.execute("SELECT 1 FROM topology_saved WHERE tenant = %s", t).fetchone() is None:
                return None
            els = conn.execute(
                "SELECT element_id, kind, lat, lon, region, attrs::text FROM topology_element"
                " WHERE tenant = %s ORDER BY element_id",
                t,
            ).fetchall()
            feeds = conn.execute(
                "SELECT upstream, downstream FROM topology_feed WHERE tenant = %s"
                " ORDER BY upstream, downstream",
                t,
            ).fetchall()
            nbs = conn.execute(
                "SELECT a, b FROM topology_neighbour WHERE tenant = %s ORDER BY a, b", t
            ).fetchall()
        return Topology.from_frames(
            {
                "elements": pd.DataFrame(
                    els, columns=["element_id", "kind", "lat", "lon", "region", "attrs"]
                ),
                "feeds": pd.DataFrame(feeds, columns=["upstream", "downstream"]),
                "neighbours": pd.DataFrame(nbs, columns=["a", "b"]),
            }
        )

    def get_state(self, key: str) -> bytes | None:
        with self._tx("get_state") as conn:
            row = conn.execute(
                "SELECT value FROM kv_state WHERE tenant = %s AND key = %s", (self.tenant, key)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def put_state(self, key: str, value: bytes) -> None:
        with self._tx("put_state") as conn:
            conn.execute(
                "INSERT INTO kv_state (tenant, key, value) VALUES (%s, %s, %s)"
                " ON CONFLICT (tenant, key) DO UPDATE SET value = EXCLUDED.value,"
                " updated_at = now()",
                (self.tenant, key, bytes(value)),
            )

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
        key = (self.tenant, kind, doc_id)
        with self._tx("put_document") as conn:
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("\x1f".join(key),)
            )
            stored = conn.execute(
                "SELECT version, doc FROM document WHERE tenant = %s AND kind = %s AND doc_id = %s",
                key,
            ).fetchone()
            new = check_version(
                kind, doc_id, None if stored is None else tuple(stored), version, doc
            )
            if new is None:
                return int(stored[0])  # type: ignore[index]
            body = _jsonb(dict(doc))
            conn.execute(
                "INSERT INTO document (tenant, kind, doc_id, version, doc)"
                " VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (tenant, kind, doc_id) DO UPDATE SET version = EXCLUDED.version,"
                " doc = EXCLUDED.doc, updated_at = now()",
                (*key, new, body),
            )
            conn.execute(
                "INSERT INTO document_history (tenant, kind, doc_id, version, doc)"
                " VALUES (%s, %s, %s, %s, %s)",
                (*key, new, body),
            )
            for destination, payload, out_key in entries:
                _outbox_insert(conn, self.tenant, destination, payload, out_key)
        return new

    def get_document(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        with self._tx("get_document") as conn:
            row = conn.execute(
                "SELECT doc FROM document WHERE tenant = %s AND kind = %s AND doc_id = %s",
                (self.tenant, kind, doc_id),
            ).fetchone()
        return None if row is None else row[0]

    def list_documents(
        self, kind: str, *, where: Mapping[str, Any] | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        with self._tx("list_documents") as conn:
            rows = conn.execute(
                "SELECT doc FROM document WHERE tenant = %s AND kind = %s AND doc @> %s"
                " ORDER BY updated_at DESC, doc_id LIMIT %s",
                (self.tenant, kind, _jsonb(dict(where or {})), int(limit)),
            ).fetchall()
        return [r[0] for r in rows]

    def document_history(self, kind: str, doc_id: str) -> list[DocumentVersion]:
        with self._tx("document_history") as conn:
            rows = conn.execute(
                "SELECT version, recorded_at, doc FROM document_history"
                " WHERE tenant = %s AND kind = %s AND doc_id = %s ORDER BY version",
                (self.tenant, kind, doc_id),
            ).fetchall()
        return [DocumentVersion(kind, doc_id, int(v), t, d) for v, t, d in rows]

    # --- outbox -------------------------------------------------------------------------
    def outbox_put(
        self, destination: str, payload: Mapping[str, Any], *, key: str | None = None
    ) -> int:
        with self._tx("outbox_put") as conn:
            return _outbox_insert(conn, self.tenant, destination, payload, key)

    def outbox_claim(self, limit: int = 100, *, lease_s: float = 60.0) -> list[OutboxMessage]:
        with self._tx("outbox_claim") as conn:
            rows = conn.execute(
                "UPDATE outbox SET status = 'inflight', attempts = attempts + 1,"
                " claimed_until = now() + %s WHERE id IN (SELECT id FROM outbox"
                " WHERE tenant = %s AND status IN ('pending', 'inflight')"
                " AND next_attempt_at <= now() AND (claimed_until IS NULL OR claimed_until < now())"
                " ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED)"
                f" RETURNING {_OUTBOX_COLUMNS.replace('attempts', 'attempts - 1')}",
                (timedelta(seconds=lease_s), self.tenant, int(limit)),
            ).fetchall()
        return sorted((OutboxMessage(*r) for r in rows), key=lambda m: (m.next_attempt_at, m.id))

    def outbox_done(self, message_id: int) -> None:
        with self._tx("outbox_done") as conn:
            conn.execute(
                "UPDATE outbox SET status = 'done', delivered_at = now(), claimed_until = NULL"
                " WHERE tenant = %s AND id = %s",
                (self.tenant, message_id),
            )

    def outbox_retry(self, message_id: int, next_attempt_at: datetime | None, error: str) -> None:
        with self._tx("outbox_retry") as conn:
            conn.execute(
                "UPDATE outbox SET status = %s, next_attempt_at = coalesce(%s, next_attempt_at),"
                " last_error = %s, claimed_until = NULL WHERE tenant = %s AND id = %s",
                (
                    "dead" if next_attempt_at is None else "pending",
                    next_attempt_at,
                    error,
                    self.tenant,
                    message_id,
                ),
            )

    # --- metrics ------------------------------------------------------------------------
    def record_metric(
        self,
        name: str,
        value: float,
        labels: Mapping[str, Any] | None = None,
        *,
        time: TimeLike | None = None,
    ) -> None:
        at = to_utc(time) or utcnow()
        if not self._timescale:
            us = np.array([int(at.timestamp() * 1_000_000)], dtype=np.int64)
            self._ensure("metric", bucket_starts(us, PARTITION_INTERVALS["metric"]))
        with self._tx("record_metric") as conn:
            conn.execute(
                "INSERT INTO metric (tenant, time, name, value, labels)"
                " VALUES (%s, %s, %s, %s, %s)",
                (self.tenant, at, name, float(value), _jsonb(dict(labels or {}))),
            )

    def read_metrics(
        self,
        name: str | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        labels: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        clauses, params = _metric_where(self.tenant, name, start, end, labels)
        with self._tx("read_metrics") as conn:
            rows = conn.execute(
                f"SELECT time, name, value, labels FROM metric WHERE {clauses} ORDER BY time, name",
                params,
            ).fetchall()
        frame = pd.DataFrame.from_records(rows, columns=list(METRIC_COLUMNS))
        frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.as_unit("us")
        frame["value"] = frame["value"].astype(np.float64)
        return frame


def _metric_where(
    tenant: str,
    name: str | None,
    start: TimeLike | None,
    end: TimeLike | None,
    labels: Mapping[str, Any] | None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = ["tenant = %s"]
    params: list[Any] = [tenant]
    for sql_part, value in (
        ("name = %s", name),
        ("time >= %s", to_utc(start)),
        ("time < %s", to_utc(end)),
        ("labels @> %s", None if not labels else _jsonb(dict(labels))),
    ):
        if value is not None:
            clauses.append(sql_part)
            params.append(value)
    return " AND ".join(clauses), params


def _outbox_insert(
    conn: psycopg.Connection,
    tenant: str,
    destination: str,
    payload: Mapping[str, Any],
    key: str | None,
) -> int:
    """Enqueue one delivery; return its id. A keyed entry relies on the unique
    constraint ``outbox_key (tenant, key)``: ``ON CONFLICT DO NOTHING`` makes a
    concurrent insert of the same key wait for the first transaction and then insert
    nothing (NULL keys never conflict)."""
    row = conn.execute(
        "INSERT INTO outbox (tenant, destination, payload, key) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (tenant, key) DO NOTHING RETURNING id",
        (tenant, destination, _jsonb(dict(payload)), key),
    ).fetchone()
    if row is None:
        row = conn.execute(
            "SELECT id FROM outbox WHERE tenant = %s AND key = %s", (tenant, key)
        ).fetchone()
    return int(row[0])  # type: ignore[index]
