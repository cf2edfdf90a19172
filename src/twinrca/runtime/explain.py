"""An incident explained from a chosen KPI symptom, upstream on the topology.

``explain_incident(store, incident, kpi="drop_rate", element=None)``: the symptom is
``kpi`` on ``element`` (default: the incident's element where that KPI was most
anomalous, else its root element); the upstream elements are the topology's feeds
(an element depends on its parents: parent -> child is cause -> effect). The KPIs of the
symptom and its upstream elements are read for a baseline (``BASELINE_DAYS`` before
the incident opened) and the incident's window (opened - one KPI period .. the last
anomaly or the last update + one period), and ranked with
:func:`twinrca.causal.from_symptom.rank_from_symptom` (default method).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pandas as pd

from twinrca.causal.from_symptom import rank_from_symptom
from twinrca.core.errors import NotFound, ValidationError
from twinrca.core.incident import IncidentDoc
from twinrca.store.base import Store

__all__ = ["BASELINE_DAYS", "SEP", "explain_incident"]

log = logging.getLogger(__name__)

BASELINE_DAYS = 7
SEP = "|"


def _symptom_element(incident: IncidentDoc, kpi: str, element: str | None) -> str:
    if element:
        return element
    hits = [a for a in incident.anomalies if str(a.get("measurement")) == kpi]
    if hits:
        best = max(hits, key=lambda a: abs(float(a.get("z") or 0.0)))
        return str(best["managed_object"])
    if incident.root_element:
        return incident.root_element
    raise ValidationError("no_symptom_element", "name the element of the KPI", kpi=kpi)


def _wide(rows: pd.DataFrame) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame()
    keys = rows["managed_object"].astype(str) + SEP + rows["measurement"].astype(str)
    frame = rows.assign(column=keys).pivot_table(
        index="period_end", columns="column", values="value", aggfunc="mean"
    )
    return frame.sort_index()


def explain_incident(
    store: Store, incident: IncidentDoc, kpi: str, element: str | None = None
) -> dict[str, Any]:
    """The upstream ranking and paths from the symptom ``kpi`` on ``element``."""
    topology = store.load_topology()
    if topology is None:
        raise NotFound("no topology stored for this tenant")
    symptom = _symptom_element(incident, kpi, element)
    if symptom not in topology:
        raise NotFound(f"no element {symptom!r} in the topology")
    elements = sorted(topology.ancestors(symptom) | {symptom})
    opened = pd.Timestamp(incident.opened_at)
    probe = store.read_kpis(opened - timedelta(days=1), opened, managed_objects=[symptom])
    step_s = float(probe["granularity_s"].median()) if len(probe) else 900.0
    step = timedelta(seconds=step_s)
    end = pd.Timestamp(incident.closed_at or incident.last_anomaly_at or incident.updated_at)
    rows = store.read_kpis(
        opened - timedelta(days=BASELINE_DAYS), max(end, opened) + step, managed_objects=elements
    )
    wide = _wide(rows)
    if wide.empty or f"{symptom}{SEP}{kpi}" not in wide.columns:
        raise NotFound(f"no {kpi!r} KPI stored for {symptom!r} around the incident")
    times = pd.to_datetime(wide.index, utc=True)
    window = wide[times >= opened - step]
    baseline = wide[times < opened - step]
    if window.empty or baseline.empty:
        raise ValidationError("no_kpi_window", "no KPI rows before or during the incident")
    result = rank_from_symptom(
        baseline,
        window,
        edges=topology.feeds,
        target=symptom,
        metric=kpi,
        entity_sep=SEP,
        merge_nested=False,
    )
    ranking = [
        {"element": e.entity, "score": e.score, "path": list(result.paths.get(e.entity, ()))}
        for e in result.ranking.entities
    ]
    return {
        "incident_id": incident.incident_id,
        "symptom": {"element": symptom, "kpi": kpi},
        "method": result.ranking.method,
        "ranking": ranking,
        "path": ranking[0]["path"] if ranking else [],
        "unscored": [{"metric": m, "reason": r} for m, r in sorted(result.unscored.items())],
        "window": {"start": (opened - step).isoformat(), "end": (end + step).isoformat()},
    }
