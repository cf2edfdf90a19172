"""Stable incident ids and what an incident is made of (its fingerprint).

An alarm incident's id is the time and element of its first alarm, so a re-run of the
same window (or a restarted service) updates, not duplicates, it. A KPI-triggered
incident's id is its anchor element and the first anomalous period of the anchor's
episode; a later window that no longer reaches back to that period (or a refitted
baseline that moves it) reuses the id of the unresolved KPI incident on the same
elements (:func:`kpi_key`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from twinrca.core.incident import IncidentDoc
from twinrca.core.records import IncidentState
from twinrca.detect.detector import DetectedIncident

__all__ = ["all_cleared", "cleared_at", "fingerprint", "incident_key", "kpi_key", "resolved"]


def incident_key(inc: DetectedIncident) -> str:
    """A stable id for an incident: the time and element of its first alarm, so a
    re-run of the same window (or a restarted service) updates, not duplicates, it.
    A KPI-triggered incident (no alarm): its anchor element and the first anomalous
    period of the anchor's episode (``inc-kpi-...``)."""
    if inc.trigger == "kpi" or inc.alarms.empty:
        anchor = inc.group.anchor or inc.group.root_element or inc.group.elements[0]
        at = inc.group.anchor_start or inc.group.start
        stamp = pd.Timestamp(at).strftime("%Y%m%dT%H%M%S")
        return f"inc-kpi-{stamp}-{str(anchor).replace(':', '-')}"
    first = inc.alarms.sort_values(["event_time", "alarm_id"], kind="stable").iloc[0]
    stamp = pd.Timestamp(first["event_time"]).strftime("%Y%m%dT%H%M%S")
    return f"inc-{stamp}-{str(first['managed_object']).replace(':', '-')}"


def kpi_key(inc: DetectedIncident, known: Sequence[IncidentDoc], quiet: pd.Timedelta) -> str:
    """:func:`incident_key`, or the id of the KPI incident this one continues (the window
    moved past its first anomalous period, or a refitted baseline moved it): the oldest
    sharing an element, opened no later than this one's last anomaly, and unresolved or
    resolved less than ``quiet`` before this one began (the same anomaly seen again, not
    a new one: that begins only after ``quiet`` with no anomaly)."""
    key = incident_key(inc)
    if any(d.incident_id == key for d in known):
        return key
    elements = set(inc.group.elements)
    start, end = pd.Timestamp(inc.group.start), pd.Timestamp(inc.group.end)

    def continues(d: IncidentDoc) -> bool:
        if not elements & set(d.elements) or pd.Timestamp(d.opened_at) > end:
            return False
        if d.state is not IncidentState.RESOLVED:
            return True
        last = d.last_anomaly_at
        return last is not None and start <= pd.Timestamp(last) + quiet

    same = [d for d in known if continues(d)]
    if not same:
        return key
    return min(same, key=lambda d: (pd.Timestamp(d.opened_at), d.incident_id)).incident_id


def fingerprint(inc: DetectedIncident, alarms: pd.DataFrame) -> str:
    """What an incident is made of: its raised alarms and whether all have cleared (a
    KPI-triggered one: its elements and whether its anomaly has ended)."""
    if inc.trigger == "kpi":
        text = f"kpi|{','.join(inc.group.elements)}|{inc.ended}"
    else:
        ids = ",".join(sorted(inc.alarms["alarm_id"].astype(str)))
        text = f"{ids}|{all_cleared(inc, alarms)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolved(inc: DetectedIncident, alarms: pd.DataFrame) -> bool:
    """All alarms cleared; for a KPI-triggered incident: its anomaly has ended."""
    return inc.ended if inc.trigger == "kpi" else all_cleared(inc, alarms)


def all_cleared(inc: DetectedIncident, alarms: pd.DataFrame) -> bool:
    if inc.alarms.empty or alarms.empty:
        return False
    ids = set(inc.alarms["alarm_id"].astype(str))
    cleared = set(alarms.loc[alarms["state"].astype(str) == "cleared", "alarm_id"].astype(str))
    return bool(ids) and ids <= cleared


def cleared_at(inc: DetectedIncident, alarms: pd.DataFrame) -> datetime | None:
    """Data time the incident ended: its alarms' last clear; a KPI-triggered one's last
    anomalous period."""
    if inc.trigger == "kpi":
        return inc.group.end
    if inc.alarms.empty or alarms.empty:
        return None
    ids = set(inc.alarms["alarm_id"].astype(str))
    cl = alarms[
        (alarms["state"].astype(str) == "cleared") & alarms["alarm_id"].astype(str).isin(ids)
    ]
    if cl.empty:
        return None
    return pd.to_datetime(cl["event_time"], utc=True).max().to_pydatetime()
