"""Schema and versioned migrations of the PostgreSQL and TimescaleDB backends.

Both share the same tables; the time-series tables (kpi, alarm, log, metric) are
hypertables on TimescaleDB and natively range-partitioned tables on plain PostgreSQL
(partitions are created on demand by :func:`ensure_partitions`). Optional TimescaleDB
features (continuous aggregates, compression, retention policies) are probed inside
savepoints: the Apache-licensed build refuses them, and the plain equivalents are used
(the ``kpi_hourly`` rollup table with its dirty-bucket queue, the project's own
retention job). What was chosen is recorded in ``store_meta``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from twinrca.core.errors import SchemaMismatch
from twinrca.store._common import PARTITION_INTERVALS

__all__ = ["LATEST_VERSION", "Ctx", "ensure_partitions", "partition_name", "run_migrations"]

logger = logging.getLogger(__name__)

_LOCK_ID = 0x7477_696E_7263_61  # "twinrca": serialises concurrent migrate() calls

TIME_COLUMNS = {"kpi": "period_end", "alarm": "event_time", "log": "time", "metric": "time"}

_TIME_TABLES = """
CREATE TABLE IF NOT EXISTS kpi (
    tenant text NOT NULL, managed_object text NOT NULL, measurement text NOT NULL,
    period_end timestamptz NOT NULL, value double precision, granularity_s integer NOT NULL,
    suspect boolean NOT NULL DEFAULT false,
    CONSTRAINT kpi_key UNIQUE (tenant, managed_object, measurement, period_end)
) {kpi};
CREATE TABLE IF NOT EXISTS alarm (
    tenant text NOT NULL, alarm_id text NOT NULL, notification_id bigint,
    managed_object text NOT NULL, event_time timestamptz NOT NULL, alarm_type text NOT NULL,
    probable_cause text NOT NULL, specific_problem text NOT NULL DEFAULT '',
    perceived_severity text NOT NULL, state text NOT NULL,
    additional_text text NOT NULL DEFAULT '',
    CONSTRAINT alarm_state CHECK (state IN ('raised', 'changed', 'cleared')),
    CONSTRAINT alarm_key UNIQUE (tenant, alarm_id, state, event_time)
) {alarm};
CREATE TABLE IF NOT EXISTS log (
    tenant text NOT NULL, time timestamptz NOT NULL, source text NOT NULL,
    severity text NOT NULL, message text NOT NULL, template_id text, log_key text NOT NULL,
    CONSTRAINT log_key UNIQUE (tenant, source, time, log_key)
) {log};
CREATE TABLE IF NOT EXISTS metric (
    tenant text NOT NULL, time timestamptz NOT NULL, name text NOT NULL,
    value double precision, labels jsonb NOT NULL DEFAULT '{{}}'
) {metric};
CREATE INDEX IF NOT EXISTS kpi_tenant_time ON kpi (tenant, period_end DESC);
CREATE INDEX IF NOT EXISTS kpi_tenant_meas_time ON kpi (tenant, measurement, period_end DESC);
CREATE INDEX IF NOT EXISTS alarm_tenant_time ON alarm (tenant, event_time DESC);
CREATE INDEX IF NOT EXISTS alarm_tenant_mo_time ON alarm (tenant, managed_object, event_time DESC);
CREATE INDEX IF NOT EXISTS log_tenant_time ON log (tenant, time DESC);
CREATE INDEX IF NOT EXISTS metric_tenant_name_time ON metric (tenant, name, time DESC);
"""

_PLAIN_TABLES = """
CREATE TABLE IF NOT EXISTS store_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS ingest_offset (
    tenant text NOT NULL, consumer_group text NOT NULL, topic text NOT NULL,
    partition integer NOT NULL, next_offset bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, consumer_group, topic, partition)
);
CREATE TABLE IF NOT EXISTS kv_state (
    tenant text NOT NULL, key text NOT NULL, value bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant, key)
);
CREATE TABLE IF NOT EXISTS document (
    tenant text NOT NULL, kind text NOT NULL, doc_id text NOT NULL, version integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(), doc jsonb NOT NULL,
    PRIMARY KEY (tenant, kind, doc_id)
);
CREATE INDEX IF NOT EXISTS document_kind_time ON document (tenant, kind, updated_at DESC);
CREATE INDEX IF NOT EXISTS document_doc ON document USING gin (doc jsonb_path_ops);
CREATE TABLE IF NOT EXISTS document_history (
    tenant text NOT NULL, kind text NOT NULL, doc_id text NOT NULL, version integer NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(), doc jsonb NOT NULL,
    PRIMARY KEY (tenant, kind, doc_id, version)
);
CREATE TABLE IF NOT EXISTS outbox (
    id bigserial PRIMARY KEY, tenant text NOT NULL, destination text NOT NULL,
    payload jsonb NOT NULL, key text, status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(), claimed_until timestamptz,
    last_error text, delivered_at timestamptz,
    CONSTRAINT outbox_key UNIQUE (tenant, key)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (tenant, next_attempt_at)
    WHERE status IN ('pending', 'inflight');
CREATE TABLE IF NOT EXISTS topology_saved (
    tenant text PRIMARY KEY, saved_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS topology_element (
    tenant text NOT NULL, element_id text NOT NULL, kind text NOT NULL,
    lat double precision NOT NULL, lon double precision NOT NULL, region text NOT NULL,
    attrs jsonb NOT NULL, PRIMARY KEY (tenant, element_id)
);
CREATE TABLE IF NOT EXISTS topology_feed (
    tenant text NOT NULL, upstream text NOT NULL, downstream text NOT NULL,
    PRIMARY KEY (tenant, upstream, downstream)
);
CREATE TABLE IF NOT EXISTS topology_neighbour (
    tenant text NOT NULL, a text NOT NULL, b text NOT NULL, PRIMARY KEY (tenant, a, b)
);
"""

_ROLLUP_TABLES = """
CREATE TABLE IF NOT EXISTS kpi_hourly (
    tenant text NOT NULL, bucket timestamptz NOT NULL, managed_object text NOT NULL,
    measurement text NOT NULL, n bigint NOT NULL, mean double precision,
    min double precision, max double precision,
    PRIMARY KEY (tenant, managed_object, measurement, bucket)
);
CREATE INDEX IF NOT EXISTS kpi_hourly_tenant_bucket ON kpi_hourly (tenant, bucket);
CREATE TABLE IF NOT EXISTS kpi_hourly_dirty (
    tenant text NOT NULL, bucket timestamptz NOT NULL, PRIMARY KEY (tenant, bucket)
);
"""

_CAGG = """
CREATE MATERIALIZED VIEW kpi_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT tenant, {ts}.time_bucket(INTERVAL '1 hour', period_end) AS bucket, managed_object,
       measurement, count(value) AS n, avg(value) AS mean, min(value) AS min, max(value) AS max
FROM kpi GROUP BY tenant, bucket, managed_object, measurement WITH NO DATA
"""


@dataclass(frozen=True, slots=True)
class Ctx:
    """What a migration step needs to know about the target."""

    timescale: bool
    ts_schema: str | None  # schema of the timescaledb extension's functions


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    apply: Callable[[psycopg.Connection, Ctx], None]


def _ts(ctx: Ctx, func: str) -> sql.Composable:
    return sql.SQL("{}.{}").format(sql.Identifier(ctx.ts_schema or "public"), sql.SQL(func))


def _v1_tables(conn: psycopg.Connection, ctx: Ctx) -> None:
    parts = {
        t: "" if ctx.timescale else f"PARTITION BY RANGE ({c})" for t, c in TIME_COLUMNS.items()
    }
    conn.execute(_PLAIN_TABLES)
    conn.execute(_TIME_TABLES.format(**parts))
    if not ctx.timescale:
        return
    for table, column in TIME_COLUMNS.items():
        conn.execute(
            sql.SQL(
                "SELECT {}({}, {}({}, %s::interval), create_default_indexes => false,"
                " if_not_exists => true)"
            ).format(
                _ts(ctx, "create_hypertable"),
                sql.Literal(table),
                _ts(ctx, "by_range"),
                sql.Literal(column),
            ),
            (PARTITION_INTERVALS[table],),
        )


def _probe(conn: psycopg.Connection, feature: str, statement: sql.Composable | str) -> bool:
    """Run ``statement`` in a savepoint; False when the server refuses the feature."""
    try:
        with conn.transaction():
            conn.execute(statement)  # type: ignore[arg-type]
    except (psycopg.errors.FeatureNotSupported, psycopg.errors.InsufficientPrivilege) as exc:
        logger.info(
            "timescaledb %s not available (%s); using the plain fallback",
            feature,
            str(exc).strip().splitlines()[0],
        )
        return False
    return True


def _set_meta(conn: psycopg.Connection, key: str, value: object) -> None:
    conn.execute(
        "INSERT INTO store_meta (key, value) VALUES (%s, %s)"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        (key, str(value).lower()),
    )


def _v2_rollups(conn: psycopg.Connection, ctx: Ctx) -> None:
    cagg = ctx.timescale and _probe(
        conn,
        "continuous aggregates",
        sql.SQL(_CAGG).format(ts=sql.Identifier(ctx.ts_schema or "public")),
    )
    if cagg:
        conn.execute(
            sql.SQL(
                "SELECT {}('kpi_hourly', start_offset => INTERVAL '3 days',"
                " end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes')"
            ).format(_ts(ctx, "add_continuous_aggregate_policy"))
        )
    else:
        conn.execute(_ROLLUP_TABLES)
    _set_meta(conn, "feature.continuous_aggregates", cagg)


def _v3_policies(conn: psycopg.Connection, ctx: Ctx) -> None:
    compression = retention = False
    if ctx.timescale:
        compression = _probe(
            conn,
            "compression",
            "ALTER TABLE kpi SET (timescaledb.compress,"
            " timescaledb.compress_segmentby = 'tenant, managed_object, measurement',"
            " timescaledb.compress_orderby = 'period_end DESC')",
        )
        if compression:
            conn.execute(
                sql.SQL("SELECT {}('kpi', INTERVAL '7 days', if_not_exists => true)").format(
                    _ts(ctx, "add_compression_policy")
                )
            )
        # probe only: retention stays an explicit job (apply_retention), never a silent policy
        probe = sql.SQL("SELECT {}('metric', INTERVAL '3650 days')").format(
            _ts(ctx, "add_retention_policy")
        )
        try:
            with conn.transaction():
                retention = _probe(conn, "retention policies", probe)
                raise _Rollback
        except _Rollback:
            pass
    _set_meta(conn, "feature.compression", compression)
    _set_meta(conn, "feature.retention_policy", retention)


class _Rollback(Exception):
    """Roll a probing savepoint back."""


_KPI_SERIES = """
-- byte-order collation: series keys are compared often, locale order buys nothing here
CREATE TABLE kpi_series (
    series_id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant text COLLATE "C" NOT NULL, managed_object text COLLATE "C" NOT NULL,
    measurement text COLLATE "C" NOT NULL,
    CONSTRAINT kpi_series_key UNIQUE (tenant, managed_object, measurement)
);
INSERT INTO kpi_series (tenant, managed_object, measurement)
    SELECT DISTINCT tenant, managed_object, measurement FROM kpi ORDER BY 1, 2, 3;
CREATE TABLE _kpi_v4_move AS SELECT s.series_id, k.period_end, k.value, k.granularity_s,
    k.suspect FROM kpi k JOIN kpi_series s ON s.tenant = k.tenant
    AND s.managed_object = k.managed_object AND s.measurement = k.measurement;
"""

# series_id is not a foreign key: a per-row check would cost what the narrow key saves.
_KPI_POINTS = """
CREATE TABLE kpi (
    series_id integer NOT NULL, period_end timestamptz NOT NULL, value double precision,
    granularity_s integer NOT NULL, suspect boolean NOT NULL DEFAULT false,
    CONSTRAINT kpi_key UNIQUE (period_end, series_id)
) {part}
"""

_CAGG_V4 = """
CREATE MATERIALIZED VIEW kpi_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT s.tenant, {ts}.time_bucket(INTERVAL '1 hour', k.period_end) AS bucket,
       s.managed_object, s.measurement, count(k.value) AS n, avg(k.value) AS mean,
       min(k.value) AS min, max(k.value) AS max
FROM kpi k JOIN kpi_series s ON s.series_id = k.series_id
GROUP BY s.tenant, bucket, s.managed_object, s.measurement WITH NO DATA
"""


def _feature(conn: psycopg.Connection, name: str) -> bool:
    key = f"feature.{name}"
    row = conn.execute("SELECT value FROM store_meta WHERE key = %s", (key,)).fetchone()
    return bool(row) and row[0] == "true"  # type: ignore[index]


def _v4_kpi_series(conn: psycopg.Connection, ctx: Ctx) -> None:
    """KPI rows keyed by an integer series id: a narrow unique index on (period_end,
    series_id) instead of the long text key; existing rows move to the new layout."""
    cagg = ctx.timescale and _feature(conn, "continuous_aggregates")
    if cagg:
        conn.execute("DROP MATERIALIZED VIEW kpi_hourly")  # defined on the old columns
    conn.execute(_KPI_SERIES)
    conn.execute("DROP TABLE kpi")  # its chunks / partitions go with it
    part = "" if ctx.timescale else "PARTITION BY RANGE (period_end)"
    conn.execute(_KPI_POINTS.format(part=part))
    if ctx.timescale:
        conn.execute(
            sql.SQL(
                "SELECT {}('kpi', {}('period_end', %s::interval), create_default_indexes => false)"
            ).format(_ts(ctx, "create_hypertable"), _ts(ctx, "by_range")),
            (PARTITION_INTERVALS["kpi"],),
        )
    else:
        days = conn.execute(
            "SELECT DISTINCT floor(extract(epoch FROM period_end) / %s)::bigint FROM _kpi_v4_move",
            (PARTITION_INTERVALS["kpi"].total_seconds(),),
        ).fetchall()
        width = PARTITION_INTERVALS["kpi"]
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        ensure_partitions(conn, "kpi", sorted(epoch + width * int(d[0]) for d in days))
    conn.execute(
        "INSERT INTO kpi (series_id, period_end, value, granularity_s, suspect)"
        " SELECT series_id, period_end, value, granularity_s, suspect FROM _kpi_v4_move"
        " ORDER BY period_end, series_id"
    )
    conn.execute("DROP TABLE _kpi_v4_move")
    if ctx.timescale and _feature(conn, "compression"):
        conn.execute(
            "ALTER TABLE kpi SET (timescaledb.compress, timescaledb.compress_segmentby ="
            " 'series_id', timescaledb.compress_orderby = 'period_end DESC')"
        )
        conn.execute(
            sql.SQL("SELECT {}('kpi', INTERVAL '7 days', if_not_exists => true)").format(
                _ts(ctx, "add_compression_policy")
            )
        )
    if cagg:
        conn.execute(sql.SQL(_CAGG_V4).format(ts=sql.Identifier(ctx.ts_schema or "public")))
        conn.execute(
            sql.SQL(
                "SELECT {}('kpi_hourly', start_offset => INTERVAL '3 days',"
                " end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes')"
            ).format(_ts(ctx, "add_continuous_aggregate_policy"))
        )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "time-series, document, outbox, state and topology tables", _v1_tables),
    Migration(2, "hourly KPI aggregates (continuous aggregate or rollup table)", _v2_rollups),
    Migration(3, "compression and retention capabilities", _v3_policies),
    Migration(4, "KPI series table and narrow (period_end, series_id) KPI key", _v4_kpi_series),
)
LATEST_VERSION = MIGRATIONS[-1].version


def stored_version(conn: psycopg.Connection) -> int:
    if conn.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:  # type: ignore[index]
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0])  # type: ignore[index]


def check_not_newer(version: int) -> None:
    if version > LATEST_VERSION:
        raise SchemaMismatch(
            f"the database schema is version {version}, newer than this code ({LATEST_VERSION})",
            hint="upgrade TwinRCA or point TWINRCA_STORE__URL at another database",
        )


def run_migrations(conn: psycopg.Connection, ctx: Ctx) -> int:
    """Apply every pending migration in the caller's transaction; return the version."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY,"
        " description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    current = stored_version(conn)
    check_not_newer(current)
    for step in MIGRATIONS:
        if step.version <= current:
            continue
        logger.info("applying store migration %s: %s", step.version, step.description)
        step.apply(conn, ctx)
        conn.execute(
            "INSERT INTO schema_version (version, description) VALUES (%s, %s)",
            (step.version, step.description),
        )
    return max(current, LATEST_VERSION)


def partition_name(table: str, start: datetime) -> str:
    return f"{table}_p{start:%Y%m%d}"


def ensure_partitions(conn: psycopg.Connection, table: str, starts: list[datetime]) -> None:
    """Create the missing range partitions of ``table`` (plain PostgreSQL), in the parent's
    schema, under an advisory lock so concurrent writers do not race."""
    width: timedelta = PARTITION_INTERVALS[table]
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID + 1,))
    schema = conn.execute(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.oid = %s::regclass",
        (table,),
    ).fetchone()[0]  # type: ignore[index]
    for start in starts:
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} PARTITION OF {}.{} FOR VALUES FROM ({}) TO ({})"
            ).format(
                sql.Identifier(schema),
                sql.Identifier(partition_name(table, start)),
                sql.Identifier(schema),
                sql.Identifier(table),
                sql.Literal(start),
                sql.Literal(start + width),
            )
        )
