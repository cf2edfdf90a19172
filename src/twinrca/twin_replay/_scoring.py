"""Comparing a replay with an observation: alarm sets, KPI cubes, errors, chosen series.

Helpers of :mod:`twinrca.twin_replay.verify` (see its docstring for the formulas).
KPI cubes are float arrays ``[element, step, kpi]`` over the focus elements and
:data:`KPIS`, NaN where there is no sample or the KPI does not apply.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twinrca.twin_replay.observe import Window
from twinrca.twin_replay.simulate import KPI_NAMES, SimResult

__all__ = ["FLOORS", "KPIS", "KpiContext", "alarm_spans", "f1", "simulated_alarms"]

# floor of the error scale per KPI, in the KPI's unit (throughput: share of its mean)
FLOORS: dict[str, float] = {
    "availability": 5.0,
    "dl_throughput_mbps": 0.05,
    "prb_utilisation": 5.0,
    "rrc_setup_sr": 1.0,
    "erab_setup_sr": 1.0,
    "drop_rate": 0.2,
    "ho_sr": 1.0,
    "coverage": 2.0,
    "link_utilisation": 5.0,
    "latency_ms": 2.0,
    "loss_pct": 0.2,
    "cpu_load": 5.0,
}
# in the order the dashboard prefers when departures tie
KPIS: tuple[str, ...] = tuple(FLOORS)
_K_IDX = [KPI_NAMES.index(k) for k in KPIS]
_THR = KPIS.index("dl_throughput_mbps")

Key = tuple[str, str]


def _span(g: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp) -> tuple | None:
    """(effective raise time, first clear after it or None) of one identity, if active."""
    up = None
    for t, state in zip(g["event_time"], g["state"], strict=True):
        if t >= hi:
            break
        if state != "cleared":
            up = t if up is None else up
        elif up is not None and t < lo:
            up = None  # cleared before the window
        elif up is not None:
            return up, t
    return None if up is None else (up, None)


def alarm_spans(alarms: pd.DataFrame, grid: Window) -> dict[Key, tuple[int, int | None]]:
    """``(element, cause|problem) -> (raise step, clear step or None)`` of the alarms
    active at some time of the window (steps may be negative: raised before it)."""
    out: dict[Key, tuple[int, int | None]] = {}
    if alarms.empty:
        return out
    lo, hi = pd.Timestamp(grid.start), pd.Timestamp(grid.end)
    frame = alarms.sort_values("event_time", kind="stable")
    cols = ["managed_object", "probable_cause", "specific_problem"]
    for (el, pc, sp), g in frame.groupby(cols, sort=False):
        span = _span(g, lo, hi)
        if span is None:
            continue
        steps = grid.step_of(pd.Series([span[0], span[1] or span[0]]))
        out[(str(el), f"{pc}|{sp}")] = (int(steps[0]), None if span[1] is None else int(steps[1]))
    return out


def simulated_alarms(result: SimResult) -> dict[int, set[Key]]:
    """Per scenario, the ``(element, cause|problem)`` set of the run's alarms."""
    out: dict[int, set[Key]] = {}
    t = result.alarms
    sigs = t["probable_cause"].astype(str) + "|" + t["specific_problem"].astype(str)
    for s, el, sig in zip(t["scenario"], t["element_id"], sigs, strict=True):
        out.setdefault(int(s), set()).add((str(el), sig))
    return out


def f1(observed: set[Key], simulated: set[Key]) -> tuple[float, float, float]:
    """Precision, recall and F1 of the simulated set against the observed one."""
    if not observed and not simulated:
        return 1.0, 1.0, 1.0
    tp = len(observed & simulated)
    p = tp / len(simulated) if simulated else 0.0
    r = tp / len(observed) if observed else 0.0
    return p, r, 2 * tp / (len(observed) + len(simulated))


def _positions(column: pd.Series, names: list[str]) -> np.ndarray:
    """Position of each value in ``names`` (-1 if absent), via the column's few uniques."""
    codes, uniques = pd.factorize(column)
    pos = {n: i for i, n in enumerate(names)}
    lookup = np.array([pos.get(str(u), -1) for u in uniques] + [-1], dtype=np.int64)
    return lookup[codes]


def observed_cube(kpis: pd.DataFrame, grid: Window, focus: list[str]) -> np.ndarray:
    cube = np.full((len(focus), grid.steps, len(KPIS)), np.nan)
    if kpis.empty or not focus:
        return cube
    e = _positions(kpis["managed_object"], focus)
    k = _positions(kpis["measurement"], list(KPIS))
    t = grid.period_index(kpis["period_end"])
    ok = (e >= 0) & (k >= 0) & (t >= 0) & (t < grid.steps)
    cube[e[ok], t[ok], k[ok]] = kpis["value"].to_numpy(dtype=np.float64)[ok]
    return cube


def sim_cube(result: SimResult, block: range, focus: list[str], *, mean: bool = True):
    """``[E, T, K]`` scenario mean over ``block`` (or ``[R, E, T, K]`` with ``mean=False``)."""
    assert result.kpis is not None  # verification always runs with full=True
    pos = {e: i for i, e in enumerate(result.element_ids)}
    rows = (
        result.kpis[block.start : block.stop]  # a view: scenario blocks are contiguous
        if block.step == 1
        else result.kpis[list(block)]
    )
    reps = rows[:, np.array([pos[e] for e in focus], dtype=np.int64)]
    if mean:
        return reps.mean(axis=0, dtype=np.float64)[..., _K_IDX]
    return reps[..., _K_IDX].astype(np.float64)


@dataclass(frozen=True, slots=True)
class KpiContext:
    """The observed cube, the no-fault reference and the error scales."""

    focus: list[str]
    observed: np.ndarray  # [E, T, K]
    baseline: np.ndarray  # [E, T, K] scenario mean
    scale: np.ndarray  # [E, K]

    @classmethod
    def build(cls, focus: list[str], observed: np.ndarray, reps: np.ndarray) -> KpiContext:
        base = reps.mean(axis=0)
        floors = np.array([FLOORS[k] for k in KPIS])[None, :].repeat(len(focus), axis=0)
        with _quiet():
            noise = np.nanmean(reps.std(axis=0), axis=1) if len(reps) > 1 else 0.0 * floors
            thr = np.nanmean(base[:, :, _THR], axis=1)
        floors[:, _THR] = np.maximum(1.0, FLOORS["dl_throughput_mbps"] * np.nan_to_num(thr))
        return cls(focus, observed, base, np.sqrt(floors**2 + np.nan_to_num(noise) ** 2))

    def error(self, simulated: np.ndarray) -> float:
        """Mean absolute observed-vs-simulated difference in scale units (NaN: no data)."""
        d = np.abs(self.observed - simulated) / self.scale[:, None, :]
        ok = np.isfinite(d)
        return float(d[ok].mean()) if ok.any() else float("nan")

    def onset(self, threshold: float = 4.0) -> int:
        """First step where some observed KPI leaves the no-fault replay (0 if none)."""
        z = np.abs(self.observed - self.baseline) / self.scale[:, None, :]
        z = np.where(np.isfinite(z), z, 0.0).max(axis=(0, 2)) if z.size else z
        hit = np.flatnonzero(z > threshold)
        return int(hit[0]) if len(hit) else 0

    def pairs(self, elements: int = 2, per_element: int = 2) -> list[tuple[int, int]]:
        """``(element, kpi)`` indices of the largest observed departures from normal."""
        if not self.focus:
            return []
        with _quiet():
            size = np.maximum(np.nanmean(np.abs(self.baseline), axis=1), self.scale)
            d = np.abs(self.observed - self.baseline) / size[:, None, :]
            dev = np.round(np.nan_to_num(np.nanmean(d, axis=1)), 1)  # [E, K], relative
        out = []
        for e in np.argsort(-dev.max(axis=1), kind="stable")[:elements]:
            out += [(int(e), int(k)) for k in np.argsort(-dev[e], kind="stable")[:per_element]]
        return out

    def series(self, cube: np.ndarray, pairs: list[tuple[int, int]]) -> dict[str, list]:
        return {
            f"{self.focus[e]}/{KPIS[k]}": [
                None if not np.isfinite(v) else round(float(v), 4) for v in cube[e, :, k]
            ]
            for e, k in pairs
        }


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence NumPy's all-NaN-slice warnings (all-NaN rows are expected: gaps)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
