"""Upgrading a database that already holds data: KPI rows written under schema 3
(text key) are readable, and not duplicated by a replay, after migration 4 (series ids)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import psycopg
import pytest

from twinrca.store import _pg_schema as schema
from twinrca.store import open_store
from twinrca.store.base import WriteBatch

pytestmark = pytest.mark.integration
T0 = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize("which", ["tsdb_url", "pg_url"])
def test_migration_4_keeps_existing_kpis(request, which, unique_name, monkeypatch) -> None:
    base = request.getfixturevalue(which)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {unique_name}")
    url = f"{base}?options=-csearch_path%3D{unique_name}"
    backend = "timescaledb" if which == "tsdb_url" else "postgres"
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:3])
    monkeypatch.setattr(schema, "LATEST_VERSION", 3)
    with open_store(backend, url=url, tenant="acme") as old:
        assert old.migrate() == 3
    rows = [
        ("acme", f"cell:{i % 5}", "prb", T0 + timedelta(minutes=15 * i), float(i), 900, False)
        for i in range(200)
    ]
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        if backend == "postgres":  # plain PostgreSQL: range partitions exist only on demand
            schema.ensure_partitions(conn, "kpi", [T0 + timedelta(days=d) for d in range(4)])
        cur.executemany(
            "INSERT INTO kpi (tenant, managed_object, measurement, period_end, value,"
            " granularity_s, suspect) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    monkeypatch.undo()
    with open_store(backend, url=url, tenant="acme") as new:
        assert new.migrate() == schema.LATEST_VERSION
        got = new.read_kpis()
        assert len(got) == 200
        assert sorted(got["value"]) == [float(i) for i in range(200)]
        replay = pd.DataFrame(
            [
                {
                    "managed_object": r[1],
                    "measurement": r[2],
                    "value": r[4],
                    "period_end": r[3],
                    "granularity_s": r[5],
                    "suspect": r[6],
                }
                for r in rows[:50]
            ]
        )
        result = new.write_batch(WriteBatch(kpis=replay))
        assert result.kpis_written == 0 and result.duplicates_skipped == 50
        assert len(new.read_kpis()) == 200
