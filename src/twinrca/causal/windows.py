"""pgmpy structure learning on topology-aware time windows of alarms.

Each row of the table is one (device, window): which alarm types were raised on the
device or, when a topology is given, on its adjacent devices during the window. The
window length is the median gap between consecutive alarms of one device unless given.
pgmpy's PC (chi-square tests) learns the graph with the prior as ``ExpertKnowledge``
(not enforced inside PC: pgmpy 1.1 then fails orienting colliders around removed
edges, so forbidden edges are dropped and required ones added afterwards). Edges PC
leaves undirected are oriented by temporal precedence (which type tends to come first
on the same or adjacent devices). Slow on dense neighbourhoods (many CI tests): the
Hawkes learner is the default.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from twinrca.causal import hawkes
from twinrca.causal.alarm_events import EventData, PriorKnowledge
from twinrca.core.errors import ModelError

__all__ = ["learn_window_graph", "median_device_gap", "precedence", "window_table"]

logger = logging.getLogger(__name__)


def median_device_gap(data: EventData) -> float:
    """Median positive gap between consecutive alarms of the same device."""
    order = np.lexsort((data.times, data.devices))
    t, d = data.times[order], data.devices[order]
    gaps = np.diff(t)[np.diff(d) == 0]
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if gaps.size else data.span


def window_table(data: EventData, adjacency: np.ndarray | None, width: float) -> pd.DataFrame:
    """Binary (device x window) table of alarm types, neighbours' alarms included."""
    win = ((data.times - data.times[0]) // width).astype(np.int64)
    n_win = int(win.max()) + 1
    rows = data.devices * n_win + win
    owners = [rows]
    types = [data.types]
    if adjacency is not None:
        src, dst = np.nonzero(adjacency)
        for s, d in zip(src.tolist(), dst.tolist(), strict=True):
            on_s = data.devices == s
            owners.append(d * n_win + win[on_s])
            types.append(data.types[on_s])
    row_all, type_all = np.concatenate(owners), np.concatenate(types)
    keys, row_code = np.unique(row_all, return_inverse=True)
    table = np.zeros((len(keys), data.n_types), dtype=np.int8)
    table[row_code, type_all] = 1
    return pd.DataFrame(table, columns=[str(k) for k in range(data.n_types)])


def precedence(data: EventData, adjacency: np.ndarray | None, width: float) -> np.ndarray:
    """``P[i, j]``: kernel mass of type-i alarms shortly before type-j alarms nearby."""
    if adjacency is not None and adjacency.any():
        rows, cols = np.nonzero(adjacency)
        ptr = np.cumsum(np.bincount(rows + 1, minlength=data.n_devices + 1)).astype(np.int64)
        idx, hops = cols.astype(np.int64), 2
    else:
        ptr, idx, hops = np.zeros(data.n_devices + 1, dtype=np.int64), np.zeros(0, np.int64), 1
    phi = hawkes.excitation(
        data.types, data.devices, data.times, data.n_types, data.n_devices,
        ptr, idx, 1.0 / width, hops,
    )  # fmt: skip
    out = np.zeros((data.n_types, data.n_types))
    np.add.at(out.T, data.types, phi.sum(axis=2).astype(np.float64))
    return out


def _expert(prior: PriorKnowledge) -> object:
    from pgmpy.causal_discovery import ExpertKnowledge

    def names(mask: np.ndarray) -> list[tuple[str, str]]:
        return [(str(i), str(j)) for i, j in zip(*np.nonzero(mask), strict=True)]

    return ExpertKnowledge(
        forbidden_edges=names(prior.forbidden), required_edges=names(prior.required)
    )


def learn_window_graph(
    data: EventData,
    adjacency: np.ndarray | None,
    prior: PriorKnowledge,
    *,
    width: float | None = None,
    significance: float = 0.01,
    max_cond_vars: int = 3,
) -> tuple[np.ndarray, float]:
    """PC on window co-occurrence; returns (K x K bool adjacency, window width)."""
    from pgmpy.causal_discovery import PC

    width = width or median_device_gap(data)
    table = window_table(data, adjacency, width)
    present = table.columns[table.to_numpy().any(axis=0) & ~table.to_numpy().all(axis=0)]
    logger.info("PC on %s windows of %.3g time units, %s types", len(table), width, len(present))
    est = PC(
        ci_test="chi_square", significance_level=significance, max_cond_vars=max_cond_vars,
        expert_knowledge=_expert(prior), enforce_expert_knowledge=False,
        n_jobs=1, show_progress=False, variant="orig",
    )  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(table[present])
    except (ValueError, KeyError, RuntimeError) as exc:
        raise ModelError("pgmpy PC failed on the window table", windows=len(table)) from exc
    adj = np.zeros((data.n_types, data.n_types), dtype=bool)
    for u, v in est.causal_graph_.edges():
        adj[int(u), int(v)] = True
    both = adj & adj.T
    prec = precedence(data, adjacency, width)
    adj &= ~both | (prec > prec.T)
    adj |= prior.required
    adj &= ~prior.forbidden
    np.fill_diagonal(adj, False)
    return adj, width
