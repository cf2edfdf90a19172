"""The forecasting loop: the fault-risk model scoring every reporting period the store
receives.

Each :meth:`~Forecaster.tick` reads the KPIs and alarms that
  arrived, scores every reporting period completed since the last tick (a backlog is
  scored in one batch), and keeps one open prediction per (element, failure mode): a
  new one is stored with its TS 28.104 MDA report and its alerts in one transaction;
  a repeated warning updates it without alerting; an elapsed window closes it. Its
  progress lives in the store per region, so a restart (or another instance taking
  over a region) resumes where the region's scoring stopped.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from twinrca.alerts.predictions import prediction_alerts
from twinrca.core.errors import ConfigError
from twinrca.core.timeutil import utcnow
from twinrca.core.topology import Topology
from twinrca.fmea.catalogue import load_catalogue
from twinrca.predict.features import build_features, to_grid
from twinrca.predict.lifecycle import settle
from twinrca.predict.scoring import FaultWarning, json_number, on_faulty_element, score_frame
from twinrca.runtime.detect_loop import read_kpis_ahead
from twinrca.runtime.plugins import LoadedPlugin
from twinrca.store.base import Store
from twinrca.training.predictor import ROW_KINDS, TrainedPredictor, feature_alarms, wide_kpis

__all__ = ["BUILTIN", "ForecastTick", "Forecaster", "predictions_came_true", "progress_key"]

log = logging.getLogger(__name__)

_STATE = "predict.scored_until."  # + region
BUILTIN = "twinrca"  # the source of the built-in model's predictions


def progress_key(region: str) -> str:
    """The state key holding how far ``region``'s fault-risk scoring has got."""
    return _STATE + region


@dataclass(slots=True)
class ForecastTick:
    scored_periods: int
    warnings: int
    new_predictions: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


class Forecaster:
    """Scores the store's newest complete reporting periods; see the module docstring.

    On a first start (no progress stored) the periods within ``backfill`` of the newest
    are scored (None: everything stored; older warnings could no longer be acted on).

    ``regions`` (a callable, as the detector's) limits the scored elements to the regions
    this instance owns (none owned, e.g. while the consumer group rebalances: nothing is
    scored and no progress is made); every element's data still feeds the features. ``plugins``:
    users' predictors (entry points ``twinrca.predictors``) scored on the same feature
    rows; their predictions carry the plugin's name as ``source``."""

    def __init__(
        self,
        store: Store,
        topology: Topology,
        predictor: TrainedPredictor,
        *,
        regions: Callable[[], Iterable[str] | None] = lambda: None,
        base_url: str = "",
        threshold: float | None = None,
        explain: int = 3,
        model_name: str = "fault-risk",
        backfill: timedelta | None = timedelta(hours=6),
        plugins: Sequence[LoadedPlugin] = (),
    ) -> None:
        self.store = store
        self.topology = topology
        self.model = predictor.model
        self.spec = predictor.spec
        self.metrics = predictor.metrics
        self.threshold = threshold
        self.explain = explain
        self.model_name = model_name
        self.base_url = base_url
        self.backfill = None if backfill is None else pd.Timedelta(backfill)
        self._regions = regions
        self._region_of = {e.element_id: e.region for e in topology}
        self._rows = [e.element_id for e in topology if e.kind in ROW_KINDS]
        self._mode_kinds = {m.id: m.element_kind for m in load_catalogue().modes}
        period = pd.Timedelta(minutes=self.spec.period_min)
        self._history = pd.Timedelta(days=self.spec.seasonal_days) + period * (
            max(self.spec.windows) + 2
        )
        self._all_regions = sorted({e.region for e in topology})
        self._kpis = pd.DataFrame()
        self._kpi_end: pd.Timestamp | None = None
        self.plugins = list(plugins)
        self._scope: list[str] | None = None  # regions scored; loaded at the first tick
        self._progress: dict[str, pd.Timestamp | None] = {}
        self._open: dict[tuple[str, str, str], dict[str, Any]] = {}

    @property
    def scored_until(self) -> pd.Timestamp | None:
        """How far every owned region has been scored (None: some region never was)."""
        if self._scope is None:
            self._current_scope()
        return self._lowest()

    def _lowest(self) -> pd.Timestamp | None:
        marks = list(self._progress.values())
        return None if not marks or None in marks else min(marks)  # type: ignore[type-var]

    def tick(self, now: datetime | None = None, *, until: datetime | None = None) -> ForecastTick:
        """Score what completed since the last tick (up to ``until`` in data time, if
        given); ``now`` (wall time) stamps the documents."""
        t0 = time.perf_counter()
        scope = self._current_scope()
        if not scope:  # nothing owned (yet): scoring now would skip the regions' periods
            return ForecastTick(0, 0, seconds=time.perf_counter() - t0)
        self._refresh()
        done, since = self._complete_periods()
        if until is not None:
            done = done[done <= pd.Timestamp(until)]
        if done.empty:
            return ForecastTick(0, 0, seconds=time.perf_counter() - t0)
        lo = done.min() - self._history
        kpis = self._kpis[self._kpis["period_end"] >= lo]
        # alarms raised before the window that are still active count too
        alarms = feature_alarms(self.store.read_alarms(lo - pd.Timedelta(days=1), done.max()))
        wide = wide_kpis(kpis)
        feats = build_features(
            wide,
            spec=self.spec,
            alarms=alarms,
            topology=self.topology,
            grid=to_grid(wide, self.spec.period_min),
        )
        rows = feats[feats["time"].isin(done) & feats["element"].isin(self._rows_in(scope))]
        # each region from where its own scoring stopped
        after = rows["element"].map(self._region_of).map(since)
        rows = rows[(rows["time"] > after).to_numpy()].reset_index(drop=True)
        scored = score_frame(self.model, rows, threshold=self.threshold, explain=self.explain)
        warnings = [
            (BUILTIN, w) for w in on_faulty_element(scored, self.topology, self._mode_kinds)
        ]
        for plugin in self.plugins:
            warnings += [(plugin.name, w) for w in self._plugin_warnings(plugin, rows)]
        warnings.sort(key=lambda sw: (sw[1].start, sw[1].element, sw[0]))
        new = self._record(warnings, now or utcnow())
        self._expire(done.max(), _service_loss_onsets(wide, self.topology))
        mark = done.max()
        for region in scope:
            if self._progress[region] is None or self._progress[region] < mark:
                self._progress[region] = mark
                self.store.put_state(progress_key(region), mark.isoformat().encode())
        return ForecastTick(len(done), len(warnings), new, time.perf_counter() - t0)

    # ----------------------------------------------------------------- regions
    def _current_scope(self) -> list[str]:
        """The owned regions; a change reloads their progress and open predictions."""
        regions = self._regions()
        known = set(self._all_regions)
        scope = self._all_regions if regions is None else sorted(set(regions) & known)
        if scope != self._scope:
            log.info("scoring fault risk for regions %s", "all" if regions is None else scope)
            self._scope = scope
            self._progress = {}
            for region in scope:
                raw = self.store.get_state(progress_key(region))
                self._progress[region] = pd.Timestamp(raw.decode()) if raw else None
            mine = set(scope)
            self._open = {
                (d.get("source", BUILTIN), d["element"], d["failure_mode"]): d
                for d in self.store.list_documents(
                    "prediction", where={"status": "open"}, limit=100_000
                )
                if self._region_of.get(d["element"]) in mine
            }
            self._kpis, self._kpi_end = pd.DataFrame(), None  # history for the new regions
        return scope

    def _rows_in(self, scope: Sequence[str]) -> list[str]:
        keep = set(scope)
        return [e for e in self._rows if self._region_of.get(e) in keep]

    # ----------------------------------------------------------------- reads
    def _refresh(self) -> None:
        lowest = self._lowest()
        if self._kpi_end is None:
            start = None if lowest is None else lowest - self._history
            new = self.store.read_kpis(start)
        else:
            new = read_kpis_ahead(
                self.store,
                self._kpi_end,
                timedelta(minutes=2 * self.spec.period_min),
                self._kpi_end + pd.Timedelta(hours=6),
            )
        if new.empty:
            return
        new = new[["managed_object", "measurement", "value", "period_end"]].assign(
            period_end=pd.to_datetime(new["period_end"], utc=True)
        )
        merged = pd.concat([self._kpis, new], ignore_index=True) if len(self._kpis) else new
        merged = merged.drop_duplicates(
            ["managed_object", "measurement", "period_end"], keep="last"
        )
        end = merged["period_end"].max()
        marks = [m for m in self._progress.values() if m is not None]
        if lowest is not None:  # every region resumes: its periods since, with history
            keep = min(lowest, end - pd.Timedelta(hours=6)) - self._history
        elif self.backfill is not None:  # some region starts: the recent backlog too
            keep = min([end - self.backfill, *marks]) - self._history
        else:
            keep = merged["period_end"].min() - pd.Timedelta(minutes=1)  # score it all
        self._kpis = merged[merged["period_end"] > keep].reset_index(drop=True)
        self._kpi_end = end

    def _complete_periods(self) -> tuple[pd.DatetimeIndex, dict[str, pd.Timestamp]]:
        """Periods whose reports are in (a later period has started, or as many elements
        reported as in the period before) after some owned region's progress, and per
        region the period its scoring continues after."""
        if self._kpis.empty:
            return pd.DatetimeIndex([], tz="UTC"), {}
        counts = self._kpis.groupby("period_end")["managed_object"].nunique().sort_index()
        times = counts.index
        full = np.ones(len(times), dtype=bool)
        if len(times) >= 2:
            full[-1] = counts.iloc[-1] >= counts.iloc[-2]
        done = times[full]
        if self.backfill is not None:  # a region's first start: only the recent backlog
            first = times.max() - self.backfill
        else:
            first = times.min() - pd.Timedelta(minutes=1)
        since = {r: first if mark is None else mark for r, mark in self._progress.items()}
        done = done[done > min(since.values())]
        return pd.DatetimeIndex(done), since

    def _plugin_warnings(self, plugin: LoadedPlugin, rows: pd.DataFrame) -> list[FaultWarning]:
        """A user's predictor on the same feature rows: ``predict(features)`` returns
        ``element``, ``failure_mode``, ``probability``, ``horizon_min`` and ``time`` (or
        one row per input row, in order); rows at or above its ``threshold`` attribute
        (default 0.5) are warnings."""
        if rows.empty:
            return []
        out = plugin.instance.predict(rows.copy())
        need = {"element", "failure_mode", "probability", "horizon_min"}
        if not isinstance(out, pd.DataFrame) or not need <= set(out.columns):
            raise ConfigError(
                f"predictor plugin {plugin.name!r} returned no frame with {sorted(need)}",
                hint="see twinrca.runtime.plugins for the Predictor protocol",
            )
        if "time" not in out.columns:
            if len(out) != len(rows):
                raise ConfigError(
                    f"predictor plugin {plugin.name!r}: no 'time' column and "
                    f"{len(out)} rows for {len(rows)} inputs",
                    hint="return one row per input row, or a 'time' column",
                )
            out = out.assign(time=rows["time"].to_numpy())
        cut = float(getattr(plugin.instance, "threshold", 0.5))
        gap = timedelta(minutes=self.model.gap_min)
        warnings = []
        for r in out[out["probability"].astype(float) >= cut].itertuples(index=False):
            t = pd.Timestamp(r.time).to_pydatetime()
            warnings.append(
                FaultWarning(
                    element=str(r.element),
                    failure_mode=str(r.failure_mode),
                    start=t + gap,
                    end=t + gap + timedelta(minutes=float(r.horizon_min)),
                    confidence=float(r.probability),
                    horizon_min=float(r.horizon_min),
                )
            )
        return warnings

    # ----------------------------------------------------------------- documents
    def _record(
        self, warnings: Sequence[tuple[str, FaultWarning]], now: datetime
    ) -> list[dict[str, Any]]:
        new = []
        changed: dict[str, dict[str, Any]] = {}  # repeated warnings: one write per document
        for source, w in warnings:
            key = (source, w.element, w.failure_mode)
            observed = w.start - timedelta(minutes=self.model.gap_min)
            doc = self._open.get(key)
            if doc is not None and pd.Timestamp(doc["window_end"]) >= pd.Timestamp(observed):
                doc = {
                    **doc,
                    "last_seen_at": observed.isoformat(),
                    "window_end": w.end.isoformat(),
                    "probability": max(float(doc["probability"]), round(w.confidence, 4)),
                    "warnings": int(doc["warnings"]) + 1,
                    "raised_on": sorted({*doc.get("raised_on", ()), *w.raised_on}),
                    "updated_at": now.isoformat(),
                    **w.to_mda(),
                }
                doc["confidenceDegree"] = doc["probability"]
                changed[doc["prediction_id"]] = doc
                self._open[key] = doc
                continue
            doc = self._new_doc(w, observed, now, source)
            alerts = prediction_alerts(self.store, doc, base_url=self.base_url)
            self.store.put_document("prediction", doc["prediction_id"], doc, outbox=alerts)
            self._open[key] = doc
            new.append(doc)
        for pid, doc in changed.items():
            self.store.put_document("prediction", pid, doc)
        return new

    def _new_doc(
        self, w: FaultWarning, observed: datetime, now: datetime, source: str
    ) -> dict[str, Any]:
        raw = f"{w.element}|{w.failure_mode}|{observed.isoformat()}"
        raw += "" if source == BUILTIN else f"|{source}"
        pid = "pred-" + hashlib.sha256(raw.encode()).hexdigest()[:16]
        return {
            "prediction_id": pid,
            "tenant": self.store.tenant,
            "status": "open",
            "element": w.element,
            "region": self._region_of.get(w.element, ""),
            "failure_mode": w.failure_mode,
            "horizon_min": w.horizon_min,
            "probability": round(w.confidence, 4),
            "explanation": [
                {
                    "feature": r.feature,
                    "text": r.text,
                    "value": json_number(r.value),
                    "contribution": json_number(r.contribution),
                }
                for r in w.reasons
            ],
            "observed_at": observed.isoformat(),
            "last_seen_at": observed.isoformat(),
            "window_start": w.start.isoformat(),
            "window_end": w.end.isoformat(),
            "warnings": 1,
            "raised_on": list(w.raised_on),
            "source": source,
            "model": (
                {
                    "name": self.model_name,
                    "metrics": {k: json_number(v) for k, v in self.metrics.items()},
                }
                if source == BUILTIN
                else {"name": source, "plugin": True}
            ),
            "created_at": now.isoformat(),
            "updated_at": now.isoformat(),
            **w.to_mda(),
        }

    def _expire(self, until: pd.Timestamp, onsets: Mapping[str, list[pd.Timestamp]]) -> None:
        """Close the predictions whose window passed, with their outcome (predict.lifecycle):
        ``came_true`` when service loss started on the element or a cell it feeds in the
        window, else ``false`` (remediations are not tracked here: no ``averted``)."""
        for key, doc in list(self._open.items()):
            if pd.Timestamp(doc["window_end"]) < until:
                done = settle(
                    pd.Timestamp(doc["window_start"]),
                    pd.Timestamp(doc["window_end"]),
                    onsets.get(doc["element"], []),
                    [],
                    until,
                )
                closed = {
                    **doc,
                    "status": "expired",
                    "outcome": str(done[0]) if done else "false",
                    "updated_at": utcnow().isoformat(),
                }
                self.store.put_document("prediction", doc["prediction_id"], closed)
                del self._open[key]


def _service_loss_onsets(wide: pd.DataFrame, topology: Topology) -> dict[str, list[pd.Timestamp]]:
    """Per element, the times service loss (a cell's availability < 50 %) started on it or
    on a cell it feeds. The model's target counts a cell's loss only for the element at
    fault (:func:`twinrca.predict.scenario.target_events`), which a live network does not
    label: here every element above the cell is credited."""
    if "availability" not in wide.columns or wide.empty:
        return {}
    sub = wide[["time", "element", "availability"]].sort_values(["element", "time"])
    down = sub["availability"].to_numpy(float) < 50.0
    prev = (
        np.r_[False, down[:-1]]
        & np.r_[False, sub["element"].to_numpy()[1:] == sub["element"].to_numpy()[:-1]]
    )
    starts = sub.loc[down & ~prev, ["element", "time"]]
    out: dict[str, list[pd.Timestamp]] = {}
    for el, t in zip(starts["element"], pd.to_datetime(starts["time"], utc=True), strict=True):
        for e in (el, *(topology.ancestors(el) if el in topology else ())):
            out.setdefault(e, []).append(t)
    return out


def predictions_came_true(
    docs: Iterable[Mapping[str, Any]], events: pd.DataFrame, topology: Topology
) -> int:
    """How many predictions saw service loss start inside their window on their element,
    or on a cell it feeds when the element's own fault caused it (``events``: element,
    start and, for a twin's labelled events, the fault's ``root``): the model's own target
    (:func:`twinrca.predict.scenario.target_events`)."""
    from twinrca.predict.scenario import target_events

    judged = target_events(events, topology, [str(d["element"]) for d in docs])
    starts = pd.to_datetime(judged["start"], utc=True)
    n = 0
    for d in docs:
        lo, hi = pd.Timestamp(d["window_start"]), pd.Timestamp(d["window_end"])
        n += bool((judged["element"][(starts > lo) & (starts <= hi)] == d["element"]).any())
    return n
