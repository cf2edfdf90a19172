"""``/v1/dead-letters``: input the API refused (VES events over HTTP), kept per tenant
with its reason and the original bytes, as the ingest topics keep theirs on the DLQ."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from twinrca.api.deps import StoreDep
from twinrca.core.wire import format_time

if TYPE_CHECKING:
    from twinrca.ingest.deadletter import DeadLetter
    from twinrca.store.base import Store

__all__ = ["keep_dead_letters", "router"]

router = APIRouter(prefix="/v1/dead-letters", tags=["dead letters"])
KIND = "dead_letter"


def _doc_id(d: DeadLetter) -> str:
    """The same refused input sent again is one dead letter (a new version), not two."""
    h = hashlib.sha256(d.source_topic.encode() + b"\0" + d.reason.encode() + b"\0")
    h.update(d.original)
    return h.hexdigest()[:32]


def keep_dead_letters(store: Store, dead: Sequence[DeadLetter]) -> None:
    """Store each refused input as a ``dead_letter`` document of the tenant."""
    for d in dead:
        doc: dict[str, Any] = {
            "reason": d.reason,
            "detail": d.detail,
            "source": d.source_topic,
            "object": d.managed_object,
            "counter": d.counter,
            "time": format_time(d.time),
            "original_b64": base64.b64encode(d.original).decode(),
        }
        store.put_document(KIND, _doc_id(d), doc)


@router.get("")
def list_dead_letters(
    store: StoreDep, reason: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first; ``reason`` filters (``bad_value``, ``missing_field``, ...)."""
    where = {"reason": reason} if reason else None
    return store.list_documents(KIND, where=where, limit=max(1, min(limit, 1000)))
