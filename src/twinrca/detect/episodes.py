"""Silent faults: sustained KPI anomalies (alarms lost by the EMS, a sleeping cell).

Silent faults (alarms lost by the EMS, a sleeping cell that never raises one) are
opened from sustained KPI anomalies (:func:`group_anomalies`): per element, the
anomalous reporting periods chain into episodes (a gap of more than ``quiet_periods``
normal periods ends one); an episode with at least ``min_periods`` consecutive anomalous
periods is sustained; sustained episodes not covered by an alarm group are clustered by
time overlap and topology (same element, upstream/downstream, a shared non-core element
within ``max_up`` hops, neighbour cells; any shared upstream element, a core node too,
when they began in the same period) into groups of trigger ``"kpi"`` with no rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twinrca.core.topology import Topology
from twinrca.detect.grouping import AlarmGroup, _anchors

__all__ = [
    "COLLAPSE_SHARE",
    "KPI_DEGRADATION",
    "VOLUME_KPIS",
    "AnomalyEpisode",
    "Coverage",
    "anomaly_episodes",
    "degradations",
    "group_anomalies",
    "reporting_period",
]

#: quality KPIs and the direction in which they degrade (-1: down is bad). Volume KPIs
#: (throughput, PRB and link utilisation) follow demand and move with every load shift
#: (neighbours absorbing a failed cell's users, a busy hour): they open an incident only
#: when they collapse (see :func:`degradations`), and are evidence either way. Radio
#: link levels (received level, modulation) fade with the weather: evidence only; a
#: fade that hurts shows as loss or latency.
KPI_DEGRADATION: dict[str, int] = {
    "availability": -1,
    "coverage": -1,
    "rrc_setup_sr": -1,
    "erab_setup_sr": -1,
    "ho_sr": -1,
    "drop_rate": 1,
    "latency_ms": 1,
    "loss_pct": 1,
    "battery_soc": -1,
    "cabinet_temp": 1,
    "cpu_load": 1,
    "memory_util": 1,
}
#: volume KPIs (non-negative, following demand)
VOLUME_KPIS = frozenset(
    {"dl_throughput_mbps", "ul_throughput_mbps", "prb_utilisation", "link_utilisation"}
)
#: a volume KPI below this share of its expected value has collapsed (a sleeping cell)
COLLAPSE_SHARE = 0.2


def degradations(anomalies: pd.DataFrame) -> pd.DataFrame:
    """The anomalies that are a degradation: a quality KPI moving in its bad direction,
    or a volume KPI collapsing below :data:`COLLAPSE_SHARE` of its expected value."""
    if anomalies.empty:
        return anomalies
    bad = anomalies["measurement"].map(KPI_DEGRADATION)
    quality = bad.notna() & (np.sign(anomalies["z"]) == bad)
    collapse = (
        anomalies["measurement"].isin(VOLUME_KPIS)
        & (anomalies["z"] < 0)
        & (anomalies["expected"] > 0)
        & (anomalies["value"] < COLLAPSE_SHARE * anomalies["expected"])
    )
    return anomalies[(quality | collapse).to_numpy()]


@dataclass(frozen=True, slots=True)
class AnomalyEpisode:
    """Anomalous periods of one element chained by gaps of at most ``quiet_periods``;
    ``longest_run``: most consecutive anomalous periods; ``sustained_at``: the end of
    the period that made the first run ``min_periods`` long (None: never)."""

    element: str
    start: pd.Timestamp
    end: pd.Timestamp
    periods: int
    longest_run: int
    sustained_at: pd.Timestamp | None


@dataclass(frozen=True, slots=True)
class Coverage:
    """An alarm group's reach: its scope elements from ``start`` to ``end``."""

    elements: frozenset[str]
    start: pd.Timestamp
    end: pd.Timestamp


def reporting_period(times: pd.Series, default: pd.Timedelta | None = None) -> pd.Timedelta:
    """The KPI reporting period: the most common step between distinct period ends."""
    fallback = default if default is not None else pd.Timedelta(minutes=15)
    t = pd.Series(pd.to_datetime(times, utc=True).unique()).sort_values()
    steps = t.diff().dropna()
    steps = steps[steps > pd.Timedelta(0)]
    return steps.mode().iloc[0] if len(steps) else fallback


def anomaly_episodes(
    anomalies: pd.DataFrame,
    *,
    period: pd.Timedelta,
    min_periods: int = 3,
    quiet_periods: int = 4,
) -> list[AnomalyEpisode]:
    """Per element, its anomalous periods (any KPI) chained into episodes."""
    if anomalies.empty:
        return []
    frame = pd.DataFrame(
        {
            "el": anomalies["managed_object"].astype(str).to_numpy(),
            "t": pd.to_datetime(anomalies["period_end"], utc=True).dt.tz_convert(None).to_numpy(),
        }
    ).drop_duplicates()
    frame = frame.sort_values(["el", "t"], kind="stable")
    per = period.to_timedelta64()
    out = []
    for el, part in frame.groupby("el", sort=True):
        t = part["t"].to_numpy()
        gaps = np.diff(t)
        # a new episode after more than quiet_periods normal periods
        cuts = np.flatnonzero(gaps > per * quiet_periods) + 1
        for seg in np.split(np.arange(len(t)), cuts):
            out.append(_episode(str(el), t[seg], per, min_periods))
    return out


def _episode(el: str, t: np.ndarray, per: np.timedelta64, min_periods: int) -> AnomalyEpisode:
    run = best = 1
    sustained_at = t[0] if min_periods <= 1 else None
    for i in range(1, len(t)):
        run = run + 1 if t[i] - t[i - 1] <= per * 1.5 else 1
        best = max(best, run)
        if sustained_at is None and run >= min_periods:
            sustained_at = t[i]
    return AnomalyEpisode(
        element=el,
        start=pd.Timestamp(t[0], tz="UTC"),
        end=pd.Timestamp(t[-1], tz="UTC"),
        periods=len(t),
        longest_run=best,
        sustained_at=None if sustained_at is None else pd.Timestamp(sustained_at, tz="UTC"),
    )


def group_anomalies(
    anomalies: pd.DataFrame,
    topology: Topology,
    *,
    period: pd.Timedelta,
    min_periods: int = 3,
    quiet_periods: int = 4,
    covered: Sequence[Coverage] = (),
    max_up: int = 2,
    first_group_id: int = 0,
) -> tuple[list[AlarmGroup], dict[int, list[AnomalyEpisode]]]:
    """KPI-triggered groups of the sustained anomaly episodes no alarm group covers, and
    each group's episodes (by group id). An episode is covered when an alarm group's
    scope holds its element, the group had not ended before the episode began, and the
    group began no later than ``min_periods`` after it (before the episode could have
    opened an incident of its own)."""
    known = set(topology.ids())
    episodes = [
        e
        for e in anomaly_episodes(
            anomalies, period=period, min_periods=min_periods, quiet_periods=quiet_periods
        )
        if e.sustained_at is not None and e.element in known
    ]
    grace = period * min_periods
    episodes = [e for e in episodes if not _is_covered(e, covered, grace)]
    episodes.sort(key=lambda e: (e.start, e.element))
    slack = period * quiet_periods
    far = {e.element: _anchors(topology, e.element, max_up) for e in episodes}
    parent = list(range(len(episodes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(episodes):
        for j in range(i + 1, len(episodes)):
            b = episodes[j]
            if b.start > a.end + slack:
                break  # sorted by start: no later episode overlaps a
            together = abs(b.start - a.start) <= period  # one onset: a common cause
            if _kpi_related(topology, a.element, b.element, far, anywhere=together):
                parent[find(j)] = find(i)
    clusters: dict[int, list[AnomalyEpisode]] = {}
    for i, e in enumerate(episodes):
        clusters.setdefault(find(i), []).append(e)
    groups, members = [], {}
    ordered = sorted(clusters.values(), key=lambda c: min((e.start, e.element) for e in c))
    for k, eps in enumerate(ordered):
        gid = first_group_id + k
        groups.append(_kpi_group(gid, eps, topology))
        members[gid] = eps
    return groups, members


def _is_covered(e: AnomalyEpisode, covered: Sequence[Coverage], grace: pd.Timedelta) -> bool:
    return any(
        e.element in c.elements and c.end >= e.start and c.start <= e.start + grace for c in covered
    )


def _kpi_related(
    topology: Topology, a: str, b: str, far: dict[str, frozenset[str]], *, anywhere: bool
) -> bool:
    """Same element, upstream/downstream, neighbours, or a shared non-core element
    within ``max_up`` hops; with ``anywhere`` (the same onset), any shared upstream
    element, a core node too (a core fault degrades sites behind many links at once)."""
    up_a, up_b = topology.ancestors(a), topology.ancestors(b)
    if a == b or a in up_b or b in up_a or b in topology.neighbours(a):
        return True
    if anywhere and up_a & up_b:
        return True
    return bool((far[a] - {a}) & (far[b] - {b}))


def _kpi_group(gid: int, eps: list[AnomalyEpisode], topology: Topology) -> AlarmGroup:
    first = min(eps, key=lambda e: (e.sustained_at, e.element))
    elements = sorted({e.element for e in eps})
    root = topology.shared_upstream(elements)
    return AlarmGroup(
        group_id=gid,
        start=min(e.start for e in eps).to_pydatetime(),
        end=max(e.end for e in eps).to_pydatetime(),
        rows=(),
        elements=tuple(elements),
        root_element=root,
        trigger="kpi",
        anchor=first.element,
        anchor_start=first.start.to_pydatetime(),
    )
