"""The replay API: simulate a topology and demand with interventions, many scenarios at once.

>>> result = simulate(topo, demand, [Intervention("fault", "FM-RAN-BOARD", "site:3", 10, 40)],
...                   scenarios=8, seed=1)
>>> result.kpis.shape          # [scenario, element, step, kpi]  (element order: topology.ids())
>>> result.series("cell:3-1-L08", "availability", scenario=0)
>>> result.alarm_records(0)    # X.733 / 3GPP Alarm records, raise and clear

``full=False`` skips the full KPI array and keeps only per-(scenario, cell) means
(``cell_agg``): the fast path for what-if ranking over many scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from twinrca.core.errors import ConfigError, ValidationError
from twinrca.core.records import Alarm, LogEvent
from twinrca.core.topology import ElementKind, Topology
from twinrca.fmea.catalogue import Catalogue, load_catalogue
from twinrca.twin_replay import alarms as _alarms
from twinrca.twin_replay.demand import Demand
from twinrca.twin_replay.effects import FaultInstance, Intervention, effect_vector, expand
from twinrca.twin_replay.kernel import CELL_KPIS, EFFECT_PARAMS, cell_kernel, cell_reference
from twinrca.twin_replay.network_kpis import NODE_KPIS, node_kpis

__all__ = ["KPI_NAMES", "CellParams", "SimResult", "TwinState", "simulate"]

KPI_NAMES: tuple[str, ...] = CELL_KPIS + NODE_KPIS


@dataclass(frozen=True, slots=True)
class CellParams:
    """Per-cell model parameters (what calibration fits), arrays in cell order."""

    capacity: np.ndarray
    scale: np.ndarray
    sensitivity: np.ndarray
    noise: np.ndarray
    compensation: np.ndarray

    @classmethod
    def default(cls, topology: Topology, noise: float = 0.06) -> CellParams:
        cells = topology.ids(ElementKind.CELL)
        cap = np.array(
            [float(topology.element(c).attrs.get("capacity_mbps", 100.0)) for c in cells]
        )
        comp = np.array([min(0.6, 0.08 * len(topology.neighbours(c))) for c in cells])
        ones = np.ones(len(cells))
        return cls(
            cap.astype(np.float32),
            ones.astype(np.float32),
            ones.astype(np.float32),
            (noise * ones).astype(np.float32),
            comp.astype(np.float32),
        )


@dataclass(frozen=True, slots=True)
class TwinState:
    """Faults already under way at the start of a run (start steps <= 0)."""

    active: tuple[Intervention, ...] = ()


@dataclass(frozen=True, slots=True)
class SimResult:
    """KPI and alarm arrays of a run."""

    start: datetime
    step_minutes: int
    scenarios: int
    steps: int
    element_ids: tuple[str, ...]
    cell_ids: tuple[str, ...]
    kpi_names: tuple[str, ...]
    kpis: np.ndarray | None  # float32 [S, E, T, K], NaN where a KPI does not apply
    cell_agg: np.ndarray  # float32 [S, C, len(CELL_KPIS)], means over the run
    alarms: pd.DataFrame  # alarm_table rows
    faults: list[FaultInstance] = field(default_factory=list)
    interventions: tuple[Intervention, ...] = ()

    def series(self, element_id: str, kpi: str, scenario: int = 0) -> np.ndarray:
        if self.kpis is None:
            raise ConfigError("this result has no full KPI array", hint="simulate(..., full=True)")
        return self.kpis[scenario, self.element_ids.index(element_id), :, self.kpi_names.index(kpi)]

    def time(self, step: int) -> datetime:
        return self.start + timedelta(minutes=self.step_minutes * (step + 1))

    def alarm_records(self, scenario: int = 0) -> list[Alarm]:
        return _alarms.alarm_records(self.alarms, self.start, scenario=scenario)

    def log_events(self, scenario: int = 0) -> list[LogEvent]:
        return _alarms.log_events(
            self.faults,
            self.start,
            step_minutes=self.step_minutes,
            steps=self.steps,
            scenario=scenario,
        )

    def active_alarms(self, scenario: int = 0) -> np.ndarray:
        """Bool ``[element, step]``: some alarm is raised on the element during the step."""
        out = np.zeros((len(self.element_ids), self.steps), dtype=bool)
        index = {e: i for i, e in enumerate(self.element_ids)}
        for r in self.alarms[self.alarms["scenario"] == scenario].itertuples(index=False):
            hi = self.steps if r.clear_step < 0 else r.clear_step + 1
            out[index[r.element_id], r.raise_step : hi] = True
        return out

    def state_at(self, step: int, scenario: int = 0) -> TwinState:
        """The faults active at ``step``, re-based so a new run can start there."""
        active = []
        for f in self.faults:
            if f.scenario == scenario and f.start <= step < f.end and f.mode.primary:
                iv = self.interventions[f.source]
                end = None if iv.end_step is None else iv.end_step - step
                active.append(Intervention("fault", f.mode.id, f.root, f.start - step, end))
        return TwinState(tuple(dict.fromkeys(active)))


def _cell_entries(
    faults: list[FaultInstance], extras: list, cell_index: dict[str, int], topology: Topology
) -> list[tuple[int, int, int, int, float, np.ndarray]]:
    """(scenario, cell, start, end, ramp, params) for every cell effect segment."""
    out = []
    for f in faults:
        m = f.mode
        targets = (
            [(f.root, m.root_effect)]
            + [(d, m.descendant_effect) for d in f.spread.descendants]
            + [(n, m.neighbour_effect) for n in f.spread.neighbours]
        )
        segs = [(f.start, f.end if f.residual_from is None else f.residual_from, f.ramp, 1.0)]
        if f.residual_from is not None:
            segs.append((f.residual_from, f.end, 1, f.residual))
        for el, eff in targets:
            c = cell_index.get(el)
            if c is None or eff.is_neutral:
                continue
            for a, b, ramp, scale in segs:
                if b > a:
                    out.append((f.scenario, c, a, b, float(ramp), effect_vector(eff, scale)))
    for s, what, a, b, iv in extras:
        el = topology.element(iv.element)
        cells = (
            [iv.element]
            if el.kind == ElementKind.CELL
            else [d for d in topology.descendants(iv.element) if d in cell_index]
        )
        par = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0], dtype=np.float32)
        if what == "outage":
            par[0] = 0.0
        else:
            par[EFFECT_PARAMS.index("comp_add")] = 0.35
        out += [(s, cell_index[c], a, b, 1.0, par) for c in cells if b > a]
    return out


def _csr(entries: list, scenarios: int, cells: int) -> tuple[np.ndarray, ...]:
    entries = sorted(entries, key=lambda e: (e[0], e[1], e[2]))
    key = np.array([e[0] * cells + e[1] for e in entries], dtype=np.int64)
    off = np.searchsorted(key, np.arange(scenarios * cells + 1)).astype(np.int64)
    start = np.array([e[2] for e in entries], dtype=np.int32)
    end = np.array([e[3] for e in entries], dtype=np.int32)
    ramp = np.array([e[4] for e in entries], dtype=np.float32)
    par = np.array([e[5] for e in entries], dtype=np.float32).reshape(
        len(entries), len(EFFECT_PARAMS)
    )
    return off, start, end, ramp, par


def _engine(name: str):
    if name == "numba":
        return cell_kernel
    if name == "numpy":
        return cell_reference
    raise ConfigError(f"unknown twin engine {name!r}", hint="use 'numba' or 'numpy'")


def simulate(
    topology: Topology,
    demand: Demand,
    interventions: list[Intervention] | tuple = (),
    *,
    scenarios: int = 1,
    start_state: TwinState | None = None,
    seed: int = 0,
    params: CellParams | None = None,
    catalogue: Catalogue | None = None,
    engine: str = "numba",
    full: bool = True,
) -> SimResult:
    """Run ``scenarios`` Monte Carlo scenarios of the twin with the interventions."""
    cells = topology.ids(ElementKind.CELL)
    if tuple(cells) != tuple(demand.cell_ids):
        raise ValidationError("demand_mismatch", "demand rows do not match the topology's cells")
    if scenarios < 1:
        raise ValidationError("bad_scenarios", "scenarios must be >= 1")
    catalogue = catalogue or load_catalogue()
    params = params or CellParams.default(topology)
    ivs = list(start_state.active if start_state else ()) + list(interventions)
    steps = demand.steps
    faults, extras = expand(
        topology,
        catalogue,
        ivs,
        scenarios=scenarios,
        steps=steps,
        step_minutes=demand.step_minutes,
        seed=seed,
    )
    cell_index = {c: i for i, c in enumerate(cells)}
    csr = _csr(_cell_entries(faults, extras, cell_index, topology), scenarios, len(cells))
    out = np.zeros(
        (scenarios, len(cells), steps, len(CELL_KPIS)) if full else (0, 0, 0, len(CELL_KPIS)),
        dtype=np.float32,
    )
    agg = np.zeros((scenarios, len(cells), len(CELL_KPIS)), dtype=np.float32)
    _engine(engine)(
        np.ascontiguousarray(demand.offered, dtype=np.float32),
        params.capacity,
        params.scale,
        params.sensitivity,
        params.noise,
        params.compensation,
        *csr,
        np.uint64(seed & 0xFFFFFFFFFFFFFFFF),
        out,
        agg,
    )
    kpis = node_kpis(topology, out, faults, catalogue) if full else None
    outages = [
        (s, c, a, b)
        for s, what, a, b, iv in extras
        if what == "outage"
        for c in (
            [iv.element]
            if iv.element in cell_index
            else [d for d in topology.descendants(iv.element) if d in cell_index]
        )
    ]
    table = _alarms.alarm_table(
        faults, topology, step_minutes=demand.step_minutes, steps=steps, outages=outages
    )
    return SimResult(
        demand.start,
        demand.step_minutes,
        scenarios,
        steps,
        tuple(topology.ids()),
        tuple(cells),
        KPI_NAMES,
        kpis,
        agg,
        table,
        faults,
        tuple(ivs),
    )
