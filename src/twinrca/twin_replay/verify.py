"""Root-cause verification: replay the incident window with each candidate cause injected.

For each candidate ``(element, failure mode)`` the twin replays the window (calibrated
parameters, the observed or given demand) with the fault planted at the estimated
onset, and the result is compared with what was observed:

* **observed alarms**: those on the elements that bear on some candidate (what its
  root can touch, and what feeds it); the window's other alarms belong to other
  incidents.
* **timing**, fitted per hypothesis to the observed alarms it predicts (its own and its
  followers', on the elements its mode reaches): onset at the median of each one's
  raise step minus its lag (ramp to the alarm's intensity threshold plus its delay; a
  follower such as battery exhaustion adds its fixed delay, so a mains loss raised
  before the window is dated by its battery alarms); none seen: the window's first
  alarm minus the mode's first alarm lag, or with no alarms the first step where an
  observed KPI leaves the no-fault replay by more than 4 scales. ``onset_offsets``
  (default -1, 0, +1 steps) are tried and the best kept. The fault ends at the last
  clear of its alarms when all have cleared, otherwise it stays open. A precursor
  whose follower starts when it ends (memory leak -> crash, cooling failure ->
  shutdown, fading -> link down) ends where the follower's alarms date its start, and
  the follower is replayed from there to their last clear (not at a random time and
  for a random length as a fresh run would); no follower alarm seen: the precursor
  stays open.
* **alarm agreement** ``alarm_f1``: F1 (Dice) of the sets of ``(element,
  probable_cause|specific_problem)`` active in the window, simulated vs observed
  (averaged over the Monte Carlo scenarios; both empty counts as 1).
* **KPI fit** ``kpi_fit = clip(1 - err_h / err_0, 0, 1)``: ``err`` is the mean absolute
  difference between observed and simulated (scenario mean) KPIs over the focus
  elements (the candidates' root, descendants and neighbour cells, and the observed
  alarmed elements, whose KPIs the local twin computes exactly), each in units of
  ``sqrt(floor_k^2 + noise_sd^2)``; ``err_0`` is the no-fault replay's. So
  ``kpi_fit`` is the share of the observed departure from normal that the candidate
  explains: 0 for a candidate that explains nothing (or makes it worse).
* **score** ``= (w_a * alarm_f1 + w_k * kpi_fit) / (w_a + w_k)`` over the components
  that exist (no KPI data: alarms only), in ``[0, 1]``.

All candidates, onsets and the no-fault reference are scenarios of one
:func:`~twinrca.twin_replay.simulate.simulate` call on the incident's neighbourhood
(:mod:`twinrca.twin_replay._local`). :func:`rerank` combines the diagnosis posterior
with the scores.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import pandas as pd

from twinrca.core.errors import NotFound, ValidationError
from twinrca.core.records import RootCauseCandidate
from twinrca.core.topology import ElementKind, Topology
from twinrca.fmea.catalogue import AlarmRule, Catalogue, FailureMode, load_catalogue
from twinrca.twin_replay import _scoring as sc
from twinrca.twin_replay._local import LocalTwin, local_twin
from twinrca.twin_replay.demand import Demand, demand_from_telemetry
from twinrca.twin_replay.effects import Intervention, spread_of
from twinrca.twin_replay.observe import Observation, Window
from twinrca.twin_replay.simulate import CellParams, SimResult, simulate

__all__ = ["RERANK_TEMPERATURE", "Verification", "fit_temperature", "rerank", "verify_candidates"]

log = logging.getLogger(__name__)

# rerank's temperature at the service's weight 0.5, fitted with fit_temperature (log loss
# of the true cause among the top 3) on held-out training-range twin runs (seeds 4-12,
# default EMS noise; 300 and 1,000 cells pooled: 0.029; `python -m bench.rca --calibrate`)
RERANK_TEMPERATURE = 0.03


@dataclass(frozen=True, slots=True)
class Verification:
    """How well the twin, with ``candidate`` injected, reproduces the observation."""

    candidate: RootCauseCandidate
    score: float
    components: dict[str, float] = field(default_factory=dict)
    onset_step: int | None = None  # in steps of the window
    times: tuple[str, ...] = ()
    observed: dict[str, list[float | None]] = field(default_factory=dict)
    simulated: dict[str, list[float | None]] = field(default_factory=dict)
    baseline: dict[str, list[float | None]] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.candidate.element, self.candidate.failure_mode

    def to_json(self) -> dict[str, object]:
        """The dashboard's payload (series keyed ``element/kpi``, ``None`` for gaps)."""
        return {
            "element": self.candidate.element,
            "failure_mode": self.candidate.failure_mode,
            "score": self.score,
            "components": dict(self.components),
            "onset_step": self.onset_step,
            "times": list(self.times),
            "observed": dict(self.observed),
            "simulated": dict(self.simulated),
            "baseline": dict(self.baseline),
        }


def _applicable(topology: Topology, catalogue: Catalogue, cand: RootCauseCandidate) -> bool:
    try:
        mode = catalogue.mode(cand.failure_mode)
        el = topology.element(cand.element)
    except NotFound:
        return False
    return el.kind == mode.element_kind and all(
        el.attrs.get(k) == v for k, v in mode.requires.items()
    )


def _window(
    observed: Observation, demand: Demand | None, window: tuple | None
) -> tuple[Window, int | None]:
    """The replay grid and, with a demand, the demand step it starts at."""
    if demand is not None:
        dt = demand.step_minutes
        if window is None:
            a, b = 0, demand.steps
        elif isinstance(window[0], datetime):
            a, b = (
                round((pd.Timestamp(w) - pd.Timestamp(demand.start)).total_seconds() / 60 / dt)
                for w in window
            )
        else:
            a, b = int(window[0]), int(window[1])
        if not 0 <= a < b <= demand.steps:
            raise ValidationError("bad_window", f"window steps {a}..{b} outside the demand")
        return Window(demand.time(a - 1), dt, b - a), a
    ends = observed.kpis["period_end"]
    if ends.empty:
        raise ValidationError("no_demand", "give a demand or observed KPIs to derive it from")
    diffs = np.diff(np.unique(ends.to_numpy(dtype="datetime64[s]")).astype(np.int64))
    dt = int(diffs[diffs > 0].min() // 60) if (diffs > 0).any() else 15
    if window is not None and not isinstance(window[0], datetime):
        raise ValidationError("bad_window", "step windows need a demand; give datetimes")
    lo = pd.Timestamp(window[0]) if window else ends.min() - pd.Timedelta(minutes=dt)
    hi = pd.Timestamp(window[1]) if window else ends.max()
    steps = round((hi - lo).total_seconds() / 60 / dt)
    return Window(lo.to_pydatetime(), dt, steps), None


def _local_demand(
    twin: LocalTwin, observed: Observation, grid: Window, demand: Demand | None, first: int | None
) -> Demand:
    if demand is not None and first is not None:
        assert twin.demand is not None  # sliced from ``demand`` by local_twin
        return twin.demand.window(first, first + grid.steps)
    frame = observed.kpis.rename(columns={"managed_object": "element_id", "period_end": "time"})
    return demand_from_telemetry(
        frame, twin.topology, step_minutes=grid.step_minutes, start=grid.start, steps=grid.steps
    )


def _alarm_scope(topology: Topology, cands: list[RootCauseCandidate]) -> set[str]:
    """Elements whose alarms bear on the candidates: what a candidate's root can touch
    (itself, its descendants, their neighbour cells) and what feeds it (an alarm upstream
    speaks for another cause). Alarms elsewhere in the window belong to other incidents."""
    out: set[str] = set()
    for c in {c.element for c in cands}:
        own = {c} | topology.descendants(c)
        out |= own | topology.ancestors(c)
        out |= {
            n
            for e in own
            if topology.element(e).kind == ElementKind.CELL
            for n in topology.neighbours(e)
        }
    return out


def _ramp(mode: FailureMode, step_minutes: int) -> int:
    if mode.onset.profile != "gradual":
        return 1
    return max(1, math.ceil(mode.onset.ramp_min / step_minutes))


def _rule_lag(mode: FailureMode, rule: AlarmRule, step_minutes: int) -> int:
    """Steps from a fault's start to one of its alarms."""
    ramp = _ramp(mode, step_minutes)
    return max(0, math.ceil(rule.at_intensity * ramp) - 1) + int(rule.delay_min // step_minutes)


@dataclass(frozen=True, slots=True)
class _Anchor:
    """An alarm a hypothesis predicts: its signature, where it may show, and when:
    ``lag`` steps after the root fault's start, or, for a follower that starts when the
    root's precursor window ends (``at_end``: the crash after a memory leak), after
    that follower's start."""

    signature: str
    elements: frozenset[str]
    lag: int
    at_end: str | None = None  # the at-end follower's mode id


@dataclass(frozen=True, slots=True)
class _Timing:
    """A hypothesis' timing fitted to the observed alarms: the root's onset and end and,
    when its at-end follower was seen, that follower's ``(mode id, start, end)``."""

    onset: int
    end: int | None
    follower: tuple[str, int, int | None] | None = None


def _anchors(
    topology: Topology, catalogue: Catalogue, mode: FailureMode, element: str, grid: Window
) -> list[_Anchor]:
    """The alarms of ``mode`` at ``element`` and of the modes that follow it."""
    dt = grid.step_minutes

    def where(m: FailureMode) -> frozenset[str]:
        sp = spread_of(topology, m, element)
        return frozenset((element, *sp.affected, *sp.neighbours))

    out = [_Anchor(_sig(r), where(mode), _rule_lag(mode, r, dt)) for r in mode.alarms]
    for f in catalogue.followers(mode.id):
        if f.follows_after_attr is None:
            out += [_Anchor(_sig(r), where(f), _rule_lag(f, r, dt), f.id) for r in f.alarms]
            continue
        minutes = float(topology.element(element).attrs.get(f.follows_after_attr, 0) or 0)
        if minutes > 0:
            after = max(1, math.ceil(minutes / dt))
            out += [_Anchor(_sig(r), where(f), after + _rule_lag(f, r, dt)) for r in f.alarms]
    return out


def _sig(rule: AlarmRule) -> str:
    return f"{rule.probable_cause}|{rule.specific_problem}"


def _last_clear(clears: list[int | None]) -> int | None:
    """The last clear step when every alarm has cleared, else None (still open)."""
    if not clears or any(c is None for c in clears):
        return None
    return max(c for c in clears if c is not None)


def _timing(
    anchors: list[_Anchor],
    spans: dict[tuple[str, str], tuple[int, int | None]],
    first_alarm: int,
    fallback_end: int | None,
) -> _Timing:
    """Onset and end of a hypothesis from the observed alarms it predicts.

    Onset: the median of (raise step - lag) over the observed alarms that match the
    mode's own alarms or those of its followers that start a fixed time after it
    (battery exhaustion after mains loss); none seen: the window's first alarm minus
    the mode's first alarm lag. End: the last clear of those alarms when all have
    cleared, else open; nothing matching: ``fallback_end``. A follower that starts when
    the root's precursor ends (memory leak -> crash), when its alarms were seen, starts
    at their median (raise - lag) and ends at their last clear; the root's precursor
    ends when it starts. Not seen: the precursor stays open (it stopped short).
    """
    starts: list[int] = []
    clears: list[int | None] = []
    f_starts: list[int] = []
    f_clears: list[int | None] = []
    follower = None
    for (el, sig), (raised, cleared) in spans.items():
        a = next((a for a in anchors if a.signature == sig and el in a.elements), None)
        if a is None:
            continue
        if a.at_end is None:
            starts.append(raised - a.lag)
            clears.append(cleared)
        else:
            follower = a.at_end
            f_starts.append(raised - a.lag)
            f_clears.append(cleared)
    own_lag = min((a.lag for a in anchors if a.at_end is None), default=0)
    onset = int(np.median(starts)) if starts else first_alarm - own_lag
    if follower is not None:
        f_start = int(np.median(f_starts))
        onset = min(onset, f_start - 1)
        return _Timing(onset, f_start, (follower, f_start, _last_clear(f_clears)))
    if any(a.at_end for a in anchors):
        return _Timing(onset, None)
    return _Timing(onset, _last_clear(clears) if starts else fallback_end)


def _focus(twin: LocalTwin, catalogue: Catalogue, cands: list, alarmed: set[str]) -> list[str]:
    sub = twin.topology
    keep = {e for e in alarmed if e in sub}
    for c in cands:
        sp = spread_of(sub, catalogue.mode(c.failure_mode), c.element)
        keep |= set(sp.affected) | set(sp.neighbours)
        if sub.element(c.element).kind != ElementKind.CELL:
            keep |= sub.descendants(c.element)  # protected ones too: untouched is evidence
    return [e for e in sub.ids() if e in keep and e in twin.complete]


@dataclass(frozen=True, slots=True)
class _Plan:
    interventions: list[Intervention]
    hypotheses: list[tuple[int, int, range]]  # (candidate index, onset, scenarios)
    baseline: range
    total: int


def _plan(
    cands: list[RootCauseCandidate],
    onsets: list[list[int]],
    timings: list[_Timing],
    reps: int,
) -> _Plan:
    """One scenario block per (candidate, onset); an at-end follower seen in the
    observation is planted explicitly with its observed timing (the replay's catalogue
    has it detached from its root, :func:`_detached`)."""
    ivs, hyps = [], []
    nxt = reps
    for i, cand in enumerate(cands):
        t = timings[i]
        for onset in onsets[i]:
            block = tuple(range(nxt, nxt + reps))
            end = t.end if t.end is not None and t.end > onset else None
            ivs.append(Intervention("fault", cand.failure_mode, cand.element, onset, end, block))
            if t.follower is not None:
                mode, f_start, f_end = t.follower
                f_end = f_end if f_end is not None and f_end > f_start else None
                ivs.append(Intervention("fault", mode, cand.element, f_start, f_end, block))
            hyps.append((i, onset, range(block[0], block[-1] + 1)))
            nxt += reps
    return _Plan(ivs, hyps, range(reps), nxt)


def _detached(catalogue: Catalogue) -> Catalogue:
    """The catalogue with the followers that start when their root's precursor ends cut
    loose from it (the replay plants them itself, with their observed timing)."""
    modes = [
        replace(m, follows=None) if m.follows is not None and m.follows_after_attr is None else m
        for m in catalogue
    ]
    return Catalogue(modes, catalogue.actions, catalogue.version)


def verify_candidates(
    topology: Topology,
    observed: Observation,
    candidates: Sequence[RootCauseCandidate],
    *,
    demand: Demand | None = None,
    params: CellParams | None = None,
    window: tuple[int, int] | tuple[datetime, datetime] | None = None,
    scenarios: int = 16,
    seed: int = 0,
    onset_offsets: Sequence[int] = (0, -1, 1),
    weights: tuple[float, float] = (0.5, 0.5),
    catalogue: Catalogue | None = None,
    engine: str = "numba",
) -> list[Verification]:
    """Verify each candidate on the twin; one :class:`Verification` per candidate, in order.

    ``demand`` is the (full-network) demand whose steps ``window`` indexes (``window``
    may also be two datetimes); without it, demand is derived from the observed KPIs
    (:func:`~twinrca.twin_replay.demand.demand_from_telemetry`) over the ``window``
    datetimes or the KPIs' time range. ``params`` are the calibrated cell parameters of
    the full network. ``scenarios`` Monte Carlo scenarios per candidate are split over
    the onsets tried (at least one each); the no-fault reference gets as many as one
    onset. A candidate whose mode cannot strike its element scores 0.
    """
    catalogue = catalogue or load_catalogue()
    cands = list(candidates)
    live = [c for c in cands if _applicable(topology, catalogue, c)]
    grid, first = _window(observed, demand, window)
    if not live:
        return [Verification(c, 0.0, {"applicable": 0.0}) for c in cands]
    scope = _alarm_scope(topology, live)
    spans = sc.alarm_spans(observed.alarms[observed.alarms["managed_object"].isin(scope)], grid)
    alarmed = {e for e, _ in spans}
    twin = local_twin(topology, {c.element for c in live} | alarmed, params=params, demand=demand)
    local = _local_demand(twin, observed, grid, demand, first)
    run = _Runner(twin, local, _detached(catalogue), seed, engine)
    focus = _focus(twin, catalogue, live, alarmed)
    cube = sc.observed_cube(observed.kpis, grid, focus)
    reps = max(1, scenarios // max(1, len(onset_offsets)))
    if spans:
        first_alarm = min(r for r, _ in spans.values())
    else:
        first_alarm = sc.KpiContext.build(focus, cube, run.baseline(focus, reps)).onset()
    clears = [c for _, c in spans.values() if c is not None]
    fallback_end = max(clears) if clears and len(clears) == len(spans) else None
    timings = [
        _timing(
            _anchors(topology, catalogue, catalogue.mode(c.failure_mode), c.element, grid),
            spans,
            first_alarm,
            fallback_end,
        )
        for c in live
    ]
    onsets = [sorted({t.onset + o for o in onset_offsets}) for t in timings]
    plan = _plan(live, onsets, timings, reps)
    result = run.simulate(plan)
    ctx = sc.KpiContext.build(focus, cube, sc.sim_cube(result, plan.baseline, focus, mean=False))
    log.debug(
        "verifying %s candidates on %s elements, %s scenarios",
        len(live),
        len(twin.topology),
        plan.total,
    )
    scored = _score(result, plan, ctx, set(spans), weights)
    pairs = ctx.pairs()
    times = tuple(grid.period_ends())
    best: dict[int, _Scored] = {}
    for s in scored:
        if s.index not in best or s.score > best[s.index].score:
            best[s.index] = s
    out = {id(live[i]): _verification(live[i], b, ctx, pairs, times) for i, b in best.items()}
    return [out.get(id(c), Verification(c, 0.0, {"applicable": 0.0})) for c in cands]


@dataclass(frozen=True, slots=True)
class _Runner:
    twin: LocalTwin
    demand: Demand
    catalogue: Catalogue
    seed: int
    engine: str

    def simulate(self, plan: _Plan) -> SimResult:
        return simulate(
            self.twin.topology,
            self.demand,
            plan.interventions,
            scenarios=plan.total,
            seed=self.seed,
            params=self.twin.params,
            catalogue=self.catalogue,
            engine=self.engine,
        )

    def baseline(self, focus: list[str], reps: int) -> np.ndarray:
        res = self.simulate(_Plan([], [], range(reps), reps))
        return sc.sim_cube(res, range(reps), focus, mean=False)


@dataclass(frozen=True, slots=True)
class _Scored:
    index: int
    onset: int
    components: dict[str, float]
    score: float
    simulated: np.ndarray  # [E, T, K] scenario mean


def _score(
    result: SimResult,
    plan: _Plan,
    ctx: sc.KpiContext,
    observed: set[tuple[str, str]],
    weights: tuple[float, float],
) -> list[_Scored]:
    sim_sets = sc.simulated_alarms(result)
    err0 = ctx.error(ctx.baseline)
    w_a, w_k = weights
    out = []
    for i, onset, block in plan.hypotheses:
        prf = np.array([sc.f1(observed, sim_sets.get(s, set())) for s in block]).mean(axis=0)
        comp = {"alarm_precision": prf[0], "alarm_recall": prf[1], "alarm_f1": prf[2]}
        sim = sc.sim_cube(result, block, ctx.focus)
        err = ctx.error(sim)
        if math.isfinite(err) and math.isfinite(err0) and err0 > 0:
            comp |= {
                "kpi_fit": float(np.clip(1.0 - err / err0, 0.0, 1.0)),
                "kpi_error": err,
                "kpi_error_no_fault": err0,
            }
        den = w_a + (w_k if "kpi_fit" in comp else 0.0)
        score = (w_a * comp["alarm_f1"] + w_k * comp.get("kpi_fit", 0.0)) / den
        comp = {k: round(float(v), 6) for k, v in comp.items()}
        out.append(_Scored(i, onset, comp, float(score), sim))
    return out


def _verification(
    cand: RootCauseCandidate,
    best: _Scored,
    ctx: sc.KpiContext,
    pairs: list[tuple[int, int]],
    times: tuple[str, ...],
) -> Verification:
    return Verification(
        cand,
        round(best.score, 6),
        best.components,
        best.onset,
        times,
        ctx.series(ctx.observed, pairs),
        ctx.series(best.simulated, pairs),
        ctx.series(ctx.baseline, pairs),
    )


def rerank(
    candidates: Sequence[RootCauseCandidate],
    verifications: Sequence[Verification],
    weight: float = 0.5,
    *,
    temperature: float = RERANK_TEMPERATURE,
) -> list[RootCauseCandidate]:
    """Candidates re-ranked by the diagnosis posterior tempered with verification.

    ``log p'_i = (1 - weight) * log p_i + weight * score_i / temperature``, normalised
    over the candidates: the verification score acts as a log-likelihood with a
    ``temperature`` (0.03: a score 0.1 higher multiplies the odds by e^1.7 at weight 0.5).
    ``weight`` 0 keeps the diagnosis, 1 ranks by verification alone. Candidates with no
    verification get score 0. The default temperature is :data:`RERANK_TEMPERATURE`
    (fitted at weight 0.5, see :func:`fit_temperature`). Returns new records, best
    first, with ``verified_score`` set and the diagnosis probability kept in
    ``evidence["diagnosis_probability"]``.
    """
    _check_rerank(weight, temperature)
    if not candidates:
        return []
    s = _scores_of(candidates, verifications)
    post = _posterior(candidates, s, weight, temperature)
    out = [
        replace(
            c,
            probability=float(q),
            verified_score=float(v),
            evidence={**c.evidence, "diagnosis_probability": c.probability},
        )
        for c, q, v in zip(candidates, post, s, strict=True)
    ]
    return sorted(out, key=lambda c: -c.probability)


def fit_temperature(
    cases: Iterable[tuple[Sequence[RootCauseCandidate], Sequence[Verification], tuple[str, str]]],
    weight: float = 0.5,
    *,
    grid: Sequence[float] = tuple(np.geomspace(0.005, 1.0, 61)),
) -> tuple[float, float]:
    """The :func:`rerank` temperature (at ``weight``) that minimises the log loss of the
    true ``(element, mode)`` over labelled ``(candidates, verifications, truth)`` cases
    whose truth is among the candidates (incidents of held-out training runs, never the
    ones scored with it); returns ``(temperature, mean log loss)``. Cases without the
    truth among the candidates carry no information on the temperature and are skipped."""
    if not grid:
        raise ValidationError("bad_grid", "give at least one temperature to try")
    _check_rerank(weight, min(grid))
    rows = []
    for cands, ver, truth in cases:
        keys = [(c.element, c.failure_mode) for c in cands]
        if truth in keys:
            rows.append((list(cands), _scores_of(cands, ver), keys.index(truth)))
    if not rows:
        raise ValidationError("no_cases", "no case has its truth among the candidates")
    losses = [
        float(np.mean([-np.log(max(_posterior(c, s, weight, t)[i], 1e-300)) for c, s, i in rows]))
        for t in grid
    ]
    best = int(np.argmin(losses))
    return float(grid[best]), losses[best]


def _check_rerank(weight: float, temperature: float) -> None:
    if not 0.0 <= weight <= 1.0 or temperature <= 0:
        raise ValidationError("bad_weight", "weight must lie in [0, 1], temperature > 0")


def _scores_of(
    candidates: Sequence[RootCauseCandidate], verifications: Sequence[Verification]
) -> np.ndarray:
    scores = {v.key: v.score for v in verifications}
    return np.array([scores.get((c.element, c.failure_mode), 0.0) for c in candidates])


def _posterior(
    candidates: Sequence[RootCauseCandidate], s: np.ndarray, weight: float, temperature: float
) -> np.ndarray:
    p = np.array([max(c.probability, 1e-12) for c in candidates])
    logit = (1.0 - weight) * np.log(p) + weight * s / temperature
    post = np.exp(logit - logit.max())
    return post / post.sum()
