"""Causal graphs between alarm types, learned from alarm event sequences.

``learn_alarm_graph`` is the public entry. Two learners share its inputs:

- ``"hawkes"`` (default): a topological Hawkes process (:mod:`twinrca.causal.thp`),
  alarms of one type exciting alarms of another on the same or adjacent devices,
  with a data-chosen kernel and BIC edge selection. Edge weight = confidence: the share
  of fits on halves of the timeline that select the edge (:mod:`twinrca.causal.stability`);
  edges below ``min_confidence`` are left out. ``strength`` = expected number of effect
  alarms triggered per cause alarm (full-data fit).
- ``"windows"``: pgmpy PC on topology-aware windows (:mod:`twinrca.causal.windows`).
  Edge weight = share of the pair's temporal precedence in the edge's direction.

In both, required edges of the prior are always in the output and forbidden ones never.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from twinrca.causal.alarm_events import (
    EventData,
    PriorEncoding,
    PriorKnowledge,
    encode_events,
    encode_topology,
)
from twinrca.core.errors import ValidationError

if TYPE_CHECKING:
    from twinrca.causal.thp import HawkesSettings

__all__ = ["DEFAULT_MIN_CONFIDENCE", "AlarmGraph", "Method", "learn_alarm_graph"]

logger = logging.getLogger(__name__)

Method = Literal["hawkes", "windows"]

# The confidence that maximised the worst-case g-score of the generalisation suite
# (bench.causal); one value for every data set.
DEFAULT_MIN_CONFIDENCE = 0.7


@dataclass(frozen=True, slots=True)
class AlarmGraph:
    """A learned weighted directed graph between alarm types.

    ``edges``: columns ``cause, effect, weight, evidence, strength`` (most confident
    first), with the alarm ids of the input. ``adjacency``: K x K weights, index = cause, columns =
    effect; zero means no edge (a required edge with no support keeps a tiny weight).
    """

    edges: pd.DataFrame
    adjacency: pd.DataFrame
    method: str
    info: Mapping[str, float] = field(default_factory=dict)

    def matrix(self) -> np.ndarray:
        """Boolean adjacency ``[cause, effect]`` in the order of ``adjacency.index``."""
        return self.adjacency.to_numpy() != 0


def learn_alarm_graph(
    alarms: pd.DataFrame,
    topology: np.ndarray | None = None,
    prior: np.ndarray | None = None,
    *,
    method: Method = "hawkes",
    type_ids: Sequence[Hashable] | None = None,
    device_ids: Sequence[Hashable] | None = None,
    prior_encoding: PriorEncoding = "auto",
    hawkes_settings: HawkesSettings | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> AlarmGraph:
    """Learn which alarm types cause which.

    ``alarms``: rows of ``alarm_id, device_id, start_timestamp`` (``end_timestamp`` is
    accepted and unused). ``topology``: 0/1 device adjacency, row r = device
    ``device_ids[r]`` (default: device id r). ``prior``: ``prior[i, j]`` about the edge
    type ``type_ids[i]`` -> type ``type_ids[j]`` (default: alarm id i), read with
    ``prior_encoding`` (see :meth:`PriorKnowledge.from_matrix`). When ``type_ids`` is
    given it also fixes the node order of the result (types with no alarm included).
    ``hawkes_settings`` overrides numerical settings of the Hawkes learner (for studies;
    the defaults need no per-data-set change). ``min_confidence`` (hawkes): keep the
    edges whose confidence is at least this (0 keeps every edge of the full-data fit).
    """
    data = _encode(alarms, prior, type_ids)
    adjacency = None
    if topology is not None:
        adjacency = encode_topology(topology, data, device_ids)
    knowledge = PriorKnowledge.empty(data.n_types)
    if prior is not None:
        knowledge = PriorKnowledge.from_matrix(prior, data, ids=type_ids, encoding=prior_encoding)
    if method == "hawkes":
        weights, evidence, strength, info = _hawkes(
            data, adjacency, knowledge, hawkes_settings, min_confidence
        )
    elif method == "windows":
        weights, evidence, info = _windows(data, adjacency, knowledge)
        strength = weights
    else:
        raise ValidationError("bad_method", "method must be 'hawkes' or 'windows'", method=method)
    return _result(data, (weights, evidence, strength), knowledge, method, info)


def _encode(
    alarms: pd.DataFrame, prior: np.ndarray | None, type_ids: Sequence[Hashable] | None
) -> EventData:
    if type_ids is None and prior is not None:
        ids = sorted(pd.unique(alarms.get("alarm_id", pd.Series(dtype=object))).tolist(), key=str)
        if all(isinstance(i, int | np.integer) for i in ids) and len(ids) > 0:
            type_ids = list(range(max(int(max(ids)) + 1, np.asarray(prior).shape[0])))
    return encode_events(alarms, type_ids=type_ids)


def _hawkes(
    data: EventData,
    adjacency: np.ndarray | None,
    prior: PriorKnowledge,
    settings: HawkesSettings | None,
    min_confidence: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    from twinrca.causal.dag import break_cycles
    from twinrca.causal.stability import edge_confidence
    from twinrca.causal.thp import HawkesSettings, fit_topological_hawkes

    settings = settings or HawkesSettings()
    fit = fit_topological_hawkes(data, adjacency, prior, settings)
    confidence = edge_confidence(data, adjacency, prior, settings, fit.beta)
    candidates = fit.adjacency | (confidence >= 0.5)
    keep = candidates & (confidence >= min_confidence)
    if min_confidence <= 0:
        keep = candidates
    # confidence first, the full fit's likelihood ratio to order equal confidences
    order = np.where(keep, confidence + 1e-6 * np.tanh(fit.llr), 0.0)
    keep = break_cycles(order, prior.required) & keep | prior.required
    weights = np.where(keep, np.maximum(confidence, np.finfo(float).tiny), 0.0)
    info = {
        "kernel_scale": 1.0 / fit.beta,
        "log_likelihood": fit.log_likelihood,
        "min_confidence": min_confidence,
    }
    return weights, np.where(keep, fit.llr, 0.0), np.where(keep, fit.alpha, 0.0), info


def _windows(
    data: EventData, adjacency: np.ndarray | None, prior: PriorKnowledge
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    from twinrca.causal.windows import learn_window_graph, precedence

    adj, width = learn_window_graph(data, adjacency, prior)
    prec = precedence(data, adjacency, width)
    total = prec + prec.T
    share = np.divide(prec, total, out=np.zeros_like(prec), where=total > 0)
    return np.where(adj, share, 0.0), np.where(adj, prec, 0.0), {"window": width}


def _result(
    data: EventData,
    columns: tuple[np.ndarray, np.ndarray, np.ndarray],
    prior: PriorKnowledge,
    method: str,
    info: dict[str, float],
) -> AlarmGraph:
    weights, evidence, strength = columns
    weights = weights.copy()
    weights[prior.required & (weights <= 0)] = np.finfo(float).tiny
    weights[prior.forbidden] = 0.0
    np.fill_diagonal(weights, 0.0)
    ids = list(data.type_ids)
    cause, effect = np.nonzero(weights)
    edges = pd.DataFrame(
        {
            "cause": [ids[i] for i in cause],
            "effect": [ids[j] for j in effect],
            "weight": weights[cause, effect],
            "evidence": evidence[cause, effect],
            "strength": strength[cause, effect],
        }
    )
    edges = edges.sort_values(["weight", "evidence"], ascending=False, ignore_index=True)
    adjacency = pd.DataFrame(weights, index=ids, columns=ids)
    logger.info("%s: %s edges between %s alarm types", method, len(edges), len(ids))
    return AlarmGraph(edges, adjacency, method, info)
