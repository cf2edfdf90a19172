"""The service's detection loop: a sliding window over what the store holds.

Each :meth:`SlidingDetector.tick` reads the KPIs that arrived since the last tick (a
rolling in-memory cache of ``history``), the alarms of the last ``lookback`` of data
time, keeps the rows of the regions this instance owns, and runs the pipeline on them
when something changed. Incidents keep stable ids (their first alarm), so a re-run
updates rather than duplicates; recommended incidents whose alarms did not change are
skipped by the pipeline. The seasonal baseline is refitted on the history in a
background thread every ``refit_every`` of data time (:mod:`twinrca.detect.refit`).

Data time, not wall time: the window follows the newest data in the store, so a
replayed recording and a live EMS behave the same. Nothing is skipped when data comes
faster than the ticks (a backlog, a batch replay, a restart after downtime): the
progress of every region (the data time its last tick reached) is kept in the store,
and a window starts ``lookback`` before the older of that progress and the newest data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from twinrca.core.incident import IncidentDoc
from twinrca.core.records import IncidentState
from twinrca.core.timeutil import utcnow
from twinrca.core.topology import Topology
from twinrca.detect.baseline import SeasonalBaseline
from twinrca.detect.refit import BaselineRefitter
from twinrca.runtime import defaults
from twinrca.runtime.flow import Pipeline
from twinrca.runtime.twin_calibration import TwinCalibrator
from twinrca.store.base import Store
from twinrca.twin_replay.demand import Demand, demand_from_telemetry

__all__ = [
    "SlidingDetector",
    "TickResult",
    "WindowConfig",
    "read_kpis_ahead",
    "unfinished_incidents",
]

log = logging.getLogger(__name__)

_KPI_KEY = ["managed_object", "measurement", "period_end"]
_PROGRESS = "serve.progress."
UNFINISHED = (IncidentState.OPEN, IncidentState.DIAGNOSED, IncidentState.VERIFIED)


@dataclass(frozen=True, slots=True)
class WindowConfig:
    lookback: timedelta = defaults.LOOKBACK  # alarms and KPIs the detection looks at
    history: timedelta = defaults.HISTORY  # KPIs kept for the baseline and the twin demand
    late_slack: timedelta = timedelta(minutes=30)  # re-read this much for late KPI rows
    refit_every: timedelta = timedelta(hours=6)  # baseline refit period (data time)
    min_baseline: timedelta = timedelta(hours=23)  # below this, fit on the window each run
    # newest KPIs read per tick beyond the last ones (a backlog: more ticks), and at least
    # up to the newest alarm + kpi_slack (held alarms must not wait for many ticks)
    read_ahead: timedelta = timedelta(hours=2)
    retry_s: float = 10.0  # re-run unfinished incidents this often (wall) without new data
    # alarms wait for the KPIs of their time (verification needs them): alarms later than
    # the newest KPIs + kpi_slack are held back, unless the KPIs have not moved for
    # kpi_wait_s (wall: PM collection stalled or absent; then go on without them)
    kpi_slack: timedelta = timedelta(minutes=30)
    kpi_wait_s: float = 30.0
    # with no alarm change, new KPIs alone (silent faults open and end on them) are
    # examined at most this often (wall): a re-run per reporting period would delay the
    # alarms that arrive meanwhile when a backlog is replayed fast
    kpi_scan_s: float = 30.0


@dataclass(frozen=True, slots=True)
class TickResult:
    ran: bool
    incidents: list[IncidentDoc]
    seconds: float
    watermark: datetime | None
    regions: frozenset[str] | None


def unfinished_incidents(store: Store) -> list[IncidentDoc]:
    """Incidents a (restarted) service still has to bring to a recommendation."""
    out = []
    for state in UNFINISHED:
        out += [
            IncidentDoc.model_validate(d)
            for d in store.list_documents("incident", where={"state": str(state)}, limit=10_000)
        ]
    return out


class SlidingDetector:
    """Runs :class:`Pipeline` on a sliding window of the store's newest data."""

    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        topology: Topology,
        config: WindowConfig = WindowConfig(),
        *,
        regions: Callable[[], Iterable[str] | None] = lambda: None,
        calibrator: TwinCalibrator | None = None,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.calibrator = calibrator
        if calibrator is not None and calibrator.params() is not None:
            pipeline.params = calibrator.params()
        self.topology = topology
        self.config = config
        self._regions = regions
        self._region_of = {e.element_id: e.region for e in topology}
        self._scope: frozenset[str] | None = None
        self._kpis = pd.DataFrame()
        self._warming: bool | None = None  # last warm-up state logged
        self._kpi_end: pd.Timestamp | None = None
        self._kpi_seen: pd.Timestamp | None = None
        self._kpi_moved = time.monotonic()  # the first KPIs are waited for from here
        self._hold: pd.Timestamp | None = None
        self._alarm_end: pd.Timestamp | None = None
        self._resume_from: pd.Timestamp | None = None
        self._progress: pd.Timestamp | None = None
        self._unfinished = True
        self._last_run = 0.0
        self._scanned: pd.Timestamp | None = None  # the newest KPIs the last run saw
        self._last_signature: tuple[object, ...] | None = None
        self._demand: Demand | None = None
        self._demand_at: pd.Timestamp | None = None
        self._baseline = BaselineRefitter(
            refit_every=config.refit_every, min_span=config.min_baseline
        )

    # ------------------------------------------------------------------ public
    def resume(self) -> int:
        """Widen the first window back to the oldest unfinished incident; return how many."""
        todo = unfinished_incidents(self.store)
        if todo:
            oldest = min(pd.Timestamp(d.opened_at) for d in todo)
            self._resume_from = oldest - pd.Timedelta(hours=1)
            log.info("resuming %d unfinished incidents (oldest %s)", len(todo), oldest)
        return len(todo)

    @property
    def kpi_history(self) -> timedelta:
        """How much KPI history the detector holds (data time)."""
        if self._kpis.empty:
            return timedelta(0)
        t = self._kpis["period_end"]
        return (t.max() - t.min()).to_pytimedelta()

    @property
    def warming_up(self) -> bool:
        """True until the KPI baseline has ``min_baseline`` of history: no KPI-triggered
        (silent-fault) incident opens before it."""
        return self.kpi_history < self.config.min_baseline

    def _say_warm_up(self) -> None:
        """Log when the KPI baseline starts or ends warming up (once per change)."""
        warming = self.warming_up
        if warming == self._warming:
            return
        self._warming = warming
        if warming:
            log.info(
                "KPI baseline warming up: %.1f h of %.1f h of history; no KPI-triggered "
                "incidents until then",
                self.kpi_history.total_seconds() / 3600,
                self.config.min_baseline.total_seconds() / 3600,
            )
        else:
            log.info(
                "KPI baseline ready: %.1f h of history", self.kpi_history.total_seconds() / 3600
            )

    @property
    def watermark(self) -> pd.Timestamp | None:
        """Data time the detection has reached: the newest alarm or KPI, but no later
        than the alarms held back for their KPIs."""
        ends = [t for t in (self._kpi_end, self._alarm_end) if t is not None]
        mark = max(ends) if ends else None
        if mark is not None and self._hold is not None:
            mark = min(mark, self._hold)
        return mark

    def tick(self) -> TickResult:
        t0 = time.perf_counter()
        scope = self._current_scope()
        if scope is not None and not scope:
            return TickResult(False, [], time.perf_counter() - t0, None, scope)
        self._refresh_kpis(scope)
        if not self._update_hold():
            return TickResult(False, [], time.perf_counter() - t0, None, scope)  # no PM yet
        alarms = self._read_alarms(scope)
        if self._hold is not None and len(alarms):
            alarms = alarms[pd.to_datetime(alarms["event_time"], utc=True) <= self._hold]
        signature = self._signature(alarms)
        retry = self._unfinished and time.monotonic() - self._last_run >= self.config.retry_s
        # no alarm is no reason to stop: a silent fault shows in the KPIs alone
        since = time.monotonic() - self._last_run
        scan = self._kpi_end != self._scanned and since >= self.config.kpi_scan_s
        if signature == self._last_signature and not retry and not scan:
            return TickResult(False, [], time.perf_counter() - t0, self.watermark, scope)
        self._calibrate()
        self._say_warm_up()
        kpis = self._window_kpis()
        docs = self.pipeline.run_frames(
            alarms, kpis, baseline=self._current_baseline(), demand=self._current_demand()
        )
        self._unfinished = any(d.state in UNFINISHED for d in docs)
        self._last_signature = self._signature(alarms)
        self._last_run = time.monotonic()
        self._scanned = self._kpi_end
        # an incident left short of a recommendation (its KPIs were not all in yet, a
        # verification failed) keeps the window open back to it until it is finished
        self._resume_from = self._oldest_unfinished(docs)
        self._save_progress(scope)
        return TickResult(True, docs, time.perf_counter() - t0, self.watermark, scope)

    def _update_hold(self) -> bool:
        """Set how far alarms may be processed (``_hold``; None: all). False while no
        KPI has arrived yet and the wait for them is not over."""
        now = time.monotonic()
        if self._kpi_end != self._kpi_seen:
            self._kpi_seen, self._kpi_moved = self._kpi_end, now
        if now - self._kpi_moved >= self.config.kpi_wait_s:
            self._hold = None  # the PM stream is stalled or absent: do not wait for it
            return True
        if self._kpi_end is None:
            return False
        self._hold = self._kpi_end + self.config.kpi_slack
        return True

    def _oldest_unfinished(self, docs: list[IncidentDoc]) -> pd.Timestamp | None:
        """An hour before the oldest unfinished incident within ``history`` of the data."""
        mark = self.watermark
        opened = [
            pd.Timestamp(d.opened_at)
            for d in docs
            if d.state in UNFINISHED
            and (mark is None or pd.Timestamp(d.opened_at) >= mark - self.config.history)
        ]
        return min(opened) - pd.Timedelta(hours=1) if opened else None

    def close(self) -> None:
        self._baseline.close()

    def _calibrate(self) -> None:
        """Refit the tenant's twin when due (data time); verification and what-if then
        replay on the new parameters."""
        if self.calibrator is None:
            return
        try:
            if self.calibrator.maybe_refit(self._kpi_end):
                self.pipeline.params = self.calibrator.params()
        except Exception:  # a failed refit keeps the current parameters
            log.exception("twin calibration failed; keeping the current parameters")

    # ------------------------------------------------------------------ regions
    def _current_scope(self) -> frozenset[str] | None:
        regions = self._regions()
        scope = None if regions is None else frozenset(regions)
        if scope != self._scope:
            log.info("diagnosing regions %s", "all" if scope is None else sorted(scope))
            self._scope = scope
            self._kpis, self._kpi_end, self._last_signature = pd.DataFrame(), None, None
            self._baseline.reset()
            self._demand = None
            self._demand_at = None
            self._progress = self._load_progress(scope)
        return scope

    def _regions_in(self, scope: frozenset[str] | None) -> list[str]:
        return sorted(set(self._region_of.values()) if scope is None else scope)

    def _load_progress(self, scope: frozenset[str] | None) -> pd.Timestamp | None:
        stored = []
        for region in self._regions_in(scope):
            raw = self.store.get_state(f"{_PROGRESS}{region}")
            if raw:
                stored.append(pd.Timestamp(raw.decode()))
        return min(stored) if stored else None

    def _save_progress(self, scope: frozenset[str] | None) -> None:
        mark = self.watermark
        if mark is None:
            return
        for region in self._regions_in(scope):
            self.store.put_state(f"{_PROGRESS}{region}", mark.isoformat().encode())
        self._progress = mark

    def _mine(self, frame: pd.DataFrame, scope: frozenset[str] | None) -> pd.DataFrame:
        if scope is None or frame.empty:
            return frame
        regions = frame["managed_object"].map(self._region_of)
        return frame[regions.isin(scope).to_numpy()]

    # ------------------------------------------------------------------ reads
    def _refresh_kpis(self, scope: frozenset[str] | None) -> None:
        if self._kpi_end is None:
            new = self.store.read_kpis(utcnow() - self.config.history)
            if new.empty:
                new = self.store.read_kpis()  # a replayed recording: data time is not now
        else:
            # a bounded range: the servers exclude chunks (an open end scans far more)
            ahead = self._kpi_end + self.config.read_ahead
            if self._alarm_end is not None:  # alarms wait for these KPIs: catch up at once
                ahead = max(ahead, self._alarm_end + self.config.kpi_slack)
            new = read_kpis_ahead(
                self.store, self._kpi_end, self.config.late_slack, ahead, self.config.read_ahead
            )
        new = self._mine(new, scope)
        if new.empty:
            return
        new = new.assign(period_end=pd.to_datetime(new["period_end"], utc=True))
        merged = pd.concat([self._kpis, new], ignore_index=True) if len(self._kpis) else new
        merged = merged.drop_duplicates(_KPI_KEY, keep="last")
        end = merged["period_end"].max()
        self._kpis = merged[merged["period_end"] > end - self.config.history].reset_index(drop=True)
        self._kpi_end = end

    def _read_alarms(self, scope: frozenset[str] | None) -> pd.DataFrame:
        start = self._window_start()
        alarms = self.store.read_alarms() if start is None else self.store.read_alarms(start)
        alarms = self._mine(alarms, scope)
        if len(alarms):
            end = pd.to_datetime(alarms["event_time"], utc=True).max()
            self._alarm_end = end if self._alarm_end is None else max(end, self._alarm_end)
        return alarms

    def _signature(self, alarms: pd.DataFrame) -> tuple[object, ...]:
        """What decides a re-run at once: the alarms, and new KPIs while an incident is
        unfinished (its evidence grows); new KPIs alone wait for ``kpi_scan_s``."""
        last = pd.to_datetime(alarms["event_time"], utc=True).max() if len(alarms) else None
        kpis = self._kpi_end if self._unfinished else None
        return (len(alarms), last, kpis)

    def _window_start(self) -> pd.Timestamp | None:
        """``lookback`` before the older of the newest data and the progress made,
        and no later than the oldest unfinished incident after a restart. With no
        progress stored yet (a first start on a backlog), ``history`` before the newest
        data: everything the store already holds is examined once."""
        mark = self.watermark
        if mark is None:
            return None
        if self._progress is None:
            start = mark - self.config.history
        else:
            start = min(mark, self._progress) - self.config.lookback
        if self._resume_from is not None:
            start = min(start, self._resume_from)
        return start

    def _window_kpis(self) -> pd.DataFrame:
        lo = self._window_start()
        if self._kpis.empty or lo is None:
            return self._kpis
        return self._kpis[self._kpis["period_end"] >= lo]

    # ------------------------------------------------------------------ models
    def _current_demand(self) -> Demand | None:
        if self._kpis.empty:
            return None
        if self._demand_at != self._kpi_end:
            self._demand = _demand(self._kpis, self.topology)
            self._demand_at = self._kpi_end
        return self._demand

    def _current_baseline(self) -> SeasonalBaseline | None:
        """The background-fitted baseline; None (fit on the window) until there is a
        day of history."""
        return self._baseline.current(self._kpis, self._kpi_end)


def read_kpis_ahead(
    store: Store,
    end: pd.Timestamp,
    back: timedelta,
    ahead: pd.Timestamp,
    span: timedelta | None = None,
) -> pd.DataFrame:
    """KPI rows from ``back`` before ``end`` (late rows) to ``ahead``; when none is newer
    than ``end`` (a gap in the PM data), also the data past the gap (its first ``span``
    only, if given; the probe is bounded: live data is never later than now)."""
    new = store.read_kpis(end - back, ahead)
    if len(new) and pd.to_datetime(new["period_end"], utc=True).max() > end:
        return new
    later = store.read_kpis(ahead, max(utcnow(), ahead) + timedelta(days=1))
    if later.empty:
        return new
    if span is not None:
        t = pd.to_datetime(later["period_end"], utc=True)
        later = later[(t < t.min() + span).to_numpy()]
    return pd.concat([new, later], ignore_index=True) if len(new) else later


def _demand(kpis: pd.DataFrame, topology: Topology) -> Demand | None:
    """The twin's demand replayed from the cached telemetry (as the pipeline does)."""
    if not (kpis["measurement"] == "dl_throughput_mbps").any():
        return None
    frame = kpis.rename(columns={"managed_object": "element_id", "period_end": "time"})
    return demand_from_telemetry(frame, topology)
