"""The Numba Hawkes kernels against plain NumPy references."""

from __future__ import annotations

import numpy as np
import pytest

from twinrca.causal import hawkes


def _reference_phi(types, devices, times, n_types, adj, beta, tie_weight=0.0):
    n = len(times)
    phi = np.zeros((n, n_types, 2))
    for e in range(n):
        for f in range(n):
            if times[f] > times[e] or f == e:
                continue
            hop = 0 if devices[f] == devices[e] else (1 if adj[devices[e], devices[f]] else -1)
            if hop < 0:
                continue
            if times[f] == times[e]:
                phi[e, types[f], hop] += tie_weight * beta
            else:
                phi[e, types[f], hop] += beta * np.exp(-beta * (times[e] - times[f]))
    return phi


def _csr(adj):
    rows, cols = np.nonzero(adj)
    ptr = np.cumsum(np.bincount(rows + 1, minlength=adj.shape[0] + 1))
    return ptr.astype(np.int64), cols.astype(np.int64)


def test_excitation_matches_reference() -> None:
    rng = np.random.default_rng(0)
    n, k, d = 60, 3, 4
    adj = np.zeros((d, d), dtype=bool)
    adj[0, 1] = adj[1, 0] = adj[2, 3] = adj[3, 2] = True
    times = np.sort(rng.integers(0, 200, n)).astype(np.float64)  # with ties
    types, devices = rng.integers(0, k, n), rng.integers(0, d, n)
    ptr, idx = _csr(adj)
    got = hawkes.excitation(types, devices, times, k, d, ptr, idx, 0.05, 2)
    want = _reference_phi(types, devices, times, k, adj, 0.05)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_same_timestamp_events_count_a_share_of_a_zero_delay_kernel() -> None:
    rng = np.random.default_rng(3)
    n, k, d = 80, 3, 4
    adj = np.zeros((d, d), dtype=bool)
    adj[0, 1] = adj[1, 0] = adj[1, 2] = adj[2, 1] = True
    times = np.sort(rng.integers(0, 60, n)).astype(np.float64)  # many ties
    types, devices = rng.integers(0, k, n), rng.integers(0, d, n)
    ptr, idx = _csr(adj)
    got = hawkes.excitation(types, devices, times, k, d, ptr, idx, 0.05, 2, 0.5)
    want = _reference_phi(types, devices, times, k, adj, 0.05, tie_weight=0.5)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    plain = hawkes.excitation(types, devices, times, k, d, ptr, idx, 0.05, 2, 0.0)
    assert (got - plain).sum() > 0  # the ties were there and counted


def test_network_excitation_matches_reference() -> None:
    rng = np.random.default_rng(4)
    n, k, beta = 70, 3, 0.1
    times = np.sort(rng.integers(0, 300, n)).astype(np.float64)
    types = rng.integers(0, k, n)
    g, comp = hawkes.network_excitation(types, times, k, beta)
    want = np.zeros((n, k))
    for e in range(n):
        earlier = times < times[e]
        for i in range(k):
            dt = times[e] - times[earlier & (types == i)]
            want[e, i] = (beta * np.exp(-beta * dt)).sum()
    np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-7)
    want_comp = [(1 - np.exp(-beta * (times[-1] - times[types == i]))).sum() for i in range(k)]
    np.testing.assert_allclose(comp, want_comp, rtol=1e-9)
    tied, _ = hawkes.network_excitation(types, times, k, beta, 0.5)
    for e in range(n):
        same = (times == times[e]) & (np.arange(n) != e)
        want[e] += 0.5 * beta * np.bincount(types[same], minlength=k)
    np.testing.assert_allclose(tied, want, rtol=1e-5, atol=1e-7)


def test_em_never_lowers_likelihood_and_converges_to_the_optimum() -> None:
    rng = np.random.default_rng(1)
    x = rng.exponential(0.01, (500, 2))
    x[:, 1] *= rng.random(500) < 0.3
    c = np.array([4.0, 3.0])
    span = 1000.0
    lls = []
    for iters in (1, 5, 50, 5000):
        alpha, mu = np.full(2, 0.05), np.full(1, 0.01)
        dev = np.zeros(500, np.int64)
        lls.append(hawkes.em_fit(x, dev, 1, c, span, alpha, mu, iters, 0.0))
    assert lls == sorted(lls)
    # optimality (KKT): the score of every positive parameter is zero
    lam = mu[0] + x @ alpha
    assert mu[0] > 0
    assert (1.0 / lam).sum() == pytest.approx(span, rel=1e-3)
    for k in range(2):
        if alpha[k] > 1e-6:
            assert (x[:, k] / lam).sum() == pytest.approx(c[k], rel=1e-3)
