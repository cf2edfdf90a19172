"""Training the diagnoser on labelled twin runs of the operator's network or of a
representative network of its kinds
(the twin's first use: labelled data on demand)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from twinrca.causal.diagnosis import BayesianDiagnoser, signature
from twinrca.core.mapper import Mapper, serial_map
from twinrca.core.records import RootCauseCandidate
from twinrca.core.topology import Topology
from twinrca.detect.detector import DetectedIncident, IncidentEvidence, detect_incidents
from twinrca.fmea.catalogue import Catalogue
from twinrca.training.cache import (
    cache_key,
    cached,
    catalogue_digest,
    code_version,
    kind_parameters,
    topology_digest,
)
from twinrca.training.neighbourhoods import (
    REPRESENTATIVE_CELLS,
    REPRESENTATIVE_DAYS,
    REPRESENTATIVE_FAULTS,
    representative_network,
    representative_seeds,
)
from twinrca.training.twin_data import AlarmNoise, alarm_frame, kpi_anomalies, match_faults
from twinrca.twin_replay.demand import Demand, generate_demand
from twinrca.twin_replay.generate import fault_labels, plant_faults
from twinrca.twin_replay.simulate import CellParams, SimResult, simulate

__all__ = [
    "TRAIN_ON",
    "TwinRun",
    "diagnose",
    "diagnoser_key",
    "labelled_run",
    "new_diagnoser",
    "representative_or_load",
    "train_diagnoser",
    "train_or_load",
    "training_cases",
    "training_network",
    "training_sets",
    "twin_run",
]

log = logging.getLogger(__name__)
#: bumped when the pickled diagnoser's attributes change (a cache of the old shape retrains)
_MODEL_VERSION = "fitted-state-v4-kinds"


def new_diagnoser(topology: Topology, catalogue: Catalogue) -> BayesianDiagnoser:
    """A diagnoser over the catalogue's primary modes, priors from FMEA occurrence."""
    return BayesianDiagnoser(
        topology,
        mode_kinds={m.id: str(m.element_kind) for m in catalogue if m.primary},
        mode_prior={m.id: float(m.occurrence) for m in catalogue if m.primary},
        alarm_vocab=sorted(
            {signature(r.probable_cause, r.specific_problem) for m in catalogue for r in m.alarms}
        ),
    )


def diagnose(
    diagnoser: BayesianDiagnoser,
    incidents: Iterable[DetectedIncident],
    *,
    top: int = 5,
) -> list[tuple[DetectedIncident, list[RootCauseCandidate], float]]:
    """Ranked candidates per incident, with the seconds diagnosis took."""
    out = []
    for inc in incidents:
        t0 = time.perf_counter()
        ranked = diagnoser.rank(inc.evidence, top=top)
        out.append((inc, ranked, time.perf_counter() - t0))
    return out


@dataclass(frozen=True, slots=True)
class TwinRun:
    """A twin run with planted faults, as detection sees it, with the run itself."""

    incidents: list[DetectedIncident]
    labels: pd.DataFrame
    match: dict[int, int]
    alarms: pd.DataFrame
    result: SimResult
    demand: Demand


def twin_run(
    seed: int,
    topology: Topology,
    catalogue: Catalogue,
    *,
    days: float = 3.0,
    faults: int = 70,
    noise: AlarmNoise | None = None,
    engine: str = "numba",
    params: CellParams | None = None,
) -> TwinRun:
    """A labelled twin run; ``params`` are the network's true cell parameters (default:
    the twin's own defaults)."""
    dem = generate_demand(topology, days=days, seed=seed)
    ivs = plant_faults(
        topology, catalogue, count=faults, steps=dem.steps, step_minutes=dem.step_minutes, seed=seed
    )
    res = simulate(topology, dem, ivs, seed=seed, catalogue=catalogue, engine=engine, params=params)
    labels = fault_labels(res, topology, catalogue, ivs)
    alarms = alarm_frame(res, topology, catalogue, noise=noise or AlarmNoise(), seed=seed)
    incidents = detect_incidents(alarms, topology, anomalies=kpi_anomalies(res))
    return TwinRun(incidents, labels, match_faults(incidents, labels), alarms, res, dem)


def labelled_run(
    seed: int,
    topology: Topology,
    catalogue: Catalogue,
    *,
    days: float = 3.0,
    faults: int = 70,
    noise: AlarmNoise | None = None,
    engine: str = "numba",
) -> tuple[list[DetectedIncident], pd.DataFrame, dict[int, int]]:
    """One twin run with planted faults: detected incidents, labels, label -> incident."""
    run = twin_run(seed, topology, catalogue, days=days, faults=faults, noise=noise, engine=engine)
    return run.incidents, run.labels, run.match


Case = tuple[IncidentEvidence, str, str]


@dataclass(frozen=True, slots=True)
class _RunPiece:
    """One twin run of a training job: what a worker needs to simulate it."""

    seed: int
    topology: Topology
    catalogue: Catalogue
    days: float
    faults: int


Outcome = tuple[IncidentEvidence, bool]


def _run_cases(piece: _RunPiece) -> tuple[list[Case], list[Outcome]]:
    """The training cases of one twin run and every incident with whether it holds
    no planted fault (a module-level function: it may run on a Dask worker)."""
    incidents, labels, match = labelled_run(
        piece.seed, piece.topology, piece.catalogue, days=piece.days, faults=piece.faults
    )
    out = []
    for li, ii in match.items():
        lab = labels.iloc[li]
        out.append((incidents[ii].evidence, str(lab.root_element), str(lab.mode_id)))
    used = set(match.values())
    outcomes = [(inc.evidence, i not in used) for i, inc in enumerate(incidents)]
    return out, outcomes


def training_cases(
    seeds: Iterable[int],
    topology: Topology,
    catalogue: Catalogue,
    *,
    days: float = 3.0,
    faults: int = 70,
    progress: Callable[[int], None] | None = None,
    mapper: Mapper = serial_map,
) -> list[Case]:
    """(evidence, root element, mode) of every matched fault of one twin run per seed;
    the runs are the pieces handed to ``mapper`` (same cases, in seed order, for any)."""
    cases, _ = training_sets(
        seeds, topology, catalogue, days=days, faults=faults, progress=progress, mapper=mapper
    )
    return cases


def training_sets(
    seeds: Iterable[int],
    topology: Topology,
    catalogue: Catalogue,
    *,
    days: float = 3.0,
    faults: int = 70,
    progress: Callable[[int], None] | None = None,
    mapper: Mapper = serial_map,
) -> tuple[list[Case], list[Outcome]]:
    """The labelled fault incidents of twin runs (evidence, root, mode) and every
    incident with whether it holds no planted fault (a condition, for the outcome)."""
    seeds = list(seeds)
    pieces = [_RunPiece(s, topology, catalogue, days, faults) for s in seeds]
    cases: list[Case] = []
    outcomes: list[Outcome] = []
    for seed, (got, outs) in zip(seeds, mapper(_run_cases, pieces), strict=True):
        cases += got
        outcomes += outs
        if progress:
            progress(seed)
    return cases, outcomes


def train_diagnoser(
    topology: Topology,
    catalogue: Catalogue,
    *,
    seeds: Iterable[int] = (1, 2, 3),
    days: float = 3.0,
    faults: int = 70,
    progress: Callable[[int], None] | None = None,
    mapper: Mapper = serial_map,
) -> BayesianDiagnoser:
    cases, outcomes = training_sets(
        seeds, topology, catalogue, days=days, faults=faults, progress=progress, mapper=mapper
    )
    return new_diagnoser(topology, catalogue).fit(cases).fit_conditions(outcomes)


#: what the diagnoser's twin runs simulate: the operator's whole network, or the
#: representative network (:func:`twinrca.training.neighbourhoods.representative_network`)
TRAIN_ON = ("representative", "full")


def training_network(topology: Topology, train_on: str = "representative") -> Topology:
    """The network the diagnoser's twin runs simulate for ``topology``."""
    if train_on not in TRAIN_ON:
        raise ValueError(f"train_on must be one of {TRAIN_ON}, got {train_on!r}")
    return representative_network(topology) if train_on == "representative" else topology


def diagnoser_key(
    topology: Topology,
    catalogue: Catalogue,
    *,
    seeds: tuple[int, ...],
    days: float,
    faults: int,
    train_on: str = "full",
) -> str:
    """The cache key of a diagnoser trained for ``topology`` with this set-up: the code
    version, the catalogue, the element kinds' parameters and the set-up; trained on
    the representative network, not the topology (one model serves every network of
    the same kinds), trained on the full network, also the topology's digest."""
    where: tuple[object, ...] = (train_on, REPRESENTATIVE_CELLS)
    if train_on == "full":
        where = (train_on, topology_digest(topology))
    elif train_on not in TRAIN_ON:
        raise ValueError(f"train_on must be one of {TRAIN_ON}, got {train_on!r}")
    return cache_key(
        (
            code_version(),
            catalogue_digest(catalogue),
            kind_parameters(topology),
            where,
            (tuple(seeds), days, faults),
            _MODEL_VERSION,
        )
    )


def train_or_load(
    path: Path,
    topology: Topology,
    catalogue: Catalogue,
    *,
    seeds: tuple[int, ...] = (1, 2, 3),
    days: float = 3.0,
    faults: int = 70,
    train_on: str = "full",
    progress: Callable[[int], None] | None = None,
    mapper: Mapper = serial_map,
) -> BayesianDiagnoser:
    """A cached diagnoser for this topology, catalogue and training set-up, else a new
    one, bound to ``topology``. ``train_on="representative"``: the twin runs (``faults``
    planted faults each) simulate :func:`training_network`, a few neighbourhoods holding
    every kind of the topology, so training does not grow with the network and the
    cached model serves any topology of the same kinds (:func:`diagnoser_key`);
    ``"full"``: the runs simulate the topology itself."""
    key = diagnoser_key(
        topology, catalogue, seeds=seeds, days=days, faults=faults, train_on=train_on
    )
    model = cached(
        path,
        key,
        lambda: train_diagnoser(
            training_network(topology, train_on),
            catalogue,
            seeds=seeds,
            days=days,
            faults=faults,
            progress=progress,
            mapper=mapper,
        ),
        what="diagnoser",
    )
    return model.for_topology(topology)


def representative_or_load(
    cache_dir: Path,
    topology: Topology,
    catalogue: Catalogue,
    *,
    first_seed: int,
    progress: Callable[[int], None] | None = None,
    mapper: Mapper = serial_map,
) -> BayesianDiagnoser:
    """The product's diagnoser for ``topology``: trained on the representative runs
    (:data:`~twinrca.training.neighbourhoods.REPRESENTATIVE_RUNS` seeds from
    ``first_seed`` on) and cached by kind in ``cache_dir``, the one set-up that
    ``serve``, ``analyse`` and the demo share."""
    return train_or_load(
        Path(cache_dir) / "diagnoser-representative.pkl",
        topology,
        catalogue,
        seeds=representative_seeds(first_seed),
        days=REPRESENTATIVE_DAYS,
        faults=REPRESENTATIVE_FAULTS,
        train_on="representative",
        progress=progress,
        mapper=mapper,
    )
