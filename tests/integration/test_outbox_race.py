"""Two service instances (two store connection pools) racing to record the same incident
step on the real TimescaleDB: the keyed alert is enqueued exactly once.

The first test races whole ``put_document`` calls from two threads; the second holds an
uncommitted keyed insert open on a raw connection, so the store's insert of the same key
is certain to run concurrently with it (it must wait, then insert nothing, or insert
the row when the other transaction rolls back).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import psycopg
import pytest

from twinrca.store import Store, open_store

pytestmark = pytest.mark.integration

URL = "http://noc.example/hook"


@pytest.fixture
def schema_url(tsdb_url: str, unique_name: str) -> Iterator[str]:
    with psycopg.connect(tsdb_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {unique_name}")
    sep = "&" if "?" in tsdb_url else "?"
    yield f"{tsdb_url}{sep}options=-csearch_path%3D{unique_name}"
    with psycopg.connect(tsdb_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {unique_name} CASCADE")


@pytest.fixture
def two_stores(schema_url: str) -> Iterator[tuple[Store, Store]]:
    a = open_store("timescaledb", url=schema_url, tenant="acme", pool_max=2)
    a.migrate()
    b = open_store("timescaledb", url=schema_url, tenant="acme", pool_max=2)
    yield a, b
    a.close()
    b.close()


def _in_threads(*calls: Callable[[], object]) -> list[BaseException]:
    """Run the calls at the same moment, one thread each; return their exceptions."""
    barrier = threading.Barrier(len(calls))
    failures: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            call()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return failures


def test_two_stores_racing_one_step_enqueue_each_alert_once(
    two_stores: tuple[Store, Store],
) -> None:
    a, b = two_stores
    rounds = 15
    for r in range(rounds):
        entry = (URL, {"incident": f"i{r}"}, f"i{r}|recommended|s1")

        def put(store: Store, writer: str, r: int = r, entry: tuple = entry) -> None:
            store.put_document(
                "incident", f"i{r}", {"state": "recommended", "by": writer}, outbox=[entry]
            )

        assert _in_threads(lambda: put(a, "a"), lambda: put(b, "b")) == []
    claimed = a.outbox_claim(1000)
    assert Counter(m.key for m in claimed) == {f"i{r}|recommended|s1": 1 for r in range(rounds)}
    assert all(m.payload == {"incident": m.key.split("|")[0]} for m in claimed if m.key)
    # both writers' documents were stored (two versions each)
    assert all(len(b.document_history("incident", f"i{r}")) == 2 for r in range(rounds))


@pytest.mark.parametrize("other_commits", [True, False], ids=["commit", "rollback"])
def test_keyed_insert_waits_for_a_concurrent_one(
    two_stores: tuple[Store, Store], schema_url: str, other_commits: bool
) -> None:
    store, _ = two_stores
    key = "i9|acknowledged|s1"
    failures: list[BaseException] = []

    def put() -> None:
        try:
            store.put_document(
                "incident", "i9", {"state": "acknowledged"}, outbox=[(URL, {"writer": "me"}, key)]
            )
        except BaseException as exc:
            failures.append(exc)

    writer = threading.Thread(target=put)
    with psycopg.connect(schema_url) as other:  # closed (rolled back) even if a check fails
        other.execute(
            "INSERT INTO outbox (tenant, destination, payload, key) VALUES (%s, %s, %s, %s)",
            ("acme", URL, '{"writer": "other"}', key),
        )  # not committed yet: holds the (tenant, key) index entry
        writer.start()
        writer.join(timeout=1.0)
        waited = writer.is_alive()
        if other_commits:
            other.commit()
        else:
            other.rollback()
    writer.join(timeout=10)
    assert waited, "the keyed insert did not wait for the concurrent one"
    assert not writer.is_alive() and failures == []
    assert store.get_document("incident", "i9") == {"state": "acknowledged"}
    claimed = store.outbox_claim(10)
    expected = {"writer": "other"} if other_commits else {"writer": "me"}
    assert [(m.key, m.payload) for m in claimed] == [(key, expected)]
