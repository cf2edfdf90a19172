"""One entry point: rank root causes from a symptom, a graph and a short window.

``rank_from_symptom(baseline, window, edges=..., target="PetSite", metric="latency")``
returns the :class:`~twinrca.causal.attribution.RankingResult` of ``twinrca rca rank``
(entities best first, then the metrics of each entity), the upstream paths, and the
metrics that could not be scored (``nan_only``, ``no_baseline``), which are reported,
not ranked as normal. Methods: ``traversal``, ``gcm``, ``robust`` and ``default``
(their rank fusion), see :mod:`twinrca.causal.symptom`. Without a graph or a symptom
every method is the robust scorer over all entities.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from twinrca.causal._entities import entity_map, project_graph
from twinrca.causal._gcm import GcmConfig
from twinrca.causal._pointscores import point_scores
from twinrca.causal._symptom_gcm import gcm_rank
from twinrca.causal.attribution import (
    AttributionConfig,
    EntityScore,
    MetricScore,
    RankingResult,
    rank_root_causes,
)
from twinrca.causal.symptom import (
    SymptomConfig,
    SymptomMethod,
    SymptomRanking,
    entity_graph,
    fuse,
    metric_for,
    traversal_rank,
    upstream,
)
from twinrca.core.errors import ValidationError

__all__ = ["SymptomResult", "entity_map", "parse_target", "point_scores", "rank_from_symptom"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SymptomResult:
    """The ranking, the upstream path per entity, and the unscored metrics."""

    ranking: RankingResult
    paths: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unscored: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """``twinrca rca rank`` JSON: ``entities``, ``metrics`` as before, plus the
        ``unscored`` metrics and the ``paths`` when a symptom was given."""
        doc: dict[str, object] = self.ranking.to_dict()
        doc["unscored"] = [{"metric": m, "reason": r} for m, r in sorted(self.unscored.items())]
        if self.paths:
            doc["paths"] = {e: list(p) for e, p in self.paths.items()}
        return doc


def parse_target(
    text: str, columns: Iterable[str], entities: dict[str, str], sep: str
) -> tuple[str, str | None]:
    """``ENTITY`` or ``ENTITY<SEP>METRIC`` (a metric column) -> (entity, metric suffix)."""
    cols = set(columns)
    if text in cols:
        entity = entities[text]
        suffix = text[len(entity) + len(sep) :] if text.startswith(entity + sep) else None
        return entity, suffix or None
    if text in set(entities.values()):
        return text, None
    head, found, tail = text.rpartition(sep)
    if found and head in set(entities.values()):
        return head, tail
    raise ValidationError(
        "unknown_target", "the symptom names no metric or entity of the data", target=text,
        hint="give ENTITY or ENTITY<sep>METRIC as named in the metrics CSV",
    )  # fmt: skip


def _robust_rank(ranking: RankingResult, allowed: set[str] | None) -> SymptomRanking:
    ents = [(e.entity, e.score) for e in ranking.entities if allowed is None or e.entity in allowed]
    return SymptomRanking(entities=tuple(ents), paths={}, method="robust")


def _to_result(order: SymptomRanking, robust: RankingResult, method: str) -> RankingResult:
    by_entity: dict[str, list[MetricScore]] = {}
    for m in robust.metrics:
        by_entity.setdefault(m.entity, []).append(m)
    entities: list[EntityScore] = []
    metrics: list[MetricScore] = []
    for entity, score in order.entities:
        own = by_entity.get(entity, [])
        top = own[0].metric if own else entity
        entities.append(EntityScore(entity, float(score), top))
        metrics.extend(MetricScore(m.metric, entity, float(score)) for m in own)
    return RankingResult(entities=tuple(entities), metrics=tuple(metrics), method=method)


def rank_from_symptom(
    baseline: pd.DataFrame,
    window: pd.DataFrame,
    *,
    edges: Iterable[tuple[str, str]] | None = None,
    target: str | None = None,
    metric: str | None = None,
    entity_sep: str = "_",
    merge_nested: bool = True,
    method: SymptomMethod = "default",
    config: SymptomConfig | None = None,
    background: pd.Series | None = None,
    fit_rows: pd.DataFrame | None = None,
) -> SymptomResult:
    """Rank root causes of the symptom ``target`` (see the module notes)."""
    cfg = config or SymptomConfig()
    pts = point_scores(baseline, window, cfg.points, background)
    unscored = dict(pts.unscored)
    if unscored:
        log.info("metrics not scored: %s", unscored)
    usable = [c for c in window.columns if c not in unscored]
    if not usable:
        raise ValidationError("no_metrics", "no metric can be scored (all NaN or no baseline)")
    robust = rank_root_causes(
        baseline[usable], window[usable], entity_sep=entity_sep, merge_nested=merge_nested,
        method="robust", config=AttributionConfig(),
    )  # fmt: skip
    if edges is None or target is None:
        if method not in ("default", "robust"):
            log.warning("method %s needs a graph and a symptom; using the robust scorer", method)
        return SymptomResult(ranking=robust, unscored=unscored)
    entities = entity_map(usable, sep=entity_sep, merge_nested=merge_nested)
    members: dict[str, list[str]] = {}
    for name, ent in entities.items():
        members.setdefault(ent, []).append(name)
    col = metric_for(members, pts.score, metric, entity_sep)
    # nodes without a usable metric (a transport link with no KPI) keep their paths
    graph = project_graph(entity_graph(edges, members), [*col, target])
    if target not in col:
        raise ValidationError("unknown_target", "the symptom has no scorable metric", target=target)
    allowed = upstream(graph, target)
    rankings: dict[str, SymptomRanking] = {}
    wanted = cfg.fusion if method == "default" else (method,)
    for name in wanted:
        if name == "traversal":
            rankings[name] = traversal_rank(graph, target, col, pts, cfg.carry_share)
        elif name == "gcm":
            gcm_cfg = GcmConfig(max_nodes=cfg.gcm_max_nodes)
            rankings[name] = gcm_rank(
                graph, target, col, pts, baseline, window, gcm_cfg, fit_rows=fit_rows
            )
        elif name == "robust":
            rankings[name] = _robust_rank(robust, allowed)
    chosen = (
        rankings[method] if method != "default" else fuse(list(rankings.values()), graph, target)
    )
    return SymptomResult(
        ranking=_to_result(chosen, robust, chosen.method), paths=chosen.paths, unscored=unscored
    )
