"""The service's calibrated twin (runtime/twin_calibration.py) on the embedded store; the
same check runs on TimescaleDB in tests/integration/test_twin_calibration.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def twin_network():
    from twinrca.twin_replay.demand import generate_demand
    from twinrca.twin_replay.generate import kpi_rows
    from twinrca.twin_replay.network import generate_topology
    from twinrca.twin_replay.simulate import CellParams, simulate

    topo = generate_topology(24, seed=11)
    base = CellParams.default(topo)
    rng = np.random.default_rng(3)
    truth = CellParams(
        (base.capacity * rng.uniform(0.6, 1.4, len(base.capacity))).astype(np.float32),
        base.scale,
        base.sensitivity,
        base.noise,
        base.compensation,
    )
    dem = generate_demand(topo, days=4, seed=2, surges=0)
    res = simulate(topo, dem, [], seed=2, params=truth, threshold_alarms=False)
    rows = kpi_rows(res, topo).assign(granularity_s=dem.step_minutes * 60, suspect=False)
    return topo, truth, rows


def run_refit_check(open_store, network) -> None:
    """The loop refits, versions, hands over, reloads and refits on topology change;
    ``open_store()`` opens (and migrates) a new connection to the same tenant's store."""
    from twinrca.core.topology import Element, ElementKind, Topology
    from twinrca.fmea.catalogue import load_catalogue
    from twinrca.runtime.detect_loop import SlidingDetector, WindowConfig
    from twinrca.runtime.flow import Pipeline
    from twinrca.runtime.twin_calibration import TwinCalibrator
    from twinrca.store.base import WriteBatch
    from twinrca.training.diagnoser import labelled_run, new_diagnoser

    topo, truth, rows = network
    store = open_store()
    try:
        store.save_topology(topo)
        store.write_batch(WriteBatch(kpis=rows))
        cat = load_catalogue()
        incidents, labels, match = labelled_run(1, topo, cat, days=2.0, faults=4)
        training = [
            (incidents[i].evidence, labels.iloc[j].root_element, labels.iloc[j].mode_id)
            for j, i in match.items()
        ]
        pipeline = Pipeline(store, topo, cat, new_diagnoser(topo, cat).fit(training))
        cal = TwinCalibrator(store, topo, refit_every=pd.Timedelta(days=1))
        assert cal.params() is None
        det = SlidingDetector(
            store,
            pipeline,
            topo,
            WindowConfig(history=pd.Timedelta(days=4), kpi_wait_s=0.0),
            calibrator=cal,
        )
        det.tick()
        assert pipeline.params is not None, "the loop did not refit the twin"
        err = np.abs(pipeline.params.capacity - truth.capacity) / truth.capacity
        assert float(np.max(err)) < 0.02
        doc = store.get_twin_calibration()
        assert doc is not None and doc["reason"] == "first fit"
        assert set(doc["heldout"]) >= {"mape_prb", "naive_mape_prb", "mape_thr", "naive_mape_thr"}
        assert doc["fit_start"] < doc["fit_end"]
        assert len(store.twin_calibration_history()) == 1
        det.tick()  # not due again within a day of data time
        assert len(store.twin_calibration_history()) == 1
        det.close()

        # a restart: the stored parameters are the pipeline's at once, without a refit
        again = open_store()
        try:
            loaded = TwinCalibrator(again, topo)
            assert loaded.due(loaded.fitted_to) is None
            np.testing.assert_allclose(loaded.params().capacity, pipeline.params.capacity)
            # the restarted service's pipeline verifies on them from its first window
            fresh = Pipeline(again, topo, cat, pipeline.diagnoser)
            assert fresh.params is None
            window = WindowConfig(history=pd.Timedelta(days=4), kpi_wait_s=0.0)
            SlidingDetector(again, fresh, topo, window, calibrator=loaded).close()
            np.testing.assert_allclose(fresh.params.capacity, pipeline.params.capacity)
            # a new cell: the topology changed, the twin is refitted (a second version)
            cells = topo.ids(ElementKind.CELL)
            e = topo.element(cells[0])
            grown = Topology(
                [*topo, Element("cell:new", ElementKind.CELL, e.lat, e.lon, e.region, {})],
                [*topo.feeds, (topo.parents(cells[0])[0], "cell:new")],
            )
            changed = TwinCalibrator(again, grown)
            assert changed.due(changed.fitted_to) == "topology changed"
            assert changed.maybe_refit(changed.fitted_to)
            assert len(again.twin_calibration_history()) == 2
            p = changed.params()
            assert len(p.capacity) == len(grown.ids(ElementKind.CELL))
        finally:
            again.close()
    finally:
        store.close()


def test_refit_on_the_embedded_store(tmp_path: Path, twin_network) -> None:
    from twinrca.store.base import open_store

    def opened():
        store = open_store("embedded", path=tmp_path / "store.duckdb", tenant="t1")
        store.migrate()
        return store

    run_refit_check(opened, twin_network)
