"""A batch of what-if replays (many causes at once: a storm's incidents, a bench, a
what-if study) handed to a :data:`~twinrca.core.mapper.Mapper`.

Each cause is one piece: one :func:`~twinrca.twin_replay.whatif.what_if` call, the
Monte Carlo scenarios of all its options in one simulation of its neighbourhood.
The result of a piece depends on its cause and seed only, so a Dask cluster returns
exactly what the built-in ``map`` does. Each piece carries the full network's
``demand`` (a cause's neighbourhood is cut out on the worker): 4 bytes per cell and
period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twinrca.core.mapper import Mapper, serial_map
from twinrca.core.topology import Topology
from twinrca.fmea.catalogue import Catalogue, load_catalogue
from twinrca.twin_replay.demand import Demand
from twinrca.twin_replay.simulate import CellParams
from twinrca.twin_replay.whatif import RemediationOutcome, what_if

__all__ = ["WhatIfCase", "what_if_batch"]


@dataclass(frozen=True, slots=True)
class WhatIfCase:
    """One cause to replay: ``(element, mode id)``, now and the fault's start (steps of
    the demand), its Monte Carlo seed."""

    cause: tuple[str, str]
    now_step: int
    fault_start_step: int | None = None
    seed: int = 0


@dataclass(frozen=True, slots=True)
class _Piece:
    case: WhatIfCase
    topology: Topology
    demand: Demand
    params: CellParams | None
    scenarios: int
    horizon_steps: int | None
    catalogue: Catalogue
    engine: str


def _replay(piece: _Piece) -> list[RemediationOutcome]:
    c = piece.case
    return what_if(
        piece.topology,
        c.cause,
        now_step=c.now_step,
        demand=piece.demand,
        params=piece.params,
        scenarios=piece.scenarios,
        seed=c.seed,
        horizon_steps=piece.horizon_steps,
        fault_start_step=c.fault_start_step,
        catalogue=piece.catalogue,
        engine=piece.engine,
    )


def what_if_batch(
    topology: Topology,
    cases: Sequence[WhatIfCase],
    *,
    demand: Demand,
    params: CellParams | None = None,
    scenarios: int = 64,
    horizon_steps: int | None = None,
    catalogue: Catalogue | None = None,
    engine: str = "numba",
    mapper: Mapper = serial_map,
) -> list[list[RemediationOutcome]]:
    """The ranked outcomes of each case, in the order of ``cases`` (see ``what_if``)."""
    catalogue = catalogue or load_catalogue()
    pieces = [
        _Piece(c, topology, demand, params, scenarios, horizon_steps, catalogue, engine)
        for c in cases
    ]
    return list(mapper(_replay, pieces))
