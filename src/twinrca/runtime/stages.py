"""The stages of the incident flow after detection, each a function with a typed result:
**diagnose** (rank candidates with the built-in diagnoser and users' plugins, through
one path), **verify** (replay the incident window on the twin with each top candidate
and re-rank), **recommend** (what-if of the remediations of the verified cause). The
flow (:mod:`twinrca.runtime.flow`) detects, runs these and persists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twinrca.causal.diagnosis import BayesianDiagnoser
from twinrca.core.incident import CandidateDoc, IncidentDoc, RemediationDoc
from twinrca.core.records import IncidentState, RootCauseCandidate
from twinrca.core.topology import ElementKind, Topology
from twinrca.detect.detector import DetectedIncident, IncidentEvidence
from twinrca.fmea.catalogue import Catalogue
from twinrca.runtime.documents import fmea_entry
from twinrca.runtime.keys import incident_key
from twinrca.runtime.plugins import LoadedPlugin
from twinrca.twin_replay.demand import Demand
from twinrca.twin_replay.observe import Observation
from twinrca.twin_replay.simulate import CellParams
from twinrca.twin_replay.verify import rerank, verify_candidates
from twinrca.twin_replay.whatif import what_if

__all__ = [
    "BUILTIN",
    "DiagnoserSource",
    "PipelineConfig",
    "Twin",
    "Verified",
    "diagnose",
    "merge_sources",
    "recommend",
    "sources",
    "verified_document",
    "verify",
]

log = logging.getLogger(__name__)
#: the name of the built-in diagnoser as a source (its candidates carry no ``source`` tag)
BUILTIN = "builtin"
#: candidates the built-in diagnoser returns per incident
BUILTIN_TOP = 5


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    verify_top: int = 3
    verify_weight: float = 0.5
    verify_scenarios: int = 16
    whatif_scenarios: int = 64
    whatif_horizon_steps: int = 48
    engine: str = "numba"
    seed: int = 0
    #: the running service: store the diagnosed incident before verification (a restart
    #: picks it up again) and skip recommended incidents whose alarms did not change
    checkpoint: bool = False
    skip_unchanged: bool = False


# --- diagnose ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DiagnoserSource:
    """One diagnoser the flow ranks with: the built-in one or a user's plugin."""

    name: str
    rank: Callable[[IncidentEvidence], Sequence[RootCauseCandidate]]


def sources(
    diagnoser: BayesianDiagnoser, plugins: Sequence[LoadedPlugin] = ()
) -> list[DiagnoserSource]:
    """The built-in diagnoser first, then the plugins (the same path for all)."""
    return [
        DiagnoserSource(BUILTIN, lambda ev: diagnoser.rank(ev, top=BUILTIN_TOP)),
        *(DiagnoserSource(p.name, p.instance.rank) for p in plugins),
    ]


def diagnose(
    inc: DetectedIncident, diagnosers: Sequence[DiagnoserSource], *, top: int
) -> list[RootCauseCandidate]:
    """Every source's ranking of the incident, merged (:func:`merge_sources`); a plugin's
    candidates are tagged with its name as ``source``."""
    ranked = [[_tagged(c, d.name) for c in d.rank(inc.evidence)] for d in diagnosers]
    return merge_sources(list(ranked[0]), ranked[1:], top=top)


def _tagged(c: RootCauseCandidate, source: str) -> RootCauseCandidate:
    if source == BUILTIN:
        return c
    return RootCauseCandidate(
        c.element, c.failure_mode, c.probability, {**dict(c.evidence), "source": source}
    )


def merge_sources(
    builtin: list[RootCauseCandidate], plugins: list[list[RootCauseCandidate]], *, top: int
) -> list[RootCauseCandidate]:
    """One ranking from the built-in diagnoser and users' plugins: the ``top`` candidates
    of every source, each source's probabilities normalised and weighted equally (so a
    plugin's candidates reach twin verification like the built-in ones), then the rest
    of the built-in ranking."""
    pools = [builtin[:top]] + [p[:top] for p in plugins if p]
    if len(pools) == 1:
        return builtin
    merged: dict[tuple[str, str], RootCauseCandidate] = {}
    for pool in pools:
        total = sum(c.probability for c in pool) or 1.0
        for c in pool:
            key = (c.element, c.failure_mode)
            share = c.probability / total / len(pools)
            first = merged.get(key, c)
            earlier = merged[key].probability if key in merged else 0.0
            merged[key] = RootCauseCandidate(
                c.element, c.failure_mode, earlier + share, first.evidence
            )
    head = sorted(merged.values(), key=lambda c: -c.probability)
    return head + [c for c in builtin[top:] if (c.element, c.failure_mode) not in merged]


# --- verify -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Twin:
    """What verification and what-if replay on."""

    topology: Topology
    catalogue: Catalogue
    config: PipelineConfig
    params: CellParams | None = None


@dataclass(frozen=True, slots=True)
class Verified:
    """The verify stage's result: the re-ranked candidates (empty: not verified) and the
    twin's verdict per verified candidate."""

    candidates: list[RootCauseCandidate] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)


def verify(
    twin: Twin,
    inc: DetectedIncident,
    ranked: list[RootCauseCandidate],
    alarms: pd.DataFrame,
    kpis: pd.DataFrame,
    demand: Demand | None,
    *,
    n_sources: int,
) -> Verified:
    """Replay the incident window on the twin with the top candidates of every source
    (``n_sources``: the built-in diagnoser and each plugin) and re-rank."""
    # the top of every source (built-in and each plugin) is verified
    top = ranked[: twin.config.verify_top * n_sources]
    if not top or demand is None:
        return Verified()
    lo = pd.Timestamp(inc.group.start) - pd.Timedelta(hours=2)
    hi = pd.Timestamp(inc.group.end) + pd.Timedelta(hours=4)
    elements = set(inc.evidence.candidates) | set(inc.group.elements)
    for e in list(elements):
        elements |= (
            twin.topology.descendants(e)
            if twin.topology.element(e).kind != ElementKind.CORE
            else set()
        )
    a = alarms
    if len(alarms):
        at = pd.to_datetime(alarms["event_time"], utc=True)
        a = alarms[(at >= lo) & (at <= hi)]
    t = pd.to_datetime(kpis["period_end"], utc=True)
    k = kpis[(t >= lo) & (t <= hi) & kpis["managed_object"].isin(elements)]
    obs = Observation.from_frames(a, k)
    window = steps(demand, lo, hi)
    try:
        ver = verify_candidates(
            twin.topology,
            obs,
            top,
            demand=demand,
            params=twin.params,
            window=window,
            scenarios=twin.config.verify_scenarios,
            seed=twin.config.seed,
            catalogue=twin.catalogue,
            engine=twin.config.engine,
        )
    except Exception:  # verification must never lose an incident: keep the unverified ranking
        log.exception("verification failed for %s", incident_key(inc))
        return Verified()
    reranked = rerank(top, ver, weight=twin.config.verify_weight)
    payload = {f"{v.candidate.element}|{v.candidate.failure_mode}": v.to_json() for v in ver}
    return Verified(reranked + ranked[len(top) :], payload)


def verified_document(doc: IncidentDoc, verified: Verified, catalogue: Catalogue) -> IncidentDoc:
    """``doc`` with the verified ranking, its root element and root alarms, verified."""
    root = verified.candidates[0].element
    return doc.model_copy(
        update={
            "candidates": _candidate_docs(verified.candidates, doc, catalogue),
            "verification": verified.payload,
            "root_element": root,
            "state": IncidentState.VERIFIED,
            "alarms": [a.model_copy(update={"root": a.managed_object == root}) for a in doc.alarms],
        }
    )


# --- recommend --------------------------------------------------------------------------
def recommend(
    twin: Twin, inc: DetectedIncident, cause: RootCauseCandidate, demand: Demand | None
) -> list[RemediationDoc]:
    """The remediations of ``cause``, each simulated on the twin (none without demand)."""
    if demand is None:
        return []
    now = steps(demand, pd.Timestamp(inc.group.end), pd.Timestamp(inc.group.end))[0]
    start = steps(demand, pd.Timestamp(inc.group.start), pd.Timestamp(inc.group.start))[0]
    try:
        outcomes = what_if(
            twin.topology,
            (cause.element, cause.failure_mode),
            now_step=now,
            demand=demand,
            params=twin.params,
            scenarios=twin.config.whatif_scenarios,
            seed=twin.config.seed,
            horizon_steps=twin.config.whatif_horizon_steps,
            fault_start_step=start,
            catalogue=twin.catalogue,
            engine=twin.config.engine,
        )
    except Exception:
        log.exception("what-if failed for %s", incident_key(inc))
        return []
    return [RemediationDoc.from_record(o.to_record()) for o in outcomes]


def steps(demand: Demand, lo: pd.Timestamp, hi: pd.Timestamp) -> tuple[int, int]:
    step = pd.Timedelta(minutes=demand.step_minutes)
    start = pd.Timestamp(demand.start)
    a = int(np.clip((lo - start) // step, 0, demand.steps - 1))
    b = int(np.clip((hi - start) // step + 1, a + 1, demand.steps))
    return a, b


def _candidate_docs(
    ranked: list[RootCauseCandidate], doc: IncidentDoc, catalogue: Catalogue
) -> list[CandidateDoc]:
    by_key = {(c.element, c.failure_mode): c for c in doc.unverified_candidates}
    out = []
    for c in ranked:
        old = by_key.get((c.element, c.failure_mode))
        out.append(
            CandidateDoc(
                element=c.element,
                failure_mode=c.failure_mode,
                probability=c.probability,
                verified_score=c.verified_score,
                evidence=dict(old.evidence if old else c.evidence),
                fmea=old.fmea if old else fmea_entry(catalogue, c.failure_mode),
                source=str(dict(c.evidence).get("source", "builtin")),
            )
        )
    return out
