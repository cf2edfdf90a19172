"""Numba kernels of the topological Hawkes model between alarm types.

Model (one target alarm type ``j``): on every device ``d`` where ``j`` occurs,

    lambda_j(d, t) = mu_{j,d} + sum_{i, h} alpha_{i,j,h} sum_{events of type i at hop h from d,
                                                           t' < t} beta * exp(-beta (t - t'))

with hop ``h`` = 0 (same device) or 1 (adjacent device). The log-likelihood splits over
target types, so each target is fitted on its own by EM (an MM algorithm: each
iteration cannot lower the likelihood) from two precomputed pieces:

- ``phi[e, i, h]``: the kernel sum from type ``i`` at hop ``h`` seen by event ``e``;
- ``comp[i, h, d]``: the kernel integral (compensator) that type-``i`` events at hop
  ``h`` spread over device ``d`` up to the end of the observation.

Events with the same timestamp do not excite each other (no order can be told).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["compensators", "em_fit", "excitation", "gains_for_candidates"]


@njit(cache=True, nogil=True)
def excitation(
    types: np.ndarray,
    devices: np.ndarray,
    times: np.ndarray,
    n_types: int,
    n_devices: int,
    nbr_ptr: np.ndarray,
    nbr_idx: np.ndarray,
    beta: float,
    n_hops: int,
    tie_weight: float = 0.0,
) -> np.ndarray:
    """``phi[e, i, h]`` for events sorted by time (CSR neighbour lists).

    Events with the same timestamp as ``e`` (their order unknown) count ``tie_weight``
    of a kernel at zero delay each.
    """
    n = times.shape[0]
    phi = np.zeros((n, n_types, n_hops), dtype=np.float32)
    state = np.zeros((n_devices, n_types))
    tied = np.zeros((n_devices, n_types))
    last = np.full(n_devices, times[0])
    start = 0
    while start < n:
        stop = _tie_end(times, start)
        t = times[start]
        if tie_weight > 0.0 and stop - start > 1:
            for e in range(start, stop):
                tied[devices[e], types[e]] += 1.0
        for e in range(start, stop):
            d = devices[e]
            _decay(state, last, d, t, beta)
            for i in range(n_types):
                phi[e, i, 0] = beta * state[d, i]
            if tie_weight > 0.0 and stop - start > 1:
                for i in range(n_types):
                    phi[e, i, 0] += tie_weight * beta * tied[d, i]
                phi[e, types[e], 0] -= tie_weight * beta
            if n_hops > 1:
                for q in range(nbr_ptr[d], nbr_ptr[d + 1]):
                    m = nbr_idx[q]
                    _decay(state, last, m, t, beta)
                    for i in range(n_types):
                        phi[e, i, 1] += beta * state[m, i]
                    if tie_weight > 0.0 and stop - start > 1:
                        for i in range(n_types):
                            phi[e, i, 1] += tie_weight * beta * tied[m, i]
        for e in range(start, stop):
            state[devices[e], types[e]] += 1.0
            tied[devices[e], types[e]] = 0.0
        start = stop
    return phi


@njit(cache=True, nogil=True)
def _tie_end(times: np.ndarray, start: int) -> int:
    """One past the last event with the timestamp of event ``start`` (times sorted)."""
    stop = start
    while stop < times.shape[0] and times[stop] == times[start]:
        stop += 1
    return stop


@njit(cache=True, nogil=True)
def _decay(state: np.ndarray, last: np.ndarray, d: int, t: float, beta: float) -> None:
    if last[d] != t:
        f = np.exp(-beta * (t - last[d]))
        for i in range(state.shape[1]):
            state[d, i] *= f
        last[d] = t


@njit(cache=True, nogil=True)
def compensators(
    types: np.ndarray,
    devices: np.ndarray,
    times: np.ndarray,
    n_types: int,
    n_devices: int,
    nbr_ptr: np.ndarray,
    nbr_idx: np.ndarray,
    beta: float,
    n_hops: int,
    t_end: float,
) -> np.ndarray:
    """``comp[i, h, d]``: integral of the kernels of type-``i`` events reaching device ``d``."""
    comp = np.zeros((n_types, n_hops, n_devices))
    for e in range(times.shape[0]):
        w = 1.0 - np.exp(-beta * (t_end - times[e]))
        src = devices[e]
        comp[types[e], 0, src] += w
        if n_hops > 1:
            for q in range(nbr_ptr[src], nbr_ptr[src + 1]):
                comp[types[e], 1, nbr_idx[q]] += w
    return comp


@njit(cache=True, nogil=True)
def em_fit(
    x: np.ndarray,
    dev: np.ndarray,
    n_dev: int,
    c: np.ndarray,
    span: float,
    alpha: np.ndarray,
    mu: np.ndarray,
    n_iter: int,
    tol: float,
) -> float:
    """Fit ``alpha`` (features of ``x``) and ``mu`` (per local device) in place; return the LL.

    ``x`` is (n events, p features), ``c`` the compensator of each feature, ``dev`` the
    local device index of each event, ``span`` the observed time span.
    """
    n, p = x.shape
    acc_a = np.zeros(p)
    acc_m = np.zeros(n_dev)
    prev = -np.inf
    ll = -np.inf
    for _ in range(n_iter):
        acc_a[:] = 0.0
        acc_m[:] = 0.0
        ll = 0.0
        for e in range(n):
            d = dev[e]
            lam = mu[d]
            for k in range(p):
                lam += alpha[k] * x[e, k]
            ll += np.log(lam)
            for k in range(p):
                acc_a[k] += alpha[k] * x[e, k] / lam
            acc_m[d] += mu[d] / lam
        for d in range(n_dev):
            ll -= mu[d] * span
        for k in range(p):
            ll -= alpha[k] * c[k]
        for k in range(p):
            alpha[k] = acc_a[k] / c[k] if c[k] > 0.0 else 0.0
        for d in range(n_dev):
            mu[d] = max(acc_m[d] / span, 1e-300)
        if ll - prev < tol * (1.0 + abs(ll)):
            break
        prev = ll
    return ll


@njit(cache=True, nogil=True)
def gains_for_candidates(
    base_x: np.ndarray,
    cand_x: np.ndarray,
    dev: np.ndarray,
    n_dev: int,
    base_c: np.ndarray,
    cand_c: np.ndarray,
    span: float,
    alpha: np.ndarray,
    mu: np.ndarray,
    candidates: np.ndarray,
    n_iter: int,
    tol: float,
    n_refit: int = 0,
) -> np.ndarray:
    """Log-likelihood after adding each candidate type (its hop features) to the model.

    ``base_x`` (n, p) holds the current features, ``cand_x`` (n, K, H) the features of
    every type; ``alpha``/``mu`` are the current fit (warm start). Candidates whose
    score (gradient at zero) is not positive cannot improve the fit and get ``-inf``.
    With ``n_refit > 0`` only the ``n_refit`` candidates of largest score statistic
    (the one-step approximation of twice their likelihood gain, ``g^2 / I``) are fitted
    by EM; the others get ``-inf``.
    """
    n, p = base_x.shape
    n_hops = cand_x.shape[2]
    n_cand = candidates.shape[0]
    out = np.full(n_cand, -np.inf)
    lam = np.empty(n)
    for e in range(n):
        lam[e] = mu[dev[e]]
        for k in range(p):
            lam[e] += alpha[k] * base_x[e, k]
    stat = np.full(n_cand, -np.inf)
    for q in range(n_cand):
        i = candidates[q]
        for h in range(n_hops):
            g = -cand_c[i, h]
            info = 0.0
            for e in range(n):
                r = cand_x[e, i, h] / lam[e]
                g += r
                info += r * r
            if g > 0.0 and info > 0.0:
                stat[q] = max(stat[q], g * g / info)
    fit_these = np.flatnonzero(stat > -np.inf)
    if n_refit > 0 and fit_these.shape[0] > n_refit:
        fit_these = fit_these[np.argsort(-stat[fit_these])[:n_refit]]
    x = np.empty((n, p + n_hops))
    x[:, :p] = base_x
    c = np.empty(p + n_hops)
    c[:p] = base_c
    for r in range(fit_these.shape[0]):
        q = fit_these[r]
        c_i = candidates[q]
        for h in range(n_hops):
            c[p + h] = cand_c[c_i, h]
            for e in range(n):
                x[e, p + h] = cand_x[e, c_i, h]
        a = np.empty(p + n_hops)
        a[:p] = alpha
        a[p:] = 0.05
        m = mu.copy()
        out[q] = em_fit(x, dev, n_dev, c, span, a, m, n_iter, tol)
    return out


@njit(cache=True, nogil=True)
def network_excitation(
    types: np.ndarray, times: np.ndarray, n_types: int, beta: float, tie_weight: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Network-wide activity per type: ``g[e, i]`` = kernel sum of the type-``i`` events
    anywhere before event ``e`` (same-timestamp events count ``tie_weight`` of a kernel
    at zero delay, as in :func:`excitation`), and ``comp[i]`` = kernel integral of the
    type-``i`` events up to the last event (as seen by one device)."""
    n = times.shape[0]
    g = np.zeros((n, n_types), dtype=np.float32)
    state = np.zeros(n_types)
    tied = np.zeros(n_types)
    comp = np.zeros(n_types)
    t_end = times[n - 1]
    last = times[0]
    start = 0
    while start < n:
        stop = _tie_end(times, start)
        t = times[start]
        f = np.exp(-beta * (t - last))
        for i in range(n_types):
            state[i] *= f
        last = t
        tied[:] = 0.0
        if tie_weight > 0.0:
            for e in range(start, stop):
                tied[types[e]] += 1.0
        for e in range(start, stop):
            for i in range(n_types):
                g[e, i] = beta * (state[i] + tie_weight * tied[i])
            if tie_weight > 0.0:
                g[e, types[e]] -= beta * tie_weight
        for e in range(start, stop):
            state[types[e]] += 1.0
            comp[types[e]] += 1.0 - np.exp(-beta * (t_end - t))
        start = stop
    return g, comp
