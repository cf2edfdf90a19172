"""Silent faults: incidents opened from sustained KPI anomalies with no alarm (alarms
lost by the EMS, a sleeping cell), their stable id, their resolution once the anomaly
has ended, and their document and alerts (embedded store, synthetic KPIs)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from twinrca.alerts.subscriptions import alerts_for
from twinrca.core.incident import IncidentDoc
from twinrca.core.records import IncidentState, RootCauseCandidate
from twinrca.core.topology import ElementKind, Topology
from twinrca.detect.baseline import SeasonalBaseline
from twinrca.detect.detector import KPI_QUIET_PERIODS, detect_incidents
from twinrca.fmea.catalogue import load_catalogue
from twinrca.runtime.flow import Pipeline, PipelineConfig, incident_key
from twinrca.runtime.incident_store import save_incident
from twinrca.store import Store, open_store
from twinrca.store.base import ALARM_COLUMNS
from twinrca.twin_replay.network import generate_topology

DAY0 = pd.Timestamp("2024-05-01", tz="UTC")
PERIOD = pd.Timedelta(minutes=15)
TODAY = DAY0 + pd.Timedelta(days=3)  # three clean days of history before it
FAULT = (TODAY + pd.Timedelta(hours=10), TODAY + pd.Timedelta(hours=13))
MEASUREMENTS = ("rrc_setup_sr", "prb_utilisation")  # no throughput: no twin demand
NO_ALARMS = pd.DataFrame(columns=list(ALARM_COLUMNS))


@pytest.fixture(scope="module")
def topo() -> Topology:
    return generate_topology(24, seed=0)


@pytest.fixture(scope="module")
def sick(topo: Topology) -> str:
    return topo.ids(ElementKind.CELL)[3]


def _kpis(topo: Topology, lo: pd.Timestamp, hi: pd.Timestamp, sick: str | None) -> pd.DataFrame:
    """Every cell's KPIs at 15 min from ``lo`` to ``hi``: a daily cycle with 1 % noise;
    ``sick`` loses 90 % of its load and setup success rate during ``FAULT``."""
    cells = topo.ids(ElementKind.CELL)
    t = pd.date_range(lo, hi, freq=PERIOD, inclusive="left")
    rng = np.random.default_rng(int(lo.timestamp()) % 10_000)
    rows = []
    for i, c in enumerate(cells):
        hour = t.hour + t.minute / 60.0
        cycle = 1.0 + 0.4 * np.sin(2 * np.pi * (hour - 6) / 24.0)
        for m, level in zip(MEASUREMENTS, (99.0, 40.0 + i), strict=True):
            base = level * (cycle if m == "prb_utilisation" else 1.0)
            v = base * (1.0 + 0.01 * rng.standard_normal(len(t)))
            if c == sick:
                v = np.where((t >= FAULT[0]) & (t < FAULT[1]), v * 0.1, v)
            rows.append(pd.DataFrame({"managed_object": c, "measurement": m, "value": v}, index=t))
    out = pd.concat(rows).rename_axis("period_end").reset_index()
    out["period_end"] = out["period_end"] + PERIOD  # a period is stamped by its end
    return out[["managed_object", "measurement", "period_end", "value"]]


@pytest.fixture(scope="module")
def baseline(topo: Topology) -> SeasonalBaseline:
    return SeasonalBaseline.fit(_kpis(topo, DAY0, TODAY, None))


def _ru_alarm(alarm_id: str, element: str, at: pd.Timestamp) -> pd.DataFrame:
    """One raised RU-fault alarm on ``element`` at ``at``, in the store's columns."""
    alarm = {
        "alarm_id": alarm_id,
        "notification_id": 1,
        "managed_object": element,
        "event_time": at,
        "alarm_type": "EQUIPMENT_ALARM",
        "probable_cause": "equipmentMalfunction",
        "specific_problem": "RU fault",
        "perceived_severity": "MAJOR",
        "state": "raised",
        "additional_text": "",
    }
    return pd.DataFrame([alarm], columns=list(ALARM_COLUMNS))


def _window(topo, sick, baseline, lo_h: float, hi_h: float):
    lo, hi = TODAY + pd.Timedelta(hours=lo_h), TODAY + pd.Timedelta(hours=hi_h)
    kpis = _kpis(topo, lo, hi, sick)
    return kpis, detect_incidents(NO_ALARMS, topo, kpis=kpis, baseline=baseline)


def test_a_silent_fault_gives_one_kpi_incident_on_its_element(topo, sick, baseline) -> None:
    _, found = _window(topo, sick, baseline, 6, 12)
    assert len(found) == 1
    inc = found[0]
    assert inc.trigger == "kpi" and inc.alarms.empty
    assert inc.group.anchor == sick and inc.group.elements == (sick,)
    assert pd.Timestamp(inc.group.start) == FAULT[0] + PERIOD
    assert sick in inc.evidence.candidates and not inc.ended
    assert set(inc.evidence.anomalies["managed_object"]) == {sick}


def test_a_normal_stretch_opens_no_kpi_incident(topo, baseline) -> None:
    kpis = _kpis(topo, TODAY, TODAY + pd.Timedelta(days=1), None)
    assert detect_incidents(NO_ALARMS, topo, kpis=kpis, baseline=baseline) == []


def test_a_short_blip_is_not_sustained(topo, sick, baseline) -> None:
    kpis = _kpis(topo, TODAY + pd.Timedelta(hours=6), TODAY + pd.Timedelta(hours=12), None)
    t = kpis["period_end"]
    blip = (kpis["managed_object"] == sick) & (t > FAULT[0]) & (t <= FAULT[0] + 2 * PERIOD)
    kpis.loc[blip, "value"] *= 0.1  # two anomalous periods only
    assert detect_incidents(NO_ALARMS, topo, kpis=kpis, baseline=baseline) == []


def test_a_load_shift_alone_is_not_a_fault(topo, sick, baseline) -> None:
    kpis = _kpis(topo, TODAY + pd.Timedelta(hours=6), TODAY + pd.Timedelta(hours=12), None)
    t = kpis["period_end"]
    busy = (kpis["managed_object"] == sick) & (kpis["measurement"] == "prb_utilisation")
    kpis.loc[busy & (t > FAULT[0]), "value"] *= 1.5  # neighbours' users moved in
    assert detect_incidents(NO_ALARMS, topo, kpis=kpis, baseline=baseline) == []


def test_an_alarm_group_covering_the_element_opens_no_kpi_incident(topo, sick, baseline) -> None:
    kpis = _kpis(topo, TODAY + pd.Timedelta(hours=6), TODAY + pd.Timedelta(hours=12), sick)
    alarms = _ru_alarm("a1", sick, FAULT[0] + pd.Timedelta(minutes=2))
    found = detect_incidents(alarms, topo, kpis=kpis, baseline=baseline)
    assert [i.trigger for i in found] == ["alarms"]


def test_the_id_is_stable_across_overlapping_windows(topo, sick, baseline) -> None:
    ids = {
        incident_key(i)
        for lo, hi in ((6, 12), (8, 14))
        for i in _window(topo, sick, baseline, lo, hi)[1]
    }
    assert len(ids) == 1 and ids.pop().startswith("inc-kpi-")


def test_ended_only_after_quiet_periods(topo, sick, baseline) -> None:
    end_h = (FAULT[1] - TODAY) / pd.Timedelta(hours=1)
    quiet_h = KPI_QUIET_PERIODS * PERIOD / pd.Timedelta(hours=1)
    (early,) = _window(topo, sick, baseline, 6, end_h + quiet_h - 0.25)[1]
    (late,) = _window(topo, sick, baseline, 6, end_h + quiet_h + 0.25)[1]
    assert not early.ended and late.ended


# --- through the pipeline ------------------------------------------------------------------
@dataclass
class _TopElement:
    """A diagnoser stand-in: the incident's anchor element (the pipeline's lifecycle is
    under test here, not the ranking)."""

    def rank(self, ev, top: int = 5) -> list[RootCauseCandidate]:
        el = str(ev.anomalies["managed_object"].iloc[0])
        return [RootCauseCandidate(el, "FM-RAN-RU", 0.8, {})]


@pytest.fixture
def store() -> Iterator[Store]:
    s = open_store("embedded", path=None, tenant="acme")
    s.migrate()
    for fmt in ("3gpp", "pagerduty", "alertmanager", "opsgenie", "generic"):
        s.put_document(
            "subscription",
            f"s-{fmt}",
            {
                "subscription_id": f"s-{fmt}",
                "url": f"http://noc.example/{fmt}",
                "format": fmt,
                "events": ["incident"],
                "secret": "k",
                "active": True,
            },
        )
    yield s
    s.close()


def test_pipeline_keeps_one_incident_and_resolves_it_when_the_anomaly_ends(
    topo, sick, baseline, store
) -> None:
    pipe = Pipeline(store, topo, load_catalogue(), _TopElement(), PipelineConfig())  # type: ignore[arg-type]
    runs = {}
    # during the fault; a later window that no longer reaches its start; after it ended;
    # and after it ended, a window that no longer reaches its start (seen again, not new)
    windows = {"during": (6, 12), "cut": (11, 13.5), "after": (8, 15), "again": (10.5, 16)}
    for name, (lo, hi) in windows.items():
        kpis = _kpis(topo, TODAY + pd.Timedelta(hours=lo), TODAY + pd.Timedelta(hours=hi), sick)
        runs[name] = pipe.run_frames(NO_ALARMS, kpis, baseline=baseline)
    assert [len(d) for d in runs.values()] == [1, 1, 1, 1]
    first, cut, after, again = (d[0] for d in runs.values())
    assert first.incident_id == cut.incident_id == after.incident_id == again.incident_id
    assert again.state is IncidentState.RESOLVED
    assert cut.opened_at == first.opened_at == FAULT[0] + PERIOD
    assert first.trigger == "kpi" and first.alarms == [] and first.root_element == sick
    assert first.state is IncidentState.DIAGNOSED and cut.state is IncidentState.DIAGNOSED
    assert after.state is IncidentState.RESOLVED
    assert after.history[-1]["note"] == "KPI anomaly ended"
    assert len(store.list_documents("incident")) == 1


def test_alerts_build_for_a_kpi_incident(topo, sick, baseline, store) -> None:
    pipe = Pipeline(store, topo, load_catalogue(), _TopElement(), PipelineConfig())  # type: ignore[arg-type]
    kpis = _kpis(topo, TODAY + pd.Timedelta(hours=6), TODAY + pd.Timedelta(hours=12), sick)
    (doc,) = pipe.run_frames(NO_ALARMS, kpis, baseline=baseline)
    doc = doc.model_copy(update={"state": IncidentState.RECOMMENDED})
    bodies = {url.rsplit("/", 1)[1]: p["body"] for url, p, _ in alerts_for(store, doc)}
    assert set(bodies) == {"3gpp", "pagerduty", "alertmanager", "opsgenie", "generic"}
    gpp = bodies["3gpp"]
    assert gpp["notificationType"] == "notifyNewAlarm"
    assert gpp["correlatedNotifications"] == [] and gpp["probableCause"] == "thresholdCrossed"
    assert "KPI anomaly, no alarm" in gpp["additionalText"]
    assert bodies["generic"]["details"]["trigger"] == "kpi"
    assert doc.model_dump(mode="json")["trigger"] == "kpi"
    # named by the incident, not its element: the element's next silent fault is another
    other = doc.model_copy(update={"incident_id": "inc-kpi-later"})
    again = {url.rsplit("/", 1)[1]: p["body"] for url, p, _ in alerts_for(store, other)}
    assert again["generic"]["dedup_key"] != bodies["generic"]["dedup_key"]


def test_an_open_alarm_incident_from_before_the_window_covers_its_elements(
    topo, sick, baseline, store
) -> None:
    # its alarms were raised before the window the detector reads: the stored incident
    opened = (FAULT[0] - pd.Timedelta(hours=8)).to_pydatetime()
    save_incident(
        store,
        IncidentDoc(
            incident_id="inc-old",
            tenant="acme",
            state=IncidentState.RECOMMENDED,
            opened_at=opened,
            updated_at=opened,
            root_element=sick,
            elements=[sick],
        ),
    )
    pipe = Pipeline(store, topo, load_catalogue(), _TopElement(), PipelineConfig())  # type: ignore[arg-type]
    kpis = _kpis(topo, TODAY + pd.Timedelta(hours=6), TODAY + pd.Timedelta(hours=12), sick)
    assert pipe.run_frames(NO_ALARMS, kpis, baseline=baseline) == []


def test_the_service_detector_opens_a_kpi_incident_on_a_store_with_no_alarm(
    topo, sick, store
) -> None:
    """The sliding detector of `twinrca serve` runs on new KPIs alone (no alarm at all)."""
    from twinrca.runtime.detect_loop import SlidingDetector, WindowConfig
    from twinrca.store.base import WriteBatch

    store.save_topology(topo)
    kpis = _kpis(topo, DAY0, TODAY + pd.Timedelta(hours=14), sick)
    store.write_batch(WriteBatch(kpis=kpis.assign(granularity_s=900, suspect=False)))
    pipe = Pipeline(store, topo, load_catalogue(), _TopElement(), PipelineConfig())  # type: ignore[arg-type]
    det = SlidingDetector(store, pipe, topo, WindowConfig(kpi_wait_s=0.0))
    for _ in range(40):  # a backlog: a few ticks read it all
        det.tick()
    det.close()
    docs = [IncidentDoc.model_validate(d) for d in store.list_documents("incident")]
    assert [(d.trigger, d.root_element, d.alarms) for d in docs] == [("kpi", sick, [])]
    assert docs[0].opened_at == FAULT[0] + PERIOD


def test_a_kpi_incident_is_superseded_when_the_faults_alarm_arrives_late(
    topo, sick, baseline, store
) -> None:
    """The anomaly opened a KPI incident before the element's alarm came in; once the
    alarm incident explains the element, the KPI incident is resolved (one fault, one
    incident), with a note naming the alarm incident."""
    pipe = Pipeline(store, topo, load_catalogue(), _TopElement(), PipelineConfig())  # type: ignore[arg-type]
    early = _kpis(topo, TODAY + pd.Timedelta(hours=6), TODAY + pd.Timedelta(hours=11), sick)
    (kpi_doc,) = pipe.run_frames(NO_ALARMS, early, baseline=baseline)
    assert kpi_doc.trigger == "kpi" and kpi_doc.state is not IncidentState.RESOLVED

    alarms = _ru_alarm("late", sick, FAULT[0] + pd.Timedelta(minutes=50))
    kpis = _kpis(topo, TODAY + pd.Timedelta(hours=6), TODAY + pd.Timedelta(hours=12), sick)
    docs = pipe.run_frames(alarms, kpis, baseline=baseline)
    alarm_doc = next(d for d in docs if d.trigger == "alarms")
    stored = IncidentDoc.model_validate(store.get_document("incident", kpi_doc.incident_id))
    assert stored.state is IncidentState.RESOLVED
    assert stored.history[-1]["note"] == f"superseded by alarm incident {alarm_doc.incident_id}"
    open_ = [d for d in store.list_documents("incident") if d["state"] != "resolved"]
    assert [d["incident_id"] for d in open_] == [alarm_doc.incident_id]


def test_the_service_says_it_is_warming_up_and_opens_no_kpi_incident_before(
    topo, sick, store, caplog
) -> None:
    """Issue 17 item 3: with less KPI history than the baseline needs, the sick cell opens
    no KPI incident and the detector says it is warming up; with enough, it is ready."""
    import logging

    from twinrca.runtime.detect_loop import SlidingDetector, WindowConfig
    from twinrca.runtime.runner import _baseline_status
    from twinrca.store.base import WriteBatch

    store.save_topology(topo)
    short = _kpis(topo, TODAY, TODAY + pd.Timedelta(hours=14), sick)  # 14 h, fault inside
    store.write_batch(WriteBatch(kpis=short.assign(granularity_s=900, suspect=False)))
    pipe = Pipeline(store, topo, load_catalogue(), _TopElement(), PipelineConfig())  # type: ignore[arg-type]
    det = SlidingDetector(store, pipe, topo, WindowConfig(kpi_wait_s=0.0))
    with caplog.at_level(logging.INFO, logger="twinrca.runtime.detect_loop"):
        for _ in range(40):
            det.tick()
    assert det.warming_up
    assert _baseline_status(det).startswith("warming up (13.8 h of 23.0 h")
    said = [r.getMessage() for r in caplog.records if "KPI baseline" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("KPI baseline warming up")
    assert [d for d in store.list_documents("incident") if d.get("trigger") == "kpi"] == []
    # the history arrives (three clean days before): the baseline is ready
    history = _kpis(topo, DAY0, TODAY - PERIOD, None)
    store.write_batch(WriteBatch(kpis=history.assign(granularity_s=900, suspect=False)))
    det.close()
    det = SlidingDetector(store, pipe, topo, WindowConfig(kpi_wait_s=0.0))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="twinrca.runtime.detect_loop"):
        for _ in range(40):
            det.tick()
    det.close()
    assert not det.warming_up and _baseline_status(det) == "ready"
    assert any(r.getMessage().startswith("KPI baseline ready") for r in caplog.records)
