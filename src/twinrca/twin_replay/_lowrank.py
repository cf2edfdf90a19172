"""Demand shapes shared across cells: a low-rank fit of the per-cell slot profiles.

Every cell's daily/weekly demand shape (log offered traffic per weekday class and slot of
day, detrended) is a mix of a few shapes the whole network shares (business, residential,
their shifted versions): the ``[cell, class x slot]`` matrix of slot means is of low rank
plus noise. :func:`shared_shapes` whitens it by the noise of its entries (each cell's
within-slot spread over days, each column's share of it, the days behind it) and
truncates its singular value decomposition at a rank chosen by cross-validation over
the days (two folds of alternate days: the rank whose truncation of one fold's means
best predicts the other's; the noise of a slot mean is correlated over neighbouring
slots, so a white-noise threshold would keep too many directions). A cell's few
weekend days then borrow strength from every other cell's.

:func:`shrink_trends` is the trend's counterpart: per-cell log growth rates are noisy
over a fit window of a week or two, and extrapolated over the held-out days; each is
shrunk towards the network's mean rate by the empirical-Bayes factor
``tau^2 / (tau^2 + se^2)`` (``tau^2``: the spread of the true rates, estimated as the
spread of the fitted ones less their mean squared standard error).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["shared_shapes", "shrink_trends", "slot_stats"]


def slot_stats(
    detr: np.ndarray, slot: np.ndarray, wclass: np.ndarray, per_day: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, sample variance and count ``[C, 2 * per_day]`` of ``detr`` per weekday class
    and slot (NaN where no sample)."""
    n_c = detr.shape[0]
    mean = np.full((n_c, 2 * per_day), np.nan)
    var = np.full((n_c, 2 * per_day), np.nan)
    count = np.zeros((n_c, 2 * per_day))
    ok = np.isfinite(detr)
    col = wclass * per_day + slot
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for j in np.unique(col):
            sel = col == j
            x = detr[:, sel]
            n = ok[:, sel].sum(1)
            count[:, j] = n
            mean[:, j] = np.where(n > 0, np.nanmean(x, axis=1), np.nan)
            var[:, j] = np.where(n > 1, np.nanvar(x, axis=1, ddof=1), np.nan)
    return mean, var, count


def _entry_noise(var: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column noise scales whose product is the sd of each slot mean."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cell = np.nanmedian(var, axis=1)  # a cell's within-slot variance
        glob = np.nanmedian(var)
        cell = np.where(np.isfinite(cell) & (cell > 0), cell, glob if np.isfinite(glob) else 1.0)
        rel = np.nanmedian(var / cell[:, None], axis=0)  # a column's share of it
        rel = np.where(np.isfinite(rel) & (rel > 0), rel, 1.0)
        n = np.nanmedian(np.where(count > 0, count, np.nan), axis=0)
    n = np.where(np.isfinite(n) & (n > 0), n, 1.0)
    return np.sqrt(cell), np.sqrt(rel / n)


def _filled(mean: np.ndarray) -> np.ndarray:
    """Slot means with missing entries filled from the other weekday class at the same
    slot, then by the column mean (then 0)."""
    half = mean.shape[1] // 2
    swapped = np.concatenate([mean[:, half:], mean[:, :half]], axis=1)
    m = np.where(np.isfinite(mean), mean, swapped)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        colmean = np.nanmean(m, axis=0)
    return np.where(np.isfinite(m), m, np.nan_to_num(colmean)[None, :])


def _truncated(w: np.ndarray, rank: int) -> np.ndarray:
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    return (u[:, :rank] * s[:rank]) @ vt[:rank]


def _rank(folds: list[np.ndarray], row: np.ndarray, col: np.ndarray, most: int) -> int:
    """The rank whose truncation of one fold's (whitened) slot means best predicts the
    other fold's, both ways: the noise of the two folds is independent, so the error
    is the truncation's distance to the true shapes plus a constant."""
    a, b = (f / row[:, None] / col[None, :] for f in folds)
    ua, sa, va = np.linalg.svd(a, full_matrices=False)
    ub, sb, vb = np.linalg.svd(b, full_matrices=False)
    best, best_err = 1, math.inf
    fa, fb = np.zeros_like(a), np.zeros_like(b)
    for r in range(1, most + 1):
        fa += np.outer(ua[:, r - 1] * sa[r - 1], va[r - 1])
        fb += np.outer(ub[:, r - 1] * sb[r - 1], vb[r - 1])
        err = float(np.sum((fa - b) ** 2) + np.sum((fb - a) ** 2))
        if err < best_err:
            best, best_err = r, err
    return best


def shared_shapes(
    detr: np.ndarray, slot: np.ndarray, wclass: np.ndarray, day: np.ndarray, per_day: int
) -> np.ndarray:
    """Slot means ``[C, 2 * per_day]`` of ``detr`` as a low-rank matrix: whitened by the
    noise of its entries, truncated at the rank chosen by a two-fold split of the days
    (alternate days of each weekday class), un-whitened. Fewer than three cells or too
    few days to split: the cells' own means (missing entries filled)."""
    mean, var, count = slot_stats(detr, slot, wclass, per_day)
    m = _filled(mean)
    days = np.unique(day)
    if m.shape[0] < 3 or len(days) < 4:
        return m
    row, col = _entry_noise(var, count)
    fold = np.zeros(len(day), dtype=np.int64)
    for k in (0, 1):
        mine = np.unique(day[wclass == k])
        odd = set(mine[1::2].tolist())
        fold[(wclass == k) & np.isin(day, list(odd))] = 1
    folds = [
        _filled(slot_stats(np.where(fold[None, :] == f, detr, np.nan), slot, wclass, per_day)[0])
        for f in (0, 1)
    ]
    rank = _rank(folds, row, col, min(20, *m.shape))
    w = m / row[:, None] / col[None, :]
    return _truncated(w, rank) * row[:, None] * col[None, :]


def shrink_trends(slope: np.ndarray, se: np.ndarray) -> np.ndarray:
    """Per-cell trends shrunk towards their precision-weighted mean (empirical Bayes);
    cells without a standard error (too few days) and networks of one cell unchanged."""
    ok = np.isfinite(slope) & np.isfinite(se) & (se > 0)
    if ok.sum() < 3:
        return slope
    w = 1.0 / se[ok] ** 2
    centre = float(np.sum(w * slope[ok]) / np.sum(w))
    tau2 = max(float(np.mean((slope[ok] - centre) ** 2) - np.mean(se[ok] ** 2)), 0.0)
    factor = np.where(ok, tau2 / (tau2 + np.where(ok, se, 1.0) ** 2), 1.0)
    return np.where(ok, centre + factor * (slope - centre), slope)
