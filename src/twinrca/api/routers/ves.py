"""The VES collector endpoints (ONAP / O-RAN O1): ``POST /eventListener/v7`` (one
event) and ``POST /eventListener/v7/eventBatch`` (an ``eventList``), per tenant behind
its API key. Events are decoded as on the ``ves`` topic (KPIs derived, DN-named objects
resolved to the tenant's topology) and stored at once; a refused event is answered
with its reason (409, as this API answers refused input, for a single event; listed in
the reply of a batch, whose other events are stored) and kept as a dead letter of the
tenant (``GET /v1/dead-letters``), as a refused message of the ``ves`` topic is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from twinrca.api.deps import StoreDep
from twinrca.api.routers.deadletters import keep_dead_letters
from twinrca.core.errors import ValidationError

__all__ = ["router"]

router = APIRouter(prefix="/eventListener/v7", tags=["ves"])
_MAX_BODY = 16 << 20
_SOURCE = "http:/eventListener/v7"


def _store_events(store, body: bytes) -> dict[str, Any]:
    from twinrca.core.dn import DnIndex
    from twinrca.ingest.columns import Columns
    from twinrca.ingest.deadletter import DeadLetter
    from twinrca.ingest.vendor import Normaliser
    from twinrca.ingest.ves import decode_ves
    from twinrca.store.base import WriteBatch

    topology = store.load_topology()
    norm = Normaliser(dns=DnIndex.of(topology) if topology is not None else None)
    staged, cols = Columns(), Columns()
    try:
        accepted = decode_ves(body, staged)
    except ValidationError as exc:
        keep_dead_letters(store, [DeadLetter.of(body[:65536], exc, _SOURCE)])
        raise
    norm.stage(staged, cols)
    norm.flush(cols.kpis)
    frames = cols.frames()
    store.write_batch(WriteBatch(kpis=frames["kpis"], alarms=frames["alarms"]))
    keep_dead_letters(store, [DeadLetter.of_rejected(r, _SOURCE) for r in cols.rejected])
    refused = [
        {"reason": r.error.reason, "detail": str(r.error.message), "sourceName": r.managed_object}
        for r in cols.rejected
    ]
    return {"accepted": accepted, "refused": refused}


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > _MAX_BODY:
        raise ValidationError("too_large", f"VES request over {_MAX_BODY} bytes")
    return body


@router.post("", status_code=202)
async def event(request: Request, store: StoreDep) -> JSONResponse:
    body = await _body(request)
    if b'"eventList"' in body[:4096]:
        raise ValidationError("bad_value", "an eventList goes to /eventListener/v7/eventBatch")
    return JSONResponse(_store_events(store, body), status_code=202)


@router.post("/eventBatch", status_code=202)
async def event_batch(request: Request, store: StoreDep) -> JSONResponse:
    body = await _body(request)
    if b'"eventList"' not in body:
        raise ValidationError("missing_field", "eventList is required", field="eventList")
    return JSONResponse(_store_events(store, body), status_code=202)
