"""Alarm-type causal graphs: planted Hawkes graphs, prior knowledge, scale invariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.unit.causal._alarm_synth import TRUE_EDGES, ring_topology, simulate, truth_matrix

from twinrca.causal import AlarmGraph, learn_alarm_graph
from twinrca.causal.graph_scores import edge_scores
from twinrca.core.errors import ValidationError

TOPO = ring_topology(8)


@pytest.fixture(scope="module")
def alarms() -> pd.DataFrame:
    return simulate(topology=TOPO, seed=1)


@pytest.fixture(scope="module")
def graph(alarms: pd.DataFrame) -> AlarmGraph:
    return learn_alarm_graph(alarms, TOPO)


def test_recovers_planted_graph_with_topology(graph: AlarmGraph) -> None:
    scores = edge_scores(graph.matrix(), truth_matrix())
    assert scores.f1 >= 0.8, scores
    assert scores.g_score >= 0.6, scores


def test_recovers_planted_graph_without_topology() -> None:
    frame = simulate(seed=2)  # every alarm on its cause's device, no topology given
    scores = edge_scores(learn_alarm_graph(frame).matrix(), truth_matrix())
    assert scores.f1 >= 0.8, scores


def test_edges_are_a_weighted_list_with_input_ids(graph: AlarmGraph) -> None:
    edges = graph.edges
    assert list(edges.columns[:3]) == ["cause", "effect", "weight"]
    assert (edges["weight"] > 0).all()
    assert edges["weight"].is_monotonic_decreasing
    assert set(edges["cause"]) | set(edges["effect"]) <= set(range(6))
    dense = graph.adjacency.to_numpy()
    for row in edges.itertuples():
        assert dense[row.cause, row.effect] == pytest.approx(row.weight)


def test_output_is_acyclic(graph: AlarmGraph) -> None:
    import networkx as nx

    assert nx.is_directed_acyclic_graph(nx.DiGraph(graph.matrix()))


def test_same_graph_when_time_is_stretched(alarms: pd.DataFrame, graph: AlarmGraph) -> None:
    """No fixed time scale: a 25x sparser copy of the data gives the same edges."""
    slow = alarms.copy()
    slow[["start_timestamp", "end_timestamp"]] *= 25
    stretched = learn_alarm_graph(slow, TOPO)
    assert (stretched.matrix() == graph.matrix()).all()
    assert stretched.info["kernel_scale"] == pytest.approx(25 * graph.info["kernel_scale"])


def test_forbidden_edges_never_and_required_edges_always(alarms: pd.DataFrame) -> None:
    prior = np.zeros((6, 6))
    forbidden, required = TRUE_EDGES[0], (5, 4)  # a true edge forbidden, a false one required
    prior[forbidden] = -1
    prior[required] = 1
    got = learn_alarm_graph(alarms, TOPO, prior, prior_encoding="signed").matrix()
    assert not got[forbidden]
    assert got[required]
    assert all(got[e] for e in TRUE_EDGES[1:])


def test_gcastle_prior_encoding_is_detected(alarms: pd.DataFrame) -> None:
    prior = np.full((6, 6), -1.0)  # gCastle: -1 unknown, 0 forbidden, 1 required
    prior[TRUE_EDGES[1]] = 0
    prior[2, 0] = 1
    got = learn_alarm_graph(alarms, TOPO, prior).matrix()
    assert not got[TRUE_EDGES[1]]
    assert got[2, 0]


def test_windows_method_respects_the_prior(alarms: pd.DataFrame) -> None:
    prior = np.zeros((6, 6))
    prior[0, 1] = -1
    prior[4, 2] = 1
    got = learn_alarm_graph(alarms, TOPO, prior, method="windows", prior_encoding="signed")
    assert not got.matrix()[0, 1]
    assert got.matrix()[4, 2]


def test_bad_inputs_raise_validation_errors(alarms: pd.DataFrame) -> None:
    with pytest.raises(ValidationError):
        learn_alarm_graph(alarms.drop(columns=["device_id"]))
    with pytest.raises(ValidationError):
        learn_alarm_graph(alarms, np.ones((3, 3)))  # devices 3..7 missing
    with pytest.raises(ValidationError):
        learn_alarm_graph(alarms, None, np.full((6, 6), 2.0))


def test_edge_scores_counts() -> None:
    truth = np.array([[0, 1, 1], [0, 0, 0], [0, 0, 0]])
    pred = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    s = edge_scores(pred, truth)
    assert (s.tp, s.fp, s.fn) == (1, 1, 1)
    assert s.f1 == pytest.approx(0.5)
    assert s.g_score == 0.0
