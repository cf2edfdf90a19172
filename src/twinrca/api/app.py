"""The HTTP API (FastAPI, OpenAPI at ``/openapi.json``, docs at ``/docs``).

Every ``/v1`` route needs an API key (``X-API-Key`` header or ``Authorization: Bearer``);
the key decides the tenant and every query runs on that tenant's store, so another
tenant's objects are simply not found (404). Requests are rate-limited per key (429
with ``Retry-After``). ``/health`` and ``/metrics`` (Prometheus) need no key.
"""

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, HttpUrl

from twinrca.core.errors import NotFound, TwinRCAError, ValidationError
from twinrca.core.incident import CandidateDoc, IncidentDoc, RemediationDoc, transition
from twinrca.core.records import IncidentState
from twinrca.core.timeutil import utcnow
from twinrca.runtime.auth import RateLimiter, resolve_api_key
from twinrca.runtime.incident_store import load_incident, save_incident
from twinrca.store.base import OutboxEntry, Store

__all__ = ["ApiContext", "create_app"]

log = logging.getLogger(__name__)


class ApiContext:
    """What the API needs: a store per tenant, the system store (API keys), limits,
    and optional hooks (alerts on lifecycle changes, scenario jobs)."""

    def __init__(
        self,
        *,
        store_for: Callable[[str], Store],
        system_store: Store,
        rate_per_s: float = 20.0,
        burst: int = 100,
        alerts_for: Callable[[Store, IncidentDoc], Sequence[OutboxEntry]] | None = None,
        jobs_dir: str = "var/scenarios",
        start_jobs: bool = True,
    ) -> None:
        self.store_for = store_for
        self.system_store = system_store
        self.limiter = RateLimiter(rate_per_s, burst)
        self.alerts_for = alerts_for or (lambda store, inc: [])
        self.jobs_dir = jobs_dir
        self.start_jobs = start_jobs


class Feedback(BaseModel):
    true_element: str
    true_failure_mode: str
    comment: str = ""


class LifecycleNote(BaseModel):
    by: str = "api"
    note: str = ""


class Subscription(BaseModel):
    url: HttpUrl
    format: Literal["alertmanager", "pagerduty", "opsgenie", "generic", "3gpp"]
    secret: str | None = Field(
        default=None, description="HMAC key (generic) or routing/API key (PagerDuty, Opsgenie)"
    )
    events: list[Literal["incident", "prediction"]] = ["incident"]


class SubscriptionOut(BaseModel):
    subscription_id: str
    url: str
    format: str
    events: list[str]
    created_at: datetime


class ScenarioRequest(BaseModel):
    cells: int = Field(100, ge=10, le=20000)
    days: float = Field(1.0, ge=0.1, le=30)
    faults: int = Field(10, ge=0, le=1000)
    seed: int = Field(0, ge=0, le=2**31)


class IncidentSummary(BaseModel):
    incident_id: str
    state: IncidentState
    opened_at: datetime
    severity: str
    root_element: str | None
    top_cause: str | None
    probability: float | None


def create_app(ctx: ApiContext) -> FastAPI:
    app = FastAPI(
        title="TwinRCA API",
        version="1.0",
        description="Incidents with twin-verified root causes and remediations, predictions, "
        "FMEA, topology, scenario generation and alert subscriptions.",
    )

    def tenant_store(
        request: Request,
        x_api_key: Annotated[str | None, Header()] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Store:
        key = x_api_key or (
            authorization[7:] if authorization and authorization.startswith("Bearer ") else ""
        )
        tenant = resolve_api_key(ctx.system_store, key or "")
        if tenant is None:
            raise HTTPException(
                401, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"}
            )
        wait = ctx.limiter.take(key)
        if wait > 0:
            raise HTTPException(
                429, "rate limit exceeded", headers={"Retry-After": str(max(1, round(wait)))}
            )
        request.state.tenant = tenant
        return ctx.store_for(tenant)

    StoreDep = Annotated[Store, Depends(tenant_store)]

    @app.exception_handler(NotFound)
    def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=404)

    @app.exception_handler(ValidationError)
    def _invalid(request: Request, exc: ValidationError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, "reason": exc.reason}, status_code=409)

    @app.exception_handler(TwinRCAError)
    def _failed(request: Request, exc: TwinRCAError) -> JSONResponse:
        log.warning("request failed: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok", "store": ctx.system_store.backend}

    @app.get("/metrics", tags=["ops"], response_class=Response)
    def metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # --- incidents -----------------------------------------------------------------
    @app.get("/v1/incidents", tags=["incidents"], response_model=list[IncidentSummary])
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

    @app.get("/v1/incidents/{incident_id}", tags=["incidents"], response_model=IncidentDoc)
    def get_incident(incident_id: str, store: StoreDep) -> IncidentDoc:
        return load_incident(store, incident_id)

    @app.get(
        "/v1/incidents/{incident_id}/candidates",
        tags=["incidents"],
        response_model=list[CandidateDoc],
    )
    def get_candidates(incident_id: str, store: StoreDep) -> list[CandidateDoc]:
        return load_incident(store, incident_id).candidates

    @app.get("/v1/incidents/{incident_id}/evidence", tags=["incidents"])
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

    @app.get(
        "/v1/incidents/{incident_id}/recommendations",
        tags=["incidents"],
        response_model=list[RemediationDoc],
    )
    def get_recommendations(incident_id: str, store: StoreDep) -> list[RemediationDoc]:
        return load_incident(store, incident_id).remediations

    def _move(
        store: Store, incident_id: str, state: IncidentState, body: LifecycleNote
    ) -> IncidentDoc:
        inc = transition(load_incident(store, incident_id), state, by=body.by, note=body.note)
        save_incident(store, inc, alerts=ctx.alerts_for(store, inc))
        return inc

    @app.post(
        "/v1/incidents/{incident_id}/acknowledge", tags=["incidents"], response_model=IncidentDoc
    )
    def acknowledge(
        incident_id: str, store: StoreDep, body: LifecycleNote | None = None
    ) -> IncidentDoc:
        return _move(store, incident_id, IncidentState.ACKNOWLEDGED, body or LifecycleNote())

    @app.post("/v1/incidents/{incident_id}/resolve", tags=["incidents"], response_model=IncidentDoc)
    def resolve(
        incident_id: str, store: StoreDep, body: LifecycleNote | None = None
    ) -> IncidentDoc:
        return _move(store, incident_id, IncidentState.RESOLVED, body or LifecycleNote())

    @app.post(
        "/v1/incidents/{incident_id}/feedback", tags=["incidents"], response_model=IncidentDoc
    )
    def feedback(incident_id: str, body: Feedback, store: StoreDep) -> IncidentDoc:
        inc = load_incident(store, incident_id)
        fb = {**body.model_dump(), "at": utcnow().isoformat()}
        inc = inc.model_copy(update={"feedback": fb, "updated_at": utcnow()})
        save_incident(store, inc)
        # confirmed incidents feed the diagnoser's next fit
        store.put_document("feedback", incident_id, {"incident_id": incident_id, **fb})
        return inc

    # --- predictions, FMEA, topology ---------------------------------------------------
    @app.get("/v1/predictions", tags=["predictions"])
    def predictions(
        store: StoreDep, limit: int = 200, status: Literal["open", "expired"] | None = None
    ) -> list[dict[str, Any]]:
        """Fault predictions (TS 28.104 MDA report fields plus element, failure mode,
        window, probability, explanation, source), newest first."""
        where = {"status": status} if status else None
        return store.list_documents("prediction", where=where, limit=max(1, min(limit, 5000)))

    @app.get("/v1/predictions/{prediction_id}", tags=["predictions"])
    def prediction(prediction_id: str, store: StoreDep) -> dict[str, Any]:
        doc = store.get_document("prediction", prediction_id)
        if doc is None:
            raise NotFound(f"no prediction {prediction_id!r}")
        return doc

    @app.get("/v1/fmea", tags=["fmea"])
    def fmea(store: StoreDep) -> list[dict[str, Any]]:
        from twinrca.api.fmea_view import fmea_rows

        return fmea_rows(store)

    @app.get("/v1/topology", tags=["topology"])
    def topology(store: StoreDep) -> dict[str, Any]:
        topo = store.load_topology()
        if topo is None:
            raise NotFound("no topology stored for this tenant")
        frames = topo.to_frames()
        return {name: frame.to_dict(orient="records") for name, frame in frames.items()}

    # --- scenario generation jobs ---------------------------------------------------------
    @app.post("/v1/scenarios", tags=["twin"], status_code=202)
    def create_scenario(body: ScenarioRequest, store: StoreDep) -> dict[str, Any]:
        """Generate a labelled scenario in a background process; GET shows its progress
        and, when done, the path of the zipped dataset."""
        from twinrca.runtime import jobs

        return jobs.submit(store, ctx.jobs_dir, body.model_dump(), start=ctx.start_jobs)

    @app.get("/v1/scenarios/{job_id}", tags=["twin"])
    def get_scenario(job_id: str, store: StoreDep) -> dict[str, Any]:
        from twinrca.runtime import jobs

        doc = store.get_document(jobs.KIND, job_id)
        if doc is None:
            raise NotFound(f"no scenario job {job_id!r}")
        return jobs.sync(store, doc)

    # --- webhook subscriptions ----------------------------------------------------------
    @app.post("/v1/webhooks", tags=["webhooks"], status_code=201, response_model=SubscriptionOut)
    def subscribe(body: Subscription, store: StoreDep) -> SubscriptionOut:
        sub_id = uuid.uuid4().hex[:12]
        doc = {
            "subscription_id": sub_id,
            "url": str(body.url),
            "format": body.format,
            "events": body.events,
            "secret": body.secret,
            "created_at": utcnow().isoformat(),
            "active": True,
        }
        store.put_document("subscription", sub_id, doc)
        return SubscriptionOut.model_validate(doc)

    @app.get("/v1/webhooks", tags=["webhooks"], response_model=list[SubscriptionOut])
    def subscriptions(store: StoreDep) -> list[SubscriptionOut]:
        return [
            SubscriptionOut.model_validate(d)
            for d in store.list_documents("subscription", where={"active": True})
        ]

    @app.delete("/v1/webhooks/{subscription_id}", tags=["webhooks"], status_code=204)
    def unsubscribe(subscription_id: str, store: StoreDep) -> Response:
        doc = store.get_document("subscription", subscription_id)
        if doc is None or not doc.get("active"):
            raise NotFound(f"no subscription {subscription_id!r}")
        store.put_document("subscription", subscription_id, {**doc, "active": False})
        return Response(status_code=204)

    return app
