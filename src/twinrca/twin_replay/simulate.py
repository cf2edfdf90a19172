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
from twinrca.twin_replay import thresholds as _thresholds
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


_OUTAGE = np.array([0, 1, 1, 1, 0, 0, 0, 0, 0], dtype=np.float32)
_COMPENSATION = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0.35], dtype=np.float32)


class _Entries:
    """Effect segments gathered as blocks of cells sharing one (scenario, window, effect)."""

    def __init__(self) -> None:
        self.blocks: list[tuple[int, np.ndarray, int, int, float, int]] = []
        self.params: list[np.ndarray] = []
        self._param_ids: dict[object, int] = {}

    def param(self, key: object, make) -> int:
        if key not in self._param_ids:
            self._param_ids[key] = len(self.params)
            self.params.append(make())
        return self._param_ids[key]

    def add(self, s: int, cells: np.ndarray, a: int, b: int, ramp: float, par: int) -> None:
        if b > a and len(cells):
            self.blocks.append((s, cells, a, b, ramp, par))

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Columns ``(scenario, cell, start, end, ramp, param index)`` and the param table."""
        if not self.blocks:
            z = np.zeros(0, np.int64)
            return (
                z,
                z,
                z.astype(np.int32),
                z.astype(np.int32),
                z.astype(np.float32),
                z,
                (np.zeros((0, len(EFFECT_PARAMS)), np.float32)),
            )
        n = np.array([len(b[1]) for b in self.blocks])
        rep = lambda i, dt: np.repeat(np.array([b[i] for b in self.blocks], dtype=dt), n)  # noqa: E731
        return (
            rep(0, np.int64),
            np.concatenate([b[1] for b in self.blocks]).astype(np.int64),
            rep(2, np.int32),
            rep(3, np.int32),
            rep(4, np.float32),
            rep(5, np.int64),
            np.array(self.params, dtype=np.float32).reshape(-1, len(EFFECT_PARAMS)),
        )


def _fault_targets(
    f: FaultInstance, cell_index: dict[str, int], cache: dict
) -> list[tuple[np.ndarray, object]]:
    """(cell positions, effect) groups a fault acts on, cached per (mode, spread)."""
    key = (f.mode.id, id(f.spread))  # spreads are shared per (mode, root) by expand
    if key not in cache:
        m = f.mode
        groups = [
            ((f.root,), m.root_effect),
            (f.spread.descendants, m.descendant_effect),
            (f.spread.neighbours, m.neighbour_effect),
        ]
        out = []
        for els, eff in groups:
            if eff.is_neutral:
                continue
            pos = np.array([cell_index[e] for e in els if e in cell_index], dtype=np.int64)
            if len(pos):
                out.append((pos, eff))
        cache[key] = out
    return cache[key]


def _extra_cells(
    element: str, topology: Topology, cell_index: dict[str, int], cache: dict
) -> np.ndarray:
    if element not in cache:
        el = topology.element(element)
        cells = (
            [element]
            if el.kind == ElementKind.CELL
            else [d for d in topology.descendants(element) if d in cell_index]
        )
        cache[element] = np.array(sorted(cell_index[c] for c in cells), dtype=np.int64)
    return cache[element]


def _cell_entries(
    faults: list[FaultInstance], extras: list, cell_index: dict[str, int], topology: Topology
) -> tuple[np.ndarray, ...]:
    """Every cell effect segment, as columns (see :meth:`_Entries.arrays`): the targets
    of a fault and their effect vectors are computed once per (mode, spread) and
    (effect, scale), not once per scenario and cell."""
    ent = _Entries()
    targets: dict = {}
    for f in faults:
        segs = [(f.start, f.end if f.residual_from is None else f.residual_from, f.ramp, 1.0)]
        if f.residual_from is not None:
            segs.append((f.residual_from, f.end, 1, f.residual))
        for pos, eff in _fault_targets(f, cell_index, targets):
            for a, b, ramp, scale in segs:
                par = ent.param((eff, scale), lambda e=eff, x=scale: effect_vector(e, x))
                ent.add(f.scenario, pos, a, b, float(ramp), par)
    cells_of: dict = {}
    for s, what, a, b, iv in extras:
        pos = _extra_cells(iv.element, topology, cell_index, cells_of)
        vec = _OUTAGE if what == "outage" else _COMPENSATION
        ent.add(s, pos, a, b, 1.0, ent.param(what, lambda v=vec: v))
    return ent.arrays()


def _csr(columns: tuple[np.ndarray, ...], scenarios: int, cells: int) -> tuple[np.ndarray, ...]:
    scen, cell, start, end, ramp, par_idx, table = columns
    order = np.lexsort((start, cell, scen))
    key = scen[order] * cells + cell[order]
    off = np.searchsorted(key, np.arange(scenarios * cells + 1)).astype(np.int64)
    return (
        off,
        np.ascontiguousarray(start[order]),
        np.ascontiguousarray(end[order]),
        np.ascontiguousarray(ramp[order]),
        np.ascontiguousarray(table[par_idx[order]]),
    )


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
    threshold_alarms: bool = True,
) -> SimResult:
    """Run ``scenarios`` Monte Carlo scenarios of the twin with the interventions.

    Alarms are the catalogue's rules for the faults plus, with ``full=True`` and
    ``threshold_alarms``, KPI-threshold alarms (:mod:`twinrca.twin_replay.thresholds`).
    """
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
    kpis = (
        node_kpis(
            topology,
            out,
            faults,
            catalogue,
            start=demand.start,
            step_minutes=demand.step_minutes,
            seed=seed,
        )
        if full
        else None
    )
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
    if kpis is not None and threshold_alarms:
        extra = _thresholds.threshold_alarms(
            kpis,
            tuple(topology.ids()),
            KPI_NAMES,
            topology,
            table,
            step_minutes=demand.step_minutes,
        )
        if len(extra):
            table = (
                pd.concat([table, extra], ignore_index=True)
                .sort_values(["scenario", "raise_min", "element_id"], kind="stable")
                .reset_index(drop=True)
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
