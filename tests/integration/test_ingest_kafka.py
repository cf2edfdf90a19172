"""Kafka -> ingest worker -> TimescaleDB: exact counts, dead letters, crashes and outages."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.integration.proxy import Proxy, kafka_through_proxy

from twinrca.core.records import Alarm, AlarmType
from twinrca.core.wire import alarm_message, dumps, pm_batch
from twinrca.ingest.deadletter import from_headers
from twinrca.ingest.topics import Topics
from twinrca.ingest.worker import IngestWorker, WorkerConfig

pytestmark = pytest.mark.integration
T0 = datetime(2024, 5, 1, tzinfo=UTC)
N_MEAS = 20


def _setup(bootstrap: str, prefix: str, partitions: int = 2) -> Topics:
    from kafka.admin import KafkaAdminClient, NewTopic

    topics = Topics(prefix + ".")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics(
        [
            NewTopic(topics.name(k), partitions, 1)
            for k in ("kpi", "alarms", "logs", "pm-xml", "dlq")
        ]
    )
    admin.close()
    return topics


def _pm(i: int) -> bytes:
    return dumps(
        pm_batch(
            f"cell:{i % 50}",
            T0 + timedelta(minutes=15 * (i // 50)),
            {f"m{j}": float(i * j) for j in range(N_MEAS)},
        )
    )


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    from twinrca.ingest.replay import open_producer

    p = open_producer(bootstrap)
    for v in values:
        p.send(topic, v)
    p.flush()
    p.close()


def _store(url: str, tenant: str):
    from twinrca.store.base import open_store

    store = open_store("timescaledb", url=url, tenant=tenant, connect_timeout_s=2)
    store.migrate()
    return store


def _count(url: str, tenant: str, table: str) -> int:
    import psycopg

    # KPI rows carry a series id since store schema 4; the tenant is on kpi_series
    source = "kpi join kpi_series using (series_id)" if table == "kpi" else table
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"select count(*) from {source} where tenant = %s", (tenant,)
        ).fetchone()[0]


def _run_until(worker: IngestWorker, done, timeout: float = 30.0) -> None:
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.1)
    worker.stop()
    thread.join(20)
    assert done(), "worker did not store everything in time"


def _dlq(bootstrap: str, topic: str, expected: int) -> list:
    from kafka import KafkaConsumer

    c = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        consumer_timeout_ms=3000,
    )
    out = [from_headers(r.value, r.headers) for r in c]
    c.close()
    return out


malformed = st.one_of(
    st.binary(max_size=60).filter(lambda b: not b.strip().startswith(b"{")),
    st.fixed_dictionaries(
        {
            "managedObject": st.one_of(st.integers(), st.just("")),
            "periodEnd": st.text(max_size=8),
            "measurements": st.dictionaries(
                st.text(min_size=1, max_size=4), st.text(max_size=3), min_size=1, max_size=2
            ),
        }
    ).map(lambda d: json.dumps(d).encode()),
)


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(bad=st.lists(malformed, min_size=15, max_size=15))
def test_round_trip_exact_counts_and_dead_letters(
    bad: list[bytes], kafka_bootstrap: str, tsdb_url: str, unique_name: str
) -> None:
    topics = _setup(kafka_bootstrap, unique_name)
    good = [_pm(i) for i in range(300)]
    alarms = [
        dumps(
            alarm_message(
                Alarm(
                    f"a{i}",
                    f"cell:{i}",
                    T0,
                    AlarmType.EQUIPMENT_ALARM,
                    "powerProblem",
                    notification_id=i,
                )
            )
        )
        for i in range(40)
    ]
    mixed = good[:150] + bad + good[150:] + good[:50]  # 50 duplicates
    _produce(kafka_bootstrap, topics.name("kpi"), mixed)
    _produce(kafka_bootstrap, topics.name("alarms"), alarms + alarms[:5])
    store = _store(tsdb_url, unique_name)
    worker = IngestWorker(
        WorkerConfig(kafka_bootstrap, unique_name, topics.data_topics(), topics.dlq), store
    )
    _run_until(
        worker,
        lambda: (
            worker.metrics.value(
                "twinrca_ingest_messages_total", topic=topics.name("kpi"), outcome="ok"
            )
            + worker.metrics.value(
                "twinrca_ingest_messages_total", topic=topics.name("kpi"), outcome="dead_letter"
            )
            >= len(mixed)
            and _count(tsdb_url, unique_name, "alarm") >= 40
        ),
    )
    assert _count(tsdb_url, unique_name, "kpi") == 300 * N_MEAS
    assert _count(tsdb_url, unique_name, "alarm") == 40
    dead = _dlq(kafka_bootstrap, topics.dlq, len(bad))
    assert sorted(d.original for d in dead) == sorted(bad)
    assert all(
        d.reason and d.source_topic == topics.name("kpi") and d.source_offset >= 0 for d in dead
    )
    stored = store.read_offsets(unique_name)
    assert sum(v for (t, _), v in stored.items() if t == topics.name("kpi")) == len(mixed)
    store.close()


WORKER = """
import sys, logging
sys.path.insert(0, {root!r})
from twinrca.ingest.worker import IngestWorker, WorkerConfig
from twinrca.ingest.topics import Topics
from twinrca.store.base import open_store
topics = Topics({prefix!r})
store = open_store("timescaledb", url={url!r}, tenant={tenant!r})
cfg = WorkerConfig({bootstrap!r}, {group!r}, topics.data_topics(), topics.dlq,
                   instance_id={instance!r}, batch_rows={batch}, poll_records=20,
                   session_timeout_ms=6000)
IngestWorker(cfg, store).run(max_idle_s={idle})
"""


def _spawn(idle: float, batch: int = 2000, **kw: str) -> subprocess.Popen:
    code = WORKER.format(
        root=str(Path(__file__).resolve().parents[2]), idle=idle, batch=batch, **kw
    )
    return subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)


def test_worker_killed_mid_batch_loses_and_duplicates_nothing(
    kafka_bootstrap: str, tsdb_url: str, unique_name: str
) -> None:
    topics = _setup(kafka_bootstrap, unique_name)
    n = 15000  # enough that the kill lands mid-stream however fast the writer is
    _produce(kafka_bootstrap, topics.name("kpi"), [_pm(i) for i in range(n)])
    _store(tsdb_url, unique_name).close()
    kw = dict(
        prefix=topics.prefix,
        url=tsdb_url,
        tenant=unique_name,
        bootstrap=kafka_bootstrap,
        group=unique_name,
        instance=unique_name + "-w1",
    )
    first = _spawn(idle=30, batch=200, **kw)  # many small transactions
    deadline = time.monotonic() + 30
    while _count(tsdb_url, unique_name, "kpi") < 5000 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.kill()  # SIGKILL, mid-stream
    first.wait()
    partial = _count(tsdb_url, unique_name, "kpi")
    assert 0 < partial < n * N_MEAS
    second = _spawn(idle=3, **kw)  # same static member id: takes its partitions back
    assert second.wait(timeout=40) == 0
    assert _count(tsdb_url, unique_name, "kpi") == n * N_MEAS


def test_two_workers_share_partitions(
    kafka_bootstrap: str, tsdb_url: str, unique_name: str
) -> None:
    topics = _setup(kafka_bootstrap, unique_name, partitions=4)
    _store(tsdb_url, unique_name).close()
    kw = dict(
        prefix=topics.prefix,
        url=tsdb_url,
        tenant=unique_name,
        bootstrap=kafka_bootstrap,
        group=unique_name,
    )
    workers = [_spawn(idle=6, instance=f"{unique_name}-w{i}", **kw) for i in range(2)]
    time.sleep(4)
    _produce(kafka_bootstrap, topics.name("kpi"), [_pm(i) for i in range(1000)])
    assert [w.wait(timeout=40) for w in workers] == [0, 0]
    assert _count(tsdb_url, unique_name, "kpi") == 1000 * N_MEAS
    import psycopg

    with psycopg.connect(tsdb_url) as conn:
        parts = conn.execute(
            "select count(*) from ingest_offset where tenant = %s and consumer_group = %s",
            (unique_name, unique_name),
        ).fetchone()[0]
    assert parts == 4


def test_database_outage_pauses_and_resumes_without_loss(
    kafka_bootstrap: str, tsdb_url: str, unique_name: str
) -> None:
    from urllib.parse import urlsplit

    u = urlsplit(tsdb_url)
    proxy = Proxy(u.hostname or "127.0.0.1", u.port or 5432).start()
    url = tsdb_url.replace(f"{u.hostname}:{u.port}", f"127.0.0.1:{proxy.port}")
    topics = _setup(kafka_bootstrap, unique_name)
    store = _store(url, unique_name)
    worker = IngestWorker(
        WorkerConfig(
            kafka_bootstrap, unique_name, topics.data_topics(), topics.dlq, batch_rows=2000
        ),
        store,
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    _produce(kafka_bootstrap, topics.name("kpi"), [_pm(i) for i in range(200)])
    time.sleep(2)
    proxy.stop()  # database gone
    _produce(kafka_bootstrap, topics.name("kpi"), [_pm(i) for i in range(200, 600)])
    time.sleep(3)
    assert thread.is_alive()
    assert _count(tsdb_url, unique_name, "kpi") < 600 * N_MEAS  # the outage is real
    proxy.start()  # back on the same port
    deadline = time.monotonic() + 30
    while _count(tsdb_url, unique_name, "kpi") < 600 * N_MEAS and time.monotonic() < deadline:
        time.sleep(0.2)
    worker.stop()
    thread.join(20)
    proxy.stop()
    assert _count(tsdb_url, unique_name, "kpi") == 600 * N_MEAS


def test_broker_outage_resumes_without_loss(
    kafka_bootstrap: str, tsdb_url: str, unique_name: str
) -> None:
    topics = _setup(kafka_bootstrap, unique_name)
    host, port = kafka_bootstrap.rsplit(":", 1)
    proxy = Proxy(host, int(port)).start()
    store = _store(tsdb_url, unique_name)
    with kafka_through_proxy(kafka_bootstrap, proxy):
        worker = IngestWorker(
            WorkerConfig(proxy.address, unique_name, topics.data_topics(), topics.dlq), store
        )
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        _produce(kafka_bootstrap, topics.name("kpi"), [_pm(i) for i in range(200)])
        time.sleep(3)
        proxy.stop()  # broker unreachable for the worker
        time.sleep(3)
        assert thread.is_alive()
        proxy.start()
        _produce(kafka_bootstrap, topics.name("kpi"), [_pm(i) for i in range(200, 500)])
        deadline = time.monotonic() + 40
        while _count(tsdb_url, unique_name, "kpi") < 500 * N_MEAS and time.monotonic() < deadline:
            time.sleep(0.2)
        worker.stop()
        thread.join(20)
    proxy.stop()
    assert _count(tsdb_url, unique_name, "kpi") == 500 * N_MEAS
