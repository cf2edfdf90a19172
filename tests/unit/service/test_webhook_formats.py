from __future__ import annotations

import json
from datetime import UTC, datetime

from twinrca.alerts.formats import (
    ZERO_TIME,
    alertmanager_v4,
    generic_json,
    incident_event,
    mda_report,
    opsgenie,
    pagerduty_v2,
    sign_generic,
    threegpp_notification,
    verify_generic,
)
from twinrca.core import IncidentState
from twinrca.core.incident import AlarmRef, CandidateDoc, IncidentDoc, RemediationDoc

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _incident(state: IncidentState = IncidentState.RECOMMENDED) -> IncidentDoc:
    return IncidentDoc(
        incident_id="inc-1",
        tenant="acme",
        opened_at=T0,
        updated_at=T0,
        state=state,
        root_element="site:7",
        alarms=[AlarmRef(alarm_id=a, managed_object="site:7", event_time=T0) for a in ("a1", "a2")],
        elements=["site:7", "cell:7-1"],
        severity="CRITICAL",
        candidates=[CandidateDoc(element="site:7", failure_mode="FM-PWR-MAINS", probability=0.91)],
        remediations=[
            RemediationDoc(
                action="dispatch_generator",
                target="site:7",
                expected_recovery=0.98,
                recovery_interval=(0.95, 1.0),
            ),
        ],
    )


def _event(state: IncidentState = IncidentState.RECOMMENDED):
    inc = _incident(state)
    if state is IncidentState.RESOLVED:
        inc = inc.model_copy(update={"closed_at": datetime(2026, 5, 1, 13, 0, tzinfo=UTC)})
    return incident_event(
        inc,
        alarm_type="EQUIPMENT_ALARM",
        probable_cause="powerProblem",
        specific_problem="mains failure",
        correlated=(("cell:7-1", (11, 12)),),
        notification_id=7,
        base_url="http://noc.example",
    )


def test_same_dedup_key_across_lifecycle() -> None:
    keys = {_event(s).dedup_key for s in IncidentState}
    assert len(keys) == 1


def test_alertmanager_v4_shape() -> None:
    firing = alertmanager_v4(_event())
    assert firing["version"] == "4" and firing["status"] == "firing"
    assert set(firing) >= {
        "groupKey",
        "truncatedAlerts",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    }
    alert = firing["alerts"][0]
    assert alert["endsAt"] == ZERO_TIME and alert["startsAt"] == "2026-05-01T12:00:00Z"
    resolved = alertmanager_v4(_event(IncidentState.RESOLVED))
    assert resolved["status"] == "resolved"
    assert resolved["alerts"][0]["endsAt"] == "2026-05-01T13:00:00Z"
    assert resolved["alerts"][0]["fingerprint"] == alert["fingerprint"]


def test_pagerduty_trigger_and_resolve() -> None:
    trig = pagerduty_v2(_event(), routing_key="R" * 32)
    assert trig["event_action"] == "trigger"
    assert trig["payload"]["severity"] == "critical"
    assert len(trig["payload"]["summary"]) <= 1024 and trig["payload"]["source"] == "site:7"
    res = pagerduty_v2(_event(IncidentState.RESOLVED), routing_key="R" * 32)
    assert set(res) == {"routing_key", "event_action", "dedup_key"}
    assert res["dedup_key"] == trig["dedup_key"]
    ack = pagerduty_v2(_event(IncidentState.ACKNOWLEDGED), routing_key="R" * 32)
    assert ack["event_action"] == "acknowledge"


def test_opsgenie_limits() -> None:
    body = opsgenie(_event())
    assert len(body["message"]) <= 130 and body["priority"] == "P1"
    assert body["alias"] == _event().dedup_key


def test_generic_signature_round_trip_and_replay_protection() -> None:
    body = json.dumps(generic_json(_event())).encode()
    header = sign_generic(body, "s3cret", 1_700_000_000)
    assert verify_generic(body, header, "s3cret", now=1_700_000_010)
    assert not verify_generic(body + b" ", header, "s3cret", now=1_700_000_010)
    assert not verify_generic(body, header, "other", now=1_700_000_010)
    assert not verify_generic(body, header, "s3cret", now=1_700_009_999)  # stale
    assert not verify_generic(body, "garbage", "s3cret", now=1_700_000_010)


def test_3gpp_new_and_cleared() -> None:
    new = threegpp_notification(_event())
    assert new["notificationType"] == "notifyNewAlarm"
    assert new["rootCauseIndicator"] is True
    assert new["correlatedNotifications"] == [
        {"sourceObjectInstance": "cell:7-1", "notificationIds": [11, 12]}
    ]
    assert {
        "href",
        "notificationId",
        "eventTime",
        "systemDN",
        "alarmId",
        "alarmType",
        "probableCause",
        "perceivedSeverity",
    } <= set(new)
    cleared = threegpp_notification(_event(IncidentState.RESOLVED))
    assert cleared["notificationType"] == "notifyClearedAlarm"
    assert cleared["perceivedSeverity"] == "CLEARED" and cleared["alarmId"] == new["alarmId"]


def test_mda_report_shape() -> None:
    rep = mda_report(
        element="site:7", failure_mode="FM-PWR-BATT", start=T0, end=T0, confidence=0.8731
    )
    assert rep["analyticsWindow"]["mDAOutputStartTime"] == "2026-05-01T12:00:00Z"
    assert rep["confidenceDegree"] == 0.8731
    assert {o["mDAOutputIEName"] for o in rep["mDAOutputList"]} >= {"predictedFaultObject"}
