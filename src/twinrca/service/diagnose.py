"""From stored alarms and KPIs to diagnosed incidents (detection + diagnosis glue).

Pure functions over DataFrames (the store's columns); the service and the demo call
them on what they read from the store, the benchmarks on twin runs.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twinrca.causal.anomaly import SeasonalBaseline
from twinrca.causal.diagnosis import BayesianDiagnoser, IncidentEvidence, signature
from twinrca.causal.incidents import AlarmGroup, candidate_elements, group_alarms
from twinrca.core.records import IncidentState, PerceivedSeverity, RootCauseCandidate
from twinrca.core.topology import Topology
from twinrca.fmea.catalogue import Catalogue
from twinrca.service.incidents import AlarmRef, CandidateDoc, IncidentDoc

__all__ = [
    "DetectedIncident",
    "detect_incidents",
    "diagnose",
    "fmea_entry",
    "incident_document",
    "new_diagnoser",
]

log = logging.getLogger(__name__)
_ANOMALY_COLUMNS = [
    "managed_object",
    "measurement",
    "period_end",
    "value",
    "expected",
    "z",
    "direction",
]


@dataclass(frozen=True, slots=True)
class DetectedIncident:
    """An alarm group with the evidence diagnosis needs."""

    group: AlarmGroup
    alarms: pd.DataFrame
    evidence: IncidentEvidence


def new_diagnoser(topology: Topology, catalogue: Catalogue) -> BayesianDiagnoser:
    """A diagnoser over the catalogue's primary modes, priors from FMEA occurrence."""
    return BayesianDiagnoser(
        topology,
        mode_kinds={m.id: str(m.element_kind) for m in catalogue if m.primary},
        mode_prior={m.id: float(m.occurrence) for m in catalogue if m.primary},
        alarm_vocab=sorted(
            {signature(r.probable_cause, r.specific_problem) for m in catalogue for r in m.alarms}
        ),
    )


def detect_incidents(
    alarms: pd.DataFrame,
    topology: Topology,
    *,
    kpis: pd.DataFrame | None = None,
    anomalies: pd.DataFrame | None = None,
    baseline: SeasonalBaseline | None = None,
    z_threshold: float = 5.0,
    window_s: float = 1800.0,
    margin_s: float = 1800.0,
) -> list[DetectedIncident]:
    """Group ``alarms`` into incidents and attach the KPI anomalies of each incident's
    elements: ``anomalies`` when given, else ``kpis`` scored against ``baseline`` (fitted
    on ``kpis`` when not given)."""
    alarms = alarms.reset_index(drop=True)
    groups = group_alarms(alarms, topology, window_s=window_s)
    if anomalies is not None:
        anomalies = anomalies.assign(period_end=pd.to_datetime(anomalies["period_end"], utc=True))
    else:
        anomalies = pd.DataFrame(columns=_ANOMALY_COLUMNS)
    if anomalies.empty and kpis is not None and len(kpis):
        baseline = baseline or SeasonalBaseline.fit(kpis)
        scored = baseline.zscores(kpis)
        anomalies = scored[scored["z"].abs() >= z_threshold].copy()
        anomalies["direction"] = np.sign(anomalies["z"]).astype(int)
        anomalies["period_end"] = pd.to_datetime(anomalies["period_end"], utc=True)
    out = []
    for g in groups:
        cands = candidate_elements(g, topology)
        rows = alarms.loc[list(g.rows)]
        scope = set(cands)
        for c in cands:
            scope |= topology.descendants(c)
        lo = pd.Timestamp(g.start) - pd.Timedelta(seconds=margin_s)
        hi = pd.Timestamp(g.end) + pd.Timedelta(seconds=margin_s)
        an = (
            anomalies[
                (anomalies["period_end"] >= lo)
                & (anomalies["period_end"] <= hi)
                & anomalies["managed_object"].isin(scope)
            ]
            if len(anomalies)
            else anomalies
        )
        out.append(DetectedIncident(g, rows, IncidentEvidence(rows, an, tuple(cands))))
    return out


def diagnose(
    diagnoser: BayesianDiagnoser,
    incidents: Iterable[DetectedIncident],
    *,
    top: int = 5,
) -> list[tuple[DetectedIncident, list[RootCauseCandidate], float]]:
    """Ranked candidates per incident, with the seconds diagnosis took."""
    out = []
    for inc in incidents:
        t0 = time.perf_counter()
        ranked = diagnoser.rank(inc.evidence, top=top)
        out.append((inc, ranked, time.perf_counter() - t0))
    return out


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
    root = top.element if top else inc.group.root_element
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
                "value": float(r.value),
                "expected": float(r.expected),
                "z": float(r.z),
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
        alarms=alarms,
        anomalies=anomalies,
        candidates=cands,
    )
