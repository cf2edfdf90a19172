"""Labelled non-fault conditions of a twin run, next to its planted faults.

The twin's KPI-threshold alarms (:mod:`twinrca.twin_replay.thresholds`) fire whenever a
KPI crosses its threshold, fault or not. Those on an element no planted fault affects
at the time are conditions of a working network: ``busy_hour_congestion`` (PRB or link
utilisation at the daily peak), ``neighbour_outage_load`` (a cell next to an affected
one carrying its users), ``threshold_crossing`` (any other KPI within margin). One row
per condition: ``element``, ``kind``, ``specific_problem``, ``start``, ``end``.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd

from twinrca.core.topology import Topology
from twinrca.twin_replay.simulate import SimResult
from twinrca.twin_replay.thresholds import THRESHOLD_FAULT

__all__ = ["CONDITION_COLUMNS", "condition_labels"]

CONDITION_COLUMNS = ["element", "kind", "specific_problem", "start", "end"]
_SLACK = timedelta(minutes=30)
_LOAD = ("PRB utilisation above threshold", "Link utilisation above threshold")


def condition_labels(
    result: SimResult, topology: Topology, faults: pd.DataFrame, *, scenario: int = 0
) -> pd.DataFrame:
    """The run's non-fault conditions; ``faults``: its fault labels
    (:func:`twinrca.twin_replay.generate.fault_labels`)."""
    a = result.alarms
    a = a[(a["scenario"] == scenario) & (a["fault"] == THRESHOLD_FAULT)]
    horizon = result.steps * result.step_minutes
    spans = []
    for f in faults.itertuples(index=False):
        hit = set(_as_list(f.affected_elements)) | {str(f.root_element)}
        near = {n for e in hit for n in topology.neighbours(e)} - hit
        spans.append((pd.Timestamp(f.start) - _SLACK, pd.Timestamp(f.end) + _SLACK, hit, near))
    rows = []
    start = pd.Timestamp(result.start)
    for r in a.itertuples(index=False):
        t0 = start + pd.Timedelta(minutes=float(r.raise_min))
        clear = float(r.clear_min) if pd.notna(r.clear_min) else float(horizon)
        t1 = start + pd.Timedelta(minutes=clear)
        el, sp = str(r.element_id), str(r.specific_problem)
        live = [(hit, near) for lo, hi, hit, near in spans if lo <= t1 and hi >= t0]
        if any(el in hit for hit, _ in live):
            continue  # a symptom of the fault itself
        if any(el in near for _, near in live):
            kind = "neighbour_outage_load"
        elif sp in _LOAD:
            kind = "busy_hour_congestion"
        else:
            kind = "threshold_crossing"
        rows.append({"element": el, "kind": kind, "specific_problem": sp, "start": t0, "end": t1})
    return pd.DataFrame(rows, columns=CONDITION_COLUMNS)


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return list(json.loads(value))
    return list(value)  # type: ignore[call-overload]
