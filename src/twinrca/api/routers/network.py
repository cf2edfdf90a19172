"""``/v1/fmea`` (the tenant's assessed FMEA table) and ``/v1/topology``."""

from typing import Any

from fastapi import APIRouter

from twinrca.api.deps import StoreDep
from twinrca.core.errors import NotFound

__all__ = ["fmea_router", "topology_router"]

fmea_router = APIRouter(prefix="/v1/fmea", tags=["fmea"])
topology_router = APIRouter(prefix="/v1/topology", tags=["topology"])


@fmea_router.get("")
def fmea(store: StoreDep) -> list[dict[str, Any]]:
    from twinrca.api.fmea_view import fmea_rows

    return fmea_rows(store)


@topology_router.get("")
def topology(store: StoreDep) -> dict[str, Any]:
    topo = store.load_topology()
    if topo is None:
        raise NotFound("no topology stored for this tenant")
    frames = topo.to_frames()
    return {name: frame.to_dict(orient="records") for name, frame in frames.items()}
