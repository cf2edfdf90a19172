"""Batch work on Dask: the one place that imports ``dask.distributed``.

:func:`batch_map` yields a :data:`~twinrca.core.mapper.Mapper` (``mapper(fn, pieces)``,
results in the order of the pieces) for one batch job:

* ``scheduler="sync"``: the built-in ``map`` in this process;
* ``scheduler="tcp://host:8786"`` (or ``TWINRCA_DASK__SCHEDULER``): a client of that
  existing cluster (its workers must be able to import this version of ``twinrca``);
* empty: an in-process ``LocalCluster`` started for the job on its first call of at
  least ``min_pieces`` pieces, one single-threaded worker process per core (``workers``
  to choose), closed when the job ends. A call of fewer pieces runs in this process:
  starting two worker processes and importing numpy, pandas and numba in each costs
  about 3 s on this machine (``docs/deploy.md``); on its 2 cores a 1,000-cell, 3-day
  scenario (8 pieces) was slower on the cluster, a 7-day one (19 pieces) 28 % faster.

Each worker compiles the twin's Numba kernel at most once: the kernel is
``cache=True``, so a worker loads it from the on-disk cache that the first compile on
the machine wrote (a remote worker writes its own on its first run).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from twinrca.core.errors import ConfigError
from twinrca.core.mapper import Mapper
from twinrca.core.settings import DaskSettings

__all__ = ["DaskMap", "batch_map", "resolve_scheduler"]

log = logging.getLogger(__name__)
SYNC = "sync"


class DaskMap:
    """A :data:`Mapper` over a ``distributed.Client``: the pieces are scattered to the
    workers, one task each, and the results come back in order, each released once
    read (the caller's loop bounds what the client holds)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __call__(self, fn: Callable[[Any], Any], pieces: Iterable[Any]) -> Iterator[Any]:
        items = list(pieces)
        if not items:
            return iter(())
        data = self._client.scatter(items)
        futures = self._client.map(fn, data, pure=False)
        del data
        return self._results(futures)

    @staticmethod
    def _results(futures: list[Any]) -> Iterator[Any]:
        try:
            for i, fut in enumerate(futures):
                yield fut.result()
                futures[i] = None
                fut.release()
        finally:
            for fut in futures:
                if fut is not None:
                    fut.cancel()


def resolve_scheduler(option: str | None, settings: DaskSettings | None = None) -> str:
    """The ``--dask`` option, else ``TWINRCA_DASK__SCHEDULER``, else "" (a local cluster)."""
    if option:
        return option.strip()
    return (settings or DaskSettings()).scheduler.strip()


class _LazyMap:
    """The mapper of one :func:`batch_map` job: runs a call of fewer than ``min_pieces``
    pieces in this process, and starts (once, on the first larger call) the local
    cluster or the client of the scheduler for the others."""

    def __init__(self, where: str, cfg: DaskSettings, processes: bool) -> None:
        self._where, self._cfg, self._processes = where, cfg, processes
        self._stack = ExitStack()
        self._dask: DaskMap | None = None

    def __call__(self, fn: Callable[[Any], Any], pieces: Iterable[Any]) -> Iterator[Any]:
        items = list(pieces)
        if self._where == SYNC or (not self._where and len(items) < self._cfg.min_pieces):
            log.info("%s pieces of %s in this process", len(items), fn.__name__)
            return iter(map(fn, items))
        if self._dask is None:
            self._dask = DaskMap(self._start(len(items)))
        log.info("%s pieces of %s on Dask", len(items), fn.__name__)
        return self._dask(fn, items)

    def _start(self, pieces: int) -> Any:
        from distributed import Client, LocalCluster

        if self._where:
            try:
                client = Client(self._where, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ConfigError(
                    f"no Dask scheduler answers at {self._where!r}: {exc}",
                    hint="start one (`dask scheduler`) or leave --dask and "
                    "TWINRCA_DASK__SCHEDULER empty for a local cluster",
                ) from exc
            log.info("connected to the Dask cluster at %s", self._where)
            return self._stack.enter_context(client)
        n = max(1, min(self._cfg.workers or os.cpu_count() or 1, pieces))
        log.info("starting a local Dask cluster of %s workers", n)
        cluster = self._stack.enter_context(
            LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=self._processes,
                dashboard_address=":0",  # a free port: several clusters per machine
                silence_logs=logging.WARNING,
            )
        )
        return self._stack.enter_context(Client(cluster))

    def close(self) -> None:
        self._stack.close()


@contextmanager
def batch_map(
    scheduler: str | None = None,
    *,
    settings: DaskSettings | None = None,
    processes: bool = True,
    min_pieces: int | None = None,
) -> Iterator[Mapper]:
    """A mapper for one batch job (see the module docstring); a cluster it started is
    closed on exit. ``processes=False`` makes the local cluster's workers threads of
    this process (tests; GIL-bound work gains nothing from them). ``min_pieces``
    overrides the setting for a job whose pieces are long (a training twin run takes
    minutes: two pieces already pay for a cluster)."""
    cfg = settings or DaskSettings()
    if min_pieces is not None:
        cfg = cfg.model_copy(update={"min_pieces": min_pieces})
    lazy = _LazyMap(resolve_scheduler(scheduler, cfg), cfg, processes)
    try:
        yield lazy
    finally:
        lazy.close()
