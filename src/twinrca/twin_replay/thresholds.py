"""KPI-threshold alarms: X.733 QUALITY_OF_SERVICE_ALARM / ``thresholdCrossed`` from the
simulated KPIs, raised and cleared with hysteresis.

A :class:`ThresholdRule` watches one KPI of one element kind. It raises when the KPI
is beyond ``raise_at`` for ``persist_steps`` consecutive periods and clears at the
first period back beyond ``clear_at`` (the hysteresis band keeps a KPI hovering at the
threshold from flapping). Times are period ends (a PM value is known when its period
closes). ``unless_alarmed`` rules stay quiet while the element, or an element feeding
it, carries an alarm of a fault (a cell down behind a fibre cut already says so); they
report what nothing else does (a cell down after a reset, a partly compensated outage).

The rows have the columns of :func:`twinrca.twin_replay.alarms.alarm_table` with
``fault = -2``, ``mode_id = ""`` and ``root`` = the element.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twinrca.core.records import AlarmType, PerceivedSeverity
from twinrca.core.topology import ElementKind, Topology
from twinrca.twin_replay.alarms import ALARM_COLUMNS

__all__ = ["THRESHOLD_FAULT", "THRESHOLD_RULES", "ThresholdRule", "threshold_alarms"]

THRESHOLD_FAULT = -2  # ``fault`` column of threshold alarm rows


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    kpi: str
    kind: ElementKind
    above: bool  # True: alarm when the KPI is high
    raise_at: float
    clear_at: float
    persist_steps: int
    specific_problem: str
    severity: PerceivedSeverity = PerceivedSeverity.MINOR
    unless_alarmed: bool = False


THRESHOLD_RULES: tuple[ThresholdRule, ...] = (
    ThresholdRule(
        "prb_utilisation",
        ElementKind.CELL,
        True,
        raise_at=95.0,
        clear_at=85.0,
        persist_steps=2,
        specific_problem="PRB utilisation above threshold",
    ),
    ThresholdRule(
        "availability",
        ElementKind.CELL,
        False,
        raise_at=90.0,
        clear_at=99.0,
        persist_steps=1,
        specific_problem="Cell availability below threshold",
        severity=PerceivedSeverity.MAJOR,
        unless_alarmed=True,
    ),
)


def _alarmed(
    table: pd.DataFrame, topology: Topology, elements: list[str], shape: tuple[int, int, int]
) -> np.ndarray:
    """Bool ``[S, len(elements), T]``: a fault alarm is active on the element or on an
    element feeding it during the period."""
    n_t = shape[2]
    out = np.zeros(shape, dtype=bool)
    if table.empty:
        return out
    on: dict[str, list[int]] = {}
    for j, e in enumerate(elements):
        for a in (e, *topology.ancestors(e)):
            on.setdefault(a, []).append(j)
    for s, el, lo, hi in zip(
        table["scenario"],
        table["element_id"],
        table["raise_step"],
        table["clear_step"],
        strict=True,
    ):
        cols = on.get(el)
        if cols:
            out[int(s), cols, int(lo) : n_t if hi < 0 else int(hi) + 1] = True
    return out


def _spans(values: np.ndarray, rule: ThresholdRule, allowed: np.ndarray | None) -> list:
    """``(scenario, element, raise step, clear step or -1)`` by hysteresis over ``[S, E, T]``."""
    n_s, n_e, n_t = values.shape
    with np.errstate(invalid="ignore"):
        beyond = values > rule.raise_at if rule.above else values < rule.raise_at
        back = values < rule.clear_at if rule.above else values >= rule.clear_at
    on = np.zeros((n_s, n_e), dtype=bool)
    run = np.zeros((n_s, n_e), dtype=np.int64)
    since = np.full((n_s, n_e), -1, dtype=np.int64)
    out = []
    for t in range(n_t):
        run = np.where(beyond[:, :, t], run + 1, 0)
        fire = ~on & (run >= rule.persist_steps)
        if allowed is not None:
            fire &= allowed[:, :, t]
        stop = on & back[:, :, t]
        for s, e in zip(*np.nonzero(stop), strict=True):
            out.append((int(s), int(e), int(since[s, e]), t))
        on &= ~stop
        since[fire] = t
        on |= fire
    for s, e in zip(*np.nonzero(on), strict=True):
        out.append((int(s), int(e), int(since[s, e]), -1))
    return out


def threshold_alarms(
    kpis: np.ndarray,
    element_ids: tuple[str, ...],
    kpi_names: tuple[str, ...],
    topology: Topology,
    fault_alarms: pd.DataFrame,
    *,
    step_minutes: int,
    rules: tuple[ThresholdRule, ...] = THRESHOLD_RULES,
) -> pd.DataFrame:
    """Threshold alarm rows of a run's full KPI array ``[S, E, T, K]``."""
    n_s, _, n_t, _ = kpis.shape
    rows = []
    for rule in rules:
        sel = [i for i, e in enumerate(element_ids) if topology.element(e).kind == rule.kind]
        if not sel:
            continue
        names = [element_ids[i] for i in sel]
        values = kpis[..., kpi_names.index(rule.kpi)][:, sel]
        allowed = None
        if rule.unless_alarmed:
            allowed = ~_alarmed(fault_alarms, topology, names, (n_s, len(sel), n_t))
        for s, e, lo, hi in _spans(values, rule, allowed):
            if lo + 1 < n_t:  # raised at the end of the last period: after the run
                rows.append(_row(s, names[e], rule, lo, hi, step_minutes))
    return pd.DataFrame(rows, columns=ALARM_COLUMNS)


def _row(s: int, el: str, rule: ThresholdRule, lo: int, hi: int, step_minutes: int) -> dict:
    return {
        "scenario": s,
        "element_id": el,
        "alarm_type": str(AlarmType.QUALITY_OF_SERVICE_ALARM),
        "probable_cause": "thresholdCrossed",
        "specific_problem": rule.specific_problem,
        "severity": str(rule.severity),
        "raise_min": float((lo + 1) * step_minutes),  # at the end of the period
        "clear_min": float("nan") if hi < 0 else float((hi + 1) * step_minutes),
        "raise_step": lo + 1,
        "clear_step": -1 if hi < 0 else hi + 1,
        "fault": THRESHOLD_FAULT,
        "mode_id": "",
        "root": el,
    }
