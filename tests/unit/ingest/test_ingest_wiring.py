"""Log templates in the batch builder, store metrics, non-stream files, replay order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.unit.ingest.memstore import MemStore

from twinrca.core.errors import StoreUnavailable, ValidationError
from twinrca.core.records import Alarm, AlarmType, LogEvent
from twinrca.core.wire import alarm_message, dumps, log_message, pm_batch
from twinrca.ingest.deadletter import DeadLetter
from twinrca.ingest.logstate import MemoryStateStore
from twinrca.ingest.logtag import STATE_KEY, LogTagger
from twinrca.ingest.metrics import IngestMetrics
from twinrca.ingest.pipeline import BatchBuilder, BatchWriter, Decoded, Message
from twinrca.ingest.replay import recording_messages, replay
from twinrca.ingest.sniff import not_stream_reason
from twinrca.ingest.storemetrics import StoreMetricsReporter
from twinrca.ingest.topics import Topics

T0 = datetime(2024, 5, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class DownStore(MemoryStateStore):
    """A state store that is unreachable until ``up`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.up = False

    def get_state(self, key: str) -> bytes | None:
        if not self.up:
            raise StoreUnavailable("down")
        return super().get_state(key)

    def put_state(self, key: str, data: bytes) -> None:
        if not self.up:
            raise StoreUnavailable("down")
        super().put_state(key, data)


def _log(k: int, name: str) -> Message:
    event = LogEvent(T0 + timedelta(seconds=k), "site:1", "INFO", f"user {name} logged in")
    return Message("p.logs", 0, k, dumps(log_message(event)))


def test_builder_names_every_log_row_and_saves_state_periodically() -> None:
    state, clock = MemoryStateStore(), Clock()
    tagger = LogTagger(state, save_interval_s=30, clock=clock)
    builder = BatchBuilder({"p.logs": "logs", "p.kpi": "kpi"}, log_tagger=tagger)
    batch = Decoded()
    pm = Message("p.kpi", 0, 0, dumps(pm_batch("cell:1", T0, {"a": 1.0})))
    names = ("alice", "bob", "carol", "dave", "erin", "frank", "gina", "hal")
    builder.add(batch, [pm, *(_log(k, name) for k, name in enumerate(names))])
    ids = [r[4] for r in batch.columns.logs.rows]
    assert len(ids) == 8 and len(set(ids)) == 1 and ids[0].startswith("T")  # one poll chunk
    assert len(batch.columns.kpis) == 1
    assert state.get_state(STATE_KEY) is None  # not yet due
    clock.now = 31
    builder.add(batch, [_log(8, "zed")])
    assert batch.columns.logs.rows[8][4] == ids[0]
    saved = state.get_state(STATE_KEY)
    assert saved is not None
    # a new worker of the tenant starts from the saved state
    again = LogTagger(state)
    assert again.templater.cluster_count == tagger.templater.cluster_count


def test_unreachable_state_store_never_stops_tagging() -> None:
    state, clock = DownStore(), Clock()
    tagger = LogTagger(state, save_interval_s=1, clock=clock)
    batch = Decoded()
    BatchBuilder({"p.logs": "logs"}, log_tagger=tagger).add(batch, [_log(0, "a"), _log(1, "b")])
    assert all(r[4] for r in batch.columns.logs.rows)
    clock.now = 5
    assert tagger.save() is False  # logged, retried later
    state.up = True
    assert tagger.save() is True and state.get_state(STATE_KEY) is not None


def _dead(reason: str) -> DeadLetter:
    return DeadLetter.of(b"x", ValidationError(reason, "bad"), "p.kpi", 0, 1)


def test_store_metrics_rates_and_dead_letters_per_interval() -> None:
    store, clock, metrics = MemStore(), Clock(), IngestMetrics()
    reporter = StoreMetricsReporter(
        store, metrics, interval_s=10, labels={"group": "g"}, clock=clock
    )
    writer = BatchWriter(store, group=None, dead_letters=lambda d: None, metrics=metrics)
    batch = Decoded()
    BatchBuilder({"p.kpi": "kpi"}).add(
        batch,
        [
            Message("p.kpi", 0, i, dumps(pm_batch(f"c{i}", T0, {"a": 1.0, "b": 2.0})))
            for i in range(50)
        ],
    )
    batch.dead += [_dead("not_json"), _dead("not_json"), _dead("empty")]
    writer.write(batch)
    reporter.note_lag("p.kpi", 0, 42)
    clock.now = 5
    assert reporter.maybe_report() is False
    clock.now = 10
    assert reporter.maybe_report() is True
    points = {(n, tuple(sorted(lab.items()))): v for n, v, lab in store.metrics}
    assert points[("ingest_rows_per_s", (("group", "g"), ("table", "kpi")))] == 10.0
    assert points[("ingest_rows_per_s", (("group", "g"), ("table", "log")))] == 0.0
    assert points[("ingest_dead_letters", (("group", "g"), ("reason", "not_json")))] == 2
    assert points[("ingest_dead_letters", (("group", "g"), ("reason", "empty")))] == 1
    lag = ("ingest_lag", (("group", "g"), ("partition", 0), ("topic", "p.kpi")))
    assert points[lag] == 42
    # next interval: nothing new, so no dead-letter points and a zero rate
    store.metrics.clear()
    clock.now = 20
    reporter.report()
    assert {n for n, _, _ in store.metrics} == {"ingest_rows_per_s"}
    assert all(v == 0 for _, v, _ in store.metrics)


@pytest.mark.parametrize(
    ("name", "data", "skipped"),
    [
        ("a.jsonl", b'{"message":"x","time":"2024-05-01T00:00:00Z","source":"s"}\n', False),
        ("a.jsonl", b"{broken\n{also broken\n", False),  # dead letters, not a skip
        ("topology.json", json.dumps({"elements": []}, indent=2).encode(), True),
        ("dead.jsonl", b'{"reason":"not_json","original_b64":"eA=="}\n', True),
        ("app.log", b"<13>May  1 10:00:00 host7 app: x\n", False),
        ("README.txt", b"Recorded on the lab EMS.\n", True),
        ("labels.csv", b"fault_id,start\nF0,2024\n", True),
        ("pm.csv", b"measObjLdn,endTime,a\nc,2024-05-01T00:00:00Z,1\n", False),
        ("empty.csv", b"", True),
        ("bomb.xml", b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", False),
    ],
)
def test_non_stream_files_are_told_apart(name: str, data: bytes, skipped: bool) -> None:
    reason = not_stream_reason(Path(name).suffix, data)
    assert (reason is not None) is skipped, reason


def _recording(tmp_path: Path) -> Path:
    folder = tmp_path / "streams"
    folder.mkdir()
    kpi = [dumps(pm_batch("c1", T0 + timedelta(minutes=15 * i), {"a": 1.0})) for i in range(4)]
    alarms = [
        dumps(
            alarm_message(
                Alarm(
                    "a1",
                    "site:1",
                    T0 + timedelta(minutes=20),
                    AlarmType.EQUIPMENT_ALARM,
                    "powerProblem",
                    notification_id=1,
                )
            )
        )
    ]
    (folder / "alarms.jsonl").write_bytes(b"\n".join(alarms) + b"\n")
    (folder / "kpi.jsonl").write_bytes(b"\n".join(kpi) + b"\n")
    (tmp_path / "labels.csv").write_text("fault_id,start\nF0,2024\n")
    return tmp_path


def test_replay_merges_files_in_event_time_and_keeps_the_pace(tmp_path: Path) -> None:
    root = _recording(tmp_path)
    skipped: list = []
    order = [(kind, when) for kind, when, _ in recording_messages([root], skipped)]
    assert [k for k, _ in order] == ["kpi", "kpi", "alarms", "kpi", "kpi"]
    assert [w for _, w in order] == sorted(w for _, w in order)
    assert [p.name for p, _ in skipped] == ["labels.csv"]

    class Producer:
        def __init__(self) -> None:
            self.sent: list[tuple[str, float]] = []

        def send(self, topic: str, value: bytes) -> None:
            self.sent.append((topic, clock.now))

        def flush(self) -> None:
            pass

    clock = Clock()

    def sleep(s: float) -> None:
        clock.now += s

    producer = Producer()
    result = replay([root], producer, Topics("p."), speed=60.0, clock=clock, sleep=sleep)
    assert result.sent == {"kpi": 4, "alarms": 1} and result.skipped == 1
    # 45 minutes of recording at 60x: 45 s, each message at its event time / 60
    assert [t for _, t in producer.sent] == [0.0, 15.0, 20.0, 30.0, 45.0]
