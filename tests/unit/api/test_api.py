"""HTTP API on the embedded store: tenant isolation on every route, lifecycle,
feedback, subscriptions, rate limits, and contract tests generated from the OpenAPI
schema (schemathesis)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from twinrca.api.app import ApiContext, create_app
from twinrca.core.incident import AlarmRef, CandidateDoc, IncidentDoc, RemediationDoc
from twinrca.core.records import IncidentState
from twinrca.runtime.auth import create_api_key
from twinrca.runtime.incident_store import save_incident
from twinrca.store import open_store

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def world(tmp_path):
    stores = {}

    def store_for(tenant: str):
        if tenant not in stores:
            stores[tenant] = open_store(
                "embedded", path=tmp_path / f"{tenant}.duckdb", tenant=tenant
            )
            stores[tenant].migrate()
        return stores[tenant]

    system = store_for("_system")
    keys = {t: create_api_key(system, t) for t in ("acme", "globex")}
    inc = IncidentDoc(
        incident_id="inc-1",
        tenant="acme",
        opened_at=T0,
        updated_at=T0,
        root_element="site:1",
        alarms=[AlarmRef(alarm_id="a1", managed_object="site:1", event_time=T0, root=True)],
        candidates=[CandidateDoc(element="site:1", failure_mode="FM-PWR-MAINS", probability=0.9)],
        remediations=[
            RemediationDoc(
                action="RA-DISPATCH-GENERATOR",
                target="site:1",
                expected_recovery=0.97,
                recovery_interval=(0.9, 1.0),
            )
        ],
    )
    save_incident(store_for("acme"), inc)
    store_for("acme").put_document(
        "prediction",
        "pred-1",
        {
            "prediction_id": "pred-1",
            "status": "open",
            "element": "site:1",
            "failure_mode": "FM-PWR-BATTERY",
            "probability": 0.8,
            "mDAType": "FaultPrediction",
        },
    )
    app = create_app(
        ApiContext(
            store_for=store_for,
            system_store=system,
            rate_per_s=1000,
            burst=1000,
            jobs_dir=str(tmp_path / "jobs"),
            start_jobs=False,  # the job runner itself is tested with the dashboard
        )
    )
    yield TestClient(app), keys, store_for
    for s in stores.values():
        s.close()


INCIDENT_ROUTES = [
    ("get", "/v1/incidents/inc-1"),
    ("get", "/v1/incidents/inc-1/candidates"),
    ("get", "/v1/incidents/inc-1/evidence"),
    ("get", "/v1/incidents/inc-1/recommendations"),
    ("post", "/v1/incidents/inc-1/acknowledge"),
    ("post", "/v1/incidents/inc-1/resolve"),
    ("get", "/v1/predictions/pred-1"),
]


def test_predictions_by_id_and_status(world) -> None:
    client, keys, _ = world
    h = {"X-API-Key": keys["acme"]}
    assert client.get("/v1/predictions/pred-1", headers=h).json()["mDAType"] == "FaultPrediction"
    assert [
        p["prediction_id"] for p in client.get("/v1/predictions?status=open", headers=h).json()
    ] == ["pred-1"]
    assert client.get("/v1/predictions?status=expired", headers=h).json() == []
    assert client.get("/v1/predictions/nope", headers=h).status_code == 404
    other = {"X-API-Key": keys["globex"]}
    assert client.get("/v1/predictions", headers=other).json() == []


def test_owner_reads_its_incident(world) -> None:
    client, keys, _ = world
    h = {"X-API-Key": keys["acme"]}
    listed = client.get("/v1/incidents", headers=h).json()
    assert [i["incident_id"] for i in listed] == ["inc-1"]
    assert (
        client.get("/v1/incidents/inc-1/candidates", headers=h).json()[0]["failure_mode"]
        == "FM-PWR-MAINS"
    )


@pytest.mark.parametrize(("method", "path"), INCIDENT_ROUTES)
def test_other_tenant_gets_404_everywhere(world, method, path) -> None:
    client, keys, _ = world
    resp = getattr(client, method)(path, headers={"X-API-Key": keys["globex"]})
    assert resp.status_code == 404
    assert client.get("/v1/incidents", headers={"X-API-Key": keys["globex"]}).json() == []


def test_no_or_bad_key_is_401(world) -> None:
    client, _, _ = world
    assert client.get("/v1/incidents").status_code == 401
    assert client.get("/v1/incidents", headers={"X-API-Key": "trca_nope"}).status_code == 401
    assert client.get("/health").status_code == 200


def test_lifecycle_and_feedback(world) -> None:
    client, keys, store_for = world
    h = {"Authorization": f"Bearer {keys['acme']}"}
    assert (
        client.post("/v1/incidents/inc-1/acknowledge", headers=h, json={"by": "noc-ana"}).json()[
            "state"
        ]
        == "acknowledged"
    )
    fb = client.post(
        "/v1/incidents/inc-1/feedback",
        headers=h,
        json={"true_element": "site:1", "true_failure_mode": "FM-PWR-MAINS"},
    )
    assert fb.status_code == 200
    assert (
        store_for("acme").get_document("feedback", "inc-1")["true_failure_mode"] == "FM-PWR-MAINS"
    )
    resolved = client.post("/v1/incidents/inc-1/resolve", headers=h).json()
    assert resolved["state"] == IncidentState.RESOLVED and resolved["closed_at"]
    assert client.post("/v1/incidents/inc-1/resolve", headers=h).status_code == 409


def test_subscriptions_are_per_tenant(world) -> None:
    client, keys, _ = world
    a, g = {"X-API-Key": keys["acme"]}, {"X-API-Key": keys["globex"]}
    sub = client.post(
        "/v1/webhooks",
        headers=a,
        json={"url": "https://93.184.216.34/x", "format": "pagerduty", "secret": "R" * 32},
    )
    assert sub.status_code == 201
    sid = sub.json()["subscription_id"]
    assert "secret" not in sub.json()
    assert [s["subscription_id"] for s in client.get("/v1/webhooks", headers=a).json()] == [sid]
    assert client.get("/v1/webhooks", headers=g).json() == []
    assert client.delete(f"/v1/webhooks/{sid}", headers=g).status_code == 404
    assert client.delete(f"/v1/webhooks/{sid}", headers=a).status_code == 204


def test_subscriptions_to_internal_addresses_are_refused(world) -> None:
    client, keys, _ = world
    a = {"X-API-Key": keys["acme"]}
    for url in ("http://127.0.0.1:9/x", "http://169.254.169.254/latest", "http://10.0.0.5/x"):
        r = client.post("/v1/webhooks", headers=a, json={"url": url, "format": "generic"})
        assert r.status_code == 422, r.text
        assert "TWINRCA_WEBHOOKS__ALLOW" in r.text
    assert client.get("/v1/webhooks", headers=a).json() == []


def test_the_secret_is_never_returned(world) -> None:
    client, keys, _ = world
    a = {"X-API-Key": keys["acme"]}
    secret = "hmac-" + "S" * 40
    body = {"url": "https://93.184.216.34/x", "format": "generic", "secret": secret}
    made = client.post("/v1/webhooks", headers=a, json=body)
    assert made.status_code == 201 and secret not in made.text
    assert secret not in client.get("/v1/webhooks", headers=a).text


def test_scenario_jobs_are_per_tenant(world) -> None:
    client, keys, _ = world
    a, g = {"X-API-Key": keys["acme"]}, {"X-API-Key": keys["globex"]}
    made = client.post(
        "/v1/scenarios", headers=a, json={"cells": 20, "days": 1, "faults": 2, "seed": 3}
    )
    assert made.status_code == 202 and made.json()["state"] == "queued"
    job = made.json()["job_id"]
    assert client.get(f"/v1/scenarios/{job}", headers=a).json()["request"]["cells"] == 20
    assert client.get(f"/v1/scenarios/{job}", headers=g).status_code == 404
    assert client.post("/v1/scenarios", headers=a, json={"cells": 5}).status_code == 422


def test_rate_limit_answers_429(tmp_path) -> None:
    store = open_store("embedded", path=tmp_path / "s.duckdb", tenant="_system")
    store.migrate()
    key = create_api_key(store, "acme")
    app = create_app(
        ApiContext(store_for=lambda t: store, system_store=store, rate_per_s=0.01, burst=2)
    )
    client = TestClient(app)
    codes = [client.get("/v1/incidents", headers={"X-API-Key": key}).status_code for _ in range(4)]
    assert codes[:2] == [200, 200] and codes[2] == 429
    store.close()


def test_openapi_contract(world) -> None:
    """Every documented operation answers with a status and body its schema allows."""
    import schemathesis
    from schemathesis.checks import not_a_server_error

    client, keys, _ = world
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures = []
    for op in schema.get_all_operations():
        operation = op.ok()
        strategy = operation.as_strategy()
        from hypothesis import HealthCheck, given, settings

        @settings(
            max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=strategy)
        def run(case) -> None:
            resp = case.call(headers={"X-API-Key": keys["acme"]})
            if resp.status_code >= 500:
                failures.append((operation.label, resp.status_code, resp.text[:200]))
            case.validate_response(resp, checks=[not_a_server_error])

        run()
    assert not failures, failures
