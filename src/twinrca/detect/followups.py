"""Follow-ups: a later incident with the same diagnosed root cause as an open one.

One fault often opens more than one alarm group: a mains failure raises "mains power
failure" and "battery discharging" at once and, hours later when the battery is empty,
"cell service unavailable" on every cell of the site, long after the grouping window
closed. The second group is diagnosed with the same root cause (element and failure
mode) as the first, which is still open (its alarms have not all cleared). It is the
same fault: it is kept under the first incident as a follow-up and does not page again.

An incident is a follow-up of the earliest incident that (a) paged, (b) has the same top
cause (element, failure mode), (c) began before it and (d) was still open when it began,
or had been resolved for less than :data:`FOLLOW_UP_HOLD` (a link that flaps clears and
raises again; the alarm grouping's window).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from twinrca.detect.detector import DetectedIncident

__all__ = ["FOLLOW_UP_HOLD", "Opened", "follow_up_of", "follow_ups", "opened"]

#: how long after its alarms cleared an incident still takes follow-ups (the alarm
#: grouping's window: an alarm that soon after the last one would have joined it)
FOLLOW_UP_HOLD = pd.Timedelta(seconds=1800)

_NEVER = pd.Timestamp.max.tz_localize("UTC")
#: a KPI-triggered incident's end after its last anomalous period in a recording (the
#: detector's KPI_QUIET_PERIODS of 15-minute periods)
KPI_HOLD = pd.Timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Opened:
    """What follow-up linking needs of one incident: its key, when it began, until
    when it is open (``open_until``; ``pd.Timestamp.max`` while a raised alarm
    stands), its top cause and whether it pages on its own."""

    key: str
    start: pd.Timestamp
    open_until: pd.Timestamp
    cause: tuple[str, str] | None
    pages: bool


def follow_up_of(new: Opened, earlier: Iterable[Opened]) -> str | None:
    """The key of the open incident ``new`` follows up (None: it stands alone)."""
    if new.cause is None:
        return None
    hits = [
        e
        for e in earlier
        if e.key != new.key
        and e.pages
        and e.cause == new.cause
        and e.start < new.start <= e.open_until
    ]
    return min(hits, key=lambda e: (e.start, e.key)).key if hits else None


def follow_ups(incidents: Iterable[Opened]) -> dict[str, str]:
    """follow-up key -> the key of the incident it follows, over a set of incidents
    (a follow-up never pages, so it is no one's parent: chains resolve to the first)."""
    ordered = sorted(incidents, key=lambda o: (o.start, o.key))
    out: dict[str, str] = {}
    standing: list[Opened] = []
    for o in ordered:
        parent = follow_up_of(o, standing)
        if parent is not None:
            out[o.key] = parent
        else:
            standing.append(o)
    return out


def opened(
    key: str,
    inc: DetectedIncident,
    cleared: dict[str, pd.Timestamp],
    *,
    cause: tuple[str, str] | None,
    pages: bool,
    kpi_hold: pd.Timedelta = KPI_HOLD,
) -> Opened:
    """``inc`` as follow-up linking sees it, from a recording: an alarm incident is open
    until its last alarm cleared (for ever while one stands; the service resolves it
    then) plus :data:`FOLLOW_UP_HOLD`, a KPI-triggered one ``kpi_hold`` after its last
    anomalous period (the quiet periods that end it); ``cleared``: alarm id -> clear
    time."""
    if inc.trigger == "kpi":
        until = pd.Timestamp(inc.group.end) + kpi_hold
    else:
        ends = [cleared.get(str(a)) for a in inc.alarms["alarm_id"]]
        done = [e for e in ends if e is not None]
        until = max(done) + FOLLOW_UP_HOLD if done and len(done) == len(ends) else _NEVER
    return Opened(key, pd.Timestamp(inc.group.start), until, cause, pages)
