"""``/health`` and ``/metrics`` (Prometheus): no API key."""

from fastapi import APIRouter, Response

from twinrca.api.deps import ContextDep

__all__ = ["router"]

router = APIRouter(tags=["ops"])


@router.get("/health")
def health(ctx: ContextDep) -> dict[str, str]:
    return {"status": "ok", "store": ctx.system_store.backend}


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
