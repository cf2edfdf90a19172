"""Alert payloads in the shapes NOC tools accept (see docs/interfaces of the platform).

Every target gets the same dedup key for an incident: the X.733 identity of its root
alarm (managed object + alarm type + probable cause + specific problem), so a receiver
sees one alert per key however often TwinRCA re-sends it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from twinrca.core.incident import IncidentDoc
from twinrca.core.records import IncidentState, PerceivedSeverity, dedup_key

__all__ = [
    "AlertEvent",
    "alertmanager_v4",
    "generic_json",
    "incident_event",
    "mda_report",
    "opsgenie",
    "pagerduty_v2",
    "sign_generic",
    "threegpp_notification",
    "verify_generic",
]

ZERO_TIME = "0001-01-01T00:00:00Z"
_PD_SEVERITY = {
    PerceivedSeverity.CRITICAL: "critical",
    PerceivedSeverity.MAJOR: "error",
    PerceivedSeverity.MINOR: "warning",
    PerceivedSeverity.WARNING: "warning",
    PerceivedSeverity.INDETERMINATE: "info",
    PerceivedSeverity.CLEARED: "info",
}
_OG_PRIORITY = {
    PerceivedSeverity.CRITICAL: "P1",
    PerceivedSeverity.MAJOR: "P2",
    PerceivedSeverity.MINOR: "P3",
    PerceivedSeverity.WARNING: "P4",
    PerceivedSeverity.INDETERMINATE: "P5",
    PerceivedSeverity.CLEARED: "P5",
}


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """What every format is rendered from: one incident at one lifecycle step."""

    action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: str
    incident_id: str
    tenant: str
    summary: str
    source: str
    severity: PerceivedSeverity
    alarm_type: str
    probable_cause: str
    specific_problem: str
    started_at: datetime
    ended_at: datetime | None
    details: dict[str, Any]
    correlated: tuple[tuple[str, tuple[int, ...]], ...] = ()
    notification_id: int = 0
    link: str = ""


def _severity(name: str) -> PerceivedSeverity:
    """The X.733 severity named ``name`` (any case); MAJOR when it names none."""
    sev = name.upper()
    return (
        PerceivedSeverity(sev) if sev in PerceivedSeverity.__members__ else PerceivedSeverity.MAJOR
    )


def _iso(dt: datetime | None) -> str:
    return ZERO_TIME if dt is None else dt.isoformat().replace("+00:00", "Z")


def incident_event(
    incident: IncidentDoc,
    *,
    alarm_type: str,
    probable_cause: str,
    specific_problem: str = "",
    correlated: tuple[tuple[str, tuple[int, ...]], ...] = (),
    notification_id: int = 0,
    base_url: str = "",
    trigger: str | None = None,
) -> AlertEvent:
    """Build the event for an incident's current state. ``trigger``: what opened the
    incident (``"alarms"``, or ``"kpi"``: sustained KPI anomalies with no alarm, said in
    the summary and the details so a NOC sees why it exists). A KPI-triggered incident
    has no root alarm to name it: its dedup key is made from its incident id instead of
    its root element (stable over its lifecycle, distinct from the element's next one).
    ``trigger`` defaults to the incident's."""
    trigger = trigger or incident.trigger
    top = incident.candidates[0] if incident.candidates else None
    root = incident.root_element or (top.element if top else "unknown")
    action: Literal["trigger", "acknowledge", "resolve"] = "trigger"
    if incident.state is IncidentState.RESOLVED:
        action = "resolve"
    elif incident.state is IncidentState.ACKNOWLEDGED:
        action = "acknowledge"
    cause = (
        f"{top.failure_mode} on {top.element} (p={top.probability:.2f})"
        if top
        else "under diagnosis"
    )
    fix = incident.remediations[0].action if incident.remediations else None
    silent = " silent fault (KPI anomaly, no alarm):" if trigger == "kpi" else ""
    summary = f"[TwinRCA]{silent} {cause}" + (f"; recommended: {fix}" if fix else "")
    details: dict[str, Any] = {
        "incident_id": incident.incident_id,
        "state": str(incident.state),
        "trigger": trigger,
        "root_element": root,
        "alarm_count": len(incident.alarms),
        "elements": list(incident.elements[:50]),
        "candidates": [
            {
                "element": c.element,
                "failure_mode": c.failure_mode,
                "probability": round(c.probability, 4),
                "verified_score": c.verified_score,
            }
            for c in incident.candidates[:5]
        ],
        "remediations": [
            {
                "action": r.action,
                "target": r.target,
                "expected_recovery": r.expected_recovery,
                "interval": list(r.recovery_interval) if r.recovery_interval else None,
            }
            for r in incident.remediations[:3]
        ],
    }
    return AlertEvent(
        action=action,
        dedup_key=dedup_key(
            incident.incident_id if trigger == "kpi" else root,
            alarm_type,
            probable_cause,
            specific_problem,
        ),
        incident_id=incident.incident_id,
        tenant=incident.tenant,
        summary=summary[:1024],
        source=root,
        severity=_severity(incident.severity),
        alarm_type=alarm_type,
        probable_cause=probable_cause,
        specific_problem=specific_problem,
        started_at=incident.opened_at,
        ended_at=incident.closed_at,
        details=details,
        correlated=correlated,
        notification_id=notification_id,
        link=f"{base_url.rstrip('/')}/incidents/{incident.incident_id}" if base_url else "",
    )


def alertmanager_v4(ev: AlertEvent, *, receiver: str = "twinrca") -> dict[str, Any]:
    """Prometheus Alertmanager webhook body, version "4"."""
    status = "resolved" if ev.action == "resolve" else "firing"
    labels = {
        "alertname": "TwinRCAIncident",
        "severity": str(ev.severity).lower(),
        "tenant": ev.tenant,
        "managed_object": ev.source,
        "probable_cause": ev.probable_cause,
        "alarm_type": ev.alarm_type,
    }
    alert = {
        "status": status,
        "labels": labels,
        "annotations": {
            "summary": ev.summary,
            "incident_id": ev.incident_id,
            "description": json.dumps(ev.details, default=str),
        },
        "startsAt": _iso(ev.started_at),
        "endsAt": _iso(ev.ended_at) if status == "resolved" else ZERO_TIME,
        "generatorURL": ev.link,
        "fingerprint": ev.dedup_key[:16],
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{dedup_key="{ev.dedup_key}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {"dedup_key": ev.dedup_key},
        "commonLabels": labels,
        "commonAnnotations": {"summary": ev.summary},
        "externalURL": ev.link.rsplit("/incidents/", 1)[0] if ev.link else "",
        "alerts": [alert],
    }


def pagerduty_v2(ev: AlertEvent, *, routing_key: str) -> dict[str, Any]:
    """PagerDuty Events API v2 body (acknowledge/resolve carry only the key fields)."""
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": ev.action,
        "dedup_key": ev.dedup_key[:255],
    }
    if ev.action != "trigger":
        return body
    body["payload"] = {
        "summary": ev.summary[:1024],
        "source": ev.source,
        "severity": _PD_SEVERITY[ev.severity],
        "timestamp": _iso(ev.started_at),
        "component": ev.source,
        "group": ev.tenant,
        "class": ev.probable_cause,
        "custom_details": ev.details,
    }
    body["client"] = "TwinRCA"
    if ev.link:
        body["client_url"] = ev.link
        body["links"] = [{"href": ev.link, "text": "TwinRCA incident"}]
    return body


def opsgenie(ev: AlertEvent) -> dict[str, Any]:
    """Opsgenie Alert API create body (POST /v2/alerts; close uses the alias)."""
    return {
        "message": ev.summary[:130],
        "alias": ev.dedup_key[:512],
        "description": json.dumps(ev.details, default=str)[:15000],
        "tags": ["twinrca", ev.tenant, ev.alarm_type],
        "details": {
            "incident_id": ev.incident_id,
            "root_element": ev.source,
            "probable_cause": ev.probable_cause,
        },
        "entity": ev.source,
        "source": "TwinRCA",
        "priority": _OG_PRIORITY[ev.severity],
    }


def generic_json(ev: AlertEvent) -> dict[str, Any]:
    return {
        "event": ev.action,
        "dedup_key": ev.dedup_key,
        "incident_id": ev.incident_id,
        "tenant": ev.tenant,
        "summary": ev.summary,
        "severity": str(ev.severity),
        "source": ev.source,
        "started_at": _iso(ev.started_at),
        "ended_at": None if ev.ended_at is None else _iso(ev.ended_at),
        "details": ev.details,
    }


def sign_generic(body: bytes, secret: str, timestamp: int) -> str:
    """``t=<unix>,v1=<hex hmac-sha256 of "<t>." + body>`` (replay-protected signature)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_generic(
    body: bytes, header: str, secret: str, *, now: int, tolerance_s: int = 300
) -> bool:
    """Receiver-side check of :func:`sign_generic` (constant-time, rejects stale timestamps)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign_generic(body, secret, ts), header)


def threegpp_notification(
    ev: AlertEvent, *, system_dn: str = "DC=twinrca", href: str = ""
) -> dict[str, Any]:
    """3GPP TS 28.532 notifyNewAlarm / notifyClearedAlarm for the incident's root alarm,
    with ``rootCauseIndicator`` and ``correlatedNotifications`` naming the child alarms."""
    cleared = ev.action == "resolve"
    body: dict[str, Any] = {
        "href": href or f"/{ev.source}",
        "notificationId": ev.notification_id,
        "notificationType": "notifyClearedAlarm" if cleared else "notifyNewAlarm",
        "eventTime": _iso(ev.ended_at if cleared and ev.ended_at else ev.started_at),
        "systemDN": system_dn,
        "alarmId": ev.dedup_key,
        "alarmType": ev.alarm_type,
        "probableCause": ev.probable_cause,
        "perceivedSeverity": "CLEARED" if cleared else str(ev.severity),
    }
    if not cleared:
        body.update(
            {
                "specificProblem": ev.specific_problem,
                "rootCauseIndicator": True,
                "correlatedNotifications": [
                    {"sourceObjectInstance": mo, "notificationIds": list(ids)}
                    for mo, ids in ev.correlated
                ],
                "proposedRepairActions": "; ".join(
                    r["action"] for r in ev.details.get("remediations", [])
                ),
                "additionalText": ev.summary,
            }
        )
    return body


def mda_report(
    *,
    element: str,
    failure_mode: str,
    start: datetime,
    end: datetime,
    confidence: float,
    mda_type: str = "FaultPrediction",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """3GPP TS 28.104 MDA report for a predicted fault."""
    outputs = [
        {"mDAOutputIEName": "predictedFaultObject", "mDAOutputIEValue": element},
        {"mDAOutputIEName": "predictedFailureMode", "mDAOutputIEValue": failure_mode},
    ]
    for key, value in (extra or {}).items():
        outputs.append({"mDAOutputIEName": key, "mDAOutputIEValue": value})
    return {
        "mDAType": mda_type,
        "mDAOutputList": outputs,
        "analyticsWindow": {"mDAOutputStartTime": _iso(start), "mDAOutputEndTime": _iso(end)},
        "confidenceDegree": round(float(confidence), 4),
    }
