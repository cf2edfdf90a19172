"""The flow's follow-up step: an incident whose top cause (element, failure mode) is the
one of an open incident that paged is kept under it as a follow-up (not paged, not
verified, no remediation), by twinrca.detect.followups' rule. A stored incident is open
until it is resolved (its alarms cleared, its anomaly ended), and takes follow-ups for
``FOLLOW_UP_HOLD`` of data time after that (``cleared_at``)."""

from __future__ import annotations

import pandas as pd

from twinrca.alerts.subscriptions import paged
from twinrca.core.incident import IncidentDoc, before
from twinrca.core.records import IncidentState, RootCauseCandidate
from twinrca.core.timeutil import utc
from twinrca.detect.detector import DetectedIncident
from twinrca.detect.followups import FOLLOW_UP_HOLD, Opened, follow_up_of
from twinrca.store.base import Store

__all__ = ["PARENT_STATES", "follow_up"]

#: states of an incident that can have follow-ups (once it paged)
PARENT_STATES = (
    IncidentState.DIAGNOSED,
    IncidentState.VERIFIED,
    IncidentState.RECOMMENDED,
    IncidentState.ACKNOWLEDGED,
    IncidentState.RESOLVED,
)
_NEVER = pd.Timestamp.max.tz_localize("UTC")


def _causes(doc: IncidentDoc) -> list[tuple[str, str]]:
    """The stored incident's top cause, verified and as first diagnosed."""
    out = []
    for cands in (doc.candidates, doc.unverified_candidates):
        if cands:
            out.append((cands[0].element, cands[0].failure_mode))
    return out


def follow_up(
    store: Store,
    inc: DetectedIncident,
    doc: IncidentDoc,
    ranked: list[RootCauseCandidate],
    prior: IncidentDoc | None,
) -> IncidentDoc | None:
    """``doc`` kept as a follow-up of the open incident with its top cause; None when
    there is none, or when it already went on as a fault of its own (it paged)."""
    if not ranked or (prior is not None and before(IncidentState.FOLLOW_UP, prior.state)):
        return None
    cause = (ranked[0].element, ranked[0].failure_mode)
    start = pd.Timestamp(utc(inc.group.start))
    earlier = []
    for state in PARENT_STATES:
        for d in store.list_documents("incident", where={"state": str(state)}, limit=10_000):
            parent = IncidentDoc.model_validate(d)
            if parent.incident_id == doc.incident_id or not paged(parent):
                continue
            until = _NEVER
            if parent.state is IncidentState.RESOLVED:
                if parent.cleared_at is None:
                    continue  # resolved by a person, or before cleared_at was kept
                until = pd.Timestamp(utc(parent.cleared_at)) + FOLLOW_UP_HOLD
            for c in _causes(parent):
                opened_at = pd.Timestamp(utc(parent.opened_at))
                earlier.append(Opened(parent.incident_id, opened_at, until, c, True))
    me = Opened(doc.incident_id, start, _NEVER, cause, True)
    parent_id = follow_up_of(me, earlier)
    if parent_id is None:
        return None
    return doc.model_copy(
        update={
            "state": IncidentState.FOLLOW_UP,
            "remediations": [],
            "follow_up_of": parent_id,
        }
    )
