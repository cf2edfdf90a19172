"""One contract, three backends: the same checks on TimescaleDB, PostgreSQL and DuckDB.

Each server test runs in its own schema (``search_path`` in the URL), each embedded
test in its own file, so tests never share rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twinrca.core import (
    Alarm,
    AlarmState,
    AlarmType,
    ConfigError,
    Element,
    ElementKind,
    KpiSample,
    LogEvent,
    SchemaMismatch,
    StoreError,
    StoreUnavailable,
    Topology,
    ValidationError,
)
from twinrca.store import Store, WriteBatch, alarms_frame, kpis_frame, logs_frame, open_store

T0 = datetime(2024, 5, 1, tzinfo=UTC)

BACKENDS = [
    pytest.param("embedded", id="embedded"),
    pytest.param("timescaledb", id="timescaledb", marks=pytest.mark.integration),
    pytest.param("postgres", id="postgres", marks=pytest.mark.integration),
]


def _schema_url(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_store(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, unique_name: str
) -> Iterator[Callable[..., Store]]:
    """Open (and migrate) a store of ``backend`` in a fresh schema or file."""
    opened: list[Store] = []
    url = None
    if backend != "embedded":
        import psycopg

        base = request.getfixturevalue("tsdb_url" if backend == "timescaledb" else "pg_url")
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {unique_name}")
        url = _schema_url(base, unique_name)

    def factory(tenant: str = "default", migrate: bool = True) -> Store:
        store = open_store(backend, url=url, path=tmp_path / "store.duckdb", tenant=tenant)
        opened.append(store)
        if migrate:
            store.migrate()
        return store

    factory.url = url  # type: ignore[attr-defined]
    yield factory
    for store in opened:
        store.close()
    if backend != "embedded":
        import psycopg

        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {unique_name} CASCADE")


def _kpis(n_cells: int = 3, n_periods: int = 8, start: datetime = T0) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    samples = [
        KpiSample(
            f"cell:{c}",
            meas,
            float(rng.normal(50, 5)),
            start + timedelta(minutes=15 * (p + 1)),
            900,
            suspect=(p == 3),
        )
        for c in range(n_cells)
        for meas in ("rrc.att", "thp.dl")
        for p in range(n_periods)
    ]
    return kpis_frame(samples)


def _alarms() -> pd.DataFrame:
    return alarms_frame(
        [
            Alarm(
                "a1",
                "cell:0",
                T0 + timedelta(minutes=5),
                AlarmType.EQUIPMENT_ALARM,
                "powerProblem",
                "battery low",
                notification_id=11,
                additional_text="site on battery",
            ),
            Alarm(
                "a1",
                "cell:0",
                T0 + timedelta(minutes=50),
                AlarmType.EQUIPMENT_ALARM,
                "powerProblem",
                "battery low",
                state=AlarmState.CLEARED,
                notification_id=12,
            ),
            Alarm(
                "a2",
                "cell:1",
                T0 + timedelta(minutes=20),
                AlarmType.COMMUNICATIONS_ALARM,
                "lossOfSignal",
            ),
        ]
    )


def _logs() -> pd.DataFrame:
    return logs_frame(
        [
            LogEvent(T0 + timedelta(seconds=10), "site0", "ERROR", "link down on port 3", "t1"),
            LogEvent(T0 + timedelta(seconds=10), "site0", "ERROR", "link down on port 4", "t1"),
            LogEvent(T0 + timedelta(seconds=70), "site1", "INFO", "heartbeat", None),
        ]
    )


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


def test_round_trip_time_series(make_store: Callable[..., Store]) -> None:
    store = make_store()
    kpis, alarms, logs = _kpis(), _alarms(), _logs()
    result = store.write_batch(
        WriteBatch(
            kpis=kpis,
            alarms=alarms,
            logs=logs,
            offsets={("kpi", 0): 48, ("alarms", 1): 3},
            group="g1",
        )
    )
    assert (result.kpis_written, result.alarms_written, result.logs_written) == (48, 3, 3)
    assert result.duplicates_skipped == 0
    key = ["managed_object", "measurement", "period_end"]
    pd.testing.assert_frame_equal(_sorted(store.read_kpis(), key), _sorted(kpis, key))
    pd.testing.assert_frame_equal(
        _sorted(store.read_alarms(), ["event_time"]), _sorted(alarms, ["event_time"])
    )
    pd.testing.assert_frame_equal(
        _sorted(store.read_logs(), ["time", "message"]), _sorted(logs, ["time", "message"])
    )
    assert store.read_offsets("g1") == {("kpi", 0): 48, ("alarms", 1): 3}
    assert store.read_offsets("other") == {}


def test_replay_skips_duplicates(make_store: Callable[..., Store]) -> None:
    store = make_store()
    batch = WriteBatch(
        kpis=_kpis(), alarms=_alarms(), logs=_logs(), offsets={("kpi", 0): 5}, group="g"
    )
    store.write_batch(batch)
    again = store.write_batch(batch)
    assert again.rows_written == 0
    assert again.duplicates_skipped == 48 + 3 + 3
    doubled = pd.concat([_kpis(), _kpis(n_cells=4)], ignore_index=True)  # 48 old + 16 new, twice
    result = store.write_batch(WriteBatch(kpis=doubled))
    assert result.kpis_written == 16
    assert result.duplicates_skipped == len(doubled) - 16
    assert len(store.read_kpis()) == 64
    keyed = _logs().assign(log_key=["k1", "k1", "k2"])  # provided keys: the first two collide
    assert store.write_batch(WriteBatch(logs=keyed)).logs_written == 2


def test_failed_batch_writes_nothing_not_even_offsets(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.write_batch(WriteBatch(kpis=_kpis(n_cells=1), offsets={("kpi", 0): 10}, group="g"))
    bad = _alarms()
    bad.loc[1, "state"] = "exploded"
    with pytest.raises(StoreError):
        store.write_batch(
            WriteBatch(kpis=_kpis(n_cells=3), alarms=bad, offsets={("kpi", 0): 20}, group="g")
        )
    assert len(store.read_kpis()) == 16
    assert store.read_alarms().empty
    assert store.read_offsets("g") == {("kpi", 0): 10}
    store.write_batch(WriteBatch(offsets={("kpi", 0): 7, ("kpi", 1): 3}, group="g"))
    assert store.read_offsets("g") == {("kpi", 0): 10, ("kpi", 1): 3}  # offsets never go back


def test_time_range_and_filters(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.write_batch(WriteBatch(kpis=_kpis(), alarms=_alarms(), logs=_logs()))
    start, end = T0 + timedelta(minutes=30), T0 + timedelta(minutes=60)  # periods 30 and 45
    got = store.read_kpis(start, end, managed_objects=["cell:1"], measurements=["thp.dl"])
    assert list(got["period_end"]) == [
        pd.Timestamp(start),
        pd.Timestamp(T0 + timedelta(minutes=45)),
    ]
    assert set(got["managed_object"]) == {"cell:1"}
    assert len(store.read_kpis(start=T0 + timedelta(hours=2))) == 6 * 1  # only the last period
    assert list(store.read_alarms(end=T0 + timedelta(minutes=30))["alarm_id"]) == ["a1", "a2"]
    assert list(store.read_alarms(managed_objects=["cell:1"])["alarm_id"]) == ["a2"]
    assert list(store.read_logs(sources=["site1"])["message"]) == ["heartbeat"]
    assert len(store.read_logs("2024-05-01T00:01:00Z")) == 1


def test_tenants_are_isolated(make_store: Callable[..., Store]) -> None:
    a, b = make_store("tenant-a"), make_store("tenant-b")
    a.write_batch(WriteBatch(kpis=_kpis(), offsets={("kpi", 0): 1}, group="g"))
    a.put_state("drain3", b"x")
    assert b.read_kpis().empty and b.read_offsets("g") == {} and b.get_state("drain3") is None
    assert b.write_batch(WriteBatch(kpis=_kpis())).kpis_written == 48


def test_topology_state_documents(make_store: Callable[..., Store]) -> None:
    store = make_store()
    assert store.load_topology() is None
    topo = Topology(
        [
            Element("core", ElementKind.CORE),
            Element("site:1", ElementKind.SITE, 48.1, 11.5, "south", {"battery_min": 120}),
            Element("cell:1", ElementKind.CELL),
            Element("cell:2", ElementKind.CELL),
        ],
        [("core", "site:1"), ("site:1", "cell:1"), ("site:1", "cell:2")],
        [("cell:1", "cell:2")],
    )
    store.save_topology(topo)
    back = store.load_topology()
    assert back is not None
    assert sorted(back.feeds) == sorted(topo.feeds) and back.neighbour_pairs == topo.neighbour_pairs
    assert back.element("site:1") == topo.element("site:1")
    assert store.get_state("miner") is None
    store.put_state("miner", b"\x00\x01state")
    store.put_state("miner", b"\x00\x02state")
    assert store.get_state("miner") == b"\x00\x02state"

    assert store.put_document("incident", "i1", {"state": "open", "score": 0.5}) == 1
    assert store.put_document("incident", "i1", {"state": "diagnosed", "at": T0}) == 2
    store.put_document("incident", "i2", {"state": "open"})
    assert store.get_document("incident", "i1") == {"state": "diagnosed", "at": T0.isoformat()}
    assert store.get_document("incident", "nope") is None
    assert [d["state"] for d in store.list_documents("incident", where={"state": "open"})] == [
        "open"
    ]
    assert len(store.list_documents("incident")) == 2
    assert store.put_document("model", "m", {"auc": 0.9}, version=5) == 5
    assert store.put_document("model", "m", {"auc": 0.9}, version=5) == 5  # idempotent repeat
    with pytest.raises(StoreError):
        store.put_document("model", "m", {"auc": 0.1}, version=4)
    history = store.document_history("incident", "i1")
    assert [h.version for h in history] == [1, 2] and history[0].doc["score"] == 0.5


def test_outbox_and_metrics(make_store: Callable[..., Store]) -> None:
    store = make_store()
    store.put_document(
        "incident", "i1", {"state": "open"}, outbox=[("pagerduty", {"incident": "i1"})]
    )
    second = store.outbox_put("alertmanager", {"n": 2}, key="k2")
    assert store.outbox_put("alertmanager", {"n": 2}, key="k2") == second  # no duplicate
    claimed = store.outbox_claim(10)
    assert [m.destination for m in claimed] == ["pagerduty", "alertmanager"]
    assert claimed[0].payload == {"incident": "i1"} and claimed[0].attempts == 0
    assert store.outbox_claim(10) == []  # leased
    store.outbox_done(claimed[0].id)
    store.outbox_retry(claimed[1].id, datetime.now(UTC) - timedelta(seconds=1), "HTTP 503")
    retry = store.outbox_claim(10)
    assert [m.id for m in retry] == [second] and retry[0].last_error == "HTTP 503"
    assert retry[0].attempts == 1
    store.outbox_retry(second, None, "gave up")
    assert store.outbox_claim(10) == []

    store.record_metric("ingest_lag_s", 1.5, {"topic": "kpi"}, time=T0)
    store.record_metric("ingest_lag_s", 2.5, {"topic": "logs"}, time=T0 + timedelta(minutes=1))
    store.record_metric("dead_letters", 3, {}, time=T0)
    lag = store.read_metrics("ingest_lag_s")
    assert list(lag["value"]) == [1.5, 2.5] and lag["labels"][0] == {"topic": "kpi"}
    assert list(store.read_metrics(labels={"topic": "logs"})["value"]) == [2.5]
    assert len(store.read_metrics(start=T0 + timedelta(seconds=30))) == 1


def test_keyed_outbox_entries_enqueue_once(make_store: Callable[..., Store]) -> None:
    store, other = make_store(), make_store("tenant-b")
    url = "http://noc.example/hook"
    rec = (url, {"incident": "i1", "state": "recommended"}, "i1|recommended|s1")
    ack = (url, {"incident": "i1", "state": "acknowledged"}, "i1|acknowledged|s1")
    plain = (url, {"unkeyed": True})
    assert store.put_document("incident", "i1", {"state": "recommended"}, outbox=[rec, plain]) == 1
    # a second writer records the same step: the document is written, the alert is not
    v2 = store.put_document("incident", "i1", {"state": "recommended", "n": 2}, outbox=[rec])
    assert v2 == 2 and store.get_document("incident", "i1") == {"state": "recommended", "n": 2}
    # a key repeated within one put, and an unkeyed entry repeated: once, twice
    store.put_document("incident", "i1", {"state": "acknowledged"}, outbox=[ack, ack, plain])
    other.put_document("incident", "i1", {"state": "recommended"}, outbox=[rec])  # own tenant
    claimed = store.outbox_claim(10)
    assert sorted((m.key or "", m.destination) for m in claimed) == [
        ("", url),
        ("", url),
        ("i1|acknowledged|s1", url),
        ("i1|recommended|s1", url),
    ]
    by_key = {m.key: m for m in claimed}
    assert by_key["i1|recommended|s1"].payload == rec[1]
    assert store.outbox_put(url, rec[1], key="i1|recommended|s1") == by_key[rec[2]].id
    assert [(m.key, m.payload) for m in other.outbox_claim(10)] == [(rec[2], rec[1])]
    with pytest.raises(ValidationError):
        store.put_document("incident", "i2", {"state": "open"}, outbox=[(url,)])  # type: ignore[list-item]
    assert store.get_document("incident", "i2") is None  # nothing written


def test_hourly_aggregates_and_retention(make_store: Callable[..., Store]) -> None:
    store = make_store()
    kpis = _kpis(n_cells=2, n_periods=8)  # periods end 00:15 .. 02:00
    store.write_batch(WriteBatch(kpis=kpis))
    hourly = store.read_kpi_hourly(managed_objects=["cell:0"], measurements=["rrc.att"])
    sel = kpis[(kpis.managed_object == "cell:0") & (kpis.measurement == "rrc.att")]
    expected = sel.groupby(sel["period_end"].dt.floor("h"))["value"].agg(
        ["count", "mean", "min", "max"]
    )
    assert list(hourly["bucket"]) == list(expected.index)
    assert list(hourly["n"]) == list(expected["count"])
    np.testing.assert_allclose(hourly["mean"], expected["mean"])
    np.testing.assert_allclose(hourly["max"], expected["max"])
    store.write_batch(
        WriteBatch(kpis=_kpis(n_cells=1, n_periods=1, start=T0 + timedelta(minutes=2)))
    )
    first = store.read_kpi_hourly(
        end=T0 + timedelta(hours=1), managed_objects=["cell:0"], measurements=["rrc.att"]
    )
    assert first["n"].iloc[0] == expected["count"].iloc[0] + 1  # the aggregate follows new writes

    recent = _kpis(n_cells=1, n_periods=2, start=datetime.now(UTC).replace(microsecond=0))
    store.write_batch(WriteBatch(kpis=recent))
    dropped = store.apply_retention(timedelta(days=30), tables=("kpi",))
    assert dropped["kpi"] >= 1
    assert len(store.read_kpis()) == len(recent)


def test_migrations_idempotent_and_newer_schema_refused(
    make_store: Callable[..., Store], backend: str
) -> None:
    store = make_store(migrate=False)
    assert store.schema_version() == 0
    version = store.migrate()
    assert version >= 1 and store.migrate() == version == store.schema_version()
    _bump_schema_version(store, backend, version + 1, make_store)
    store.close()
    with pytest.raises(SchemaMismatch):
        make_store(migrate=False)


def _bump_schema_version(store: Store, backend: str, version: int, make_store: Callable) -> None:
    if backend == "embedded":
        store._con.execute("INSERT INTO schema_version VALUES (?, 'future', now())", [version])
        return
    import psycopg

    with psycopg.connect(make_store.url, autocommit=True) as conn:  # type: ignore[attr-defined]
        conn.execute("INSERT INTO schema_version VALUES (%s, 'future')", (version,))


def test_server_layout(make_store: Callable[..., Store], backend: str) -> None:
    """Chunks / partitions are created on write; optional features are detected."""
    store = make_store()
    store.write_batch(WriteBatch(kpis=_kpis(start=T0), alarms=_alarms(), logs=_logs()))
    store.write_batch(WriteBatch(kpis=_kpis(start=T0 + timedelta(days=3))))
    features = store.features()
    info = store.server_version()
    if backend == "embedded":
        assert info.startswith("DuckDB") and not features["continuous_aggregates"]
        return
    import psycopg

    with psycopg.connect(make_store.url) as conn:  # type: ignore[attr-defined]
        if backend == "timescaledb":
            assert "timescaledb 2." in info and features["hypertables"]
            chunks = conn.execute("SELECT count(*) FROM public.show_chunks('kpi')").fetchone()[0]
            assert chunks == 2
            license_ = conn.execute("SHOW timescaledb.license").fetchone()[0]
            kind = conn.execute(
                "SELECT relkind FROM pg_class WHERE oid = 'kpi_hourly'::regclass"
            ).fetchone()[0]
            if license_ == "apache":  # the build refuses these: fallbacks must be in use
                assert not features["continuous_aggregates"] and not features["compression"]
                assert not features["retention_policy"]
                assert kind == "r"  # the rollup table, not a continuous aggregate view
        else:
            assert info.startswith("PostgreSQL") and features["partitioning"]
            parts = conn.execute(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'kpi'::regclass"
            ).fetchone()[0]
            assert parts == 2


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["timescaledb", "postgres"])
def test_unreachable_server_fails_fast(kind: str) -> None:
    begin = time.monotonic()
    with pytest.raises(StoreUnavailable) as err:
        open_store(kind, url="postgresql://twinrca:secret@127.0.0.1:9/nowhere", connect_timeout_s=2)
    assert time.monotonic() - begin < 5
    assert "TWINRCA_STORE__URL" in str(err.value) and "secret" not in str(err.value)


@pytest.mark.integration
def test_missing_database_is_unavailable(pg_url: str) -> None:
    bad = pg_url.rsplit("/", 1)[0] + "/no_such_database_here"
    with pytest.raises(StoreUnavailable, match="no_such_database_here"):
        open_store("postgres", url=bad, connect_timeout_s=2)


@pytest.mark.integration
def test_timescale_backend_on_plain_postgres_is_a_config_error(pg_url: str) -> None:
    with pytest.raises(ConfigError, match="BACKEND=postgres"):
        open_store("timescaledb", url=pg_url)
