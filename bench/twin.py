"""Twin engine benchmark: ``python -m bench.twin --json [--quick]``.

Numba kernel (all threads) against the NumPy reference and a pure Python loop (the
kernel's own Python source on a small slice), all measured in this run, plus the time
of 100 scenarios x 10,000 cells x 96 steps in the replay fast path (per-cell means).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def _inputs(scen: int, cells: int, steps: int, seed: int = 0) -> tuple:
    from twinrca.twin_replay.kernel import CELL_KPIS, empty_effects

    rng = np.random.default_rng(seed)
    offered = rng.uniform(5, 90, (cells, steps)).astype(np.float32)
    cap = rng.choice([60.0, 150.0, 400.0], cells).astype(np.float32)
    ones = np.ones(cells, np.float32)
    eff = list(empty_effects(scen, cells))
    # 2 % of (scenario, cell) pairs carry a fault effect, as in a what-if run
    hit = rng.random(scen * cells) < 0.02
    counts = hit.astype(np.int64)
    eff[0] = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n = int(counts.sum())
    eff[1] = rng.integers(0, steps // 2, n).astype(np.int32)
    eff[2] = (eff[1] + steps // 3).astype(np.int32)
    eff[3] = np.full(n, 2.0, np.float32)
    eff[4] = np.tile(np.array([0.0, 1, 1, 1, 0, 0, 0, 0, 0], np.float32), (n, 1))
    agg = np.zeros((scen, cells, len(CELL_KPIS)), np.float32)
    out = np.zeros((0, 0, 0, len(CELL_KPIS)), np.float32)
    return (offered, cap, ones, ones, 0.06 * ones, 0.4 * ones, *eff, np.uint64(seed), out, agg)


_M64 = (1 << 64) - 1


def python_loop(offered, cap, scale, sens, noise, comp, *rest) -> None:
    """The kernel's per cell-step arithmetic as a plain Python loop (no effects)."""
    agg = rest[-1]
    n_s, n_c = agg.shape[:2]
    off = offered.tolist()
    for s in range(n_s):
        for c in range(n_c):
            x = ((s * 0xD1B54A32D192ED03) ^ (c * 0xABC98388FB8FAC03) | 1) & _M64
            capc, scl, sen, nsd, cmp0 = (
                float(cap[c]),
                float(scale[c]),
                float(sens[c]),
                float(noise[c]),
                float(comp[c]),
            )
            acc = [0.0] * 9
            for o in off[c]:
                x ^= (x << 13) & _M64
                x ^= x >> 7
                x ^= (x << 17) & _M64
                z = (x * 0x2545F4914F6CDD1D) & _M64
                zd = (
                    (z >> 43) / 2097152 + ((z >> 22) & 0x1FFFFF) / 2097152 - 1.0
                ) * 2.449489742783178
                zq = ((z & 0x1FFFFF) / 2097152 - 0.5) * 3.4641016151377544
                d = max(o * scl * (1.0 + nsd * zd), 0.0)
                load = d / capc
                cong = max(load - 0.85, 0.0) * sen
                v2 = min(d, capc)
                vals = (
                    100.0,
                    100.0 * min(load, 1.0),
                    v2,
                    v2 * (0.12 + 0.004 * zq),
                    min(100.0, max(0.0, 100.0 * (0.995 - 0.03 * cong) + 0.1 * zq)),
                    min(100.0, max(0.0, 100.0 * (0.993 - 0.04 * cong) + 0.1 * zq)),
                    max(0.0, 0.45 + 3.0 * cong + 0.05 * zq),
                    min(100.0, max(0.0, 100.0 * (0.985 - 0.02 * cong) + 0.2 * zq)),
                    100.0 * (1.0 + 0.0 * cmp0),
                )
                for k in range(9):
                    acc[k] += vals[k]
            agg[s, c] = [a / len(off[c]) for a in acc]


def _rate(fn, args: tuple, repeat: int) -> float:
    scen, cells = args[-1].shape[:2]
    steps = args[0].shape[1]
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t)
    return scen * cells * steps / best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    opts = ap.parse_args()
    import numba

    from twinrca.twin_replay.kernel import cell_kernel, cell_reference

    steps = 96
    big = _inputs(20 if opts.quick else 100, 10_000, steps)
    print("compiling / warming up", file=sys.stderr)
    cell_kernel(*_inputs(2, 50, steps))
    numba_rate = _rate(cell_kernel, big, 2 if opts.quick else 3)
    print("numpy reference", file=sys.stderr)
    numpy_rate = _rate(cell_reference, _inputs(4, 5_000, steps), 1)
    print("pure python", file=sys.stderr)
    python_rate = _rate(python_loop, _inputs(1, 100 if opts.quick else 300, steps), 1)
    full = _inputs(100, 10_000, steps)
    t = time.perf_counter()
    cell_kernel(*full)
    day = time.perf_counter() - t
    print(
        json.dumps(
            {
                "cell_steps_per_s": round(numba_rate),
                "numpy_cell_steps_per_s": round(numpy_rate),
                "python_cell_steps_per_s": round(python_rate),
                "speedup_vs_numpy": round(numba_rate / numpy_rate, 1),
                "speedup_vs_python": round(numba_rate / python_rate, 1),
                "threads": numba.get_num_threads(),
                "s_100_scenarios_10k_cells_day": round(day, 3),
                "mode": "replay fast path: per-(scenario, cell) means of 9 KPIs, 2% faulted",
                "quick": opts.quick,
            }
        )
    )


if __name__ == "__main__":
    main()
