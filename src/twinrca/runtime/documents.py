"""The stored shape of a diagnosed incident (:class:`~twinrca.core.incident.IncidentDoc`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pandas as pd

from twinrca.core.incident import AlarmRef, CandidateDoc, IncidentDoc
from twinrca.core.records import IncidentState, PerceivedSeverity, RootCauseCandidate
from twinrca.core.topology import Topology
from twinrca.detect.detector import DetectedIncident
from twinrca.fmea.catalogue import Catalogue

__all__ = ["fmea_entry", "incident_document"]


def fmea_entry(catalogue: Catalogue, mode_id: str) -> dict[str, object]:
    """The FMEA facts of a failure mode shown beside a candidate ({} if unknown)."""
    if mode_id not in catalogue:
        return {}
    mode = catalogue.mode(mode_id)
    return {
        "id": mode.id,
        "name": mode.name,
        "severity": mode.severity,
        "occurrence": mode.occurrence,
        "detection": mode.detection,
        "effects": mode.effects,
        "causes": list(mode.causes),
    }


def _number(x: object) -> float | None:
    """A float for the stored JSON; NaN (no value: a twin-drift finding) as null."""
    return None if pd.isna(x) else float(x)  # type: ignore[arg-type]


def incident_document(
    inc: DetectedIncident,
    ranked: Sequence[RootCauseCandidate],
    *,
    tenant: str,
    catalogue: Catalogue,
    topology: Topology,
    incident_id: str | None = None,
) -> IncidentDoc:
    """The stored shape of a diagnosed incident (root alarms flagged, FMEA entry per candidate)."""
    rows = inc.alarms
    top = ranked[0] if ranked else None
    root = top.element if top else (inc.group.root_element or inc.group.anchor)
    sev_rank = [
        PerceivedSeverity(str(s).upper()).rank
        for s in rows.get("perceived_severity", [])
        if str(s).upper() in PerceivedSeverity.__members__
    ]
    severity = list(PerceivedSeverity)[min(sev_rank)] if sev_rank else PerceivedSeverity.MAJOR
    opened = pd.Timestamp(inc.group.start).to_pydatetime()
    alarms = [
        AlarmRef(
            alarm_id=str(r.alarm_id),
            managed_object=str(r.managed_object),
            event_time=pd.Timestamp(r.event_time).to_pydatetime(),
            alarm_type=str(r.alarm_type),
            probable_cause=str(r.probable_cause),
            specific_problem=str(r.specific_problem),
            perceived_severity=str(r.perceived_severity),
            root=str(r.managed_object) == root,
            notification_id=None if pd.isna(r.notification_id) else int(r.notification_id),
        )
        for r in rows.itertuples(index=False)
    ]
    cands = [
        CandidateDoc(
            element=c.element,
            failure_mode=c.failure_mode,
            probability=c.probability,
            evidence=dict(c.evidence),
            fmea=fmea_entry(catalogue, c.failure_mode),
        )
        for c in ranked
    ]
    an = inc.evidence.anomalies
    anomalies = (
        []
        if not len(an)
        else [
            {
                "managed_object": str(r.managed_object),
                "measurement": str(r.measurement),
                "period_end": pd.Timestamp(r.period_end).isoformat(),
                "value": _number(r.value),
                "expected": _number(r.expected),
                "z": _number(r.z),
            }
            for r in an.head(200).itertuples(index=False)
        ]
    )
    region = topology.element(root).region if root and root in topology else "r0"
    return IncidentDoc(
        incident_id=incident_id or f"inc-{uuid.uuid4().hex[:10]}",
        tenant=tenant,
        state=IncidentState.DIAGNOSED if cands else IncidentState.OPEN,
        opened_at=opened,
        updated_at=opened,
        region=region,
        severity=str(severity),
        root_element=root,
        elements=list(inc.group.elements),
        trigger=inc.trigger,
        last_anomaly_at=inc.group.end if inc.trigger == "kpi" else None,
        alarms=alarms,
        anomalies=anomalies,
        candidates=cands,
    )
