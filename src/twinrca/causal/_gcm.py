"""DoWhy gcm anomaly attribution on a metric causal graph (bounded Shapley budget).

The graph's metrics are standardised with the robust normal-period statistics, an
``InvertibleStructuralCausalModel`` is fitted on the normal period (empirical
distributions at roots, linear additive-noise models elsewhere: fast and invertible),
and ``gcm.attribute_anomalies`` explains the most anomalous graph metrics (targets) on
a few evenly spaced rows of the anomalous period. Contributions are averaged over
rows, clipped at zero, normalised per target and summed with the target's share of
the robust score as weight.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from twinrca.causal._entities import project_graph
from twinrca.core.errors import ModelError

__all__ = ["GcmConfig", "gcm_attribution"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GcmConfig:
    """Budget of the DoWhy path.

    The graph is projected onto its ``max_nodes`` most anomalous metrics (by the
    robust prior); ``max_targets`` anomalous graph metrics are explained, each on ``max_samples``
    anomalous rows; Shapley values are exact up to ``exact_max_players`` upstream
    nodes, else approximated with ``num_permutations`` permutations.
    """

    max_nodes: int = 12
    max_targets: int = 3
    max_samples: int = 4
    num_permutations: int = 8
    exact_max_players: int = 6
    num_distribution_samples: int = 300
    seed: int = 0


def _build_model(graph: nx.DiGraph, normal_z: pd.DataFrame) -> object:
    from dowhy import gcm

    scm = gcm.InvertibleStructuralCausalModel(graph)
    for node in graph.nodes:
        if graph.in_degree(node) == 0:
            scm.set_causal_mechanism(node, gcm.EmpiricalDistribution())
        else:
            regressor = gcm.ml.create_linear_regressor()
            scm.set_causal_mechanism(node, gcm.AdditiveNoiseModel(regressor))
    gcm.fit(scm, normal_z)
    return scm


def _shapley_config(n_players: int, cfg: GcmConfig) -> object:
    from dowhy.gcm.shapley import ShapleyApproximationMethods, ShapleyConfig

    if n_players <= cfg.exact_max_players:
        return ShapleyConfig(approximation_method=ShapleyApproximationMethods.EXACT, n_jobs=1)
    return ShapleyConfig(
        approximation_method=ShapleyApproximationMethods.PERMUTATION,
        num_permutations=cfg.num_permutations,
        n_jobs=1,
    )


def _sample_rows(anomalous_z: pd.DataFrame, n: int) -> pd.DataFrame:
    idx = np.unique(np.linspace(0, len(anomalous_z) - 1, num=min(n, len(anomalous_z))).round())
    return anomalous_z.iloc[idx.astype(int)]


def _attribute_target(
    scm: object, graph: nx.DiGraph, target: str, rows: pd.DataFrame, cfg: GcmConfig
) -> pd.Series:
    from dowhy import gcm

    n_players = len(nx.ancestors(graph, target)) + 1
    contrib = gcm.attribute_anomalies(
        scm,
        target,
        anomaly_samples=rows,
        num_distribution_samples=cfg.num_distribution_samples,
        shapley_config=_shapley_config(n_players, cfg),
    )
    mean = pd.Series({node: float(np.mean(v)) for node, v in contrib.items()}).clip(lower=0.0)
    total = mean.sum()
    return mean / total if total > 0 else mean


def _fill(frame: pd.DataFrame, center: pd.Series) -> pd.DataFrame:
    return frame.ffill().bfill().fillna(center)


def gcm_attribution(
    graph: nx.DiGraph,
    normal_z: pd.DataFrame,
    anomalous_z: pd.DataFrame,
    prior: pd.Series,
    config: GcmConfig | None = None,
) -> pd.Series:
    """Attribution score per graph metric (0 for metrics never found upstream).

    ``normal_z`` / ``anomalous_z`` are the robustly standardised periods restricted to
    the graph's metrics; ``prior`` is the robust score of each metric.
    """
    from dowhy import gcm
    from dowhy.gcm.util.general import set_random_seed

    cfg = config or GcmConfig()
    keep = prior.reindex(list(graph.nodes)).fillna(0.0).nlargest(cfg.max_nodes).index
    graph = project_graph(graph, keep)
    gcm.config.disable_progress_bars()
    set_random_seed(cfg.seed)
    nodes = list(graph.nodes)
    normal_z = _fill(normal_z[nodes], pd.Series(0.0, index=nodes))
    anomalous_z = _fill(anomalous_z[nodes], pd.Series(0.0, index=nodes))
    try:
        scm = _build_model(graph, normal_z)
        rows = _sample_rows(anomalous_z, cfg.max_samples)
        targets = prior.reindex(nodes).fillna(0.0).nlargest(cfg.max_targets)
        weights = targets / targets.sum() if targets.sum() > 0 else targets * 0 + 1.0
        result = pd.Series(0.0, index=nodes)
        for target, weight in weights.items():
            share = _attribute_target(scm, graph, str(target), rows, cfg)
            result = result.add(weight * share, fill_value=0.0)
            log.debug("target %s: top contributors %s", target, share.nlargest(3).to_dict())
    except (ValueError, np.linalg.LinAlgError, KeyError) as exc:
        raise ModelError("DoWhy anomaly attribution failed", reason=str(exc)) from exc
    return result
