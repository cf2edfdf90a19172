"""``/v1/silences``: maintenance windows and silences of the tenant (Alertmanager-style).

An incident a silence covers does not page: it is kept and shown as ``silenced``
(:mod:`twinrca.detect.silences`). ``DELETE`` expires a silence (its end set to now);
expired silences stay listed with ``?expired=true``.
"""

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from twinrca.api.deps import StoreDep
from twinrca.core.errors import ValidationError
from twinrca.detect.silences import Silence
from twinrca.runtime import silences

__all__ = ["SilenceIn", "router"]

router = APIRouter(prefix="/v1/silences", tags=["silences"])


class SilenceIn(BaseModel):
    elements: list[str] = Field(default_factory=list, description="elements (and what they feed)")
    regions: list[str] = Field(default_factory=list)
    failure_modes: list[str] = Field(default_factory=list)
    starts_at: datetime | None = Field(default=None, description="default: now")
    ends_at: datetime | None = None
    duration_min: float | None = Field(default=None, gt=0, description="instead of ends_at")
    created_by: str = ""
    comment: str = ""


@router.post("", status_code=201, response_model=Silence)
def create_silence(body: SilenceIn, store: StoreDep) -> Silence:
    try:
        duration = timedelta(minutes=body.duration_min) if body.duration_min else None
        return silences.create_silence(
            store,
            elements=body.elements,
            regions=body.regions,
            failure_modes=body.failure_modes,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            duration=duration,
            created_by=body.created_by,
            comment=body.comment,
        )
    except OverflowError:
        raise HTTPException(422, "duration_min: too long") from None
    except ValidationError as exc:
        raise HTTPException(422, exc.message) from None


@router.get("", response_model=list[Silence])
def list_silences(store: StoreDep, expired: bool = False) -> list[Silence]:
    return silences.list_silences(store, expired=expired)


@router.delete("/{silence_id}", response_model=Silence)
def expire_silence(silence_id: str, store: StoreDep) -> Silence:
    return silences.expire_silence(store, silence_id)
