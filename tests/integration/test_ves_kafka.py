"""A VES fault on a real Kafka topic, named by DN, ends as an incident on its element."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from twinrca.core.records import RootCauseCandidate
from twinrca.core.topology import ElementKind, Topology
from twinrca.core.vendor_wire import ves_batch, ves_fault, ves_stnd_defined
from twinrca.fmea.catalogue import load_catalogue
from twinrca.ingest.topics import Topics
from twinrca.ingest.worker import IngestWorker, WorkerConfig
from twinrca.runtime.flow import Pipeline, PipelineConfig
from twinrca.store import open_store
from twinrca.twin_replay.network import generate_topology

pytestmark = pytest.mark.integration
T = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


@dataclass
class _Fixed:
    """A diagnoser stand-in: this test is about the way in, not the ranking."""

    element: str

    def rank(self, ev, top: int = 5) -> list[RootCauseCandidate]:
        return [RootCauseCandidate(self.element, "FM-RAN-RU", 0.8, {})]


def _dn_topology(tmp_path: Path) -> tuple[Topology, str, str]:
    topo = generate_topology(10, seed=1)
    path = tmp_path / "topology.json"
    topo.to_json(path)
    doc = json.loads(path.read_text())
    cell = topo.ids(ElementKind.CELL)[0]
    dn = "SubNetwork=RAN,ManagedElement=gnb1,GNBDUFunction=1,NRCellDU=1"
    doc["dns"] = {dn: cell}
    path.write_text(json.dumps(doc))
    return Topology.from_json(path), cell, dn


def test_ves_fault_on_kafka_ends_as_an_incident(
    kafka_bootstrap: str, unique_name: str, tmp_path: Path
) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    from twinrca.ingest.replay import open_producer

    topo, cell, dn = _dn_topology(tmp_path)
    topics = Topics(unique_name + ".")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topics.name(k), 1, 1) for k in ("ves", "dlq")])
    admin.close()
    store = open_store("embedded", path=tmp_path / "s.duckdb", tenant="t")
    store.migrate()
    store.save_topology(topo)
    bad = ves_stnd_defined({"notificationType": "notifyNewAlarm", "eventTime": "xyz"}, dn, T)
    producer = open_producer(kafka_bootstrap)
    fault = ves_fault(dn, "LinkDown", T, severity="CRITICAL", event_id="v1", category="link")
    producer.send(topics.name("ves"), orjson.dumps(fault))
    producer.send(topics.name("ves"), orjson.dumps(ves_batch([bad])))
    producer.flush()
    worker = IngestWorker(
        WorkerConfig(kafka_bootstrap, unique_name, topics.data_topics(("ves",)), topics.dlq),
        store,
    )
    thread = threading.Thread(target=worker.run, kwargs={"max_idle_s": 5.0}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and store.read_alarms().empty:
        time.sleep(0.5)
    worker.stop()
    thread.join(timeout=30)
    alarms = store.read_alarms()
    assert alarms["managed_object"].tolist() == [cell]  # the DN resolved to the element
    incidents = Pipeline(store, topo, load_catalogue(), _Fixed(cell), PipelineConfig()).run_window()  # type: ignore[arg-type]
    assert len(incidents) == 1
    assert cell in incidents[0].elements and incidents[0].alarms[0].alarm_id == "v1"
    store.close()


def _wait_alarms(store, n: int, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    alarms = store.read_alarms()
    while time.monotonic() < deadline and len(alarms) < n:
        time.sleep(0.3)
        alarms = store.read_alarms()
    return alarms


def test_topology_saved_while_the_worker_runs_resolves_later_events(
    kafka_bootstrap: str, unique_name: str, tmp_path: Path
) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    from twinrca.ingest.replay import open_producer

    topo, cell, dn = _dn_topology(tmp_path)
    topics = Topics(unique_name + ".")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topics.name(k), 1, 1) for k in ("ves", "dlq")])
    admin.close()
    store = open_store("embedded", path=tmp_path / "s.duckdb", tenant="t")
    store.migrate()  # no topology yet
    config = WorkerConfig(
        kafka_bootstrap,
        unique_name,
        topics.data_topics(("ves",)),
        topics.dlq,
        topology_check_s=0.2,
    )
    worker = IngestWorker(config, store)
    thread = threading.Thread(target=worker.run, kwargs={"max_idle_s": 8.0}, daemon=True)
    thread.start()
    producer = open_producer(kafka_bootstrap)
    before = ves_fault(dn, "LinkDown", T, severity="CRITICAL", event_id="v1", category="link")
    producer.send(topics.name("ves"), orjson.dumps(before))
    producer.flush()
    assert _wait_alarms(store, 1)["managed_object"].tolist() == [dn]  # kept under its DN
    store.save_topology(topo)
    time.sleep(1.0)  # a few topology checks
    after = ves_fault(dn, "LinkDown", T, severity="CRITICAL", event_id="v2", category="link")
    producer.send(topics.name("ves"), orjson.dumps(after))
    producer.flush()
    alarms = _wait_alarms(store, 2)
    worker.stop()
    thread.join(timeout=30)
    by_id = dict(zip(alarms["alarm_id"], alarms["managed_object"], strict=True))
    assert by_id == {"v1": dn, "v2": cell}
    store.close()
