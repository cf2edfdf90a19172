"""The local twin of an incident: the neighbourhood sub-topology, its parameters and demand.

Verification and what-if only need the part of the network a fault can touch: the
suspect elements, everything they feed, the neighbour cells of those cells, and every
ancestor of all of these (so protection paths, which need both parents, stay intact).
Cell parameters and demand rows are sliced from the full network's, so a cell behaves
the same in the local twin as in the full one (its neighbour compensation, say, was
fitted on the full neighbour list). Only node KPIs of elements whose descendants are
not all inside (an aggregation link seen through a few of its sites) differ: they are
listed outside :attr:`LocalTwin.complete` and must not be compared with observations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from twinrca.core.errors import ValidationError
from twinrca.core.topology import ElementKind, Topology
from twinrca.twin_replay.demand import Demand
from twinrca.twin_replay.simulate import CellParams

__all__ = ["LocalTwin", "extend_demand", "local_twin", "neighbourhood"]


@dataclass(frozen=True, slots=True)
class LocalTwin:
    """A sub-topology with the cell parameters (and demand) of its cells."""

    topology: Topology
    params: CellParams
    demand: Demand | None
    complete: frozenset[str]


def neighbourhood(topology: Topology, seeds: Iterable[str]) -> Topology:
    """The sub-topology around ``seeds``: seeds, descendants, neighbour cells, ancestors."""
    core: set[str] = set()
    for e in seeds:
        core |= {e} | topology.descendants(e)
    for c in [e for e in core if topology.element(e).kind == ElementKind.CELL]:
        core |= topology.neighbours(c)
    keep = set(core)
    for e in core:
        keep |= topology.ancestors(e)
    elements = [el for el in topology if el.element_id in keep]
    feeds = [(u, d) for u, d in topology.feeds if u in keep and d in keep]
    pairs = [(a, b) for a, b in topology.neighbour_pairs if a in keep and b in keep]
    return Topology(elements, feeds, pairs)


def _cell_rows(topology: Topology, sub: Topology) -> np.ndarray:
    pos = {c: i for i, c in enumerate(topology.ids(ElementKind.CELL))}
    return np.array([pos[c] for c in sub.ids(ElementKind.CELL)], dtype=np.int64)


def _slice_params(params: CellParams, rows: np.ndarray) -> CellParams:
    return CellParams(
        *(
            np.ascontiguousarray(getattr(params, f)[rows])
            for f in ("capacity", "scale", "sensitivity", "noise", "compensation")
        )
    )


def _slice_demand(demand: Demand, topology: Topology, sub: Topology, rows: np.ndarray) -> Demand:
    if tuple(demand.cell_ids) != tuple(topology.ids(ElementKind.CELL)):
        raise ValidationError("demand_mismatch", "demand rows do not match the topology's cells")
    return Demand(
        demand.start,
        demand.step_minutes,
        np.ascontiguousarray(demand.offered[rows]),
        tuple(sub.ids(ElementKind.CELL)),
    )


def local_twin(
    topology: Topology,
    seeds: Iterable[str],
    *,
    params: CellParams | None = None,
    demand: Demand | None = None,
) -> LocalTwin:
    """Neighbourhood of ``seeds`` with sliced parameters and demand (``None`` stays ``None``)."""
    sub = neighbourhood(topology, seeds)
    rows = _cell_rows(topology, sub)
    full_params = params or CellParams.default(topology)
    if len(full_params.capacity) != len(topology.ids(ElementKind.CELL)):
        raise ValidationError("params_mismatch", "cell parameters do not match the topology")
    inside = set(sub.ids())
    complete = frozenset(e for e in inside if topology.descendants(e) <= inside)
    local_demand = None if demand is None else _slice_demand(demand, topology, sub, rows)
    return LocalTwin(sub, _slice_params(full_params, rows), local_demand, complete)


def extend_demand(demand: Demand, start_step: int, steps: int) -> Demand:
    """Steps ``[start_step, start_step + steps)`` of ``demand``; steps past its end repeat
    the same time of day of the last day recorded (a seasonal-naive forecast)."""
    if start_step < 0 or start_step >= demand.steps:
        raise ValidationError("bad_window", f"step {start_step} is outside the demand")
    per_day = 1440 // demand.step_minutes
    wanted = np.arange(start_step, start_step + steps)
    src = wanted.copy()
    late = src >= demand.steps
    if late.any():
        back = np.ceil((src[late] - demand.steps + 1) / per_day).astype(np.int64) * per_day
        src[late] = np.clip(src[late] - back, 0, demand.steps - 1)
    return Demand(
        demand.start + timedelta(minutes=demand.step_minutes * start_step),
        demand.step_minutes,
        np.ascontiguousarray(demand.offered[:, src]),
        demand.cell_ids,
    )
