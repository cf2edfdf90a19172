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
- ``default``: reciprocal rank fusion of the three (``1 / (k + rank)``, k = 60).

Without a graph (or a symptom) there is no upstream to walk: every method falls back
to the robust scorer over all entities, so the defaults are the same everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import networkx as nx
import pandas as pd

from twinrca.causal._pointscores import PointConfig, PointScores, point_scores
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
    """Settings shared by every system (none is tuned per dataset)."""

    points: PointConfig = field(default_factory=PointConfig)
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
        raise ValidationError("unknown_target", "the symptom entity is not in the graph", target=target)
    return nx.ancestors(graph, target) | {target}


def metric_for(
    entity_metrics: dict[str, list[str]], scores: pd.Series, metric: str | None, sep: str
) -> dict[str, str]:
    """Per entity the metric that speaks for it: ``entity SEP metric`` when the symptom
    names a metric and the entity has it, else its highest-scoring metric."""
    chosen = {}
    for entity, metrics in entity_metrics.items():
        scored = [m for m in metrics if m in scores.index]
        if not scored:
            continue
        same = f"{entity}{sep}{metric}" if metric else None
        if same is not None and same in scored:
            chosen[entity] = same
        else:
            chosen[entity] = max(scored, key=lambda m: float(scores[m]))
    return chosen


def _anomalous_reach(graph: nx.DiGraph, target: str, anomalous: set[str]) -> dict[str, tuple[str, ...]]:
    """Entities reaching ``target`` through anomalous entities only, with that path."""
    paths: dict[str, tuple[str, ...]] = {target: (target,)}
    frontier = [target]
    while frontier:
        nxt = []
        for node in frontier:
            for parent in graph.predecessors(node):
                if parent in anomalous and parent not in paths:
                    paths[parent] = (parent, *paths[node])
                    nxt.append(parent)
        frontier = nxt
    return paths


def _own_anomaly(
    entity: str, graph: nx.DiGraph, col: dict[str, str], pts: PointScores, anomalous: set[str]
) -> float:
    """Largest share of ``entity``'s deviation not covered by an anomalous parent's."""
    mine = col[entity]
    parents = [p for p in graph.predecessors(entity) if p in anomalous and p in col]
    dev = pts.deviation[mine]
    if parents:
        suffix = mine[len(entity) :]
        comparable = [col[p] for p in parents if col[p][len(p) :] == suffix]
        if len(comparable) < len(parents):
            return 0.0  # explained by a parent measured in another unit
        covered = pts.deviation[comparable].max(axis=1)
        dev = (dev - covered).clip(lower=0.0)
    own = (dev / pts.scale[mine]).max(skipna=True)
    return float(own) if pd.notna(own) else 0.0


def traversal_rank(
    graph: nx.DiGraph, target: str, col: dict[str, str], pts: PointScores
) -> SymptomRanking:
    """Anomaly traversal from ``target`` (see the module notes)."""
    candidates = [e for e in upstream(graph, target) if e in col]
    anomalous = {e for e in candidates if bool(pts.flagged.get(col[e], False))} | {target}
    reach = _anomalous_reach(graph, target, anomalous)
    own = {e: _own_anomaly(e, graph, col, pts, anomalous) for e in candidates}
    connected = sorted(
        (e for e in candidates if e in reach and e in anomalous),
        key=lambda e: (-own[e], e),
    )
    rest = sorted((e for e in candidates if e not in connected), key=lambda e: (-own[e], e))
    top = max(own.values(), default=0.0) or 1.0
    ranked = [(e, 1.0 + own[e] / top) for e in connected] + [(e, own[e] / top) for e in rest]
    paths = {e: reach.get(e) or _shortest(graph, e, target) for e, _ in ranked}
    return SymptomRanking(entities=tuple(ranked), paths=paths, method="traversal")


def _shortest(graph: nx.DiGraph, source: str, target: str) -> tuple[str, ...]:
    try:
        return tuple(nx.shortest_path(graph, source, target))
    except nx.NetworkXNoPath:
        return (source,)


def fuse(rankings: list[SymptomRanking], graph: nx.DiGraph, target: str) -> SymptomRanking:
    """Reciprocal rank fusion; an entity missing from a ranking counts as ranked last."""
    names = sorted({e for r in rankings for e in r.order()})
    total = {n: 0.0 for n in names}
    for ranking in rankings:
        order = ranking.order()
        pos = {e: i + 1 for i, e in enumerate(order)}
        for name in names:
            total[name] += 1.0 / (RRF_K + pos.get(name, len(names) + 1))
    ordered = sorted(names, key=lambda n: (-total[n], n))
    paths: dict[str, tuple[str, ...]] = {}
    for ranking in rankings:
        for name, path in ranking.paths.items():
            paths.setdefault(name, path)
    for name in ordered:
        paths.setdefault(name, _shortest(graph, name, target) if name in graph else (name,))
    return SymptomRanking(
        entities=tuple((n, round(total[n], 6)) for n in ordered), paths=paths, method="default"
    )
