"""Records every package shares: frozen dataclasses, plain values, no I/O.

Times are timezone-aware UTC ``datetime`` objects. Managed objects are named by a
distinguished name (DN) string such as ``SubNetwork=1,ManagedElement=site17,Cell=site17-2-L18``
or, for twin-generated networks, by the element id of the topology (``cell:17-2-L18``).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "Alarm",
    "AlarmState",
    "AlarmType",
    "IncidentState",
    "KpiSample",
    "LogEvent",
    "PerceivedSeverity",
    "Remediation",
    "RootCauseCandidate",
    "dedup_key",
]


class AlarmType(enum.StrEnum):
    """3GPP TS 28.111 alarmType (X.733 event type)."""

    COMMUNICATIONS_ALARM = "COMMUNICATIONS_ALARM"
    QUALITY_OF_SERVICE_ALARM = "QUALITY_OF_SERVICE_ALARM"
    PROCESSING_ERROR_ALARM = "PROCESSING_ERROR_ALARM"
    EQUIPMENT_ALARM = "EQUIPMENT_ALARM"
    ENVIRONMENTAL_ALARM = "ENVIRONMENTAL_ALARM"
    INTEGRITY_VIOLATION = "INTEGRITY_VIOLATION"
    OPERATIONAL_VIOLATION = "OPERATIONAL_VIOLATION"
    PHYSICAL_VIOLATION = "PHYSICAL_VIOLATION"
    SECURITY_SERVICE_OR_MECHANISM_VIOLATION = "SECURITY_SERVICE_OR_MECHANISM_VIOLATION"
    TIME_DOMAIN_VIOLATION = "TIME_DOMAIN_VIOLATION"


class PerceivedSeverity(enum.StrEnum):
    """X.733 perceivedSeverity, most severe first in :attr:`rank`."""

    CRITICAL = "CRITICAL"
    MAJOR = "MAJOR"
    MINOR = "MINOR"
    WARNING = "WARNING"
    INDETERMINATE = "INDETERMINATE"
    CLEARED = "CLEARED"

    @property
    def rank(self) -> int:
        """0 for CRITICAL ... 5 for CLEARED."""
        return list(PerceivedSeverity).index(self)


class AlarmState(enum.StrEnum):
    """Which notification carried the alarm."""

    RAISED = "raised"
    CHANGED = "changed"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class KpiSample:
    """One PM/KPI value: a measurement type of a managed object for one period."""

    managed_object: str
    measurement: str
    value: float
    period_end: datetime
    granularity_s: int = 900
    suspect: bool = False


def dedup_key(
    managed_object: str, alarm_type: str, probable_cause: str, specific_problem: str
) -> str:
    """Stable X.733 identity of an alarm (same object, type, cause and problem)."""
    raw = "\x1f".join((managed_object, alarm_type, probable_cause, specific_problem))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Alarm:
    """A 3GPP / X.733 alarm notification."""

    alarm_id: str
    managed_object: str
    event_time: datetime
    alarm_type: AlarmType
    probable_cause: str
    specific_problem: str = ""
    perceived_severity: PerceivedSeverity = PerceivedSeverity.MAJOR
    state: AlarmState = AlarmState.RAISED
    additional_text: str = ""
    notification_id: int | None = None

    @property
    def identity(self) -> str:
        """X.733 identity: a clear clears every alarm with the same identity."""
        return dedup_key(
            self.managed_object, self.alarm_type, self.probable_cause, self.specific_problem
        )


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One log line, with the id of its template once templated."""

    time: datetime
    source: str
    severity: str
    message: str
    template_id: str | None = None


@dataclass(frozen=True, slots=True)
class Remediation:
    """A remediation action and, once simulated, its expected effect."""

    action: str
    target: str
    description: str = ""
    expected_recovery: float | None = None
    recovery_interval: tuple[float, float] | None = None
    time_to_recover_min: float | None = None
    risk: float | None = None
    cost: float | None = None


@dataclass(frozen=True, slots=True)
class RootCauseCandidate:
    """A ranked hypothesis: this element failed in this mode."""

    element: str
    failure_mode: str
    probability: float
    evidence: dict[str, object] = field(default_factory=dict)
    verified_score: float | None = None


class IncidentState(enum.StrEnum):
    """Lifecycle of an incident."""

    OPEN = "open"
    #: no fault: a condition of a working network (busy hour, fade within margin, ...),
    #: kept and shown, not paged; it can still grow into a fault (diagnosed onwards)
    CONDITION = "condition"
    #: inside a maintenance window / silence: kept and shown, not paged, not diagnosed
    #: further; diagnosed as usual once no silence covers it
    SILENCED = "silenced"
    #: the same diagnosed root cause as an open incident that paged: kept under it
    #: (``follow_up_of``), not paged again; diagnosed as usual once that one is resolved
    FOLLOW_UP = "follow_up"
    DIAGNOSED = "diagnosed"
    VERIFIED = "verified"
    RECOMMENDED = "recommended"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
