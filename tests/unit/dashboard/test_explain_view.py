"""The incident page's KPI symptom picker: the upstream ranking and path shown."""

from __future__ import annotations

from tests.unit.dashboard.test_pages import run_page

from twinrca.dashboards.explain_view import kpi_choices


def test_kpi_choices_most_anomalous_first() -> None:
    doc = {
        "anomalies": [
            {"measurement": "drop_rate", "z": 3.0},
            {"measurement": "availability", "z": -8.0},
            {"measurement": "drop_rate", "z": 5.0},
            {"measurement": ""},
        ]
    }
    assert kpi_choices(doc) == ["availability", "drop_rate"]
    assert kpi_choices({}) == []


def test_incident_page_has_the_kpi_picker_and_the_ranking(seeded, app_env) -> None:
    app_env(seeded.path)
    at = run_page("incident", query={"id": "inc-0001"})
    assert not at.exception, [e.value for e in at.exception]
    pickers = [s for s in at.selectbox if s.label == "KPI symptom"]
    assert len(pickers) == 1
    assert pickers[0].value in pickers[0].options
    assert any(s.value == "Explain from a KPI symptom" for s in at.subheader)
    captions = " ".join(c.value for c in at.caption)
    assert "Upstream of" in captions, captions
