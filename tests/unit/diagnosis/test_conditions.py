"""The "no fault / condition" outcome (issue 17 item 1): a busy-hour congestion or a
fade within margin is classified as a condition with its probability and evidence,
kept with state ``condition`` and severity warning, not paged and given no repair; a
real fault on the same element is still a fault."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pytest
from tests.unit.diagnosis._alarm_rows import alarm_row

from twinrca.alerts.subscriptions import alerts_for
from twinrca.causal.conditions import ConditionModel, ConditionVerdict
from twinrca.core.errors import ModelError
from twinrca.core.records import IncidentState, RootCauseCandidate
from twinrca.core.topology import ElementKind, Topology
from twinrca.detect.detector import IncidentEvidence
from twinrca.fmea.catalogue import load_catalogue
from twinrca.runtime.flow import Pipeline, PipelineConfig
from twinrca.store import Store, open_store
from twinrca.store.base import ALARM_COLUMNS
from twinrca.twin_replay.network import generate_topology

T0 = pd.Timestamp("2024-05-01 18:00", tz="UTC")
BUSY = ("QUALITY_OF_SERVICE_ALARM", "thresholdCrossed", "PRB utilisation above threshold", "MINOR")
FADE = ("COMMUNICATIONS_ALARM", "thresholdCrossed", "Radio link fade margin low", "WARNING")
RU = ("EQUIPMENT_ALARM", "equipmentMalfunction", "RU fault", "MAJOR")
CELL_DOWN = ("COMMUNICATIONS_ALARM", "lossOfSignal", "Cell down", "CRITICAL")
NO_KPIS = pd.DataFrame(columns=["managed_object", "measurement", "period_end", "value"])


_alarm = alarm_row


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(ALARM_COLUMNS))


def _evidence(rows: list[dict]) -> IncidentEvidence:
    a = _frame(rows)
    none = pd.DataFrame(columns=["managed_object", "measurement", "direction"])
    return IncidentEvidence(a, none, tuple(dict.fromkeys(a["managed_object"].astype(str))))


def _flat(ev: IncidentEvidence) -> tuple[float, float]:
    """A best-hypothesis scorer that says nothing: the model must learn from the alarms."""
    return (0.0, 0.5)


def _training(cells: list[str]) -> list[tuple[IncidentEvidence, bool]]:
    """Twin-like incidents: single threshold crossings (busy hour, fade within margin) are
    conditions; an RU fault with its cells down is a fault."""
    out = []
    for i, c in enumerate(cells):
        at = T0 + pd.Timedelta(minutes=i)
        kind = BUSY if i % 2 else FADE
        out.append((_evidence([_alarm(f"c{i}", c, at, kind)]), True))
        nxt = cells[(i + 1) % len(cells)]
        rows = [_alarm(f"f{i}", c, at, RU), _alarm(f"d{i}", nxt, at, CELL_DOWN)]
        out.append((_evidence(rows), False))
        out.append((_evidence([_alarm(f"g{i}", c, at, RU)]), False))
    return out


@pytest.fixture(scope="module")
def topo() -> Topology:
    return generate_topology(12, seed=0)


@pytest.fixture(scope="module")
def model(topo: Topology) -> ConditionModel:
    cells = topo.ids(ElementKind.CELL)
    return ConditionModel(_flat).fit(_training(cells[:8]))


def test_unfitted_or_one_class_models_are_errors() -> None:
    with pytest.raises(ModelError):
        ConditionModel(_flat).verdict(_evidence([_alarm("a", "x", T0, BUSY)]))
    with pytest.raises(ModelError):
        ConditionModel(_flat).fit([(_evidence([_alarm("a", "x", T0, BUSY)]), True)] * 3)


@pytest.mark.parametrize("kind", [BUSY, FADE], ids=["busy_hour", "fade_within_margin"])
def test_a_threshold_crossing_is_a_condition_with_probability_and_evidence(
    model: ConditionModel, topo: Topology, kind: tuple[str, ...]
) -> None:
    cell = topo.ids(ElementKind.CELL)[10]  # not one the model was fitted on
    v = model.verdict(_evidence([_alarm("n1", cell, T0, kind)]))
    assert v.condition and v.probability >= v.threshold >= 0.5
    feats = {e["feature"] for e in v.evidence}
    assert f"alarm={kind[2]}" in feats or f"alarm={kind[2]}|{kind[3]}" in feats
    assert all(e["weight"] > 0 for e in v.evidence)


def test_a_fault_on_the_same_element_is_still_a_fault(
    model: ConditionModel, topo: Topology
) -> None:
    cells = topo.ids(ElementKind.CELL)
    v = model.verdict(_evidence([_alarm("r", cells[10], T0, RU)]))
    assert not v.condition and v.probability < v.threshold


# --- through the pipeline ------------------------------------------------------------------
@dataclass
class _Diagnoser:
    """The pipeline's diagnoser: ranks the first alarmed element (the ranking is not under
    test) and judges conditions with a fitted :class:`ConditionModel`."""

    conditions: ConditionModel

    def rank(self, ev: IncidentEvidence, top: int = 5) -> list[RootCauseCandidate]:
        el = str(ev.alarms["managed_object"].iloc[0])
        return [RootCauseCandidate(el, "FM-RAN-RU", 0.8, {})]

    def condition(self, ev: IncidentEvidence) -> ConditionVerdict:
        return self.conditions.verdict(ev)


@pytest.fixture
def store() -> Iterator[Store]:
    s = open_store("embedded", path=None, tenant="acme")
    s.migrate()
    for fmt in ("pagerduty", "alertmanager", "generic"):
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


def _run(store: Store, topo: Topology, model: ConditionModel, rows: list[dict]):
    pipe = Pipeline(store, topo, load_catalogue(), _Diagnoser(model), PipelineConfig())  # type: ignore[arg-type]
    return pipe.run_frames(_frame(rows), NO_KPIS)


def test_a_busy_hour_incident_is_kept_as_a_condition_and_not_paged(
    store: Store, topo: Topology, model: ConditionModel
) -> None:
    cell = topo.ids(ElementKind.CELL)[9]
    (doc,) = _run(store, topo, model, [_alarm("b1", cell, T0, BUSY)])
    assert doc.state is IncidentState.CONDITION and doc.severity == "WARNING"
    assert doc.remediations == [] and doc.condition is not None
    assert doc.condition["probability"] >= doc.condition["threshold"]
    assert doc.condition["evidence"]
    stored = store.get_document("incident", doc.incident_id)
    assert stored is not None and stored["state"] == "condition"
    assert store.outbox_claim(100) == []
    # it clears: resolved, and still no page
    later = T0 + pd.Timedelta(minutes=40)
    (done,) = _run(
        store,
        topo,
        model,
        [_alarm("b1", cell, T0, BUSY), _alarm("b1", cell, later, BUSY, "cleared")],
    )
    assert done.state is IncidentState.RESOLVED
    assert "condition" in {h["state"] for h in done.history}
    assert store.outbox_claim(100) == []
    assert alerts_for(store, done) == []


def test_a_fault_on_the_same_element_is_diagnosed_and_pages(
    store: Store, topo: Topology, model: ConditionModel
) -> None:
    cell = topo.ids(ElementKind.CELL)[9]
    later = T0 + pd.Timedelta(minutes=40)
    (doc,) = _run(
        store,
        topo,
        model,
        [_alarm("r1", cell, T0, RU), _alarm("r1", cell, later, RU, "cleared")],
    )
    assert doc.condition is None and doc.severity != "WARNING"
    assert "condition" not in {h["state"] for h in doc.history}
    assert doc.state is IncidentState.RESOLVED
    assert len(store.outbox_claim(100)) == 3  # the resolution, one per subscription


def test_kpi_features_wait_for_the_kpis_of_the_alarms_time(topo: Topology) -> None:
    """A live incident judged on its first alarms, before the reporting period they fall
    in has closed, has no KPI evidence yet: "no KPI degraded" is not read into it."""
    from dataclasses import replace

    from twinrca.causal.conditions import incident_features

    cell = topo.ids(ElementKind.CELL)[0]
    ev = _evidence([_alarm("x", cell, T0 + pd.Timedelta(minutes=2), RU)])
    kpi_keys = ("own_degraded", "anomalies")
    done = incident_features(replace(ev, kpis_until=T0 + pd.Timedelta(minutes=15)), (0.0, 0.5))
    assert {k for k in done if k.startswith(kpi_keys)} == {"own_degraded<=0", "anomalies<=0"}
    for until in (T0, T0 + pd.Timedelta(minutes=2)):  # the period holding the alarm is open
        early = replace(ev, kpis_until=until)
        assert early.kpis_pending
        f = incident_features(early, (0.0, 0.5))
        assert not any(k.startswith(kpi_keys) for k in f)
        assert f["alarm=RU fault"] == 1.0  # the alarm features stay
    assert not ev.kpis_pending  # not known: a batch run holds every period
    assert incident_features(ev, (0.0, 0.5)).keys() == done.keys()


def _kpi_rows(cell: str, hours: float) -> pd.DataFrame:
    """Flat 15-minute PRB rows of ``cell`` for ``hours`` up to T0 + 1 h."""
    ends = pd.date_range(end=T0 + pd.Timedelta(hours=1), periods=int(hours * 4), freq="15min")
    return pd.DataFrame(
        {
            "managed_object": cell,
            "measurement": "prb_dl",
            "value": 40.0 + (ends.hour.to_numpy() % 3),
            "period_end": ends,
            "granularity_s": 900,
            "suspect": False,
        }
    )


def test_kpi_features_wait_for_a_baseline(topo: Topology) -> None:
    """A service warming up scores KPIs against a fit of the short window itself, the
    fault inside it: its anomalies are kept for the diagnoser, but the condition verdict
    does not read "no KPI degraded" from them; with two days of history it does."""
    from twinrca.causal.conditions import incident_features
    from twinrca.detect.detector import detect_window

    cell = topo.ids(ElementKind.CELL)[0]
    alarms = _frame([_alarm("x", cell, T0 + pd.Timedelta(minutes=2), RU)])
    kpi_keys = ("own_degraded", "anomalies")
    for hours, known in ((6.0, False), (50.0, True)):
        det = detect_window(alarms, _kpi_rows(cell, hours), topo)
        (inc,) = [d for d in det.incidents if d.trigger == "alarms"]
        assert inc.evidence.kpi_baseline is known and det.silent is known
        assert inc.evidence.kpis_pending is not known
        f = incident_features(inc.evidence, (0.0, 0.5))
        assert any(k.startswith(kpi_keys) for k in f) is known
        assert f["alarm=RU fault"] == 1.0
