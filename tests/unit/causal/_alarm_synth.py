"""Alarm sequences drawn from a known topological Hawkes graph (test data generator)."""

from __future__ import annotations

import numpy as np
import pandas as pd

# 6 alarm types, a DAG with a chain, a fork and a collider-free branch
TRUE_EDGES = [(0, 1), (1, 2), (0, 3), (3, 4), (2, 5)]


def ring_topology(n: int) -> np.ndarray:
    adj = np.zeros((n, n), dtype=np.int64)
    for d in range(n):
        adj[d, (d + 1) % n] = adj[(d + 1) % n, d] = 1
    return adj


def simulate(
    *,
    n_types: int = 6,
    edges: list[tuple[int, int]] = TRUE_EDGES,
    topology: np.ndarray | None = None,
    n_devices: int = 8,
    horizon: float = 200_000.0,
    base_rate: float = 1 / 4_000.0,
    strength: float = 0.6,
    self_excite: float = 0.15,
    scale: float = 60.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Branching simulation: root types arrive as Poisson events per device; each alarm
    of type i triggers Poisson(strength) alarms of every child type after Exp(scale),
    on the same device or (half of the time, when a topology is given) a neighbour."""
    rng = np.random.default_rng(seed)
    topo = topology if topology is not None else np.zeros((n_devices, n_devices))
    n_dev = topo.shape[0]
    alpha = np.zeros((n_types, n_types))
    for i, j in edges:
        alpha[i, j] = strength
    np.fill_diagonal(alpha, self_excite)
    rates = np.full(n_types, base_rate * 0.1)
    rates[[i for i in range(n_types) if not alpha[:, i].any() or i == 0]] = base_rate
    events: list[tuple[int, int, float]] = []
    for k in range(n_types):
        for d in range(n_dev):
            n = rng.poisson(rates[k] * horizon)
            events += [(k, d, t) for t in rng.uniform(0, horizon, n)]
    frontier = list(events)
    while frontier:
        nxt = []
        for k, d, t in frontier:
            for j in np.flatnonzero(alpha[k]).tolist():
                for _ in range(rng.poisson(alpha[k, j])):
                    dev = int(d)
                    nbrs = np.flatnonzero(topo[d])
                    if nbrs.size and rng.random() < 0.5:
                        dev = int(rng.choice(nbrs))
                    tj = t + rng.exponential(scale)
                    if tj < horizon:
                        nxt.append((int(j), dev, tj))
        events += nxt
        frontier = nxt
    frame = pd.DataFrame(events, columns=["alarm_id", "device_id", "start_timestamp"])
    frame["start_timestamp"] = np.round(frame["start_timestamp"]).astype(np.int64)
    frame["end_timestamp"] = frame["start_timestamp"] + rng.integers(1, 300, len(frame))
    return frame.sort_values("start_timestamp", ignore_index=True)


def truth_matrix(n_types: int = 6, edges: list[tuple[int, int]] = TRUE_EDGES) -> np.ndarray:
    g = np.zeros((n_types, n_types), dtype=np.int64)
    for i, j in edges:
        g[i, j] = 1
    return g
