"""The HTTP API (FastAPI, OpenAPI at ``/openapi.json``, docs at ``/docs``).

Every ``/v1`` route needs an API key (``X-API-Key`` header or ``Authorization: Bearer``);
the key decides the tenant and every query runs on that tenant's store, so another
tenant's objects are simply not found (404). Requests are rate-limited per key (429
with ``Retry-After``). ``/health`` and ``/metrics`` (Prometheus) need no key.
One router per resource (:mod:`twinrca.api.routers`), what they share in
:mod:`twinrca.api.deps`.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from twinrca.api.deps import ApiContext
from twinrca.api.routers import (
    deadletters,
    incidents,
    network,
    ops,
    predictions,
    scenarios,
    silences,
    ves,
    webhooks,
)
from twinrca.core.errors import NotFound, TwinRCAError, ValidationError

__all__ = ["ApiContext", "app_for", "create_app"]

log = logging.getLogger(__name__)


def create_app(ctx: ApiContext) -> FastAPI:
    app = FastAPI(
        title="TwinRCA API",
        version="1.0",
        description="Incidents with twin-verified root causes and remediations, predictions, "
        "FMEA, topology, scenario generation and alert subscriptions.",
    )
    app.state.ctx = ctx

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

    for router in (
        ops.router,
        incidents.router,
        predictions.router,
        network.fmea_router,
        network.topology_router,
        scenarios.router,
        webhooks.router,
        silences.router,
        ves.router,
        deadletters.router,
    ):
        app.include_router(router)
    return app


def app_for(**context: Any) -> FastAPI:
    """:func:`create_app` on an :class:`ApiContext` of ``context`` (the serve process's
    factory of its API)."""
    return create_app(ApiContext(**context))
