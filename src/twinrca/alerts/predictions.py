"""Alerts of fault predictions.

The outbox entries of a new prediction for the tenant's
  subscriptions to ``prediction`` events: the MDA report for ``3gpp`` and ``generic``
  (signed), a warning-level alert for Alertmanager, PagerDuty and Opsgenie.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from twinrca.alerts.delivery import outbox_payload
from twinrca.alerts.formats import AlertEvent
from twinrca.alerts.render import render
from twinrca.core.records import PerceivedSeverity, dedup_key
from twinrca.store.base import Store

__all__ = ["prediction_alerts"]


def _event(doc: Mapping[str, Any], base_url: str) -> AlertEvent:
    element, mode = str(doc["element"]), str(doc["failure_mode"])
    p, horizon = float(doc["probability"]), float(doc["horizon_min"])
    reasons = "; ".join(str(r.get("text", r.get("feature", ""))) for r in doc["explanation"][:3])
    summary = f"[TwinRCA] predicted {mode} on {element} within {horizon:g} min (p={p:.2f})"
    link = f"{base_url.rstrip('/')}/v1/predictions/{doc['prediction_id']}" if base_url else ""
    return AlertEvent(
        action="trigger",
        dedup_key=dedup_key(element, "PREDICTION", mode, str(doc["prediction_id"])),
        incident_id=str(doc["prediction_id"]),
        tenant=str(doc.get("tenant", "")),
        summary=(summary + (f"; because {reasons}" if reasons else ""))[:1024],
        source=element,
        severity=PerceivedSeverity.WARNING,
        alarm_type="QUALITY_OF_SERVICE_ALARM",
        probable_cause=mode,
        specific_problem="predicted fault",
        started_at=datetime.fromisoformat(str(doc["observed_at"])),
        ended_at=None,
        details={"event": "prediction", "mda_report": _mda(doc)},
        link=link,
    )


def _mda(doc: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("mDAType", "mDAOutputList", "analyticsWindow", "confidenceDegree")
    return {k: doc[k] for k in keys}


def prediction_alerts(
    store: Store, doc: Mapping[str, Any], *, base_url: str = ""
) -> list[tuple[str, dict[str, Any], str]]:
    """Outbox entries (destination, payload, key) of a new prediction for every active
    subscription to ``prediction`` events; the key makes a repeat enqueue nothing."""
    subs = [
        s
        for s in store.list_documents("subscription", where={"active": True})
        if "prediction" in s.get("events", ["incident"])
    ]
    out: list[tuple[str, dict[str, Any], str]] = []
    if not subs:
        return out
    ev = _event(doc, base_url)
    for s in subs:
        fmt, secret = s["format"], s.get("secret") or ""
        body, headers = render(fmt, ev, secret)
        key = f"{doc['prediction_id']}|open|{s['subscription_id']}"
        out.append((s["url"], outbox_payload(fmt, body, headers), key))
    return out
