"""Incident documents and their lifecycle (open → diagnosed → verified → recommended →
acknowledged → resolved); stored by :mod:`twinrca.runtime.incident_store`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from twinrca.core.errors import ValidationError
from twinrca.core.records import IncidentState, Remediation
from twinrca.core.timeutil import utcnow

__all__ = [
    "OPEN_STATES",
    "OWNED_STATES",
    "UNFINISHED_STATES",
    "AlarmRef",
    "CandidateDoc",
    "IncidentDoc",
    "RemediationDoc",
    "before",
    "transition",
]

_ORDER = list(IncidentState)
#: states of an incident not yet resolved
OPEN_STATES = tuple(s for s in IncidentState if s is not IncidentState.RESOLVED)
#: states a person owns: the service no longer changes the incident
OWNED_STATES = (IncidentState.ACKNOWLEDGED, IncidentState.RESOLVED)
#: states short of a recommendation (the service still has work to do)
UNFINISHED_STATES = (IncidentState.OPEN, IncidentState.DIAGNOSED, IncidentState.VERIFIED)


def before(a: IncidentState, b: IncidentState) -> bool:
    """``a`` comes before ``b`` in the lifecycle."""
    return _ORDER.index(a) < _ORDER.index(b)


class AlarmRef(BaseModel):
    alarm_id: str
    managed_object: str
    event_time: datetime
    alarm_type: str = ""
    probable_cause: str = ""
    specific_problem: str = ""
    perceived_severity: str = "MAJOR"
    root: bool = False
    notification_id: int | None = None


class CandidateDoc(BaseModel):
    element: str
    failure_mode: str
    probability: float
    verified_score: float | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    fmea: dict[str, Any] = Field(default_factory=dict)
    source: str = "builtin"


class RemediationDoc(BaseModel):
    """A stored remediation (the fields of :class:`twinrca.core.records.Remediation`)."""

    action: str
    target: str
    description: str = ""
    expected_recovery: float | None = None
    recovery_interval: tuple[float, float] | None = None
    time_to_recover_min: float | None = None
    risk: float | None = None
    cost: float | None = None

    @classmethod
    def from_record(cls, rec: Remediation) -> RemediationDoc:
        return cls(**dataclasses.asdict(rec))


class IncidentDoc(BaseModel):
    incident_id: str
    tenant: str
    state: IncidentState = IncidentState.OPEN
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    region: str = "r0"
    severity: str = "MAJOR"
    root_element: str | None = None
    elements: list[str] = Field(default_factory=list)
    #: what opened the incident: ``"alarms"`` (an alarm group) or ``"kpi"`` (KPI
    #: anomalies sustained with no alarm: a silent fault, e.g. alarms lost by the EMS)
    trigger: str = "alarms"
    #: a KPI-triggered incident: the last anomalous period seen on its elements
    last_anomaly_at: datetime | None = None
    alarms: list[AlarmRef] = Field(default_factory=list)
    anomalies: list[dict[str, Any]] = Field(default_factory=list)
    candidates: list[CandidateDoc] = Field(default_factory=list)
    unverified_candidates: list[CandidateDoc] = Field(default_factory=list)
    remediations: list[RemediationDoc] = Field(default_factory=list)
    verification: dict[str, Any] = Field(default_factory=dict)
    feedback: dict[str, Any] | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    #: the "no fault / condition" outcome: ``probability``, ``threshold``, ``evidence``
    #: (set when the diagnoser keeps the incident as a condition)
    condition: dict[str, Any] | None = None
    #: the silence (maintenance window) that keeps it from paging: ``silence_id``,
    #: ``ends_at``, ``comment``, ``created_by``
    silence: dict[str, Any] | None = None
    #: a follow-up: the id of the open incident with the same root cause it is kept under
    follow_up_of: str | None = None
    #: data time when it was resolved by the service: its last alarm's clear (a
    #: KPI-triggered incident: its last anomalous period)
    cleared_at: datetime | None = None
    #: what the incident was made of when last diagnosed (re-runs skip it when unchanged)
    fingerprint: str = ""


def transition(
    incident: IncidentDoc,
    state: IncidentState,
    *,
    by: str = "twinrca",
    note: str = "",
    now: Callable[[], datetime] = utcnow,
) -> IncidentDoc:
    """The incident in ``state``. Forward moves only; acknowledge and resolve are
    allowed from any open state; a resolved incident stays resolved."""
    current = incident.state
    if current is IncidentState.RESOLVED:
        raise ValidationError(
            "incident_resolved", f"incident {incident.incident_id} is already resolved"
        )
    manual = state in (IncidentState.ACKNOWLEDGED, IncidentState.RESOLVED)
    if not manual and _ORDER.index(state) < _ORDER.index(current):
        raise ValidationError(
            "bad_transition", f"cannot move incident from {current} back to {state}"
        )
    t = now()
    update: dict[str, Any] = {
        "state": state,
        "updated_at": t,
        "history": [
            *incident.history,
            {"state": str(state), "at": t.isoformat(), "by": by, "note": note},
        ],
    }
    if state is IncidentState.RESOLVED:
        update["closed_at"] = t
    return incident.model_copy(update=update)
