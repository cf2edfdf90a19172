"""Interventions to effect tables: propagation, followers and remediations, outside the kernel.

A fault intervention becomes *fault instances* (one per scenario it applies to, plus
followers such as battery exhaustion after a long mains loss); remediations then
shorten or weaken the instances they apply to (with their success probability,
drawn per scenario) and may add a short outage (a reset). Every instance spreads
along the topology as the catalogue says; the result is a list of effect entries
per (scenario, element), which :func:`build_cell_csr` packs for the kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from twinrca.core.errors import ValidationError
from twinrca.core.topology import ElementKind, Topology
from twinrca.fmea.catalogue import Catalogue, FailureMode, KpiEffect, RemediationAction
from twinrca.twin_replay.kernel import EFFECT_PARAMS

__all__ = ["FaultInstance", "Intervention", "Spread", "expand", "spread_of"]

_NEUTRAL_EFFECT = KpiEffect()


@dataclass(frozen=True, slots=True)
class Intervention:
    """A fault (failure-mode id) or a remediation (action id) on an element.

    ``end_step`` ``None`` means open (a fault lasts to the end of the run).
    ``scenarios`` limits it to some scenarios (``None``: every scenario), which lets
    one call compare candidates side by side.
    """

    kind: Literal["fault", "remediation"]
    mode_or_action_id: str
    element: str
    start_step: int
    end_step: int | None = None
    scenarios: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class Spread:
    """Where a fault of a mode rooted at an element acts."""

    root: str
    descendants: tuple[str, ...]
    neighbours: tuple[str, ...]

    @property
    def affected(self) -> tuple[str, ...]:
        return (self.root, *self.descendants)


@dataclass(frozen=True, slots=True)
class FaultInstance:
    """One fault in one scenario after followers and remediations."""

    scenario: int
    source: int  # index of the intervention that planted it
    mode: FailureMode
    root: str
    start: int
    end: int
    ramp: int
    residual_from: int | None = None  # step from which only ``residual`` of the effect is left
    residual: float = 1.0
    spread: Spread = field(default_factory=lambda: Spread("", (), ()))
    follows: str | None = None  # mode id of the instance this one follows (same source)
    reach: float = 1.0  # how far its precursor gets towards failure at ``end`` (1: it fails)
    planned_end: int = -1  # end before remediations (sets the pace of a precursor ramp)


def spread_of(topology: Topology, mode: FailureMode, root: str) -> Spread:
    """Affected descendants and neighbour cells of a fault (protection spares elements
    that keep a working parent when ``unless_protected``)."""
    prop = mode.propagation
    desc: set[str] = set()
    if prop.to_descendants:
        desc = (
            (topology.isolated_by([root]) - {root})
            if prop.unless_protected
            else topology.descendants(root)
        )
    nbs: set[str] = set()
    if prop.to_neighbours:
        hit = {e for e in (root, *desc) if topology.element(e).kind == ElementKind.CELL}
        for cell in hit:
            nbs |= topology.neighbours(cell)
        nbs -= hit
    return Spread(root, tuple(sorted(desc)), tuple(sorted(nbs)))


def _steps(minutes: float, step_minutes: int) -> int:
    return max(1, math.ceil(minutes / step_minutes))


def _check_fault(topology: Topology, mode: FailureMode, iv: Intervention) -> None:
    el = topology.element(iv.element)
    if el.kind != mode.element_kind:
        raise ValidationError(
            "wrong_element_kind",
            f"{mode.id} strikes a {mode.element_kind}, {iv.element} is a {el.kind}",
            element=iv.element,
        )
    for key, want in mode.requires.items():
        if el.attrs.get(key) != want:
            raise ValidationError(
                "mode_not_applicable", f"{mode.id} needs {key}={want!r}", element=iv.element
            )


def _follower_chain(
    topology: Topology,
    catalogue: Catalogue,
    mode: FailureMode,
    iv: Intervention,
    step_minutes: int,
) -> list[tuple[FailureMode, int, int, bool]]:
    """``(mode, start, ramp, at_end)`` of the root and its followers. A follower with
    ``follows_after_attr`` starts that many minutes (an element attribute: the battery's
    autonomy) after the root; one without starts when the root's precursor window ends
    (memory exhausted, shutdown temperature reached, fade below sensitivity), if that
    window is bounded."""
    ramp = _steps(mode.onset.ramp_min, step_minutes) if mode.onset.profile == "gradual" else 1
    chain = [(mode, iv.start_step, ramp, False)]
    for follower in catalogue.followers(mode.id):
        f_ramp = (
            _steps(follower.onset.ramp_min, step_minutes)
            if follower.onset.profile == "gradual"
            else 1
        )
        if follower.follows_after_attr is None:
            if iv.end_step is not None:
                chain.append((follower, iv.end_step, f_ramp, True))
            continue
        after = float(topology.element(iv.element).attrs.get(follower.follows_after_attr, 0) or 0)
        if after > 0:
            chain.append((follower, iv.start_step + _steps(after, step_minutes), f_ramp, False))
    return chain


def _faults(
    topology: Topology,
    catalogue: Catalogue,
    interventions: list[Intervention],
    scenarios: int,
    steps: int,
    step_minutes: int,
    seed: int = 0,
) -> list[FaultInstance]:
    out: list[FaultInstance] = []
    cache: dict[tuple[str, str], Spread] = {}
    for k, iv in enumerate(interventions):
        if iv.kind not in ("fault", "remediation"):
            raise ValidationError("bad_intervention", f"unknown intervention kind {iv.kind!r}")
        if iv.kind != "fault":
            continue
        mode = catalogue.mode(iv.mode_or_action_id)
        _check_fault(topology, mode, iv)
        end = steps if iv.end_step is None else min(iv.end_step, steps)
        chain = _follower_chain(topology, catalogue, mode, iv, step_minutes)
        for s in iv.scenarios if iv.scenarios is not None else range(scenarios):
            rng = np.random.default_rng([seed, s, k, 4242])
            reach = 1.0
            for m, start, r, at_end in chain:
                key = (m.id, iv.element)
                if m is not mode and rng.random() >= m.follow_prob:
                    if at_end:  # the precursor stopped short of failure (a decoy)
                        reach = float(rng.uniform(0.55, 0.92))
                    continue
                f_end = end
                if at_end:
                    dur = rng.uniform(m.duration.min_min, m.duration.max_min)
                    f_end = min(start + _steps(dur, step_minutes), steps)
                if start < f_end:
                    if key not in cache:
                        cache[key] = spread_of(topology, m, iv.element)
                    parent = None if m is mode else mode.id
                    out.append(
                        FaultInstance(
                            s,
                            k,
                            m,
                            iv.element,
                            start,
                            f_end,
                            r,
                            spread=cache[key],
                            follows=parent,
                            planned_end=f_end,
                        )
                    )
            if reach < 1.0:
                for i in range(len(out) - 1, -1, -1):
                    if out[i].source == k and out[i].scenario == s and out[i].follows is None:
                        out[i] = replace(out[i], reach=reach)
                        break
    return out


def _draw(seed: int, scenario: int, source: int) -> float:
    return float(np.random.default_rng([seed, scenario, source, 991]).random())


def _remediate(
    fault: FaultInstance,
    action: RemediationAction,
    iv: Intervention,
    k: int,
    topology: Topology,
    seed: int,
    step_minutes: int,
) -> FaultInstance:
    if action.id not in fault.mode.remediations or fault.root != iv.element:
        return fault
    if not action.applicable(topology.element(fault.root).attrs, fault.mode.element_kind):
        return fault
    if _draw(seed, fault.scenario, k) >= action.success_prob:
        return fault
    at = iv.start_step + _steps(action.time_to_effect_min, step_minutes)
    if at >= fault.end:
        return fault
    if action.effect == "restore" or action.residual <= 0:
        return replace(fault, end=max(at, fault.start))
    return replace(
        fault, residual_from=max(at, fault.start), residual=action.residual * fault.residual
    )


def _end_followers(faults: list[FaultInstance], before: list[FaultInstance]) -> None:
    """A root fault repaired (ended earlier) ends the faults that follow it: battery
    exhaustion does not outlast the mains repair. In place, per (scenario, source)."""
    ended = {
        (f.source, f.mode.id): f.end
        for f, b in zip(faults, before, strict=True)
        if f.follows is None and f.end < b.end and f.residual_from == b.residual_from
    }
    if not ended:
        return
    for i, f in enumerate(faults):
        at = ended.get((f.source, f.follows)) if f.follows is not None else None
        if at is not None and at < f.end:
            faults[i] = replace(f, end=max(at, f.start))


def expand(
    topology: Topology,
    catalogue: Catalogue,
    interventions: list[Intervention],
    *,
    scenarios: int,
    steps: int,
    step_minutes: int,
    seed: int,
) -> tuple[list[FaultInstance], list[tuple[int, str, int, int, Intervention]]]:
    """Fault instances after remediations, and the remediation outages
    ``(scenario, element, start, end, intervention)`` (resets) and compensations.

    A remediation acts on the faults rooted at its element whose mode lists it; a
    fault it ends (``restore``) also ends the faults that follow it (mains repaired:
    no battery exhaustion afterwards)."""
    faults = _faults(topology, catalogue, interventions, scenarios, steps, step_minutes, seed)
    by_scenario: dict[int, list[int]] = {}
    for i, f in enumerate(faults):
        by_scenario.setdefault(f.scenario, []).append(i)
    extras: list[tuple[int, str, int, int, Intervention]] = []
    for k, iv in enumerate(interventions):
        if iv.kind != "remediation":
            continue
        action = catalogue.action(iv.mode_or_action_id)
        topology.element(iv.element)
        chosen = sorted(set(iv.scenarios)) if iv.scenarios is not None else range(scenarios)
        for s in chosen:
            pos = by_scenario.get(s, ())
            before = [faults[i] for i in pos]
            after = [_remediate(f, action, iv, k, topology, seed, step_minutes) for f in before]
            _end_followers(after, before)
            for i, f in zip(pos, after, strict=True):
                faults[i] = f
        for s in chosen:
            if action.side_effect_outage_min > 0:
                extras.append(
                    (
                        s,
                        "outage",
                        iv.start_step,
                        iv.start_step + _steps(action.side_effect_outage_min, step_minutes),
                        iv,
                    )
                )
            if "COMPENSATION" in action.id:
                end = steps if iv.end_step is None else iv.end_step
                extras.append(
                    (
                        s,
                        "compensation",
                        iv.start_step + _steps(action.time_to_effect_min, step_minutes),
                        end,
                        iv,
                    )
                )
    return [f for f in faults if f.end > f.start], extras


def effect_vector(effect: KpiEffect, scale: float = 1.0) -> np.ndarray:
    """The kernel's effect parameters, moved ``scale`` of the way from neutral."""
    vals = {name: getattr(effect, name, None) for name in EFFECT_PARAMS}
    out = np.empty(len(EFFECT_PARAMS), dtype=np.float32)
    for j, name in enumerate(EFFECT_PARAMS):
        v = vals[name]
        neutral = 1.0 if j < 4 else 0.0
        v = neutral if v is None else float(v)
        out[j] = neutral + scale * (v - neutral)
    return out
