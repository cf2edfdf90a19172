"""Maintenance windows and silences (issue 17 item 2): what a silence covers, and an
incident it covers kept as ``silenced`` (stored, not paged, no recommendation) through
the pipeline; outside a silence, or after it ends, the fault pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pytest
from tests.unit.diagnosis._alarm_rows import alarm_row

from twinrca.core.records import IncidentState, RootCauseCandidate
from twinrca.core.topology import ElementKind, Topology
from twinrca.detect.detector import IncidentEvidence
from twinrca.detect.silences import Silence, active_silences, covering
from twinrca.fmea.catalogue import load_catalogue
from twinrca.runtime.flow import Pipeline, PipelineConfig
from twinrca.store import Store, open_store
from twinrca.store.base import ALARM_COLUMNS
from twinrca.twin_replay.network import generate_topology

T0 = pd.Timestamp("2024-05-01 02:00", tz="UTC")
RU = ("EQUIPMENT_ALARM", "equipmentMalfunction", "RU fault", "MAJOR")
NO_KPIS = pd.DataFrame(columns=["managed_object", "measurement", "period_end", "value"])
H = pd.Timedelta(hours=1)


@pytest.fixture(scope="module")
def topo() -> Topology:
    return generate_topology(12, seed=0)


def _silence(sid: str = "s1", start=T0 - H, end=T0 + 2 * H, **match) -> Silence:
    return Silence(silence_id=sid, starts_at=start, ends_at=end, **match)


# --- what a silence covers ---------------------------------------------------------------
def test_a_silence_needs_a_matcher_and_an_end_after_its_start() -> None:
    with pytest.raises(ValueError, match="at least one"):
        _silence()
    with pytest.raises(ValueError, match="after starts_at"):
        _silence(elements=["site:1"], end=T0 - 2 * H)
    bad = {"silence_id": "x", "starts_at": T0, "ends_at": T0}
    good = _silence(elements=["site:1"]).model_dump(mode="json")
    assert [s.silence_id for s in active_silences([bad, good])] == ["s1"]


def test_an_element_covers_what_it_feeds_and_every_matcher_must_hold(topo: Topology) -> None:
    site = "site:1"
    cell = next(c for c in topo.ids(ElementKind.CELL) if site in topo.ancestors(c))
    other = next(c for c in topo.ids(ElementKind.CELL) if site not in topo.ancestors(c))
    region = topo.element(cell).region
    kw = {"region": region, "failure_mode": "FM-RAN-RU", "topology": topo}
    s = _silence(elements=[site])
    assert s.covers([cell], **kw) and s.covers([site], **kw)
    assert not s.covers([other], **kw)
    assert not s.covers([cell, other], **kw)  # undiagnosed: every element it holds
    both = _silence(elements=[site], failure_modes=["FM-PWR-MAINS"])
    assert not both.covers([cell], **kw)  # AND across matchers
    assert _silence(regions=[region]).covers([other], **kw)
    assert not _silence(regions=["elsewhere"]).covers([cell], **kw)


def test_a_silence_covers_incidents_started_inside_it_until_it_ends(topo: Topology) -> None:
    s = [_silence(elements=["site:1"])]
    kw = {"elements": ["site:1"], "region": None, "failure_mode": None, "topology": topo}
    assert covering(s, at=T0, **kw) is s[0]
    assert covering(s, at=T0 - 2 * H, **kw) is None  # started before the window
    assert covering(s, at=T0 + 3 * H, **kw) is None  # after it
    assert covering(s, at=T0, still=T0 + H, **kw) is s[0]
    assert covering(s, at=T0, still=T0 + 2 * H, **kw) is None  # ended: no longer silenced


# --- through the pipeline ------------------------------------------------------------------
def _alarm(aid: str, el: str, at: pd.Timestamp, state: str = "raised") -> dict:
    return alarm_row(aid, el, at, RU, state)


@dataclass
class _Diagnoser:
    """Ranks the first alarmed element (the ranking is not under test); no conditions."""

    def rank(self, ev: IncidentEvidence, top: int = 5) -> list[RootCauseCandidate]:
        el = str(ev.alarms["managed_object"].iloc[0])
        return [RootCauseCandidate(el, "FM-RAN-RU", 0.8, {})]

    def condition(self, ev: IncidentEvidence) -> None:
        return None


@pytest.fixture
def store() -> Iterator[Store]:
    s = open_store("embedded", path=None, tenant="acme")
    s.migrate()
    s.put_document(
        "subscription",
        "noc",
        {
            "subscription_id": "noc",
            "url": "http://noc.example/pd",
            "format": "pagerduty",
            "events": ["incident"],
            "secret": "k",
            "active": True,
        },
    )
    yield s
    s.close()


def _run(store: Store, topo: Topology, rows: list[dict]):
    pipe = Pipeline(store, topo, load_catalogue(), _Diagnoser(), PipelineConfig())  # type: ignore[arg-type]
    return pipe.run_frames(pd.DataFrame(rows, columns=list(ALARM_COLUMNS)), NO_KPIS)


def _cell(topo: Topology) -> str:
    return next(c for c in topo.ids(ElementKind.CELL) if "site:1" in topo.ancestors(c))


def test_an_incident_inside_a_maintenance_window_is_kept_silenced_and_not_paged(
    store: Store, topo: Topology
) -> None:
    cell = _cell(topo)
    window = _silence("mw-1", elements=["site:1"], comment="site visit", created_by="ops")
    store.put_document("silence", "mw-1", window.model_dump(mode="json"))
    (doc,) = _run(store, topo, [_alarm("a1", cell, T0)])
    assert doc.state is IncidentState.SILENCED and doc.remediations == []
    assert doc.silence is not None and doc.silence["silence_id"] == "mw-1"
    assert doc.silence["comment"] == "site visit"
    stored = store.get_document("incident", doc.incident_id)
    assert stored is not None and stored["state"] == "silenced"
    assert doc.alarms and doc.alarms[0].managed_object == cell  # kept and shown
    assert store.outbox_claim(100) == []
    # it clears inside the window: resolved, still no page
    (done,) = _run(store, topo, [_alarm("a1", cell, T0), _alarm("a1", cell, T0 + H / 2, "cleared")])
    assert done.state is IncidentState.RESOLVED
    assert "silenced" in {h["state"] for h in done.history}
    assert store.outbox_claim(100) == []


def test_a_fault_outside_every_silence_pages(store: Store, topo: Topology) -> None:
    elsewhere = _silence("mw-2", elements=["site:0"])
    store.put_document("silence", "mw-2", elsewhere.model_dump(mode="json"))
    cell = _cell(topo)
    # (no KPIs: the twin cannot verify, so the page this test sees is the resolution's)
    rows = [_alarm("a2", cell, T0), _alarm("a2", cell, T0 + H / 2, "cleared")]
    (doc,) = _run(store, topo, rows)
    assert doc.silence is None and "silenced" not in {h["state"] for h in doc.history}
    assert doc.state is IncidentState.RESOLVED
    assert len(store.outbox_claim(100)) == 1


def test_a_fault_left_when_the_window_ends_pages(store: Store, topo: Topology) -> None:
    cell = _cell(topo)
    window = _silence("mw-3", elements=["site:1"], end=T0 + H)
    store.put_document("silence", "mw-3", window.model_dump(mode="json"))
    (doc,) = _run(store, topo, [_alarm("a3", cell, T0)])
    assert doc.state is IncidentState.SILENCED
    assert store.outbox_claim(100) == []
    # the alarm still stands after the window ends (newer data past its end): it is
    # diagnosed as usual, and its resolution pages
    away = next(c for c in topo.ids(ElementKind.CELL) if "site:1" not in topo.ancestors(c))
    other = _alarm("b1", away, T0 + 2 * H)
    docs = {d.incident_id: d for d in _run(store, topo, [_alarm("a3", cell, T0), other])}
    assert docs[doc.incident_id].state is IncidentState.DIAGNOSED
    assert store.outbox_claim(100) == []
    rows = [_alarm("a3", cell, T0), _alarm("a3", cell, T0 + 3 * H, "cleared"), other]
    docs = {d.incident_id: d for d in _run(store, topo, rows)}
    assert docs[doc.incident_id].state is IncidentState.RESOLVED
    assert len(store.outbox_claim(100)) == 1  # its resolution (the other alarm still stands)
