"""``/v1/silences``: create, list and expire maintenance windows, per tenant; bad input
is a 422 naming the field."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from twinrca.api.app import ApiContext, create_app
from twinrca.runtime.auth import create_api_key
from twinrca.store import open_store
from twinrca.twin_replay.network import generate_topology


@pytest.fixture
def api(tmp_path):
    stores = {}

    def store_for(tenant: str):
        if tenant not in stores:
            stores[tenant] = open_store(
                "embedded", path=tmp_path / f"{tenant}.duckdb", tenant=tenant
            )
            stores[tenant].migrate()
        return stores[tenant]

    system = store_for("_system")
    keys = {t: {"X-API-Key": create_api_key(system, t)} for t in ("acme", "globex")}
    store_for("acme").save_topology(generate_topology(12, seed=0))
    app = create_app(ApiContext(store_for=store_for, system_store=system, start_jobs=False))
    yield TestClient(app), keys, store_for
    for s in stores.values():
        s.close()


def test_create_list_and_expire_a_silence(api) -> None:
    client, keys, store_for = api
    a = keys["acme"]
    body = {
        "elements": ["site:1"],
        "duration_min": 120,
        "comment": "site visit",
        "created_by": "ops",
    }
    made = client.post("/v1/silences", json=body, headers=a)
    assert made.status_code == 201, made.text
    sid = made.json()["silence_id"]
    assert made.json()["elements"] == ["site:1"] and made.json()["comment"] == "site visit"
    assert [s["silence_id"] for s in client.get("/v1/silences", headers=a).json()] == [sid]
    assert client.get("/v1/silences", headers=keys["globex"]).json() == []  # per tenant
    assert store_for("acme").get_document("silence", sid)["created_by"] == "ops"
    gone = client.delete(f"/v1/silences/{sid}", headers=a)
    assert gone.status_code == 200
    assert client.get("/v1/silences", headers=a).json() == []
    listed = client.get("/v1/silences?expired=true", headers=a).json()
    assert [s["silence_id"] for s in listed] == [sid]
    assert client.delete("/v1/silences/nope", headers=a).status_code == 404


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"duration_min": 10}, "at least one of elements"),
        ({"elements": ["site:1"]}, "exactly one of ends_at and duration_min"),
        ({"elements": ["nowhere:9"], "duration_min": 10}, "elements: unknown element"),
        (
            {
                "regions": ["r0"],
                "starts_at": "2026-01-02T00:00:00Z",
                "ends_at": "2026-01-01T00:00:00Z",
            },
            "ends_at must be after starts_at",
        ),
        ({"regions": ["r0"], "duration_min": -5}, "greater than 0"),
        ({"regions": ["r0"], "duration_min": 10**7}, "duration_min: between 0 and a year"),
        ({"regions": ["mars"], "duration_min": 10}, "regions: unknown region"),
    ],
)
def test_bad_silences_are_refused_with_the_field(api, body, says) -> None:
    client, keys, _ = api
    r = client.post("/v1/silences", json=body, headers=keys["acme"])
    assert r.status_code == 422
    assert says in r.text
