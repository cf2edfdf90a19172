"""Render an incident's lifecycle change into the tenant's webhook subscriptions.

Returns ``(destination URL, outbox payload, key)`` outbox entries that the caller writes
in the same transaction as the incident (``save_incident(..., alerts=...)``). The key
``incident_id|state|subscription_id`` makes the store enqueue one alert per incident,
lifecycle step and subscription, even when two service instances (e.g. during a Kafka
rebalance) both record the same step.
"""

from __future__ import annotations

from typing import Any

from twinrca.alerts.delivery import outbox_payload
from twinrca.alerts.formats import incident_event
from twinrca.alerts.render import render
from twinrca.core.incident import IncidentDoc
from twinrca.core.records import IncidentState
from twinrca.store.base import Store

__all__ = [
    "ALERTING_STATES",
    "QUIET_STATES",
    "alert_key",
    "alerts_for",
    "paged",
    "secrets_by_url",
]

#: the lifecycle steps that notify NOC tools
ALERTING_STATES = {IncidentState.RECOMMENDED, IncidentState.ACKNOWLEDGED, IncidentState.RESOLVED}


def alert_key(incident_id: str, state: IncidentState, subscription_id: str) -> str:
    """The outbox key of the alert of one lifecycle step to one subscription."""
    return f"{incident_id}|{state}|{subscription_id}"


def alerts_for(
    store: Store, doc: IncidentDoc, *, base_url: str = ""
) -> list[tuple[str, dict[str, Any], str]]:
    """Keyed outbox entries ``(url, payload, key)`` for every active subscription of
    the incident's tenant (see :func:`alert_key`)."""
    if doc.state not in ALERTING_STATES or not paged(doc):
        return []
    subs = [
        s
        for s in store.list_documents("subscription", where={"active": True})
        if "incident" in s.get("events", ["incident"])
    ]
    if not subs:
        return []
    root_alarm = next((a for a in doc.alarms if a.root), doc.alarms[0] if doc.alarms else None)
    correlated: dict[str, list[int]] = {}
    for a in doc.alarms:
        if a is not root_alarm and a.notification_id is not None:
            correlated.setdefault(a.managed_object, []).append(a.notification_id)
    # the dedup key is the X.733 identity of the root alarm: stable over the lifecycle;
    # a KPI-triggered incident (no alarm) is a threshold crossing on its root element
    kpi = root_alarm is None and doc.trigger == "kpi"
    event = incident_event(
        doc,
        alarm_type=root_alarm.alarm_type if root_alarm else "QUALITY_OF_SERVICE_ALARM",
        probable_cause=root_alarm.probable_cause
        if root_alarm
        else ("thresholdCrossed" if kpi else "unknown"),
        specific_problem=root_alarm.specific_problem
        if root_alarm
        else ("sustained KPI anomaly" if kpi else ""),
        correlated=tuple((mo, tuple(ids)) for mo, ids in sorted(correlated.items())),
        notification_id=root_alarm.notification_id or 0 if root_alarm else 0,
        base_url=base_url,
        trigger=doc.trigger,
    )
    out = []
    for s in subs:
        fmt, secret = s["format"], s.get("secret") or ""
        body, headers = render(fmt, event, secret)
        sub_id = str(s.get("subscription_id") or s["url"])
        key = alert_key(doc.incident_id, doc.state, sub_id)
        out.append((s["url"], outbox_payload(fmt, body, headers), key))
    return out


#: states of an incident kept and shown but not paged
QUIET_STATES = (IncidentState.CONDITION, IncidentState.SILENCED, IncidentState.FOLLOW_UP)


def paged(doc: IncidentDoc) -> bool:
    """Whether the incident pages: not one kept as a condition, silenced or a follow-up
    that never went on to be diagnosed as a fault (a condition that grew into a fault, a fault
    left standing when its silence ended)."""
    if doc.state in QUIET_STATES:
        return False
    states = {h.get("state") for h in doc.history}
    if not states & {str(s) for s in QUIET_STATES}:
        return True
    return bool(states & {"diagnosed", "verified", "recommended"})


def secrets_by_url(store: Store) -> dict[str, str]:
    """HMAC keys of the generic subscriptions, for the deliverer's signatures."""
    return {
        s["url"]: s["secret"]
        for s in store.list_documents("subscription", where={"active": True})
        if s.get("format") == "generic" and s.get("secret")
    }
