"""The one callable shape that batch work is handed: ``map``.

Batch work that splits into independent pieces (a scenario's KPI stream in blocks of
periods, training's twin runs per seed, what-if replays per cause) takes a
:data:`Mapper`, a callable like the built-in :func:`map`: ``mapper(fn, pieces)`` returns
the results **in the order of the pieces**. The built-in ``map`` runs them one after the
other in this process; ``twinrca.runtime.dask_pool`` gives one that submits them to a
Dask cluster. The analysis packages never import Dask: the composition root chooses.
``fn`` must be a module-level function and the pieces picklable (they may travel to
another process or machine).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Mapper", "serial_map"]

#: ``mapper(fn, pieces) -> results in the order of the pieces``
Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterable[Any]]


def serial_map(fn: Callable[[Any], Any], pieces: Iterable[Any]) -> Iterable[Any]:
    """The pieces one after the other in this process (the built-in ``map``, lazily)."""
    return map(fn, pieces)
