"""Alerts of an incident's lifecycle: one keyed outbox entry per (incident, step,
subscription), so two writers recording the same step enqueue it once (embedded store)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from twinrca.alerts.subscriptions import ALERTING_STATES, alert_key, alerts_for
from twinrca.core.incident import AlarmRef, CandidateDoc, IncidentDoc, transition
from twinrca.core.records import IncidentState
from twinrca.runtime.incident_store import save_incident
from twinrca.store import Store, open_store

T0 = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture
def store() -> Iterator[Store]:
    s = open_store("embedded", path=None, tenant="acme")
    s.migrate()
    subs = (
        ("s-gen", "generic", True),
        ("s-am", "alertmanager", True),
        ("s-off", "opsgenie", False),
    )
    for sub_id, fmt, active in subs:
        s.put_document(
            "subscription",
            sub_id,
            {
                "subscription_id": sub_id,
                "url": f"http://noc.example/{fmt}",
                "format": fmt,
                "events": ["incident"],
                "secret": "k",
                "active": active,
            },
        )
    yield s
    s.close()


def _incident(state: IncidentState = IncidentState.RECOMMENDED) -> IncidentDoc:
    return IncidentDoc(
        incident_id="inc-7",
        tenant="acme",
        state=state,
        opened_at=T0,
        updated_at=T0,
        root_element="site:1",
        alarms=[AlarmRef(alarm_id="a1", managed_object="site:1", event_time=T0, root=True)],
        candidates=[CandidateDoc(element="site:1", failure_mode="FM-PWR-MAINS", probability=0.9)],
    )


def test_alerts_are_keyed_by_incident_state_and_subscription(store: Store) -> None:
    entries = alerts_for(store, _incident())
    got = sorted((url, key) for url, _, key in entries)
    assert got == [
        ("http://noc.example/alertmanager", "inc-7|recommended|s-am"),
        ("http://noc.example/generic", "inc-7|recommended|s-gen"),
    ]
    assert alert_key("inc-7", IncidentState.ACKNOWLEDGED, "s-am") == "inc-7|acknowledged|s-am"
    assert all(alerts_for(store, _incident(s)) == [] for s in set(IncidentState) - ALERTING_STATES)


def test_two_writers_of_one_step_enqueue_one_alert_per_subscription(store: Store) -> None:
    doc = _incident()
    # two service instances both saw the incident become recommended
    save_incident(store, doc, alerts=alerts_for(store, doc))
    save_incident(store, doc, alerts=alerts_for(store, doc))
    assert len(store.document_history("incident", "inc-7")) == 2  # both writes kept
    # the next lifecycle step alerts again, once
    acked = transition(doc, IncidentState.ACKNOWLEDGED, by="noc")
    save_incident(store, acked, alerts=alerts_for(store, acked))
    save_incident(store, acked, alerts=alerts_for(store, acked))
    keys = sorted(m.key or "" for m in store.outbox_claim(100))
    assert keys == [
        "inc-7|acknowledged|s-am",
        "inc-7|acknowledged|s-gen",
        "inc-7|recommended|s-am",
        "inc-7|recommended|s-gen",
    ]
