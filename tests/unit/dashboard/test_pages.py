"""Every page through Streamlit's AppTest against the seeded store."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from twinrca.dashboards import actions
from twinrca.fmea.catalogue import load_catalogue
from twinrca.store import open_store

PAGES = ("overview", "incident", "predictions", "fmea", "twin_lab", "silences")
TITLES = {
    "overview": "Network overview",
    "incident": "Incident",
    "predictions": "Predicted faults",
    "fmea": "FMEA",
    "twin_lab": "Twin lab",
    "silences": "Silences",
}


def run_page(name: str, *, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_string(
        f"from twinrca.dashboards.app import main\nmain(default={name!r})", default_timeout=30
    )
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def charts(at: AppTest) -> list:
    return at.get("vega_lite_chart")


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_without_exception(name, seeded, app_env):
    app_env(seeded.path)
    at = run_page(name)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert [t.value for t in at.title] == [TITLES[name]]
    at.run()  # a rerun (cached reads) must render the same
    assert not at.exception


def test_overview_counts_open_incidents_and_draws_panels(seeded, app_env):
    app_env(seeded.path)
    at = run_page("overview")
    metrics = {m.label: m.value for m in at.metric}
    # the sample has 5 incidents, one resolved
    assert metrics["Open incidents"] == "4"
    assert metrics["Critical"] == "1"
    # map, severity, horizon, and three ingest series
    assert len(charts(at)) == 6
    links = [p.proto.label for p in at.get("page_link")]
    assert "inc-0001" in links and "inc-0004" not in links


def test_incident_page_shows_ranked_causes_of_the_requested_incident(seeded, app_env):
    app_env(seeded.path)
    at = run_page("incident", query={"id": "inc-0001"})
    assert at.selectbox[0].value == "inc-0001"
    causes = at.dataframe[0].value
    assert causes["failure_mode"].iloc[0] == "FM-PWR-MAINS"
    assert causes["probability"].is_monotonic_decreasing
    assert at.expander[0].label.startswith("#1 ")
    assert at.get("graphviz_chart"), "causal subgraph missing"
    # alarm timeline, 3 KPI bands, 3 replay KPIs, remediation intervals
    assert len(charts(at)) == 8


def test_open_incident_without_diagnosis_says_so(seeded, app_env):
    app_env(seeded.path)
    at = run_page("incident", query={"id": "inc-0005"})
    assert not at.exception
    texts = [i.value for i in at.info]
    assert any("Not diagnosed yet" in t for t in texts)
    assert any("Not verified" in t for t in texts)


def test_acknowledge_button_moves_the_incident_through_the_lifecycle(writable, app_env):
    app_env(writable.path)
    at = run_page("incident", query={"id": "inc-0002"})
    at.button(key="ack").click().run()
    assert not at.exception
    with open_store("embedded", path=writable.path, tenant="acme") as store:
        doc = store.get_document("incident", "inc-0002")
    assert doc["state"] == "acknowledged"
    assert doc["history"][-1]["by"] == "dashboard:acme"
    assert "State **:blue-badge[acknowledged]**" in at.markdown[0].value


def test_feedback_form_records_the_real_cause(writable, app_env):
    app_env(writable.path)
    at = run_page("incident", query={"id": "inc-0003"})
    at.selectbox(key="fb_mode").set_value("FM-RAN-VSWR")
    at.text_input(key="fb_comment").input("VSWR alarm was the real one")
    at.button[-1].click().run()  # the form's submit button
    assert not at.exception
    with open_store("embedded", path=writable.path, tenant="acme") as store:
        doc = store.get_document("incident", "inc-0003")
        fb = store.get_document("feedback", "inc-0003")
    assert doc["feedback"]["true_failure_mode"] == "FM-RAN-VSWR"
    assert fb["comment"] == "VSWR alarm was the real one"


def test_predictions_filter_by_probability(seeded, app_env):
    app_env(seeded.path)
    at = run_page("predictions")
    shown = at.dataframe[0].value
    assert (shown["probability"] >= 0.2).all()
    at.slider(key="pred_floor").set_value(0.6).run()
    fewer = at.dataframe[0].value if at.dataframe else None
    assert fewer is None or (len(fewer) < len(shown) and (fewer["probability"] >= 0.6).all())


def test_fmea_page_shows_current_ratings_and_history(seeded, app_env):
    app_env(seeded.path)
    at = run_page("fmea")
    editor, history = at.dataframe[0].value, at.dataframe[1].value
    assert at.dataframe[0].key == "fmea_editor"
    assert len(editor) == len(load_catalogue())  # every catalogue mode (19 with followers)
    assert (editor["rpn"] == editor["severity"] * editor["occurrence"] * editor["detection"]).all()
    mains = editor.set_index("mode_id").loc["FM-PWR-MAINS"]
    assert mains["occurrence"] == 6  # the catalogue says 5; the stored history says 6
    assert set(history["mode_id"]) == {"FM-PWR-MAINS", "FM-CFG-HO"}
    assert len(at.get("vega_lite_chart")) == 1  # the criticality matrix


def test_saved_ratings_appear_in_the_table_and_history(writable, app_env):
    app_env(writable.path)
    at = run_page("fmea")
    assert not at.exception
    with open_store("embedded", path=writable.path, tenant="acme") as store:
        changes = actions.save_ratings(
            store, {"FM-TX-FIBRE-CUT": {"detection": 3}}, who="t", reason="LOS often missed"
        )
    assert [(c.mode_id, c.field, c.old, c.new) for c in changes] == [
        ("FM-TX-FIBRE-CUT", "detection", 1, 3)
    ]
    at = run_page("fmea")  # may show the cached table from before the change
    at.text_input(key="fmea_reason").input("no change")
    at.button[0].click().run()  # saving without edits must not revert the change above
    assert not at.exception
    with open_store("embedded", path=writable.path, tenant="acme") as store:
        from twinrca.fmea import RatingHistory

        assert len(RatingHistory.load(store)) == 3


def test_api_key_is_required_and_checked(seeded, app_env):
    app_env(seeded.path, auth="key")
    at = run_page("overview")
    assert not at.title, "content shown before sign-in"
    at.text_input(key="api_key_input").input("trca_wrong")
    at.sidebar.button[0].click().run()
    assert [e.value for e in at.error] == ["Unknown or revoked API key."]
    at.text_input(key="api_key_input").input(seeded.summary.api_key)
    at.sidebar.button[0].click().run()
    assert [t.value for t in at.title] == ["Network overview"]
    assert at.session_state["tenant"] == "acme"


def test_silences_page_creates_lists_and_expires_a_silence(writable, app_env):
    app_env(writable.path)
    at = run_page("silences")
    assert any("No active silence" in i.value for i in at.info)
    at.text_input(key="sil_elements").input("nowhere:1")
    at.button[0].click().run()  # the form's submit button
    assert any("unknown element" in e.value for e in at.error)
    at.text_input(key="sil_elements").input("")
    at.text_input(key="sil_regions").input("")
    at.text_input(key="sil_modes").input("FM-PWR-MAINS")
    at.text_input(key="sil_comment").input("generator test")
    at.button[0].click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["failure_modes"]) == ["FM-PWR-MAINS"]
    assert list(table["comment"]) == ["generator test"]
    at.button(key="sil_expire").click().run()
    assert not at.exception
    assert any("No active silence" in i.value for i in at.info)


def test_twin_page_shows_calibration_and_drift_per_cell(writable, app_env):
    from twinrca.core.topology import ElementKind
    from twinrca.twin_replay.calibration import calibrate_kpis
    from twinrca.twin_replay.demand import generate_demand
    from twinrca.twin_replay.generate import kpi_rows
    from twinrca.twin_replay.network import generate_topology
    from twinrca.twin_replay.simulate import simulate

    topo = generate_topology(10, seed=1)
    dem = generate_demand(topo, days=3, seed=1, surges=0)
    res = simulate(topo, dem, [], seed=1, threshold_alarms=False)
    doc = calibrate_kpis(kpi_rows(res, topo), topo).to_json()
    drifting = topo.ids(ElementKind.CELL)[6]
    store = open_store("embedded", path=writable.path, tenant="acme")
    try:
        store.put_twin_calibration(doc | {"reason": "first fit", "data_end": "2024-06-04"})
        finding = {"element": drifting, "kpi": "prb_utilisation", "onset": "2024-06-05T06:15:00",
                   "state": "open", "lasting": True, "z_mean": 5.9}  # fmt: skip
        store.put_document("drift", f"{drifting}|prb_utilisation|x", finding)
    finally:
        store.close()
    app_env(writable.path)
    at = run_page("twin_lab")
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Version"] == "1"
    assert metrics["Held-out MAPE thr"] == f"{doc['heldout']['mape_thr']:.1f} %"
    cells = at.dataframe[0].value
    assert len(cells) == 10
    assert cells["cell"].iloc[0] == drifting and cells["drift"].iloc[0] == "open, lasting"
    assert (cells["drift"].iloc[1:] == "").all()
    scale = doc["drift"]["scale"]["prb_utilisation"]
    row = doc["cells"].index(drifting)
    assert cells["heldout_sd_prb_pct"].iloc[0] == round(100 * scale[row], 1)
