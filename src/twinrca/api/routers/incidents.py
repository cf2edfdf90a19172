"""``/v1/incidents``: list, read, lifecycle (acknowledge, resolve) and feedback."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from twinrca.api.deps import ApiContext, ContextDep, StoreDep
from twinrca.core.incident import CandidateDoc, IncidentDoc, RemediationDoc, transition
from twinrca.core.records import IncidentState
from twinrca.core.timeutil import utcnow
from twinrca.runtime.explain import explain_incident
from twinrca.runtime.incident_store import load_incident, save_incident
from twinrca.store.base import Store

__all__ = ["Feedback", "IncidentSummary", "LifecycleNote", "router"]

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])


class Feedback(BaseModel):
    true_element: str
    true_failure_mode: str
    comment: str = ""


class LifecycleNote(BaseModel):
    by: str = "api"
    note: str = ""


class IncidentSummary(BaseModel):
    incident_id: str
    state: IncidentState
    opened_at: datetime
    severity: str
    root_element: str | None
    top_cause: str | None
    probability: float | None


@router.get("", response_model=list[IncidentSummary])
def list_incidents(
    store: StoreDep, state: IncidentState | None = None, limit: int = 100
) -> list[IncidentSummary]:
    where = {"state": str(state)} if state else None
    docs = [
        IncidentDoc.model_validate(d)
        for d in store.list_documents("incident", where=where, limit=max(1, min(limit, 1000)))
    ]
    return [
        IncidentSummary(
            incident_id=d.incident_id,
            state=d.state,
            opened_at=d.opened_at,
            severity=d.severity,
            root_element=d.root_element,
            top_cause=d.candidates[0].failure_mode if d.candidates else None,
            probability=d.candidates[0].probability if d.candidates else None,
        )
        for d in docs
    ]


@router.get("/{incident_id}", response_model=IncidentDoc)
def get_incident(incident_id: str, store: StoreDep) -> IncidentDoc:
    return load_incident(store, incident_id)


@router.get("/{incident_id}/candidates", response_model=list[CandidateDoc])
def get_candidates(incident_id: str, store: StoreDep) -> list[CandidateDoc]:
    return load_incident(store, incident_id).candidates


@router.get("/{incident_id}/evidence")
def get_evidence(incident_id: str, store: StoreDep) -> dict[str, Any]:
    inc = load_incident(store, incident_id)
    return {
        "alarms": [a.model_dump(mode="json") for a in inc.alarms],
        "anomalies": inc.anomalies,
        "candidates": [
            {
                "element": c.element,
                "failure_mode": c.failure_mode,
                "evidence": c.evidence,
                "fmea": c.fmea,
            }
            for c in inc.candidates
        ],
        "verification": inc.verification,
    }


@router.get("/{incident_id}/explain")
def explain(
    incident_id: str, kpi: str, store: StoreDep, element: str | None = None
) -> dict[str, Any]:
    """Upstream ranking and path from the KPI symptom ``kpi`` (on ``element``, default
    the incident's element where it was most anomalous) on the tenant's topology."""
    return explain_incident(store, load_incident(store, incident_id), kpi, element)


@router.get("/{incident_id}/recommendations", response_model=list[RemediationDoc])
def get_recommendations(incident_id: str, store: StoreDep) -> list[RemediationDoc]:
    return load_incident(store, incident_id).remediations


def _move(
    ctx: ApiContext, store: Store, incident_id: str, state: IncidentState, body: LifecycleNote
) -> IncidentDoc:
    inc = transition(load_incident(store, incident_id), state, by=body.by, note=body.note)
    save_incident(store, inc, alerts=ctx.alerts_for(store, inc))
    return inc


@router.post("/{incident_id}/acknowledge", response_model=IncidentDoc)
def acknowledge(
    incident_id: str, store: StoreDep, ctx: ContextDep, body: LifecycleNote | None = None
) -> IncidentDoc:
    return _move(ctx, store, incident_id, IncidentState.ACKNOWLEDGED, body or LifecycleNote())


@router.post("/{incident_id}/resolve", response_model=IncidentDoc)
def resolve(
    incident_id: str, store: StoreDep, ctx: ContextDep, body: LifecycleNote | None = None
) -> IncidentDoc:
    return _move(ctx, store, incident_id, IncidentState.RESOLVED, body or LifecycleNote())


@router.post("/{incident_id}/feedback", response_model=IncidentDoc)
def feedback(incident_id: str, body: Feedback, store: StoreDep) -> IncidentDoc:
    inc = load_incident(store, incident_id)
    fb = {**body.model_dump(), "at": utcnow().isoformat()}
    inc = inc.model_copy(update={"feedback": fb, "updated_at": utcnow()})
    save_incident(store, inc)
    # confirmed incidents feed the diagnoser's next fit
    store.put_document("feedback", incident_id, {"incident_id": incident_id, **fb})
    return inc
