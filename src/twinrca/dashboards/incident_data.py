"""Data shaping of one incident's page: alarm timeline, KPI band, candidates,
verification, remediations, the causal DOT graph (re-exported by
:mod:`twinrca.dashboards.data`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from twinrca.core.topology import Topology

__all__ = [
    "alarm_timeline",
    "candidates_frame",
    "causal_dot",
    "kpi_band",
    "remediation_frame",
    "verification_frame",
]


def alarm_timeline(incident: Mapping[str, Any]) -> pd.DataFrame:
    """Alarms of an incident: root alarms first, then their children by time."""
    cols = ["event_time", "managed_object", "specific_problem", "severity", "role", "alarm_id"]
    rows = [
        (
            pd.Timestamp(a["event_time"]),
            a["managed_object"],
            a.get("specific_problem") or a.get("alarm_type", ""),
            str(a.get("perceived_severity", "")).upper(),
            "root" if a.get("root") else "child",
            a["alarm_id"],
        )
        for a in incident.get("alarms") or []
    ]
    frame = pd.DataFrame(rows, columns=cols)
    if frame.empty:
        return frame
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True)
    return frame.sort_values(["role", "event_time"], ascending=[False, True], ignore_index=True)


def kpi_band(
    kpis: pd.DataFrame, anomalies: Sequence[Mapping[str, Any]], onset: Any, *, k: float = 3.0
) -> pd.DataFrame:
    """KPI rows with a normal band (median ± k·1.4826·MAD of the points before ``onset``)
    per element and KPI, and whether each point was flagged anomalous."""
    cols = ["period_end", "managed_object", "measurement", "value", "lo", "hi", "anomalous"]
    if kpis.empty:
        return pd.DataFrame(columns=cols)
    t0 = pd.Timestamp(onset)
    t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0
    frame = kpis[["period_end", "managed_object", "measurement", "value"]].copy()
    frame["period_end"] = pd.to_datetime(frame["period_end"], utc=True)
    before = frame[frame["period_end"] < t0]
    stats = before.groupby(["managed_object", "measurement"])["value"].agg(
        med="median", mad=lambda v: float(np.median(np.abs(v - np.median(v))))
    )
    frame = frame.join(stats, on=["managed_object", "measurement"])
    spread = k * np.maximum(1.4826 * frame["mad"].fillna(0.0), 1e-3 * frame["med"].abs().fillna(0))
    frame["lo"] = frame["med"] - spread
    frame["hi"] = frame["med"] + spread
    flagged = {
        (a["managed_object"], a["measurement"], pd.Timestamp(a["period_end"]).value)
        for a in anomalies
    }
    frame["anomalous"] = [
        (m, k_, t.value) in flagged
        for m, k_, t in zip(
            frame["managed_object"], frame["measurement"], frame["period_end"], strict=True
        )
    ]
    return frame[cols]


def candidates_frame(incident: Mapping[str, Any]) -> pd.DataFrame:
    """Ranked candidates with their probability, twin score and FMEA entry."""
    rows = []
    for rank, c in enumerate(
        sorted(incident.get("candidates") or [], key=lambda c: -c.get("probability", 0.0)), 1
    ):
        fmea = c.get("fmea") or {}
        rows.append(
            {
                "rank": rank,
                "element": c["element"],
                "failure_mode": c["failure_mode"],
                "name": fmea.get("name", ""),
                "probability": float(c.get("probability", 0.0)),
                "twin_score": c.get("verified_score"),
                "rpn": _rpn(fmea),
                "source": c.get("source", ""),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "rank",
            "element",
            "failure_mode",
            "name",
            "probability",
            "twin_score",
            "rpn",
            "source",
        ],
    )


def _rpn(fmea: Mapping[str, Any]) -> int | None:
    try:
        return int(fmea["severity"]) * int(fmea["occurrence"]) * int(fmea["detection"])
    except (KeyError, TypeError, ValueError):
        return None


def verification_frame(entry: Mapping[str, Any], *, max_points: int = 400) -> pd.DataFrame:
    """Long frame (time, kpi, series, value) of one candidate's twin replay."""
    times = pd.to_datetime(pd.Series(entry.get("times") or []), utc=True)
    parts = []
    for series in ("observed", "simulated"):
        for kpi, values in (entry.get(series) or {}).items():
            n = min(len(values), len(times))
            parts.append(
                pd.DataFrame(
                    {
                        "time": times[:n].to_numpy(),
                        "kpi": kpi,
                        "series": series,
                        "value": values[:n],
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=["time", "kpi", "series", "value"])
    frame = pd.concat(parts, ignore_index=True)
    from twinrca.dashboards.data import downsample  # data re-exports this module

    return downsample(frame, "time", "value", max_points, by=("kpi", "series"))


def remediation_frame(incident: Mapping[str, Any]) -> pd.DataFrame:
    """What-if outcome of each remediation, best expected recovery first."""
    rows = []
    for r in incident.get("remediations") or []:
        lo, hi = r.get("recovery_interval") or (None, None)
        rows.append(
            {
                "action": r["action"],
                "target": r["target"],
                "expected_recovery": r.get("expected_recovery"),
                "low": lo,
                "high": hi,
                "time_to_recover_min": r.get("time_to_recover_min"),
                "risk": r.get("risk"),
                "cost": r.get("cost"),
                "description": r.get("description", ""),
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "action",
            "target",
            "expected_recovery",
            "low",
            "high",
            "time_to_recover_min",
            "risk",
            "cost",
            "description",
        ],
    )
    return frame.sort_values("expected_recovery", ascending=False, ignore_index=True)


def causal_dot(incident: Mapping[str, Any], topology: Topology | None, *, limit: int = 40) -> str:
    """Graphviz DOT of the incident's causal subgraph: the feeds edges between its
    elements and candidates (topology), candidates labelled with their probability."""
    cands: dict[str, list[Mapping[str, Any]]] = {}
    for c in sorted(incident.get("candidates") or [], key=lambda c: -c.get("probability", 0.0)):
        cands.setdefault(c["element"], []).append(c)
    nodes = list(dict.fromkeys([*cands, *(incident.get("elements") or [])]))[:limit]
    root = incident.get("root_element")
    edges: list[tuple[str, str]] = []
    if topology is not None:
        keep = {n for n in nodes if n in topology}
        for n in keep:
            edges += [(p, n) for p in topology.parents(n) if p in keep]
    lines = [
        "digraph incident {",
        '  rankdir=TB; node [shape=box, style="rounded,filled", fontsize=10, fillcolor="#f2f2f2"];',
    ]
    for n in nodes:
        label, colour = n, "#f2f2f2"
        if n in cands:
            modes = "\\n".join(f"{c['failure_mode']} p={c['probability']:.2f}" for c in cands[n])
            label, colour = f"{n}\\n{modes}", "#ffd966"
        if n == root:
            colour = "#f4a09c"
        lines.append(f'  "{n}" [label="{label}", fillcolor="{colour}"];')
    lines += [f'  "{a}" -> "{b}";' for a, b in sorted(edges)]
    lines.append("}")
    return "\n".join(lines)
