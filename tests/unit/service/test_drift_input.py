"""Twin-drift findings as diagnosis evidence (runtime.twin_drift.drift_input, called by
Pipeline._one): a finding overlapping a silent incident reaches the diagnoser as a KPI
anomaly, and the stored incident keeps it (value and expected null in the JSON). The same
check runs on TimescaleDB in tests/integration/test_twin_calibration.py."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

T0 = pd.Timestamp("2024-06-05 16:00", tz="UTC")


def _finding(cell: str, onset: pd.Timestamp, last: pd.Timestamp, state: str) -> dict:
    return {
        "element": cell,
        "kpi": "dl_throughput_mbps",
        "onset": onset.isoformat(),
        "detected": (onset + pd.Timedelta(hours=1)).isoformat(),
        "last_out": last.isoformat(),
        "direction": -1,
        "z_mean": -6.5,
        "periods_out": 8,
        "state": state,
        "lasting": False,
    }


def _silent_incident(cells: tuple[str, ...], anomalies: pd.DataFrame):
    from twinrca.detect.detector import DetectedIncident, IncidentEvidence
    from twinrca.detect.grouping import AlarmGroup

    group = AlarmGroup(0, T0.to_pydatetime(), (T0 + pd.Timedelta(hours=1)).to_pydatetime(), (),
                       cells, None, trigger="kpi", anchor=cells[0],
                       anchor_start=T0.to_pydatetime())  # fmt: skip
    alarms = pd.DataFrame(columns=["alarm_id", "managed_object", "event_time"])
    return DetectedIncident(group, alarms, IncidentEvidence(alarms, anomalies, cells))


class _Recorder:
    """A diagnoser that records the evidence it is given (and ranks nothing)."""

    def __init__(self) -> None:
        self.seen: list = []

    def rank(self, evidence, top: int = 5):
        self.seen.append(evidence)
        return []


def run_drift_input_check(store) -> None:
    from twinrca.core.topology import ElementKind
    from twinrca.fmea.catalogue import load_catalogue
    from twinrca.runtime.flow import Pipeline
    from twinrca.runtime.twin_drift import DRIFT_KIND, drift_input
    from twinrca.twin_replay.network import generate_topology

    topo = generate_topology(12, seed=3)
    a, b, c = topo.ids(ElementKind.CELL)[:3]
    hour = pd.Timedelta(hours=1)
    own = pd.DataFrame(
        {"managed_object": [b], "measurement": ["dl_throughput_mbps"], "period_end": [T0],
         "value": [3.0], "expected": [9.0], "z": [-7.0], "direction": [-1]}
    )  # fmt: skip
    inc = _silent_incident((a, b, c), own)
    assert drift_input(store, inc) is inc  # no findings: the incident as it was

    found = {
        a: _finding(a, T0 - 3 * hour, T0 + 2 * hour, "open"),  # overlaps: evidence
        b: _finding(b, T0 - hour, T0 + hour, "open"),  # already a KPI anomaly there
        c: _finding(c, T0 - 9 * hour, T0 - 4 * hour, "closed"),  # ended long before
    }
    for cell, doc in found.items():
        store.put_document(DRIFT_KIND, f"{cell}|{doc['kpi']}|{doc['onset']}", doc)
    out = drift_input(store, inc).evidence.anomalies
    assert len(out) == 2
    row = out[out["managed_object"] == a].iloc[0]
    assert (row["measurement"], int(row["direction"]), float(row["z"])) == (
        "dl_throughput_mbps", -1, -6.5,
    )  # fmt: skip
    assert pd.isna(row["value"]) and pd.isna(row["expected"])

    # through the pipeline: the diagnoser sees the finding, the stored incident keeps it
    diag = _Recorder()
    pipe = Pipeline(store, topo, load_catalogue(), diag)  # type: ignore[arg-type]
    empty = pd.DataFrame(columns=["managed_object", "measurement", "value", "period_end"])
    doc = pipe._one(inc, inc.alarms, empty, None, key="kpi-test")
    assert set(diag.seen[0].anomalies["managed_object"]) == {a, b}
    stored = store.get_document("incident", doc.incident_id)
    drift_rows = [r for r in stored["anomalies"] if r["managed_object"] == a]
    assert drift_rows and drift_rows[0]["value"] is None and drift_rows[0]["expected"] is None
    json.dumps(stored, allow_nan=False)


def test_drift_findings_reach_diagnosis_on_the_embedded_store(tmp_path: Path) -> None:
    from twinrca.store.base import open_store

    store = open_store("embedded", path=tmp_path / "store.duckdb", tenant="t1")
    store.migrate()
    try:
        run_drift_input_check(store)
    finally:
        store.close()
