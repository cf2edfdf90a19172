"""PostgreSQL backend, part 3: the bulk writes (binary COPY through staging tables) and
the retention drops, as functions of a connection."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pandas as pd
import psycopg

from twinrca.store._common import PARTITION_INTERVALS
from twinrca.store.base import ALARM_COLUMNS

__all__ = [
    "STAGE_DDL",
    "drop_chunks",
    "drop_partitions",
    "write_alarms",
    "write_logs",
    "write_offsets",
]

STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS _stage_alarm (alarm_id text, notification_id int8,
    managed_object text, event_time timestamptz, alarm_type text, probable_cause text,
    specific_problem text, perceived_severity text, state text, additional_text text)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS _stage_log (time timestamptz, source text, severity text,
    message text, template_id text, log_key text) ON COMMIT DELETE ROWS;
"""
_ALARM_TYPES = [
    "text",
    "int8",
    "text",
    "timestamptz",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
]
_LOG_TYPES = ["timestamptz", "text", "text", "text", "text", "text"]


def _copy_rows(
    conn: psycopg.Connection, table: str, types: list[str], rows: Iterator[tuple]
) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _texts(values: pd.Series) -> list[str | None]:
    """Python strings, missing values as None (pandas may hold them as NaN); the
    normalised frames hold only strings and missing values."""
    return values.to_numpy(dtype=object, na_value=None).tolist()


def _times(values: pd.Series) -> list[datetime]:
    return list(values.dt.to_pydatetime())


def write_alarms(conn: psycopg.Connection, tenant: str, frame: pd.DataFrame) -> int:
    cols: list[list[Any]] = [_texts(frame[c]) for c in ALARM_COLUMNS]
    cols[1] = frame["notification_id"].to_numpy(dtype=object, na_value=None).tolist()
    cols[3] = _times(frame["event_time"])
    _copy_rows(conn, "_stage_alarm", _ALARM_TYPES, zip(*cols, strict=True))
    names = ", ".join(ALARM_COLUMNS)
    cur = conn.execute(
        f"INSERT INTO alarm (tenant, {names}) SELECT %s, {names} FROM _stage_alarm"
        " ON CONFLICT DO NOTHING",
        (tenant,),
    )
    return cur.rowcount


def write_logs(conn: psycopg.Connection, tenant: str, frame: pd.DataFrame) -> int:
    keys = _texts(frame["log_key"]) if "log_key" in frame.columns else [None] * len(frame)
    times = _times(frame["time"])
    texts = [_texts(frame[c]) for c in ("source", "severity", "message", "template_id")]
    cols = [times, *texts, keys]
    _copy_rows(conn, "_stage_log", _LOG_TYPES, zip(*cols, strict=True))
    cur = conn.execute(
        "INSERT INTO log (tenant, time, source, severity, message, template_id, log_key)"
        " SELECT %s, time, source, severity, message, template_id,"
        " coalesce(log_key, md5(message)) FROM _stage_log ON CONFLICT DO NOTHING",
        (tenant,),
    )
    return cur.rowcount


def write_offsets(
    conn: psycopg.Connection, tenant: str, group: str, offsets: dict[tuple[str, int], int]
) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ingest_offset (tenant, consumer_group, topic, partition, next_offset)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant, consumer_group, topic, partition)"
            " DO UPDATE SET next_offset = GREATEST(ingest_offset.next_offset,"
            " EXCLUDED.next_offset), updated_at = now()",
            [(tenant, group, t, int(p), int(o)) for (t, p), o in sorted(offsets.items())],
        )


def drop_chunks(conn: psycopg.Connection, ts_schema: str, table: str, cutoff: datetime) -> int:
    from psycopg import sql

    rows = conn.execute(
        sql.SQL("SELECT {}.drop_chunks(%s::regclass, older_than => %s)").format(
            sql.Identifier(ts_schema)
        ),
        (table, cutoff),
    ).fetchall()
    return len(rows)


def drop_partitions(conn: psycopg.Connection, table: str, cutoff: datetime) -> int:
    from psycopg import sql

    width = PARTITION_INTERVALS[table]
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.inhparent = %s::regclass",
        (table,),
    ).fetchall()
    dropped = 0
    for nsp, name in rows:
        match = re.fullmatch(rf"{table}_p(\d{{8}})", name)
        if not match:
            continue
        start = pd.Timestamp(match.group(1), tz="UTC").to_pydatetime()
        if start + width <= cutoff:
            conn.execute(
                sql.SQL("DROP TABLE {}.{}").format(sql.Identifier(nsp), sql.Identifier(name))
            )
            dropped += 1
    return dropped
