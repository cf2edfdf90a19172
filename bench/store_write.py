"""KPI write throughput of ``Store.write_batch`` on TimescaleDB (or PostgreSQL).

Baseline, measured in the same run on the same data: the same staging table and
``INSERT ... SELECT ... ON CONFLICT DO NOTHING``, but the COPY rows written one by one
with psycopg's ``write_row`` (text columns in the row, no numpy encoding).

    python -m bench.store_write --json [--quick] [--url URL] [--backend timescaledb|postgres]

Needs a server URL (``--url`` or ``TWINRCA_TEST_TSDB_URL``); exits cleanly without one.
Each run works in its own schema, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid

import numpy as np
import pandas as pd


def _frame(rows: int, seed: int = 7) -> pd.DataFrame:
    n_meas = 20
    cells = rows // n_meas
    rng = np.random.default_rng(seed)
    mos = [f"SubNetwork=1,ManagedElement=site{i // 3},Cell=c{i}" for i in range(cells)]
    t0 = pd.Timestamp("2024-05-01", tz="UTC")
    return pd.DataFrame(
        {
            "managed_object": np.repeat(mos, n_meas),
            "measurement": np.tile([f"pm.meas.{j}" for j in range(n_meas)], cells),
            "value": rng.normal(50, 5, cells * n_meas),
            "period_end": t0 + pd.to_timedelta(np.arange(cells * n_meas) % 96 * 900, unit="s"),
            "granularity_s": 900,
            "suspect": False,
        }
    )


def _baseline(store, frame: pd.DataFrame) -> float:  # type: ignore[no-untyped-def]
    """Per-row write_row COPY of the same rows, same INSERT ... ON CONFLICT."""
    from twinrca.store import _postgres as pgs
    from twinrca.store.frames import normalise_kpis

    begin = time.perf_counter()
    kpis = normalise_kpis(frame)
    rows = zip(
        kpis["managed_object"].tolist(),
        kpis["measurement"].tolist(),
        kpis["value"].tolist(),
        [t.to_pydatetime() for t in kpis["period_end"]],
        kpis["granularity_s"].tolist(),
        kpis["suspect"].tolist(),
        strict=True,
    )
    with store._tx("baseline") as conn:
        conn.execute(
            "CREATE TEMP TABLE _b (managed_object text, measurement text, value float8,"
            " period_end timestamptz, granularity_s int4, suspect bool) ON COMMIT DROP"
        )
        pgs._copy_rows(conn, "_b", ["text", "text", "float8", "timestamptz", "int4", "bool"], rows)
        conn.execute(
            "INSERT INTO kpi (tenant, managed_object, measurement, period_end, value,"
            " granularity_s, suspect) SELECT 'baseline', managed_object, measurement, period_end,"
            " value, granularity_s, suspect FROM _b ON CONFLICT DO NOTHING"
        )
    return time.perf_counter() - begin


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--url", default=os.environ.get("TWINRCA_TEST_TSDB_URL"))
    parser.add_argument("--backend", default="timescaledb", choices=["timescaledb", "postgres"])
    args = parser.parse_args()
    if not args.url:
        print("no server URL (--url or TWINRCA_TEST_TSDB_URL): skipped", file=sys.stderr)
        print(json.dumps({"bench": "store_write", "skipped": "no server"}))
        return 0
    import psycopg

    from twinrca.store import WriteBatch, open_store

    rows = args.rows or (50_000 if args.quick else 200_000)
    frame = _frame(rows)
    schema = "bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        with open_store(args.backend, url=f"{args.url}?options=-csearch_path%3D{schema}") as store:
            store.migrate()
            warm = _frame(2000, seed=1)
            warm["period_end"] -= pd.Timedelta(days=365)
            store.write_batch(WriteBatch(kpis=warm))  # warm-up on other rows
            print(f"writing {rows} KPI rows ...", file=sys.stderr)
            begin = time.perf_counter()
            result = store.write_batch(WriteBatch(kpis=frame))
            fast = time.perf_counter() - begin
            begin = time.perf_counter()
            replay = store.write_batch(WriteBatch(kpis=frame))
            replay_s = time.perf_counter() - begin
            base = _baseline(store, frame)
            version = store.server_version()
    finally:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    out = {
        "bench": "store_write",
        "server": version,
        "rows": rows,
        "written": result.kpis_written,
        "replay_duplicates": replay.duplicates_skipped,
        "rows_per_s": round(rows / fast),
        "replay_rows_per_s": round(rows / replay_s),
        "baseline_write_row_rows_per_s": round(rows / base),
        "ratio_vs_baseline": round(base / fast, 2),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
