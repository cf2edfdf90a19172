"""The life of a fault warning: raised, updated while it stands, closed as an outcome.

Pure (no I/O, no clock): :func:`advance` takes the open warnings, this period's
candidates (calibrated probabilities already above the warning threshold), the onsets
and remediations seen since the last call, and the time; it returns the new state.

- A candidate of an (element, mode) with no open warning **raises** one; its window
  ends ``horizon_min`` after the newest time it was supported.
- A candidate of an open warning **updates** it (probability, time to failure, reasons,
  window end); it is not raised again.
- An onset on the element (of the warned mode, or of any mode when the onset's mode is
  unknown) within the window closes it as ``came_true``; a remediation applied to the
  element first closes it as ``averted``; a window that passes with neither closes it
  as ``false``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "Candidate",
    "Outcome",
    "Step",
    "WarningRecord",
    "advance",
    "came_true_share",
    "settle",
]


class Outcome(StrEnum):
    OPEN = "open"
    CAME_TRUE = "came_true"
    AVERTED = "averted"
    FALSE = "false"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A calibrated risk above the threshold for one element and mode at ``time``."""

    element: str
    mode: str
    time: datetime
    probability: float
    ttf_min: float  # expected minutes to failure
    ttf_lo_min: float  # 10 % quantile
    ttf_hi_min: float  # 90 % quantile
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WarningRecord:
    element: str
    mode: str
    raised: datetime
    updated: datetime
    window_end: datetime
    probability: float
    ttf_min: float
    ttf_lo_min: float
    ttf_hi_min: float
    reasons: tuple[str, ...]
    updates: int = 0
    outcome: Outcome = Outcome.OPEN
    closed: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.element, self.mode)


@dataclass(frozen=True, slots=True)
class Step:
    """The result of one :func:`advance`: what stands, what was raised, updated, closed."""

    open: dict[tuple[str, str], WarningRecord]
    raised: list[WarningRecord] = field(default_factory=list)
    updated: list[WarningRecord] = field(default_factory=list)
    closed: list[WarningRecord] = field(default_factory=list)


def _close(w: WarningRecord, outcome: Outcome, when: datetime) -> WarningRecord:
    return replace(w, outcome=outcome, closed=when)


def settle(
    raised: datetime,
    window_end: datetime,
    onsets: Iterable[datetime],
    remediations: Iterable[datetime],
    now: datetime,
) -> tuple[Outcome, datetime] | None:
    """The outcome of a warning raised at ``raised`` whose window ends at ``window_end``,
    from the onset and remediation times on its element (None: it still stands)."""
    hits = [t for t in onsets if raised < t <= window_end]
    fixes = [t for t in remediations if raised <= t <= window_end]
    first_hit = min(hits) if hits else None
    first_fix = min(fixes) if fixes else None
    if first_fix is not None and (first_hit is None or first_fix < first_hit):
        return Outcome.AVERTED, first_fix
    if first_hit is not None:
        return Outcome.CAME_TRUE, first_hit
    if now > window_end:
        return Outcome.FALSE, window_end
    return None


def _settle(
    w: WarningRecord,
    onsets: Sequence[tuple[str, str, datetime]],
    remediations: Sequence[tuple[str, datetime]],
    now: datetime,
) -> WarningRecord | None:
    """The warning closed by what happened (or its window passing), None if it stands."""
    hits = [t for el, mode, t in onsets if el == w.element and mode in (w.mode, "", "unknown")]
    fixes = [t for el, t in remediations if el == w.element]
    done = settle(w.raised, w.window_end, hits, fixes, now)
    return None if done is None else _close(w, *done)


def advance(
    open_warnings: Mapping[tuple[str, str], WarningRecord],
    candidates: Iterable[Candidate],
    *,
    now: datetime,
    horizon_min: float,
    onsets: Sequence[tuple[str, str, datetime]] = (),
    remediations: Sequence[tuple[str, datetime]] = (),
) -> Step:
    """One period: settle the open warnings, then raise or update from ``candidates``.

    ``onsets``: (element, mode, time) of faults that started; ``remediations``:
    (element, time) of actions applied."""
    horizon = timedelta(minutes=horizon_min)
    standing: dict[tuple[str, str], WarningRecord] = {}
    closed: list[WarningRecord] = []
    for key, w in open_warnings.items():
        done = _settle(w, onsets, remediations, now)
        if done is None:
            standing[key] = w
        else:
            closed.append(done)
    raised: list[WarningRecord] = []
    updated: list[WarningRecord] = []
    for c in candidates:
        key = (c.element, c.mode)
        prior = standing.get(key)
        if prior is None:
            w = WarningRecord(
                c.element,
                c.mode,
                c.time,
                c.time,
                c.time + horizon,
                c.probability,
                c.ttf_min,
                c.ttf_lo_min,
                c.ttf_hi_min,
                c.reasons,
            )
            raised.append(w)
        else:
            w = replace(
                prior,
                updated=c.time,
                window_end=max(prior.window_end, c.time + horizon),
                probability=c.probability,
                ttf_min=c.ttf_min,
                ttf_lo_min=c.ttf_lo_min,
                ttf_hi_min=c.ttf_hi_min,
                reasons=c.reasons or prior.reasons,
                updates=prior.updates + 1,
            )
            updated.append(w)
        standing[key] = w
    return Step(standing, raised, updated, closed)


def came_true_share(closed: Iterable[WarningRecord]) -> float | None:
    """Share of the closed warnings that came true (averted ones left out: a remediation
    hides whether the fault would have come); None when none closed."""
    judged = [w for w in closed if w.outcome in (Outcome.CAME_TRUE, Outcome.FALSE)]
    if not judged:
        return None
    return sum(w.outcome is Outcome.CAME_TRUE for w in judged) / len(judged)
