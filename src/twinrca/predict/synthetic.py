"""Small generated data sets with a known answer, for tests and benchmarks.

- :func:`incident_tables`: a fault-severity table in the shape users bring (label table
  ``id, location, fault_severity`` + long tables ``event_type``, ``log_feature`` with a
  ``volume``, ``resource_type``, ``severity_type``); the severity depends on the tables in
  a known way (some events, the volume of some log features, the location, and the
  position of the id in its location's time order).
- :func:`precursor_streams`: KPI series of cells under sites with a daily profile, and
  faults announced by a precursor (a drift of one KPI and warning alarms, like a battery
  draining or a memory leak) that starts 30 min to 4 h before the fault; decoy drifts
  that stop half-way and recover (no fault follows) keep the task honest.
  The benchmark uses it beside the twin's scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twinrca.core.topology import Element, ElementKind, Topology

__all__ = ["PrecursorData", "incident_tables", "precursor_streams"]


def _sample_ids(rng: np.random.Generator, n: int, lam: float, lo: int, hi: int) -> np.ndarray:
    return np.clip(rng.poisson(lam, n) + lo, lo, hi)


def incident_tables(
    n_ids: int = 1500, *, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Telstra-shaped labels + long tables whose target depends on them in a known way."""
    rng = np.random.default_rng(seed)
    n_loc = max(n_ids // 8, 5)
    ids = rng.permutation(np.arange(1, n_ids + 1) * 3)
    loc = rng.integers(1, n_loc + 1, n_ids)
    loc_effect = rng.normal(0, 0.6, n_loc + 1)
    when = rng.random(n_ids)  # hidden time: risk rises late in each location's history
    risk = loc_effect[loc] + 1.2 * (when > 0.7)

    ev_rows, ev_effect = [], rng.normal(0, 1.0, 31) * (rng.random(31) < 0.3)
    for i, k in enumerate(_sample_ids(rng, n_ids, 1.0, 1, 5)):
        types = rng.choice(np.arange(1, 31), size=k, replace=False)
        risk[i] += ev_effect[types].sum()
        ev_rows += [(ids[i], f"event_type {t}") for t in types]
    lf_rows, lf_weight = [], np.where(rng.random(101) < 0.1, 0.15, 0.0)
    for i, k in enumerate(_sample_ids(rng, n_ids, 2.0, 1, 8)):
        feats = rng.choice(np.arange(1, 101), size=k, replace=False)
        vols = rng.geometric(0.3, size=k)
        risk[i] += float((lf_weight[feats] * vols).sum())
        lf_rows += [(ids[i], f"feature {f}", int(v)) for f, v in zip(feats, vols, strict=True)]
    res_rows = [
        (ids[i], f"resource_type {r}")
        for i, k in enumerate(_sample_ids(rng, n_ids, 0.3, 1, 3))
        for r in rng.choice(np.arange(1, 9), size=k, replace=False)
    ]
    sev = rng.integers(1, 6, n_ids)
    risk += 0.5 * (sev == 2)
    order = np.lexsort((when, loc))  # the severity file is sorted by location then time
    sev_tab = pd.DataFrame(
        {"id": ids[order], "severity_type": [f"severity_type {s}" for s in sev[order]]}
    )

    noisy = risk + rng.logistic(0, 0.3, n_ids)
    cut = np.quantile(noisy, [0.62, 0.88])
    target = np.digitize(noisy, cut)
    labels = pd.DataFrame(
        {"id": ids, "location": [f"location {v}" for v in loc], "fault_severity": target}
    )
    tables = {
        "event_type": pd.DataFrame(ev_rows, columns=["id", "event_type"]),
        "log_feature": pd.DataFrame(lf_rows, columns=["id", "log_feature", "volume"]),
        "resource_type": pd.DataFrame(res_rows, columns=["id", "resource_type"]),
        "severity_type": sev_tab,
    }
    return labels, tables


@dataclass(frozen=True, slots=True)
class PrecursorData:
    """KPI rows (``time, element`` + KPI columns), alarms (``time, element, alarm``),
    faults (``element, start, end, mode``) and the topology they live on."""

    kpis: pd.DataFrame
    alarms: pd.DataFrame
    faults: pd.DataFrame
    topology: Topology
    period_min: int


_MODES = {
    # mode: (kpi that drifts, direction, alarm raised during the precursor)
    "FM-HW-MEMLEAK": ("cpu_load", 1.0, "HIGH_MEMORY"),
    "FM-PWR-BATTERY": ("battery_v", -1.0, "MAINS_FAILURE"),
    "FM-TX-FADING": ("rsl_margin", -1.0, "RX_LEVEL_LOW"),
}
_KPIS = {
    "prb_util": (45.0, 20.0, 6.0),
    "cpu_load": (35.0, 10.0, 4.0),
    "battery_v": (53.0, 0.0, 0.4),
    "rsl_margin": (18.0, 0.0, 1.5),
    "drop_rate": (0.6, 0.3, 0.25),
}


def _topology(n_sites: int, cells_per_site: int) -> Topology:
    els = [Element("core1", ElementKind.CORE)]
    feeds, nbs = [], []
    for s in range(n_sites):
        tx, site = f"tx{s}", f"site{s}"
        els += [Element(tx, ElementKind.TRANSPORT), Element(site, ElementKind.SITE)]
        feeds += [("core1", tx), (tx, site)]
        cells = [f"cell{s}_{c}" for c in range(cells_per_site)]
        els += [Element(c, ElementKind.CELL) for c in cells]
        feeds += [(site, c) for c in cells]
        nbs += [(cells[i], cells[i + 1]) for i in range(len(cells) - 1)]
        if s:
            nbs.append((cells[0], f"cell{s - 1}_0"))
    return Topology(els, feeds, nbs)


def precursor_streams(
    *,
    n_sites: int = 10,
    cells_per_site: int = 3,
    days: float = 7.0,
    period_min: int = 5,
    faults_per_cell_day: float = 0.5,
    decoy_ratio: float = 0.5,
    seed: int = 0,
) -> PrecursorData:
    """Cell KPI series with announced faults and unannounced decoy drifts."""
    rng = np.random.default_rng(seed)
    topo = _topology(n_sites, cells_per_site)
    cells = topo.ids(ElementKind.CELL)
    n_t = int(days * 24 * 60 / period_min)
    times = pd.date_range("2025-01-06", periods=n_t, freq=f"{period_min}min", tz="UTC")
    hour = (times.hour + times.minute / 60.0).to_numpy()
    daily = np.sin((hour - 8.0) / 24.0 * 2 * np.pi)
    site_of = {c: topo.parents(c)[0] for c in cells}
    site_noise = {s: rng.normal(0, 1, n_t) for s in set(site_of.values())}
    frames: list[pd.DataFrame] = []
    alarms: list[tuple[object, str, str]] = []
    faults: list[tuple[str, object, object, str]] = []
    for cell in cells:
        data = {
            k: m + a * daily + sd * (0.7 * rng.normal(0, 1, n_t) + 0.3 * site_noise[site_of[cell]])
            for k, (m, a, sd) in _KPIS.items()
        }
        n_events = rng.poisson(faults_per_cell_day * days * (1 + decoy_ratio))
        busy = np.zeros(n_t, dtype=bool)
        for _ in range(n_events):
            _inject(rng, cell, data, busy, times, period_min, decoy_ratio, alarms, faults)
        frame = pd.DataFrame(data)
        frame.insert(0, "element", cell)
        frame.insert(0, "time", times)
        frames.append(frame)
    kpis = pd.concat(frames, ignore_index=True)
    return PrecursorData(
        kpis=kpis,
        alarms=pd.DataFrame(alarms, columns=["time", "element", "alarm"]),
        faults=pd.DataFrame(faults, columns=["element", "start", "end", "mode"]).sort_values(
            "start"
        ),
        topology=topo,
        period_min=period_min,
    )


def _inject(
    rng: np.random.Generator,
    cell: str,
    data: dict[str, np.ndarray],
    busy: np.ndarray,
    times: pd.DatetimeIndex,
    period_min: int,
    decoy_ratio: float,
    alarms: list[tuple[object, str, str]],
    faults: list[tuple[str, object, object, str]],
) -> None:
    n_t = len(times)
    lead = int(rng.uniform(30, 240) / period_min)
    dur = int(rng.uniform(15, 60) / period_min)
    start = int(rng.integers(lead + 1, n_t - dur - 1))
    lo, hi = start - lead, start + dur
    if busy[max(lo - 12, 0) : hi + 12].any():
        return
    busy[lo:hi] = True
    mode = str(rng.choice(list(_MODES)))
    kpi, sign, alarm = _MODES[mode]
    depth = rng.uniform(3.0, 6.0) * _KPIS[kpi][2]
    ramp = np.linspace(0.0, 1.0, lead) ** rng.uniform(1.0, 2.0)
    decoy = rng.random() < decoy_ratio / (1 + decoy_ratio)
    stop = int(lead * rng.uniform(0.3, 0.7)) if decoy else lead
    shape = ramp.copy()
    if decoy:  # the drift stops and recovers: no fault follows
        shape[stop:] = ramp[stop] * np.exp(-np.arange(lead - stop) / 3.0)
    data[kpi][lo:start] += sign * depth * shape
    for j in range(lo, lo + stop):
        if rng.random() < 0.3 * ramp[j - lo]:
            alarms.append((times[j], cell, alarm))
    if decoy:
        return
    data[kpi][start:hi] += sign * depth
    data["drop_rate"][start:hi] += rng.uniform(3.0, 8.0)
    data["prb_util"][start:hi] *= 0.3
    faults.append((cell, times[start], times[hi], mode))
