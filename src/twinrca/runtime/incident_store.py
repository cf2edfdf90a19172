"""Incidents persisted as store documents of kind ``incident``.

A state change and the webhook alerts it causes are written in one transaction
(the store's transactional outbox), so an alert is never lost nor sent for a change
that did not commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from twinrca.core.errors import NotFound
from twinrca.core.incident import IncidentDoc
from twinrca.store.base import OutboxEntry, Store

__all__ = ["KIND", "load_incident", "save_incident"]

KIND = "incident"


def load_incident(store: Store, incident_id: str) -> IncidentDoc:
    doc = store.get_document(KIND, incident_id)
    if doc is None:
        raise NotFound(f"no incident {incident_id!r}")
    return IncidentDoc.model_validate(doc)


def save_incident(
    store: Store,
    incident: IncidentDoc,
    *,
    alerts: Sequence[OutboxEntry] | None = None,
) -> int:
    """Persist the incident (a new version in its history) and enqueue ``alerts``
    ``(destination, payload)`` or ``(destination, payload, key)`` in the same
    transaction (a key already enqueued enqueues nothing)."""
    return store.put_document(
        KIND,
        incident.incident_id,
        incident.model_dump(mode="json"),
        outbox=list(alerts) if alerts else None,
    )
