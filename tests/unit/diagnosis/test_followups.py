"""Follow-ups: a later incident with the same top cause as an open one that paged is
kept under it; different causes, closed or quiet parents stand alone."""

from __future__ import annotations

import pandas as pd

from twinrca.detect.followups import FOLLOW_UP_HOLD, Opened, follow_up_of, follow_ups

T0 = pd.Timestamp("2024-06-03 12:00", tz="UTC")
NEVER = pd.Timestamp.max.tz_localize("UTC")
MAINS = ("site:1", "FM-PWR-MAINS")


def _o(key: str, minutes: float, cause, *, until=NEVER, pages: bool = True) -> Opened:
    return Opened(key, T0 + pd.Timedelta(minutes=minutes), until, cause, pages)


def test_same_cause_while_open_is_a_follow_up_of_the_first() -> None:
    got = follow_ups([_o("b", 180, MAINS), _o("a", 0, MAINS), _o("c", 400, MAINS)])
    assert got == {"b": "a", "c": "a"}


def test_other_cause_quiet_parent_or_closed_parent_stand_alone() -> None:
    other = ("site:1", "FM-SW-MEMLEAK")
    assert follow_up_of(_o("b", 60, other), [_o("a", 0, MAINS)]) is None
    assert follow_up_of(_o("b", 60, MAINS), [_o("a", 0, MAINS, pages=False)]) is None
    closed = T0 + pd.Timedelta(minutes=10)
    assert follow_up_of(_o("b", 60, MAINS), [_o("a", 0, MAINS, until=closed)]) is None
    assert follow_up_of(_o("b", 60, None), [_o("a", 0, MAINS)]) is None


def test_a_parent_takes_follow_ups_until_its_hold_ends() -> None:
    until = T0 + pd.Timedelta(minutes=30) + FOLLOW_UP_HOLD
    inside = _o("b", 30 + FOLLOW_UP_HOLD.total_seconds() / 60 - 1, MAINS)
    assert follow_up_of(inside, [_o("a", 0, MAINS, until=until)]) == "a"
    late = _o("b", 30 + FOLLOW_UP_HOLD.total_seconds() / 60 + 1, MAINS)
    assert follow_up_of(late, [_o("a", 0, MAINS, until=until)]) is None
