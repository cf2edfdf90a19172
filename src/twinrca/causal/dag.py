"""A DAG from weighted directed edges: the strongest first, none that closes a cycle."""

from __future__ import annotations

import numpy as np

__all__ = ["break_cycles"]


def break_cycles(llr: np.ndarray, required: np.ndarray) -> np.ndarray:
    """Keep required edges, then add edges by decreasing evidence unless they close a cycle."""
    n = llr.shape[0]
    keep = required.copy()
    reach = _closure(keep)
    for flat in np.argsort(-llr, axis=None):
        i, j = divmod(int(flat), n)
        if llr[i, j] <= 0 or keep[i, j]:
            continue
        if reach[j, i]:  # j already reaches i: i -> j would close a cycle
            continue
        keep[i, j] = True
        reach |= np.outer(reach[:, i] | (np.arange(n) == i), reach[j] | (np.arange(n) == j))
    return keep


def _closure(adj: np.ndarray) -> np.ndarray:
    reach = adj.copy()
    for k in range(adj.shape[0]):
        reach |= np.outer(reach[:, k], reach[k])
    return reach
