"""The service's fault-risk model: LightGBM trained on labelled twin runs of the
tenant's own topology (scored by :class:`twinrca.runtime.forecasting.Forecaster`).

- :func:`train_predictor` / :func:`predictor_or_load`: twin runs with planted faults on
  the topology, turned into exactly what the store holds after ingest (the PM rows of
  :func:`~twinrca.twin_replay.generate.kpi_rows`, the alarm rows of
  :func:`~twinrca.training.twin_data.alarm_frame`), features and labels ("service loss
  (a cell's availability < 50 %) starts on the element or on a cell it feeds within the
  horizon"), a model fitted on one seed and scored on an unseen one (the card's metrics);
  cached per topology like the diagnoser.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from twinrca.core.mapper import Mapper, serial_map
from twinrca.core.topology import ElementKind, Topology
from twinrca.fmea.catalogue import Catalogue
from twinrca.predict.features import FeatureSpec, windows_for
from twinrca.predict.pipeline import Dataset, pool_runs, prepare, train_evaluate
from twinrca.predict.risk import RISK_CONFIG, RiskModel
from twinrca.predict.scenario import TWIN_FAILURE_LEVELS, service_loss_events, target_events
from twinrca.training.cache import (
    cache_key,
    cached,
    catalogue_digest,
    code_version,
    kind_parameters,
    topology_digest,
)

__all__ = [
    "ROW_KINDS",
    "PredictorConfig",
    "TrainedPredictor",
    "feature_alarms",
    "predictor_key",
    "predictor_or_load",
    "train_predictor",
    "training_topology",
    "wide_kpis",
]

log = logging.getLogger(__name__)

ROW_KINDS = (ElementKind.CELL, ElementKind.SITE, ElementKind.TRANSPORT)


@dataclass(frozen=True, slots=True)
class PredictorConfig:
    """How the service's risk model is trained (twin runs) and its features built."""

    horizon_min: float = 60.0
    windows: tuple[int, ...] | None = None  # None: windows_for(the data's period)
    seasonal_days: int = 1
    train_seed: int = 201
    valid_seed: int = 202
    test_seed: int = 203
    # announced faults are few per run: the hazard trains on a pool of runs (seeds
    # train_seed, train_seed + 10, ...) and is stopped, calibrated and thresholded on a
    # pool of others (valid_seed, valid_seed + 10, ...), its threshold reaching the
    # precision on *each* of them (as bench.predict's hazard)
    train_runs: int = 3
    valid_runs: int = 2
    days: float = 4.0
    faults: int | None = None  # default: max(60, cells // 4)
    # warn at the lowest risk reaching this precision on the threshold run (else at its
    # best F1)
    precision: float = 0.8
    # the target: onsets of the modes the FMEA catalogue flags announceable only (sudden
    # ones no data announces; they stay negatives), calibrated on the threshold run
    announced_only: bool = True
    # larger topologies train on the sub-network of their first sites (sorted ids) with
    # about this many cells: the features are local (element, neighbours, parents)
    max_cells: int = 160

    def seeds(self) -> tuple[tuple[str, int], ...]:
        """(role, seed) of every twin run: train, threshold (validation) and test."""
        return (
            *(("train", self.train_seed + 10 * k) for k in range(self.train_runs)),
            *(("threshold", self.valid_seed + 10 * k) for k in range(self.valid_runs)),
            ("test", self.test_seed),
        )

    def spec(self, period_min: int) -> FeatureSpec:
        return FeatureSpec(
            period_min=period_min,
            windows=self.windows or windows_for(period_min),
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
def _dataset_piece(
    piece: tuple[int, Topology, Catalogue, PredictorConfig],
) -> tuple[Dataset, FeatureSpec]:
    """:func:`_dataset` of one ``(seed, topology, catalogue, cfg)`` (a Dask piece), its
    features as float32: the training pools them as float32 anyway (:func:`pool_runs`),
    and a 4-day run of a ~500-cell training network is ~250k rows x ~900 features, 1.8
    GB in float64, six of them held by ``serve`` at once."""
    ds, spec = _dataset(*piece)
    return replace(ds, frame=ds.frame.astype(dict.fromkeys(ds.names, np.float32))), spec


def _dataset(
    seed: int, topology: Topology, catalogue: Catalogue, cfg: PredictorConfig
) -> tuple[Dataset, FeatureSpec]:
    from twinrca.training.twin_data import AlarmNoise, alarm_frame
    from twinrca.twin_replay.demand import generate_demand
    from twinrca.twin_replay.generate import fault_labels, kpi_rows, plant_faults
    from twinrca.twin_replay.simulate import simulate

    cells = topology.ids(ElementKind.CELL)
    dem = generate_demand(topology, days=cfg.days, seed=seed)
    faults = cfg.faults if cfg.faults is not None else max(60, len(cells) // 4)
    ivs = plant_faults(
        topology, catalogue, count=faults, steps=dem.steps, step_minutes=dem.step_minutes, seed=seed
    )
    res = simulate(topology, dem, ivs, seed=seed, catalogue=catalogue)
    planted = fault_labels(res, topology, catalogue, ivs)
    for col in ("start", "end"):
        planted[col] = pd.to_datetime(planted[col], utc=True)
    kpis = wide_kpis(kpi_rows(res, topology))
    alarms = feature_alarms(alarm_frame(res, topology, catalogue, noise=AlarmNoise(), seed=seed))
    spec = cfg.spec(res.step_minutes)
    rows = [e.element_id for e in topology if e.kind in ROW_KINDS]
    events = service_loss_events(kpis, cells, planted, kpi="availability", below=50.0)
    ds = prepare(
        kpis,
        target_events(events, topology, rows),
        spec=spec,
        horizon_min=cfg.horizon_min,
        alarms=alarms,
        topology=topology,
        elements=rows,
    )
    return ds, spec


def _announced(modes: np.ndarray, catalogue: Catalogue) -> np.ndarray:
    names = {m.id for m in catalogue.announceable()}
    return np.array([m in names for m in modes], dtype=int)


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


#: as bench.predict: the held-out run holds few incidents, more patience before stopping
_CONFIG = replace(RISK_CONFIG, early_stopping=300, min_data_in_leaf=10)


def _announced_model(
    train: Dataset,
    valid: Dataset,
    runs: np.ndarray,
    catalogue: Catalogue,
    cfg: PredictorConfig,
    say: Callable[[str], None],
) -> RiskModel:
    """The announced-mode hazard (:func:`twinrca.predict.hazard_fit.fit_hazard`: trained on
    every row of the pooled training runs, stopped early on the pooled threshold runs,
    which hold announced faults) as the service's model: Platt on the threshold runs for
    the announced target, the warning threshold the lowest probability reaching the
    precision on each threshold run (``runs``: the run of each row), the mode classifier
    on the training runs' positives."""
    from twinrca.predict.gbm import PlattCalibrator
    from twinrca.predict.hazard_fit import fit_hazard, mode_target, threshold_on_runs
    from twinrca.predict.risk import fit_modes

    names = {m.id for m in catalogue.announceable()}
    target = mode_target(train, names)
    say(f"fitting LightGBM on {len(train.y)} rows ({int(target.sum())} announced positive)")
    hz = fit_hazard(
        train,
        valid,
        modes=names,
        seed=cfg.train_seed,
        config=_CONFIG,
        precision=cfg.precision,
        runs=runs,
    )
    margin = hz.raw(valid.frame)
    calibrator = PlattCalibrator.fit(margin, mode_target(valid, names))
    model = RiskModel(
        feature_names=list(train.names),
        booster=hz.booster,
        calibrator=calibrator,
        threshold=threshold_on_runs(valid.y, calibrator(margin), runs, cfg.precision),
        horizon_min=train.horizon_min,
        gap_min=train.gap_min,
        period_min=train.period_min,
        schema=dict(train.schema),
    )
    rows = np.ones(len(target), dtype=bool)
    fit_modes(model, train.x, target, train.mode, rows, seed=cfg.train_seed, config=_CONFIG)
    return model


def training_topology(topology: Topology, max_cells: int) -> Topology:
    """``topology`` itself when small enough, else the neighbourhood (cells, neighbour
    cells, feeding transport and core) of its first sites holding ~``max_cells`` cells."""
    from twinrca.twin_replay import neighbourhood

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
    mapper: Mapper = serial_map,
) -> TrainedPredictor:
    """Twin runs of the topology with the seeds of :meth:`PredictorConfig.seeds`: fit on
    the pooled training runs (the announced-mode hazard: early stopping, calibration and
    the warning threshold on the pooled threshold runs, :func:`_announced_model`),
    measure on the test run. The runs are the pieces handed to ``mapper``."""
    from twinrca.predict.evaluate import quality
    from twinrca.predict.risk import model_matrix

    say = progress or (lambda _msg: None)
    topology = training_topology(topology, cfg.max_cells)
    roles = cfg.seeds()
    say("twin runs for " + ", ".join(f"{role} (seed {seed})" for role, seed in roles))
    pieces = [(seed, topology, catalogue, cfg) for _, seed in roles]
    built = list(mapper(_dataset_piece, pieces))
    by_role: dict[str, list[Dataset]] = {}
    for (role, _), (ds, _spec) in zip(roles, built, strict=True):
        by_role.setdefault(role, []).append(ds)
    spec = built[0][1]
    del built  # the pooled copies below replace the runs (memory: see _dataset_piece)
    sizes = [len(v.y) for v in by_role["threshold"]]
    train, valid = pool_runs(by_role.pop("train")), pool_runs(by_role.pop("threshold"))
    runs = np.repeat(np.arange(len(sizes)), sizes)
    test = by_role["test"][0]
    if cfg.announced_only:
        model = _announced_model(train, valid, runs, catalogue, cfg, say)
    else:
        say(f"fitting LightGBM on {len(train.y)} rows ({int(train.y.sum())} positive)")
        model = train_evaluate(train, test=valid, seed=cfg.train_seed, config=_CONFIG).model
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
            "train_rows": len(train.y),
            "test_rows": len(test.y),
            "test_positive_rows": int(test.y.sum()),
            "horizon_min": cfg.horizon_min,
        }.items()
    }
    log.info("fault-risk model trained: %s", metrics)
    return TrainedPredictor(model, spec, metrics)


def predictor_key(topology: Topology, catalogue: Catalogue, cfg: PredictorConfig) -> str:
    """The cache key of the predictor :func:`train_predictor` makes for ``topology``:
    the code version, the catalogue, the element kinds' parameters and the network it
    trains on (:func:`training_topology`: the topology itself when it is small)."""
    trained_on = training_topology(topology, cfg.max_cells)
    return cache_key(
        (
            code_version(),
            catalogue_digest(catalogue),
            kind_parameters(trained_on),
            topology_digest(trained_on),
            cfg,
        )
    )


def predictor_or_load(
    path: Path,
    topology: Topology,
    catalogue: Catalogue,
    cfg: PredictorConfig = PredictorConfig(),
    *,
    progress: Callable[[str], None] | None = None,
    mapper: Mapper = serial_map,
) -> TrainedPredictor:
    """A cached predictor for this topology, catalogue and set-up, else a new one.
    Its key (:func:`predictor_key`) holds the training neighbourhood, not the whole
    topology: two networks whose first sites' neighbourhoods match share the model."""
    key = predictor_key(topology, catalogue, cfg)
    return cached(
        path,
        key,
        lambda: train_predictor(topology, catalogue, cfg, progress=progress, mapper=mapper),
        what="predictor",
        dump=lambda t: (t.model.to_bytes(), t.spec, t.metrics),
        load=lambda p: TrainedPredictor(RiskModel.from_bytes(p[0]), p[1], p[2]),
    )
