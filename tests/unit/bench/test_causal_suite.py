"""bench.causal's suite summary and confidence sweep (no learner run)."""

from __future__ import annotations

import numpy as np
from bench.causal import confidence_sweep, summarise

from twinrca.causal.graph_scores import edge_scores


def _row(f1: float, g: float, thp: dict | None) -> dict:
    return {
        "twinrca": {"f1": f1, "g_score": g},
        "thp": thp if thp is not None else {"skipped": "too big", "seconds": 0.0},
        "pc": {"f1": 0.2, "g_score": 0.0},
        "all_edges": {"f1": 0.3, "g_score": 0.0},
    }


def test_summary_fields_means_worst_and_thp_on_its_sets_only() -> None:
    rows = {
        "a": _row(0.8, 0.6, {"f1": 0.5, "g_score": 0.2}),
        "b": _row(0.4, 0.0, None),
        "c": _row(0.6, 0.3, {"f1": 0.7, "g_score": 0.4}),
    }
    s = summarise(rows)
    assert s["suite_mean_f1"] == 0.6 and s["suite_worst_f1"] == 0.4
    assert s["suite_mean_gscore"] == 0.3 and s["suite_worst_gscore"] == 0.0
    assert s["thp_suite_mean_f1"] == 0.6 and s["thp_suite_worst_gscore"] == 0.2
    assert s["thp_suite_sets"] == 2 and s["thp_skipped"] == {"b": "too big"}
    assert s["twinrca_on_thp_sets_mean_f1"] == 0.7
    assert s["pc_suite_mean_f1"] == 0.2 and s["all_edges_suite_mean_f1"] == 0.3


def test_confidence_sweep_keeps_edges_at_or_above_each_threshold() -> None:
    truth = np.zeros((3, 3), dtype=int)
    truth[0, 1] = truth[1, 2] = 1
    weights = np.zeros((3, 3))
    weights[0, 1], weights[1, 2], weights[2, 0] = 0.95, 0.7, 0.55  # the last one is false
    sweep = {r["min_confidence"]: r for r in confidence_sweep([(weights, truth)])}
    assert sweep[0.5]["edges"] == 3 and sweep[0.6]["edges"] == 2 and sweep[0.8]["edges"] == 1
    assert sweep[0.6]["suite_mean_f1"] == 1.0
    assert sweep[0.5]["suite_mean_f1"] == round(edge_scores(weights, truth).f1, 4)
    assert sweep[0.9]["suite_worst_gscore"] == 0.5 and sweep[1.0]["edges"] == 0
