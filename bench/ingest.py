"""Ingest benchmark: Kafka -> validation -> TimescaleDB, against COPY and naive INSERTs.

``python -m bench.ingest --json [--quick]`` prints one JSON object (progress on stderr):
``rows_per_s`` (KPI values end to end: from the worker's first poll with data to the
last database commit), ``copy_only_rows_per_s`` (the same rows COPY'd straight into the
same table, same run), ``naive_rows_per_s`` (one autocommitted INSERT per row),
``ratio_to_copy``, ``speedup_vs_naive``, ``alarm_msgs_per_s`` (single-alarm messages
through Kafka, validation and the store), ``pm_xml_values_per_s`` and
``ves_events_per_s`` (vendor formats through their decoders, see bench.ingest_vendor),
``backend``, ``server_version``.
Starts the services with deploy/services.sh when they are not running.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _services() -> dict[str, str]:
    script = ROOT / "deploy" / "services.sh"
    env = dict(os.environ)
    if not (env.get("TWINRCA_TEST_KAFKA") and env.get("TWINRCA_TEST_TSDB_URL")):
        status = subprocess.run([str(script), "status"], capture_output=True, text=True)
        if "running" not in status.stdout.lower() or "stopped" in status.stdout.lower():
            _say("starting services with deploy/services.sh up")
            subprocess.run([str(script), "up"], check=True, stdout=sys.stderr)
        out = subprocess.run([str(script), "env"], capture_output=True, text=True, check=True)
        for line in out.stdout.splitlines():
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def _create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    admin.close()


def _pm_messages(n_msgs: int, n_meas: int, rng: np.random.Generator) -> list[bytes]:
    from twinrca.core.wire import dumps, pm_batch

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    names = [f"pm.counter.{j:02d}" for j in range(n_meas)]
    values = rng.normal(100, 20, size=(n_msgs, n_meas)).round(3)
    cells = 500
    return [
        dumps(
            pm_batch(
                f"SubNetwork=1,ManagedElement={i % cells},Cell=1",
                t0 + timedelta(minutes=15 * (i // cells)),
                dict(zip(names, values[i].tolist(), strict=True)),
            )
        )
        for i in range(n_msgs)
    ]


def _alarm_messages(n: int) -> list[bytes]:
    from twinrca.core.records import Alarm, AlarmType
    from twinrca.core.wire import alarm_message, dumps

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        dumps(
            alarm_message(
                Alarm(
                    f"al-{i}",
                    f"ManagedElement={i % 700}",
                    t0 + timedelta(seconds=i),
                    AlarmType.EQUIPMENT_ALARM,
                    "powerProblem",
                    "psu",
                    notification_id=i,
                )
            )
        )
        for i in range(n)
    ]


def _produce(bootstrap: str, topic: str, messages: list[bytes]) -> None:
    from twinrca.ingest.replay import open_producer

    producer = open_producer(bootstrap, acks=1, linger_ms=20)
    for m in messages:
        producer.send(topic, m)
    producer.flush()
    producer.close()


def _consume(bootstrap: str, url: str, kind: str, topic: str, expected: int, table_count) -> float:
    """Run a worker until ``expected`` rows are stored; seconds from first data to done."""
    from twinrca.ingest.worker import IngestWorker, WorkerConfig
    from twinrca.store.base import open_store

    tenant = "bench_" + uuid.uuid4().hex[:8]
    store = open_store("timescaledb", url=url, tenant=tenant)
    worker = IngestWorker(
        WorkerConfig(bootstrap, "g" + tenant, {topic: kind}, topic + ".dlq"), store
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    first = None
    deadline = time.monotonic() + 600
    while True:
        written = worker.metrics.value("twinrca_ingest_messages_total", topic=topic, outcome="ok")
        if first is None and written > 0:
            first = time.perf_counter()
        rows = table_count(worker)
        if rows >= expected:
            break
        if not thread.is_alive() or time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError(
                f"{kind}: worker {'died' if not thread.is_alive() else 'timed out'} with "
                f"{rows}/{expected} rows stored ({written} messages ok)"
            )
        time.sleep(0.02)
    done = time.perf_counter()
    worker.stop()
    thread.join(30)
    store.close()
    assert first is not None
    return done - first


def _copy_only(url: str, frame) -> tuple[float, float]:
    """The same rows COPY'd straight into ``kpi`` (series ids resolved beforehand, untimed):
    row by row with ``write_row`` as the limit of the issue, and as one numpy-encoded
    binary stream (the server's own limit)."""
    import psycopg

    from twinrca.store import _pg_kpi as pk
    from twinrca.store import normalise_kpis, open_store

    rates = []
    for shift_days in (1000, 2000):  # fresh keys for each of the two copies
        later = normalise_kpis(frame)
        later["period_end"] = later["period_end"] + np.timedelta64(shift_days, "D")
        with open_store("timescaledb", url=url, tenant="bench_copy") as store:
            keys, codes = pk.series_keys(later)
            ids = pk.resolve_series(store._tx, store.tenant, store._series, keys)[codes]
        with psycopg.connect(url) as conn:
            if shift_days == 1000:
                rows = list(
                    zip(
                        ids.tolist(),
                        later["period_end"].dt.to_pydatetime(),
                        later["value"].tolist(),
                        later["granularity_s"].tolist(),
                        later["suspect"].tolist(),
                        strict=True,
                    )
                )
                started = time.perf_counter()
                with (
                    conn.cursor() as cur,
                    cur.copy(
                        "COPY kpi (series_id, period_end, value, granularity_s, suspect)"
                        " FROM STDIN (FORMAT BINARY)"
                    ) as copy,
                ):
                    copy.set_types(["int4", "timestamptz", "float8", "int4", "bool"])
                    for row in rows:
                        copy.write_row(row)
            else:
                started = time.perf_counter()
                pk._copy_payload(conn, "kpi", pk.encode_points(later, ids).payload)
            conn.commit()
            rates.append(len(later) / (time.perf_counter() - started))
    return rates[0], rates[1]


def _naive(url: str, frame, n: int) -> float:
    import psycopg

    sub = frame.head(n)
    rows = list(
        zip(
            sub["managed_object"],
            sub["measurement"],
            sub["period_end"].dt.to_pydatetime(),
            sub["value"].tolist(),
            sub["granularity_s"].tolist(),
            sub["suspect"].tolist(),
            strict=True,
        )
    )
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        for mo, meas, end, value, gran, suspect in rows:
            conn.execute(
                "INSERT INTO kpi (series_id, period_end, value, granularity_s, suspect)"
                " SELECT series_id, %s, %s, %s, %s FROM kpi_series WHERE tenant = 'bench_copy'"
                " AND managed_object = %s AND measurement = %s ON CONFLICT DO NOTHING",
                (end, value, gran, suspect, mo, meas),
            )
        return len(rows) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="small run (under 60 s)")
    args = parser.parse_args()
    env = _services()
    bootstrap, base_url = env["TWINRCA_TEST_KAFKA"], env["TWINRCA_TEST_TSDB_URL"]
    import psycopg

    schema = "bench_ingest_" + uuid.uuid4().hex[:8]  # the run's own tables, dropped after
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        _run(args, bootstrap, f"{base_url}?options=-csearch_path%3D{schema}")
    finally:
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _run(args: argparse.Namespace, bootstrap: str, url: str) -> None:
    rng = np.random.default_rng(7)
    n_msgs, n_meas, n_alarms = (5000, 40, 30000) if args.quick else (20000, 40, 100000)
    run = "b" + uuid.uuid4().hex[:8]
    kpi_topic, alarm_topic = f"{run}.kpi", f"{run}.alarms"
    _create_topics(bootstrap, [kpi_topic, alarm_topic, kpi_topic + ".dlq", alarm_topic + ".dlq"], 2)

    from bench.ingest_vendor import vendor_rates
    from twinrca.ingest.columns import KpiColumns
    from twinrca.ingest.decode import decode_pm_json
    from twinrca.store.base import open_store

    _say(f"producing {n_msgs} PM messages x {n_meas} values and {n_alarms} alarms")
    pm = _pm_messages(n_msgs, n_meas, rng)
    _produce(bootstrap, kpi_topic, pm)
    _produce(bootstrap, alarm_topic, _alarm_messages(n_alarms))
    with open_store("timescaledb", url=url, tenant="bench_meta") as meta:
        meta.migrate()
        server = meta.server_version()
    expected = n_msgs * n_meas

    def kpi_rows(w) -> int:
        return int(w.metrics.value("twinrca_ingest_rows_written_total", table="kpi"))

    def alarm_rows(w) -> int:
        return int(w.metrics.value("twinrca_ingest_rows_written_total", table="alarm"))

    _say("end to end: KPI values")
    e2e_s = _consume(bootstrap, url, "kpi", kpi_topic, expected, kpi_rows)
    cols = KpiColumns()
    for m in pm:
        decode_pm_json(m, cols)
    frame = cols.to_frame()
    _say("COPY only")
    copy_rate, copy_binary_rate = _copy_only(url, frame)
    _say("naive INSERTs")
    naive_rate = _naive(url, frame, 2000 if args.quick else 5000)
    _say("end to end: alarms")
    alarm_s = _consume(bootstrap, url, "alarms", alarm_topic, n_alarms, alarm_rows)
    rows_per_s = expected / e2e_s
    result = {
        "rows_per_s": round(rows_per_s),
        "copy_only_rows_per_s": round(copy_rate),
        "copy_binary_rows_per_s": round(copy_binary_rate),
        "ratio_to_copy_binary": round(rows_per_s / copy_binary_rate, 3),
        "naive_rows_per_s": round(naive_rate),
        "ratio_to_copy": round(rows_per_s / copy_rate, 3),
        "speedup_vs_naive": round(rows_per_s / naive_rate, 1),
        "alarm_msgs_per_s": round(n_alarms / alarm_s),
        **vendor_rates(args.quick),
        "backend": "timescaledb",
        "server_version": server,
        "kpi_values": expected,
        "values_per_message": n_meas,
        "alarm_messages": n_alarms,
        "quick": args.quick,
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
