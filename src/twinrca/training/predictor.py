"""Fault prediction inside the service: a LightGBM risk model trained on labelled twin
runs of the tenant's own topology, scoring every reporting period the store receives.

- :func:`train_predictor` / :func:`predictor_or_load`: twin runs with planted faults on
  the topology, turned into exactly what the store holds after ingest (the PM rows of
  :func:`~twinrca.twin_replay.generate.kpi_rows`, the alarm rows of
  :func:`~twinrca.training.twin_data.alarm_frame`), features and labels ("service loss
  (a cell's availability < 50 %) starts on the element or on a cell it feeds within the
  horizon"), a model fitted on one seed and scored on an unseen one (the card's metrics);
  cached per topology like the diagnoser.
- :class:`Forecaster`: each :meth:`~Forecaster.tick` reads the KPIs and alarms that
  arrived, scores every reporting period completed since the last tick (a backlog is
  scored in one batch), and keeps one open prediction per (element, failure mode): a
  new one is stored with its TS 28.104 MDA report and its alerts in one transaction;
  a repeated warning updates it without alerting; an elapsed window closes it. Its
  progress lives in the store per region, so a restart (or another instance taking
  over a region) resumes where the region's scoring stopped.
- :func:`prediction_alerts`: the outbox entries of a new prediction for the tenant's
  subscriptions to ``prediction`` events: the MDA report for ``3gpp`` and ``generic``
  (signed), a warning-level alert for Alertmanager, PagerDuty and Opsgenie.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinrca.alerts.delivery import outbox_payload
from twinrca.alerts.formats import (
    AlertEvent,
    alertmanager_v4,
    generic_json,
    opsgenie,
    pagerduty_v2,
)
from twinrca.core.errors import ConfigError
from twinrca.core.records import PerceivedSeverity, dedup_key
from twinrca.core.timeutil import utcnow
from twinrca.core.topology import ElementKind, Topology
from twinrca.fmea.catalogue import Catalogue
from twinrca.predict.features import FeatureSpec, build_features, to_grid
from twinrca.predict.pipeline import Dataset, prepare, train_evaluate
from twinrca.predict.risk import RISK_CONFIG, RiskModel
from twinrca.predict.scenario import TWIN_FAILURE_LEVELS, feeder_events, service_loss_events
from twinrca.predict.scoring import FaultWarning, json_number, score_frame
from twinrca.runtime.detect_loop import read_kpis_ahead
from twinrca.runtime.plugins import LoadedPlugin
from twinrca.store.base import Store

__all__ = [
    "Forecaster",
    "PredictorConfig",
    "TrainedPredictor",
    "feature_alarms",
    "prediction_alerts",
    "predictions_came_true",
    "predictor_or_load",
    "progress_key",
    "train_predictor",
    "training_topology",
    "wide_kpis",
]

log = logging.getLogger(__name__)

_STATE = "predict.scored_until."  # + region


def progress_key(region: str) -> str:
    """The state key holding how far ``region``'s fault-risk scoring has got."""
    return _STATE + region


BUILTIN = "twinrca"  # the source of the built-in model's predictions
ROW_KINDS = (ElementKind.CELL, ElementKind.SITE, ElementKind.TRANSPORT)


@dataclass(frozen=True, slots=True)
class PredictorConfig:
    """How the service's risk model is trained (twin runs) and its features built."""

    horizon_min: float = 60.0
    windows: tuple[int, ...] = (2, 4, 8, 16)
    seasonal_days: int = 1
    train_seed: int = 201
    valid_seed: int = 202
    test_seed: int = 203
    days: float = 4.0
    faults: int | None = None  # default: max(60, cells // 4)
    # warn at the lowest risk reaching this precision on the threshold run (else at its
    # best F1: sudden faults keep the reachable precision low)
    precision: float = 0.5
    # larger topologies train on the sub-network of their first sites (sorted ids) with
    # about this many cells: the features are local (element, neighbours, parents)
    max_cells: int = 160

    def spec(self, period_min: int) -> FeatureSpec:
        return FeatureSpec(
            period_min=period_min,
            windows=self.windows,
            seasonal_days=self.seasonal_days,
            thresholds=TWIN_FAILURE_LEVELS,
        )


@dataclass(frozen=True, slots=True)
class TrainedPredictor:
    """The model, the feature spec it was trained with, and its test on an unseen seed."""

    model: RiskModel
    spec: FeatureSpec
    metrics: dict[str, float | int]


# --------------------------------------------------------------------- store frames
def wide_kpis(rows: pd.DataFrame) -> pd.DataFrame:
    """Store KPI rows (``managed_object``, ``measurement``, ``value``, ``period_end``) as
    the feature builder's frame: ``time``, ``element``, one column per KPI."""
    if rows.empty:
        return pd.DataFrame(columns=["time", "element"])
    wide = rows.pivot_table(
        index=["period_end", "managed_object"],
        columns="measurement",
        values="value",
        aggfunc="last",
    )
    wide.columns = [str(c) for c in wide.columns]
    wide = wide.reset_index().rename(columns={"period_end": "time", "managed_object": "element"})
    wide["time"] = pd.to_datetime(wide["time"], utc=True)
    return wide.sort_values(["time", "element"], ignore_index=True)


def feature_alarms(rows: pd.DataFrame) -> pd.DataFrame:
    """Store alarm rows (raise and clear notifications) as one row per alarm: ``time``
    (raised), ``element``, ``alarm`` (probable cause), ``clear`` (NaT while active)."""
    cols = ["time", "element", "alarm", "clear"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    t = pd.to_datetime(rows["event_time"], utc=True)
    cleared = rows["state"].astype(str) == "cleared"
    clears = pd.Series(t[cleared].to_numpy(), index=rows.loc[cleared, "alarm_id"].to_numpy())
    clears = clears[~clears.index.duplicated(keep="last")]
    up = rows[~cleared]
    return pd.DataFrame(
        {
            "time": t[~cleared].to_numpy(),
            "element": up["managed_object"].astype(str).to_numpy(),
            "alarm": up["probable_cause"].astype(str).to_numpy(),
            "clear": pd.to_datetime(up["alarm_id"].map(clears), utc=True).to_numpy(),
        },
        columns=cols,
    )


def _alarm_types(model: RiskModel) -> tuple[str, ...]:
    """The alarm types the model's features count (``...alarm__<type>__...``)."""
    out = set()
    for name in model.feature_names:
        if "alarm__" in name:
            kind = name.split("alarm__", 1)[1].split("__", 1)[0]
            if kind != "all":
                out.add(kind)
    return tuple(sorted(out))


# --------------------------------------------------------------------- training
def _dataset(
    seed: int, topology: Topology, catalogue: Catalogue, cfg: PredictorConfig
) -> tuple[Dataset, FeatureSpec]:
    from twinrca.training.twin_data import AlarmNoise, alarm_frame
    from twinrca.twin_replay.demand import generate_demand
    from twinrca.twin_replay.generate import _labels, kpi_rows, plant_faults
    from twinrca.twin_replay.simulate import simulate

    cells = topology.ids(ElementKind.CELL)
    dem = generate_demand(topology, days=cfg.days, seed=seed)
    faults = cfg.faults if cfg.faults is not None else max(60, len(cells) // 4)
    ivs = plant_faults(
        topology, catalogue, count=faults, steps=dem.steps, step_minutes=dem.step_minutes, seed=seed
    )
    res = simulate(topology, dem, ivs, seed=seed, catalogue=catalogue)
    planted = _labels(res, topology, catalogue, ivs)
    for col in ("start", "end"):
        planted[col] = pd.to_datetime(planted[col], utc=True)
    kpis = wide_kpis(kpi_rows(res, topology))
    alarms = feature_alarms(alarm_frame(res, topology, catalogue, noise=AlarmNoise(), seed=seed))
    spec = cfg.spec(res.step_minutes)
    rows = [e.element_id for e in topology if e.kind in ROW_KINDS]
    events = service_loss_events(kpis, cells, planted, kpi="availability", below=50.0)
    ds = prepare(
        kpis,
        feeder_events(events, topology, rows),
        spec=spec,
        horizon_min=cfg.horizon_min,
        alarms=alarms,
        topology=topology,
        elements=rows,
    )
    return ds, spec


def _warn_threshold(y: np.ndarray, p: np.ndarray, precision: float) -> float:
    """The lowest risk reaching ``precision`` on these rows, else the F1-best one."""
    from sklearn.metrics import precision_recall_curve

    from twinrca.predict.evaluate import threshold_for_precision

    t = threshold_for_precision(y, p, precision)
    if t <= 1.0 or y.sum() == 0:
        return t
    prec, rec, thr = precision_recall_curve(y, p)
    f1 = 2 * prec[:-1] * rec[:-1] / np.maximum(prec[:-1] + rec[:-1], 1e-12)
    return float(thr[int(np.argmax(f1))])


def training_topology(topology: Topology, max_cells: int) -> Topology:
    """``topology`` itself when small enough, else the neighbourhood (cells, neighbour
    cells, feeding transport and core) of its first sites holding ~``max_cells`` cells."""
    from twinrca.twin_replay._local import neighbourhood

    if len(topology.ids(ElementKind.CELL)) <= max_cells:
        return topology
    seeds: list[str] = []
    cells = 0
    for site in sorted(topology.ids(ElementKind.SITE)):
        if cells >= max_cells:
            break
        seeds.append(site)
        cells += sum(
            1 for c in topology.descendants(site) if c in set(topology.ids(ElementKind.CELL))
        )
    return neighbourhood(topology, seeds)


def train_predictor(
    topology: Topology,
    catalogue: Catalogue,
    cfg: PredictorConfig = PredictorConfig(),
    *,
    progress: Callable[[str], None] | None = None,
) -> TrainedPredictor:
    """Three twin runs of the topology, three seeds: fit (time-split early stopping and
    calibration), pick the warning threshold on the second, measure on the third."""
    from twinrca.predict.evaluate import quality
    from twinrca.predict.risk import model_matrix

    say = progress or (lambda _msg: None)
    topology = training_topology(topology, cfg.max_cells)
    runs = {}
    for role, seed in (
        ("train", cfg.train_seed),
        ("threshold", cfg.valid_seed),
        ("test", cfg.test_seed),
    ):
        say(f"twin run for {role} (seed {seed})")
        runs[role] = _dataset(seed, topology, catalogue, cfg)
    train, spec = runs["train"]
    valid, test = runs["threshold"][0], runs["test"][0]
    say(f"fitting LightGBM on {len(train.y)} rows ({int(train.y.sum())} positive)")
    config = replace(RISK_CONFIG, early_stopping=300, min_data_in_leaf=10)  # as bench.predict
    ev = train_evaluate(train, test=valid, seed=cfg.train_seed, config=config)
    model = ev.model
    model.threshold = _warn_threshold(
        valid.y, model.predict(model_matrix(valid.frame, model.feature_names)), cfg.precision
    )
    q = quality(
        test.y,
        model.predict(model_matrix(test.frame, model.feature_names)),
        test.lead_min,
        test.fault_id,
        threshold=model.threshold,
    )
    spec = replace(spec, alarm_types=_alarm_types(model))
    metrics: dict[str, float | int] = {
        k: (round(float(v), 4) if isinstance(v, float | np.floating) else int(v))
        for k, v in {
            **q.to_json("test_"),
            "threshold": model.threshold,
            "train_rows": ev.train_rows,
            "test_rows": len(test.y),
            "test_positive_rows": int(test.y.sum()),
            "horizon_min": cfg.horizon_min,
        }.items()
    }
    log.info("fault-risk model trained: %s", metrics)
    return TrainedPredictor(model, spec, metrics)


def predictor_or_load(
    path: Path,
    topology: Topology,
    catalogue: Catalogue,
    cfg: PredictorConfig = PredictorConfig(),
    *,
    progress: Callable[[str], None] | None = None,
) -> TrainedPredictor:
    """A cached predictor for this topology, catalogue and set-up, else a new one."""
    h = hashlib.sha256()
    h.update(repr(sorted(topology.feeds)).encode())
    h.update(repr(sorted(e.element_id for e in topology)).encode())
    h.update(repr(sorted(m.id for m in catalogue.modes)).encode())
    h.update(repr(cfg).encode())
    key = h.hexdigest()
    if path.is_file():
        try:
            with path.open("rb") as fh:
                stored_key, blob, spec, metrics = pickle.load(fh)  # noqa: S301 - our cache
            if stored_key == key:
                return TrainedPredictor(RiskModel.from_bytes(blob), spec, metrics)
        except (OSError, pickle.UnpicklingError, ValueError, EOFError, TypeError):
            log.warning("ignoring unreadable predictor cache %s", path)
    trained = train_predictor(topology, catalogue, cfg, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump((key, trained.model.to_bytes(), trained.spec, trained.metrics), fh)
    return trained


# --------------------------------------------------------------------- alerts
def _event(doc: Mapping[str, Any], base_url: str) -> AlertEvent:
    element, mode = str(doc["element"]), str(doc["failure_mode"])
    p, horizon = float(doc["probability"]), float(doc["horizon_min"])
    reasons = "; ".join(str(r.get("text", r.get("feature", ""))) for r in doc["explanation"][:3])
    summary = f"[TwinRCA] predicted {mode} on {element} within {horizon:g} min (p={p:.2f})"
    link = f"{base_url.rstrip('/')}/v1/predictions/{doc['prediction_id']}" if base_url else ""
    return AlertEvent(
        action="trigger",
        dedup_key=dedup_key(element, "PREDICTION", mode, str(doc["prediction_id"])),
        incident_id=str(doc["prediction_id"]),
        tenant=str(doc.get("tenant", "")),
        summary=(summary + (f"; because {reasons}" if reasons else ""))[:1024],
        source=element,
        severity=PerceivedSeverity.WARNING,
        alarm_type="QUALITY_OF_SERVICE_ALARM",
        probable_cause=mode,
        specific_problem="predicted fault",
        started_at=datetime.fromisoformat(str(doc["observed_at"])),
        ended_at=None,
        details={"event": "prediction", "mda_report": _mda(doc)},
        link=link,
    )


def _mda(doc: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("mDAType", "mDAOutputList", "analyticsWindow", "confidenceDegree")
    return {k: doc[k] for k in keys}


def prediction_alerts(
    store: Store, doc: Mapping[str, Any], *, base_url: str = ""
) -> list[tuple[str, dict[str, Any], str]]:
    """Outbox entries (destination, payload, key) of a new prediction for every active
    subscription to ``prediction`` events; the key makes a repeat enqueue nothing."""
    subs = [
        s
        for s in store.list_documents("subscription", where={"active": True})
        if "prediction" in s.get("events", ["incident"])
    ]
    out: list[tuple[str, dict[str, Any], str]] = []
    if not subs:
        return out
    ev = _event(doc, base_url)
    for s in subs:
        fmt, secret = s["format"], s.get("secret") or ""
        headers: dict[str, str] = {}
        if fmt == "3gpp":
            body = _mda(doc)
        elif fmt == "alertmanager":
            body = alertmanager_v4(ev)
            for alert in body["alerts"]:
                alert["labels"]["alertname"] = "TwinRCAFaultPrediction"
            body["commonLabels"]["alertname"] = "TwinRCAFaultPrediction"
        elif fmt == "pagerduty":
            body = pagerduty_v2(ev, routing_key=secret)
        elif fmt == "opsgenie":
            body = opsgenie(ev)
            body["tags"].append("prediction")
            headers["Authorization"] = f"GenieKey {secret}"
        else:
            body = {**generic_json(ev), "event": "prediction"}
        key = f"{doc['prediction_id']}|open|{s['subscription_id']}"
        out.append((s["url"], outbox_payload(fmt, body, headers), key))
    return out


# --------------------------------------------------------------------- serving
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
        warnings = [
            (BUILTIN, w)
            for w in score_frame(self.model, rows, threshold=self.threshold, explain=self.explain)
        ]
        for plugin in self.plugins:
            warnings += [(plugin.name, w) for w in self._plugin_warnings(plugin, rows)]
        warnings.sort(key=lambda sw: (sw[1].start, sw[1].element, sw[0]))
        new = self._record(warnings, now or utcnow())
        self._expire(done.max())
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

    def _expire(self, until: pd.Timestamp) -> None:
        for key, doc in list(self._open.items()):
            if pd.Timestamp(doc["window_end"]) < until:
                closed = {**doc, "status": "expired", "updated_at": utcnow().isoformat()}
                self.store.put_document("prediction", doc["prediction_id"], closed)
                del self._open[key]


def predictions_came_true(
    docs: Iterable[Mapping[str, Any]], events: pd.DataFrame, topology: Topology
) -> int:
    """How many predictions saw service loss (``events``: element, start) start on
    their element or on a cell it feeds inside their window: the model's own target."""
    starts = pd.to_datetime(events["start"], utc=True)
    n = 0
    for d in docs:
        lo, hi = pd.Timestamp(d["window_start"]), pd.Timestamp(d["window_end"])
        ahead = events["element"][(starts > lo) & (starts <= hi)]
        n += any(d["element"] == c or d["element"] in topology.ancestors(c) for c in ahead)
    return n
