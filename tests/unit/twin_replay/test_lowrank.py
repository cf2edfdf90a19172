"""The low-rank demand shapes and the trend shrinkage (twin_replay/_lowrank.py): on
planted shapes they are closer to the truth than each cell's own estimate."""

from __future__ import annotations

import numpy as np


def _planted(cells: int, days: int, per_day: int, seed: int):
    """Log demand: two shared shapes mixed per cell, AR(1) noise, the truth's slot means."""
    rng = np.random.default_rng(seed)
    t = np.arange(days * per_day)
    slot, day = t % per_day, t // per_day
    wclass = ((day % 7) >= 5).astype(np.int64)
    h = slot / per_day * 24
    a = np.exp(-0.5 * ((h - 11) / 2.5) ** 2) + 0.2
    b = np.exp(-0.5 * ((h - 20) / 2.0) ** 2) + 0.1
    mix = rng.uniform(0, 1, cells)
    shape = np.log(mix[:, None] * a[None, :] + (1 - mix[:, None]) * b[None, :])
    weekend = np.where(wclass == 1, 0.15, 0.0)
    truth = shape + weekend[None, :]
    noise = np.zeros((cells, len(t)))
    for k in range(1, len(t)):
        noise[:, k] = 0.9 * noise[:, k - 1] + rng.normal(0, 0.08 * np.sqrt(1 - 0.81), cells)
    return truth + noise, truth, slot, wclass, day


def _cols(truth, slot, wclass, per_day):
    out = np.zeros((truth.shape[0], 2 * per_day))
    for j in range(2 * per_day):
        sel = (wclass * per_day + slot) == j
        out[:, j] = truth[:, sel][:, 0]
    return out


def test_shared_shapes_beat_each_cells_own_means() -> None:
    from twinrca.twin_replay._lowrank import shared_shapes, slot_stats

    per_day = 48
    x, truth, slot, wclass, day = _planted(120, 11, per_day, seed=1)
    own = slot_stats(x, slot, wclass, per_day)[0]
    fit = shared_shapes(x, slot, wclass, day, per_day)
    target = _cols(truth, slot, wclass, per_day)
    err_own = np.sqrt(np.mean((own - target) ** 2))
    err_fit = np.sqrt(np.mean((fit - target) ** 2))
    assert err_fit < 0.6 * err_own, (err_fit, err_own)


def test_shared_shapes_of_one_cell_are_its_own_means() -> None:
    from twinrca.twin_replay._lowrank import shared_shapes, slot_stats

    per_day = 24
    x, _, slot, wclass, day = _planted(1, 9, per_day, seed=2)
    np.testing.assert_allclose(
        shared_shapes(x, slot, wclass, day, per_day), slot_stats(x, slot, wclass, per_day)[0]
    )


def test_trend_shrinkage_reduces_the_error_and_leaves_lone_cells() -> None:
    from twinrca.twin_replay._lowrank import shrink_trends

    rng = np.random.default_rng(4)
    true = rng.uniform(-0.015, 0.015, 400)
    se = np.full(400, 0.006)
    est = true + rng.normal(0, se)
    shrunk = shrink_trends(est, se)
    assert np.mean((shrunk - true) ** 2) < 0.8 * np.mean((est - true) ** 2)
    # no spread beyond the noise: the trends pulled (almost) to the common mean
    raw = 0.002 + rng.normal(0, se)
    flat = shrink_trends(raw, se)
    assert np.ptp(flat) < 0.25 * np.ptp(raw)
    assert abs(np.mean(flat) - 0.002) < 0.001
    # too few cells with a standard error: unchanged
    two = np.array([0.01, -0.01])
    np.testing.assert_array_equal(shrink_trends(two, np.array([0.001, np.nan])), two)
