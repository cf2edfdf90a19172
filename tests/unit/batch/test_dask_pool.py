"""Batch work on a 2-worker Dask LocalCluster gives what one process gives."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from twinrca.core.mapper import serial_map
from twinrca.core.settings import DaskSettings
from twinrca.core.topology import ElementKind
from twinrca.fmea.catalogue import load_catalogue
from twinrca.runtime.dask_pool import DaskMap, batch_map
from twinrca.training.diagnoser import training_cases
from twinrca.twin_replay import generate, generate_demand, generate_topology
from twinrca.twin_replay.generate import generate_scenario
from twinrca.twin_replay.whatif_batch import WhatIfCase, what_if_batch


@pytest.fixture(scope="module")
def dask_map():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield DaskMap(client)


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix in {".jsonl", ".xml", ".csv", ".json"}
    }


def test_generate_same_bytes_on_the_cluster(tmp_path, dask_map, monkeypatch) -> None:
    monkeypatch.setattr(generate, "KPI_PIECE_MESSAGES", 2000)  # several pieces
    kw = {"cells": 40, "days": 0.5, "faults": 3, "seed": 5, "pm_xml": True}
    a = generate_scenario(tmp_path / "one", **kw)
    b = generate_scenario(tmp_path / "dask", mapper=dask_map, **kw)
    assert a.kpi_messages == b.kpi_messages > 0
    one, dask = _digests(tmp_path / "one"), _digests(tmp_path / "dask")
    assert len([k for k in one if k.endswith(".xml")]) == a.steps
    assert one == dask


def test_what_if_batch_same_outcomes_on_the_cluster(dask_map) -> None:
    topo = generate_topology(60, seed=3)
    demand = generate_demand(topo, days=1, seed=3)
    sites = topo.ids(ElementKind.SITE)
    cases = [
        WhatIfCase((sites[1], "FM-SW-CRASH"), now_step=36, seed=2),
        WhatIfCase((sites[2], "FM-RAN-BOARD"), now_step=40, fault_start_step=37, seed=5),
    ]
    one = what_if_batch(topo, cases, demand=demand, scenarios=16, mapper=serial_map)
    dask = what_if_batch(topo, cases, demand=demand, scenarios=16, mapper=dask_map)
    assert [len(o) for o in one] == [len(o) for o in dask] and all(one)
    assert one == dask


def test_training_runs_same_cases_on_the_cluster(dask_map) -> None:
    topo = generate_topology(40, seed=1)
    cat = load_catalogue()
    one = training_cases((1, 2), topo, cat, days=2.0, faults=6)
    dask = training_cases((1, 2), topo, cat, days=2.0, faults=6, mapper=dask_map)
    assert len(one) == len(dask) > 0
    for (ev_a, root_a, mode_a), (ev_b, root_b, mode_b) in zip(one, dask, strict=True):
        assert (root_a, mode_a, ev_a.candidates) == (root_b, mode_b, ev_b.candidates)
        assert ev_a.alarms.equals(ev_b.alarms) and ev_a.anomalies.equals(ev_b.anomalies)


def test_small_calls_stay_in_process() -> None:
    with batch_map(settings=DaskSettings(min_pieces=5)) as mapper:
        assert list(mapper(abs, [-1, -2, 3])) == [1, 2, 3]
        assert mapper._dask is None  # type: ignore[attr-defined]
    with batch_map("sync") as mapper:
        assert list(mapper(abs, range(-20, 0))) == list(range(20, 0, -1))
        assert mapper._dask is None  # type: ignore[attr-defined]


def test_large_calls_start_a_local_cluster() -> None:
    pytest.importorskip("distributed")
    with batch_map(settings=DaskSettings(min_pieces=2, workers=2), processes=False) as mapper:
        assert list(mapper(abs, [-1, -2, 3])) == [1, 2, 3]
        assert mapper._dask is not None  # type: ignore[attr-defined]
