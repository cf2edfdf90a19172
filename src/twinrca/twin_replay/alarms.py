"""Alarms and log lines of fault instances, by the catalogue's rules.

An alarm rule of a failure mode raises its alarm on its targets once the fault's
intensity reaches ``at_intensity`` plus ``delay_min``, and clears it when the fault
ends (or is mitigated below the threshold). Times are minutes from the run start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from twinrca.core.records import Alarm, AlarmState, AlarmType, LogEvent, PerceivedSeverity
from twinrca.core.topology import Topology
from twinrca.fmea.catalogue import AlarmRule
from twinrca.twin_replay.effects import FaultInstance

__all__ = ["ALARM_COLUMNS", "alarm_records", "alarm_table", "log_events"]

ALARM_COLUMNS = [
    "scenario",
    "element_id",
    "alarm_type",
    "probable_cause",
    "specific_problem",
    "severity",
    "raise_min",
    "clear_min",
    "raise_step",
    "clear_step",
    "fault",
    "mode_id",
    "root",
]

_CELL_DOWN = AlarmRule(
    AlarmType.COMMUNICATIONS_ALARM,
    "unavailable",
    "Cell service unavailable",
    "root",
    (),
    PerceivedSeverity.MAJOR,
)


def _targets(rule: AlarmRule, fault: FaultInstance, topology: Topology) -> tuple[str, ...]:
    if rule.on == "root":
        return (fault.root,)
    pool = fault.spread.descendants if rule.on == "descendants" else fault.spread.neighbours
    if not rule.kinds:
        return pool
    return tuple(e for e in pool if topology.element(e).kind in rule.kinds)


def _jitter(*key: int) -> float:
    return float(np.random.default_rng(list(key)).random())


def _window(rule: AlarmRule, fault: FaultInstance, step_minutes: int) -> tuple[float, float]:
    reach = fault.start + max(0, math.ceil(rule.at_intensity * fault.ramp) - 1)
    raise_min = reach * step_minutes + rule.delay_min
    clear_step = fault.end
    if fault.residual_from is not None and fault.residual < max(rule.at_intensity, 0.5):
        clear_step = fault.residual_from
    return raise_min, clear_step * step_minutes


def alarm_table(
    faults: list[FaultInstance],
    topology: Topology,
    *,
    step_minutes: int,
    steps: int,
    outages: Sequence[tuple[int, str, int, int]] = (),
) -> pd.DataFrame:
    """One row per alarm occurrence (``clear_min`` NaN when still raised at the end)."""
    rows = []
    horizon = steps * step_minutes
    for fi, f in enumerate(faults):
        for ri, rule in enumerate(f.mode.alarms):
            lo, hi = _window(rule, f, step_minutes)
            lo += round(_jitter(f.scenario, f.source, ri) * min(3.0, step_minutes / 3), 2)
            if lo >= hi or lo >= horizon:
                continue
            for el in _targets(rule, f, topology):
                rows.append(
                    _row(
                        f.scenario,
                        el,
                        rule,
                        max(lo, 0.0),
                        hi,
                        horizon,
                        step_minutes,
                        fi,
                        f.mode.id,
                        f.root,
                    )
                )
    for s, el, a, b in outages:
        rows.append(
            _row(
                s,
                el,
                _CELL_DOWN,
                a * step_minutes + 0.5,
                b * step_minutes,
                horizon,
                step_minutes,
                -1,
                "",
                el,
            )
        )
    frame = pd.DataFrame(rows, columns=ALARM_COLUMNS)
    return frame.sort_values(["scenario", "raise_min", "element_id"], kind="stable").reset_index(
        drop=True
    )


def _row(
    s: int,
    el: str,
    rule: AlarmRule,
    lo: float,
    hi: float,
    horizon: float,
    step_minutes: int,
    fault: int,
    mode_id: str,
    root: str,
) -> dict[str, object]:
    clear = hi if hi < horizon else math.nan
    return {
        "scenario": s,
        "element_id": el,
        "alarm_type": str(rule.alarm_type),
        "probable_cause": rule.probable_cause,
        "specific_problem": rule.specific_problem,
        "severity": str(rule.severity),
        "raise_min": lo,
        "clear_min": clear,
        "raise_step": int(lo // step_minutes),
        "clear_step": -1 if math.isnan(clear) else int(clear // step_minutes),
        "fault": fault,
        "mode_id": mode_id,
        "root": root,
    }


def alarm_records(table: pd.DataFrame, start: datetime, *, scenario: int = 0) -> list[Alarm]:
    """Raise and clear notifications of one scenario as :class:`Alarm` records, by time."""
    out: list[tuple[datetime, Alarm]] = []
    sel = table[table["scenario"] == scenario]
    for i, r in enumerate(sel.itertuples(index=False)):
        alarm_id = f"tw-{scenario}-{i}"
        base = {
            "alarm_id": alarm_id,
            "managed_object": r.element_id,
            "alarm_type": AlarmType(r.alarm_type),
            "probable_cause": r.probable_cause,
            "specific_problem": r.specific_problem,
        }
        t0 = start + timedelta(minutes=float(r.raise_min))
        text = (
            f"twin fault {r.fault} {r.mode_id}"
            if r.mode_id
            else "KPI threshold crossed"
            if r.fault == -2
            else "remediation side effect"
        )
        out.append(
            (
                t0,
                Alarm(
                    event_time=t0,
                    perceived_severity=PerceivedSeverity(r.severity),
                    state=AlarmState.RAISED,
                    additional_text=text,
                    notification_id=2 * i,
                    **base,
                ),
            )
        )
        if not math.isnan(r.clear_min):
            t1 = start + timedelta(minutes=float(r.clear_min))
            out.append(
                (
                    t1,
                    Alarm(
                        event_time=t1,
                        perceived_severity=PerceivedSeverity.CLEARED,
                        state=AlarmState.CLEARED,
                        notification_id=2 * i + 1,
                        **base,
                    ),
                )
            )
    out.sort(key=lambda p: (p[0], p[1].notification_id or 0))
    return [a for _, a in out]


def log_events(
    faults: list[FaultInstance],
    start: datetime,
    *,
    step_minutes: int,
    steps: int,
    scenario: int = 0,
    repeat_min: float = 60.0,
) -> list[LogEvent]:
    """Log lines of the faults of one scenario, from the modes' templates: at onset and
    then every ``repeat_min`` while the fault lasts."""
    out = []
    for fi, f in enumerate(faults):
        if f.scenario != scenario or not f.mode.log_templates:
            continue
        rng = np.random.default_rng([scenario, f.source, fi, 5])
        t = max(f.start, 0) * step_minutes + float(rng.uniform(0.1, 2.0))
        end = min(f.end, steps) * step_minutes
        while t < end:
            for tpl in f.mode.log_templates:
                msg = tpl.format(
                    n=int(rng.integers(0, 8)),
                    x=round(float(rng.uniform(1, 99)), 1),
                    p=str(rng.choice(["ccpd", "rrm", "oam", "mme-app"])),
                    m=str(rng.choice(["QPSK", "16QAM", "64QAM"])),
                )
                sev = "ERROR" if f.mode.severity >= 7 else "WARNING"
                out.append(LogEvent(start + timedelta(minutes=t), f.root, sev, msg))
            t += repeat_min
    out.sort(key=lambda e: (e.time, e.source, e.message))
    return out
