"""Warning-quality figures (calibration error, false warnings per element-day) and the
FMEA catalogue's announceable flag, which decides who may be warned of."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinrca.fmea.catalogue import load_catalogue
from twinrca.predict.evaluate import (
    expected_calibration_error,
    false_warnings_per_1000_element_days,
    reliability_curve,
)
from twinrca.predict.scoring import score_frame, sudden_modes


def test_ece_is_zero_when_calibrated_and_large_when_overconfident() -> None:
    y = np.array([1] * 20 + [0] * 80)
    assert expected_calibration_error(y, np.full(100, 0.2)) == pytest.approx(0.0)
    y2 = np.array([1] * 10 + [0] * 90)
    assert expected_calibration_error(y2, np.full(100, 0.9)) == pytest.approx(0.8)


def test_reliability_curve_bins_cover_every_row_in_order() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=500)
    y = (rng.uniform(size=500) < p).astype(int)
    curve = reliability_curve(y, p, bins=5)
    assert sum(b["rows"] for b in curve) == 500
    means = [b["mean_p"] for b in curve]
    assert means == sorted(means)
    assert expected_calibration_error(y, p, bins=5) < 0.1


def test_false_warnings_count_episodes_without_a_positive_per_element_day() -> None:
    t = pd.date_range("2026-01-01", periods=97, freq="15min", tz="UTC")  # one day
    rows = []
    for e in ("a", "b"):
        for i, ts in enumerate(t):
            warn = (e == "a" and 10 <= i < 14) or (e == "b" and i in (40, 41, 60))
            pos = e == "a" and i == 13
            rows.append((ts, e, warn, int(pos)))
    df = pd.DataFrame(rows, columns=["time", "element", "warn", "y"])
    got = false_warnings_per_1000_element_days(
        df["warn"].to_numpy(),
        df["y"].to_numpy(),
        df["time"].to_numpy(),
        df["element"].to_numpy(),
        15,
    )
    # a's episode came true; b has two episodes (rows 40-41 and 60), both false: 2 / 2 days
    assert got == pytest.approx(1000.0)


def test_catalogue_flags_only_modes_a_precursor_announces() -> None:
    cat = load_catalogue()
    ann = {m.id for m in cat.announceable()}
    assert {"FM-PWR-BATTERY", "FM-SW-OOM", "FM-ENV-SHUTDOWN", "FM-TX-MW-LINKDOWN"} <= ann
    assert not ann & {"FM-RAN-BOARD", "FM-SW-CRASH", "FM-TX-FIBRE-CUT", "FM-PWR-MAINS"}
    for m in cat.announceable():  # announced by the precursor mode it follows
        assert m.follows in cat
    assert sudden_modes() == frozenset(m.id for m in cat) - ann


def test_sudden_modes_get_no_warnings(trained) -> None:  # type: ignore[no-untyped-def]
    ds, ev = trained
    rows = ds.frame.iloc[-300:]
    every = score_frame(ev.model, rows, threshold=0.0, explain=0, silent_modes=())
    assert every, "threshold 0 warns of every row"
    mode = every[0].failure_mode
    silenced = score_frame(ev.model, rows, threshold=0.0, explain=0, silent_modes=[mode])
    assert len(silenced) < len(every)
    assert all(w.failure_mode != mode for w in silenced)
