"""``/v1/silences``: maintenance windows and silences of the tenant (Alertmanager-style).

Alarms of an incident a silence covers do not page: the incident is kept and shown as
``silenced`` (:mod:`twinrca.detect.silences`). ``DELETE`` expires a silence (its end set
to now); expired silences stay listed with ``?expired=true``.
"""

import uuid
from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, ValidationError, model_validator

from twinrca.api.deps import StoreDep
from twinrca.core.errors import NotFound
from twinrca.core.timeutil import utcnow
from twinrca.detect.silences import Silence

__all__ = ["SilenceIn", "router"]

router = APIRouter(prefix="/v1/silences", tags=["silences"])


class SilenceIn(BaseModel):
    elements: list[str] = Field(default_factory=list, description="elements (and what they feed)")
    regions: list[str] = Field(default_factory=list)
    failure_modes: list[str] = Field(default_factory=list)
    starts_at: datetime | None = Field(default=None, description="default: now")
    ends_at: datetime | None = None
    duration_min: float | None = Field(
        default=None, gt=0, le=366 * 24 * 60, description="instead of ends_at (at most a year)"
    )
    created_by: str = ""
    comment: str = ""

    @model_validator(mode="after")
    def _one_end(self) -> "SilenceIn":
        if (self.ends_at is None) == (self.duration_min is None):
            raise ValueError("give exactly one of ends_at and duration_min")
        return self


@router.post("", status_code=201, response_model=Silence)
def create_silence(body: SilenceIn, store: StoreDep) -> Silence:
    now = utcnow()
    start = body.starts_at or now
    try:
        end = body.ends_at or start + timedelta(minutes=float(body.duration_min or 0))
    except OverflowError:
        raise HTTPException(422, "duration_min: the silence would end after year 9999") from None
    topology = store.load_topology()
    unknown = [e for e in body.elements if topology is not None and e not in topology]
    if unknown:
        raise HTTPException(422, f"elements: unknown element {unknown[0]!r}")
    try:
        silence = Silence(
            silence_id=uuid.uuid4().hex[:12],
            elements=body.elements,
            regions=body.regions,
            failure_modes=body.failure_modes,
            starts_at=start,
            ends_at=end,
            created_by=body.created_by,
            comment=body.comment,
            created_at=now,
        )
    except ValidationError as exc:
        raise HTTPException(422, exc.errors()[0]["msg"]) from None
    store.put_document("silence", silence.silence_id, silence.model_dump(mode="json"))
    return silence


@router.get("", response_model=list[Silence])
def list_silences(store: StoreDep, expired: bool = False) -> list[Silence]:
    now = utcnow()
    out = [Silence.model_validate(d) for d in store.list_documents("silence", limit=10_000)]
    return [s for s in out if expired or s.ends_at > now]


@router.delete("/{silence_id}", response_model=Silence)
def expire_silence(silence_id: str, store: StoreDep) -> Silence:
    doc = store.get_document("silence", silence_id)
    if doc is None:
        raise NotFound(f"no silence {silence_id!r}")
    silence = Silence.model_validate(doc)
    now = utcnow()
    if silence.ends_at > now:
        start = min(silence.starts_at, now - timedelta(microseconds=1))
        silence = silence.model_copy(update={"ends_at": now, "starts_at": start})
        store.put_document("silence", silence_id, silence.model_dump(mode="json"))
    return silence
