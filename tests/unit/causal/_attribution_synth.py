"""Synthetic metric SCMs with a planted root cause (shared by the attribution tests)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

ENTITIES = ("gw", "amf", "smf", "upf", "ran")
CHAIN = [(f"{a}_cpu", f"{b}_cpu") for a, b in itertools.pairwise(ENTITIES)]
EDGES = CHAIN + [(f"{e}_cpu", f"{e}_lat") for e in ENTITIES]


def simulate(
    n: int,
    rng: np.random.Generator,
    *,
    gain: float,
    noise: dict[str, float],
    shift: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Linear SCM on EDGES: child = gain * parent + noise; ``shift`` adds to a node's noise."""
    shift = shift or {}
    cols: dict[str, np.ndarray] = {}
    for entity in ENTITIES:
        for metric in ("cpu", "lat"):
            name = f"{entity}_{metric}"
            parents = [p for p, c in EDGES if c == name]
            eps = rng.normal(0.0, noise.get(name, 1.0), n) + shift.get(name, 0.0)
            cols[name] = sum((gain * cols[p] for p in parents), start=np.zeros(n)) + eps
    frame = pd.DataFrame(cols)
    frame.insert(0, "time", np.arange(n, dtype=float))
    return frame


def planted(
    root: str,
    *,
    gain: float = 0.8,
    seed: int = 0,
    sigmas: float = 3.0,
    quiet_children: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Normal and anomalous periods; the anomalous one has a ``sigmas``-sd shift in ``root``'s
    noise. With ``quiet_children`` every node's own noise is small except the chain's first
    node, so a downstream effect can look more anomalous than its cause (z-scores alone fail).
    """
    rng = np.random.default_rng(seed)
    noise = {name: (0.2 if quiet_children else 1.0) for pair in EDGES for name in pair}
    noise[EDGES[0][0]] = 1.0
    normal = simulate(300, rng, gain=gain, noise=noise)
    sd = float(normal[root].std())
    anomalous = simulate(200, rng, gain=gain, noise=noise, shift={root: sigmas * sd})
    anomalous["time"] += 1000.0
    return normal, anomalous
