"""Schema and versioned migrations of the embedded (DuckDB) backend.

The same tables and keys as the server backends; no partitioning (DuckDB's row groups
and zone maps prune by time), hourly aggregates computed at query time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from twinrca.core.errors import SchemaMismatch

__all__ = ["LATEST_VERSION", "run_migrations", "stored_version"]

logger = logging.getLogger(__name__)

_V1 = """
CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS kpi (
    tenant VARCHAR NOT NULL, managed_object VARCHAR NOT NULL, measurement VARCHAR NOT NULL,
    period_end TIMESTAMPTZ NOT NULL, value DOUBLE, granularity_s INTEGER NOT NULL,
    suspect BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (tenant, managed_object, measurement, period_end));
CREATE TABLE IF NOT EXISTS alarm (
    tenant VARCHAR NOT NULL, alarm_id VARCHAR NOT NULL, notification_id BIGINT,
    managed_object VARCHAR NOT NULL, event_time TIMESTAMPTZ NOT NULL, alarm_type VARCHAR NOT NULL,
    probable_cause VARCHAR NOT NULL, specific_problem VARCHAR NOT NULL DEFAULT '',
    perceived_severity VARCHAR NOT NULL,
    state VARCHAR NOT NULL CHECK (state IN ('raised', 'changed', 'cleared')),
    additional_text VARCHAR NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, alarm_id, state, event_time));
CREATE TABLE IF NOT EXISTS log (
    tenant VARCHAR NOT NULL, time TIMESTAMPTZ NOT NULL, source VARCHAR NOT NULL,
    severity VARCHAR NOT NULL, message VARCHAR NOT NULL, template_id VARCHAR,
    log_key VARCHAR NOT NULL, PRIMARY KEY (tenant, source, time, log_key));
CREATE TABLE IF NOT EXISTS metric (
    tenant VARCHAR NOT NULL, time TIMESTAMPTZ NOT NULL, name VARCHAR NOT NULL,
    value DOUBLE, labels JSON NOT NULL);
CREATE TABLE IF NOT EXISTS ingest_offset (
    tenant VARCHAR NOT NULL, consumer_group VARCHAR NOT NULL, topic VARCHAR NOT NULL,
    partition INTEGER NOT NULL, next_offset BIGINT NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, consumer_group, topic, partition));
CREATE TABLE IF NOT EXISTS kv_state (
    tenant VARCHAR NOT NULL, key VARCHAR NOT NULL, value BLOB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (tenant, key));
CREATE TABLE IF NOT EXISTS document (
    tenant VARCHAR NOT NULL, kind VARCHAR NOT NULL, doc_id VARCHAR NOT NULL,
    version INTEGER NOT NULL, updated_at TIMESTAMPTZ NOT NULL, doc JSON NOT NULL,
    PRIMARY KEY (tenant, kind, doc_id));
CREATE TABLE IF NOT EXISTS document_history (
    tenant VARCHAR NOT NULL, kind VARCHAR NOT NULL, doc_id VARCHAR NOT NULL,
    version INTEGER NOT NULL, recorded_at TIMESTAMPTZ NOT NULL, doc JSON NOT NULL,
    PRIMARY KEY (tenant, kind, doc_id, version));
CREATE SEQUENCE IF NOT EXISTS outbox_id_seq;
CREATE TABLE IF NOT EXISTS outbox (
    id BIGINT PRIMARY KEY DEFAULT nextval('outbox_id_seq'), tenant VARCHAR NOT NULL,
    destination VARCHAR NOT NULL, payload JSON NOT NULL, key VARCHAR,
    status VARCHAR NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL, next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_until TIMESTAMPTZ, last_error VARCHAR, delivered_at TIMESTAMPTZ,
    UNIQUE (tenant, key));
CREATE TABLE IF NOT EXISTS topology_saved (tenant VARCHAR PRIMARY KEY, saved_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS topology_element (
    tenant VARCHAR NOT NULL, element_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    lat DOUBLE NOT NULL, lon DOUBLE NOT NULL, region VARCHAR NOT NULL, attrs VARCHAR NOT NULL,
    PRIMARY KEY (tenant, element_id));
CREATE TABLE IF NOT EXISTS topology_feed (
    tenant VARCHAR NOT NULL, upstream VARCHAR NOT NULL, downstream VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS topology_neighbour (
    tenant VARCHAR NOT NULL, a VARCHAR NOT NULL, b VARCHAR NOT NULL);
"""

_V2 = """
INSERT INTO store_meta VALUES ('feature.continuous_aggregates', 'false'),
    ('feature.compression', 'false'), ('feature.retention_policy', 'false')
ON CONFLICT DO NOTHING;
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


def _sql(text: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    def apply(conn: duckdb.DuckDBPyConnection) -> None:
        conn.execute(text)

    return apply


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "time-series, document, outbox, state and topology tables", _sql(_V1)),
    Migration(2, "hourly KPI aggregates computed at query time", _sql("SELECT 1")),
    Migration(3, "feature flags (no compression or retention policies)", _sql(_V2)),
)
LATEST_VERSION = MIGRATIONS[-1].version


def stored_version(conn: duckdb.DuckDBPyConnection) -> int:
    found = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not found or not found[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def check_not_newer(version: int) -> None:
    if version > LATEST_VERSION:
        raise SchemaMismatch(
            f"the embedded store schema is version {version},"
            f" newer than this code ({LATEST_VERSION})",
            hint="upgrade TwinRCA or point TWINRCA_STORE__EMBEDDED_PATH at another file",
        )


def run_migrations(conn: duckdb.DuckDBPyConnection) -> int:
    """Apply pending migrations in the caller's transaction; return the version."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
        " description VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    current = stored_version(conn)
    check_not_newer(current)
    for step in MIGRATIONS:
        if step.version > current:
            logger.info("applying embedded store migration %s: %s", step.version, step.description)
            step.apply(conn)
            conn.execute(
                "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                [step.version, step.description],
            )
    return max(current, LATEST_VERSION)
