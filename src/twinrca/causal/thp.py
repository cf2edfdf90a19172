"""Topological Hawkes structure search between alarm types (THP style).

Every setting comes from the data:

- the kernel decay ``beta`` maximises the likelihood of the full model over a
  geometric grid spanning the 10th to 90th percentile of the per-device gaps between
  alarms (a 25x denser alarm set gets a 25x faster kernel without any setting);
- an edge ``i -> j`` enters the model of target ``j`` only when it raises the
  log-likelihood by more than the BIC price of its parameters, ``H/2 * log(n_j)``
  (``H`` = hops modelled, ``n_j`` = alarms of type ``j``);
- 2-cycles and longer cycles are broken by keeping the edges with the larger
  likelihood-ratio evidence first (the graphs sought are DAGs).

Self-excitation of every type is always in the model (alarm bursts would otherwise
be explained by other types) and is never reported as an edge. So is a network-wide
background: every type's baseline rises with the network's activity (of its own type
and of all types, weighed by the device's usual share of alarms), so that types that
rise together in a storm are not taken for causes of one another. Alarms of the same
timestamp (EMS clocks tick in seconds) count half a zero-delay kernel each: their
order is unknown.

Search cost: a candidate edge is first scored by its score statistic at the current
fit; only the ``n_refit`` best are refitted by EM. Targets are fitted on threads (the
Numba kernels release the GIL).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from twinrca.causal import hawkes
from twinrca.causal.alarm_events import EventData, PriorKnowledge
from twinrca.causal.dag import break_cycles
from twinrca.core.errors import ModelError

__all__ = [
    "HawkesFit",
    "HawkesSettings",
    "fit_topological_hawkes",
    "kernel_grid",
    "select_parents",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HawkesSettings:
    """Numerical settings (not per data set: none of them is a time scale or threshold)."""

    n_grid: int = 7  # decay rates tried between the gap percentiles
    grid_quantiles: tuple[float, float] = (0.10, 0.90)
    n_iter: int = 200  # EM iterations for a final fit
    n_iter_search: int = 40  # EM iterations when scoring a candidate edge
    n_refit: int = 4  # candidates (largest score statistic) refitted by EM per search step
    beta_events: int = 100_000  # events of the time window the kernel decay is chosen on
    tol: float = 1e-7
    penalty_scale: float = 1.0  # 1.0 = BIC
    kernel_scale: float | None = None  # fix 1/beta instead of choosing it (sensitivity checks)
    network_background: bool = True  # storms: network-wide activity in every baseline
    tie_weight: float = 0.5  # same-timestamp events: order unknown, half a zero-delay kernel


@dataclass(frozen=True, slots=True)
class HawkesFit:
    """Learned excitation between alarm types (codes of the ``EventData``)."""

    alpha: np.ndarray  # K x K: expected effects per cause alarm (all hops), 0 = no edge
    llr: np.ndarray  # K x K: log-likelihood lost when the edge is removed
    adjacency: np.ndarray  # K x K bool, a DAG plus the required edges
    beta: float
    log_likelihood: float
    grid: dict[float, float] = field(default_factory=dict)  # beta -> full-model LL


@dataclass(slots=True)
class _Target:
    """Data of one target type: its events' features and compensators."""

    x: np.ndarray  # (n_j, K, H) float64
    dev: np.ndarray  # local device index per event
    n_dev: int
    comp: np.ndarray  # (K, H)
    span: float
    bg: np.ndarray  # (n_j, B) network-wide activity features, always in the model
    bg_comp: np.ndarray  # (B,)

    @property
    def n(self) -> int:
        return int(self.x.shape[0])


def _csr(adjacency: np.ndarray | None, n_devices: int) -> tuple[np.ndarray, np.ndarray, int]:
    if adjacency is None or not adjacency.any():
        return np.zeros(n_devices + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), 1
    rows, cols = np.nonzero(adjacency)
    ptr = np.zeros(n_devices + 1, dtype=np.int64)
    np.add.at(ptr, rows + 1, 1)
    return np.cumsum(ptr), cols.astype(np.int64), 2


def kernel_grid(data: EventData, settings: HawkesSettings) -> np.ndarray:
    """Candidate decay rates from the per-device gaps between consecutive alarms."""
    order = np.lexsort((data.times, data.devices))
    t, d = data.times[order], data.devices[order]
    gaps = np.diff(t)[np.diff(d) == 0]
    gaps = gaps[gaps > 0]
    if gaps.size == 0:
        gaps = np.array([data.span / max(len(data.times), 1)])
    lo, hi = np.quantile(gaps, settings.grid_quantiles)
    lo, hi = max(lo, 1e-9), max(hi, lo * 1.0001)
    scales = np.geomspace(lo, hi, settings.n_grid)
    return 1.0 / scales


def _network(data: EventData, beta: float, tie_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Network-wide activity per device: (n, K + 1) features, (K + 1,) compensators.

    Column ``i < K`` is type ``i``'s activity anywhere, column ``K`` every type's. A target
    type's baseline gets its own column and the all-types one, each weighed by the
    event's device's share of all alarms: a storm (weather, a power cut, a maintenance
    night) raises every device's rate in proportion to its usual rate, and without these
    terms the types that rise together in a storm look like causes of one another.
    """
    g, comp = hawkes.network_excitation(data.types, data.times, data.n_types, beta, tie_weight)
    g = np.concatenate([g, g.sum(axis=1, keepdims=True)], axis=1) / data.n_devices
    comp = np.append(comp, comp.sum()) / data.n_devices
    return g, comp


def _device_weights(data: EventData) -> np.ndarray:
    counts = np.bincount(data.devices, minlength=data.n_devices).astype(np.float64)
    return counts * data.n_devices / max(counts.sum(), 1.0)


def _targets(
    data: EventData,
    beta: float,
    csr: tuple[np.ndarray, np.ndarray, int],
    settings: HawkesSettings,
) -> list[_Target]:
    ptr, idx, n_hops = csr
    args = (data.types, data.devices, data.times, data.n_types, data.n_devices, ptr, idx, beta)
    phi = hawkes.excitation(*args, n_hops, settings.tie_weight)
    comp = hawkes.compensators(*args, n_hops, float(data.times[-1]))
    network = _network(data, beta, settings.tie_weight) if settings.network_background else None
    weights = _device_weights(data)
    out = []
    for j in range(data.n_types):
        sel = np.flatnonzero(data.types == j)
        elig, local = np.unique(data.devices[sel], return_inverse=True)
        bg = np.zeros((len(sel), 0))
        bg_comp = np.zeros(0)
        if network is not None:
            cols = [j, data.n_types]
            bg = network[0][sel][:, cols].astype(np.float64) * weights[data.devices[sel], None]
            bg_comp = network[1][cols] * weights[elig].sum()
        out.append(
            _Target(
                x=phi[sel].astype(np.float64),
                dev=local.astype(np.int64),
                n_dev=len(elig),
                comp=comp[:, :, elig].sum(axis=2),
                span=data.span,
                bg=bg,
                bg_comp=bg_comp,
            )
        )
    return out


def _design(tg: _Target, parents: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Features and compensators of a model: the parents' hops, then the background."""
    x = np.concatenate([tg.x[:, parents, :].reshape(tg.n, -1), tg.bg], axis=1)
    c = np.concatenate([tg.comp[parents, :].reshape(-1), tg.bg_comp])
    return x, c


def _fit(
    tg: _Target,
    parents: list[int],
    settings: HawkesSettings,
    n_iter: int,
    warm: tuple[list[int], np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """EM fit of target ``tg`` with the given parent types; returns (LL, alpha, mu).

    ``warm``: a fit of another parent set ``(parents, alpha, mu)`` to start from (the
    parents both share keep their values, new ones start small)."""
    x, c = _design(tg, parents)
    alpha = np.full(x.shape[1], 0.05)
    mu = np.full(tg.n_dev, tg.n / (tg.span * tg.n_dev))
    if warm is not None:
        n_hops = tg.x.shape[2]
        old, a_old, mu_old = warm
        for k, i in enumerate(parents):
            if i in old:
                q = old.index(i)
                alpha[k * n_hops : (k + 1) * n_hops] = a_old[q * n_hops : (q + 1) * n_hops]
        alpha[len(parents) * n_hops :] = a_old[len(old) * n_hops :]
        mu = mu_old.copy()
    ll = hawkes.em_fit(x, tg.dev, tg.n_dev, c, tg.span, alpha, mu, n_iter, settings.tol)
    return ll, alpha, mu


def _window(data: EventData, n_events: int) -> EventData:
    """The middle ``n_events`` events (all of them when there are fewer)."""
    n = data.times.size
    if n <= n_events:
        return data
    lo = (n - n_events) // 2
    sl = slice(lo, lo + n_events)
    return EventData(data.types[sl], data.devices[sl], data.times[sl], data.type_ids,
                     data.device_ids)  # fmt: skip


def _choose_beta(
    data: EventData, csr: tuple[np.ndarray, np.ndarray, int], settings: HawkesSettings
) -> tuple[float, list[_Target], dict[float, float]]:
    """The decay of largest full-model likelihood, on a window of at most
    ``beta_events`` events (the time scale, not the graph, is chosen there)."""
    if settings.kernel_scale is not None:
        beta = 1.0 / settings.kernel_scale
        return beta, _targets(data, beta, csr, settings), {}
    everyone = list(range(data.n_types))
    sample = _window(data, settings.beta_events)
    best: tuple[float, float, list[_Target]] | None = None
    scores: dict[float, float] = {}
    for beta in kernel_grid(data, settings):
        targets = _targets(sample, float(beta), csr, settings)
        with ThreadPoolExecutor(_workers()) as pool:
            fits = pool.map(lambda tg: _fit(tg, everyone, settings, settings.n_iter_search)[0],
                            [tg for tg in targets if tg.n])  # fmt: skip
            ll = sum(fits)
        scores[float(beta)] = float(ll)
        logger.debug("beta %.3g (scale %.3g): full-model LL %.1f", beta, 1 / beta, ll)
        if best is None or ll > best[0]:
            best = (ll, float(beta), targets)
    if best is None:
        raise ModelError("no kernel decay could be scored", n_grid=settings.n_grid)
    targets = best[2] if sample is data else _targets(data, best[1], csr, settings)
    return best[1], targets, scores


def _search_target(
    j: int, tg: _Target, prior: PriorKnowledge, settings: HawkesSettings
) -> tuple[list[int], float]:
    """Greedy forward then backward selection of the parents of type ``j`` (BIC)."""
    n_hops = tg.x.shape[2]
    price = settings.penalty_scale * n_hops / 2.0 * np.log(max(tg.n, 2))
    fixed = [j, *np.flatnonzero(prior.required[:, j]).tolist()]
    allowed = ~prior.forbidden[:, j]
    allowed[fixed] = False
    parents = list(fixed)
    ll, alpha, mu = _fit(tg, parents, settings, settings.n_iter)
    while True:
        cands = np.flatnonzero(allowed & ~np.isin(np.arange(tg.x.shape[1]), parents))
        if cands.size == 0:
            break
        base_x, base_c = _design(tg, parents)
        lls = hawkes.gains_for_candidates(
            base_x, tg.x, tg.dev, tg.n_dev, base_c, tg.comp, tg.span,
            alpha, mu, cands.astype(np.int64), settings.n_iter_search, settings.tol,
            settings.n_refit,
        )  # fmt: skip
        k = int(np.argmax(lls))
        if lls[k] - ll <= price:
            break
        warm = (list(parents), alpha, mu)
        parents.append(int(cands[k]))
        ll, alpha, mu = _fit(tg, parents, settings, settings.n_iter, warm)
    return _backward(tg, (parents, alpha, mu), len(fixed), ll, price, settings)


def _backward(
    tg: _Target,
    model: tuple[list[int], np.ndarray, np.ndarray],
    n_fixed: int,
    ll: float,
    price: float,
    settings: HawkesSettings,
) -> tuple[list[int], float]:
    parents = model[0]
    while len(parents) > n_fixed:
        drops = [
            _fit(tg, parents[:k] + parents[k + 1 :], settings, settings.n_iter, model)
            for k in range(n_fixed, len(parents))
        ]
        k = int(np.argmax([d[0] for d in drops]))
        if ll - drops[k][0] > price:
            break
        parents = parents[: n_fixed + k] + parents[n_fixed + k + 1 :]
        ll = drops[k][0]
        model = (parents, drops[k][1], drops[k][2])
    return parents, ll


def _edge_evidence(
    j: int, tg: _Target, parents: list[int], settings: HawkesSettings
) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-parent alpha (summed over hops) and likelihood ratio of the final model of ``j``."""
    k_types, n_hops = tg.x.shape[1], tg.x.shape[2]
    alpha_row, llr_row = np.zeros(k_types), np.zeros(k_types)
    ll, alpha, mu = _fit(tg, parents, settings, settings.n_iter)
    model = (parents, alpha, mu)
    alpha = alpha[: len(parents) * n_hops].reshape(len(parents), n_hops).sum(axis=1)
    for k, i in enumerate(parents):
        if i == j:
            continue
        rest = parents[:k] + parents[k + 1 :]
        alpha_row[i] = alpha[k]
        llr_row[i] = ll - _fit(tg, rest, settings, settings.n_iter, model)[0]
    return alpha_row, llr_row, ll


def _workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def select_parents(
    data: EventData,
    adjacency: np.ndarray | None,
    prior: PriorKnowledge,
    settings: HawkesSettings,
) -> np.ndarray:
    """``sel[i, j]``: type ``i`` is among the parents the search chose for type ``j``
    (before cycles are broken; the stability fits need only this)."""
    csr = _csr(adjacency, data.n_devices)
    _, targets, _ = _choose_beta(data, csr, settings)
    sel = np.zeros((data.n_types, data.n_types), dtype=bool)

    def one(j: int) -> list[int]:
        return _search_target(j, targets[j], prior, settings)[0] if targets[j].n else []

    with ThreadPoolExecutor(_workers()) as pool:
        for j, parents in enumerate(pool.map(one, range(data.n_types))):
            sel[parents, j] = True
    np.fill_diagonal(sel, False)
    return sel & ~prior.forbidden


def fit_topological_hawkes(
    data: EventData,
    adjacency: np.ndarray | None,
    prior: PriorKnowledge,
    settings: HawkesSettings | None = None,
) -> HawkesFit:
    """Learn which alarm types excite which, on the same or adjacent devices."""
    settings = settings or HawkesSettings()
    csr = _csr(adjacency, data.n_devices)
    beta, targets, grid = _choose_beta(data, csr, settings)
    logger.info("kernel decay %.3g per time unit (scale %.3g)", beta, 1.0 / beta)
    k = data.n_types
    alpha, llr, total = np.zeros((k, k)), np.zeros((k, k)), 0.0

    def one(j: int) -> tuple[np.ndarray, np.ndarray, float] | None:
        if targets[j].n == 0:  # a type of the prior that never occurs: no parents
            return None
        parents, _ = _search_target(j, targets[j], prior, settings)
        return _edge_evidence(j, targets[j], parents, settings)

    with ThreadPoolExecutor(_workers()) as pool:
        for j, res in enumerate(pool.map(one, range(k))):
            if res is not None:
                alpha[:, j], llr[:, j], ll = res
                total += ll
    np.fill_diagonal(llr, 0.0)
    llr[prior.forbidden] = 0.0
    adj = break_cycles(np.where(llr > 0, llr, 0.0), prior.required)
    adj &= ~prior.forbidden
    return HawkesFit(np.where(adj, alpha, 0.0), np.where(adj, llr, 0.0), adj, beta, total, grid)
