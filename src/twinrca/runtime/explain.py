"""An incident explained from a chosen KPI symptom, upstream on the topology.

``explain_incident(store, incident, kpi="drop_rate", element=None)``: the symptom is
``kpi`` on ``element`` (default: the incident's element where that KPI was most
anomalous, else its root element); the upstream elements are the topology's feeds
(an element depends on its parents: parent -> child is cause -> effect). The KPIs of the
symptom and its upstream elements are read for a baseline (``BASELINE_DAYS`` before
the incident opened, at the window's times of day) and the incident's window (opened -
one KPI period .. the last anomaly or the last update + one period), and ranked with
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

__all__ = ["BASELINE_DAYS", "MAX_FANOUT", "SEP", "SHARED_SHARE", "explain_incident"]

log = logging.getLogger(__name__)

BASELINE_DAYS = 7
SEP = "|"
SHARED_SHARE = 0.5
MAX_FANOUT = 2000


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


def _same_hours(baseline: pd.DataFrame, window: pd.DataFrame, step: timedelta) -> pd.DataFrame:
    """The baseline rows at the window's times of day (+- one KPI period) on earlier
    days: KPIs of a network follow the day, a night window is compared with nights.
    The whole baseline when that leaves fewer than 3 rows."""
    day = 86400.0
    tod = lambda idx: (pd.to_datetime(idx, utc=True).asi8 / 1e9) % day  # noqa: E731
    hours = tod(window.index)
    base = tod(baseline.index)
    tol = step.total_seconds()
    diff = abs(base[:, None] - hours[None, :])
    near = pd.DataFrame(diff).min(axis=1).to_numpy()
    near = pd.Series(near).where(lambda d: d <= day / 2, day - near).to_numpy()
    picked = baseline[near <= tol]
    return picked if len(picked) >= 3 else baseline


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
    baseline = _same_hours(wide[times < opened - step], window, step)
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
    unmeasured = [u for u in elements if f"{u}{SEP}{kpi}" not in wide.columns]
    if unmeasured:
        span = (opened - timedelta(days=BASELINE_DAYS), opened - step, max(end, opened) + step)
        ranking = _with_shared_upstream(store, topology, symptom, kpi, unmeasured, span, ranking)
    return {
        "incident_id": incident.incident_id,
        "symptom": {"element": symptom, "kpi": kpi},
        "method": result.ranking.method,
        "ranking": ranking,
        "path": ranking[0]["path"] if ranking else [],
        "unscored": [{"metric": m, "reason": r} for m, r in sorted(result.unscored.items())],
        "window": {"start": (opened - step).isoformat(), "end": (end + step).isoformat()},
    }


def _with_shared_upstream(
    store: Store,
    topology: Any,
    symptom: str,
    kpi: str,
    unmeasured: list[str],
    span: tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp],
    ranking: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """``ranking`` with the unmeasured upstream elements placed by what they feed.
    ``span``: baseline start, window start, window end."""
    from twinrca.causal.from_symptom import point_scores

    nearest = sorted(unmeasured, key=lambda u: len(topology.descendants(u)))
    fed: dict[str, set[str]] = {}
    budget: set[str] = set()
    for u in nearest:
        below = topology.descendants(u)
        if len(budget | below) > MAX_FANOUT:
            log.info("explain: %s feeds too many elements to read; left unscored", u)
            continue
        fed[u] = below
        budget |= below
    rows = store.read_kpis(span[0], span[2], managed_objects=sorted(budget), measurements=[kpi])
    wide = _wide(rows)
    if wide.empty:
        return ranking
    times = pd.to_datetime(wide.index, utc=True)
    window = wide[times >= span[1]]
    step = timedelta(seconds=float(rows["granularity_s"].median()))
    pts = point_scores(_same_hours(wide[times < span[1]], window, step), window)
    anomalous = {c.rpartition(SEP)[0] for c, f in pts.flagged.items() if bool(f)}
    measured = {c.rpartition(SEP)[0] for c in pts.flagged.index}
    shared: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    for u, below in fed.items():
        seen = below & measured
        hit = below & anomalous
        share = len(hit) / len(seen) if seen else 0.0
        path = _path(topology, u, symptom)
        entry = {"element": u, "score": round(share, 4), "path": path, "feeds_anomalous": len(hit),
                 "feeds_measured": len(seen)}  # fmt: skip
        (shared if share >= SHARED_SHARE and len(seen) >= 2 else other).append(entry)
    shared.sort(key=lambda r: (-r["feeds_anomalous"], -r["score"], r["element"]))
    other.sort(key=lambda r: (-r["score"], r["element"]))
    top = max((float(r["score"]) for r in ranking), default=0.0)
    for i, r in enumerate(shared):  # ahead of the measured ranking, in this order
        r["score"] = round(top + 1.0 + float(len(shared) - i), 6)
    return shared + ranking + other


def _path(topology: Any, source: str, target: str) -> list[str]:
    """``source`` -> ... -> ``target`` along the feeds (shortest)."""
    parents: dict[str, str | None] = {target: None}
    frontier = [target]
    while frontier and source not in parents:
        nxt = []
        for node in frontier:
            for up in topology.parents(node):
                if up not in parents:
                    parents[up] = node
                    nxt.append(up)
        frontier = nxt
    if source not in parents:
        return [source]
    path: list[str] = [source]
    step = parents[source]
    while step is not None:
        path.append(step)
        step = parents[step]
    return path
