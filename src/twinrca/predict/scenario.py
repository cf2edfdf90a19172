"""Read a twin scenario folder (``twinrca twin generate`` output) into prediction inputs.

The folder holds ``tables/kpis.parquet`` (time, element_id, kind, one column per KPI),
``tables/alarms.parquet`` (raise times), ``topology.json`` and ``labels.csv`` (planted
faults). What a NOC wants warned of is the moment service is lost on a cell, so the
events to predict are derived from the cells' KPIs: a run of ``availability`` below
``below`` percent. Each event carries the failure mode of the planted fault whose window
covers it (``"unknown"`` if none). This module reads files only; it does not import the
twin package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twinrca.core.errors import ValidationError
from twinrca.core.topology import Topology

__all__ = [
    "TWIN_FAILURE_LEVELS",
    "TwinScenario",
    "read_twin_scenario",
    "service_loss_events",
    "target_events",
]

#: failure levels of the twin's precursor telemetry (docs/twin.md): (KPI, level,
#: +1 rising towards it / -1 falling), the ``thresholds`` of a FeatureSpec
TWIN_FAILURE_LEVELS: tuple[tuple[str, float, int], ...] = (
    ("battery_soc", 0.0, -1),
    ("memory_util", 100.0, 1),
    ("cabinet_temp", 68.0, 1),
    ("rsl_dbm", -80.0, -1),
)


@dataclass(frozen=True, slots=True)
class TwinScenario:
    kpis: pd.DataFrame  # time, element + KPI columns (NaN where a KPI does not apply)
    alarms: pd.DataFrame  # time, element, alarm
    events: pd.DataFrame  # element, start, end, mode, root: service-loss events on cells
    planted: pd.DataFrame  # the generator's labels.csv
    topology: Topology
    cells: list[str]
    period_min: int


def service_loss_events(
    kpis: pd.DataFrame, cells: list[str], planted: pd.DataFrame, *, kpi: str, below: float
) -> pd.DataFrame:
    """Runs of ``kpi < below`` per cell, with the covering planted fault's mode and root
    element (``"unknown"`` and ``""`` if none)."""
    rows = []
    sub = kpis[kpis["element"].isin(set(cells))].sort_values(["element", "time"])
    for el, g in sub.groupby("element", sort=False):
        down = (g[kpi] < below).to_numpy()
        t = g["time"].to_numpy()
        edges = np.diff(np.r_[0, down.astype(int), 0])
        for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            end = t[e] if e < len(t) else t[-1]
            mode, root = _fault_at(planted, el, t[s])
            rows.append((el, pd.Timestamp(t[s]), pd.Timestamp(end), mode, root))
    return pd.DataFrame(rows, columns=["element", "start", "end", "mode", "root"])


def _fault_at(planted: pd.DataFrame, element: str, when: object) -> tuple[str, str]:
    when = pd.Timestamp(when)
    hit = planted[(planted["start"] <= when) & (planted["end"] >= when)]
    for _, r in hit.iterrows():
        if element in json.loads(r["affected_elements"]):
            followers = json.loads(r.get("followers") or "[]")
            mode = str(followers[0] if followers and when > r["start"] else r["mode_id"])
            return mode, str(r.get("root_element") or "")
    return "unknown", ""


def target_events(events: pd.DataFrame, topology: Topology, elements: list[str]) -> pd.DataFrame:
    """The events a warning of an element is judged on: the cell service-loss events,
    also on the element whose fault caused them (the planted fault's ``root``: the site
    whose battery ran out, the hop that faded, the node whose memory filled) when it is
    one of ``elements`` and feeds the cell. Not on the other elements the cell hangs from:
    an aggregation node is not about to fail because a site below it is. Events of one
    planted fault starting together form one ``incident`` (the unit of lead time),
    whichever element reports them."""
    keep = set(elements)
    ev = events.reset_index(drop=True)
    for col in ("mode", "root"):
        if col not in ev.columns:
            ev = ev.assign(**{col: ""})
    if "end" not in ev.columns:
        ev = ev.assign(end=ev["start"])
    key = ev["mode"].astype(str) + "|" + ev["start"].astype(str)
    ev = ev.assign(incident=pd.factorize(key)[0])
    extra = [
        (r.root, r.start, r.end, r.mode, r.root, r.incident)
        for r in ev.itertuples(index=False)
        if r.root
        and r.root != r.element
        and r.root in keep
        and r.root in topology.ancestors(r.element)
    ]
    cols = ["element", "start", "end", "mode", "root", "incident"]
    out = pd.concat([ev[cols], pd.DataFrame(extra, columns=cols)], ignore_index=True)
    out = out.drop_duplicates(["element", "start", "incident"])
    return out.sort_values(["element", "start"], kind="stable").reset_index(drop=True)


def read_twin_scenario(
    folder: str | Path, *, kpi: str = "availability", below: float = 50.0
) -> TwinScenario:
    root = Path(folder)
    try:
        wide = pd.read_parquet(root / "tables" / "kpis.parquet")
        alarms = pd.read_parquet(root / "tables" / "alarms.parquet")
        planted = pd.read_csv(root / "labels.csv")
        topology = Topology.from_json(root / "topology.json")
    except (OSError, ValueError) as exc:
        raise ValidationError("bad_scenario", f"cannot read twin scenario {root}: {exc}") from exc
    for col in ("start", "end"):
        planted[col] = pd.to_datetime(planted[col], utc=True)
    cells = sorted(wide.loc[wide["kind"] == "cell", "element_id"].unique().tolist())
    kpis = wide.drop(columns=["kind"]).rename(columns={"element_id": "element"})
    kpis["time"] = pd.to_datetime(kpis["time"], utc=True)
    al = pd.DataFrame(
        {
            "time": pd.to_datetime(alarms["raise_time"], utc=True),
            "element": alarms["element_id"].astype(str),
            "alarm": alarms["probable_cause"].astype(str),
            "clear": pd.to_datetime(alarms["clear_time"], utc=True),
        }
    )
    step = kpis["time"].drop_duplicates().sort_values().diff().dropna().min()
    return TwinScenario(
        kpis=kpis,
        alarms=al,
        events=service_loss_events(kpis, cells, planted, kpi=kpi, below=below),
        planted=planted,
        topology=topology,
        cells=cells,
        period_min=int(step / pd.Timedelta(minutes=1)),
    )
