"""Robust root-cause scorer: planted faults, entity mapping, constant metrics and NaNs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from tests.unit.causal._attribution_synth import ENTITIES, planted

from twinrca.causal._entities import entity_map, metric_graph, project_graph
from twinrca.causal._robust import robust_scores
from twinrca.causal.attribution import RankingResult, rank_root_causes
from twinrca.core.errors import ValidationError


def _metrics_only(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("time")


@pytest.mark.parametrize("root_entity", ["amf", "smf", "upf"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_three_sigma_shift_ranks_root_entity_first(root_entity: str, seed: int) -> None:
    normal, anomalous = planted(f"{root_entity}_cpu", seed=seed)
    result = rank_root_causes(_metrics_only(normal), _metrics_only(anomalous))
    assert result.method == "robust"
    assert result.entities[0].entity == root_entity
    assert result.entities[0].top_metric == f"{root_entity}_cpu"
    assert result.metrics[0].metric == f"{root_entity}_cpu"
    assert {e.entity for e in result.entities} == set(ENTITIES)


def test_results_are_sorted_typed_and_serialisable() -> None:
    normal, anomalous = planted("smf_cpu")
    result = rank_root_causes(_metrics_only(normal), _metrics_only(anomalous))
    assert isinstance(result, RankingResult)
    scores = [m.score for m in result.metrics]
    assert scores == sorted(scores, reverse=True)
    out = result.to_dict()
    assert set(out) == {"entities", "metrics", "skipped"}
    assert out["skipped"] == []
    assert set(out["entities"][0]) == {"entity", "score"}
    assert set(out["metrics"][0]) == {"metric", "score"}
    assert len(out["metrics"]) == 10


def test_inputs_are_not_mutated() -> None:
    normal, anomalous = (_metrics_only(f) for f in planted("upf_cpu"))
    before = normal.copy(), anomalous.copy()
    result = rank_root_causes(normal, anomalous)
    pd.testing.assert_frame_equal(normal, before[0])
    pd.testing.assert_frame_equal(anomalous, before[1])
    assert result.entities[0].entity == "upf"


def test_constant_metrics_do_not_explode() -> None:
    normal, anomalous = (_metrics_only(f) for f in planted("amf_cpu"))
    normal["gw_conn"] = 500.0  # constant when normal, moves by 0.2 % when anomalous
    anomalous["gw_conn"] = 501.0
    normal["ran_flag"] = 0.0  # constant everywhere
    anomalous["ran_flag"] = 0.0
    scores = robust_scores(normal, anomalous)
    assert np.isfinite(scores).all()
    assert scores["ran_flag"] == 0.0
    assert scores["gw_conn"] < scores["amf_cpu"]
    assert rank_root_causes(normal, anomalous).entities[0].entity == "amf"


def test_constant_zero_metric_that_jumps_is_scored_finite_and_high() -> None:
    normal = pd.DataFrame({"a_err": np.zeros(50), "b_cpu": np.linspace(10, 11, 50)})
    anomalous = pd.DataFrame({"a_err": np.full(20, 5.0), "b_cpu": np.linspace(10, 11, 20)})
    result = rank_root_causes(normal, anomalous)
    assert result.entities[0].entity == "a"
    assert np.isfinite(result.entities[0].score)


def test_nans_are_tolerated() -> None:
    normal, anomalous = (_metrics_only(f) for f in planted("smf_cpu"))
    rng = np.random.default_rng(5)
    for frame in (normal, anomalous):
        mask = rng.random(frame.shape) < 0.1
        frame[:] = frame.mask(mask)
    normal["gw_dead"] = np.nan  # never observed when normal
    anomalous["gw_dead"] = 1.0
    result = rank_root_causes(normal, anomalous)
    assert result.entities[0].entity == "smf"
    assert all(np.isfinite(m.score) for m in result.metrics)
    # never observed when normal: flagged, not scored (issue 16: no silent 0 score)
    assert "gw_dead" not in {m.metric for m in result.metrics}
    assert dict(result.skipped) == {
        "gw_dead": "no value in the normal period (NaN or infinite throughout)"
    }


def test_non_numeric_and_unshared_columns_are_dropped() -> None:
    normal, anomalous = (_metrics_only(f) for f in planted("upf_cpu"))
    normal["site"] = "x"
    anomalous["site"] = "x"
    normal["only_normal"] = 1.0
    result = rank_root_causes(normal, anomalous)
    names = {m.metric for m in result.metrics}
    assert "site" not in names and "only_normal" not in names


def test_bad_input_raises_validation_error() -> None:
    with pytest.raises(ValidationError):
        rank_root_causes(pd.DataFrame({"a": ["x"]}), pd.DataFrame({"a": ["y"]}))
    with pytest.raises(ValidationError):
        rank_root_causes(pd.DataFrame({"a_x": [1.0]}), pd.DataFrame({"a_x": []}))
    with pytest.raises(ValidationError):
        rank_root_causes(pd.DataFrame({"a_x": [1.0]}), pd.DataFrame({"a_x": [2.0]}), method="gcm")


def test_entity_map_last_separator_and_nested_merge() -> None:
    metrics = ["carts_cpu", "carts_lat_50", "front-end_mem", "node.1.cpu", "solo"]
    assert entity_map(metrics) == {
        "carts_cpu": "carts",
        "carts_lat_50": "carts",
        "front-end_mem": "front-end",
        "node.1.cpu": "node.1.cpu",
        "solo": "solo",
    }
    strict = entity_map(metrics, merge_nested=False)
    assert strict["carts_lat_50"] == "carts_lat"
    assert entity_map(["node.1.cpu", "node.2.cpu"], sep=".") == {
        "node.1.cpu": "node.1",
        "node.2.cpu": "node.2",
    }
    with pytest.raises(ValidationError):
        entity_map(["a_b"], sep="")


def test_metric_graph_expands_entities_and_breaks_cycles() -> None:
    entities = {"a_cpu": "a", "a_mem": "a", "b_cpu": "b", "c_cpu": "c"}
    graph = metric_graph([("a", "b"), ("b_cpu", "c_cpu"), ("c", "b"), ("x", "a")], entities)
    assert nx.is_directed_acyclic_graph(graph)
    assert graph.has_edge("a_cpu", "b_cpu") and graph.has_edge("a_mem", "b_cpu")
    assert "x" not in graph


def test_project_graph_keeps_paths_through_dropped_nodes() -> None:
    graph = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "d"), ("a", "e")])
    projected = project_graph(graph, ["a", "c", "d"])
    assert set(projected.edges) == {("a", "c"), ("c", "d")}


def test_all_nan_anomalous_period_is_refused() -> None:
    normal, anomalous = (_metrics_only(f) for f in planted("smf_cpu"))
    anomalous[:] = np.nan
    with pytest.raises(ValidationError, match="no metric can be scored") as exc:
        rank_root_causes(normal, anomalous)
    assert exc.value.reason == "no_data"


def test_constant_and_infinite_metrics_are_flagged_not_scored() -> None:
    normal, anomalous = (_metrics_only(f) for f in planted("amf_cpu"))
    normal["gw_flat"], anomalous["gw_flat"] = 3.0, 3.0
    normal["gw_inf"], anomalous["gw_inf"] = np.inf, 1.0
    normal["gw_jump"], anomalous["gw_jump"] = 3.0, 30.0  # constant, then a change: scored
    result = rank_root_causes(normal, anomalous)
    skipped = dict(result.skipped)
    assert set(skipped) == {"gw_flat", "gw_inf"}
    assert "constant" in skipped["gw_flat"] and "normal period" in skipped["gw_inf"]
    assert result.metrics[0].metric == "gw_jump"
