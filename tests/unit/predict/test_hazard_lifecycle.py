"""Monotone hazards over horizons, the time to failure they imply, isotonic calibration,
and the raise / update / close life of a warning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from twinrca.core.errors import ValidationError
from twinrca.predict.hazard import IsotonicCalibrator, monotone, time_to_failure
from twinrca.predict.lifecycle import Candidate, Outcome, advance, came_true_share

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_monotone_takes_the_cumulative_max_over_horizons() -> None:
    p = np.array([[0.2, 0.1, 0.5, 0.4], [0.0, 0.3, 0.3, 0.9]])
    assert monotone(p).tolist() == [[0.2, 0.2, 0.5, 0.5], [0.0, 0.3, 0.3, 0.9]]
    with pytest.raises(ValidationError):
        monotone(np.array([0.1, 0.2]))


def test_time_to_failure_reads_quantiles_of_the_cdf() -> None:
    p = np.array([[0.1, 0.5, 0.9, 1.0], [0.0, 0.0, 0.05, 0.2]])
    mid, lo, hi = time_to_failure(p, (15.0, 60.0, 240.0, 1440.0))
    assert lo[0] == 15.0 and mid[0] == 60.0 and hi[0] == 240.0
    assert np.isnan(mid[1]) and np.isnan(hi[1]) and 240.0 < lo[1] < 1440.0


def test_isotonic_calibration_is_monotone_and_matches_frequencies() -> None:
    rng = np.random.default_rng(1)
    s = rng.random(4000)
    y = (rng.random(4000) < s**2).astype(int)  # true p = s^2: a raw score overstates it
    cal = IsotonicCalibrator.fit(s, y)
    grid = np.linspace(0, 1, 50)
    assert np.all(np.diff(cal(grid)) >= 0)
    assert abs(cal(np.array([0.5]))[0] - 0.25) < 0.08


def _cand(el: str, minutes: int, p: float = 0.9) -> Candidate:
    return Candidate(el, "FM-PWR-BATTERY", T0 + timedelta(minutes=minutes), p, 40.0, 25.0, 60.0)


def test_warning_is_raised_once_updated_then_closed_by_what_happened() -> None:
    s = advance({}, [_cand("s1", 0), _cand("s2", 0), _cand("s3", 0)], now=T0, horizon_min=60)
    assert len(s.raised) == 3 and not s.closed
    now = T0 + timedelta(minutes=15)
    s = advance(s.open, [_cand("s1", 15, 0.95)], now=now, horizon_min=60)
    assert not s.raised and [w.element for w in s.updated] == ["s1"]
    assert s.open[("s1", "FM-PWR-BATTERY")].updates == 1
    assert s.open[("s1", "FM-PWR-BATTERY")].window_end == now + timedelta(minutes=60)
    onset = T0 + timedelta(minutes=40)
    s = advance(
        s.open,
        [],
        now=T0 + timedelta(minutes=45),
        horizon_min=60,
        onsets=[("s1", "FM-PWR-BATTERY", onset)],
        remediations=[("s2", T0 + timedelta(minutes=30))],
    )
    out = {w.element: w.outcome for w in s.closed}
    assert out == {"s1": Outcome.CAME_TRUE, "s2": Outcome.AVERTED}
    s = advance(s.open, [], now=T0 + timedelta(minutes=61), horizon_min=60)
    assert [(w.element, w.outcome) for w in s.closed] == [("s3", Outcome.FALSE)]
    assert not s.open


def test_came_true_share_leaves_averted_warnings_out() -> None:
    s = advance({}, [_cand("a", 0), _cand("b", 0), _cand("c", 0)], now=T0, horizon_min=30)
    s = advance(
        s.open,
        [],
        now=T0 + timedelta(minutes=31),
        horizon_min=30,
        onsets=[("a", "unknown", T0 + timedelta(minutes=10))],
        remediations=[("b", T0 + timedelta(minutes=5))],
    )
    assert came_true_share(s.closed) == 0.5  # a came true, c was false, b averted
    assert came_true_share([]) is None
