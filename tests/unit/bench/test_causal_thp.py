"""bench.causal_thp: gCastle's TTPM loaded without torch, on tiny simulated sets."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from bench.alarm_sim import SimSpec, simulate

pytest.importorskip("castle")

from bench.causal_thp import load_ttpm, run_thp


def _tiny(with_topology: bool = True) -> SimSpec:
    return SimSpec("tiny", 25, 6, 0.3, 30.0, n_alarms=1500, seed=5, with_topology=with_topology)


def test_ttpm_runs_without_torch_and_returns_a_k_by_k_graph() -> None:
    s = simulate(_tiny())
    res = run_thp(s.alarms, s.topology, 6, time_budget_s=60)
    assert "torch" not in sys.modules
    assert res.matrix is not None and res.reason == ""
    assert res.matrix.shape == (6, 6) and res.matrix.dtype == bool
    assert not np.diag(res.matrix).any()
    assert res.matrix.sum() >= 1  # the planted edges are strong on 1,500 alarms
    assert res.sweeps >= 2


def test_the_cached_em_takes_the_same_steps_as_stock_ttpm() -> None:
    s = simulate(_tiny())
    a = s.alarms
    stock = load_ttpm()(s.topology.astype(float), max_hop=1, max_iter=8)
    stock.learn(
        pd.DataFrame(
            {
                "event": a["alarm_id"].to_numpy(),
                "timestamp": a["start_timestamp"].to_numpy(dtype=float),
                "node": a["device_id"].to_numpy(),
            }
        )
    )
    names = [int(n) for n in stock.causal_matrix.columns]
    expected = np.zeros((6, 6), dtype=bool)
    expected[np.ix_(names, names)] = np.asarray(stock.causal_matrix) != 0
    np.fill_diagonal(expected, False)
    fast = run_thp(a, s.topology, 6, time_budget_s=60, max_iter=8)
    np.testing.assert_array_equal(fast.matrix, expected)


def test_no_topology_and_the_time_budget() -> None:
    s = simulate(_tiny(with_topology=False))
    assert s.topology is None
    res = run_thp(s.alarms, None, 6, time_budget_s=60, n_devices=25)
    assert res.matrix is not None and res.matrix.shape == (6, 6)
    skipped = run_thp(s.alarms, None, 6, time_budget_s=1e-6, n_devices=25)
    assert skipped.matrix is None and "budget" in skipped.reason
