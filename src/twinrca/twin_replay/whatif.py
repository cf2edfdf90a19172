"""Remediation what-if: replay the verified cause with each remediation the catalogue allows.

For the cause ``(element, mode)`` under way since ``fault_start_step``, every action
of the mode that applies to the element (:meth:`RemediationAction.applicable`), plus
"do nothing" (:data:`DO_NOTHING`), is simulated over ``horizon_steps`` from
``now_step`` in ``scenarios`` Monte Carlo scenarios, all in one
:func:`~twinrca.twin_replay.simulate.simulate` call on the cause's neighbourhood, with
a no-fault block as the reference. Uncertainty per scenario:

* the fault's natural duration ~ triangular(min, typical, max) of the catalogue,
  conditioned on lasting past now, for ``self_clearing`` modes (grid back, rain over,
  storm subsides); the others (a cut fibre, a dead board, a wrong parameter) last
  until repaired (the same draws for every option: common random
  numbers, so differences come from the actions);
* the action's success (``success_prob``, drawn by the twin);
* its timing: the catalogue's ``time_to_effect_min`` is the best case; the action
  starts after a delay of ``time_to_effect * max(0, m - 1)``, ``m ~ LogNormal(0, 0.3)``.

Per scenario, **service** is the affected cells' (those the fault takes down or
degrades; its neighbour cells when none) served DL traffic x RRC x E-RAB x handover
success over the horizon, relative to the no-fault run (1 = nothing lost), and
**time to recover** is when the cause's fault instances end or are mitigated, and any
reset outage is over (``inf`` when not within the horizon).

Ranking rule: ``utility = loss_recovered + 0.25 * time_saved - 0.05 * risk / 10 -
0.05 * cost / 10``, best first, ties by the median time to recover;
``loss_recovered = (E[service] - E[service | do nothing]) / max(1 - E[service | do
nothing], 0.01)`` is the share of the service the fault would cost that the action
saves (scale-free: a fault on a thousand cells and one on three rank their actions
alike), counted as 0 when the paired difference to doing nothing (common random
numbers) is within two standard errors of zero; ``time_saved`` is the share of the
horizon by which the action cuts the fault's exposure against doing nothing: the
median time to recover (a fault running to the horizon counts as the horizon), plus,
for a mitigation, its ``residual`` share of the time the fault would still run. A NOC
values ending a fault sooner even when the twin's service measure (traffic x
accessibility x retainability) barely sees it, e.g. the latency of a congested link;
risk and cost are the catalogue's 1..10 ratings (0 for doing nothing, whose utility
is 0).

A fault that does not clear by itself (``self_clearing`` false: a cut fibre, a jammer)
stays in place under a mitigation, with its residual effect, for longer than any
horizon can show: for those, the actions that end the fault (``effect: restore``) rank
first and mitigations follow as interim measures to apply while the repair is under
way. Intervals are the 10th-90th percentiles over scenarios (the service interval is
stretched to its mean when a rare failure pulls the mean out).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import numpy as np

from twinrca.core.errors import ValidationError
from twinrca.core.records import Remediation
from twinrca.core.topology import ElementKind, Topology
from twinrca.fmea.catalogue import Catalogue, FailureMode, RemediationAction, load_catalogue
from twinrca.twin_replay._local import LocalTwin, extend_demand, local_twin
from twinrca.twin_replay.demand import Demand
from twinrca.twin_replay.effects import Intervention, spread_of
from twinrca.twin_replay.kernel import CELL_KPIS
from twinrca.twin_replay.simulate import CellParams, SimResult, simulate

__all__ = ["DO_NOTHING", "RemediationOutcome", "default_horizon", "what_if"]

log = logging.getLogger(__name__)

DO_NOTHING = "DO-NOTHING"
RISK_WEIGHT = 0.05
COST_WEIGHT = 0.05
TIME_WEIGHT = 0.25
TIMING_SIGMA = 0.3
_SERVICE_KPIS = [CELL_KPIS.index(k) for k in ("rrc_setup_sr", "erab_setup_sr", "ho_sr")]
_THR = CELL_KPIS.index("dl_throughput_mbps")
_AVAIL = CELL_KPIS.index("availability")


@dataclass(frozen=True, slots=True)
class RemediationOutcome:
    """The simulated outcome of one action (or of doing nothing) on the cause."""

    action_id: str
    name: str
    target: str
    description: str
    expected_service: float  # mean share of no-fault service over the horizon
    service_interval: tuple[float, float]  # 10th, 90th percentile over scenarios
    time_to_recover_min: float | None  # median; None: not within the horizon
    recover_interval_min: tuple[float | None, float | None]
    p_recovered: float  # share of scenarios recovered within the horizon
    gain_vs_nothing: float  # expected_service minus doing nothing's
    loss_recovered: float  # share of the fault's service loss the action saves
    success_prob: float
    risk: float
    cost: float
    utility: float
    rank: int = 0

    def to_record(self) -> Remediation:
        return Remediation(
            action=self.action_id,
            target=self.target,
            description=self.description,
            expected_recovery=self.expected_service,
            recovery_interval=self.service_interval,
            time_to_recover_min=self.time_to_recover_min,
            risk=self.risk,
            cost=self.cost,
        )


def default_horizon(mode: FailureMode, step_minutes: int) -> int:
    """Steps of the default what-if horizon: 12 hours, or twice the mode's typical
    duration when longer (at most 48 hours), so that the loss compared is the fault's
    whole course and slow repairs (interference hunting) are not cut short."""
    minutes = min(max(720.0, 2.0 * mode.duration.typical_min), 2880.0)
    return math.ceil(minutes / step_minutes)


def _tri_quantile(u: np.ndarray, lo: float, mode: float, hi: float) -> np.ndarray:
    """Inverse CDF of the triangular distribution."""
    if hi <= lo:
        return np.full_like(u, lo)
    cut = (mode - lo) / (hi - lo)
    left = lo + np.sqrt(u * (hi - lo) * (mode - lo))
    right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - mode))
    return np.where(u < cut, left, right)


def _natural_end(mode: FailureMode, elapsed_min: float, n: int, step: int, rng) -> list:
    """Per scenario, the step (from now) the fault would end by itself, or None (a
    fault that is not ``self_clearing`` lasts until repaired)."""
    if not mode.self_clearing:
        return [None] * n
    d = mode.duration
    lo, hi = d.min_min, max(d.max_min, d.min_min)
    typ = min(max(d.typical_min, lo), hi)
    if elapsed_min >= hi:
        return [None] * n
    cdf0 = float(np.clip(_tri_cdf(elapsed_min, lo, typ, hi), 0.0, 1.0))
    dur = _tri_quantile(rng.uniform(cdf0, 1.0, size=n), lo, typ, hi)
    return [max(1, math.ceil((x - elapsed_min) / step)) for x in dur]


def _tri_cdf(x: float, lo: float, mode: float, hi: float) -> float:
    if x <= lo:
        return 0.0
    if x >= hi:
        return 1.0
    if x <= mode:
        return (x - lo) ** 2 / ((hi - lo) * (mode - lo))
    return 1.0 - (hi - x) ** 2 / ((hi - lo) * (hi - mode))


def _actions(topology: Topology, catalogue: Catalogue, element: str, mode: FailureMode) -> list:
    attrs = topology.element(element).attrs
    return [
        a for a in catalogue.remediations_for(mode.id) if a.applicable(attrs, mode.element_kind)
    ]


def _fallbacks(actions: list[RemediationAction]) -> dict[str, RemediationAction]:
    """The NOC's escalation: when a restoring action fails, the next restoring action
    listed for the mode (a failed remote reset is followed by a field dispatch). An
    escalation with an outage of its own (a reset after a failed process restart) is
    left out: the twin would apply its outage even where the first action worked."""
    out = {}
    for i, a in enumerate(actions):
        nxt = [
            b
            for b in actions[i + 1 :]
            if b.effect == "restore" and b.id != a.id and b.side_effect_outage_min <= 0
        ]
        if a.effect == "restore" and a.success_prob < 1.0 and nxt:
            out[a.id] = nxt[0]
    return out


@dataclass(frozen=True, slots=True)
class _Layout:
    options: list[RemediationAction | None]  # None: do nothing
    fallbacks: dict[str, RemediationAction]
    healthy: range
    blocks: list[range]
    delays: np.ndarray  # [options, scenarios] action start step from now
    total: int


def _layout(actions: list, scenarios: int, step: int, rng: np.random.Generator) -> _Layout:
    options: list[RemediationAction | None] = [None, *actions]
    healthy = range(max(4, scenarios // 8))
    blocks, nxt = [], healthy.stop
    for _ in options:
        blocks.append(range(nxt, nxt + scenarios))
        nxt += scenarios
    m = rng.lognormal(0.0, TIMING_SIGMA, size=(len(options), scenarios))
    ttf = np.array([0.0 if a is None else a.time_to_effect_min for a in options])[:, None]
    delays = np.rint(ttf * np.maximum(0.0, m - 1.0) / step).astype(int)
    return _Layout(options, _fallbacks(actions), healthy, blocks, delays, nxt)


def _interventions(
    cause: tuple[str, str], layout: _Layout, onset: int, ends: list, step: int
) -> list[Intervention]:
    element, mode_id = cause
    out = []
    for o, (action, block) in enumerate(zip(layout.options, layout.blocks, strict=True)):
        for j, s in enumerate(block):
            out.append(Intervention("fault", mode_id, element, onset, ends[j], scenarios=(s,)))
            if action is not None:
                start = int(layout.delays[o, j])
                out.append(Intervention("remediation", action.id, element, start, scenarios=(s,)))
                nxt = layout.fallbacks.get(action.id)
                if nxt is not None:  # acts only if the fault outlives the first action
                    later = start + math.ceil(action.time_to_effect_min / step)
                    out.append(Intervention("remediation", nxt.id, element, later, scenarios=(s,)))
    return out


def _affected(twin: LocalTwin, catalogue: Catalogue, element: str, mode: FailureMode) -> list[int]:
    sub = twin.topology
    cells = sub.ids(ElementKind.CELL)
    pos = {c: i for i, c in enumerate(cells)}
    hit, nbs = set(), set()
    for m in [mode, *catalogue.followers(mode.id)]:
        sp = spread_of(sub, m, element)
        hit |= {e for e in sp.affected if e in pos}
        nbs |= {e for e in sp.neighbours if e in pos}
    chosen = hit or nbs or set(cells)
    return sorted(pos[c] for c in chosen)


def _service(result: SimResult, cells: list[int], layout: _Layout) -> np.ndarray:
    """Service share per scenario: served traffic x success rates while up, vs no fault."""
    agg = result.cell_agg[:, cells].astype(np.float64)  # [S, C, K]
    ref = agg[list(layout.healthy)].mean(axis=0)
    w = ref[:, _THR] / max(ref[:, _THR].sum(), 1e-9)  # traffic weights of the cells
    up, ref_up = agg[:, :, _AVAIL] @ w / 100.0, float(ref[:, _AVAIL] @ w) / 100.0
    share = agg[:, :, _THR].sum(axis=1) / max(ref[:, _THR].sum(), 1e-9)
    for k in _SERVICE_KPIS:  # rates are 0 while a cell is down: divide by the up time
        rate = (agg[:, :, k] @ w) / np.maximum(up, 1e-9)
        # a partly available cell reports its rates while up, which the division by mean
        # availability would inflate: a rate never counts as better than with no fault
        ratio = np.minimum(rate / max(float(ref[:, k] @ w) / ref_up, 1e-9), 1.0)
        share = share * np.where(up > 1e-6, ratio, 1.0)
    return np.clip(share, 0.0, 1.0)


def _recovery(
    result: SimResult, layout: _Layout, element: str, horizon: int, step: int
) -> np.ndarray:
    """Minutes from now until each scenario recovers (``inf``: not within the horizon)."""
    done = np.zeros(result.scenarios)
    for f in result.faults:
        if f.root == element:
            at = f.end if f.residual_from is None else min(f.end, f.residual_from)
            done[f.scenario] = max(done[f.scenario], at)
    for o, (action, block) in enumerate(zip(layout.options, layout.blocks, strict=True)):
        if action is not None and action.side_effect_outage_min > 0:
            out = math.ceil(action.side_effect_outage_min / step)
            idx = np.array(list(block))
            done[idx] = np.maximum(done[idx], layout.delays[o] + out)
    return np.where(done >= horizon, np.inf, done * step)


def _minutes(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _interval(x: np.ndarray) -> tuple[float, float]:
    """10th-90th percentile, stretched to the mean when a rare failure (< 10 % of the
    scenarios) pulls the mean below the 10th percentile (or a rare success above the 90th)."""
    lo, hi = np.percentile(x, [10, 90])
    mean = float(x.mean())
    return round(min(float(lo), mean), 4), round(max(float(hi), mean), 4)


def _outcome(
    action: RemediationAction | None, element: str, service: np.ndarray, ttr: np.ndarray
) -> RemediationOutcome:
    finite = ttr[np.isfinite(ttr)]
    med = float(np.median(ttr))
    lo, hi = np.percentile(ttr, [10, 90], method="inverted_cdf")
    risk = 0.0 if action is None else float(action.risk)
    cost = 0.0 if action is None else float(action.cost)
    mean = float(service.mean())
    return RemediationOutcome(
        action_id=DO_NOTHING if action is None else action.id,
        name="Do nothing" if action is None else action.name,
        target=element,
        description="Reference: the fault runs its course."
        if action is None
        else action.description,
        expected_service=round(mean, 4),
        service_interval=_interval(service),
        time_to_recover_min=med if math.isfinite(med) else None,
        recover_interval_min=(_minutes(lo), _minutes(hi)),
        p_recovered=round(len(finite) / max(len(ttr), 1), 4),
        gain_vs_nothing=0.0,
        loss_recovered=0.0,
        success_prob=1.0 if action is None else action.success_prob,
        risk=risk,
        cost=cost,
        utility=0.0,
    )


def what_if(
    topology: Topology,
    cause: tuple[str, str],
    *,
    now_step: int,
    demand: Demand,
    params: CellParams | None = None,
    scenarios: int = 64,
    seed: int = 0,
    horizon_steps: int | None = None,
    fault_start_step: int | None = None,
    catalogue: Catalogue | None = None,
    engine: str = "numba",
) -> list[RemediationOutcome]:
    """Simulated outcomes of the remediations of ``cause = (element, mode id)``, best first.

    ``now_step`` and ``fault_start_step`` (default: now) index ``demand`` (the full
    network's); steps past its end repeat the last day. ``horizon_steps`` defaults to
    :func:`default_horizon`. See the module docstring for the uncertainty, metrics and ranking rule.
    """
    catalogue = catalogue or load_catalogue()
    element, mode_id = cause
    mode = catalogue.mode(mode_id)
    el = topology.element(element)
    if el.kind != mode.element_kind or any(el.attrs.get(k) != v for k, v in mode.requires.items()):
        raise ValidationError("mode_not_applicable", f"{mode_id} cannot strike {element}")
    step = demand.step_minutes
    horizon = horizon_steps or default_horizon(mode, step)
    start = now_step if fault_start_step is None else fault_start_step
    if start > now_step or scenarios < 1:
        raise ValidationError("bad_window", "the fault must start by now; scenarios >= 1")
    rng = np.random.default_rng([seed, 17])
    twin = local_twin(
        topology, [element], params=params, demand=extend_demand(demand, now_step, horizon)
    )
    layout = _layout(_actions(topology, catalogue, element, mode), scenarios, step, rng)
    ends = _natural_end(mode, (now_step - start) * step, scenarios, step, rng)
    assert twin.demand is not None  # local_twin slices the demand it is given
    result = simulate(
        twin.topology,
        twin.demand,
        _interventions(cause, layout, start - now_step, ends, step),
        scenarios=layout.total,
        seed=seed,
        params=twin.params,
        catalogue=catalogue,
        engine=engine,
        full=False,
    )
    service = _service(result, _affected(twin, catalogue, element, mode), layout)
    ttr = _recovery(result, layout, element, horizon, step)
    outcomes = [
        _outcome(a, element, service[list(b)], ttr[list(b)])
        for a, b in zip(layout.options, layout.blocks, strict=True)
    ]
    # common random numbers: scenario j of every block shares the fault's draws, so the
    # paired differences to doing nothing tell a real service gain from Monte Carlo noise
    ref = service[list(layout.blocks[0])]
    noise = {
        o.action_id: _within_noise(service[list(b)] - ref)
        for o, b in zip(outcomes, layout.blocks, strict=True)
    }
    mitigations = [a for a in layout.options if a is not None and a.effect != "restore"]
    repairs = frozenset(a.id for a in layout.options if a is not None and a.effect == "restore")
    return _rank(
        outcomes,
        horizon_min=float(horizon * step),
        repairs_first=frozenset() if mode.self_clearing else repairs,
        residual={a.id: a.residual for a in mitigations},
        noise=noise,
    )


def _within_noise(diff: np.ndarray) -> bool:
    """A mean paired difference within two standard errors of zero."""
    if len(diff) < 2:
        return False
    se = float(np.std(diff, ddof=1)) / math.sqrt(len(diff))
    return abs(float(np.mean(diff))) <= 2.0 * se


def _rank(
    outcomes: list[RemediationOutcome],
    *,
    horizon_min: float,
    repairs_first: frozenset[str] = frozenset(),
    residual: dict[str, float] | None = None,
    noise: dict[str, bool] | None = None,
) -> list[RemediationOutcome]:
    """Utility and order (module docstring). ``repairs_first``: action ids that end a
    fault which would not end by itself, ranked ahead of the rest; ``residual``: the
    share of the fault a mitigation leaves; ``noise``: actions whose service gain is
    within the Monte Carlo noise (counted as no gain)."""
    residual, noise = residual or {}, noise or {}

    def ttr(o: RemediationOutcome) -> float:
        t = o.time_to_recover_min
        return horizon_min if t is None else min(t, horizon_min)

    ref = next(o for o in outcomes if o.action_id == DO_NOTHING)

    def exposure(o: RemediationOutcome) -> float:
        """Fault-minutes left: a mitigation leaves its residual until the fault ends."""
        t, r = ttr(o), residual.get(o.action_id, 0.0)
        return t + r * max(ttr(ref) - t, 0.0)

    scored = []
    for o in outcomes:
        gain = o.expected_service - ref.expected_service
        saved = 0.0 if noise.get(o.action_id) else gain / max(1.0 - ref.expected_service, 0.01)
        sooner = (exposure(ref) - exposure(o)) / horizon_min if horizon_min > 0 else 0.0
        penalty = RISK_WEIGHT * o.risk / 10 + COST_WEIGHT * o.cost / 10
        scored.append(
            replace(
                o,
                gain_vs_nothing=round(gain, 4),
                loss_recovered=round(saved, 4),
                utility=round(saved + TIME_WEIGHT * sooner - penalty, 4),
            )
        )
    scored.sort(key=lambda o: (o.action_id not in repairs_first, -o.utility, ttr(o)))
    return [replace(o, rank=i + 1) for i, o in enumerate(scored)]
