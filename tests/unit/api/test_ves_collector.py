"""The VES collector endpoints: per tenant, events stored, refused events named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from twinrca.api.app import ApiContext, create_app
from twinrca.core.vendor_wire import ves_batch, ves_fault, ves_measurement, ves_stnd_defined
from twinrca.runtime.auth import create_api_key
from twinrca.store import open_store

T = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, str, object]]:
    stores = {}

    def store_for(tenant: str):
        if tenant not in stores:
            stores[tenant] = open_store("embedded", path=tmp_path / f"{tenant}.db", tenant=tenant)
            stores[tenant].migrate()
        return stores[tenant]

    key = create_api_key(store_for("_system"), "acme")
    ctx = ApiContext(store_for=store_for, system_store=store_for("_system"), start_jobs=False)
    yield TestClient(create_app(ctx)), key, store_for
    for s in stores.values():
        s.close()


def test_event_and_batch_are_stored_for_the_keys_tenant(api) -> None:
    client, key, store_for = api
    headers = {"X-API-Key": key}
    r = client.post("/eventListener/v7", json=ves_fault("gnb7", "LinkDown", T), headers=headers)
    assert r.status_code == 202 and r.json() == {"accepted": 1, "refused": []}
    bad = ves_stnd_defined({"notificationType": "notifyNewAlarm", "eventTime": "xyz"}, "gnb8", T)
    batch = ves_batch([ves_measurement("gnb7", T, {"RRU.PrbUsedDl": 5.0}), bad])
    r = client.post("/eventListener/v7/eventBatch", json=batch, headers=headers)
    assert r.status_code == 202 and r.json()["accepted"] == 1
    assert [x["reason"] for x in r.json()["refused"]] == ["missing_field"]  # no notificationId
    store = store_for("acme")
    assert store.read_alarms()["managed_object"].tolist() == ["gnb7"]
    assert store.read_kpis()["measurement"].tolist() == ["RRU.PrbUsedDl"]


def test_refusals_and_auth(api) -> None:
    client, key, _ = api
    event = ves_fault("gnb7", "LinkDown", T)
    assert client.post("/eventListener/v7", json=event).status_code == 401
    event["event"]["faultFields"]["eventSeverity"] = "LOUD"
    r = client.post("/eventListener/v7", json=event, headers={"X-API-Key": key})
    assert r.status_code == 409 and r.json()["reason"] == "bad_value"
    r = client.post("/eventListener/v7/eventBatch", json={"event": {}}, headers={"X-API-Key": key})
    assert r.status_code == 409 and r.json()["reason"] == "missing_field"


def test_refused_events_are_kept_as_dead_letters_once(api) -> None:
    client, key, store_for = api
    headers = {"X-API-Key": key}
    loud = ves_fault("gnb7", "LinkDown", T)
    loud["event"]["faultFields"]["eventSeverity"] = "LOUD"
    for _ in range(2):  # the same refused event sent twice is one dead letter
        assert client.post("/eventListener/v7", json=loud, headers=headers).status_code == 409
    bad = ves_stnd_defined({"notificationType": "notifyNewAlarm", "eventTime": "xyz"}, "gnb8", T)
    batch = ves_batch([ves_fault("gnb9", "LinkDown", T), bad])
    assert (
        client.post("/eventListener/v7/eventBatch", json=batch, headers=headers).json()["accepted"]
        == 1
    )
    r = client.get("/v1/dead-letters", headers=headers)
    assert r.status_code == 200
    dead = r.json()
    assert sorted(d["reason"] for d in dead) == ["bad_value", "missing_field"]
    assert {d["source"] for d in dead} == {"http:/eventListener/v7"}
    assert next(d for d in dead if d["reason"] == "missing_field")["object"] == "gnb8"
    only = client.get("/v1/dead-letters?reason=bad_value", headers=headers).json()
    assert [d["reason"] for d in only] == ["bad_value"]
    import base64
    import json

    original = json.loads(base64.b64decode(only[0]["original_b64"]))
    assert original["event"]["faultFields"]["eventSeverity"] == "LOUD"
    assert client.get("/v1/dead-letters").status_code == 401
    # another tenant sees none of them
    assert store_for("acme").list_documents("dead_letter", limit=10)
    assert not store_for("other").list_documents("dead_letter", limit=10)
    assert store_for("acme").read_alarms()["managed_object"].tolist() == ["gnb9"]
