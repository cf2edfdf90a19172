"""Root-cause ranking of metrics and entities from a normal and an anomalous period.

Two scorers, one result type:

- ``robust`` (default): robust z-scores of the anomalous period against the normal
  period per metric (median / IQR, BARO-like); an entity scores the maximum of its
  metrics. Fast, needs no graph.
- ``gcm``: DoWhy gcm anomaly attribution on a metric causal graph (``graph`` given as
  ``cause -> effect`` edges between metric or entity names), blended with the robust
  score as the root-cause prior: ``(1 - w) * attribution + w * prior``, both scaled to
  a maximum of 1. Metrics outside the graph keep only their prior term.

``method="auto"`` uses ``gcm`` when a graph is given, ``robust`` otherwise.

Metrics that cannot be scored are not ranked but reported in ``RankingResult.skipped``
with the reason: no value in the normal or the anomalous period (NaN or infinite
throughout), or one constant value in both periods. When no metric is left, the data
cannot support an answer and a :class:`~twinrca.core.errors.ValidationError`
(``no_data``) is raised.

Example::

    result = rank_root_causes(normal_df, anomalous_df, entity_sep="_")
    result.entities[0].entity   # the most likely root-cause entity
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from twinrca.causal._entities import entity_map, metric_graph
from twinrca.causal._gcm import GcmConfig, gcm_attribution
from twinrca.causal._robust import RobustScorerConfig, normal_stats, robust_scores, zscores
from twinrca.core.errors import ValidationError

__all__ = [
    "AttributionConfig",
    "EntityScore",
    "GcmConfig",
    "MetricScore",
    "RankingResult",
    "RobustScorerConfig",
    "rank_root_causes",
]

log = logging.getLogger(__name__)

Method = Literal["auto", "robust", "gcm"]


@dataclass(frozen=True, slots=True)
class MetricScore:
    """One metric's root-cause score (higher = more likely)."""

    metric: str
    entity: str
    score: float


@dataclass(frozen=True, slots=True)
class EntityScore:
    """One entity's root-cause score and the metric that gave it."""

    entity: str
    score: float
    top_metric: str


@dataclass(frozen=True, slots=True)
class RankingResult:
    """Entities and metrics ranked best first, and the method that ranked them."""

    entities: tuple[EntityScore, ...]
    metrics: tuple[MetricScore, ...]
    method: str
    #: metrics left out of the ranking and why, e.g. ("cpu", "no value in the normal period")
    skipped: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``twinrca rca rank``."""
        return {
            "entities": [{"entity": e.entity, "score": e.score} for e in self.entities],
            "metrics": [{"metric": m.metric, "score": m.score} for m in self.metrics],
            "skipped": [{"metric": m, "reason": r} for m, r in self.skipped],
        }


@dataclass(frozen=True, slots=True)
class AttributionConfig:
    """All settings; the defaults are the ones every system gets."""

    robust: RobustScorerConfig = field(default_factory=RobustScorerConfig)
    gcm: GcmConfig = field(default_factory=GcmConfig)
    prior_weight: float = 0.2


def _numeric_common(normal: pd.DataFrame, anomalous: pd.DataFrame) -> list[str]:
    numeric = [c for c in normal.columns if pd.api.types.is_numeric_dtype(normal[c])]
    common = [c for c in numeric if c in anomalous.columns]
    dropped = sorted(set(map(str, normal.columns)) ^ set(map(str, anomalous.columns)))
    dropped += [str(c) for c in normal.columns if c not in numeric]
    if dropped:
        log.warning("columns not used (non-numeric or not in both periods): %s", dropped)
    if not common:
        raise ValidationError("no_metrics", "no numeric metric column is shared by both periods")
    return common


def _prepare(normal: pd.DataFrame, anomalous: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    if normal.empty or anomalous.empty:
        raise ValidationError("empty_period", "normal and anomalous periods need at least one row")
    cols = _numeric_common(normal, anomalous)
    as_float = {c: str(c) for c in cols}
    n = normal[cols].astype(float).rename(columns=as_float)
    a = anomalous[cols].apply(pd.to_numeric, errors="coerce").astype(float).rename(columns=as_float)
    inf = float("inf")
    return n.replace([inf, -inf], float("nan")), a.replace([inf, -inf], float("nan"))


def _unscorable(n: pd.DataFrame, a: pd.DataFrame) -> dict[str, str]:
    """Metrics that carry no evidence either way -> why."""
    out: dict[str, str] = {}
    for col in n.columns:
        normal, anomalous = n[col].dropna(), a[col].dropna()
        if normal.empty and anomalous.empty:
            out[col] = "no value in either period (NaN or infinite throughout)"
        elif normal.empty:
            out[col] = "no value in the normal period (NaN or infinite throughout)"
        elif anomalous.empty:
            out[col] = "no value in the anomalous period (NaN or infinite throughout)"
        elif (
            normal.nunique() == 1
            and anomalous.nunique() == 1
            and normal.iloc[0] == anomalous.iloc[0]
        ):
            out[col] = f"constant ({normal.iloc[0]:g}) in both periods"
    return out


def _scorable(
    n: pd.DataFrame, a: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    skipped = _unscorable(n, a)
    keep = [c for c in n.columns if c not in skipped]
    if not keep:
        reasons = sorted(set(skipped.values()))
        raise ValidationError(
            "no_data",
            f"no metric can be scored: all {len(skipped)} are unusable ({'; '.join(reasons)})",
            hint="give periods in which at least one metric has values that vary",
        )
    if skipped:
        log.warning("metrics not scored: %s", skipped)
    return n[keep], a[keep], skipped


def _scale_max(s: pd.Series) -> pd.Series:
    top = s.max()
    return s / top if top > 0 else s * 0.0


def _gcm_scores(
    normal: pd.DataFrame,
    anomalous: pd.DataFrame,
    prior: pd.Series,
    edges: Iterable[tuple[str, str]],
    entities: dict[str, str],
    cfg: AttributionConfig,
) -> pd.Series:
    graph = metric_graph(edges, entities)
    if graph.number_of_edges() == 0:
        log.warning("graph has no edge on known metrics; using the robust scores only")
        return prior
    stats = normal_stats(normal, anomalous, cfg.robust)
    attribution = gcm_attribution(
        graph, zscores(normal, stats), zscores(anomalous, stats), prior, cfg.gcm
    )
    attribution = _scale_max(attribution.reindex(prior.index).fillna(0.0))
    return (1 - cfg.prior_weight) * attribution + cfg.prior_weight * _scale_max(prior)


def _result(
    scores: pd.Series, entities: dict[str, str], method: str, skipped: dict[str, str]
) -> RankingResult:
    ordered = scores.sort_values(ascending=False, kind="stable")
    metrics = tuple(MetricScore(m, entities[m], float(s)) for m, s in ordered.items())
    best: dict[str, MetricScore] = {}
    for item in metrics:
        best.setdefault(item.entity, item)
    ranked = tuple(EntityScore(e, m.score, m.metric) for e, m in best.items())
    return RankingResult(
        entities=ranked, metrics=metrics, method=method, skipped=tuple(sorted(skipped.items()))
    )


def rank_root_causes(
    normal: pd.DataFrame,
    anomalous: pd.DataFrame,
    *,
    graph: Iterable[tuple[str, str]] | None = None,
    entity_sep: str = "_",
    merge_nested: bool = True,
    method: Method = "auto",
    config: AttributionConfig | None = None,
) -> RankingResult:
    """Rank metrics and entities as root causes of the anomalous period.

    ``normal`` / ``anomalous``: one column per metric, time in the index (a numeric
    time column would be scored as a metric); non-numeric columns are ignored, NaNs
    allowed. ``graph``: ``(cause, effect)`` pairs of metric or entity names.
    ``entity_sep`` / ``merge_nested``: see :func:`twinrca.causal._entities.entity_map`.
    """
    cfg = config or AttributionConfig()
    n, a, skipped = _scorable(*_prepare(normal, anomalous))
    entities = entity_map(n.columns, sep=entity_sep, merge_nested=merge_nested)
    prior = robust_scores(n, a, cfg.robust)
    chosen = ("gcm" if graph is not None else "robust") if method == "auto" else method
    if chosen == "gcm":
        if graph is None:
            raise ValidationError("graph_required", "method 'gcm' needs a causal graph")
        scores = _gcm_scores(n, a, prior, graph, entities, cfg)
    else:
        scores = prior
    return _result(scores, entities, chosen, skipped)
