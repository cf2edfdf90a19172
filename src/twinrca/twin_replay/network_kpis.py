"""KPIs of sites, transport links and core nodes, from the cells' traffic (NumPy).

The traffic a cell serves flows up the feeds graph, split evenly between the parents
of protected elements. A link's utilisation is its traffic over its capacity; latency
and loss grow with utilisation and with the faults acting on the link; a core node's
CPU load follows the traffic it serves plus fault load.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from scipy import sparse

from twinrca.core.topology import ElementKind, Topology
from twinrca.fmea.catalogue import Catalogue, KpiEffect
from twinrca.twin_replay.effects import FaultInstance
from twinrca.twin_replay.kernel import CELL_KPIS
from twinrca.twin_replay.telemetry import TELEMETRY, precursor_telemetry

__all__ = ["NODE_KPIS", "node_kpis", "traffic_matrix"]

NODE_KPIS: tuple[str, ...] = (
    "link_utilisation",
    "latency_ms",
    "loss_pct",
    "cpu_load",
    *TELEMETRY,
)
_K = len(CELL_KPIS)


def traffic_matrix(topology: Topology, nodes: list[str], cells: list[str]) -> sparse.csr_matrix:
    """``W[n, c]``: share of cell ``c``'s traffic that crosses node ``n``."""
    node_pos = {n: i for i, n in enumerate(nodes)}
    cache: dict[tuple[str, ...], dict[str, float]] = {}
    rows, cols, vals = [], [], []
    for j, cell in enumerate(cells):
        parents = tuple(topology.parents(cell))
        if parents not in cache:
            cache[parents] = _upstream_shares(topology, parents)
        for n, w in cache[parents].items():
            rows.append(node_pos[n])
            cols.append(j)
            vals.append(w)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(nodes), len(cells)))


def _upstream_shares(topology: Topology, parents: tuple[str, ...]) -> dict[str, float]:
    share: dict[str, float] = {}
    frontier = {p: 1.0 / len(parents) for p in parents}
    while frontier:
        nxt: dict[str, float] = {}
        for n, w in frontier.items():
            share[n] = share.get(n, 0.0) + w
            ups = topology.parents(n)
            for u in ups:
                nxt[u] = nxt.get(u, 0.0) + w / len(ups)
        frontier = nxt
    return share


def _node_effects(
    faults: list[FaultInstance], node_pos: dict[str, int], shape: tuple[int, int, int]
) -> dict[str, np.ndarray]:
    fx = {
        "availability": np.ones(shape, np.float32),
        "capacity": np.ones(shape, np.float32),
        "latency_ms": np.zeros(shape, np.float32),
        "loss_pct": np.zeros(shape, np.float32),
        "load_add": np.zeros(shape, np.float32),
    }
    groups: dict[tuple[str, int], list[tuple[np.ndarray, KpiEffect]]] = {}
    for f in faults:
        t = np.arange(max(f.start, 0), min(f.end, shape[2]))
        if not len(t):
            continue
        key = (f.mode.id, id(f.spread))  # spreads are shared per (mode, root) by expand
        if key not in groups:
            groups[key] = [
                (np.array([node_pos[e] for e in els if e in node_pos], dtype=np.int64), eff)
                for els, eff in (
                    ((f.root,), f.mode.root_effect),
                    (f.spread.descendants, f.mode.descendant_effect),
                )
                if not eff.is_neutral
            ]
        inten = np.minimum(1.0, (t - f.start + 1.0) / f.ramp)
        if f.residual_from is not None:
            inten = np.where(t >= f.residual_from, f.residual, inten)
        for nodes, eff in groups[key]:
            if len(nodes):
                _apply(fx, f.scenario, nodes, t, inten, eff)
    return fx


def _apply(
    fx: dict[str, np.ndarray],
    s: int,
    nodes: np.ndarray,
    t: np.ndarray,
    inten: np.ndarray,
    eff: KpiEffect,
) -> None:
    """Apply one effect to ``nodes`` (distinct) over steps ``t`` of scenario ``s``."""
    at = (s, nodes[:, None], t[None, :])
    for name in ("availability", "capacity"):
        v = getattr(eff, name)
        if v != 1.0:
            fx[name][at] *= 1.0 - inten * (1.0 - v)
    for name in ("latency_ms", "loss_pct", "load_add"):
        v = getattr(eff, name)
        if v != 0.0:
            fx[name][at] += inten * v


def node_kpis(
    topology: Topology,
    cell_out: np.ndarray,
    faults: list[FaultInstance],
    catalogue: Catalogue,
    *,
    start: datetime | None = None,
    step_minutes: int = 15,
    seed: int = 0,
) -> np.ndarray:
    """The full ``[S, E, T, K]`` array: cell KPIs from the kernel plus node KPIs and the
    precursor telemetry of sites and microwave links (:mod:`.telemetry`)."""
    del catalogue  # effects come with the fault instances
    ids = topology.ids()
    cells = topology.ids(ElementKind.CELL)
    nodes = [e for e in ids if topology.element(e).kind != ElementKind.CELL]
    n_s, _, n_t, _ = cell_out.shape
    pos = {e: i for i, e in enumerate(ids)}
    out = np.full((n_s, len(ids), n_t, _K + len(NODE_KPIS)), np.nan, dtype=np.float32)
    out[:, [pos[c] for c in cells], :, :_K] = cell_out
    if not nodes:
        return out
    node_pos = {n: i for i, n in enumerate(nodes)}
    fx = _node_effects(faults, node_pos, (n_s, len(nodes), n_t))
    w = traffic_matrix(topology, nodes, cells)
    cap_cells = np.array(
        [float(topology.element(c).attrs.get("capacity_mbps", 100.0)) for c in cells]
    )
    sumcap = w @ cap_cells
    traffic = np.stack([w @ cell_out[s, :, :, 2] for s in range(n_s)])  # [S, N, T]
    idx = [pos[n] for n in nodes]
    avail = fx["availability"]
    out[..., 0][:, idx, :] = 100.0 * avail
    kinds = np.array([topology.element(n).kind for n in nodes])
    _links(out, topology, nodes, idx, kinds, traffic, fx)
    _cores(out, idx, kinds, traffic, sumcap, fx)
    with np.errstate(invalid="ignore", divide="ignore"):
        load = traffic / np.maximum(sumcap, 1e-9)[None, :, None]
    tele = precursor_telemetry(
        topology,
        nodes,
        faults,
        load,
        start=start or datetime(2024, 1, 1),
        step_minutes=step_minutes,
        seed=seed,
    )
    for j, name in enumerate(TELEMETRY):
        out[..., _K + 4 + j][:, idx, :] = tele[name]
    return out


def _links(
    out: np.ndarray,
    topology: Topology,
    nodes: list[str],
    idx: list[int],
    kinds: np.ndarray,
    traffic: np.ndarray,
    fx: dict[str, np.ndarray],
) -> None:
    sel = np.flatnonzero(kinds == ElementKind.TRANSPORT)
    if not len(sel):
        return
    cap = np.array(
        [float(topology.element(nodes[i]).attrs.get("capacity_mbps", 1000.0)) for i in sel]
    )
    base = np.array(
        [6.0 if topology.element(nodes[i]).attrs.get("medium") == "microwave" else 2.0 for i in sel]
    )
    av = fx["availability"][:, sel]
    util = np.where(
        av > 0, 100.0 * traffic[:, sel] / (cap[None, :, None] * fx["capacity"][:, sel]), 0.0
    )
    util = np.minimum(util, 100.0)
    cols = [idx[i] for i in sel]
    k = _K
    out[..., k][:, cols, :] = util
    out[..., k + 1][:, cols, :] = (
        base[None, :, None]
        + 15.0 * np.maximum(util / 100 - 0.7, 0) / 0.3
        + fx["latency_ms"][:, sel]
    )
    out[..., k + 2][:, cols, :] = np.minimum(
        100.0, fx["loss_pct"][:, sel] + 10.0 * np.maximum(util / 100 - 0.95, 0)
    )


def _cores(
    out: np.ndarray,
    idx: list[int],
    kinds: np.ndarray,
    traffic: np.ndarray,
    sumcap: np.ndarray,
    fx: dict[str, np.ndarray],
) -> None:
    sel = np.flatnonzero(kinds == ElementKind.CORE)
    if not len(sel):
        return
    cols = [idx[i] for i in sel]
    cpu = (
        15.0
        + 70.0 * traffic[:, sel] / np.maximum(0.6 * sumcap[sel], 1.0)[None, :, None]
        + fx["load_add"][:, sel]
    )
    cpu = np.minimum(cpu, 100.0)
    out[..., _K + 3][:, cols, :] = cpu
    out[..., _K + 1][:, cols, :] = (
        5.0 + fx["latency_ms"][:, sel] + 10.0 * np.maximum(cpu / 100 - 0.8, 0) / 0.2
    )
