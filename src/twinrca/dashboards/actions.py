"""What the NOC engineer changes from the dashboard, written through the same
functions as the HTTP API (:func:`~twinrca.core.incident.transition`,
:func:`~twinrca.core.incident.save_incident`, :class:`~twinrca.fmea.RatingHistory`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from twinrca.core.errors import ValidationError
from twinrca.core.incident import IncidentDoc, transition
from twinrca.core.records import IncidentState
from twinrca.core.timeutil import utcnow
from twinrca.fmea import FmeaRow, RatingChange, RatingHistory, current_rows
from twinrca.fmea.ratings import RATING_FIELDS
from twinrca.runtime.incident_store import load_incident, save_incident
from twinrca.store.base import OutboxEntry, Store

__all__ = ["AlertsFor", "give_feedback", "move_incident", "save_ratings"]

AlertsFor = Callable[[Store, IncidentDoc], Sequence[OutboxEntry]]


def move_incident(
    store: Store,
    incident_id: str,
    state: IncidentState,
    *,
    by: str,
    note: str = "",
    alerts_for: AlertsFor | None = None,
) -> IncidentDoc:
    """Acknowledge or resolve (any lifecycle move), with the alerts in the same transaction."""
    inc = transition(load_incident(store, incident_id), state, by=by, note=note)
    save_incident(store, inc, alerts=list(alerts_for(store, inc)) if alerts_for else None)
    return inc


def give_feedback(
    store: Store, incident_id: str, *, true_element: str, true_failure_mode: str, comment: str = ""
) -> IncidentDoc:
    """Record the real cause (as ``POST /v1/incidents/{id}/feedback`` does)."""
    if not true_element or not true_failure_mode:
        raise ValidationError("bad_feedback", "feedback needs the element and the failure mode")
    inc = load_incident(store, incident_id)
    fb = {
        "true_element": true_element,
        "true_failure_mode": true_failure_mode,
        "comment": comment,
        "at": utcnow().isoformat(),
    }
    inc = inc.model_copy(update={"feedback": fb, "updated_at": utcnow()})
    save_incident(store, inc)
    store.put_document("feedback", incident_id, {"incident_id": incident_id, **fb})
    return inc


def save_ratings(
    store: Store, edits: Mapping[str, Mapping[str, Any]], *, who: str, reason: str
) -> list[RatingChange]:
    """Apply ``edits`` (mode id -> {rating: new value}) on top of the *stored* ratings
    and record each change. Only the edited ratings are compared, so a table that was
    shown before someone else's change never reverts it."""
    if not reason.strip():
        raise ValidationError("no_reason", "say why the ratings change")
    history = RatingHistory.load(store)
    rows = current_rows(history=history)
    by_id = {r.mode_id: r for r in rows}
    new_rows: list[FmeaRow] = []
    for mode_id, ratings in edits.items():
        row = by_id.get(mode_id)
        if row is None:
            raise ValidationError("unknown_mode", f"no failure mode {mode_id!r}")
        wanted = {f: int(v) for f, v in ratings.items() if f in RATING_FIELDS}
        new_rows.append(row.with_ratings(**wanted))
    changes = history.update_rows(rows, new_rows, reason=reason, source="person", who=who)
    history.save(store)
    return changes
