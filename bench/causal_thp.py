"""gCastle's THP (``castle.algorithms.TTPM``, gcastle 1.0.4) as the peer of bench.causal.

**Loading without torch.** ``castle/__init__`` itself only needs numpy, pandas,
networkx and matplotlib, but the package ``castle.algorithms`` runs, in its
``__init__``, ``from ..backend.pytorch import *`` (torch) for the gradient learners,
and importing ``castle.algorithms.ttpm`` would run that ``__init__`` first. So
:func:`load_ttpm` registers ``castle.algorithms`` in ``sys.modules`` as a bare package
(the real directory as ``__path__``, its ``__init__`` never executed) before importing
``castle.algorithms.ttpm.ttpm``: TTPM's module and its imports (``castle.common``,
``castle.common.priori_knowledge``) are gCastle's own files, unchanged, and torch is
never imported. ``castle/__init__`` also calls ``logging.basicConfig(level=INFO)``;
the root logger is put back as it was so that TTPM's per-iteration log lines stay quiet.

**Settings.** gCastle's defaults (``delta=0.1`` decay per second, BIC with
``epsilon=1``), ``max_hop=1`` (the alarm sets propagate to hop 1), hill climbing
until no one-edge change improves the score (see :func:`run_thp`). No topology -> an
all-zero device adjacency (every device isolated: hop 0 only), as gCastle expects.

**Speed.** Stock TTPM refits the EM of every target type for each of the K^2
one-edge changes of a sweep; :func:`_fast_ttpm` fits and caches each target on its
own (same scores, same steps), which makes a sweep cost about ``alarms x K^2``.

**Time budget.** :func:`run_thp` predicts the time of the precomputation and K sweeps
(:func:`estimate_seconds`, constants measured on this machine) and skips the set when
that exceeds the budget; a run still going at the deadline is stopped (between two EM
fits) and reported as skipped too, never as a partial graph.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import time
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

__all__ = ["ThpResult", "estimate_seconds", "load_ttpm", "run_thp"]

SECONDS_PER_SWEEP_UNIT = 1.0e-8  # one sweep, per (distinct alarm x K^2), measured here
SECONDS_PER_ALARM = 4.0e-5  # gCastle's decay-effect precomputation, per distinct alarm


@dataclass(frozen=True, slots=True)
class ThpResult:
    """TTPM's graph (K x K bool, ``[cause, effect]``) or None and why it was skipped."""

    matrix: np.ndarray | None
    seconds: float
    reason: str = ""
    sweeps: int = 0


class _Deadline(Exception):
    pass


def load_ttpm() -> type:
    """gCastle's ``TTPM`` class, imported without torch (see the module docstring)."""
    if "castle.algorithms.ttpm.ttpm" in sys.modules:
        return sys.modules["castle.algorithms.ttpm.ttpm"].TTPM
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        castle = importlib.import_module("castle")
        if "castle.algorithms" not in sys.modules:
            spec = importlib.util.find_spec("castle")
            if spec is None or spec.submodule_search_locations is None:
                raise ImportError("castle has no package path")
            path = Path(next(iter(spec.submodule_search_locations))) / "algorithms"
            bare = types.ModuleType("castle.algorithms")
            bare.__path__ = [str(path)]
            bare.__package__ = "castle.algorithms"
            sys.modules["castle.algorithms"] = bare
            castle.algorithms = bare
        module = importlib.import_module("castle.algorithms.ttpm.ttpm")
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
    return module.TTPM


def estimate_seconds(alarms: pd.DataFrame, n_types: int) -> float:
    """Predicted seconds of TTPM's precomputation and K hill-climbing sweeps (the
    smallest run that can find about K edges)."""
    distinct = len(alarms.drop_duplicates(["alarm_id", "start_timestamp", "device_id"]))
    sweep = SECONDS_PER_SWEEP_UNIT * distinct * float(n_types) ** 2
    return SECONDS_PER_ALARM * distinct + n_types * sweep


def _fast_ttpm(ttpm_cls: type, deadline: float) -> type:
    """TTPM with its EM fitted per target type and cached (same result, far faster).

    gCastle's ``_em(edge_mat)`` refits every target type for each candidate graph,
    although target i's fit depends only on column i of ``edge_mat`` (its parents),
    and evaluates the intensity on all alarms before keeping target i's. Here each
    target's fit is gCastle's loop verbatim on target i's rows, cached by its parent
    column; the score is the same sum of per-target log-likelihoods minus the same
    penalty, so the hill climbing takes the same steps (checked by a unit test).
    """

    class _FastTTPM(ttpm_cls):  # type: ignore[misc,valid-type]
        sweeps = 0

        def _em(self, edge_mat: np.ndarray) -> Any:
            if time.perf_counter() > deadline:
                raise _Deadline
            n = self._N
            if not nx.is_directed_acyclic_graph(nx.DiGraph(edge_mat - np.eye(n, n))):
                return -100000000000000, None, None
            if not hasattr(self, "_target_cache"):
                self._target_cache: dict[tuple[int, bytes], float] = {}
                self._target_rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            total = 0.0
            for i in range(n):
                key = (i, edge_mat[:, i].tobytes())
                if key not in self._target_cache:
                    self._target_cache[key] = self._fit_target(i, edge_mat[:, i])
                total += self._target_cache[key]
            price = (n + self._epsilon * edge_mat.sum() * (self._max_hop + 1)) / 2
            if self._penalty == "AIC":
                return total - 2 * price, None, None
            return total - price * np.log(self.tensor["times"].sum()), None, None

        def _fit_target(self, i: int, parents: np.ndarray) -> float:
            if i not in self._target_rows:
                ind = np.where(self._event_indexes == i)[0]
                self._target_rows[i] = (ind, self._effect_tensor_decays[:, ind, :])
            ind, effects = self._target_rows[i]
            x_i = self.tensor["times"].values[ind]
            alpha = np.ones([self._max_hop + 1, self._N]) * parents
            mu, li = 1.0, -100000000000.0
            pa_i = np.where(parents == 1)[0]
            while True:
                lambda_i_sum = (self._decay_effects * alpha.T).sum() + mu * self._T
                lam = np.zeros(len(ind)) + mu
                for k in range(self._max_hop + 1):
                    lam += np.matmul(effects[k], alpha[k].T)
                new_li = -lambda_i_sum + (x_i * np.log(lam)).sum()
                if new_li - li < 0.1:
                    return float(new_li)
                li = new_li
                mu = ((mu / lam) * x_i).sum() / self._T
                for j in pa_i:
                    for k in range(self._max_hop + 1):
                        lower = self._decay_effects[j, k]
                        if lower == 0:
                            alpha[k, j] = 0
                            continue
                        alpha[k, j] = ((alpha[k, j] * effects[k, :, j] / lam) * x_i).sum() / lower

        def _one_step_change_iterator(self, edge_mat: np.ndarray) -> Any:
            self.sweeps += 1
            return super()._one_step_change_iterator(edge_mat)

    return _FastTTPM


def run_thp(
    alarms: pd.DataFrame,
    topology: np.ndarray | None,
    n_types: int,
    time_budget_s: float,
    *,
    n_devices: int | None = None,
    max_iter: int | None = None,
) -> ThpResult:
    """TTPM on ``alarms`` (``alarm_id`` in ``0..n_types-1``, ``device_id`` integer codes
    of the topology rows). ``n_devices`` sizes the empty topology when none is given.

    ``max_iter`` hill-climbing sweeps (default ``K(K-1)/2 + 1``: gCastle's sweep keeps
    one improving change at most, so its default of 20 caps the graph at 20 edges; the
    default here runs until no change improves the score or the budget ends).
    ``matrix`` is None (with the ``reason``) when the set is predicted to exceed
    ``time_budget_s`` or did."""
    t0 = time.perf_counter()
    predicted = estimate_seconds(alarms, n_types)
    if predicted > time_budget_s:
        return ThpResult(None, 0.0, f"predicted {predicted:.0f} s > budget {time_budget_s} s")
    ttpm_cls = _fast_ttpm(load_ttpm(), t0 + time_budget_s)
    if topology is None:
        n = n_devices if n_devices is not None else int(alarms["device_id"].max()) + 1
        topology = np.zeros((n, n))
    tensor = pd.DataFrame(
        {
            "event": alarms["alarm_id"].to_numpy(),
            "timestamp": alarms["start_timestamp"].to_numpy(dtype=float),
            "node": alarms["device_id"].to_numpy(),
        }
    )
    sweeps = max_iter if max_iter is not None else n_types * (n_types - 1) // 2 + 1
    model = ttpm_cls(np.asarray(topology, dtype=float), max_hop=1, max_iter=sweeps)
    try:
        with warnings.catch_warnings():  # pandas deprecations inside gCastle's code
            warnings.simplefilter("ignore")
            model.learn(tensor)
    except _Deadline:
        seconds = time.perf_counter() - t0
        return ThpResult(None, seconds, f"stopped at the {time_budget_s} s budget", model.sweeps)
    raw = np.asarray(model.causal_matrix)
    names = [int(float(n)) for n in model.causal_matrix.columns]
    out = np.zeros((n_types, n_types), dtype=bool)
    idx = np.array(names, dtype=np.int64)
    out[np.ix_(idx, idx)] = raw != 0
    np.fill_diagonal(out, False)
    return ThpResult(out, time.perf_counter() - t0, "", model.sweeps)
