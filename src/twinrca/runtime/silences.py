"""Creating, listing and expiring the tenant's silences (maintenance windows): one set
of functions for the HTTP API and the dashboard. What a silence covers and what it does
to an incident is :mod:`twinrca.detect.silences`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import ValidationError as PydanticError

from twinrca.core.errors import NotFound, ValidationError
from twinrca.core.timeutil import utcnow
from twinrca.detect.silences import Silence, active_silences
from twinrca.store.base import Store

__all__ = ["create_silence", "expire_silence", "list_silences"]

#: the longest silence (a year): past it, a "silence" is a decommissioning
MAX_DURATION = timedelta(days=366)


def create_silence(
    store: Store,
    *,
    elements: Sequence[str] = (),
    regions: Sequence[str] = (),
    failure_modes: Sequence[str] = (),
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    duration: timedelta | None = None,
    created_by: str = "",
    comment: str = "",
) -> Silence:
    """Store a new silence from ``starts_at`` (default now) to ``ends_at`` or for
    ``duration`` (exactly one of them). Unknown elements or regions of the tenant's
    topology, no matcher, or an end not after the start raise :class:`ValidationError`."""
    if (ends_at is None) == (duration is None):
        raise ValidationError("bad_silence", "give exactly one of ends_at and duration_min")
    if duration is not None and not timedelta(0) < duration <= MAX_DURATION:
        raise ValidationError("bad_silence", "duration_min: between 0 and a year")
    topology = store.load_topology()
    if topology is not None:
        unknown = [e for e in elements if e not in topology]
        if unknown:
            raise ValidationError("bad_silence", f"elements: unknown element {unknown[0]!r}")
        known = {e.region for e in topology}
        bad = [r for r in regions if r not in known]
        if bad:
            raise ValidationError("bad_silence", f"regions: unknown region {bad[0]!r}")
    now = utcnow()
    start = starts_at or now
    try:
        end = ends_at or start + (duration or timedelta(0))
        silence = Silence(
            silence_id=uuid.uuid4().hex[:12],
            elements=list(elements),
            regions=list(regions),
            failure_modes=list(failure_modes),
            starts_at=start,
            ends_at=end,
            created_by=created_by,
            comment=comment,
            created_at=now,
        )
    except OverflowError:
        raise ValidationError("bad_silence", "ends_at: after year 9999") from None
    except PydanticError as exc:
        raise ValidationError("bad_silence", str(exc.errors()[0]["msg"])) from None
    store.put_document("silence", silence.silence_id, silence.model_dump(mode="json"))
    return silence


def list_silences(store: Store, *, expired: bool = False) -> list[Silence]:
    """The tenant's silences not yet ended (all of them with ``expired``), newest first."""
    now = utcnow()
    stored = active_silences(store.list_documents("silence", limit=10_000))
    return [s for s in stored if expired or s.ends_at > now]


def expire_silence(store: Store, silence_id: str) -> Silence:
    """End a silence now (kept, listed as expired); unknown ids raise :class:`NotFound`."""
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
