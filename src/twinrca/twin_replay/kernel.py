"""The cell KPI kernel: one Numba function and a NumPy reference with the same signature.

``cell_kernel(offered, cap, scale, sens, noise, comp, eff_off, eff_start, eff_end,
eff_ramp, eff_par, seed, out, agg)`` simulates every (scenario, cell, step):

* ``offered [C, T]`` demand (Mbit/s); ``cap, scale, sens, noise, comp [C]`` per-cell
  parameters (capacity, demand scale, congestion sensitivity, noise sd, neighbour
  coverage compensation);
* effects in CSR form per (scenario, cell): entries ``eff_off[s*C+c] ..
  eff_off[s*C+c+1]`` with ``[start, end)`` steps, a ramp length (steps; gradual onset)
  and ``eff_par [E, P]`` parameters (see :data:`EFFECT_PARAMS`), precomputed outside
  the kernel from the interventions and the topology;
* noise from a counter-based generator: splitmix64 of (seed, scenario, cell) advanced
  by the step, so results do not depend on threads or on the order of work;
* writes ``out [S, C, T, K]`` (float32; pass shape ``(0, 0, 0, K)`` to skip it) and the
  per-(scenario, cell) means ``agg [S, C, K]``.

KPIs (:data:`CELL_KPIS`): availability %, PRB utilisation %, DL and UL throughput
Mbit/s, RRC and E-RAB setup success %, drop rate %, handover success %, coverage %.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["CELL_KPIS", "EFFECT_PARAMS", "cell_kernel", "cell_reference", "empty_effects"]

CELL_KPIS: tuple[str, ...] = (
    "availability",
    "prb_utilisation",
    "dl_throughput_mbps",
    "ul_throughput_mbps",
    "rrc_setup_sr",
    "erab_setup_sr",
    "drop_rate",
    "ho_sr",
    "coverage",
)
EFFECT_PARAMS: tuple[str, ...] = (
    "availability",
    "capacity",
    "demand",
    "coverage",
    "rrc_loss",
    "erab_loss",
    "ho_loss",
    "drop_add",
    "comp_add",
)
NEUTRAL = np.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], dtype=np.float32)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_KS = np.uint64(0xD1B54A32D192ED03)
_KC = np.uint64(0xABC98388FB8FAC03)
_MSTAR = np.uint64(0x2545F4914F6CDD1D)
_S13 = np.uint64(13)
_S7 = np.uint64(7)
_S17 = np.uint64(17)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S43 = np.uint64(43)
_S22 = np.uint64(22)
_MASK21 = np.uint64((1 << 21) - 1)
_INV21 = 1.0 / float(1 << 21)
_SQRT6 = 2.449489742783178
_SQRT12 = 3.4641016151377544


@njit(inline="always", cache=True)
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def stream_base(seed: np.uint64, s: np.uint64, c: np.uint64) -> np.uint64:
    """Start state of the (scenario, cell) random stream."""
    return _mix(_mix(seed ^ (s * _KS)) ^ (c * _KC)) | np.uint64(1)


def empty_effects(scenarios: int, cells: int) -> tuple[np.ndarray, ...]:
    """CSR effect arrays with no effect at all."""
    return (
        np.zeros(scenarios * cells + 1, dtype=np.int64),
        np.zeros(0, np.int32),
        np.zeros(0, np.int32),
        np.zeros(0, np.float32),
        np.zeros((0, len(EFFECT_PARAMS)), np.float32),
    )


@njit(inline="always", fastmath=True, cache=True)
def _uniforms(z: np.uint64) -> tuple[float, float]:
    """A triangular unit-variance deviate (demand) and a uniform one (quality)."""
    u1 = np.int64(z >> _S43) * _INV21
    u2 = np.int64((z >> _S22) & _MASK21) * _INV21
    u3 = np.int64(z & _MASK21) * _INV21
    return (u1 + u2 - 1.0) * _SQRT6, (u3 - 0.5) * _SQRT12


@njit(inline="always", fastmath=True, cache=True)
def _step(off, scl, capc, sen, nsd, cmp0, z, av, kf, dm, cv, rl, el, hl, da, ca):
    """The nine KPIs of one cell-step."""
    zd, zq = _uniforms(z)
    d = max(off * scl * dm * (1.0 + nsd * zd), 0.0)
    ck = max(capc * kf, 1e-3)
    load = d / ck
    cong = max(load - 0.85, 0.0) * sen
    up = 1.0 if av > 0.0 else 0.0
    v0 = 100.0 * av
    v2 = av * min(d, ck)
    return (
        v0,
        v0 * min(load, 1.0),
        v2,
        v2 * (0.12 + 0.004 * zq),
        up * min(100.0, max(0.0, 100.0 * (0.995 - rl - 0.03 * cong) + 0.1 * zq)),
        up * min(100.0, max(0.0, 100.0 * (0.993 - el - 0.04 * cong) + 0.1 * zq)),
        up * max(0.0, 0.45 + da + 3.0 * cong + 0.05 * zq),
        up * min(100.0, max(0.0, 100.0 * (0.985 - hl - 0.02 * cong) + 0.2 * zq)),
        100.0 * (av * cv + (1.0 - av * cv) * min(1.0, cmp0 + ca)),
    )


@njit(inline="always", fastmath=True, cache=True)
def _effects(t, e0, e1, eff_start, eff_end, eff_ramp, eff_par):
    """Combined effect factors of the entries ``e0..e1`` active at step ``t``."""
    av = kf = dm = cv = 1.0
    rl = el = hl = da = ca = 0.0
    for e in range(e0, e1):
        if eff_start[e] <= t < eff_end[e]:
            i = min(1.0, (t - eff_start[e] + 1.0) / eff_ramp[e])
            av *= 1.0 - i * (1.0 - eff_par[e, 0])
            kf *= 1.0 - i * (1.0 - eff_par[e, 1])
            dm *= 1.0 - i * (1.0 - eff_par[e, 2])
            cv *= 1.0 - i * (1.0 - eff_par[e, 3])
            rl += i * eff_par[e, 4]
            el += i * eff_par[e, 5]
            hl += i * eff_par[e, 6]
            da += i * eff_par[e, 7]
            ca += i * eff_par[e, 8]
    return av, kf, dm, cv, rl, el, hl, da, ca


@njit(inline="always", cache=True)
def _next(x: np.uint64) -> np.uint64:
    """xorshift64 step (the stream state)."""
    x ^= x << _S13
    x ^= x >> _S7
    return x ^ (x << _S17)


@njit(inline="always", fastmath=True, cache=True)
def _cell(
    s,
    c,
    has_eff,
    e0,
    e1,
    offered,
    capc,
    scl,
    sen,
    nsd,
    cmp0,
    x,
    eff_start,
    eff_end,
    eff_ramp,
    eff_par,
    full,
    out,
    agg,
    inv_t,
):
    """All steps of one (scenario, cell); ``has_eff`` is a literal so LLVM folds it."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = 0.0
    av = kf = dm = cv = 1.0
    rl = el = hl = da = ca = 0.0
    for t in range(offered.shape[1]):
        if has_eff:
            av, kf, dm, cv, rl, el, hl, da, ca = _effects(
                t, e0, e1, eff_start, eff_end, eff_ramp, eff_par
            )
        x = _next(x)
        v0, v1, v2, v3, v4, v5, v6, v7, v8 = _step(
            offered[c, t], scl, capc, sen, nsd, cmp0, x * _MSTAR, av, kf, dm, cv, rl, el, hl, da, ca
        )
        if full:
            o = out[s, c, t]
            o[0], o[1], o[2], o[3], o[4] = v0, v1, v2, v3, v4
            o[5], o[6], o[7], o[8] = v5, v6, v7, v8
        a0 += v0
        a1 += v1
        a2 += v2
        a3 += v3
        a4 += v4
        a5 += v5
        a6 += v6
        a7 += v7
        a8 += v8
    g = agg[s, c]
    g[0], g[1], g[2], g[3], g[4] = a0 * inv_t, a1 * inv_t, a2 * inv_t, a3 * inv_t, a4 * inv_t
    g[5], g[6], g[7], g[8] = a5 * inv_t, a6 * inv_t, a7 * inv_t, a8 * inv_t


@njit(parallel=True, fastmath=True, cache=True)
def cell_kernel(
    offered,
    cap,
    scale,
    sens,
    noise,
    comp,
    eff_off,
    eff_start,
    eff_end,
    eff_ramp,
    eff_par,
    seed,
    out,
    agg,
):
    n_s, n_c = agg.shape[0], agg.shape[1]
    full = out.shape[0] > 0
    useed = np.uint64(seed)
    inv_t = 1.0 / offered.shape[1]
    for sc in prange(n_s * n_c):
        s = sc // n_c
        c = sc - s * n_c
        e0, e1 = eff_off[sc], eff_off[sc + 1]
        x = stream_base(useed, np.uint64(s), np.uint64(c))
        if e1 > e0:
            _cell(
                s,
                c,
                True,
                e0,
                e1,
                offered,
                cap[c],
                scale[c],
                sens[c],
                noise[c],
                comp[c],
                x,
                eff_start,
                eff_end,
                eff_ramp,
                eff_par,
                full,
                out,
                agg,
                inv_t,
            )
        else:
            _cell(
                s,
                c,
                False,
                e0,
                e1,
                offered,
                cap[c],
                scale[c],
                sens[c],
                noise[c],
                comp[c],
                x,
                eff_start,
                eff_end,
                eff_ramp,
                eff_par,
                full,
                out,
                agg,
                inv_t,
            )


def _np_mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def _np_effects(
    t: int,
    n: int,
    sc_of: np.ndarray,
    eff_start: np.ndarray,
    eff_end: np.ndarray,
    eff_ramp: np.ndarray,
    eff_par: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Combined effect factors of every (scenario, cell) at step ``t``."""
    mult = np.ones((4, n))
    add = np.zeros((5, n))
    on = np.flatnonzero((eff_start <= t) & (t < eff_end))
    if len(on):
        i = np.minimum(1.0, (t - eff_start[on] + 1.0) / eff_ramp[on])
        par = eff_par[on].astype(np.float64)
        for k in range(4):
            np.multiply.at(mult[k], sc_of[on], 1.0 - i * (1.0 - par[:, k]))
            np.add.at(add[k], sc_of[on], i * par[:, 4 + k])
        np.add.at(add[4], sc_of[on], i * par[:, 8])
    return (*mult, *add)


def cell_reference(
    offered,
    cap,
    scale,
    sens,
    noise,
    comp,
    eff_off,
    eff_start,
    eff_end,
    eff_ramp,
    eff_par,
    seed,
    out,
    agg,
):
    """NumPy reference of :func:`cell_kernel` (same signature, same results)."""
    n_s, n_c = agg.shape[0], agg.shape[1]
    n_t = offered.shape[1]
    n = n_s * n_c
    cidx = np.tile(np.arange(n_c), n_s)
    sidx = np.repeat(np.arange(n_s), n_c)
    sc_of = np.repeat(np.arange(n), np.diff(eff_off))
    useed = np.uint64(seed)
    state = _np_mix(
        _np_mix(useed ^ (sidx.astype(np.uint64) * _KS)) ^ (cidx.astype(np.uint64) * _KC)
    )
    state |= np.uint64(1)
    capc, scl, sen, nsd, cmp0 = (
        np.asarray(x, np.float64)[cidx] for x in (cap, scale, sens, noise, comp)
    )
    acc = np.zeros((9, n))
    for t in range(n_t):
        av, kf, dm, cv, rl, el, hl, da, ca = _np_effects(
            t, n, sc_of, eff_start, eff_end, eff_ramp, eff_par
        )
        state ^= state << _S13
        state ^= state >> _S7
        state ^= state << _S17
        z = state * _MSTAR
        u1 = (z >> _S43).astype(np.float64) * _INV21
        u2 = ((z >> _S22) & _MASK21).astype(np.float64) * _INV21
        u3 = (z & _MASK21).astype(np.float64) * _INV21
        zd = (u1 + u2 - 1.0) * _SQRT6
        zq = (u3 - 0.5) * _SQRT12
        d = np.maximum(offered[cidx, t] * scl * dm * (1.0 + nsd * zd), 0.0)
        ck = np.maximum(capc * kf, 1e-3)
        load = d / ck
        cong = np.maximum(load - 0.85, 0.0) * sen
        up = (av > 0.0).astype(np.float64)
        v = np.empty((9, n))
        v[0] = 100.0 * av
        v[1] = 100.0 * av * np.minimum(load, 1.0)
        v[2] = av * np.minimum(d, ck)
        v[3] = v[2] * (0.12 + 0.004 * zq)
        v[4] = up * np.clip(100.0 * (0.995 - rl - 0.03 * cong) + 0.1 * zq, 0.0, 100.0)
        v[5] = up * np.clip(100.0 * (0.993 - el - 0.04 * cong) + 0.1 * zq, 0.0, 100.0)
        v[6] = up * np.maximum(0.0, 0.45 + da + 3.0 * cong + 0.05 * zq)
        v[7] = up * np.clip(100.0 * (0.985 - hl - 0.02 * cong) + 0.2 * zq, 0.0, 100.0)
        v[8] = 100.0 * (av * cv + (1.0 - av * cv) * np.minimum(1.0, cmp0 + ca))
        if out.shape[0] > 0:
            out[:, :, t, :] = v.T.reshape(n_s, n_c, 9)
        acc += v
    agg[:] = (acc / n_t).T.reshape(n_s, n_c, 9)
