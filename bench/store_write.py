"""KPI write throughput of ``Store.write_batch`` on TimescaleDB (or PostgreSQL).

Measured in the same run, on the same rows, each in the run's own schema:

* ``rows_per_s``: first write of the batch (every series new: ids created, then written);
* ``steady_rows_per_s``: the same series at the next day (ids cached: the ingest case);
* ``replay_rows_per_s``: the first batch again (every row a duplicate, skipped, counted);
* ``copy_only_rows_per_s``: the steady batch's binary COPY stream straight into ``kpi``
  (no series lookup, no deduplication: the limit of this server);
* ``v3_text_key_rows_per_s``: the schema-v3 design on a table of the v3 layout (text
  key ``(tenant, managed_object, measurement, period_end)`` and its two secondary
  indexes), written the v3 way: dictionary-coded staging and ``INSERT ... ON CONFLICT``.

    python -m bench.store_write --json [--quick] [--url URL] [--backend timescaledb|postgres]

Needs a server URL (``--url`` or ``TWINRCA_TEST_TSDB_URL``); exits cleanly without one.
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

_V3_TABLE = """
CREATE TABLE kpi_v3 (
    tenant text NOT NULL, managed_object text NOT NULL, measurement text NOT NULL,
    period_end timestamptz NOT NULL, value double precision, granularity_s integer NOT NULL,
    suspect boolean NOT NULL DEFAULT false,
    CONSTRAINT kpi_v3_key UNIQUE (tenant, managed_object, measurement, period_end)
) {part};
CREATE INDEX kpi_v3_tenant_time ON kpi_v3 (tenant, period_end DESC);
CREATE INDEX kpi_v3_tenant_meas_time ON kpi_v3 (tenant, measurement, period_end DESC);
"""
_V3_ROW = np.dtype(
    [
        ("nf", ">i2"),
        ("l0", ">i4"), ("mo", ">i4"),
        ("l1", ">i4"), ("meas", ">i4"),
        ("l2", ">i4"), ("value", ">f8"),
        ("l3", ">i4"), ("ts", ">i8"),
        ("l4", ">i4"), ("gran", ">i4"),
        ("l5", ">i4"), ("suspect", "i1"),
    ]
)  # fmt: skip


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


def _v3_write(conn, frame: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    """The schema-v3 write of ``Store.write_batch`` (dictionary-coded staging, ON CONFLICT)."""
    from twinrca.store.frames import normalise_kpis

    frame = normalise_kpis(frame)
    mo_codes, mo_names = pd.factorize(frame["managed_object"], sort=True)
    meas_codes, meas_names = pd.factorize(frame["measurement"], sort=True)
    ts = frame["period_end"].to_numpy(dtype="datetime64[us]").view(np.int64)
    order = np.lexsort((ts, meas_codes, mo_codes))
    rows = np.empty(len(frame), dtype=_V3_ROW)
    rows["nf"] = 6
    for lf, width in (("l0", 4), ("l1", 4), ("l2", 8), ("l3", 8), ("l4", 4), ("l5", 1)):
        rows[lf] = width
    rows["mo"], rows["meas"] = mo_codes[order], meas_codes[order]
    rows["value"] = frame["value"].to_numpy()[order]
    rows["ts"] = ts[order] - 946_684_800_000_000
    rows["gran"] = frame["granularity_s"].to_numpy()[order]
    rows["suspect"] = frame["suspect"].to_numpy()[order]
    payload = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + rows.tobytes() + b"\xff\xff"
    conn.execute(
        "CREATE TEMP TABLE _v3_stage (mo int4, meas int4, value float8, period_end timestamptz,"
        " granularity_s int4, suspect bool) ON COMMIT DROP;"
        " CREATE TEMP TABLE _v3_mo (code int4, name text) ON COMMIT DROP;"
        " CREATE TEMP TABLE _v3_meas (code int4, name text) ON COMMIT DROP"
    )
    with conn.cursor() as cur:
        for table, names in (("_v3_mo", mo_names), ("_v3_meas", meas_names)):
            with cur.copy(f"COPY {table} FROM STDIN") as copy:
                for i, name in enumerate(names):
                    copy.write_row((i, str(name)))
        with cur.copy("COPY _v3_stage FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(payload)
    conn.execute("SET LOCAL work_mem = '64MB'")
    conn.execute(
        "INSERT INTO kpi_v3 (tenant, managed_object, measurement, period_end, value,"
        " granularity_s, suspect) SELECT 'bench', m.name, x.name, s.period_end, s.value,"
        " s.granularity_s, s.suspect FROM _v3_stage s JOIN _v3_mo m ON m.code = s.mo"
        " JOIN _v3_meas x ON x.code = s.meas ORDER BY s.mo, s.meas, s.period_end"
        " ON CONFLICT DO NOTHING"
    )


def _v3_table(conn, timescale: bool, partition_start: pd.Timestamp) -> None:  # type: ignore[no-untyped-def]
    conn.execute(_V3_TABLE.format(part="" if timescale else "PARTITION BY RANGE (period_end)"))
    if timescale:
        conn.execute(
            "SELECT public.create_hypertable('kpi_v3', public.by_range('period_end',"
            " INTERVAL '1 day'), create_default_indexes => false)"
        )
    else:
        end = partition_start + pd.Timedelta(days=1)
        conn.execute(
            f"CREATE TABLE kpi_v3_p PARTITION OF kpi_v3 FOR VALUES FROM ('{partition_start}')"
            f" TO ('{end}')"
        )


def _timed(action) -> float:  # type: ignore[no-untyped-def]
    begin = time.perf_counter()
    action()
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

    from twinrca.store import WriteBatch, normalise_kpis, open_store
    from twinrca.store import _pg_kpi as pk

    rows = args.rows or (50_000 if args.quick else 200_000)
    frame = _frame(rows)
    steady = frame.assign(period_end=frame["period_end"] + pd.Timedelta(days=1))
    schema = "bench_" + uuid.uuid4().hex[:8]
    url = f"{args.url}?options=-csearch_path%3D{schema}"
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        with open_store(args.backend, url=url) as store:
            store.migrate()
            warm = _frame(2000, seed=1)
            warm["period_end"] -= pd.Timedelta(days=365)
            store.write_batch(WriteBatch(kpis=warm))  # warm-up on other rows
            print(f"writing {rows} KPI rows ...", file=sys.stderr)
            out: list = []
            first = _timed(lambda: out.append(store.write_batch(WriteBatch(kpis=frame))))
            steady_s = _timed(lambda: out.append(store.write_batch(WriteBatch(kpis=steady))))
            replay_s = _timed(lambda: out.append(store.write_batch(WriteBatch(kpis=frame))))
            result, steady_result, replay = out
            # the limit: the steady batch's own COPY stream, two days on (new keys)
            later = normalise_kpis(
                steady.assign(period_end=steady["period_end"] + pd.Timedelta(days=2))
            )
            store._prepare_partitions(later, None, None)
            keys, codes = pk.series_keys(later)
            points = pk.encode_points(later, store._series.lookup(keys)[codes])
            with psycopg.connect(url) as conn:
                copy_s = _timed(
                    lambda: (pk._copy_payload(conn, "kpi", points.payload), conn.commit())
                )
                _v3_table(conn, args.backend == "timescaledb", frame["period_end"].min().floor("D"))
                conn.commit()
                v3_s = _timed(lambda: (_v3_write(conn, frame), conn.commit()))
            version = store.server_version()
    finally:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    print(
        json.dumps(
            {
                "bench": "store_write",
                "server": version,
                "rows": rows,
                "written": result.kpis_written,
                "steady_written": steady_result.kpis_written,
                "replay_duplicates": replay.duplicates_skipped,
                "rows_per_s": round(rows / first),
                "steady_rows_per_s": round(rows / steady_s),
                "replay_rows_per_s": round(rows / replay_s),
                "copy_only_rows_per_s": round(rows / copy_s),
                "v3_text_key_rows_per_s": round(rows / v3_s),
                "steady_ratio_to_copy": round(copy_s / steady_s, 2),
                "speedup_vs_v3": round(v3_s / first, 2),
                "steady_speedup_vs_v3": round(v3_s / steady_s, 2),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
