"""A small, realistic data set for the dashboard (tests, benchmark, and a fallback
before ``make demo`` has filled a store).

:func:`seed_store` writes into an open store: a generated topology, KPI and alarm rows
around five incidents in different lifecycle states (ranked candidates with evidence,
FMEA entries, twin verification series, remediation what-ifs with intervals, history
made by :func:`twinrca.core.incident.transition`), predictions shaped as TS 28.104
MDA reports, ingest metrics and one FMEA rating change. :func:`seed_file` does the same
for an embedded DuckDB file and also creates an API key for the tenant.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinrca.core.incident import AlarmRef, CandidateDoc, IncidentDoc, RemediationDoc, transition
from twinrca.core.records import IncidentState
from twinrca.core.timeutil import utcnow
from twinrca.core.topology import Element, ElementKind, Topology
from twinrca.fmea import Catalogue, FailureMode, RatingHistory, load_catalogue
from twinrca.runtime.incident_store import save_incident
from twinrca.store.base import Store, WriteBatch, open_store

__all__ = ["SampleSummary", "seed_file", "seed_store"]

log = logging.getLogger(__name__)

STEP = timedelta(minutes=15)
KPIS = ("availability", "dl_throughput_mbps", "drop_rate")
_BASE = {"availability": 1.0, "dl_throughput_mbps": 42.0, "drop_rate": 0.6}


@dataclass(frozen=True, slots=True)
class SampleSummary:
    tenant: str
    incident_ids: tuple[str, ...]
    predictions: int
    elements: int
    api_key: str | None = None


@dataclass(frozen=True, slots=True)
class _Spec:
    incident_id: str
    root: str
    mode: str
    state: IncidentState
    severity: str
    hours_ago: float
    alternatives: tuple[tuple[str, str], ...]
    feedback: tuple[str, str] | None = None


def _topology(cells: int, seed: int) -> Topology:
    try:
        from twinrca.twin_replay.network import generate_topology
    except ImportError:  # the twin is optional for the dashboard
        return _tiny_topology()
    return generate_topology(cells, seed=seed)


def _tiny_topology() -> Topology:
    els = [Element("core:r0", ElementKind.CORE, 48.85, 2.35)]
    feeds = []
    for s in range(6):
        tx, site = f"tx:acc-{s}", f"site:{s}"
        lat, lon = 48.8 + 0.03 * s, 2.3 + 0.02 * (s % 3)
        els += [
            Element(tx, ElementKind.TRANSPORT, lat, lon),
            Element(site, ElementKind.SITE, lat, lon),
        ]
        feeds += [("core:r0", tx), (tx, site)]
        for c in range(1, 4):
            cell = f"cell:{s}-{c}-L08"
            els.append(Element(cell, ElementKind.CELL, lat + 0.002 * c, lon))
            feeds.append((site, cell))
    return Topology(els, feeds)


def _first(topo: Topology, kind: ElementKind, skip: int = 0) -> str:
    return topo.ids(kind)[skip % len(topo.ids(kind))]


def _cells_below(topo: Topology, element: str, limit: int = 6) -> list[str]:
    below = [
        e for e in sorted(topo.descendants(element)) if topo.element(e).kind == ElementKind.CELL
    ]
    if topo.element(element).kind == ElementKind.CELL:
        below = [element]
    return below[:limit]


def _specs(topo: Topology) -> list[_Spec]:
    site_a, site_b = _first(topo, ElementKind.SITE, 2), _first(topo, ElementKind.SITE, 4)
    tx_b = topo.parents(site_b)[0]
    cell_c = _cells_below(topo, _first(topo, ElementKind.SITE, 6))[0]
    cell_d = _cells_below(topo, _first(topo, ElementKind.SITE, 1))[-1]
    site_e = _first(topo, ElementKind.SITE, 3)
    tx_a = topo.parents(site_a)[0]
    return [
        _Spec(
            "inc-0001",
            site_a,
            "FM-PWR-MAINS",
            IncidentState.RECOMMENDED,
            "CRITICAL",
            1.5,
            ((tx_a, "FM-TX-FIBRE-CUT"), (site_a, "FM-RAN-BOARD")),
        ),
        _Spec(
            "inc-0002",
            tx_b,
            "FM-TX-FIBRE-CUT",
            IncidentState.VERIFIED,
            "MAJOR",
            3.0,
            ((site_b, "FM-PWR-MAINS"), (tx_b, "FM-TX-MW-FADING")),
        ),
        _Spec(
            "inc-0003",
            cell_c,
            "FM-RAN-RU",
            IncidentState.ACKNOWLEDGED,
            "MINOR",
            5.0,
            ((cell_c, "FM-RAN-VSWR"), (cell_c, "FM-EXT-INTERF")),
        ),
        _Spec(
            "inc-0004",
            cell_d,
            "FM-CFG-TILT",
            IncidentState.RESOLVED,
            "MAJOR",
            20.0,
            ((cell_d, "FM-CFG-HO"),),
            feedback=(cell_d, "FM-CFG-HO"),
        ),
        _Spec("inc-0005", site_e, "FM-ENV-TEMP", IncidentState.OPEN, "WARNING", 0.5, ()),
    ]


# --- KPIs ----------------------------------------------------------------------------------
def _effect(mode: FailureMode, kpi: str) -> float:
    eff = mode.descendant_effect if mode.element_kind != ElementKind.CELL else mode.root_effect
    if kpi == "availability":
        return eff.availability
    if kpi == "dl_throughput_mbps":
        return eff.availability * eff.capacity * eff.coverage * (1 - eff.loss_pct / 100)
    return 1.0 + eff.drop_add * 5 + eff.ho_loss * 4 + eff.rrc_loss * 4


def _series(kpi: str, n: int, onset: int, factor: float, rng: np.random.Generator) -> np.ndarray:
    base = _BASE[kpi]
    day = 1 + 0.15 * np.sin(np.linspace(0, 2 * np.pi * n / 96, n))
    noise = rng.normal(0, 0.02, n)
    x = base * (day + noise) if kpi != "availability" else np.clip(1 - np.abs(noise) / 10, 0, 1)
    x[onset:] = x[onset:] * factor
    if factor == 1.0 and kpi != "availability":  # a mild degradation still shows
        x[onset:] *= 0.7 if kpi == "dl_throughput_mbps" else 1.8
    return np.round(x, 4)


def _window(onset_time: datetime, hours_after: float) -> tuple[pd.DatetimeIndex, int]:
    start = onset_time - timedelta(hours=12)
    steps = int((12 + hours_after) * 4)
    times = pd.date_range(pd.Timestamp(start).floor("15min"), periods=steps, freq="15min")
    return times, int(np.searchsorted(times, pd.Timestamp(onset_time)))


def _kpis(
    cells: list[str],
    mode: FailureMode,
    times: pd.DatetimeIndex,
    onset: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    rows = []
    for cell in cells:
        for kpi in KPIS:
            values = _series(kpi, len(times), onset, _effect(mode, kpi), rng)
            rows.append(
                pd.DataFrame(
                    {
                        "managed_object": cell,
                        "measurement": kpi,
                        "value": values,
                        "period_end": times,
                        "granularity_s": 900,
                        "suspect": False,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def _anomalies(kpis: pd.DataFrame, onset_time: datetime) -> list[dict[str, Any]]:
    out = []
    for (mo, kpi), part in kpis.groupby(["managed_object", "measurement"]):
        before = part[part["period_end"] < onset_time]["value"]
        med, mad = float(before.median()), float((before - before.median()).abs().median())
        scale = max(1.4826 * mad, 0.02 * abs(med), 1e-6)
        for r in part[part["period_end"] >= onset_time].itertuples():
            z = (r.value - med) / scale
            if abs(z) >= 5:
                out.append(
                    {
                        "managed_object": mo,
                        "measurement": kpi,
                        "period_end": pd.Timestamp(r.period_end).isoformat(),
                        "value": float(r.value),
                        "expected": med,
                        "z": round(float(z), 2),
                    }
                )
    return out[:200]


# --- incident documents ----------------------------------------------------------------------
def _alarms(spec: _Spec, mode: FailureMode, cells: list[str], onset: datetime) -> list[AlarmRef]:
    out: list[AlarmRef] = []
    for i, rule in enumerate(mode.alarms):
        targets = [spec.root] if rule.on == "root" or not cells else cells[:4]
        for j, mo in enumerate(targets):
            out.append(
                AlarmRef(
                    alarm_id=f"{spec.incident_id}-a{i}-{j}",
                    managed_object=mo,
                    event_time=onset + timedelta(minutes=rule.delay_min + j),
                    alarm_type=str(rule.alarm_type),
                    probable_cause=rule.probable_cause,
                    specific_problem=rule.specific_problem,
                    perceived_severity=str(rule.severity),
                    root=mo == spec.root,
                    notification_id=i * 10 + j,
                )
            )
    if not any(not a.root for a in out):  # the children: cells that lost quality meanwhile
        out += [
            AlarmRef(
                alarm_id=f"{spec.incident_id}-c{j}",
                managed_object=mo,
                event_time=onset + timedelta(minutes=7 + 2 * j),
                alarm_type="QUALITY_OF_SERVICE_ALARM",
                probable_cause="thresholdCrossed",
                specific_problem="Cell throughput degraded",
                perceived_severity="MINOR",
                root=False,
                notification_id=100 + j,
            )
            for j, mo in enumerate(c for c in cells if c != spec.root)
        ]
    return out


def _fmea_entry(cat: Catalogue, mode_id: str) -> dict[str, Any]:
    m = cat.mode(mode_id)
    return {
        "id": m.id,
        "name": m.name,
        "severity": m.severity,
        "occurrence": m.occurrence,
        "detection": m.detection,
        "effects": m.effects,
        "causes": list(m.causes),
    }


def _candidates(
    spec: _Spec, cat: Catalogue, n_anom: int, rng: np.random.Generator
) -> list[CandidateDoc]:
    if spec.state is IncidentState.OPEN:
        return []
    pairs = [(spec.root, spec.mode), *spec.alternatives]
    raw = np.array([6.0, *rng.uniform(0.5, 2.0, len(spec.alternatives))])
    probs = raw / raw.sum()
    scores = [0.9, *rng.uniform(0.25, 0.55, len(spec.alternatives))]
    verified = spec.state is not IncidentState.DIAGNOSED
    return [
        CandidateDoc(
            element=el,
            failure_mode=fm,
            probability=round(float(p), 4),
            verified_score=round(float(s), 3) if verified else None,
            fmea=_fmea_entry(cat, fm),
            evidence={
                "alarm_signature_match": round(float(0.95 if k == 0 else rng.uniform(0.2, 0.6)), 2),
                "kpi_anomalies": n_anom if k == 0 else int(n_anom * rng.uniform(0.2, 0.6)),
                "topology": "root of the alarmed subtree" if k == 0 else "upstream or co-located",
                "prior_from_fmea_occurrence": cat.mode(fm).occurrence,
            },
        )
        for k, ((el, fm), p, s) in enumerate(zip(pairs, probs, scores, strict=True))
    ]


def _verification(
    cands: list[CandidateDoc], kpis: pd.DataFrame, rng: np.random.Generator
) -> dict[str, Any]:
    mean = kpis.groupby(["measurement", "period_end"])["value"].mean().unstack(0)
    mean = mean.iloc[-24:]
    times = [t.isoformat() for t in mean.index]
    observed = {k: [round(float(v), 4) for v in mean[k]] for k in KPIS}
    out: dict[str, Any] = {}
    for c in cands:
        fit = c.verified_score or 0.5
        sim = {
            k: [
                round(float(v + (1 - fit) * (_BASE[k] - v) + rng.normal(0, 0.01 * _BASE[k])), 4)
                for v in observed[k]
            ]
            for k in KPIS
        }
        out[f"{c.element}|{c.failure_mode}"] = {
            "score": c.verified_score,
            "times": times,
            "observed": observed,
            "simulated": sim,
        }
    return out


def _remediations(spec: _Spec, cat: Catalogue, rng: np.random.Generator) -> list[RemediationDoc]:
    if spec.state in (IncidentState.OPEN, IncidentState.DIAGNOSED):
        return []
    out = []
    for aid in cat.mode(spec.mode).remediations:
        a = cat.action(aid)
        mid = float(np.clip(a.success_prob * rng.uniform(0.92, 1.0), 0, 1))
        out.append(
            RemediationDoc(
                action=a.id,
                target=spec.root,
                description=a.name,
                expected_recovery=round(mid, 3),
                recovery_interval=(
                    round(max(0.0, mid - rng.uniform(0.05, 0.15)), 3),
                    round(min(1.0, mid + rng.uniform(0.01, 0.05)), 3),
                ),
                time_to_recover_min=float(a.time_to_effect_min),
                risk=float(a.risk),
                cost=float(a.cost),
            )
        )
    return out


def _fixed(t: datetime) -> datetime:
    return t


def _walk(doc: IncidentDoc, target: IncidentState, at: datetime) -> IncidentDoc:
    order = list(IncidentState)
    for k, state in enumerate(order[1 : order.index(target) + 1], 1):
        by = (
            "noc.engineer"
            if state in (IncidentState.ACKNOWLEDGED, IncidentState.RESOLVED)
            else "twinrca"
        )
        stamp = at + timedelta(minutes=3 * k)
        doc = transition(doc, state, by=by, now=partial(_fixed, stamp))
    return doc


def _incident(
    store: Store,
    topo: Topology,
    cat: Catalogue,
    spec: _Spec,
    now: datetime,
    rng: np.random.Generator,
) -> IncidentDoc:
    mode = cat.mode(spec.mode)
    onset = now - timedelta(hours=spec.hours_ago)
    cells = _cells_below(topo, spec.root)
    times, k = _window(onset, min(spec.hours_ago, 4.0))
    kpis = _kpis(cells, mode, times, k, rng)
    alarms = _alarms(spec, mode, cells, onset)
    store.write_batch(WriteBatch(kpis=kpis, alarms=_alarm_rows(alarms)))
    anomalies = _anomalies(kpis, onset)
    cands = _candidates(spec, cat, len(anomalies), rng)
    doc = IncidentDoc(
        incident_id=spec.incident_id,
        tenant=store.tenant,
        opened_at=onset,
        updated_at=onset,
        region=topo.element(spec.root).region,
        severity=spec.severity,
        root_element=spec.root,
        elements=list(dict.fromkeys([spec.root, *cells])),
        alarms=alarms,
        anomalies=anomalies,
        candidates=cands,
        remediations=_remediations(spec, cat, rng),
        verification=_verification(cands, kpis, rng) if cands and cands[0].verified_score else {},
        timings={"diagnose_s": 0.4, "verify_s": 2.1},
    )
    doc = _walk(doc, spec.state, onset)
    if spec.feedback:
        fb = {
            "true_element": spec.feedback[0],
            "true_failure_mode": spec.feedback[1],
            "comment": "tilt was fine; HO offsets changed by the last rollout",
            "at": now.isoformat(),
        }
        doc = doc.model_copy(update={"feedback": fb})
    return doc


def _alarm_rows(alarms: list[AlarmRef]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "alarm_id": a.alarm_id,
                "notification_id": a.notification_id,
                "managed_object": a.managed_object,
                "event_time": a.event_time,
                "alarm_type": a.alarm_type,
                "probable_cause": a.probable_cause,
                "specific_problem": a.specific_problem,
                "perceived_severity": a.perceived_severity,
                "state": "raised",
                "additional_text": "",
            }
            for a in alarms
        ]
    )


# --- predictions, metrics, FMEA ------------------------------------------------------------------
_EXPLAIN = (
    ("prb_utilisation_trend_1h", "PRB utilisation rising for 1 h"),
    ("battery_min_remaining", "battery autonomy below 60 min"),
    ("rsl_drop_db", "microwave RSL dropped by 6 dB"),
    ("alarm_count_6h", "4 warnings in the last 6 h"),
    ("temperature_c", "cabinet temperature 41 °C"),
    ("drop_rate_z", "drop rate 3σ above its profile"),
)
_PRED_MODES = {
    "site": ("FM-PWR-BATTERY", "FM-ENV-TEMP", "FM-SW-MEMLEAK"),
    "transport": ("FM-TX-MW-FADING", "FM-TX-CONGESTION"),
    "cell": ("FM-RAN-VSWR", "FM-EXT-INTERF", "FM-RAN-RU"),
}


def _prediction(
    i: int,
    element: str,
    mode: str,
    horizon: float,
    p: float,
    now: datetime,
    rng: np.random.Generator,
) -> dict[str, Any]:
    picks = rng.choice(len(_EXPLAIN), 3, replace=False)
    explanation = [
        {
            "feature": _EXPLAIN[j][0],
            "text": _EXPLAIN[j][1],
            "value": round(float(rng.uniform(0, 5)), 3),
            "contribution": round(float(c), 4),
        }
        for j, c in zip(picks, sorted(rng.uniform(0.02, 0.3, 3), reverse=True), strict=True)
    ]
    start, end = now + timedelta(minutes=horizon / 2), now + timedelta(minutes=horizon)
    return {
        "prediction_id": f"pred-{i:04d}",
        "element": element,
        "failure_mode": mode,
        "horizon_min": horizon,
        "probability": round(p, 4),
        "explanation": explanation,
        "created_at": now.isoformat(),
        "mDAType": "FaultPrediction",
        "mDAOutputList": [
            {"mDAOutputIEName": "predictedFaultObject", "mDAOutputIEValue": element},
            {"mDAOutputIEName": "predictedFailureMode", "mDAOutputIEValue": mode},
            {"mDAOutputIEName": "predictionHorizonMinutes", "mDAOutputIEValue": horizon},
            {"mDAOutputIEName": "explanation", "mDAOutputIEValue": explanation},
        ],
        "analyticsWindow": {
            "mDAOutputStartTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "mDAOutputEndTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "confidenceDegree": round(p, 4),
    }


def _predictions(
    store: Store, topo: Topology, now: datetime, rng: np.random.Generator, n: int
) -> int:
    kinds = [k for k in ("site", "transport", "cell") if topo.ids(ElementKind(k))]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        ids = topo.ids(ElementKind(kind))
        element = ids[int(rng.integers(len(ids)))]
        mode = _PRED_MODES[kind][int(rng.integers(len(_PRED_MODES[kind])))]
        horizon = float((15, 60, 240)[i % 3])
        p = float(rng.beta(2, 3))
        store.put_document(
            "prediction", f"pred-{i:04d}", _prediction(i, element, mode, horizon, p, now, rng)
        )
    return n


def _metrics(store: Store, now: datetime, rng: np.random.Generator, minutes: int = 60) -> None:
    for m in range(minutes, 0, -1):
        t = now - timedelta(minutes=m)
        labels = {"topic": "twinrca.kpi", "group": "twinrca-ingest"}
        store.record_metric("ingest_lag", round(float(rng.gamma(2.0, 0.6)), 3), labels, time=t)
        store.record_metric(
            "ingest_rows_per_s", round(float(rng.normal(1800, 120)), 1), labels, time=t
        )
        dead = float(rng.poisson(0.15))
        store.record_metric("ingest_dead_letters", dead, {"topic": "twinrca.dead-letter"}, time=t)


def _fmea_history(store: Store, now: datetime) -> None:
    history = RatingHistory.load(store)
    if len(history):
        return
    history.record(
        "FM-PWR-MAINS",
        "occurrence",
        5,
        6,
        reason="3 confirmed incidents in 30 days",
        source="incidents",
        who="twinrca",
        at=now - timedelta(days=2),
    )
    history.record(
        "FM-CFG-HO",
        "detection",
        6,
        4,
        reason="new HO success-rate anomaly detector",
        source="person",
        who="noc.engineer",
        at=now - timedelta(days=1),
    )
    history.save(store)


# --- entry points ------------------------------------------------------------------------------
def seed_store(
    store: Store,
    *,
    cells: int = 48,
    seed: int = 0,
    predictions: int = 18,
    now: datetime | None = None,
) -> SampleSummary:
    """Fill ``store`` (its tenant) with the sample data set; idempotent per incident id."""
    now = now or utcnow()
    rng = np.random.default_rng(seed)
    topo = _topology(cells, seed)
    cat = load_catalogue()
    store.save_topology(topo)
    ids = []
    for spec in _specs(topo):
        doc = _incident(store, topo, cat, spec, now, rng)
        save_incident(store, doc)
        ids.append(doc.incident_id)
    n_pred = _predictions(store, topo, now, rng, predictions)
    _metrics(store, now, rng)
    _fmea_history(store, now)
    log.info("seeded %s incidents and %s predictions for tenant %s", len(ids), n_pred, store.tenant)
    return SampleSummary(store.tenant, tuple(ids), n_pred, len(topo))


def seed_file(
    path: str | Path,
    *,
    tenant: str = "default",
    system_tenant: str = "system",
    cells: int = 48,
    seed: int = 0,
    now: datetime | None = None,
) -> SampleSummary:
    """Seed an embedded store file and create an API key for ``tenant`` (returned once)."""
    from twinrca.runtime.auth import create_api_key

    with open_store("embedded", path=path, tenant=tenant) as store:
        store.migrate()
        summary = seed_store(store, cells=cells, seed=seed, now=now)
        with open_store("embedded", path=path, tenant=system_tenant) as system:
            key = create_api_key(system, tenant, name="dashboard sample")
    return SampleSummary(
        summary.tenant, summary.incident_ids, summary.predictions, summary.elements, key
    )
