"""From stored alarms and KPIs to detected incidents with their evidence.

Pure functions over DataFrames (the store's columns); the service and the demo call
them on what they read from the store, the benchmarks on twin runs.

Incidents are opened from alarm groups and, for silent faults (alarms lost, a sleeping
cell), from KPI anomalies sustained on :data:`KPI_MIN_PERIODS` consecutive reporting
periods on elements no alarm group covers (trigger ``"kpi"``, no alarms). A KPI incident
has ended once its elements have reported :data:`KPI_QUIET_PERIODS` periods with no
anomaly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twinrca.core.columns import ALARM_COLUMNS
from twinrca.core.topology import Topology
from twinrca.detect.baseline import SeasonalBaseline
from twinrca.detect.episodes import Coverage, degradations, group_anomalies, reporting_period
from twinrca.detect.grouping import AlarmGroup, candidate_elements, group_alarms

__all__ = [
    "KPI_MIN_PERIODS",
    "KPI_QUIET_PERIODS",
    "SILENT_MIN_SPAN",
    "DetectedIncident",
    "Detection",
    "IncidentEvidence",
    "alarm_reach",
    "clear_times",
    "detect_incidents",
    "detect_window",
]

log = logging.getLogger(__name__)
#: consecutive anomalous reporting periods that open a KPI-triggered incident
KPI_MIN_PERIODS = 3
#: normal reporting periods after which a KPI-triggered incident's anomaly has ended
KPI_QUIET_PERIODS = 4
#: KPIs a baseline fitted on the window itself needs before KPI-triggered incidents open
SILENT_MIN_SPAN = pd.Timedelta(days=2)
_NEVER = pd.Timestamp.max.tz_localize("UTC")
_ANOMALY_COLUMNS = [
    "managed_object",
    "measurement",
    "period_end",
    "value",
    "expected",
    "z",
    "direction",
]


@dataclass(frozen=True, slots=True)
class IncidentEvidence:
    """What was observed: the incident's alarms (``managed_object``, ``probable_cause``,
    ``specific_problem``, ``event_time``) and KPI anomalies (``managed_object``,
    ``measurement``, ``direction``), and the candidate elements to rank.
    ``kpis_until``: the end of the newest reporting period seen when the evidence was
    gathered (None: not known); while it is not after the first alarm, no KPI of the
    incident's time has arrived yet and the anomalies say nothing
    (:attr:`kpis_pending`). ``kpi_baseline``: False when the anomalies were scored
    against a baseline fitted on the short window itself (a service warming up): the
    fault is part of that fit, its KPIs look normal, and they say nothing either."""

    alarms: pd.DataFrame
    anomalies: pd.DataFrame
    candidates: tuple[str, ...]
    kpis_until: pd.Timestamp | None = None
    kpi_baseline: bool = True

    @property
    def kpis_pending(self) -> bool:
        """Whether the incident has no KPI evidence yet: the KPIs of the alarms' time have
        not arrived (a live incident judged on its first alarms, before the reporting
        period they fall in has closed), or no baseline to judge them against exists."""
        if self.alarms.empty:
            return False
        if not self.kpi_baseline:
            return True
        if self.kpis_until is None:
            return False
        first = pd.to_datetime(self.alarms["event_time"], utc=True).min()
        return bool(pd.Timestamp(self.kpis_until) <= first)


@dataclass(frozen=True, slots=True)
class DetectedIncident:
    """An alarm group (or a KPI-triggered group, with no alarms) with the evidence
    diagnosis needs. ``ended``: a KPI-triggered incident's anomaly has ended (every
    element reported ``KPI_QUIET_PERIODS`` normal periods since its last anomaly)."""

    group: AlarmGroup
    alarms: pd.DataFrame
    evidence: IncidentEvidence
    ended: bool = False

    @property
    def trigger(self) -> str:
        """``"alarms"`` or ``"kpi"``: what opened the incident."""
        return self.group.trigger


def detect_incidents(
    alarms: pd.DataFrame,
    topology: Topology,
    *,
    kpis: pd.DataFrame | None = None,
    anomalies: pd.DataFrame | None = None,
    baseline: SeasonalBaseline | None = None,
    z_threshold: float = 5.0,
    window_s: float = 1800.0,
    margin_s: float = 1800.0,
    silent: bool = True,
    covered: Sequence[Coverage] = (),
    kpi_min_periods: int = KPI_MIN_PERIODS,
    kpi_quiet_periods: int = KPI_QUIET_PERIODS,
    kpi_baseline: bool = True,
) -> list[DetectedIncident]:
    """Group ``alarms`` into incidents and attach the KPI anomalies of each incident's
    elements: ``anomalies`` when given, else ``kpis`` scored against ``baseline`` (fitted
    on ``kpis`` when not given). With ``silent``, also open KPI-triggered incidents for
    the sustained anomalies no alarm group covers (after the alarm incidents);
    ``covered``: the reach of alarm incidents opened before the window (still open);
    ``kpi_baseline``: False when ``baseline`` is a fit on this short window itself (the
    alarm incidents' KPI evidence is then unknown, :attr:`IncidentEvidence.kpis_pending`)."""
    alarms = alarms.reset_index(drop=True)
    if alarms.empty and not set(ALARM_COLUMNS) <= set(alarms.columns):
        alarms = pd.DataFrame(columns=list(ALARM_COLUMNS))
    groups = group_alarms(alarms, topology, window_s=window_s) if len(alarms) else []
    if anomalies is not None:
        anomalies = anomalies.assign(period_end=pd.to_datetime(anomalies["period_end"], utc=True))
    else:
        anomalies = pd.DataFrame(columns=_ANOMALY_COLUMNS)
    if anomalies.empty and kpis is not None and len(kpis):
        baseline = baseline or SeasonalBaseline.fit(kpis)
        scored = baseline.zscores(kpis)
        anomalies = scored[scored["z"].abs() >= z_threshold].copy()
        anomalies["direction"] = np.sign(anomalies["z"]).astype(int)
        anomalies["period_end"] = pd.to_datetime(anomalies["period_end"], utc=True)
    margin = pd.Timedelta(seconds=margin_s)
    out, covered = [], list(covered)
    cleared = clear_times(alarms)
    kpis_until = (
        pd.to_datetime(kpis["period_end"], utc=True).max()
        if kpis is not None and len(kpis)
        else None
    )
    for g in groups:
        cands = candidate_elements(g, topology)
        rows = alarms.loc[list(g.rows)]
        scope = _scope(cands, topology)
        an = _attached(
            anomalies, scope, pd.Timestamp(g.start) - margin, pd.Timestamp(g.end) + margin
        )
        evidence = IncidentEvidence(rows, an, tuple(cands), kpis_until, kpi_baseline)
        out.append(DetectedIncident(g, rows, evidence))
        ends = [cleared.get(str(a)) for a in rows["alarm_id"]]
        done = [e for e in ends if e is not None]
        # until its alarms have all cleared (for ever while one is raised)
        end = max(done) + margin if done and len(done) == len(ends) else _NEVER
        covered.append(Coverage(alarm_reach(cands, topology), pd.Timestamp(g.start) - margin, end))
    if silent and len(anomalies):
        out += _kpi_incidents(
            anomalies,
            topology,
            alarms.iloc[0:0],
            kpis=kpis,
            covered=covered,
            first_group_id=len(groups),
            margin=margin,
            min_periods=kpi_min_periods,
            quiet_periods=kpi_quiet_periods,
        )
    return out


def alarm_reach(cands: Iterable[str], topology: Topology) -> frozenset[str]:
    """Where an alarm incident explains KPI anomalies: its candidates, what they feed,
    and the neighbour cells of those (they take over their users)."""
    scope = _scope(cands, topology)
    return frozenset(scope | {n for e in scope for n in topology.neighbours(e)})


def _scope(cands: Iterable[str], topology: Topology) -> set[str]:
    scope = set(cands)
    for c in cands:
        scope |= topology.descendants(c)
    return scope


def _attached(
    anomalies: pd.DataFrame, scope: set[str], lo: pd.Timestamp, hi: pd.Timestamp
) -> pd.DataFrame:
    if not len(anomalies):
        return anomalies
    t = anomalies["period_end"]
    return anomalies[(t >= lo) & (t <= hi) & anomalies["managed_object"].isin(scope)]


def clear_times(alarms: pd.DataFrame) -> dict[str, pd.Timestamp]:
    """alarm id -> when it cleared (cleared alarms only)."""
    if alarms.empty:
        return {}
    cl = alarms[alarms["state"].astype(str).str.lower() == "cleared"]
    t = pd.to_datetime(cl["event_time"], utc=True)
    return dict(t.groupby(cl["alarm_id"].astype(str).to_numpy()).max().items())


def _kpi_incidents(
    anomalies: pd.DataFrame,
    topology: Topology,
    no_alarms: pd.DataFrame,
    *,
    kpis: pd.DataFrame | None,
    covered: list[Coverage],
    first_group_id: int,
    margin: pd.Timedelta,
    min_periods: int,
    quiet_periods: int,
) -> list[DetectedIncident]:
    """Incidents of the sustained KPI anomalies no alarm group covers."""
    if kpis is not None and len(kpis) == 0:
        kpis = None
    has_kpis = kpis is not None
    times = kpis["period_end"] if kpis is not None else anomalies["period_end"]
    period = reporting_period(times)
    groups, members = group_anomalies(
        degradations(anomalies),
        topology,
        period=period,
        min_periods=min_periods,
        quiet_periods=quiet_periods,
        covered=covered,
        first_group_id=first_group_id,
    )
    if not groups:
        return []
    # how far each element has reported (an element that stopped reporting has not ended)
    if kpis is not None:
        t = pd.to_datetime(kpis["period_end"], utc=True)
        reported = t.groupby(kpis["managed_object"].astype(str).to_numpy()).max().to_dict()
    else:
        reported = {}
    data_end = pd.to_datetime(times, utc=True).max()
    out = []
    for g in groups:
        cands = candidate_elements(g, topology)
        an = _attached(
            anomalies,
            _scope(cands, topology),
            pd.Timestamp(g.start) - margin,
            pd.Timestamp(g.end) + margin,
        )
        ended = all(
            reported.get(e.element, data_end if not has_kpis else e.end)
            >= e.end + period * quiet_periods
            for e in members[g.group_id]
        )
        evidence = IncidentEvidence(no_alarms, an, tuple(cands))
        out.append(DetectedIncident(g, no_alarms, evidence, ended=ended))
    log.debug("%d KPI-triggered incidents (period %s)", len(out), period)
    return out


@dataclass(frozen=True, slots=True)
class Detection:
    """The detect stage's result: the incidents of a window, and whether KPI-triggered
    (silent) incidents were looked for (``silent``)."""

    incidents: list[DetectedIncident]
    silent: bool


def detect_window(
    alarms: pd.DataFrame,
    kpis: pd.DataFrame,
    topology: Topology,
    *,
    baseline: SeasonalBaseline | None = None,
    covered: Callable[[], Sequence[Coverage]] = tuple,
) -> Detection:
    """The incidents of a window of alarms and KPIs. Silent faults need a baseline the
    anomaly is not part of: ``baseline`` given (fitted on the history), or one fitted
    here on at least :data:`SILENT_MIN_SPAN` of ``kpis``; ``covered`` (called only then):
    the reach of the unresolved alarm incidents opened before the window. Without such a
    baseline (a service warming up) the alarm incidents' KPI anomalies are kept for the
    diagnoser but the condition verdict does not read "no KPI degraded" from them."""
    silent = baseline is not None or _span(kpis) >= SILENT_MIN_SPAN
    if baseline is None:
        baseline = SeasonalBaseline.fit(kpis) if len(kpis) else None
    detected = detect_incidents(
        alarms,
        topology,
        kpis=kpis,
        baseline=baseline,
        silent=silent,
        covered=list(covered()) if silent else [],
        kpi_baseline=silent,
    )
    return Detection(detected, silent)


def _span(kpis: pd.DataFrame) -> pd.Timedelta:
    if kpis.empty:
        return pd.Timedelta(0)
    t = pd.to_datetime(kpis["period_end"], utc=True)
    return t.max() - t.min()
