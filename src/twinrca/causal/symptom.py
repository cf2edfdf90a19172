"""Root causes from the symptom a NOC sees: walk the dependencies upstream of it.

Given a symptom (an entity, optionally one of its metrics), a ``cause -> effect``
entity graph (callee -> caller for a call graph), a baseline and a short anomalous
window, three rankings of the symptom's upstream entities (and the symptom itself):

- ``traversal``: anomaly traversal. An entity is a root when it is anomalous, reaches
  the symptom through anomalous entities only, and its anomaly is not explained by an
  anomalous parent. "Explained" is graded: on the symptom's metric (the same unit on
  both ends, e.g. latency or availability), the part of an entity's deviation that its
  largest anomalous parent's deviation does not cover is its own anomaly, in robust
  sigmas; a caller whose latency rose by less than its callee's scores ~0. Roots
  connected by an anomalous path first, then the other candidates, by own anomaly.
- ``gcm``: DoWhy gcm ``attribute_anomalies`` of the symptom's anomaly to the upstream
  entities' noise (see :mod:`twinrca.causal._symptom_gcm`).
- ``robust``: the robust scorer's entity scores restricted to the candidates.
- ``default``: the traversal's tiers (roots on an anomalous path to the symptom, then
  the other entities on such a path, then the rest), each tier ordered by reciprocal
  rank fusion of the three rankings (``sum 1 / (k + rank)``, k = 60).

Without a graph (or a symptom) there is no upstream to walk: every method falls back
to the robust scorer over all entities, so the defaults are the same everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

import networkx as nx
import pandas as pd

from twinrca.causal._pointscores import PointConfig, PointScores
from twinrca.core.errors import ValidationError

__all__ = [
    "SymptomConfig",
    "SymptomMethod",
    "SymptomRanking",
    "entity_graph",
    "fuse",
    "metric_for",
    "traversal_rank",
    "upstream",
]

log = logging.getLogger(__name__)

SymptomMethod = Literal["default", "traversal", "gcm", "robust"]
RRF_K = 60.0


@dataclass(frozen=True, slots=True)
class SymptomConfig:
    """Settings shared by every system (none is tuned per dataset).

    ``carry_share``: an edge carries an anomaly when the cause's deviation is at least
    this share of the effect's (same metric). ``gcm_max_nodes``: the DoWhy model's size.
    """

    points: PointConfig = field(default_factory=PointConfig)
    carry_share: float = 0.1
    gcm_max_nodes: int = 8
    fusion: tuple[str, ...] = ("traversal", "gcm", "robust")


@dataclass(frozen=True, slots=True)
class SymptomRanking:
    """Entities best first with scores, and the upstream path of each to the symptom."""

    entities: tuple[tuple[str, float], ...]
    paths: dict[str, tuple[str, ...]]
    method: str

    def order(self) -> list[str]:
        return [e for e, _s in self.entities]


def entity_graph(edges: Iterable[tuple[str, str]], entities: Iterable[str]) -> nx.DiGraph:
    """``cause -> effect`` entity graph; names that are not entities are kept as nodes
    (a dependency without metrics still carries paths)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(entities)
    graph.add_edges_from((c, e) for c, e in edges if c != e)
    return graph


def upstream(graph: nx.DiGraph, target: str) -> set[str]:
    """The symptom and every entity with a directed path to it."""
    if target not in graph:
        raise ValidationError(
            "unknown_target", "the symptom entity is not in the graph", target=target
        )
    return nx.ancestors(graph, target) | {target}


def metric_for(
    entity_metrics: dict[str, list[str]], scores: pd.Series, metric: str | None, sep: str
) -> dict[str, str]:
    """Per entity the metric that speaks for it: ``entity SEP metric`` when the symptom
    names a metric (entities without a scored one are left out: another metric is in
    another unit), else the entity's highest-scoring metric."""
    chosen = {}
    for entity, metrics in entity_metrics.items():
        scored = [m for m in metrics if m in scores.index]
        if not scored:
            continue
        if metric:
            same = f"{entity}{sep}{metric}"
            if same in scored:
                chosen[entity] = same
        else:
            chosen[entity] = max(scored, key=lambda m: float(scores[m]))
    return chosen


def _carries(cause: str, effect: str, col: dict[str, str], pts: PointScores, share: float) -> bool:
    """The cause's deviation accounts for at least ``share`` of the effect's (same
    metric); across different metrics an anomalous cause always counts."""
    theirs, mine = col[cause], col[effect]
    if theirs[len(cause) :] != mine[len(effect) :]:
        return True
    peak = float(pts.deviation[mine].max(skipna=True) or 0.0)
    return float(pts.deviation[theirs].max(skipna=True) or 0.0) >= share * peak


def _anomalous_reach(
    graph: nx.DiGraph,
    target: str,
    anomalous: set[str],
    col: dict[str, str],
    pts: PointScores,
    share: float,
) -> dict[str, tuple[str, ...]]:
    """Entities reaching ``target`` through anomalous entities only, each edge carrying
    the anomaly (see :func:`_carries`), with the shortest such path."""
    paths: dict[str, tuple[str, ...]] = {target: (target,)}
    frontier = [target]
    while frontier:
        nxt = []
        for node in frontier:
            for parent in graph.predecessors(node):
                if parent in paths or parent not in anomalous or parent not in col:
                    continue
                if _carries(parent, node, col, pts, share):
                    paths[parent] = (parent, *paths[node])
                    nxt.append(parent)
        frontier = nxt
    return paths


def _explained(
    entity: str,
    graph: nx.DiGraph,
    col: dict[str, str],
    pts: PointScores,
    anomalous: set[str],
    share: float,
) -> bool:
    """Some anomalous parent (callee) carries the entity's anomaly."""
    return any(
        p in anomalous and p in col and p != entity and _carries(p, entity, col, pts, share)
        for p in graph.predecessors(entity)
    )


def _path_evidence(
    graph: nx.DiGraph,
    target: str,
    reach: dict[str, tuple[str, ...]],
    score: dict[str, float],
    carries: Callable[[str, str], bool],
) -> dict[str, tuple[float, tuple[str, ...]]]:
    """Per entity of ``reach``: the largest sum of scores along an anomalous path to the
    symptom, and that path (the evidence that the anomaly travelled to the symptom)."""
    best: dict[str, tuple[float, tuple[str, ...]]] = {target: (score[target], (target,))}
    order = sorted(reach, key=lambda e: len(reach[e]))
    for _ in range(len(order)):
        changed = False
        for node in order:
            for child in graph.successors(node):
                if child not in best or node in best[child][1] or not carries(node, child):
                    continue
                value = score[node] + best[child][0]
                if node not in best or value > best[node][0] + 1e-12:
                    best[node] = (value, (node, *best[child][1]))
                    changed = True
        if not changed:
            break
    return best


def traversal_rank(
    graph: nx.DiGraph, target: str, col: dict[str, str], pts: PointScores, share: float = 0.1
) -> SymptomRanking:
    """Anomaly traversal from ``target`` (see the module notes)."""
    candidates = [e for e in upstream(graph, target) if e in col]
    peak = pts.score
    score = {e: float(peak[col[e]]) for e in candidates}
    anomalous = {e for e in candidates if bool(pts.flagged.get(col[e], False))} | {target}
    reach = _anomalous_reach(graph, target, anomalous, col, pts, share)

    def carries(cause: str, effect: str) -> bool:
        return _carries(cause, effect, col, pts, share)

    evidence = _path_evidence(graph, target, reach, score, carries)
    roots = [e for e in reach if not _explained(e, graph, col, pts, anomalous, share)]
    by_evidence = sorted(roots, key=lambda e: (-evidence[e][0], e))
    inner = sorted((e for e in reach if e not in roots), key=lambda e: (-evidence[e][0], e))
    rest = sorted((e for e in candidates if e not in reach), key=lambda e: (-score[e], e))
    top = max((v for v, _p in evidence.values()), default=0.0) or 1.0
    ranked = [(e, 2.0 + evidence[e][0] / top) for e in by_evidence]
    ranked += [(e, 1.0 + evidence[e][0] / top) for e in inner]
    low = max(score.values(), default=0.0) or 1.0
    ranked += [(e, score[e] / low) for e in rest]
    paths = {e: evidence[e][1] if e in evidence else _shortest(graph, e, target) for e, _ in ranked}
    return SymptomRanking(entities=tuple(ranked), paths=paths, method="traversal")


def _shortest(graph: nx.DiGraph, source: str, target: str) -> tuple[str, ...]:
    try:
        return tuple(nx.shortest_path(graph, source, target))
    except nx.NetworkXNoPath:
        return (source,)


def fuse(rankings: list[SymptomRanking], graph: nx.DiGraph, target: str) -> SymptomRanking:
    """Reciprocal rank fusion within the traversal's tiers (roots on an anomalous path,
    other entities on one, the rest): causality orders the tiers, the fused rank orders
    each tier. An entity missing from a ranking counts as ranked last in it."""
    names = sorted({e for r in rankings for e in r.order()})
    total = {n: 0.0 for n in names}
    for ranking in rankings:
        order = ranking.order()
        pos = {e: i + 1 for i, e in enumerate(order)}
        for name in names:
            total[name] += 1.0 / (RRF_K + pos.get(name, len(names) + 1))
    tier = {e: int(sc) for r in rankings if r.method == "traversal" for e, sc in r.entities}
    ordered = sorted(names, key=lambda n: (-tier.get(n, 0), -total[n], n))
    paths: dict[str, tuple[str, ...]] = {}
    for ranking in rankings:
        for name, path in ranking.paths.items():
            paths.setdefault(name, path)
    for name in ordered:
        paths.setdefault(name, _shortest(graph, name, target) if name in graph else (name,))
    return SymptomRanking(
        entities=tuple((n, round(tier.get(n, 0) + total[n], 6)) for n in ordered),
        paths=paths,
        method="default",
    )
