"""``/v1/predictions``: fault predictions (TS 28.104 MDA reports)."""

from typing import Any, Literal

from fastapi import APIRouter

from twinrca.api.deps import StoreDep
from twinrca.core.errors import NotFound

__all__ = ["router"]

router = APIRouter(prefix="/v1/predictions", tags=["predictions"])


@router.get("")
def predictions(
    store: StoreDep, limit: int = 200, status: Literal["open", "expired"] | None = None
) -> list[dict[str, Any]]:
    """Fault predictions (TS 28.104 MDA report fields plus element, failure mode,
    window, probability, explanation, source), newest first."""
    where = {"status": status} if status else None
    return store.list_documents("prediction", where=where, limit=max(1, min(limit, 5000)))


@router.get("/{prediction_id}")
def prediction(prediction_id: str, store: StoreDep) -> dict[str, Any]:
    doc = store.get_document("prediction", prediction_id)
    if doc is None:
        raise NotFound(f"no prediction {prediction_id!r}")
    return doc
