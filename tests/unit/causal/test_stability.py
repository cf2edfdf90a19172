"""Edge confidence by stability over halves of time; storms and same-second alarms."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tests.unit.causal._alarm_synth import ring_topology, simulate, truth_matrix

from twinrca.causal import learn_alarm_graph
from twinrca.causal.alarm_events import encode_events
from twinrca.causal.stability import time_halves
from twinrca.causal.thp import HawkesSettings

TOPO = ring_topology(8)


def test_time_halves_split_every_event_once_and_close_the_gaps() -> None:
    frame = simulate(topology=TOPO, seed=3)
    data = encode_events(frame)
    a, b = time_halves(data, 20, np.random.default_rng(0))
    assert a.times.size + b.times.size == data.times.size
    assert np.all(np.diff(a.times) >= 0) and np.all(np.diff(b.times) >= 0)
    for half in (a, b):  # ten blocks of span / 20 end to end
        assert half.times[-1] - data.times[0] <= data.span / 2 + 1e-9
    counts = np.bincount(np.concatenate([a.types, b.types]), minlength=data.n_types)
    np.testing.assert_array_equal(counts, np.bincount(data.types, minlength=data.n_types))


def test_confidence_is_high_for_planted_edges_and_filters_by_threshold() -> None:
    frame = simulate(topology=TOPO, seed=1)
    graph = learn_alarm_graph(frame, TOPO, min_confidence=0.0)
    truth = truth_matrix().astype(bool)
    conf = graph.adjacency.to_numpy()
    assert conf[truth].min() >= 0.8, conf[truth]
    assert ((conf > 0) & (conf <= 1)).sum() == len(graph.edges)
    strict = learn_alarm_graph(frame, TOPO, min_confidence=1.0)
    assert set(zip(strict.edges.cause, strict.edges.effect, strict=True)) == {
        (c, e)
        for c, e, w in graph.edges[["cause", "effect", "weight"]].itertuples(index=False)
        if w >= 1.0
    }
    assert {"strength", "evidence"} <= set(graph.edges.columns)


def _storm_alarms(seed: int) -> pd.DataFrame:
    """Two unrelated alarm types whose rates rise together in network-wide storms, on
    devices of very different usual activity (busy devices get more of both)."""
    rng = np.random.default_rng(seed)
    n_dev, horizon = 40, 400_000.0
    busy = rng.lognormal(0.0, 1.0, n_dev)
    storms = rng.uniform(0, horizon, 15)
    rows = []
    for k in (0, 1):
        for d in range(n_dev):
            quiet = rng.uniform(0, horizon, rng.poisson(busy[d] * 8))
            stormy = storms[rng.integers(0, 15, rng.poisson(busy[d] * 20))]
            stormy = stormy + rng.exponential(1_500.0, stormy.size)
            rows += [(k, d, t) for t in np.concatenate([quiet, stormy])]
    frame = pd.DataFrame(rows, columns=["alarm_id", "device_id", "start_timestamp"])
    frame["start_timestamp"] = frame["start_timestamp"].round().astype(np.int64)
    return frame.sort_values("start_timestamp", ignore_index=True)


def test_types_that_rise_together_in_storms_are_not_made_causes() -> None:
    frame = _storm_alarms(5)
    without = learn_alarm_graph(
        frame, min_confidence=0.0, hawkes_settings=HawkesSettings(network_background=False)
    )
    assert len(without.edges) > 0  # the storms alone make an edge without the background
    assert len(learn_alarm_graph(frame, min_confidence=0.0).edges) == 0


def test_same_second_causes_are_found() -> None:
    """Half the effects of 0 -> 1 come in the same second as their cause."""
    rng = np.random.default_rng(7)
    n_dev, horizon = 30, 300_000.0
    rows = []
    for d in range(n_dev):
        causes = rng.uniform(0, horizon, rng.poisson(60))
        rows += [(0, d, t) for t in causes]
        hit = causes[rng.random(causes.size) < 0.6]
        delay = np.where(rng.random(hit.size) < 0.5, 0.0, rng.exponential(120.0, hit.size))
        rows += [(1, d, t) for t in hit + delay]
        rows += [(1, d, t) for t in rng.uniform(0, horizon, rng.poisson(20))]
        rows += [(2, d, t) for t in rng.uniform(0, horizon, rng.poisson(40))]
    frame = pd.DataFrame(rows, columns=["alarm_id", "device_id", "start_timestamp"])
    frame["start_timestamp"] = np.floor(frame["start_timestamp"]).astype(np.int64)
    frame = frame.sort_values("start_timestamp", ignore_index=True)
    graph = learn_alarm_graph(frame, min_confidence=0.6)
    edges = set(zip(graph.edges.cause, graph.edges.effect, strict=True))
    assert edges == {(0, 1)}
