"""Generator: labels match what the streams show; deterministic per seed."""

from __future__ import annotations

import json

import pandas as pd

from twinrca.core.topology import Topology
from twinrca.twin_replay import generate_scenario, load_inventory, save_inventory_csv


def _alarms(path):
    return [
        json.loads(line) for line in (path / "streams" / "alarms.jsonl").read_text().splitlines()
    ]


def test_planted_faults_show_on_their_roots(tmp_path) -> None:
    s = generate_scenario(tmp_path / "a", cells=60, days=1, faults=8, seed=7)
    assert s.faults == 8 and s.alarm_messages > 0
    labels = pd.read_csv(tmp_path / "a" / "labels.csv")
    alarms = _alarms(tmp_path / "a")
    raised = [a for a in alarms if a["notificationType"] == "notifyNewAlarm"]
    for lab in labels.itertuples():
        start, end = pd.Timestamp(lab.start), pd.Timestamp(lab.end)
        own = [
            a
            for a in raised
            if a["objectInstance"] == lab.root_element
            and start <= pd.Timestamp(a["eventTime"]) <= end
        ]
        assert own, f"no alarm on {lab.root_element} for {lab.mode_id}"
        assert lab.root_element in json.loads(lab.affected_elements)
        assert isinstance(lab.correct_remediation, str)
    kpis = pd.read_parquet(tmp_path / "a" / "tables" / "kpis.parquet")
    assert {"availability", "prb_utilisation", "link_utilisation", "cpu_load"} <= set(kpis.columns)
    topo = Topology.from_json(tmp_path / "a" / "topology.json")
    assert len(topo) == s.elements


def test_same_seed_same_bytes(tmp_path) -> None:
    generate_scenario(tmp_path / "a", cells=30, days=0.25, faults=3, seed=2)
    generate_scenario(tmp_path / "b", cells=30, days=0.25, faults=3, seed=2)
    for name in ("kpi.jsonl", "alarms.jsonl", "logs.jsonl"):
        assert (tmp_path / "a" / "streams" / name).read_bytes() == (
            tmp_path / "b" / "streams" / name
        ).read_bytes()


def test_inventory_csv_round_trip(tmp_path) -> None:
    from twinrca.twin_replay import generate_topology

    topo = generate_topology(40, seed=1)
    save_inventory_csv(topo, tmp_path / "inv.csv")
    back = load_inventory(tmp_path / "inv.csv")
    assert back.ids() == topo.ids()
    assert sorted(back.feeds) == sorted(topo.feeds)
    assert back.neighbour_pairs == topo.neighbour_pairs
    assert back.element(topo.ids()[-1]).attrs == dict(topo.element(topo.ids()[-1]).attrs)
