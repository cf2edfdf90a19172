"""The parts the serve process is built from: the Kafka probe, the ingest worker that
knows its alarm partitions, the incident flow and the forecaster with their models
(trained on twin runs of the topology, or read from the model cache)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from twinrca.core.errors import BrokerUnavailable
from twinrca.core.settings import DaskSettings
from twinrca.core.topology import Topology
from twinrca.ingest.worker import IngestWorker
from twinrca.runtime.flow import Pipeline, PipelineConfig
from twinrca.runtime.forecasting import Forecaster
from twinrca.runtime.plugins import DIAGNOSERS, PREDICTORS, load_plugins
from twinrca.store.base import Store
from twinrca.training.predictor import PredictorConfig, predictor_or_load, training_topology

__all__ = ["RegionWorker", "build_forecaster", "build_pipeline", "probe_kafka"]

log = logging.getLogger(__name__)


def probe_kafka(bootstrap: str, timeout_s: float) -> Any:
    """A metadata-only consumer (no group), or :class:`BrokerUnavailable` at once."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            request_timeout_ms=int(max(timeout_s, 1) * 1000) + 1000,
            reconnect_backoff_max_ms=1000,
        )
        consumer.topics()  # one metadata round trip
    except KafkaError as exc:
        raise BrokerUnavailable(
            f"cannot reach Kafka at {bootstrap}: {exc}",
            hint="start Kafka or set TWINRCA_KAFKA__BOOTSTRAP",
            bootstrap=bootstrap,
        ) from exc
    return consumer


class RegionWorker(IngestWorker):
    """The ingest worker, remembering the partitions of the alarms topic it owns."""

    def __init__(self, *args: Any, alarms_topic: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.alarms_topic = alarms_topic
        self._alarm_parts: set[int] = set()
        self._parts_lock = threading.Lock()

    def on_assigned(self, partitions: list[Any]) -> None:
        super().on_assigned(partitions)
        with self._parts_lock:
            self._alarm_parts |= {p.partition for p in partitions if p.topic == self.alarms_topic}

    def on_revoked(self, partitions: list[Any], *, wait: bool = True) -> None:
        super().on_revoked(partitions, wait=wait)
        with self._parts_lock:
            self._alarm_parts -= {p.partition for p in partitions if p.topic == self.alarms_topic}

    def alarm_partitions(self) -> set[int]:
        with self._parts_lock:
            return set(self._alarm_parts)


def _cache(data_dir: Path | str, kind: str, topology: Topology) -> Path:
    digest = hashlib.sha256(repr(sorted(topology.feeds)).encode()).hexdigest()[:12]
    return Path(data_dir) / "cache" / f"{kind}-{digest}.pkl"


def build_pipeline(
    store: Store,
    topology: Topology,
    *,
    data_dir: Path | str,
    training_seeds: tuple[int, ...],
    config: PipelineConfig,
    base_url: str,
    dask: DaskSettings | None = None,
) -> Pipeline:
    """The incident flow with the diagnoser trained for ``topology`` (cached): on twin
    runs of its representative network (training.neighbourhoods; seeds from the first
    of ``training_seeds`` on), so one cached model serves every network of the same
    kinds; the runs go to Dask (``dask``: the settings' scheduler, else a local cluster)."""
    from twinrca.fmea.catalogue import load_catalogue
    from twinrca.runtime.dask_pool import batch_map
    from twinrca.training.diagnoser import representative_or_load

    catalogue = load_catalogue()
    cache = Path(data_dir) / "cache"  # kind-keyed
    t0 = time.perf_counter()
    with batch_map(settings=dask, min_pieces=2) as mapper:
        diagnoser = representative_or_load(
            cache, topology, catalogue, first_seed=training_seeds[0], mapper=mapper
        )
    log.info("diagnoser ready (%s) in %.1f s", cache, time.perf_counter() - t0)
    return Pipeline(
        store,
        topology,
        catalogue,
        diagnoser,
        config=config,
        plugins=load_plugins(DIAGNOSERS, topology=topology, catalogue=catalogue),
        base_url=base_url,
    )


def build_forecaster(
    store: Store,
    topology: Topology,
    *,
    data_dir: Path | str,
    prediction: PredictorConfig,
    regions: Callable[[], Iterable[str] | None],
    base_url: str,
    threshold: float | None,
    dask: DaskSettings | None = None,
) -> Forecaster:
    """The forecaster with the fault-risk model trained for ``topology`` (cached), its
    three twin runs on Dask."""
    from twinrca.fmea.catalogue import load_catalogue
    from twinrca.runtime.dask_pool import batch_map

    # named after the network it trains on: larger topologies share their first sites'
    cache = _cache(data_dir, "predictor", training_topology(topology, prediction.max_cells))
    t0 = time.perf_counter()
    catalogue = load_catalogue()
    with batch_map(settings=dask, min_pieces=2) as mapper:
        trained = predictor_or_load(cache, topology, catalogue, prediction, mapper=mapper)
    log.info(
        "fault-risk model ready (%s) in %.1f s",
        cache,
        time.perf_counter() - t0,
        extra={"metrics": trained.metrics},
    )
    return Forecaster(
        store,
        topology,
        trained,
        regions=regions,
        base_url=base_url,
        threshold=threshold,
        plugins=load_plugins(PREDICTORS, topology=topology, catalogue=catalogue),
    )
