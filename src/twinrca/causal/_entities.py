"""Metric-to-entity mapping and expansion of a cause/effect graph onto metrics.

A metric's entity is its name up to the last separator (``carts_cpu`` -> ``carts``).
With ``merge_nested`` an entity whose name is another entity plus a separator and a
suffix (``carts_lat`` from ``carts_lat_50``, when ``carts`` is an entity too) is folded
into that shorter entity: the suffix names a metric family, not a separate element.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import networkx as nx

from twinrca.core.errors import ValidationError

__all__ = ["entity_map", "metric_graph", "project_graph"]

log = logging.getLogger(__name__)


def _base_entity(metric: str, sep: str) -> str:
    head, found, _tail = metric.rpartition(sep)
    return head if found and head else metric


def _fold(entity: str, known: set[str], sep: str) -> str:
    """Shortest known entity that ``entity`` extends by ``sep``-separated parts."""
    parts = entity.split(sep)
    for cut in range(1, len(parts)):
        prefix = sep.join(parts[:cut])
        if prefix in known:
            return prefix
    return entity


def entity_map(
    metrics: Iterable[str], *, sep: str = "_", merge_nested: bool = True
) -> dict[str, str]:
    """Map each metric name to its entity name."""
    if not sep:
        raise ValidationError("empty_separator", "the entity separator must not be empty")
    base = {m: _base_entity(m, sep) for m in metrics}
    if not merge_nested:
        return base
    known = set(base.values())
    return {m: _fold(e, known, sep) for m, e in base.items()}


def _expand(node: str, metrics: set[str], members: Mapping[str, list[str]]) -> list[str]:
    if node in metrics:
        return [node]
    return list(members.get(node, []))


def _break_cycles(graph: nx.DiGraph) -> None:
    """Remove one edge per cycle until the graph is acyclic (warns, never raises)."""
    while True:
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return
        u, v = cycle[-1][:2]
        log.warning("causal graph has a cycle through %s; dropping edge %s -> %s", u, u, v)
        graph.remove_edge(u, v)


def metric_graph(
    edges: Iterable[tuple[str, str]],
    metric_entity: Mapping[str, str],
) -> nx.DiGraph:
    """Expand ``cause -> effect`` edges (metric or entity names) to a metric DAG.

    An entity edge ``A -> B`` becomes an edge from every metric of A to every metric
    of B. Names that match neither a metric nor an entity are skipped with a warning.
    Cycles are broken by dropping edges.
    """
    metrics = set(metric_entity)
    members: dict[str, list[str]] = {}
    for metric, entity in metric_entity.items():
        members.setdefault(entity, []).append(metric)
    graph = nx.DiGraph()
    unknown: set[str] = set()
    for cause, effect in edges:
        causes, effects = _expand(cause, metrics, members), _expand(effect, metrics, members)
        unknown.update(n for n, ex in ((cause, causes), (effect, effects)) if not ex)
        graph.add_edges_from((c, e) for c in causes for e in effects if c != e)
    if unknown:
        log.warning("graph names matching no metric or entity skipped: %s", sorted(unknown))
    _break_cycles(graph)
    return graph


def _kept_successors(graph: nx.DiGraph, source: str, keep: set[str]) -> set[str]:
    """Kept nodes reachable from ``source`` through dropped nodes only."""
    found: set[str] = set()
    stack, seen = list(graph.successors(source)), {source}
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node in keep:
            found.add(node)
        else:
            stack.extend(graph.successors(node))
    return found


def project_graph(graph: nx.DiGraph, keep: Iterable[str]) -> nx.DiGraph:
    """Latent projection of a DAG onto ``keep``: ``u -> v`` when a directed path from
    u reaches v through dropped nodes only (keeps causal order, bounds the model size)."""
    kept = set(keep) & set(graph.nodes)
    projected = nx.DiGraph()
    projected.add_nodes_from(kept)
    for source in kept:
        projected.add_edges_from((source, t) for t in _kept_successors(graph, source, kept))
    return projected
