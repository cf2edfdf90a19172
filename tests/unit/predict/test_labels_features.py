"""Labels and features never look past the row's time; splits are time-based and purged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twinrca.predict.features import FeatureSpec, build_features
from twinrca.predict.labels import make_labels, time_split
from twinrca.predict.synthetic import precursor_streams

SPEC = FeatureSpec(period_min=15, windows=(2, 4), seasonal_days=1)


def _small():
    return precursor_streams(n_sites=2, cells_per_site=2, days=2.5, period_min=15, seed=3)


def test_features_at_t_do_not_use_data_after_t() -> None:
    d = _small()
    cut = d.kpis["time"].sort_values().iloc[len(d.kpis) // 2]
    base = build_features(d.kpis, spec=SPEC, alarms=d.alarms, topology=d.topology)
    kpis = d.kpis.copy()
    later = kpis["time"] > cut
    num = kpis.columns.drop(["time", "element"])
    kpis.loc[later, num] = kpis.loc[later, num] * 3.0 + 100.0  # rewrite the future
    extra = pd.DataFrame(
        {
            "time": [cut + pd.Timedelta(minutes=1)] * 5,
            "element": d.kpis["element"].iloc[0],
            "alarm": "FUTURE",
        }
    )
    moved = build_features(
        kpis, spec=SPEC, alarms=pd.concat([d.alarms, extra]), topology=d.topology
    )
    past = base["time"] <= cut
    cols = [c for c in base.columns if c not in ("time", "element")]
    pd.testing.assert_frame_equal(base.loc[past, cols], moved.loc[past, cols])
    assert not np.allclose(
        np.nan_to_num(base.loc[~past, cols].to_numpy(float)),
        np.nan_to_num(moved.loc[~past, cols].to_numpy(float)),
    )


def test_label_window_gap_and_active_fault() -> None:
    t = pd.date_range("2025-01-01", periods=12, freq="15min", tz="UTC")
    rows = pd.DataFrame({"time": t, "element": "c1"})
    start, end = t[8], t[10]
    faults = pd.DataFrame({"element": ["c1"], "start": [start], "end": [end], "mode": ["FM-X"]})
    lab = make_labels(rows, faults, horizon_min=30, gap_min=15, until=t[-1] + pd.Timedelta("1h"))
    # t7 is within the gap, t8..t9 during the fault: left out
    assert list(lab.valid) == [True] * 7 + [False] * 3 + [True] * 2
    # positive: fault start in (t+15, t+45] -> rows t5, t6
    assert list(np.flatnonzero(lab.y)) == [5, 6]
    assert list(lab.lead_min[[5, 6]]) == [45.0, 30.0]
    assert lab.mode[5] == "FM-X" and lab.fault_id[4] == -1


def test_windows_past_the_end_of_the_data_are_censored_not_negative() -> None:
    t = pd.date_range("2025-01-01", periods=12, freq="15min", tz="UTC")
    rows = pd.DataFrame({"time": t, "element": "c1"})
    faults = pd.DataFrame({"element": ["c1"], "start": [t[11]], "end": [t[11]]})
    lab = make_labels(rows, faults, horizon_min=60, gap_min=15)
    # t6..t9: the fault at t11 lies in their window (t + 15, t + 75]: positives, kept
    # although t7..t9's windows run past the data; t10 in the gap; t11 censored
    assert list(np.flatnonzero(lab.y)) == [6, 7, 8, 9]
    assert list(lab.valid) == [True] * 10 + [False] * 2
    quiet = pd.DataFrame({"element": ["c9"], "start": [t[0]], "end": [t[0]]})
    lab2 = make_labels(rows, quiet, horizon_min=60, gap_min=15)
    # no fault: rows whose window runs past t11 (t > t11 - 75 min, i.e. t7..t11) unknown
    assert list(lab2.valid) == [True] * 7 + [False] * 5
    assert lab2.y.sum() == 0
    # data known to go on: the same rows are plain negatives
    later = make_labels(rows, quiet, horizon_min=60, gap_min=15, until=t[-1] + pd.Timedelta("2h"))
    assert later.valid.all()


def test_labels_do_not_depend_on_the_features() -> None:
    d = _small()
    feats = build_features(d.kpis, spec=SPEC)
    lab = make_labels(feats, d.faults, horizon_min=60, gap_min=15)
    lab2 = make_labels(feats[["time", "element"]], d.faults, horizon_min=60, gap_min=15)
    assert lab.y.sum() > 0 and np.array_equal(lab.y, lab2.y)


def test_time_split_is_ordered_and_purged() -> None:
    t = pd.Series(pd.date_range("2025-01-01", periods=100, freq="h", tz="UTC"))
    tr, ho, te = time_split(t, (0.6, 0.2, 0.2), embargo_min=180)
    assert t[tr].max() + pd.Timedelta(minutes=180) <= t[ho].min()
    assert t[ho].max() + pd.Timedelta(minutes=180) <= t[te].min()
    assert not (tr & te).any() and te[-1]
