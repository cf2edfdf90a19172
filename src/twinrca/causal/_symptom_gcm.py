"""DoWhy gcm attribution of the symptom's anomaly to its upstream entities.

The symptom's upstream subgraph (one metric per entity, the symptom's metric where the
entity has it) is projected onto the symptom and its ``max_nodes - 1`` most anomalous
ancestors (latent projection keeps the causal order), standardised with the baseline
centre and scale (missing values at the centre), fitted as an invertible SCM on the
baseline (empirical roots, linear additive noise elsewhere; ``fit_rows``, e.g. the
windows of labelled past issues, are added to the fit: they show how anomalies
propagate, which normal operation barely does), and
``gcm.attribute_anomalies`` explains the symptom at the window rows. Positive
contributions are summed over rows; the ranking is by contribution, then by score.
Shapley values are exact up to ``exact_max_players`` players, else estimated with a
fixed number of permutations: a bounded budget (well under a second per issue).
"""

from __future__ import annotations

import logging

import networkx as nx
import numpy as np
import pandas as pd

from twinrca.causal._entities import project_graph
from twinrca.causal._gcm import GcmConfig, _attribute_target, _build_model
from twinrca.causal._pointscores import PointScores
from twinrca.causal.symptom import SymptomRanking, upstream
from twinrca.core.errors import ModelError

__all__ = ["gcm_rank"]

log = logging.getLogger(__name__)


def gcm_rank(
    graph: nx.DiGraph,
    target: str,
    col: dict[str, str],
    pts: PointScores,
    baseline: pd.DataFrame,
    window: pd.DataFrame,
    config: GcmConfig | None = None,
    fit_rows: pd.DataFrame | None = None,
) -> SymptomRanking:
    """Upstream entities ranked by their share of the symptom's anomaly."""
    from dowhy import gcm
    from dowhy.gcm.util.general import set_random_seed

    cfg = config or GcmConfig()
    candidates = [e for e in upstream(graph, target) if e in col]
    score = pts.score
    by_score = sorted(
        (e for e in candidates if e != target), key=lambda e: (-float(score[col[e]]), e)
    )
    keep = [target, *by_score[: max(cfg.max_nodes - 1, 0)]]
    sub = project_graph(graph.subgraph(candidates).copy(), keep)
    cols = {e: col[e] for e in keep}
    centre = baseline[list(cols.values())].median(skipna=True)
    scale = pts.scale[list(cols.values())]

    def standard(frame: pd.DataFrame) -> pd.DataFrame:
        z = (frame[list(cols.values())] - centre) / scale
        z.columns = list(cols)
        return z.fillna(0.0)

    contrib = pd.Series(0.0, index=keep)
    if sub.in_degree(target) > 0:
        gcm.config.disable_progress_bars()
        set_random_seed(cfg.seed)
        try:
            train = baseline if fit_rows is None else pd.concat([baseline, fit_rows])
            scm = _build_model(sub, standard(train.reindex(columns=baseline.columns)))
            share = _attribute_target(scm, sub, target, standard(window), cfg)
        except (ValueError, np.linalg.LinAlgError, KeyError) as exc:
            raise ModelError("DoWhy anomaly attribution failed", reason=str(exc)) from exc
        contrib = contrib.add(share.reindex(keep).fillna(0.0), fill_value=0.0)
    else:
        log.warning("no anomalous upstream entity of %s to attribute to", target)
    rest = [e for e in candidates if e not in keep]
    ordered = sorted(keep, key=lambda e: (-float(contrib[e]), -float(score[col[e]]), e))
    ordered += sorted(rest, key=lambda e: (-float(score[col[e]]), e))
    entities = tuple((e, float(contrib.get(e, 0.0))) for e in ordered)
    paths = {e: _path(sub if e in sub else graph, e, target) for e in ordered}
    return SymptomRanking(entities=entities, paths=paths, method="gcm")


def _path(graph: nx.DiGraph, source: str, target: str) -> tuple[str, ...]:
    try:
        return tuple(nx.shortest_path(graph, source, target))
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return (source,)
