"""Fault prediction in the service: the store's frames equal the training frames, the
forecaster warns before planted service loss, resumes, and alerts once per prediction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twinrca.core.topology import ElementKind
from twinrca.fmea.catalogue import load_catalogue
from twinrca.ingest.files import ingest_files
from twinrca.runtime.forecasting import Forecaster, predictions_came_true
from twinrca.store import open_store
from twinrca.training.predictor import (
    PredictorConfig,
    feature_alarms,
    predictor_or_load,
    wide_kpis,
)
from twinrca.training.twin_data import alarm_frame
from twinrca.twin_replay.demand import generate_demand
from twinrca.twin_replay.generate import generate_scenario, kpi_rows, plant_faults
from twinrca.twin_replay.network import generate_topology
from twinrca.twin_replay.simulate import simulate

CELLS, SEED = 40, 301


@pytest.fixture(scope="module")
def topology():
    return generate_topology(CELLS, seed=3)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, topology):
    """A scenario of an unseen seed on the topology, ingested through the file source."""
    out = tmp_path_factory.mktemp("pred")
    generate_scenario(out / "sc", topology=topology, days=2.0, faults=16, seed=SEED)
    store = open_store("embedded", path=out / "s.duckdb", tenant="t")
    store.migrate()
    store.save_topology(topology)
    ingest_files([out / "sc" / "streams"], store)
    yield out, store
    store.close()


@pytest.fixture(scope="module")
def predictor(tmp_path_factory: pytest.TempPathFactory, topology):
    path = tmp_path_factory.mktemp("model") / "predictor.pkl"
    return predictor_or_load(path, topology, load_catalogue(), PredictorConfig(days=4.0))


def test_store_frames_equal_the_training_frames(ingested, topology) -> None:
    """Training reads kpi_rows/alarm_frame of a twin run; serving reads the store after
    ingesting the PM and alarm streams of the same run: the frames must agree."""
    _, store = ingested
    catalogue = load_catalogue()
    # the calls generate_scenario makes, to hold the run itself
    demand = generate_demand(topology, days=2.0, step_minutes=15, seed=SEED)
    planted = plant_faults(
        topology, catalogue, count=16, steps=demand.steps, step_minutes=15, seed=SEED
    )
    res = simulate(topology, demand, planted, scenarios=1, seed=SEED, catalogue=catalogue)

    served = wide_kpis(store.read_kpis())
    trained = wide_kpis(kpi_rows(res, topology))
    assert list(served.columns) == list(trained.columns)
    assert served[["time", "element"]].equals(trained[["time", "element"]])
    kpis = [c for c in served.columns if c not in ("time", "element")]
    np.testing.assert_allclose(
        served[kpis].to_numpy(float), trained[kpis].to_numpy(float), atol=1e-6, equal_nan=True
    )

    key = ["time", "element", "alarm"]
    got = feature_alarms(store.read_alarms()).sort_values(key, ignore_index=True)
    want = feature_alarms(alarm_frame(res, topology, catalogue)).sort_values(key, ignore_index=True)
    assert len(got) == len(want) > 0
    pd.testing.assert_frame_equal(got[key], want[key], check_dtype=False)
    both = got["clear"].notna() & want["clear"].notna()
    assert (got["clear"].isna() == want["clear"].isna()).all()
    assert (got.loc[both, "clear"] == want.loc[both, "clear"]).all()


def test_forecaster_warns_ahead_resumes_and_alerts_once(ingested, topology, predictor) -> None:
    out, store = ingested
    # the model's own test on an unseen seed is recorded with it
    assert 0.0 <= predictor.metrics["test_pr_auc"] <= 1.0
    assert predictor.spec.alarm_types  # fixed to the training's alarm types
    store.put_document(
        "subscription",
        "mda",
        {
            "subscription_id": "mda",
            "url": "http://127.0.0.1:9/mda",
            "format": "3gpp",
            "events": ["prediction"],
            "active": True,
        },
    )
    forecaster = Forecaster(store, topology, predictor, backfill=None)
    tick = forecaster.tick()
    periods = store.read_kpis()["period_end"].nunique()
    assert tick.scored_periods == periods  # a backlog is scored in one tick
    docs = store.list_documents("prediction", limit=10_000)
    assert len(docs) == len(tick.new_predictions) > 0
    assert len({(d["element"], d["observed_at"], d["failure_mode"]) for d in docs}) == len(docs)
    for d in docs:
        assert d["mDAType"] == "FaultPrediction"
        assert d["confidenceDegree"] >= predictor.model.threshold - 1e-4
        assert d["status"] in ("open", "expired")

    # some prediction came true: service loss started on the element (or a cell its own
    # fault takes down) inside its window (the model's label: (t + gap, t + gap + horizon])
    from twinrca.predict.scenario import read_twin_scenario

    events = read_twin_scenario(out / "sc").events
    for d in docs:
        lo = pd.Timestamp(d["window_start"])
        gap = pd.Timedelta(minutes=predictor.model.gap_min)
        assert lo == pd.Timestamp(d["observed_at"]) + gap
    hits = predictions_came_true(docs, events, topology)
    assert hits > 0

    # one 3GPP MDA report per new prediction in the outbox
    msgs = store.outbox_claim(limit=10_000)
    assert len(msgs) == len(docs)
    assert {m.payload["body"]["mDAType"] for m in msgs} == {"FaultPrediction"}

    # a restart resumes: nothing left to score, nothing stored twice
    again = Forecaster(store, topology, predictor)
    assert again.scored_until == forecaster.scored_until
    assert again.tick().scored_periods == 0
    assert len(store.list_documents("prediction", limit=10_000)) == len(docs)


def test_cached_predictor_is_reused(tmp_path: Path, topology, predictor) -> None:
    path = tmp_path / "p.pkl"
    import pickle

    from twinrca.training import predictor as mod

    # a cache written for this set-up is read back as it was (no retraining)
    cfg = PredictorConfig(days=4.0)
    calls = []
    orig = mod.train_predictor
    mod.train_predictor = lambda *a, **k: calls.append(1) or predictor  # type: ignore[assignment]
    try:
        first = predictor_or_load(path, topology, load_catalogue(), cfg)
        second = predictor_or_load(path, topology, load_catalogue(), cfg)
    finally:
        mod.train_predictor = orig  # type: ignore[assignment]
    assert calls == [1]
    assert second.metrics == first.metrics and second.spec == first.spec
    x = np.zeros((1, len(first.model.feature_names)))
    assert second.model.predict(x) == pytest.approx(first.model.predict(x))
    with path.open("rb") as fh:
        assert pickle.load(fh)[0]  # the key


def test_came_true_counts_the_element_and_the_cells_its_own_fault_takes_down(topology) -> None:
    site = topology.ids(ElementKind.SITE)[0]
    cell = sorted(c for c in topology.descendants(site) if c in topology.ids(ElementKind.CELL))[0]
    other = next(c for c in topology.ids(ElementKind.CELL) if c not in topology.descendants(site))
    above = sorted(a for a in topology.ancestors(site) if a != site)[0]  # a hop feeding the site
    t = pd.Timestamp("2024-06-03T10:00:00Z")

    def events(root: str) -> pd.DataFrame:
        return pd.DataFrame({"element": [cell], "start": [t], "mode": ["M"], "root": [root]})

    def doc(element: str, lo: str, hi: str) -> dict:
        return {"element": element, "window_start": lo, "window_end": hi}

    inside = ("2024-06-03T09:15:00+00:00", "2024-06-03T10:15:00+00:00")
    site_fault = events(site)
    assert predictions_came_true([doc(cell, *inside)], site_fault, topology) == 1
    assert predictions_came_true([doc(site, *inside)], site_fault, topology) == 1  # its fault
    # the hop above the site feeds the cell too, but the site's fault is not its own
    assert predictions_came_true([doc(above, *inside)], site_fault, topology) == 0
    assert predictions_came_true([doc(above, *inside)], events(above), topology) == 1
    assert predictions_came_true([doc(site, *inside)], events(above), topology) == 0
    assert predictions_came_true([doc(site, *inside)], events(""), topology) == 0  # no label
    assert predictions_came_true([doc(other, *inside)], site_fault, topology) == 0
    # the window is (start, end]: a loss at its start was already under way
    at_start = ("2024-06-03T10:00:00+00:00", "2024-06-03T11:00:00+00:00")
    assert predictions_came_true([doc(cell, *at_start)], site_fault, topology) == 0
    before = ("2024-06-03T08:00:00+00:00", "2024-06-03T09:00:00+00:00")
    assert predictions_came_true([doc(cell, *before)], site_fault, topology) == 0


class BatteryWatch:
    """A user's predictor plugin: a site whose battery is below 60 % will lose service."""

    threshold = 0.5

    def __init__(self, topology, catalogue) -> None:
        self.sites = set(topology.ids(ElementKind.SITE))

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        soc = features.get("battery_soc__last", pd.Series(np.nan, index=features.index))
        low = features["element"].isin(self.sites) & (soc < 60.0)
        return pd.DataFrame(
            {
                "element": features["element"],
                "failure_mode": "FM-PWR-BATTERY",
                "probability": low.astype(float),
                "horizon_min": 120.0,
            }
        )


def test_predictor_plugin_predictions_are_stored_with_their_source(
    tmp_path: Path, topology, predictor
) -> None:
    from twinrca.runtime.plugins import PREDICTORS, load_plugins

    store = open_store("embedded", path=tmp_path / "s.duckdb", tenant="t")
    store.migrate()
    generate_scenario(tmp_path / "sc", topology=topology, days=1.5, faults=12, seed=SEED)
    ingest_files([tmp_path / "sc" / "streams"], store)
    plugins = load_plugins(
        PREDICTORS, extra={"battery-watch": BatteryWatch}, topology=topology, catalogue=None
    )
    Forecaster(store, topology, predictor, backfill=None, plugins=plugins).tick()
    docs = store.list_documents("prediction", limit=10_000)
    mine = [d for d in docs if d["source"] == "battery-watch"]
    kpis = wide_kpis(store.read_kpis())
    low = kpis[kpis["element"].isin(topology.ids(ElementKind.SITE)) & (kpis["battery_soc"] < 60)]
    assert len(low) > 0  # the scenario drains a battery
    assert {d["element"] for d in mine} == set(low["element"])
    for d in mine:
        assert d["failure_mode"] == "FM-PWR-BATTERY" and d["horizon_min"] == 120.0
        assert d["model"] == {"name": "battery-watch", "plugin": True}
        assert d["mDAType"] == "FaultPrediction"
    assert all(d["source"] == "twinrca" for d in docs if d not in mine)
    store.close()


def test_a_gap_in_the_pm_data_does_not_stall_the_forecaster(
    tmp_path: Path, ingested, topology, predictor
) -> None:
    from twinrca.store.base import WriteBatch

    _, source = ingested
    kpis = source.read_kpis()
    t = pd.to_datetime(kpis["period_end"], utc=True)
    first_day = t.min() + pd.Timedelta(hours=20)
    before, after = kpis[t <= first_day], kpis[t > first_day + pd.Timedelta(hours=10)]
    store = open_store("embedded", path=tmp_path / "gap.duckdb", tenant="t")
    store.migrate()
    store.write_batch(WriteBatch(kpis=before))
    forecaster = Forecaster(store, topology, predictor)
    forecaster.tick()
    assert forecaster.scored_until == pd.to_datetime(before["period_end"], utc=True).max()
    store.write_batch(WriteBatch(kpis=after))  # 10 h later: beyond one read
    forecaster.tick()
    assert forecaster.scored_until == pd.to_datetime(after["period_end"], utc=True).max()
    store.close()


#: a threshold far below the model's, for tests that need many predictions
LOW = 0.02


def test_regions_resume_separately_and_nothing_is_skipped_while_none_is_owned(
    tmp_path: Path, ingested, topology, predictor
) -> None:
    """Owning no region (a consumer group rebalancing after a restart) scores nothing and
    stores no progress; regions handed over later are scored from where they stopped,
    and the union of two instances' predictions equals one instance's."""
    from dataclasses import replace

    from twinrca.core.topology import Topology
    from twinrca.runtime.forecasting import progress_key
    from twinrca.store.base import WriteBatch

    _, source = ingested
    kpis, alarms = source.read_kpis(), source.read_alarms()
    # the 40-cell network is one region: split it in two (every element by its position)
    cut = float(np.median([e.lon for e in topology]))
    topology = Topology(
        [replace(e, region="east" if e.lon > cut else "west") for e in topology],
        topology.feeds,
        topology.neighbour_pairs,
    )
    regions = sorted({e.region for e in topology})
    assert regions == ["east", "west"]
    half = {"east"}

    def stored(name: str):
        store = open_store("embedded", path=tmp_path / f"{name}.duckdb", tenant="t")
        store.migrate()
        store.write_batch(WriteBatch(kpis=kpis, alarms=alarms))
        return store

    whole = stored("whole")
    # a low threshold: many predictions in both halves, so a skipped or repeated period shows
    Forecaster(whole, topology, predictor, backfill=None, threshold=LOW, explain=0).tick()
    docs = whole.list_documents("prediction", limit=10_000)
    want = {(d["prediction_id"], d["warnings"], d["window_end"]) for d in docs}
    assert {d["region"] for d in docs} == {"east", "west"}

    split = stored("split")
    owned: set[str] = set()
    a = Forecaster(
        split,
        topology,
        predictor,
        regions=lambda: set(owned),
        backfill=None,
        threshold=LOW,
        explain=0,
    )
    tick = a.tick()
    assert tick.scored_periods == 0 and a.scored_until is None
    assert all(split.get_state(progress_key(r)) is None for r in regions)
    assert split.list_documents("prediction", limit=10_000) == []

    owned |= half
    a.tick()
    newest = pd.to_datetime(kpis["period_end"], utc=True).max()
    assert a.scored_until == newest
    assert all(split.get_state(progress_key(r)) is None for r in set(regions) - half)
    b = Forecaster(
        split,
        topology,
        predictor,
        regions=lambda: set(regions) - half,
        backfill=None,
        threshold=LOW,
        explain=0,
    )
    assert b.tick().scored_periods > 0  # b's regions were never scored: all of it
    got = [
        (d["prediction_id"], d["warnings"], d["window_end"])
        for d in split.list_documents("prediction", limit=10_000)
    ]
    assert len(got) == len(set(got)) and set(got) == want

    # the whole network handed to a: nothing left to score, nothing stored twice
    owned |= set(regions)
    assert a.tick().scored_periods == 0
    assert len(split.list_documents("prediction", limit=10_000)) == len(got)
    assert len(split.outbox_claim(limit=10_000)) == 0  # no subscription: no alerts
    whole.close()
    split.close()
