"""Labels "a fault starts on this element within horizon H", and time-based splits.

For a row at time ``t`` with gap ``g`` and horizon ``H`` the label is 1 when a fault starts
on the element in ``(t + g, t + g + H]``. Rows are left out (``valid == False``) when a
fault is active at ``t`` (nothing to predict, and its symptoms are in the features) or
starts in ``(t, t + g]`` (too close to call: a sample stamped ``t`` may already hold it).
A row whose window ``(t + g, t + g + H]`` runs past the end of the data (``until``, default
the last row's time) and holds no fault within the data is censored: left out as well,
not counted as a negative (a fault may start after the data ends). ``lead_min`` is the
time from ``t`` to that fault's start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twinrca.core.errors import ValidationError

__all__ = ["Labels", "make_labels", "time_split"]


@dataclass(frozen=True, slots=True)
class Labels:
    """Aligned with the feature rows: ``y`` (0/1), ``valid``, ``lead_min`` (NaN when
    negative), ``mode`` of the coming fault ("" when none) and ``fault_id`` (-1 when none)."""

    y: np.ndarray
    valid: np.ndarray
    lead_min: np.ndarray
    mode: np.ndarray
    fault_id: np.ndarray


def _ns(values: pd.Series) -> np.ndarray:
    """UTC nanoseconds since the epoch."""
    t = pd.to_datetime(values, utc=True)
    return (t - pd.Timestamp(0, tz="UTC")).to_numpy().astype("timedelta64[ns]").astype(np.int64)


def make_labels(
    rows: pd.DataFrame,
    faults: pd.DataFrame,
    *,
    horizon_min: float,
    gap_min: float,
    until: pd.Timestamp | None = None,
) -> Labels:
    """Labels for ``rows`` (``time``, ``element``) from ``faults`` (``element, start, end``
    and optionally ``mode`` and ``incident``: the id ``fault_id`` reports, default the
    row number); negatives whose window passes ``until`` (default: the last row's time)
    are censored (``valid`` False)."""
    for col in ("element", "start", "end"):
        if col not in faults.columns:
            raise ValidationError("missing_column", f"fault table needs a {col!r} column")
    n = len(rows)
    y = np.zeros(n, dtype=np.int8)
    valid = np.ones(n, dtype=bool)
    lead = np.full(n, np.nan)
    mode = np.full(n, "", dtype=object)
    fid = np.full(n, -1, dtype=np.int64)
    t_all = _ns(rows["time"])
    by_el = pd.Series(np.arange(n)).groupby(rows["element"].astype(str).to_numpy())
    minute = 60_000_000_000
    f = faults.reset_index(drop=True)
    starts = _ns(f["start"])
    ends = _ns(f["end"])
    modes = f["mode"].astype(str).to_numpy() if "mode" in f.columns else np.full(len(f), "fault")
    # rows of one incident (a cell outage seen on the cell and on what feeds it) share an id
    inc = f["incident"].to_numpy(np.int64) if "incident" in f.columns else np.arange(len(f))
    groups = dict(list(by_el))
    for el, fidx in pd.Series(np.arange(len(f))).groupby(f["element"].astype(str).to_numpy()):
        idx = groups.get(el)
        if idx is None:
            continue
        ridx = idx.to_numpy()
        t = t_all[ridx]
        for k in fidx.to_numpy()[np.argsort(starts[fidx.to_numpy()])[::-1]]:
            s, e = starts[k], ends[k]
            valid[ridx[(t >= s) & (t < e)]] = False
            valid[ridx[(t < s) & (t >= s - gap_min * minute)]] = False
            pos = (t < s - gap_min * minute) & (t >= s - (gap_min + horizon_min) * minute)
            hit = ridx[pos]  # later faults first, so the earliest coming fault wins
            y[hit] = 1
            lead[hit] = (s - t[pos]) / minute
            mode[hit] = modes[k]
            fid[hit] = inc[k]
    if n:
        end = int(_ns(pd.Series([until]))[0]) if until is not None else int(t_all.max())
        censored = t_all + int((gap_min + horizon_min) * minute) > end
        valid[censored & (y == 0)] = False
    return Labels(y, valid, lead, mode, fid)


def time_split(
    times: pd.Series, fractions: Sequence[float], *, embargo_min: float
) -> list[np.ndarray]:
    """Boolean masks of consecutive time slices (fractions of the span, summing to 1);
    the last ``embargo_min`` of each slice but the last are dropped, so no label window of one
    slice reaches into the next (purged at the end of each earlier slice)."""
    t = pd.to_datetime(times, utc=True)
    t0, t1 = t.min(), t.max()
    edges = [t0 + (t1 - t0) * float(c) for c in np.cumsum([0.0, *fractions])]
    emb = pd.Timedelta(minutes=embargo_min)
    masks = []
    for i in range(len(fractions)):
        lo, hi = edges[i], edges[i + 1]
        if i == len(fractions) - 1:
            masks.append(((t >= lo) & (t <= hi)).to_numpy())
        else:
            masks.append(((t >= lo) & (t < hi - emb)).to_numpy())
    return masks
