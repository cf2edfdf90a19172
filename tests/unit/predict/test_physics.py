"""Physics features: time to a failure level from a trend, its band, the daily-peak excess;
nothing of a row uses data after the row's time, and labels keep their gap."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twinrca.predict.features import FeatureSpec, build_features
from twinrca.predict.labels import make_labels
from twinrca.predict.physics import TTT_CAP, imminent_block, precursor_block
from twinrca.predict.synthetic import precursor_streams


def _col(values) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.asarray(values, dtype=float).reshape(-1, 1)


def test_linear_drain_gives_the_exact_time_to_empty() -> None:
    soc = _col([100.0] * 10 + [100.0 - 5.0 * k for k in range(1, 11)])  # 5 % per 15 min
    f = precursor_block(soc, "soc", 0.0, -1, windows=(2, 4), period_min=15)
    # at 50 % left, draining 5 % a period: 10 periods = 150 minutes
    assert f["soc__ttt_4"][-1, 0] == 150.0
    assert f["soc__ttt_lo_4"][-1, 0] == 150.0 == f["soc__ttt_hi_4"][-1, 0]  # no noise
    assert f["soc__ttt_min"][-1, 0] == 150.0
    assert f["soc__approach"][-1, 0] == 10 * 15.0
    assert f["soc__ttt_4"][5, 0] == TTT_CAP  # on float charge: nothing to reach


def test_noisy_trend_has_a_band_around_the_time_and_curvature_sign() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(40, dtype=float)
    mem = 50.0 + 0.5 * t[:, None] + rng.normal(0, 0.4, (40, 400))  # 400 noisy leaks
    f = precursor_block(mem, "mem", 100.0, 1, windows=(8,), period_min=5)
    lo, mid, hi = f["mem__ttt_lo_8"][-1], f["mem__ttt_8"][-1], f["mem__ttt_hi_8"][-1]
    assert np.all(lo < mid) and np.all(mid < hi)
    truth = (100.0 - (50.0 + 0.5 * 39)) / 0.5 * 5
    covered = np.mean((lo <= truth) & (truth <= hi))
    assert 0.7 <= covered <= 0.97  # about the 80 % the band stands for
    saturating = _col(68.0 - 30.0 * np.exp(-t / 10.0))  # slows down towards its level
    g = precursor_block(saturating, "temp", 68.0, 1, windows=(6,), period_min=5)
    assert g["temp__curv_6"][-1, 0] < 0
    assert g["temp__tttq_6"][-1, 0] > g["temp__ttt_6"][-1, 0]  # the quadratic takes longer


def test_over_day_is_positive_only_above_the_previous_days_peak() -> None:
    per_day = 1440 // 60
    daily = 40.0 + 10.0 * np.sin(2 * np.pi * np.arange(3 * per_day) / per_day)
    leak = daily.copy()
    leak[-6:] = 50.0 + 4.0 * np.arange(1, 7)  # above the usual peak of 50
    f = precursor_block(_col(np.r_[daily, leak]), "mem", 100.0, 1, windows=(2, 4), period_min=60)
    over = f["mem__over_day"][:, 0]
    assert np.nanmax(over[per_day : 6 * per_day - 6]) <= 1e-9
    # 74 now against the day up to the longest window (4 periods) ago: the ramp's 58
    assert over[-1] == 74.0 - 58.0


def _small():
    return precursor_streams(n_sites=2, cells_per_site=2, days=2.5, period_min=15, seed=3)


SPEC = FeatureSpec(
    period_min=15,
    windows=(2, 4, 8),
    seasonal_days=1,
    thresholds=(("battery_v", 46.0, -1), ("cpu_load", 95.0, 1), ("rsl_margin", 0.0, -1)),
)


def test_physics_features_at_t_do_not_use_data_after_t() -> None:
    d = _small()
    cut = d.kpis["time"].sort_values().iloc[len(d.kpis) // 2]
    base = build_features(d.kpis, spec=SPEC, alarms=d.alarms, topology=d.topology)
    assert {
        "up__battery_v__ttt_min",
        "precursor__ttt_min",
        "cpu_load__over_day",
        "down__battery_v__ttt",
        "down__rsl_margin__margin",
        "down__ttt_min",
        "down__imminent",
    } <= set(base.columns)
    kpis = d.kpis.copy()
    later = kpis["time"] > cut
    num = kpis.columns.drop(["time", "element"])
    kpis.loc[later, num] = kpis.loc[later, num] * 0.5 - 20.0  # rewrite the future
    moved = build_features(kpis, spec=SPEC, alarms=d.alarms, topology=d.topology)
    past = base["time"] <= cut
    cols = [c for c in base.columns if c not in ("time", "element")]
    pd.testing.assert_frame_equal(base.loc[past, cols], moved.loc[past, cols])
    assert not np.allclose(
        np.nan_to_num(base.loc[~past, "precursor__ttt_min"].to_numpy(float)),
        np.nan_to_num(moved.loc[~past, "precursor__ttt_min"].to_numpy(float)),
    )


def test_labels_leave_the_gap_out_and_never_see_the_fault_itself() -> None:
    t = pd.date_range("2025-01-01", periods=20, freq="15min", tz="UTC")
    rows = pd.DataFrame({"time": t, "element": "s1"})
    faults = pd.DataFrame({"element": ["s1"], "start": [t[12]], "end": [t[14]]})
    # the data go on after t19 (no window is censored here; see test_labels_features)
    lab = make_labels(rows, faults, horizon_min=60, gap_min=30, until=t[-1] + pd.Timedelta("1D"))
    # rows within the 30-minute gap (t10, t11) and during the fault (t12, t13): left out
    assert not lab.valid[[10, 11, 12, 13]].any() and lab.valid[[9, 14]].all()
    # every positive row is at least gap + one period before the start
    assert lab.lead_min[lab.y == 1].min() > 30.0
    assert list(np.flatnonzero(lab.y)) == [6, 7, 8, 9]


def test_imminent_state_needs_a_significant_approach_here_or_upstream() -> None:
    rng = np.random.default_rng(1)
    n = 40
    drain = 100.0 - 2.0 * np.clip(np.arange(n) - 20, 0, None)  # on battery from t20
    noise = 100.0 + rng.normal(0, 0.5, n)  # on float charge, noisy reading
    soc = np.column_stack([drain, noise])
    f = precursor_block(soc, "soc", 0.0, -1, windows=(4, 8), period_min=15)
    cell = {k: np.full_like(v, np.nan) for k, v in f.items()}  # a cell: no battery itself
    up = {f"up__{k}": v for k, v in f.items() if k.endswith(("__ttt_min", "__margin", "_8"))}
    nothing_up = {f"up__{k}": np.full_like(v, np.nan) for k, v in f.items()}
    own = imminent_block({**f, **nothing_up}, ("soc",))
    fed = imminent_block({**cell, **up}, ("soc",))
    # the draining battery: a finite time to empty once the 8-period trend is clear
    assert own["down__soc__ttt"][-1, 0] == f["soc__ttt_min"][-1, 0] < TTT_CAP
    assert own["down__soc__ttt"][15, 0] == TTT_CAP  # before mains loss
    # the noisy battery on float charge never looks imminent
    assert (own["down__soc__ttt"][:, 1] == TTT_CAP).all()
    assert own["down__imminent"][-1].tolist() == [1.0, 0.0]
    # a cell fed by the site sees its site's state
    assert fed["down__soc__ttt"][-1, 0] == own["down__soc__ttt"][-1, 0]
    assert fed["down__soc__margin"][-1, 0] == f["soc__margin"][-1, 0]
