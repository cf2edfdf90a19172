"""The pure data shaping behind the pages, the config, the actions and the jobs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from twinrca.core.errors import ConfigError, ValidationError
from twinrca.core.topology import Element, ElementKind, Topology
from twinrca.dashboards import data
from twinrca.dashboards.config import DashboardConfig
from twinrca.dashboards.launch import config_for
from twinrca.runtime import jobs
from twinrca.store import open_store


def test_lttb_keeps_the_ends_the_budget_and_a_spike():
    x = np.arange(10_000)
    y = np.sin(x / 300.0)
    y[4321] = 25.0
    idx = data.lttb(x, y, 200)
    assert len(idx) == 200
    assert idx[0] == 0 and idx[-1] == 9_999
    assert np.all(np.diff(idx) > 0)
    assert 4321 in idx


def test_downsample_caps_each_group():
    t = pd.date_range("2025-01-01", periods=1000, freq="min", tz="UTC")
    frame = pd.concat(
        [pd.DataFrame({"time": t, "kpi": k, "value": np.arange(1000.0)}) for k in "ab"]
    )
    out = data.downsample(frame, "time", "value", 50, by=("kpi",))
    assert out.groupby("kpi").size().tolist() == [50, 50]


def _incident(**kw):
    base = {
        "incident_id": "i1",
        "state": "verified",
        "severity": "MAJOR",
        "opened_at": "2025-01-01T10:00:00+00:00",
        "root_element": "site:1",
        "elements": ["site:1", "cell:1"],
        "candidates": [
            {"element": "tx:1", "failure_mode": "FM-TX-FIBRE-CUT", "probability": 0.2},
            {"element": "site:1", "failure_mode": "FM-PWR-MAINS", "probability": 0.7,
             "fmea": {"severity": 6, "occurrence": 5, "detection": 2}},
            {"element": "site:1", "failure_mode": "FM-RAN-BOARD", "probability": 0.1},
        ],
    }  # fmt: skip
    return {**base, **kw}


def _topo():
    els = [
        Element("core", ElementKind.CORE),
        Element("tx:1", ElementKind.TRANSPORT),
        Element("site:1", ElementKind.SITE, 1.0, 2.0),
        Element("cell:1", ElementKind.CELL, 1.1, 2.0),
        Element("cell:2", ElementKind.CELL, 1.2, 2.0),
    ]
    return Topology(
        els, [("core", "tx:1"), ("tx:1", "site:1"), ("site:1", "cell:1"), ("site:1", "cell:2")]
    )


def test_candidates_are_ranked_with_rpn():
    frame = data.candidates_frame(_incident())
    assert frame["failure_mode"].tolist() == ["FM-PWR-MAINS", "FM-TX-FIBRE-CUT", "FM-RAN-BOARD"]
    assert frame["rank"].tolist() == [1, 2, 3]
    assert frame["rpn"].iloc[0] == 60


def test_causal_dot_has_topology_edges_and_every_candidate_mode():
    dot = data.causal_dot(_incident(), _topo())
    assert '"tx:1" -> "site:1";' in dot and '"site:1" -> "cell:1";' in dot
    site_line = next(line for line in dot.splitlines() if line.strip().startswith('"site:1" ['))
    assert "FM-PWR-MAINS p=0.70" in site_line and "FM-RAN-BOARD p=0.10" in site_line
    assert "#f4a09c" in site_line  # the root


def test_element_states_worst_first():
    inc = data.incidents_frame([_incident()])
    preds = pd.DataFrame({"element": ["cell:2", "cell:1"], "probability": [0.8, 0.9]})
    states = data.element_frame(_topo(), inc, preds).set_index("element_id")["state"]
    assert states.to_dict() == {
        "site:1": "incident root",
        "cell:1": "in incident",
        "cell:2": "at risk",
    }
    resolved = data.incidents_frame([_incident(state="resolved")])
    assert set(data.element_frame(_topo(), resolved, preds.iloc[:0])["state"]) == {"ok"}


def test_predictions_read_from_mda_fields_only():
    doc = {
        "mDAType": "FaultPrediction",
        "mDAOutputList": [
            {"mDAOutputIEName": "predictedFaultObject", "mDAOutputIEValue": "cell:9"},
            {"mDAOutputIEName": "predictedFailureMode", "mDAOutputIEValue": "FM-RAN-RU"},
            {"mDAOutputIEName": "predictionHorizonMinutes", "mDAOutputIEValue": 60},
            {"mDAOutputIEName": "explanation",
             "mDAOutputIEValue": [{"feature": "f", "text": "VSWR rising", "contribution": 0.3}]},
        ],
        "analyticsWindow": {"mDAOutputStartTime": "2025-01-01T10:00:00Z",
                            "mDAOutputEndTime": "2025-01-01T11:00:00Z"},
        "confidenceDegree": 0.8,
    }  # fmt: skip
    row = data.predictions_frame([doc]).iloc[0]
    assert (row["element"], row["failure_mode"], row["horizon_min"]) == (
        "cell:9",
        "FM-RAN-RU",
        60.0,
    )
    assert row["probability"] == 0.8 and row["explanation"] == "VSWR rising (+0.30)"
    by_h = data.risk_by_horizon(data.predictions_frame([doc]))
    assert by_h.set_index("horizon").loc["30 min–2 h", "risks"] == 1


def test_kpi_band_flags_the_stored_anomalies():
    t = pd.date_range("2025-01-01", periods=40, freq="15min", tz="UTC")
    values = np.r_[np.full(30, 10.0) + np.sin(np.arange(30)) * 0.1, np.full(10, 2.0)]
    kpis = pd.DataFrame(
        {"period_end": t, "managed_object": "c", "measurement": "tput", "value": values}
    )
    anomalies = [{"managed_object": "c", "measurement": "tput", "period_end": t[32].isoformat()}]
    band = data.kpi_band(kpis, anomalies, t[30])
    assert band["anomalous"].sum() == 1 and bool(band["anomalous"].iloc[32])
    assert (band["lo"].iloc[:30] <= band["value"].iloc[:30]).all()
    assert (band["value"].iloc[30:] < band["lo"].iloc[30:]).all()


def test_config_rejects_bad_values_and_round_trips():
    with pytest.raises(ConfigError):
        DashboardConfig.from_env({"TWINRCA_DASHBOARD_AUTH": "magic"})
    with pytest.raises(ConfigError):
        DashboardConfig.from_env({"TWINRCA_DASHBOARD_REFRESH_S": "soon"})
    cfg = config_for("postgresql://u@h/db", auth="none", tenant="t1")
    assert cfg.backend == "timescaledb"
    assert DashboardConfig.from_env(cfg.to_env()) == cfg


def test_scenario_job_progress_is_merged_into_its_document(tmp_path):
    with open_store("embedded", path=None, tenant="acme") as store:
        store.migrate()
        with pytest.raises(ValidationError):
            jobs.submit(store, tmp_path, {"cells": 5, "days": 1, "faults": 1, "seed": 0})
        doc = jobs.submit(
            store, tmp_path, {"cells": 20, "days": 0.5, "faults": 2, "seed": 1}, start=False
        )
        assert jobs.sync(store, doc)["state"] == "queued"
        out = tmp_path / doc["job_id"]
        out.mkdir()
        (out / jobs.PROGRESS_FILE).write_text(
            json.dumps({"state": "running", "stage": "packing", "progress": 0.9})
        )
        merged = jobs.sync(store, doc)
        assert (merged["state"], merged["progress"]) == ("running", 0.9)
        stored = store.get_document(jobs.KIND, doc["job_id"])
        assert stored["stage"] == "packing"
        assert len(store.document_history(jobs.KIND, doc["job_id"])) == 2
        jobs.sync(store, stored)  # nothing new: no new version
        assert len(store.document_history(jobs.KIND, doc["job_id"])) == 2


def test_sample_seed_is_deterministic_apart_from_ids_and_keys():
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    docs = []
    for _ in range(2):
        with open_store("embedded", path=None, tenant="t") as store:
            store.migrate()
            from twinrca.dashboards.sample import seed_store

            seed_store(store, cells=20, seed=5, now=now, predictions=6)
            docs.append(store.get_document("incident", "inc-0001"))
    assert docs[0] == docs[1]
    assert docs[0]["opened_at"].startswith(str((now - timedelta(hours=1.5)).date()))


def test_scenario_job_runs_in_the_background_and_yields_a_zip(tmp_path):
    import time
    import zipfile

    with open_store("embedded", path=None, tenant="acme") as store:
        store.migrate()
        req = {"cells": 10, "days": 0.5, "faults": 2, "seed": 1}
        doc = jobs.submit(store, tmp_path, req)
        deadline = time.monotonic() + 60
        while doc["state"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.2)
            doc = jobs.sync(store, doc)
        assert doc["state"] == "done", (tmp_path / doc["job_id"] / "runner.log").read_text()
        assert store.get_document(jobs.KIND, doc["job_id"])["state"] == "done"
        with zipfile.ZipFile(doc["zip"]) as zf:
            names = zf.namelist()
    assert "topology.json" in names
    assert any(n.startswith("streams/") for n in names)
