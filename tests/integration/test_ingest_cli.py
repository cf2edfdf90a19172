"""``twinrca ems replay`` to a real Kafka, and a twin day through Kafka -> worker ->
TimescaleDB with the labels checked against the stored alarms (the fast variant of
issue 4's Done-when test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pandas as pd
import pytest

from twinrca.core.records import Alarm, AlarmType, KpiSample, LogEvent
from twinrca.core.wire import (
    alarm_message,
    dumps,
    log_message,
    meas_collec_xml,
    pm_batch,
    syslog_line,
)
from twinrca.ingest.topics import Topics

pytestmark = pytest.mark.integration
T0 = datetime(2024, 5, 1, tzinfo=UTC)
KINDS = ("kpi", "alarms", "logs", "pm-xml", "dlq")


def _topics(bootstrap: str, prefix: str, partitions: int) -> Topics:
    from kafka.admin import KafkaAdminClient, NewTopic

    topics = Topics(prefix + ".")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topics.name(k), partitions, 1) for k in KINDS])
    admin.close()
    return topics


def _consume(bootstrap: str, topics: Topics, expected: int, timeout_s: float = 20.0) -> Counter:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        *(topics.name(k) for k in KINDS),
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        consumer_timeout_ms=2000,
    )
    got: Counter = Counter()
    deadline = time.monotonic() + timeout_s
    while sum(got.values()) < expected and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for r in records:
                got[r.topic.removeprefix(topics.prefix)] += 1
    for records in consumer.poll(timeout_ms=1000).values():  # nothing more than expected
        for r in records:
            got[r.topic.removeprefix(topics.prefix)] += 1
    consumer.close()
    return got


def _recording(root: Path, minutes: int) -> dict[str, int]:
    streams = root / "streams"
    streams.mkdir(parents=True)
    kpi = [
        dumps(pm_batch(f"cell:{c}", T0 + timedelta(minutes=m), {"a": float(m), "b": 1.0}))
        for m in range(0, minutes + 1, 5)
        for c in range(4)
    ]
    alarms = [
        dumps(
            alarm_message(
                Alarm(
                    f"a{k}",
                    f"site:{k}",
                    T0 + timedelta(minutes=7 * k),
                    AlarmType.EQUIPMENT_ALARM,
                    "powerProblem",
                    notification_id=k,
                )
            )
        )
        for k in range(4)
    ]
    events = [
        LogEvent(T0 + timedelta(minutes=3 * k), f"site:{k % 2}", "INFO", f"user u{k} in")
        for k in range(6)
    ]
    (streams / "kpi.jsonl").write_bytes(b"\n".join(kpi) + b"\n")
    (streams / "alarms.jsonl").write_bytes(b"\n".join(alarms) + b"\n")
    (streams / "logs.jsonl").write_bytes(b"\n".join(dumps(log_message(e)) for e in events))
    (streams / "host.log").write_text("\n".join(syslog_line(e) for e in events[:3]) + "\n")
    samples = [KpiSample("cell:9", "x", 1.0, T0 + timedelta(minutes=15))]
    (streams / "pm.xml").write_text(meas_collec_xml(samples))
    (root / "labels.csv").write_text("fault_id,start\nF0,2024-05-01\n")  # not replayed
    return {"kpi": len(kpi), "alarms": len(alarms), "logs": len(events) + 3, "pm-xml": 1}


def test_ems_replay_cli_publishes_the_recording_at_speed(
    tmp_path: Path, kafka_bootstrap: str, unique_name: str
) -> None:
    minutes = 30
    expected = _recording(tmp_path, minutes)
    topics = _topics(kafka_bootstrap, unique_name, partitions=1)
    speed = 60 * minutes / 1.5  # 30 minutes of recording in 1.5 s
    started = time.monotonic()
    done = subprocess.run(
        [
            *(
                sys.executable,
                "-m",
                "twinrca",
                "ems",
                "replay",
                str(tmp_path),
                "--speed",
                str(speed),
            ),
            *("--bootstrap", kafka_bootstrap, "--prefix", topics.prefix),
        ],
        env={**os.environ, "TWINRCA_LOG_JSON": "true"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    sent = dict(kv.split("=") for kv in done.stdout.split(" in ")[0].split()[1:])
    assert {k: int(v) for k, v in sent.items()} == expected
    assert "(files skipped: 1)" in done.stdout
    assert elapsed >= 1.5  # paced by event time, not sent at once
    got = _consume(kafka_bootstrap, topics, sum(expected.values()))
    assert dict(got) == expected


def _explains(label: pd.Series, managed_object: str, mode: str | None, when: pd.Timestamp) -> bool:
    affected = set(json.loads(label["affected_elements"])) | {label["root_element"]}
    modes = {label["mode_id"], *json.loads(label["followers"])}
    return (
        managed_object in affected
        and (mode is None or mode in modes)
        and label["start"] <= when <= label["end"] + pd.Timedelta(minutes=15)
    )


def _explained(labels: pd.DataFrame, alarms: list[tuple[str, str | None, pd.Timestamp]]) -> set:
    """Fault ids of the labels that explain at least one alarm; asserts all are explained."""
    out = set()
    for mo, mode, when in alarms:
        hits = [lab["fault_id"] for _, lab in labels.iterrows() if _explains(lab, mo, mode, when)]
        assert hits, f"alarm on {mo} at {when} ({mode}) matches no label"
        out.update(hits)
    return out


def _expected_rows(streams: Path) -> tuple[int, int, int]:
    kpis = sum(
        sum(v is not None for v in orjson.loads(line)["measurements"].values())
        for line in (streams / "kpi.jsonl").read_bytes().splitlines()
    )
    alarms = len((streams / "alarms.jsonl").read_bytes().splitlines())
    logs = {
        (d["source"], d["time"], d["message"])
        for d in map(orjson.loads, (streams / "logs.jsonl").read_bytes().splitlines())
    }
    return kpis, alarms, len(logs)


def test_twin_day_through_kafka_worker_into_timescaledb(
    tmp_path: Path, kafka_bootstrap: str, tsdb_url: str, unique_name: str
) -> None:
    from twinrca.ingest.replay import open_producer, replay
    from twinrca.ingest.worker import IngestWorker, WorkerConfig
    from twinrca.store.base import open_store
    from twinrca.twin_replay import generate_scenario

    generate_scenario(tmp_path, cells=100, days=1, faults=10, seed=7)
    topics = _topics(kafka_bootstrap, unique_name, partitions=2)
    producer = open_producer(kafka_bootstrap)
    try:
        sent = replay([tmp_path], producer, topics, speed=0).sent
    finally:
        producer.close()
    n_kpi, n_alarm, n_log = _expected_rows(tmp_path / "streams")
    assert sent == {"kpi": sent["kpi"], "alarms": n_alarm, "logs": sent["logs"]}

    store = open_store("timescaledb", url=tsdb_url, tenant=unique_name, connect_timeout_s=5)
    store.migrate()
    config = WorkerConfig(
        kafka_bootstrap, unique_name, topics.data_topics(), topics.dlq, metrics_interval_s=1.0
    )
    worker = IngestWorker(config, store)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            worker.run()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    offsets = sum(sent.values())
    while time.monotonic() < deadline and thread.is_alive():
        if sum(store.read_offsets(unique_name).values()) >= offsets:
            break
        time.sleep(0.3)
    assert not failure, f"worker failed: {failure[0]!r}"
    time.sleep(1.2)  # one more metrics interval
    worker.stop()
    thread.join(30)
    try:
        assert sum(store.read_offsets(unique_name).values()) == offsets
        for topic in topics.data_topics():
            m = worker.metrics.value
            assert m("twinrca_ingest_messages_total", topic=topic, outcome="dead_letter") == 0
        assert len(store.read_kpis()) == n_kpi
        stored_alarms = store.read_alarms()
        assert len(stored_alarms) == n_alarm
        logs = store.read_logs()
        assert len(logs) == n_log and logs["template_id"].notna().all()
        assert logs["template_id"].nunique() < len(logs) / 2  # repeated lines share templates
        metrics = store.read_metrics(labels={"group": unique_name})
    finally:
        store.close()

    # the stored alarms are the twin's alarms, and every fault alarm is explained by a
    # label (mode or follower, affected element, inside the fault's window); alarms the
    # twin raises for other reasons (busy-hour thresholds) carry no fault
    labels = pd.read_csv(tmp_path / "labels.csv", parse_dates=["start", "end"])
    truth = pd.read_parquet(tmp_path / "tables" / "alarms.parquet")
    raised = stored_alarms[stored_alarms["state"] == "raised"]
    assert sorted(zip(raised["managed_object"], raised["event_time"], strict=True)) == sorted(
        zip(truth["element_id"], truth["raise_time"], strict=True)
    )
    assert (stored_alarms["state"] == "cleared").sum() == truth["clear_time"].notna().sum()
    words = raised["additional_text"].fillna("").str.split()
    stored = [
        (mo, w[3], when)
        for mo, w, when in zip(raised["managed_object"], words, raised["event_time"], strict=True)
        if w[:2] == ["twin", "fault"]
    ]
    faulty = truth[truth["fault"] >= 0]
    assert len(stored) == len(faulty) > 0
    explained = _explained(labels, stored)
    assert explained == _explained(
        labels,
        list(zip(faulty["element_id"], faulty["mode_id"], faulty["raise_time"], strict=True)),
    )
    assert len(explained) >= len(labels) // 2

    names = set(metrics["name"])
    assert {"ingest_rows_per_s", "ingest_lag"} <= names
    rates = metrics[metrics["name"] == "ingest_rows_per_s"]
    assert rates["value"].max() > 0
